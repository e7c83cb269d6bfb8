/* libFuzzer target for sections [09c] HTTP and [09d] PULL: what a registry,
 * a CDN or a man in the middle controls.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -DMINIRUN_NO_MAIN \
 *        -I.deps/native/include -o fuzz_http tests/fuzz/http.c -L.deps/native/lib -lbearssl -lzstd -lz
 * The first byte picks the parser; the rest is its input:
 *   0  a response stream (heads and bodies, keep-alive: several responses
 *      in a row, Content-Length, chunked with extensions and trailers)
 *   1  a WWW-Authenticate header
 *   2  a reference (pull_ref_parse) and the names made from it
 *   3  a certificate (DER) as a trust anchor and for the iPAddress check
 *   4  a registry error body and a Location against a base URL
 * Properties: no crash, no over-read; what the parsers accept is bounded
 * (bodies read never exceed the input, names fit their buffers). */
#define MINIRUN_NO_MAIN
#ifndef MINIRUN_C
#define MINIRUN_C "../../minirun.c"
#endif
#include MINIRUN_C

static void fz_responses(const uint8_t *data, size_t size)
{
	struct http_conn c;
	struct http_resp r;
	struct http_body b;
	struct mr_err err;
	int sv[2], i;
	if (size > 100000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	if (util_write_all(sv[1], data, size) < 0) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	close(sv[1]);
	memset(&c, 0, sizeof c);
	c.fd = sv[0];
	c.timeout = 1;
	snprintf(c.host, sizeof c.host, "fuzz");
	snprintf(c.port, sizeof c.port, "443");
	for (i = 0; i < 4 && c.fd >= 0; i++) {
		struct mr_buf body = { 0 };
		if (http_read_head(&c, &r, &err) < 0)
			break;
		if (strlen(r.location) >= sizeof r.location || strlen(r.auth) >= sizeof r.auth)
			__builtin_trap();
		http_body_init(&b, &c, &r, i == 3);
		if (http_body_slurp(&b, &body, 1u << 20, &err) == 0 && body.len > size)
			__builtin_trap();
		mr_buf_free(&body);
	}
	http_close(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	if (!size)
		return 0;
	s = util_xmalloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	switch (data[0] % 5) {
	case 0:
		fz_responses(data + 1, size - 1);
		break;
	case 1: {
		struct pull_challenge ch;
		if (pull_parse_challenge(s, &ch) == 0 &&
		    (strlen(ch.realm) >= sizeof ch.realm || strlen(ch.scope) >= sizeof ch.scope))
			__builtin_trap();
		break;
	}
	case 2: {
		struct pull_ref r;
		struct mr_err err;
		char name[700];
		if (pull_ref_parse(s, &r, &err) == 0) {
			pull_ref_name(&r, 1, name, sizeof name);
			pull_ref_familiar(&r, name, sizeof name);
			if (!pull_repo_valid(r.repo) || (!r.tag[0] && !r.digest[0]))
				__builtin_trap();
		}
		break;
	}
#if MINIRUN_WITH_TLS
	case 3: {
		struct tls_anchors a = { 0 };
		static const unsigned char ip[4] = { 127, 0, 0, 1 };
		tls_add_anchor(&a, data + 1, size - 1);
		tls_cert_has_ip(data + 1, size - 1, ip, sizeof ip);
		tls_anchors_truncate(&a, 0);
		free(a.ta);
		break;
	}
#endif
	case 4: {
		struct mr_buf b = { 0 };
		struct http_url base, out;
		struct mr_err err;
		char msg[300];
		mr_buf_append(&b, data + 1, size - 1);
		pull_registry_message(&b, msg, sizeof msg);
		mr_buf_free(&b);
		if (http_url_parse("https://registry.example:5000/v2/x", &base, &err) == 0)
			http_url_resolve(&base, s, &out, &err);
		break;
	}
	}
	free(s);
	return 0;
}
