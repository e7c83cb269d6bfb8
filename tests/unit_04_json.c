/* Unit tests of section [04] JSON. */

/* Parse in[0..len) and write it back with the given indent; 1 if the output is
 * exactly `expect`. */
static int tj_round_n(const char *in, size_t len, int indent, const char *expect)
{
	struct mr_json_doc doc;
	struct mr_err err;
	struct mr_buf out = { 0 };
	struct mr_jw w;
	int ok;
	if (mr_json_parse(&doc, in, len, &err)) {
		printf("  parse failed: %s\n", err.msg);
		return 0;
	}
	mr_jw_init(&w, &out, indent);
	mr_jw_value(&w, doc.root);
	ok = !w.failed && out.data && strcmp(out.data, expect) == 0 && out.len == strlen(expect);
	if (!ok)
		printf("  got <%s>\n  want <%s>\n", out.data ? out.data : "(null)", expect);
	mr_buf_free(&out);
	mr_json_free(&doc);
	return ok;
}

static int tj_round(const char *in, int indent, const char *expect)
{
	return tj_round_n(in, strlen(in), indent, expect);
}

/* Parse a malformed document: the byte offset from the message, or
 * (size_t)-1 if it parsed, -2 if the error is not shaped as promised. */
static size_t tj_err_n(const char *in, size_t len)
{
	struct mr_json_doc doc;
	struct mr_err err;
	size_t off;
	memset(&err, 0, sizeof err);
	if (mr_json_parse(&doc, in, len, &err) == 0) {
		mr_json_free(&doc);
		printf("  unexpectedly parsed: <%.*s>\n", (int)(len < 60 ? len : 60), in);
		return (size_t)-1;
	}
	if (doc.root || doc.arena || err.code != MR_EINVAL_INPUT ||
	    sscanf(err.msg, "invalid JSON at byte %zu: ", &off) != 1)
		return (size_t)-2;
	mr_json_free(&doc); /* harmless after a failure */
	return off;
}

static size_t tj_err(const char *in)
{
	return tj_err_n(in, strlen(in));
}

static int tj_bad(const char *in)
{
	size_t r = tj_err(in);
	return r != (size_t)-1 && r != (size_t)-2;
}

/* A string value parsed from in equals want[0..wlen). */
static int tj_str(const char *in, const char *want, size_t wlen)
{
	struct mr_json_doc doc;
	struct mr_err err;
	int ok;
	if (mr_json_parse(&doc, in, strlen(in), &err))
		return 0;
	ok = doc.root->type == MR_JSON_STRING && doc.root->len == wlen &&
	     !memcmp(doc.root->str, want, wlen) && doc.root->str[wlen] == 0;
	mr_json_free(&doc);
	return ok;
}

/* What the writer makes of the raw bytes s[0..n) as a string. */
static int tj_wstr(const char *s, size_t n, const char *expect)
{
	struct mr_buf out = { 0 };
	struct mr_jw w;
	int ok;
	mr_jw_init(&w, &out, 0);
	mr_jw_strn(&w, s, n);
	ok = !w.failed && strcmp(out.data, expect) == 0;
	if (!ok)
		printf("  got <%s>\n  want <%s>\n", out.data, expect);
	mr_buf_free(&out);
	return ok;
}

/* n nested arrays (or objects {"a":...}) around 1. */
static char *tj_nest(int n, int obj)
{
	struct mr_buf b = { 0 };
	int i;
	for (i = 0; i < n; i++)
		mr_buf_append(&b, obj ? "{\"a\":" : "[", obj ? 5 : 1);
	mr_buf_append(&b, "1", 1);
	for (i = 0; i < n; i++)
		mr_buf_append(&b, obj ? "}" : "]", 1);
	return b.data;
}

static void test_json_valid(void)
{
	struct mr_json_doc doc;
	struct mr_err err;
	const struct mr_json *v, *a;
	const char *text = " {\"a\" : [1, 2.5, {\"b\": null}], \"c\":\"d\", \"t\":true,"
			   "\"f\":false, \"e\":{}, \"z\":[], \"n\":-12.5e-1} \r\n\t";

	CHECK(mr_json_parse(&doc, text, strlen(text), &err) == 0);
	v = doc.root;
	CHECK(v && v->type == MR_JSON_OBJECT && v->count == 7 && !v->key);
	a = mr_json_get(v, "a");
	CHECK(a && a->type == MR_JSON_ARRAY && a->count == 3 && a->key_len == 1);
	CHECK(mr_json_at(a, 0) && mr_json_at(a, 0)->num == 1 && !strcmp(mr_json_at(a, 0)->str, "1"));
	CHECK(mr_json_at(a, 1) && mr_json_at(a, 1)->num == 2.5 && mr_json_at(a, 1)->len == 3);
	CHECK(mr_json_at(a, 2) && mr_json_get(mr_json_at(a, 2), "b")->type == MR_JSON_NULL);
	CHECK(mr_json_at(a, 3) == NULL);
	CHECK(mr_json_at(v, 0) == NULL);   /* not an array */
	CHECK(mr_json_get(a, "a") == NULL); /* not an object */
	CHECK(mr_json_get(NULL, "a") == NULL && mr_json_at(NULL, 0) == NULL && !mr_json_str(NULL));
	CHECK(mr_json_get(v, "missing") == NULL);
	CHECK(mr_json_get(v, "") == NULL);
	CHECK(mr_json_str(mr_json_get(v, "c")) && !strcmp(mr_json_str(mr_json_get(v, "c")), "d"));
	CHECK(mr_json_str(a) == NULL);
	CHECK(mr_json_get(v, "t")->type == MR_JSON_TRUE && mr_json_get(v, "f")->type == MR_JSON_FALSE);
	CHECK(mr_json_get(v, "e")->type == MR_JSON_OBJECT && mr_json_get(v, "e")->count == 0 &&
	      !mr_json_get(v, "e")->child);
	CHECK(mr_json_get(v, "z")->type == MR_JSON_ARRAY && mr_json_get(v, "z")->count == 0);
	CHECK(mr_json_get(v, "n")->num == -1.25 && !strcmp(mr_json_get(v, "n")->str, "-12.5e-1"));
	mr_json_free(&doc);
	CHECK(doc.arena == NULL && doc.root == NULL);
	mr_json_free(&doc); /* twice is harmless */

	/* Top-level scalars (RFC 8259) and numbers. */
	CHECK(tj_round("null", 0, "null") && tj_round(" true ", 0, "true") && tj_round("false", 0, "false"));
	CHECK(tj_round("0", 0, "0") && tj_round("-0", 0, "-0") && tj_round("-0.0e-0", 0, "-0.0e-0"));
	CHECK(tj_round("1E+2", 0, "1E+2") && tj_round("123456789012345678901234567890", 0,
						     "123456789012345678901234567890"));
	CHECK(mr_json_parse(&doc, "1e2", 3, &err) == 0 && doc.root->num == 100);
	mr_json_free(&doc);
	CHECK(mr_json_parse(&doc, "9007199254740993", 16, &err) == 0 &&
	      !strcmp(doc.root->str, "9007199254740993"));
	mr_json_free(&doc);
	CHECK(mr_json_parse(&doc, "1e400", 5, &err) == 0 && doc.root->type == MR_JSON_NUMBER);
	mr_json_free(&doc);
	/* Not NUL-terminated input: only len bytes are read. */
	CHECK(mr_json_parse(&doc, "12345", 2, &err) == 0 && doc.root->num == 12 && doc.root->len == 2);
	mr_json_free(&doc);
	CHECK(mr_json_parse(&doc, "\"ab\"cdef", 4, &err) == 0 && !strcmp(doc.root->str, "ab"));
	mr_json_free(&doc);

	/* Duplicate keys: the last wins, as in Go. */
	CHECK(mr_json_parse(&doc, "{\"a\":1,\"b\":0,\"a\":2}", 19, &err) == 0 &&
	      mr_json_get(doc.root, "a")->num == 2 && doc.root->count == 3);
	mr_json_free(&doc);

	/* Strings: every escape, surrogate pairs, raw UTF-8, NUL inside. */
	CHECK(tj_str("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8));
	CHECK(tj_str("\"\\u0041\\u00e9\\u00E9\\u20ac\\ud83d\\ude00\\uDBFF\\uDFFF\"",
		     "A\xc3\xa9\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 16));
	CHECK(tj_str("\"\\u07ff\\u0800\\uffff\\ud800\\udc00\"",
		     "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80", 12));
	CHECK(tj_str("\"a\\u0000b\"", "a\0b", 3));
	CHECK(tj_str("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\x7f\"",
		     "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\x7f", 13));
	CHECK(tj_str("\"\"", "", 0));
	CHECK(mr_json_parse(&doc, "{\"k\\u0000\\n\":1}", 15, &err) == 0 &&
	      doc.root->child->key_len == 3 && !memcmp(doc.root->child->key, "k\0\n", 4));
	mr_json_free(&doc);
	/* Commas and brackets inside strings do not confuse the value count. */
	CHECK(tj_round("[\"[,{,\\\",\",\",,,\\\\\",{\"{[,\":[]}]", 0,
		       "[\"[,{,\\\",\",\",,,\\\\\",{\"{[,\":[]}]"));

	/* Exactly MINIRUN_MAX_JSON_DEPTH levels is fine. */
	{
		char *s = tj_nest(MINIRUN_MAX_JSON_DEPTH, 0);
		CHECK(mr_json_parse(&doc, s, strlen(s), &err) == 0);
		mr_json_free(&doc);
		CHECK(tj_round(s, 0, s));
		free(s);
		s = tj_nest(MINIRUN_MAX_JSON_DEPTH, 1);
		CHECK(tj_round(s, 0, s));
		free(s);
	}
}

static void test_json_write(void)
{
	struct mr_buf out = { 0 };
	struct mr_jw w;
	int i;
	const char *pretty4 =
		"[\n"
		"    {\n"
		"        \"Id\": \"x\",\n"
		"        \"Empty\": {},\n"
		"        \"Arr\": [],\n"
		"        \"L\": [\n"
		"            1,\n"
		"            {\n"
		"                \"a\": true\n"
		"            }\n"
		"        ],\n"
		"        \"N\": null\n"
		"    }\n"
		"]";
	const char *doc = "[{\"Id\":\"x\",\"Empty\":{},\"Arr\":[],\"L\":[1,{\"a\":true}],\"N\":null}]";

	/* Compact round trips normalise whitespace and keep number text. */
	CHECK(tj_round("{ \"a\" : 1 , \"b\" : [ 1 , 2 ] }", 0, "{\"a\":1,\"b\":[1,2]}"));
	CHECK(tj_round("[1.50,-0,1E+2,0.0e-7]", 0, "[1.50,-0,1E+2,0.0e-7]"));
	CHECK(tj_round("{}", 0, "{}") && tj_round("[ ]", 0, "[]") && tj_round("[{},[],[[]]]", 0, "[{},[],[[]]]"));
	CHECK(tj_round("\"<a&b>\"", 0, "\"\\u003ca\\u0026b\\u003e\""));
	CHECK(tj_round("\"\\u2028\\u2029\\u2027\"", 0, "\"\\u2028\\u2029\xe2\x80\xa7\""));
	CHECK(tj_round("\"\\u0001\\u001f\\u007f\\u0000\"", 0, "\"\\u0001\\u001f\x7f\\u0000\""));
	CHECK(tj_round("\"\\b\\f\\n\\r\\t\\\"\\\\\\/\"", 0, "\"\\b\\f\\n\\r\\t\\\"\\\\/\""));
	CHECK(tj_round("\"\\u00e9\\ud83d\\ude00\"", 0, "\"\xc3\xa9\xf0\x9f\x98\x80\""));
	CHECK(tj_round("{\"<k>\":\"v\"}", 0, "{\"\\u003ck\\u003e\":\"v\"}"));

	/* Pretty printing as Go's json.MarshalIndent(v, "", "    "). */
	CHECK(tj_round(doc, 4, pretty4));
	CHECK(tj_round(pretty4, 0, doc));
	CHECK(tj_round("{\"a\":[1,2]}", 2, "{\n  \"a\": [\n    1,\n    2\n  ]\n}"));
	CHECK(tj_round("{}", 4, "{}") && tj_round("[]", 4, "[]") && tj_round("7", 4, "7"));
	CHECK(tj_round("[[]]", 1, "[\n []\n]"));

	/* The writer API by hand. */
	mr_jw_init(&w, &out, 0);
	mr_jw_obj(&w);
	mr_jw_key(&w, "s");
	mr_jw_str(&w, "v");
	mr_jw_key(&w, "null");
	mr_jw_str(&w, NULL);
	mr_jw_key(&w, "min");
	mr_jw_int(&w, LLONG_MIN);
	mr_jw_key(&w, "max");
	mr_jw_int(&w, LLONG_MAX);
	mr_jw_key(&w, "b");
	mr_jw_arr(&w);
	mr_jw_bool(&w, 1);
	mr_jw_bool(&w, 0);
	mr_jw_null(&w);
	mr_jw_value(&w, NULL);
	mr_jw_strn(&w, "a\0b", 3);
	mr_jw_arr_end(&w);
	mr_jw_obj_end(&w);
	CHECK(!w.failed && w.depth == 0);
	CHECK(out.data && !strcmp(out.data, "{\"s\":\"v\",\"null\":null,\"min\":-9223372036854775808,"
				  "\"max\":9223372036854775807,\"b\":[true,false,null,null,\"a\\u0000b\"]}"));
	mr_buf_free(&out);

	mr_jw_init(&w, &out, 4);
	mr_jw_obj(&w);
	mr_jw_key(&w, "Labels");
	mr_jw_obj(&w);
	mr_jw_obj_end(&w);
	mr_jw_key(&w, "Cmd");
	mr_jw_arr(&w);
	mr_jw_str(&w, "sh");
	mr_jw_arr_end(&w);
	mr_jw_obj_end(&w);
	CHECK(!w.failed && !strcmp(out.data, "{\n    \"Labels\": {},\n    \"Cmd\": [\n        \"sh\"\n    ]\n}"));
	mr_buf_free(&out);

	/* Invalid UTF-8: one \ufffd per bad byte, as Go does. */
	CHECK(tj_wstr("\xff", 1, "\"\\ufffd\""));
	CHECK(tj_wstr("a\xc0\x80z", 4, "\"a\\ufffd\\ufffdz\""));
	CHECK(tj_wstr("\xe2\x82", 2, "\"\\ufffd\\ufffd\""));
	CHECK(tj_wstr("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""));
	CHECK(tj_wstr("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""));
	CHECK(tj_wstr("\xe0\x9f\xbf", 3, "\"\\ufffd\\ufffd\\ufffd\""));
	CHECK(tj_wstr("\xf0\x9f\x98", 3, "\"\\ufffd\\ufffd\\ufffd\""));
	CHECK(tj_wstr("\xe2\x80", 2, "\"\\ufffd\\ufffd\""));   /* cut U+2028 */
	CHECK(tj_wstr("\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 11,
		      "\"\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\""));
	CHECK(tj_wstr("", 0, "\"\""));
	CHECK(tj_wstr("\x1b[0m", 4, "\"\\u001b[0m\""));

	/* Nesting past the limit or closing too much marks the writer failed. */
	mr_jw_init(&w, &out, 0);
	for (i = 0; i < MINIRUN_MAX_JSON_DEPTH; i++)
		mr_jw_arr(&w);
	CHECK(!w.failed);
	mr_jw_arr(&w);
	CHECK(w.failed);
	mr_buf_free(&out);
	mr_jw_init(&w, &out, 0);
	mr_jw_arr_end(&w);
	CHECK(w.failed);
	mr_buf_free(&out);
}

static void test_json_malformed(void)
{
	static const char *const bad[] = {
		"", " ", "\n\t\r ", "[", "[1", "[1,", "{", "{\"a\"", "{\"a\":", "{\"a\":1",
		"\"abc", "\"abc\\", "\"abc\\\"", "tru", "nul", "fals", "True", "NULL", "nulll", "truex",
		"-", "1.", "1e", "1e+", "1E-", ".5", "+1", "01", "-01", "00", "1.e5", "0x10", "1_0",
		"NaN", "Infinity", "-Infinity", "- 1", "1.5.5", "--1", "0.", "[1,]", "{\"a\":1,}", "[,1]",
		"{,}", "{\"a\" 1}", "{1:2}", "{'a':1}", "['a']", "[1 2]", "[1}", "{\"a\":1]", "1 2",
		"[] x", "{}}", "]", "}", ",", ":", "{\"a\"::1}", "{\"a\":}", "{:1}", "[\"a\":1]",
		"\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\U0041\"", "\"\\ud800\"", "\"\\ud800x\"",
		"\"\\ud800\\u0041\"", "\"\\udc00\"", "\"\\ud800\\ud800\"", "\"\\udbff\\ue000\"",
		"\"\\ud800\\\"", "\"\\ud800\\u\"", "\"\\ud800\\udc0\"", "\"\\'\"", "\"\\a\"",
		"\"a\tb\"", "\"\x01\"", "\"\x1f\"", "\"a\nb\"", "\"\r\"",
		"\"\xff\"", "\"\xc0\xaf\"", "\"\xc1\xbf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
		"\"\xed\xbf\xbf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xe2\x82\"",
		"\"\x80\"", "\"\xc3\"", "\"\xf0\x9f\x98\"", "\"\xf0\x9f\x98\x80\x80\"", "\xef\xbb\xbf{}",
		"\xc3\xa9", "[\"a\"\xff]", "/* c */ 1", "1 // c", "[1]]", "[[1]", "{\"a\":[}",
		"undefined", "'s'", "\"\\u00e9\\", "{\"a\":1 \"b\":2}", "\x0c 1", "1\x0b",
	};
	struct mr_json_doc doc;
	struct mr_err err;
	size_t i, n;
	char *s;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int ok = tj_bad(bad[i]);
		if (!ok)
			printf("  malformed input #%zu accepted or wrong error\n", i);
		CHECK(ok);
	}
	/* Embedded NUL bytes. */
	CHECK(tj_err_n("[1]\0", 4) == 3);
	CHECK(tj_err_n("\"a\0b\"", 5) == 2);
	CHECK(tj_err_n("\0", 1) == 0);
	CHECK(tj_err_n("[1,\0]", 5) == 3);

	/* Offsets: 0-based index of the offending byte, or len at end of input. */
	CHECK(tj_err("") == 0);
	CHECK(tj_err("   ") == 3);
	CHECK(tj_err("{\"a\" 1}") == 5);
	CHECK(tj_err("[1,]") == 3);
	CHECK(tj_err("{\"a\":1,}") == 7);
	CHECK(tj_err("\"\\ud800\"") == 1);
	CHECK(tj_err("\"ab\\ud83d\\u0041\"") == 3);
	CHECK(tj_err("[01]") == 2);
	CHECK(tj_err("\"ab\x01\"") == 3);
	CHECK(tj_err("\"ab\xff\"") == 3);
	CHECK(tj_err("1 2") == 2);
	CHECK(tj_err("[1.]") == 3);
	CHECK(tj_err("[-]") == 2);
	CHECK(tj_err("[1e]") == 3);
	CHECK(tj_err("[1") == 2);
	CHECK(tj_err("\"abc") == 4);
	CHECK(tj_err("[tru]") == 1);
	CHECK(tj_err("{\"a\":1]") == 6);
	CHECK(tj_err("\"\\q\"") == 1);

	/* The message itself. */
	CHECK(mr_json_parse(&doc, "{\"a\" 1}", 7, &err) == -1 &&
	      !strcmp(err.msg, "invalid JSON at byte 5: expected ':' after object key"));
	CHECK(mr_json_parse(&doc, "[1", 2, &err) == -1 &&
	      !strcmp(err.msg, "invalid JSON at byte 2: unexpected end of input"));
	CHECK(mr_json_parse(&doc, "[1 2]", 5, &err) == -1 &&
	      !strcmp(err.msg, "invalid JSON at byte 3: expected ',' or ']' in array"));

	/* Nesting: one level past the limit fails, arrays and objects alike. */
	s = tj_nest(MINIRUN_MAX_JSON_DEPTH + 1, 0);
	CHECK(tj_err(s) == MINIRUN_MAX_JSON_DEPTH);
	CHECK(mr_json_parse(&doc, s, strlen(s), &err) == -1 && strstr(err.msg, "nested deeper"));
	free(s);
	s = tj_nest(MINIRUN_MAX_JSON_DEPTH + 1, 1);
	CHECK(tj_err(s) == MINIRUN_MAX_JSON_DEPTH * 5);
	free(s);
	/* Very deep input (no recursion to exhaust the stack). */
	n = 1000000;
	s = malloc(n);
	memset(s, '[', n);
	CHECK(tj_err_n(s, n) == MINIRUN_MAX_JSON_DEPTH);
	memset(s, '{', n);
	CHECK(tj_err_n(s, n) == 1);
	free(s);

	/* The value count bounding the arena stops where the parser must stop. */
	CHECK(json_count((const unsigned char *)"[[[1,2],3],{\"a,[\":[\"\\\",\"]}] x,[", 31) == 9);
	CHECK(json_count((const unsigned char *)"[] [,,,]", 8) == 2);
	CHECK(json_count((const unsigned char *)"1,2,3", 5) == 1);
	CHECK(json_count((const unsigned char *)"],[,,", 5) == 1);
	s = tj_nest(1000, 0);
	CHECK(json_count((const unsigned char *)s, strlen(s)) == MINIRUN_MAX_JSON_DEPTH + 1);
	free(s);

	/* Size limit: exactly MINIRUN_MAX_JSON bytes parses, one more is refused. */
	n = MINIRUN_MAX_JSON;
	s = malloc(n + 1);
	memset(s, 'x', n + 1);
	s[0] = '"';
	s[n - 1] = '"';
	CHECK(mr_json_parse(&doc, s, n, &err) == 0 && doc.root->len == n - 2);
	mr_json_free(&doc);
	s[n - 1] = 'x';
	s[n] = '"';
	CHECK(mr_json_parse(&doc, s, n + 1, &err) == -1 && err.code == MR_EINVAL_INPUT &&
	      strstr(err.msg, "too large") && !doc.arena);
	/* Many values: an array of 0s filling the limit, and one of strings. */
	s[0] = ' ';
	s[1] = '[';
	for (i = 2; i < n - 1; i++)
		s[i] = i % 2 ? ',' : '0';
	s[n - 1] = ']';
	CHECK(n % 2 == 0 && mr_json_parse(&doc, s, n, &err) == 0 && doc.root->count == (n - 2) / 2);
	mr_json_free(&doc);
	s[n - 1] = ',';
	CHECK(tj_err_n(s, n) == n);
	free(s);
}

static void test_json(void)
{
	test_json_valid();
	test_json_write();
	test_json_malformed();
}
