/* ==== [20c] TEMPLATES: the subset of Go's text/template that --format users write ==== */

/* Docker's --format runs Go's text/template over the object. minirun runs
 * it over the object's JSON, which Docker also falls back to: fields
 * (.A.B, $, $var), pipelines (|), range (with $k, $v :=), if/else/end,
 * {{- -}} trimming, and the functions people use: json, index, len, join,
 * split, upper, lower, title, printf, print, println, eq, ne, lt, le, gt,
 * ge, not, and, or. Values print as Go prints them (map[k:v], [a b]).
 * Everything is evaluated straight from the template text; blocks are
 * skipped by scanning to their `end`. */

#if MINIRUN_WITH_FORMAT
#define TMPL_MAX_VARS 8
#define TMPL_MAX_ITEMS 256

struct tmpl_val {
	const struct mr_json *j;             /* a JSON value, or NULL for a computed one */
	const char *s;                       /* computed: text (owned by the context) */
	char t;                              /* computed: 's' string, 'i' number, 'b' bool, 'n' nil */
};

struct tmpl_item {                       /* the template cut into text and actions */
	const char *p;
	size_t n;
	int action;
};

struct tmpl {
	/* the small fields first (one-byte offsets in x86-64 code), the arrays after */
	const char *src;
	size_t nit, nvar;
	char **owned;                        /* computed strings, freed at the end */
	size_t nowned;
	const char *col;                     /* where an error points, if not at its token */
	int parse_err;                       /* 1: the template is malformed (Docker: exit 64) */
	struct mr_json_doc tmp;              /* split's results */
	char err[240];
	struct tmpl_item it[TMPL_MAX_ITEMS];
	struct { char name[32]; struct tmpl_val v; } var[TMPL_MAX_VARS];
};

static const char *tmpl_own(struct tmpl *t, char *s)
{
	t->owned = util_xrealloc(t->owned, (t->nowned + 1) * sizeof *t->owned);
	return t->owned[t->nowned++] = s;
}

static struct tmpl_val tmpl_str(struct tmpl *t, const char *s, size_t n, char type)
{
	struct tmpl_val v = { NULL, NULL, type };
	char *c = util_xmalloc(n + 1);
	memcpy(c, s, n);
	c[n] = 0;
	v.s = tmpl_own(t, c);
	return v;
}

static int tmpl_fail(struct tmpl *t, const char *at, size_t atn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
UTIL_VA_ONLY static int tmpl_fail(struct tmpl *t, const char *at, size_t atn, const char *fmt, ...)
{
	va_list ap;
	int k;
	if (t->err[0])
		return -1;
	k = snprintf(t->err, sizeof t->err, "template: :1:%d: executing \"\" at <%.*s>: ",
		     (int)((t->col ? t->col : at) - t->src), (int)atn, at);
	va_start(ap, fmt);
	vsnprintf(t->err + k, sizeof t->err - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static int tmpl_parse_fail(struct tmpl *t, const char *msg)
{
	if (!t->err[0])
		snprintf(t->err, sizeof t->err, "template: :1: %s", msg);
	t->parse_err = 1;
	return -1;
}

/* Go's truth: false, 0, nil and empty things are false. */
static int tmpl_true(const struct tmpl_val *v)
{
	const struct mr_json *j = v->j;
	if (!j)
		return v->t == 'b' ? v->s[0] == 't' : v->t == 'i' ? json_number_value(v->s) != 0 :
		       v->t == 's' ? v->s[0] != 0 : 0;
	switch (j->type) {
	case MR_JSON_TRUE: return 1;
	case MR_JSON_NUMBER: return j->num != 0;
	case MR_JSON_STRING: return j->len != 0;
	case MR_JSON_ARRAY: case MR_JSON_OBJECT: return j->count != 0;
	default: return 0;
	}
}

static int tmpl_is_struct(const struct mr_json *o);

static int tmpl_key_cmp(const void *a, const void *b)
{
	const struct mr_json *x = *(const struct mr_json *const *)a, *y = *(const struct mr_json *const *)b;
	return strcmp(x->key, y->key);
}

/* The members of array or object j in a new array (n of them), sorted by
 * key when sort: Go prints and ranges over a map in key order. */
static const struct mr_json **tmpl_members(const struct mr_json *j, int sort, size_t *n)
{
	const struct mr_json *c, **m = util_xcalloc(j->count + 1, sizeof *m);
	size_t k = 0;
	for (c = j->child; c; c = c->next)
		m[k++] = c;
	if (sort)
		qsort(m, k, sizeof *m, tmpl_key_cmp);
	*n = k;
	return m;
}

/* Go's %v: map[k:v ...] with sorted keys, [a b], <no value> for nothing. */
static void tmpl_print_json(const struct mr_json *j, struct mr_buf *out)
{
	const struct mr_json **m;
	size_t i, n;
	int obj;
	switch (j ? j->type : MR_JSON_NULL) {
	case MR_JSON_STRING: case MR_JSON_NUMBER: mr_buf_append(out, j->str, j->len); break;
	case MR_JSON_TRUE: mr_buf_append(out, "true", 4); break;
	case MR_JSON_FALSE: mr_buf_append(out, "false", 5); break;
	case MR_JSON_ARRAY: case MR_JSON_OBJECT:
		obj = j->type == MR_JSON_OBJECT;
		m = tmpl_members(j, obj, &n);
		mr_buf_printf(out, "%s", obj ? "map[" : "[");
		for (i = 0; i < n; i++) {
			if (i)
				mr_buf_append(out, " ", 1);
			if (obj)
				mr_buf_printf(out, "%s:", m[i]->key);
			tmpl_print_json(m[i], out);
		}
		mr_buf_append(out, "]", 1);
		free(m);
		break;
	default: mr_buf_append(out, "<no value>", 10); break;
	}
}

/* Go's json of the typed object: a struct's fields in order, a map's keys
 * sorted. */
static void tmpl_json(struct mr_jw *w, const struct mr_json *j)
{
	const struct mr_json **m;
	size_t i, n;
	int obj = j->type == MR_JSON_OBJECT;
	if (!obj && j->type != MR_JSON_ARRAY) {
		mr_jw_value(w, j);
		return;
	}
	m = tmpl_members(j, obj && !tmpl_is_struct(j), &n);
	if (obj)
		mr_jw_obj(w);
	else
		mr_jw_arr(w);
	for (i = 0; i < n; i++) {
		if (obj)
			mr_jw_key(w, m[i]->key);
		tmpl_json(w, m[i]);
	}
	if (obj)
		mr_jw_obj_end(w);
	else
		mr_jw_arr_end(w);
	free(m);
}

static void tmpl_print(const struct tmpl_val *v, struct mr_buf *out)
{
	if (v->j || v->t == 'n')
		tmpl_print_json(v->j, out);
	else
		mr_buf_printf(out, "%s", v->s);
}

/* The text of a scalar (strings unquoted), for comparisons and functions. */
static const char *tmpl_text(struct tmpl *t, const struct tmpl_val *v)
{
	struct mr_buf b = { 0 };
	if (!v->j)
		return v->t == 'n' ? "" : v->s;
	if (v->j->type == MR_JSON_STRING || v->j->type == MR_JSON_NUMBER)
		return tmpl_str(t, v->j->str, v->j->len, 's').s;
	tmpl_print(v, &b);
	mr_buf_append(&b, "", 0);
	return tmpl_own(t, b.data);
}

/* A value's kind as a computed one's type letter ('a' array, 'o' object):
 * JSON's types in their enum order, NULL FALSE TRUE NUMBER STRING ARRAY OBJECT. */
static char tmpl_kind(const struct tmpl_val *v)
{
	return v->j ? "nbbisao"[v->j->type] : v->t;
}

static int tmpl_is_num(const struct tmpl_val *v)
{
	return tmpl_kind(v) == 'i';
}

static int tmpl_is_str(const struct tmpl_val *v)
{
	return tmpl_kind(v) == 's';
}

/* A Docker struct's fields start upper case; a map's keys are the user's. A
 * missing field of a struct is an error, a missing key of a map prints
 * <no value> (Docker runs the typed object first). */
static int tmpl_is_struct(const struct mr_json *o)
{
	const struct mr_json *c;
	if (!o->child)
		return 0;
	for (c = o->child; c; c = c->next)
		if (!c->key_len || !isupper((unsigned char)c->key[0]))
			return 0;
	return 1;
}

/* .A.B.C from v; p..end is the chain. */
static int tmpl_fields(struct tmpl *t, struct tmpl_val *v, const char *p, const char *end)
{
	const char *chain = p;
	while (p < end && *p == '.') {
		const char *f = p + 1;
		size_t n = 0;
		char key[128];
		const struct mr_json *j;
		while (f + n < end && f[n] != '.')
			n++;
		p = f + n;
		if (!n)
			continue;
		snprintf(key, sizeof key, "%.*s", (int)n, f);
		if (!v->j || v->j->type != MR_JSON_OBJECT) {
			if (!v->j || v->j->type == MR_JSON_NULL) {
				v->j = NULL;
				v->t = 'n';
				continue;
			}
			t->col = f - 1;
			return tmpl_fail(t, chain, (size_t)(end - chain), "can't evaluate field %s in type %s", key,
					 v->j->type == MR_JSON_ARRAY ? "[]interface {}" : "string");
		}
		j = mr_json_get(v->j, key);
		if (!j && tmpl_is_struct(v->j) && isupper((unsigned char)key[0])) {
			t->col = f - 1;
			return tmpl_fail(t, chain, (size_t)(end - chain), "map has no entry for key \"%s\"", key);
		}
		v->j = j;
		v->t = 'n';
	}
	return 0;
}

struct tmpl_args {
	size_t n;                            /* first: one-byte offsets in x86-64 code */
	struct tmpl_val v[16];
	const char *at[16];
};

static int tmpl_pipeline(struct tmpl *t, const struct tmpl_val *dot, const char *p, const char *end,
			 struct tmpl_val *res);

static const char *tmpl_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* One operand at p: its value and where it ends. */
static int tmpl_operand(struct tmpl *t, const struct tmpl_val *dot, const char **pp, const char *end,
			struct tmpl_val *v)
{
	const char *p = *pp, *q = p;
	size_t i;
	if (*p == '"' || *p == '`') {
		struct mr_buf b = { 0 };
		char quote = *p;
		for (q = p + 1; q < end && *q != quote; q++) {
			if (quote == '"' && *q == '\\' && q + 1 < end) {
				q++;
				mr_buf_append(&b, *q == 'n' ? "\n" : *q == 't' ? "\t" : q, 1);
			} else {
				mr_buf_append(&b, q, 1);
			}
		}
		if (q >= end)
			return tmpl_parse_fail(t, "unterminated quoted string");
		mr_buf_append(&b, "", 0);
		v->j = NULL;
		v->t = 's';
		v->s = tmpl_own(t, b.data ? b.data : util_xstrdup(""));
		*pp = q + 1;
		return 0;
	}
	if (*p == '(') {
		int depth = 0;
		for (q = p; q < end; q++) {
			depth += (*q == '(') - (*q == ')');
			if (!depth)
				break;
		}
		if (q >= end)
			return tmpl_parse_fail(t, "unclosed left paren");
		if (tmpl_pipeline(t, dot, p + 1, q, v) < 0)
			return -1;
		/* (pipeline).Field */
		for (p = q = q + 1; q < end && !strchr(" \t\n\r|()", *q); q++) {}
		*pp = q;
		return tmpl_fields(t, v, p, q);
	}
	while (q < end && !strchr(" \t\n\r|()", *q))
		q++;
	*pp = q;
	if (*p == '.') {
		*v = *dot;
		return q == p + 1 ? 0 : tmpl_fields(t, v, p, q);
	}
	if (*p == '$') {
		size_t n = strcspn(p, ". \t\n|)");
		if (p + n > q)
			n = (size_t)(q - p);
		for (i = t->nvar; i-- > 0;)
			if (strlen(t->var[i].name) == n && !strncmp(t->var[i].name, p, n))
				break;
		if (i == (size_t)-1) {
			char msg[64];
			snprintf(msg, sizeof msg, "undefined variable \"%.*s\"", (int)n, p);
			return tmpl_parse_fail(t, msg);
		}
		*v = t->var[i].v;
		return tmpl_fields(t, v, p + n, q);
	}
	if ((*p >= '0' && *p <= '9') || *p == '-') {
		*v = tmpl_str(t, p, (size_t)(q - p), 'i');
		return 0;
	}
	if ((q - p == 4 && !strncmp(p, "true", 4)) || (q - p == 5 && !strncmp(p, "false", 5))) {
		*v = tmpl_str(t, p, (size_t)(q - p), 'b');
		return 0;
	}
	if (q - p == 3 && !strncmp(p, "nil", 3)) {
		v->j = NULL;
		v->t = 'n';
		return 0;
	}
	{
		char msg[96];
		snprintf(msg, sizeof msg, "function \"%.*s\" not defined", (int)(q - p), p);
		return tmpl_parse_fail(t, msg);
	}
}

/* printf with Go's verbs that matter here: %s %v %d %q %T %%, widths. */
static void tmpl_printf(struct tmpl *t, const struct tmpl_args *a, struct mr_buf *out)
{
	const char *f = tmpl_text(t, &a->v[0]);
	size_t k = 1;
	for (; *f; f++) {
		char verb;
		size_t sn = strspn(f + 1, "-+ 0123456789.");
		struct mr_buf v = { 0 };
		if (*f != '%' || sn > 8) {
			mr_buf_append(out, f, 1);
			continue;
		}
		verb = f[1 + sn];
		if (verb == '%') {
			mr_buf_append(out, "%", 1);
			f += 1 + sn;
			continue;
		}
		if (k >= a->n) {
			mr_buf_printf(out, "%%!%c(MISSING)", verb);
			f += 1 + sn;
			continue;
		}
		if (verb == 'T') {
			/* Go's type names, in the order of the kinds "sibao", then nil */
			const char *kinds = "sibao", *name = "string\0int\0bool\0[]interface {}\0"
				"map[string]interface {}\0<nil>";
			for (; *kinds && *kinds != tmpl_kind(&a->v[k]); kinds++)
				name += strlen(name) + 1;
			mr_buf_printf(&v, "%s", name);
		} else if (verb == 'q') {
			struct mr_jw w;
			mr_jw_init(&w, &v, 0);
			mr_jw_str(&w, tmpl_text(t, &a->v[k]));
		} else {
			tmpl_print(&a->v[k], &v);
		}
		mr_buf_append(&v, "", 0);
		/* the width of %-10s / %5d (the sn bytes after %: flags, width,
		 * precision; atoi stops at the '.' or the verb): pad left or right,
		 * with spaces (as Go) */
		mr_buf_printf(out, memchr(f + 1, '-', sn) ? "%-*s" : "%*s",
			      atoi(f + 1 + strspn(f + 1, "-+ 0")), v.data);
		mr_buf_free(&v);
		k++;
		f += 1 + sn;
	}
}

static int tmpl_cmp(struct tmpl *t, const struct tmpl_val *x, const struct tmpl_val *y)
{
	if (tmpl_is_num(x) && tmpl_is_num(y)) {
		/* json_number_value, not strtod (libc's float scanner: 5 KB) */
		double a = json_number_value(tmpl_text(t, x)), b = json_number_value(tmpl_text(t, y));
		return a < b ? -1 : a > b;
	}
	return strcmp(tmpl_text(t, x), tmpl_text(t, y));
}

/* The functions, looked up once by name (a strncmp per test cost more):
 * TMPL_IS(X) tests for the one named in TF_X's place of tmpl_funcs. */
enum { TF_json, TF_index, TF_len, TF_join, TF_split, TF_upper, TF_lower, TF_title, TF_printf,
       TF_print, TF_println, TF_eq, TF_ne, TF_lt, TF_le, TF_gt, TF_ge, TF_not, TF_and, TF_or };
static const char tmpl_funcs[] = "json\0index\0len\0join\0split\0upper\0lower\0title\0printf\0"
	"print\0println\0eq\0ne\0lt\0le\0gt\0ge\0not\0and\0or\0";

/* Call function name with its arguments. */
static int tmpl_call(struct tmpl *t, const char *name, size_t nl, const char *at,
		     struct tmpl_args *a, struct tmpl_val *res)
{
	struct mr_buf out = { 0 };
	const struct mr_json *j = a->n ? a->v[0].j : NULL, *c;
	size_t i;
	const char *f;
	int fn = 0, b = -1;   /* b: a bool result (eq ... not), printed once at the end */
	char type = 's';
	for (f = tmpl_funcs; *f && (strlen(f) != nl || memcmp(f, name, nl)); f += strlen(f) + 1)
		fn++;
#define TMPL_IS(s) (fn == TF_##s)
	if (!a->n && !TMPL_IS(print) && !TMPL_IS(println)) {
		char msg[96];
		snprintf(msg, sizeof msg, "wrong number of args for %.*s: want at least 1 got 0",
			 (int)nl, name);
		return tmpl_fail(t, at, nl, "%s", msg);
	}
	if (TMPL_IS(json)) {
		struct mr_jw w;
		mr_jw_init(&w, &out, 0);
		if (j)
			tmpl_json(&w, j);
		else if (a->v[0].t == 's')
			mr_jw_str(&w, a->v[0].s);
		else
			mr_buf_printf(&out, "%s", a->v[0].t == 'n' ? "null" : a->v[0].s);
	} else if (TMPL_IS(index)) {
		struct tmpl_val v = a->v[0];
		for (i = 1; i < a->n; i++) {
			const char *k = tmpl_text(t, &a->v[i]);
			if (v.j && v.j->type == MR_JSON_OBJECT) {
				v.j = mr_json_get(v.j, k);
			} else if (v.j && v.j->type == MR_JSON_ARRAY) {
				long n = atol(k);
				for (c = v.j->child; c && n > 0; c = c->next, n--) {}
				if (!c)
					return tmpl_fail(t, at, nl, "error calling index: index out of "
							 "range: %s", k);
				v.j = c;
			} else {
				return tmpl_fail(t, at, nl, "error calling index: can't index item of "
						 "type %s", v.j ? "string" : "<nil>");
			}
			v.t = 'n';
		}
		*res = v;
		return 0;
	} else if (TMPL_IS(len)) {
		size_t n;
		if (j && (j->type == MR_JSON_ARRAY || j->type == MR_JSON_OBJECT))
			n = j->count;
		else if (j && j->type == MR_JSON_STRING)
			n = j->len;
		else if (!j && a->v[0].t == 's')
			n = strlen(a->v[0].s);
		else
			return tmpl_fail(t, at, nl, "error calling len: len of %s",
					 j ? "type float64" : "nil pointer");
		mr_buf_printf(&out, "%zu", n);
		type = 'i';
	} else if (TMPL_IS(join)) {
		const char *sep = a->n > 1 ? tmpl_text(t, &a->v[1]) : "";
		for (c = j && j->type == MR_JSON_ARRAY ? j->child : NULL; c; c = c->next) {
			struct tmpl_val e = { c, NULL, 'n' };
			mr_buf_printf(&out, "%s%s", c == j->child ? "" : sep, tmpl_text(t, &e));
		}
	} else if (TMPL_IS(split)) {
		/* a JSON array built as text and parsed into the context's doc */
		const char *s = tmpl_text(t, &a->v[0]), *sep = a->n > 1 ? tmpl_text(t, &a->v[1]) : "";
		struct mr_jw w;
		struct mr_err e;
		size_t sl = strlen(sep);
		mr_jw_init(&w, &out, 0);
		mr_jw_arr(&w);
		while (sl) {
			const char *x = strstr(s, sep);
			if (!x)
				break;
			mr_jw_strn(&w, s, (size_t)(x - s));
			s = x + sl;
		}
		mr_jw_str(&w, s);
		mr_jw_arr_end(&w);
		mr_json_free(&t->tmp);
		if (mr_json_parse(&t->tmp, out.data, out.len, &e) < 0) {
			mr_buf_free(&out);
			return tmpl_fail(t, at, nl, "%s", e.msg);
		}
		tmpl_own(t, out.data);   /* the document points into it */
		res->j = t->tmp.root;
		return 0;
	} else if (TMPL_IS(upper) || TMPL_IS(lower) || TMPL_IS(title)) {
		const char *s = tmpl_text(t, &a->v[0]);
		for (i = 0; s[i]; i++) {
			int ch = (unsigned char)s[i];
			ch = name[0] == 'u' || (name[0] == 't' && (!i || s[i - 1] == ' ')) ? toupper(ch) :
			     name[0] == 'l' ? tolower(ch) : ch;
			mr_buf_append(&out, (char *)&ch, 1);
		}
	} else if (TMPL_IS(printf)) {
		tmpl_printf(t, a, &out);
	} else if (TMPL_IS(print) || TMPL_IS(println)) {
		for (i = 0; i < a->n; i++) {
			/* Go: println always spaces, print only between non-strings */
			if (i && (name[5] == 'l' || (!tmpl_is_str(&a->v[i - 1]) && !tmpl_is_str(&a->v[i]))))
				mr_buf_append(&out, " ", 1);
			tmpl_print(&a->v[i], &out);
		}
		if (name[5] == 'l')
			mr_buf_append(&out, "\n", 1);
	} else if (TMPL_IS(eq) || TMPL_IS(ne)) {
		int eq = a->n > 1 ? 0 : 1;
		for (i = 1; i < a->n; i++)
			eq |= !tmpl_cmp(t, &a->v[0], &a->v[i]);
		b = eq == (name[0] == 'e');
	} else if (TMPL_IS(lt) || TMPL_IS(le) || TMPL_IS(gt) || TMPL_IS(ge)) {
		int r = a->n > 1 ? tmpl_cmp(t, &a->v[0], &a->v[1]) : 0;
		b = name[0] == 'l' ? (name[1] == 't' ? r < 0 : r <= 0) : (name[1] == 't' ? r > 0 : r >= 0);
	} else if (TMPL_IS(not)) {
		b = !tmpl_true(&a->v[0]);
	} else if (TMPL_IS(and) || TMPL_IS(or)) {
		/* the first false (and) or true (or) argument, else the last */
		for (i = 0; i + 1 < a->n && tmpl_true(&a->v[i]) == (name[0] == 'a'); i++) {}
		*res = a->v[i];
		return 0;
	} else {
		char msg[96];
		snprintf(msg, sizeof msg, "function \"%.*s\" not defined", (int)nl, name);
		return tmpl_parse_fail(t, msg);
	}
#undef TMPL_IS
	if (b >= 0) {
		mr_buf_printf(&out, "%s", b ? "true" : "false");
		type = 'b';
	}
	mr_buf_append(&out, "", 0);
	res->j = NULL;
	res->t = type;
	res->s = tmpl_own(t, out.data);
	return 0;
}

/* cmd ( '|' cmd )*: the value of each command is the last argument of the next. */
static int tmpl_pipeline(struct tmpl *t, const struct tmpl_val *dot, const char *p, const char *end,
			 struct tmpl_val *res)
{
	int have = 0;
	struct tmpl_val prev = { NULL, NULL, 'n' };
	for (;;) {
		struct tmpl_args a;
		const char *name = NULL, *at;
		size_t nl = 0;
		p = tmpl_skip_ws(p, end);
		at = p;
		if (p >= end)
			return tmpl_parse_fail(t, "missing value for command");
		if (isalpha((unsigned char)*p) && strncmp(p, "true", 4) && strncmp(p, "false", 5) &&
		    strncmp(p, "nil", 3)) {
			name = p;
			while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
				p++;
			nl = (size_t)(p - name);
		}
		a.n = 0;
		for (;;) {
			p = tmpl_skip_ws(p, end);
			if (p >= end || *p == '|')
				break;
			if (a.n == 15)
				return tmpl_parse_fail(t, "too many arguments");
			a.at[a.n] = p;
			if (tmpl_operand(t, dot, &p, end, &a.v[a.n]) < 0)
				return -1;
			a.n++;
		}
		if (have && a.n < 16)
			a.v[a.n++] = prev;
		if (name) {
			if (tmpl_call(t, name, nl, at, &a, &prev) < 0)
				return -1;
		} else if (a.n == 1) {
			prev = a.v[0];
		} else if (a.n == 0) {
			return tmpl_parse_fail(t, "missing value for command");
		} else {
			return tmpl_fail(t, at, 1, "can't give argument to non-function %.*s",
					 (int)strcspn(at, " "), at);
		}
		have = 1;
		if (p >= end)
			break;
		p++;   /* '|' */
	}
	*res = prev;
	return 0;
}

/* The keyword an action starts with: if, else, end, range, or none (0). */
static int tmpl_keyword(const struct tmpl_item *it, const char **rest)
{
	static const char kws[] = "if\0else\0end\0range\0with\0";
	const char *kw = kws;
	size_t i, n;
	const char *p = tmpl_skip_ws(it->p, it->p + it->n);
	for (i = 0; i < 5; i++, kw += n + 1) {
		n = strlen(kw);
		if ((size_t)(it->p + it->n - p) >= n && !strncmp(p, kw, n) &&
		    (p + n == it->p + it->n || p[n] == ' ')) {
			*rest = p + n;
			return "iEerw"[i];
		}
	}
	*rest = p;
	return 0;
}

/* A new variable: name (n bytes of it, cut to fit) is v. */
static void tmpl_var(struct tmpl *t, const char *name, size_t n, struct tmpl_val v)
{
	snprintf(t->var[t->nvar].name, sizeof t->var[0].name, "%.*s", (int)n, name);
	t->var[t->nvar++].v = v;
}

/* Run items from i until the end/else of this level; returns the index of
 * that end/else (or nit), -1 on error. skip: only find the end. */
static long tmpl_block(struct tmpl *t, size_t i, const struct tmpl_val *dot, int skip,
		       struct mr_buf *out)
{
	for (; i < t->nit; i++) {
		const struct tmpl_item *it = &t->it[i];
		const char *rest, *end = it->p + it->n;
		struct tmpl_val v;
		int k;
		long j;
		if (!it->action) {
			if (!skip)
				mr_buf_append(out, it->p, it->n);
			continue;
		}
		k = tmpl_keyword(it, &rest);
		if (k == 'e' || k == 'E')
			return (long)i;
		if (!k) {
			if (skip)
				continue;
			if (tmpl_skip_ws(rest, end) == end)
				return tmpl_parse_fail(t, "missing value for command");
			/* {{$x := pipeline}} */
			if (*rest == '$' && strstr(rest, ":=") && strstr(rest, ":=") < end) {
				const char *as = strstr(rest, ":=");
				if (t->nvar == TMPL_MAX_VARS)
					return tmpl_parse_fail(t, "too many variables");
				if (tmpl_pipeline(t, dot, as + 2, end, &v) < 0)
					return -1;
				tmpl_var(t, rest, strcspn(rest, " :"), v);
				continue;
			}
			if (tmpl_pipeline(t, dot, rest, end, &v) < 0)
				return -1;
			tmpl_print(&v, out);
			continue;
		}
		/* if / range / with: the pipeline, then the block, maybe an else */
		{
			const char *pipe = rest, *assign = NULL, *kname = NULL, *vname = NULL;
			size_t nvar = t->nvar, kn = 0, vn = 0;
			int truth = 0, ranged = 0;
			if (k == 'r' && (assign = strstr(rest, ":=")) != NULL && assign < end) {
				/* $v := or $k, $v := */
				const char *s = tmpl_skip_ws(rest, assign), *comma = memchr(s, ',', (size_t)(assign - s));
				if (comma) {
					kname = s;
					kn = strcspn(s, " ,");
					s = tmpl_skip_ws(comma + 1, assign);
				}
				vname = s;
				vn = strcspn(s, " :");
				pipe = assign + 2;
			}
			if (skip) {
				v.j = NULL, v.t = 'n';
			} else {
				if (tmpl_skip_ws(pipe, end) == end) {
					char msg[48];
					snprintf(msg, sizeof msg, "missing value for %s",
						 k == 'i' ? "if" : k == 'r' ? "range" : "with");
					return tmpl_parse_fail(t, msg);
				}
				if (tmpl_pipeline(t, dot, pipe, end, &v) < 0)
					return -1;
			}
			truth = !skip && tmpl_true(&v);
			if (k == 'r' && truth && v.j && (v.j->type == MR_JSON_ARRAY || v.j->type == MR_JSON_OBJECT)) {
				size_t n, idx;
				const struct mr_json **keys = tmpl_members(v.j, v.j->type == MR_JSON_OBJECT, &n);
				j = (long)i;
				for (idx = 0; idx < n; idx++) {
					struct tmpl_val e = { keys[idx], NULL, 'n' };
					t->nvar = nvar;
					if (vname && nvar + 2 <= TMPL_MAX_VARS) {
						if (kname) {
							char num[24];
							snprintf(num, sizeof num, "%zu", idx);
							tmpl_var(t, kname, kn, v.j->type == MR_JSON_OBJECT ?
								 tmpl_str(t, keys[idx]->key, keys[idx]->key_len, 's') :
								 tmpl_str(t, num, strlen(num), 'i'));
						}
						tmpl_var(t, vname, vn, e);
					}
					j = tmpl_block(t, i + 1, &e, 0, out);
					if (j < 0) {
						free(keys);
						return -1;
					}
				}
				free(keys);
				t->nvar = nvar;
				/* ranged (the body ran, j is its end): skip a possible else;
				 * nothing to range over: skip the body, run the else */
				truth = ranged = n != 0;
			} else if (k == 'r' && truth) {
				return tmpl_fail(t, pipe, (size_t)(end - pipe), "range can't iterate over %s",
						 tmpl_text(t, &v));
			}
			/* with: the value is the block's dot (truth: not skipping) */
			if (!ranged)
				j = tmpl_block(t, i + 1, k == 'w' && truth ? &v : dot,
					       skip || !truth || k == 'r', out);
			if (j < 0)
				return -1;
			if (j < (long)t->nit && tmpl_keyword(&t->it[j], &rest) == 'E') {
				/* else: runs when the first branch did not */
				j = tmpl_block(t, (size_t)j + 1, dot, skip || truth, out);
				if (j < 0)
					return -1;
			}
			if (j >= (long)t->nit)
				return tmpl_parse_fail(t, "unexpected EOF");
			t->nvar = nvar;
			i = (size_t)j;
		}
	}
	return (long)i;
}

/* Cut the template into items: text (with \t \n escapes kept as Docker's
 * shell users type them) and actions ({{- and -}} trim the text beside). */
static int tmpl_scan(struct tmpl *t, const char *fmt)
{
	const char *p = fmt;
	t->src = fmt;
	while (*p) {
		const char *open = strstr(p, "{{"), *close;
		size_t n = open ? (size_t)(open - p) : strlen(p);
		int ltrim = open && open[2] == '-' && (open[3] == ' ' || open[3] == '\t' || open[3] == '\n');
		if (t->nit + 2 >= TMPL_MAX_ITEMS)
			return tmpl_parse_fail(t, "template too long");
		if (ltrim)
			while (n && strchr(" \t\r\n", p[n - 1]))
				n--;
		if (n)
			t->it[t->nit++] = (struct tmpl_item){ p, n, 0 };
		if (!open)
			break;
		close = strstr(open + 2, "}}");
		if (!close)
			return tmpl_parse_fail(t, "unclosed action");
		{
			const char *a = open + 2 + (ltrim ? 2 : 0), *b = close;
			int rtrim = b - a >= 2 && b[-1] == '-' && (b[-2] == ' ' || b[-2] == '\t' || b[-2] == '\n');
			if (rtrim)
				b -= 2;
			t->it[t->nit++] = (struct tmpl_item){ a, (size_t)(b - a), 1 };
			p = close + 2;
			if (rtrim)
				while (*p && strchr(" \t\r\n", *p))
					p++;
		}
	}
	return 0;
}

/* Render fmt over root into out. Returns 0, -1 when executing failed, -2
 * when the template is malformed; msg gets Docker's text after "template
 * parsing error: " (Docker exits 1 for the first, 64 for the second); -3
 * when templates are not built in. */
static int tmpl_render(const char *fmt, const struct mr_json *root, struct mr_buf *out,
		       char *msg, size_t msgsize)
{
	struct tmpl *t = util_xcalloc(1, sizeof *t);
	struct tmpl_val dot = { root, NULL, 'n' };
	long end;
	size_t i;
	int rc = 0;
	char *src = util_xstrdup(fmt), *d = src;
	const char *q;
	/* Docker's formats take \t and \n typed in the shell as tab and newline */
	for (q = fmt; *q; q++)
		*d++ = q[0] == '\\' && (q[1] == 't' || q[1] == 'n') ? (++q, *q == 't' ? '\t' : '\n') : *q;
	*d = 0;
	fmt = tmpl_own(t, src);
	tmpl_var(t, "$", 1, dot);
	if (tmpl_scan(t, fmt) < 0) {
		rc = -2;
	} else if ((end = tmpl_block(t, 0, &dot, 0, out)) < 0) {
		rc = t->parse_err ? -2 : -1;
	} else if ((size_t)end < t->nit) {
		const char *rest;
		tmpl_parse_fail(t, tmpl_keyword(&t->it[end], &rest) == 'e' ? "unexpected {{end}}" :
				"unexpected {{else}}");
		rc = -2;
	}
	snprintf(msg, msgsize, "%s", t->err);
	for (i = 0; i < t->nowned; i++)
		free(t->owned[i]);
	free(t->owned);
	mr_json_free(&t->tmp);
	free(t);
	mr_buf_append(out, "", 0);
	if (out->len)
		out->len--;
	return rc;
}

/* Render fmt over an object of string fields (kv: name, value pairs, n of
 * them), as a list command's row. Returns as tmpl_render. */
static int tmpl_render_kv(const char *fmt, const char *const *kv, size_t n, struct mr_buf *out,
			  char *msg, size_t msgsize)
{
	struct mr_buf js = { 0 };
	struct mr_json_doc doc = { 0 };
	struct mr_jw w;
	struct mr_err err;
	size_t i;
	int rc = -1;
	mr_jw_init(&w, &js, 0);
	mr_jw_obj(&w);
	for (i = 0; i < n; i++) {
		mr_jw_key(&w, kv[2 * i]);
		mr_jw_str(&w, kv[2 * i + 1]);
	}
	mr_jw_obj_end(&w);
	if (mr_json_parse(&doc, js.data, js.len, &err) < 0) {
		snprintf(msg, msgsize, "%s", err.msg);
	} else {
		rc = tmpl_render(fmt, doc.root, out, msg, msgsize);
		mr_json_free(&doc);
	}
	mr_buf_free(&js);
	return rc;
}
#else
static int tmpl_render(const char *fmt, const struct mr_json *root, struct mr_buf *out,
		       char *msg, size_t msgsize)
{
	(void)fmt; (void)root; (void)out;
	snprintf(msg, msgsize, "--format: built without MINIRUN_WITH_FORMAT");
	return -3;
}

static int tmpl_render_kv(const char *fmt, const char *const *kv, size_t n, struct mr_buf *out,
			  char *msg, size_t msgsize)
{
	(void)kv; (void)n;
	return tmpl_render(fmt, NULL, out, msg, msgsize);
}
#endif
