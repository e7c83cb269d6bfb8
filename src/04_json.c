/* ==== [04] JSON: reader (arena DOM) and writer ====
 * The reader is strict RFC 8259 (UTF-8 checked, surrogates paired, no leading
 * zeros, nothing after the top value) and iterative: an explicit stack of
 * MINIRUN_MAX_JSON_DEPTH containers, so hostile nesting cannot blow the C stack.
 * A first pass counts the values, so one allocation holds every node and every
 * decoded string: the document costs a bounded multiple of its size and
 * mr_json_free is one free(). Errors give the 0-based offset of the bad byte.
 * The writer prints what Go's encoding/json prints (Docker's output): same
 * escapes (<, >, & too), same MarshalIndent layout. */

static const char json_lit[3][6] = { "null", "false", "true" }; /* enum order */
/* Escapes as pairs of (letter after the backslash, byte it stands for). */
static const char json_esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";

struct json_parser {
	const unsigned char *s;
	size_t pos, len;
	struct mr_json *nodes;
	size_t nused, ncap;
	char *chars;            /* next free byte for decoded strings */
	struct mr_err *err;
};

static int json_fail(struct json_parser *p, const char *what)
{
	if (p->pos >= p->len)
		what = "unexpected end of input";
	return mr_err_set(p->err, MR_EINVAL_INPUT, "invalid JSON at byte %zu: %s", p->pos, what);
}

/* Upper bound of the values: each but the root follows a '[', '{' or ',' that
 * is outside strings. The parser only allocates within the valid prefix it has
 * read, where this scan and the parser agree on what is inside a string; the
 * scan stops where the parser must stop (too deep, after the top container, a
 * ',' at the top), so hostile input cannot inflate the allocation. */
static size_t json_count(const unsigned char *s, size_t len)
{
	size_t i, n = 1;
	int in_str = 0, depth = 0;
	for (i = 0; i < len; i++) {
		unsigned c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > MINIRUN_MAX_JSON_DEPTH)
				break;
			n++;
		} else if (c == ']' || c == '}') {
			if (--depth <= 0)
				break;
		} else if (c == ',') {
			if (!depth)
				break;
			n++;
		}
	}
	return n;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if invalid:
 * overlong forms, surrogates and code points above U+10FFFF are refused. */
static size_t json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, need, i;
	if (c < 0x80)
		return 1;
	need = c < 0xc2 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : c < 0xf5 ? 3 : 0;
	if (!need || n <= need)
		return 0;
	cp = c & (0x3fu >> need);
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
	    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need + 1;
}

static char *json_put_utf8(char *d, unsigned cp)
{
	static const unsigned char lead[] = { 0, 0xc0, 0xe0, 0xf0 };
	int n = cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
	*d++ = (char)(lead[n] | cp >> (6 * n));
	while (n--)
		*d++ = (char)(0x80 | (cp >> (6 * n) & 0x3f));
	return d;
}

/* The 4 hex digits at s[i..i+3] as a number, -1 if absent or not hex. */
static long json_hex4(const struct json_parser *p, size_t i)
{
	long v = 0;
	size_t k;
	if (i > p->len || p->len - i < 4)
		return -1;
	for (k = i; k < i + 4; k++) {
		unsigned c = p->s[k];
		if (c - '0' < 10)
			c -= '0';
		else if ((c | 32) - 'a' < 6)
			c = (c | 32) - 'a' + 10;
		else
			return -1;
		v = v << 4 | c;
	}
	return v;
}

/* One escape at p->pos (on the backslash), decoded to *d. Errors point at the
 * backslash. Surrogates must come as a high/low pair of \u escapes. */
static int json_escape(struct json_parser *p, char **d)
{
	size_t i = p->pos + 1;
	long cp, lo;
	const char *m;
	if (i >= p->len)
		return json_fail(p, "invalid escape");
	if (p->s[i] != 'u') {
		for (m = json_esc; *m && *m != (char)p->s[i]; m += 2) {}
		if (!*m)
			return json_fail(p, "invalid escape");
		*(*d)++ = m[1];
		p->pos = i + 1;
		return 0;
	}
	cp = json_hex4(p, i + 1);
	if (cp < 0)
		return json_fail(p, "invalid \\u escape");
	i += 5;
	if (cp >= 0xd800 && cp < 0xe000) {
		if (cp >= 0xdc00 || i + 1 >= p->len || p->s[i] != '\\' || p->s[i + 1] != 'u' ||
		    (lo = json_hex4(p, i + 2)) < 0xdc00 || lo >= 0xe000)
			return json_fail(p, "unpaired UTF-16 surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		i += 6;
	}
	*d = json_put_utf8(*d, (unsigned)cp);
	p->pos = i;
	return 0;
}

/* The string at p->pos (on its quote), decoded and NUL-terminated into the
 * arena. Decoding never grows: the result and its NUL fit in the source bytes. */
static int json_string(struct json_parser *p, const char **out, size_t *outlen)
{
	char *d = p->chars;
	size_t n;
	*out = d;
	p->pos++;
	for (;;) {
		unsigned c;
		if (p->pos >= p->len)
			return json_fail(p, "unterminated string");
		c = p->s[p->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return json_fail(p, "control character in string");
		if (c == '\\') {
			if (json_escape(p, &d))
				return -1;
			continue;
		}
		n = json_utf8_len(p->s + p->pos, p->len - p->pos);
		if (!n)
			return json_fail(p, "invalid UTF-8 in string");
		memcpy(d, p->s + p->pos, n);
		d += n;
		p->pos += n;
	}
	p->pos++;
	*outlen = (size_t)(d - *out);
	*d++ = 0;
	p->chars = d;
	return 0;
}

static size_t json_digits(const struct json_parser *p, size_t *i)
{
	size_t start = *i;
	while (*i < p->len && (unsigned)(p->s[*i] - '0') < 10)
		(*i)++;
	return *i - start;
}

/* A literal or a number. Numbers keep their source text (so integers beyond
 * 2^53 survive a round trip) and its value as a double. */
/* The value of a number already checked against the grammar. Exact for
 * integers up to 2^53 (sizes, counts); other values are close enough for
 * minirun, which keeps the source text for anything it writes back. Not
 * strtod: that brings libc's decimal float scanner (about 5 KB). */
static double json_number_value(const char *s)
{
	double v = 0, scale = 1;
	int neg = *s == '-', exp = 0, eneg = 0;
	if (neg)
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++) {
			scale /= 10;
			v += (*s - '0') * scale;
		}
	if (*s == 'e' || *s == 'E') {
		s++;
		eneg = *s == '-';
		if (*s == '-' || *s == '+')
			s++;
		for (; *s >= '0' && *s <= '9' && exp < 400; s++)
			exp = exp * 10 + (*s - '0');
		while (exp-- > 0)
			v = eneg ? v / 10 : v * 10;
	}
	return neg ? -v : v;
}

static int json_scalar(struct json_parser *p, struct mr_json *v, int c)
{
	size_t i = p->pos, n;
	for (n = 0; n < 3; n++) {
		size_t l = strlen(json_lit[n]);
		if (c != json_lit[n][0])
			continue;
		if (p->len - i < l || memcmp(p->s + i, json_lit[n], l))
			return json_fail(p, "invalid literal");
		v->type = (enum mr_json_type)n;
		p->pos += l;
		return 0;
	}
	if (c != '-' && (c < '0' || c > '9'))
		return json_fail(p, "expected a value");
	if (c == '-')
		i++;
	if (i < p->len && p->s[i] == '0')
		i++;
	else if (!json_digits(p, &i))
		goto bad;
	if (i < p->len && p->s[i] == '.' && (++i, !json_digits(p, &i)))
		goto bad;
	if (i < p->len && (p->s[i] | 32) == 'e') {
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (!json_digits(p, &i))
			goto bad;
	}
	v->type = MR_JSON_NUMBER;
	v->str = p->chars;
	v->len = i - p->pos;
	memcpy(p->chars, p->s + p->pos, v->len);
	p->chars[v->len] = 0;
	p->chars += v->len + 1;
	v->num = json_number_value(v->str);
	p->pos = i;
	return 0;
bad:
	p->pos = i;
	return json_fail(p, "invalid number");
}

static int json_ws(struct json_parser *p)
{
	for (; p->pos < p->len; p->pos++) {
		unsigned char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return c;
	}
	return -1;
}

/* The whole document, without recursion: stack[] holds the open containers
 * and tail[] where each one's next item is linked. */
static int json_parse_doc(struct json_parser *p, struct mr_json **root)
{
	struct mr_json *stack[MINIRUN_MAX_JSON_DEPTH], **tail[MINIRUN_MAX_JSON_DEPTH];
	struct mr_json *v, *up;
	int depth = 0, c;

	for (;;) {
		c = json_ws(p);
		if (p->nused == p->ncap)
			return json_fail(p, "too many values"); /* cannot happen: json_count */
		v = &p->nodes[p->nused++];
		memset(v, 0, sizeof *v);
		up = depth ? stack[depth - 1] : NULL;
		if (!up) {
			*root = v;
		} else {
			*tail[depth - 1] = v;
			tail[depth - 1] = &v->next;
			up->count++;
		}
		if (up && up->type == MR_JSON_OBJECT) {
			if (c != '"')
				return json_fail(p, "expected a string as object key");
			if (json_string(p, &v->key, &v->key_len))
				return -1;
			if (json_ws(p) != ':')
				return json_fail(p, "expected ':' after object key");
			p->pos++;
			c = json_ws(p);
		}
		if (c == '{' || c == '[') {
			if (depth == MINIRUN_MAX_JSON_DEPTH)
				return mr_err_set(p->err, MR_EINVAL_INPUT, "invalid JSON at byte %zu: "
						  "nested deeper than %d levels", p->pos,
						  MINIRUN_MAX_JSON_DEPTH);
			v->type = c == '{' ? MR_JSON_OBJECT : MR_JSON_ARRAY;
			stack[depth] = v;
			tail[depth++] = &v->child;
			p->pos++;
			if (json_ws(p) != c + 2) /* '}' and ']' follow '{' and '[' by 2 */
				continue;
			p->pos++;
			depth--;
		} else if (c == '"') {
			v->type = MR_JSON_STRING;
			if (json_string(p, &v->str, &v->len))
				return -1;
		} else if (json_scalar(p, v, c)) {
			return -1;
		}
		/* After a value: close containers until a ',' or the end. */
		for (;;) {
			c = json_ws(p);
			if (!depth) {
				if (c >= 0)
					return json_fail(p, "unexpected data after the top-level value");
				return 0;
			}
			if (c == ',') {
				p->pos++;
				break;
			}
			if (stack[depth - 1]->type == MR_JSON_OBJECT ? c != '}' : c != ']')
				return json_fail(p, stack[depth - 1]->type == MR_JSON_OBJECT ?
						 "expected ',' or '}' in object" :
						 "expected ',' or ']' in array");
			p->pos++;
			depth--;
		}
	}
}

/* see minirun.h */
int mr_json_parse(struct mr_json_doc *doc, const char *text, size_t len, struct mr_err *err)
{
	struct json_parser p = { (const unsigned char *)text, 0, len, NULL, 0, 0, NULL, err };
	doc->root = NULL;
	doc->arena = NULL;
	if (len > MINIRUN_MAX_JSON)
		return mr_err_set(err, MR_EINVAL_INPUT, "JSON document too large: %zu bytes (limit %zu)",
				  len, (size_t)MINIRUN_MAX_JSON);
	/* Nodes, then strings: each decoded string with its NUL fits in its quoted
	 * source, each number's text plus NUL in its source plus one per node. */
	p.ncap = json_count(p.s, len);
	p.nodes = malloc(p.ncap * (sizeof(struct mr_json) + 1) + len);
	if (!p.nodes)
		return mr_err_set(err, ENOMEM, "JSON document of %zu bytes: out of memory", len);
	p.chars = (char *)(p.nodes + p.ncap);
	doc->arena = p.nodes;
	if (json_parse_doc(&p, &doc->root)) {
		mr_json_free(doc);
		return -1;
	}
	return 0;
}

/* see minirun.h */
void mr_json_free(struct mr_json_doc *doc)
{
	free(doc->arena);
	doc->arena = NULL;
	doc->root = NULL;
}

/* see minirun.h */
const struct mr_json *mr_json_get(const struct mr_json *obj, const char *key)
{
	const struct mr_json *c, *found = NULL;
	size_t n = strlen(key);
	if (!obj || obj->type != MR_JSON_OBJECT)
		return NULL;
	/* The last duplicate wins, as in Go's encoding/json (what Docker uses). */
	for (c = obj->child; c; c = c->next)
		if (c->key_len == n && !memcmp(c->key, key, n))
			found = c;
	return found;
}

/* see minirun.h */
const char *mr_json_str(const struct mr_json *v)
{
	return v && v->type == MR_JSON_STRING ? v->str : NULL;
}

/* mr_json_str(mr_json_get(obj, key)) in one call (one call less per use). */
static const char *json_get_str(const struct mr_json *obj, const char *key)
{
	return mr_json_str(mr_json_get(obj, key));
}

/* see minirun.h */
const struct mr_json *mr_json_at(const struct mr_json *arr, size_t i)
{
	const struct mr_json *c;
	if (!arr || arr->type != MR_JSON_ARRAY)
		return NULL;
	for (c = arr->child; c && i; c = c->next)
		i--;
	return c;
}

/* ---- writer ---- */

static void json_w_put(struct mr_jw *w, const char *s, size_t n)
{
	if (mr_buf_append(w->out, s, n))
		w->failed = 1;
}

static void json_w_newline(struct mr_jw *w)
{
	int n = w->indent * w->depth;
	json_w_put(w, "\n", 1);
	for (; n > 0; n -= 16)
		json_w_put(w, "                ", n < 16 ? (size_t)n : 16);
}

/* Before a key or a value: a comma after a sibling, then in pretty mode a new
 * line; nothing right after a key (its ':' is already out). */
static void json_w_pre(struct mr_jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->need_comma[w->depth])
		json_w_put(w, ",", 1);
	w->need_comma[w->depth] = 1;
	if (w->indent && w->depth)
		json_w_newline(w);
}

static void json_w_open(struct mr_jw *w, const char *c)
{
	json_w_pre(w);
	if (w->depth >= MINIRUN_MAX_JSON_DEPTH) {
		w->failed = 1;
		return;
	}
	json_w_put(w, c, 1);
	w->need_comma[++w->depth] = 0;
}

/* An empty container closes on the same line: {} and [] as Go prints them. */
static void json_w_close(struct mr_jw *w, const char *c)
{
	if (w->depth <= 0) {
		w->failed = 1;
		return;
	}
	if (w->need_comma[w->depth--] && w->indent)
		json_w_newline(w);
	json_w_put(w, c, 1);
}

/* A quoted string escaped as Go's encoding/json does: \" \\ \b \f \n \r \t,
 * other controls and the HTML-unsafe < > & as \u00xx, U+2028/9 as \u202x,
 * each byte of invalid UTF-8 as \ufffd; all else passes through. */
static void json_w_quoted(struct mr_jw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0, k;
	char esc[8];
	json_w_put(w, "\"", 1);
	while (i < n) {
		unsigned c = s[i];
		long u = -1;
		const char *m;
		k = 1;
		if (c >= 0x80) {
			k = json_utf8_len(s + i, n - i);
			if (!k) {
				k = 1;
				u = 0xfffd;
			} else if (c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8) {
				u = 0x2000 + (s[i + 2] - 0x80); /* U+2028, U+2029 */
			}
		} else if (c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&') {
			u = c;
		}
		if (u >= 0) {
			json_w_put(w, str + start, i - start);
			for (m = json_esc; *m && (unsigned char)m[1] != u; m += 2) {}
			if (*m)
				snprintf(esc, sizeof esc, "\\%c", *m);
			else
				snprintf(esc, sizeof esc, "\\u%04lx", u);
			json_w_put(w, esc, strlen(esc));
			start = i + k;
		}
		i += k;
	}
	json_w_put(w, str + start, n - start);
	json_w_put(w, "\"", 1);
}

static void json_w_raw(struct mr_jw *w, const char *s, size_t n)
{
	json_w_pre(w);
	json_w_put(w, s, n);
}

static void json_w_lit(struct mr_jw *w, int i)
{
	json_w_raw(w, json_lit[i], strlen(json_lit[i]));
}

static void json_w_keyn(struct mr_jw *w, const char *key, size_t n)
{
	json_w_pre(w);
	json_w_quoted(w, key, n);
	json_w_put(w, ": ", w->indent ? 2 : 1);
	w->after_key = 1;
}

/* see minirun.h */
void mr_jw_init(struct mr_jw *w, struct mr_buf *out, int indent)
{
	memset(w, 0, sizeof *w);
	w->out = out;
	w->indent = indent;
}

/* see minirun.h */
void mr_jw_obj(struct mr_jw *w)
{
	json_w_open(w, "{");
}

/* see minirun.h */
void mr_jw_obj_end(struct mr_jw *w)
{
	json_w_close(w, "}");
}

/* see minirun.h */
void mr_jw_arr(struct mr_jw *w)
{
	json_w_open(w, "[");
}

/* see minirun.h */
void mr_jw_arr_end(struct mr_jw *w)
{
	json_w_close(w, "]");
}

/* see minirun.h */
void mr_jw_key(struct mr_jw *w, const char *key)
{
	json_w_keyn(w, key, strlen(key));
}

/* see minirun.h */
void mr_jw_str(struct mr_jw *w, const char *s)
{
	if (!s)
		mr_jw_null(w);
	else
		mr_jw_strn(w, s, strlen(s));
}

/* see minirun.h */
void mr_jw_strn(struct mr_jw *w, const char *s, size_t n)
{
	json_w_pre(w);
	json_w_quoted(w, s, n);
}

/* see minirun.h */
void mr_jw_int(struct mr_jw *w, long long v)
{
	json_w_pre(w);
	mr_buf_printf(w->out, "%lld", v);
}

/* see minirun.h */
void mr_jw_bool(struct mr_jw *w, int v)
{
	json_w_lit(w, v ? MR_JSON_TRUE : MR_JSON_FALSE);
}

/* see minirun.h */
void mr_jw_null(struct mr_jw *w)
{
	json_w_lit(w, MR_JSON_NULL);
}

/* A JSON file of at most max bytes (dfd, path as mr_read_file takes them)
 * read into buf and parsed into doc; the caller frees both. */
static int json_read_file(int dfd, const char *path, size_t max, struct mr_buf *buf,
			  struct mr_json_doc *doc, struct mr_err *err)
{
	if (mr_read_file(dfd, path, buf, max, err) < 0)
		return -1;
	return mr_json_parse(doc, buf->data, buf->len, err);
}

/* The first member of obj's key (an object or array), NULL if none. */
static const struct mr_json *json_first(const struct mr_json *obj, const char *key)
{
	const struct mr_json *v = mr_json_get(obj, key);
	return v ? v->child : NULL;
}

/* The type of obj's key, -1 when it is missing. */
static int json_type(const struct mr_json *obj, const char *key)
{
	const struct mr_json *v = mr_json_get(obj, key);
	return v ? (int)v->type : -1;
}

/* A key and its value, or the object or array it opens: one call where two
 * were (a NULL string writes null). The JSON writers of every part use these. */
static void json_kstr(struct mr_jw *w, const char *key, const char *v)
{
	mr_jw_key(w, key);
	mr_jw_str(w, v);
}

static void json_kbool(struct mr_jw *w, const char *key, int v)
{
	mr_jw_key(w, key);
	mr_jw_bool(w, v);
}

static void json_kint(struct mr_jw *w, const char *key, long long v)
{
	mr_jw_key(w, key);
	mr_jw_int(w, v);
}

/* A key and the opening of its object or array. */
static void json_kobj(struct mr_jw *w, const char *key)
{
	mr_jw_key(w, key);
	mr_jw_obj(w);
}

static void json_karr(struct mr_jw *w, const char *key)
{
	mr_jw_key(w, key);
	mr_jw_arr(w);
}

/* see minirun.h */
void mr_jw_value(struct mr_jw *w, const struct mr_json *v)
{
	const struct mr_json *c;
	int obj;
	if (!v || v->type <= MR_JSON_TRUE) {
		json_w_lit(w, v ? (int)v->type : MR_JSON_NULL);
		return;
	}
	if (v->type == MR_JSON_NUMBER || v->type == MR_JSON_STRING) {
		if (v->type == MR_JSON_NUMBER)
			json_w_raw(w, v->str, v->len);
		else
			mr_jw_strn(w, v->str, v->len);
		return;
	}
	obj = v->type == MR_JSON_OBJECT;
	json_w_open(w, obj ? "{" : "[");
	if (w->failed) /* also what bounds this recursion: opening fails past the depth limit */
		return;
	for (c = v->child; c; c = c->next) {
		if (obj)
			json_w_keyn(w, c->key, c->key_len);
		mr_jw_value(w, c);
	}
	json_w_close(w, obj ? "}" : "]");
}
