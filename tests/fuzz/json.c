/* libFuzzer target for section [04] JSON.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -DMINIRUN_NO_MAIN \
 *        -I.deps/native/include -o fuzz_json tests/fuzz/json.c
 * Properties: the parser never crashes or over-reads; whatever it accepts the
 * writer prints as JSON that parses again to the same compact text, in both
 * layouts; any bytes written as a string parse back, unchanged if valid UTF-8. */
#define MINIRUN_NO_MAIN
#ifndef MINIRUN_C
#define MINIRUN_C "../../minirun.c"
#endif
#include MINIRUN_C

static void fz_write(const struct mr_json *v, int indent, struct mr_buf *out)
{
	struct mr_jw w;
	mr_jw_init(&w, out, indent);
	mr_jw_value(&w, v);
	if (w.failed || w.depth)
		__builtin_trap();
	mr_buf_append(out, "", 0); /* data non-NULL even when empty */
}

/* Parse `in`, print it compact: the text into out (caller frees). */
static void fz_reprint(const char *in, size_t len, struct mr_buf *out)
{
	struct mr_json_doc doc;
	struct mr_err err;
	if (mr_json_parse(&doc, in, len, &err))
		__builtin_trap();
	fz_write(doc.root, 0, out);
	mr_json_free(&doc);
}

static int fz_valid_utf8(const unsigned char *s, size_t n)
{
	size_t i, k;
	for (i = 0; i < n; i += k)
		if (!(k = json_utf8_len(s + i, n - i)))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mr_json_doc doc;
	struct mr_err err;
	struct mr_buf a = { 0 }, b = { 0 }, p = { 0 }, s = { 0 };
	struct mr_jw w;

	if (mr_json_parse(&doc, (const char *)data, size, &err) == 0) {
		fz_write(doc.root, 0, &a);
		fz_write(doc.root, 3, &p);
		mr_json_free(&doc);
		fz_reprint(a.data, a.len, &b);
		if (a.len != b.len || memcmp(a.data, b.data, a.len))
			__builtin_trap();
		mr_buf_free(&b);
		fz_reprint(p.data, p.len, &b);
		if (a.len != b.len || memcmp(a.data, b.data, a.len))
			__builtin_trap();
	} else if (strncmp(err.msg, "invalid JSON at byte ", 21) || doc.arena ||
		   strstr(err.msg, "too many values")) { /* json_count was too low */
		__builtin_trap();
	}
	mr_jw_init(&w, &s, 0);
	mr_jw_strn(&w, (const char *)data, size);
	if (mr_json_parse(&doc, s.data, s.len, &err) || doc.root->type != MR_JSON_STRING)
		__builtin_trap();
	if (fz_valid_utf8(data, size) && (doc.root->len != size || memcmp(doc.root->str, data, size)))
		__builtin_trap();
	mr_json_free(&doc);
	mr_buf_free(&a);
	mr_buf_free(&b);
	mr_buf_free(&p);
	mr_buf_free(&s);
	return 0;
}
