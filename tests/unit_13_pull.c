/* Unit tests of the registry client's pure parts: URLs, base64, references,
 * WWW-Authenticate, HTTP heads and bodies (Content-Length, chunked, close,
 * keep-alive) over a socketpair, registry error bodies, the credential file,
 * and the DER walks of the TLS code (trust anchors, iPAddress SANs), checked
 * against BearSSL's own X.509 decoder. */
#if MINIRUN_WITH_PULL

/* A plain connection whose peer already sent `data` and then closed (or
 * stays open when keep_peer, its fd in *peer). Reads time out after 2 s so
 * a bug cannot hang the tests. */
static int tpull_conn(struct http_conn *c, const char *data, size_t n, int keep_peer, int *peer)
{
	int sv[2];
	struct timeval tv = { 2, 0 };
	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (n && util_write_all(sv[1], data, n) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (keep_peer)
		*peer = sv[1];
	else
		close(sv[1]);
	c->fd = sv[0];
	c->timeout = 2;
	snprintf(c->host, sizeof c->host, "unit");
	snprintf(c->port, sizeof c->port, "80");
	return 0;
}

/* Head and whole body of one response; -1 when either fails. */
static int tpull_get(struct http_conn *c, struct http_resp *r, struct mr_buf *body, int head,
		     struct mr_err *err)
{
	struct http_body b;
	if (http_read_head(c, r, err) < 0)
		return -1;
	http_body_init(&b, c, r, head);
	body->len = 0;
	return http_body_slurp(&b, body, 1u << 20, err);
}

/* The whole exchange in one call: does `resp` parse, and into what body? */
static int tpull_parse(const char *resp, struct http_resp *r, struct mr_buf *body, struct mr_err *err)
{
	struct http_conn c;
	int rc;
	if (tpull_conn(&c, resp, strlen(resp), 0, NULL) < 0)
		return -2;
	rc = tpull_get(&c, r, body, 0, err);
	http_close(&c);
	return rc;
}

static void test_pull_url(void)
{
	struct http_url u, v;
	struct mr_err err;
	char hp[300];
	CHECK(http_url_parse("https://registry-1.docker.io/v2/", &u, &err) == 0);
	CHECK(u.tls == 1 && !strcmp(u.host, "registry-1.docker.io") && !strcmp(u.port, "443") &&
	      !strcmp(u.path, "/v2/"));
	CHECK(http_url_parse("http://127.0.0.1:5000", &u, &err) == 0);
	CHECK(u.tls == 0 && !strcmp(u.host, "127.0.0.1") && !strcmp(u.port, "5000") && !strcmp(u.path, "/"));
	CHECK(http_url_parse("https://[::1]:5000/x?y=1#frag", &u, &err) == 0);
	CHECK(!strcmp(u.host, "::1") && !strcmp(u.port, "5000") && !strcmp(u.path, "/x?y=1"));
	CHECK(http_url_parse("https://h?x=1", &u, &err) == 0 && !strcmp(u.path, "/?x=1"));
	CHECK(http_url_parse("http://h:080/", &u, &err) == 0 && !strcmp(u.port, "80"));
	CHECK(http_url_parse("ftp://h/", &u, &err) < 0);
	CHECK(http_url_parse("https://", &u, &err) < 0);
	CHECK(http_url_parse("https://:80/", &u, &err) < 0);
	CHECK(http_url_parse("https://h:0/", &u, &err) < 0);
	CHECK(http_url_parse("https://h:65536/", &u, &err) < 0);
	CHECK(http_url_parse("https://h:12a/", &u, &err) < 0);
	CHECK(http_url_parse("https://h:/", &u, &err) < 0);
	CHECK(http_url_parse("https://h:123456/", &u, &err) < 0);
	CHECK(http_url_parse("https://user:pw@h/", &u, &err) < 0);
	CHECK(http_url_parse("https://[::1/", &u, &err) < 0);
	CHECK(http_url_parse("https://[::1]x/", &u, &err) < 0);
	{
		char big[HTTP_URL_MAX + 64];
		memset(big, 'a', sizeof big);
		memcpy(big, "https://h/", 10);
		big[sizeof big - 1] = 0;
		CHECK(http_url_parse(big, &u, &err) < 0);
		memset(big + 8, 'b', 300);  /* a host name too long */
		CHECK(http_url_parse(big, &u, &err) < 0);
	}
	CHECK(http_url_parse("https://a:1/x", &u, &err) == 0);
	CHECK(http_url_resolve(&u, "/y?z#f", &v, &err) == 0);
	CHECK(v.tls == 1 && !strcmp(v.host, "a") && !strcmp(v.port, "1") && !strcmp(v.path, "/y?z"));
	CHECK(http_url_resolve(&u, "//b/z", &v, &err) == 0);
	CHECK(v.tls == 1 && !strcmp(v.host, "b") && !strcmp(v.port, "443") && !strcmp(v.path, "/z"));
	CHECK(http_url_resolve(&u, "http://c/", &v, &err) == 0 && v.tls == 0 && !strcmp(v.port, "80"));
	CHECK(http_url_resolve(&u, "relative/path", &v, &err) < 0);
	http_hostport("::1", "5000", 1, hp, sizeof hp);
	CHECK(!strcmp(hp, "[::1]:5000"));
	http_hostport("h", "443", 1, hp, sizeof hp);
	CHECK(!strcmp(hp, "h"));
	http_hostport("h", "80", 1, hp, sizeof hp);
	CHECK(!strcmp(hp, "h:80"));
	http_hostport("h", "80", 0, hp, sizeof hp);
	CHECK(!strcmp(hp, "h"));
}

static void test_pull_b64(void)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" }, { "alice:secret", "YWxpY2U6c2VjcmV0" },
	};
	char out[64], dec[64];
	size_t i, n;
	unsigned char all[256];
	char big[400], back[300];
	for (i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		http_b64_encode(vec[i][0], strlen(vec[i][0]), out);
		CHECK(!strcmp(out, vec[i][1]));
		CHECK(http_b64_decode(vec[i][1], dec, sizeof dec, &n) == 0 && n == strlen(vec[i][0]) &&
		      !memcmp(dec, vec[i][0], n));
	}
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	http_b64_encode(all, sizeof all, big);
	CHECK(http_b64_decode(big, back, sizeof back, &n) == 0 && n == 256 && !memcmp(back, all, 256));
	CHECK(http_b64_decode("Zm9v\r\nYmFy\n", dec, sizeof dec, &n) == 0 && n == 6 && !strcmp(dec, "foobar"));
	CHECK(http_b64_decode("Zg", dec, sizeof dec, &n) == 0 && n == 1 && dec[0] == 'f');
	CHECK(http_b64_decode("Zm9v!", dec, sizeof dec, &n) < 0);
	CHECK(http_b64_decode("Zg==x", dec, sizeof dec, &n) < 0);
	CHECK(http_b64_decode("Zm9vYmFy", dec, 6, &n) < 0);       /* does not fit */
	CHECK(http_b64_decode("Zm9vYmFy", dec, 7, &n) == 0);
	strcpy(dec, "Zm9vYmFy");
	CHECK(http_b64_decode(dec, dec, sizeof dec, &n) == 0 && !strcmp(dec, "foobar"));  /* in place */
}

static void test_pull_ref(void)
{
	struct pull_ref r;
	struct mr_err err;
	char s[700];
	static const char hex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char ref[200];
	CHECK(pull_ref_parse("busybox", &r, &err) == 0);
	CHECK(!strcmp(r.domain, "docker.io") && !strcmp(r.repo, "library/busybox") &&
	      !strcmp(r.tag, "latest") && r.default_tag && !r.digest[0]);
	pull_ref_familiar(&r, s, sizeof s);
	CHECK(!strcmp(s, "busybox"));
	pull_ref_name(&r, 0, s, sizeof s);
	CHECK(!strcmp(s, "busybox:latest"));
	pull_ref_name(&r, 1, s, sizeof s);
	CHECK(!strcmp(s, "docker.io/library/busybox:latest"));
	CHECK(pull_ref_parse("busybox:1.36.1", &r, &err) == 0 && !strcmp(r.tag, "1.36.1") && !r.default_tag);
	CHECK(pull_ref_parse("user/app", &r, &err) == 0 && !strcmp(r.repo, "user/app") &&
	      !strcmp(r.domain, "docker.io"));
	pull_ref_familiar(&r, s, sizeof s);
	CHECK(!strcmp(s, "user/app"));
	CHECK(pull_ref_parse("docker.io/library/busybox:latest", &r, &err) == 0 &&
	      !strcmp(r.repo, "library/busybox"));
	CHECK(pull_ref_parse("index.docker.io/busybox", &r, &err) == 0 &&
	      !strcmp(r.domain, "docker.io") && !strcmp(r.repo, "library/busybox"));
	CHECK(pull_ref_parse("docker.io/library/a/b", &r, &err) == 0 && !strcmp(r.repo, "library/a/b"));
	pull_ref_familiar(&r, s, sizeof s);
	CHECK(!strcmp(s, "library/a/b"));
	CHECK(pull_ref_parse("ghcr.io/owner/img:v1", &r, &err) == 0 && !strcmp(r.domain, "ghcr.io") &&
	      !strcmp(r.repo, "owner/img") && !strcmp(r.tag, "v1"));
	pull_ref_name(&r, 0, s, sizeof s);
	CHECK(!strcmp(s, "ghcr.io/owner/img:v1"));
	CHECK(pull_ref_parse("localhost/app", &r, &err) == 0 && !strcmp(r.domain, "localhost") &&
	      !strcmp(r.repo, "app"));
	CHECK(pull_ref_parse("myhost/app", &r, &err) == 0 && !strcmp(r.domain, "docker.io") &&
	      !strcmp(r.repo, "myhost/app"));
	snprintf(ref, sizeof ref, "localhost:5000/a/b/c@sha256:%s", hex);
	CHECK(pull_ref_parse(ref, &r, &err) == 0 && !strcmp(r.domain, "localhost:5000") &&
	      !strcmp(r.repo, "a/b/c") && !r.tag[0] && !strcmp(r.digest + 7, hex));
	pull_ref_name(&r, 1, s, sizeof s);
	CHECK(!strcmp(s, ref));
	snprintf(ref, sizeof ref, "127.0.0.1:5000/x:tag@sha256:%s", hex);
	CHECK(pull_ref_parse(ref, &r, &err) == 0 && !r.tag[0] && r.digest[0] && !strcmp(r.repo, "x"));
	CHECK(pull_ref_parse("[::1]:5000/x", &r, &err) == 0 && !strcmp(r.domain, "[::1]:5000"));
	CHECK(pull_ref_parse("a--b/c__d/e.f_g:T_a-g.1", &r, &err) == 0);
	CHECK(pull_ref_parse("", &r, &err) < 0);
	CHECK(pull_ref_parse("Busybox", &r, &err) < 0 && strstr(err.msg, "lowercase"));
	CHECK(pull_ref_parse("busybox:", &r, &err) < 0);
	CHECK(pull_ref_parse("busybox:.x", &r, &err) < 0);
	CHECK(pull_ref_parse("busybox:a b", &r, &err) < 0);
	CHECK(pull_ref_parse("busybox@sha256:abc", &r, &err) < 0);
	CHECK(pull_ref_parse("busybox@md5:abc", &r, &err) < 0);
	CHECK(pull_ref_parse("a//b", &r, &err) < 0);
	CHECK(pull_ref_parse("a/", &r, &err) < 0);
	CHECK(pull_ref_parse("-a", &r, &err) < 0);
	CHECK(pull_ref_parse("a-", &r, &err) < 0);
	CHECK(pull_ref_parse("a___b", &r, &err) < 0);
	CHECK(pull_ref_parse("a..b", &r, &err) < 0);
	CHECK(pull_ref_parse("a/../b", &r, &err) < 0);
	CHECK(pull_ref_parse("ho$t.io/a", &r, &err) < 0);
	memset(ref, 'a', sizeof ref);
	ref[8] = ':';
	ref[sizeof ref - 1] = 0;
	CHECK(pull_ref_parse(ref, &r, &err) < 0);  /* a 190-character tag */
	CHECK(pull_in_list("a:1,b:2", "b:2") && pull_in_list("a:1, b:2", "b:2"));
	CHECK(!pull_in_list("a:10", "a:1") && !pull_in_list("xa:1", "a:1") && !pull_in_list(NULL, "a"));
	CHECK(!pull_in_list("", "a") && pull_in_list(",,a,,", "a"));
}

static void test_pull_challenge(void)
{
	struct pull_challenge ch;
	struct mr_buf b = { 0 };
	char big[3000];
	CHECK(pull_parse_challenge("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
				   "scope=\"repository:library/busybox:pull\"", &ch) == 0);
	CHECK(ch.scheme == PULL_AUTH_BEARER && !strcmp(ch.realm, "https://auth.docker.io/token") &&
	      !strcmp(ch.service, "registry.docker.io") &&
	      !strcmp(ch.scope, "repository:library/busybox:pull"));
	CHECK(pull_parse_challenge("Bearer realm=\"https://a/t\",scope=\"repository:a:pull repository:b:pull\","
				   "error=\"insufficient_scope\"", &ch) == 0);
	CHECK(!strcmp(ch.scope, "repository:a:pull repository:b:pull") && !ch.service[0]);
	CHECK(pull_parse_challenge("bearer realm=https://a/t, service=x", &ch) == 0 &&
	      !strcmp(ch.realm, "https://a/t") && !strcmp(ch.service, "x"));
	CHECK(pull_parse_challenge("Basic realm=\"Registry Realm\"", &ch) == 0 && ch.scheme == PULL_AUTH_BASIC);
	CHECK(pull_parse_challenge("Basic", &ch) == 0 && ch.scheme == PULL_AUTH_BASIC);
	CHECK(pull_parse_challenge("Bearer realm=\"a\\\"b\"", &ch) == 0 && !strcmp(ch.realm, "a\"b"));
	CHECK(pull_parse_challenge("Bearer abc123==, realm=\"r\"", &ch) == 0 && !strcmp(ch.realm, "r"));
	CHECK(pull_parse_challenge("Bearer service=\"x\"", &ch) < 0);   /* no realm */
	CHECK(pull_parse_challenge("Negotiate", &ch) < 0);
	CHECK(pull_parse_challenge("", &ch) < 0);
	CHECK(pull_parse_challenge("Bearer realm=\"unterminated", &ch) < 0);
	memset(big, 'x', sizeof big);
	memcpy(big, "Bearer realm=\"", 14);
	big[sizeof big - 2] = '"';
	big[sizeof big - 1] = 0;
	CHECK(pull_parse_challenge(big, &ch) < 0);
	pull_urlenc(&b, "repository:library/busybox:pull a~b");
	CHECK(!strcmp(b.data, "repository%3Alibrary%2Fbusybox%3Apull%20a~b"));
	mr_buf_free(&b);
}

static void test_pull_http(void)
{
	struct http_conn c;
	struct http_resp r;
	struct mr_buf body = { 0 };
	struct mr_err err;
	struct http_body b;
	char *big;
	size_t i;
	static const char two[] =
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
		"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n"
		"WWW-Authenticate: Basic realm=x\r\nWWW-Authenticate: Bearer realm=\"y\"\r\n\r\n"
		"5\r\nhello\r\n6;ext=1\r\n world\r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n";
	/* Keep-alive: two responses on one connection, the second chunked. */
	CHECK(tpull_conn(&c, two, sizeof two - 1, 0, NULL) == 0);
	CHECK(tpull_get(&c, &r, &body, 0, &err) == 0);
	CHECK(r.status == 200 && r.length == 5 && body.len == 5 && !memcmp(body.data, "hello", 5) &&
	      !strcmp(r.type, "text/plain"));
	CHECK(c.fd >= 0);   /* kept for the next request */
	CHECK(tpull_get(&c, &r, &body, 0, &err) == 0);
	CHECK(r.status == 404 && r.chunked && body.len == 21 && !memcmp(body.data, "hello world0123456789", 21));
	CHECK(!strcmp(r.auth, "Bearer realm=\"y\""));
	CHECK(c.fd >= 0 && c.rpos == c.rlen);
	http_close(&c);
	/* Close-delimited (HTTP/1.0), interim 100, HEAD and 204 have no body. */
	CHECK(tpull_parse("HTTP/1.0 200 OK\r\n\r\nuntil the end", &r, &body, &err) == 0 &&
	      body.len == 13 && r.close);
	CHECK(tpull_parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			  &r, &body, &err) == 0 && r.status == 200 && body.len == 2);
	CHECK(tpull_conn(&c, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 39, 0, NULL) == 0);
	CHECK(tpull_get(&c, &r, &body, 1, &err) == 0 && body.len == 0);
	http_close(&c);
	CHECK(tpull_parse("HTTP/1.1 204 No Content\r\n\r\n", &r, &body, &err) == 0 && body.len == 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
			  &r, &body, &err) == 0);
	CHECK(tpull_parse("HTTP/1.1 302 Found\r\nLocation: https://cdn/x?sig=1\r\nContent-Range: bytes 5-9/10\r\n"
			  "Connection: close\r\nContent-Length: 0\r\n\r\n", &r, &body, &err) == 0);
	CHECK(r.status == 302 && !strcmp(r.location, "https://cdn/x?sig=1") && r.close &&
	      !strcmp(r.range, "bytes 5-9/10"));
	/* Hostile or broken responses. */
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd", &r, &body, &err) < 0 &&
	      err.code == ECONNRESET);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
			  &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
			  &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/2 200\r\n\r\n", &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 20 OK\r\n\r\n", &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 2000 OK\r\n\r\n", &r, &body, &err) < 0);
	CHECK(tpull_parse("garbage\r\n\r\n", &r, &body, &err) < 0);
	CHECK(tpull_parse("", &r, &body, &err) < 0 && err.code == ECONNRESET);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nContent-Le", &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n",
			  &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
			  &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n",
			  &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", &r, &body, &err) < 0);
	CHECK(tpull_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", &r, &body, &err) < 0);
	/* A header line longer than the buffer, a head over 64 KB, a Location too long. */
	big = util_xmalloc(80000);
	strcpy(big, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + 20, 'a', HTTP_RBUF + 10);
	strcpy(big + 20 + HTTP_RBUF + 10, "\r\n\r\n");
	CHECK(tpull_parse(big, &r, &body, &err) < 0 && strstr(err.msg, "too long"));
	strcpy(big, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < 70; i++) {
		size_t n = strlen(big);
		memcpy(big + n, "X-Padding: ", 11);
		memset(big + n + 11, 'a', 1000);
		strcpy(big + n + 1011, "\r\n");
	}
	strcat(big, "\r\n");
	CHECK(tpull_parse(big, &r, &body, &err) < 0 && strstr(err.msg, "larger than"));
	strcpy(big, "HTTP/1.1 302 Found\r\nLocation: https://h/");
	i = strlen(big);
	memset(big + i, 'p', HTTP_URL_MAX);
	strcpy(big + i + HTTP_URL_MAX, "\r\n\r\n");
	CHECK(tpull_parse(big, &r, &body, &err) < 0);
	free(big);
	/* A body over the slurp limit is an error. */
	CHECK(tpull_conn(&c, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789", 59,
			 0, NULL) == 0);
	CHECK(http_read_head(&c, &r, &err) == 0);
	http_body_init(&b, &c, &r, 0);
	body.len = 0;
	CHECK(http_body_slurp(&b, &body, 10, &err) < 0 && err.code == EFBIG);
	http_close(&c);
	/* An unfinished body is not reused: the connection goes. */
	CHECK(tpull_conn(&c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", 40, 0, NULL) == 0);
	CHECK(http_read_head(&c, &r, &err) == 0);
	http_body_init(&b, &c, &r, 0);
	http_body_end(&b);
	CHECK(c.fd < 0);
	mr_buf_free(&body);
}

static void test_pull_messages(void)
{
	struct mr_buf b = { 0 };
	char msg[300];
	mr_buf_printf(&b, "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
		      "\"detail\":{}}]}");
	pull_registry_message(&b, msg, sizeof msg);
	CHECK(!strcmp(msg, "manifest unknown: manifest unknown"));
	b.len = 0;
	mr_buf_printf(&b, "{\"details\":\"incorrect username or password\"}");
	pull_registry_message(&b, msg, sizeof msg);
	CHECK(!strcmp(msg, "incorrect username or password"));
	b.len = 0;
	mr_buf_printf(&b, "<html>oops</html>");
	pull_registry_message(&b, msg, sizeof msg);
	CHECK(!msg[0]);
	b.len = 0;
	pull_registry_message(&b, msg, sizeof msg);
	CHECK(!msg[0]);
	mr_buf_free(&b);
	CHECK(pull_auth_key_matches("https://index.docker.io/v1/", "docker.io"));
	CHECK(pull_auth_key_matches("registry-1.docker.io", "docker.io"));
	CHECK(pull_auth_key_matches("docker.io", "docker.io"));
	CHECK(pull_auth_key_matches("127.0.0.1:5000", "127.0.0.1:5000"));
	CHECK(pull_auth_key_matches("https://127.0.0.1:5000/v2/", "127.0.0.1:5000"));
	CHECK(!pull_auth_key_matches("127.0.0.1:500", "127.0.0.1:5000"));
	CHECK(!pull_auth_key_matches("127.0.0.1:5000", "docker.io"));
	CHECK(!pull_auth_key_matches("https://index.docker.io.evil/v1/", "docker.io"));
	CHECK(!strcmp(pull_auth_key("docker.io"), "https://index.docker.io/v1/"));
}

static void test_pull_creds(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct mr_buf buf = { 0 };
	struct mr_err err;
	struct stat sb;
	char *auth = NULL, *old = getenv("MINIRUN_AUTH_FILE") ? util_xstrdup(getenv("MINIRUN_AUTH_FILE")) : NULL;
	int found, fd;
	if (!unit_tmpdir(dir, sizeof dir)) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof path, "%s/sub/auth.json", dir);
	setenv("MINIRUN_AUTH_FILE", path, 1);
	CHECK(pull_creds_get("h:1", &auth, &err) == 0 && !auth);     /* no file: no credentials */
	CHECK(pull_creds_set("h:1", "eDp5", &found, &err) == 0 && !found);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	snprintf(path, sizeof path, "%s/sub", dir);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK(pull_creds_get("h:1", &auth, &err) == 0 && auth && !strcmp(auth, "eDp5"));
	free(auth);
	/* Other registries and other keys of the file are kept. */
	snprintf(path, sizeof path, "%s/sub/auth.json", dir);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	{
		static const char file[] = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"YTpi\"},"
					   "\"h:1\":{\"auth\":\"old\"}},\"credsStore\":\"x\"}";
		CHECK(fd >= 0 && util_write_all(fd, file, sizeof file - 1) == 0);
	}
	if (fd >= 0)
		close(fd);
	CHECK(pull_creds_get("docker.io", &auth, &err) == 0 && auth && !strcmp(auth, "YTpi"));
	free(auth);
	CHECK(pull_creds_set("h:1", "bmV3", &found, &err) == 0 && found);
	CHECK(pull_creds_get("h:1", &auth, &err) == 0 && auth && !strcmp(auth, "bmV3"));
	free(auth);
	CHECK(mr_read_file(AT_FDCWD, path, &buf, 4096, &err) == 0 && strstr(buf.data, "credsStore") &&
	      strstr(buf.data, "YTpi"));
	CHECK(pull_creds_set("h:1", NULL, &found, &err) == 0 && found);
	CHECK(pull_creds_set("h:1", NULL, &found, &err) == 0 && !found);
	CHECK(pull_creds_get("h:1", &auth, &err) == 0 && !auth);
	CHECK(pull_creds_get("docker.io", &auth, &err) == 0 && auth);
	free(auth);
	/* A damaged file is an error, not an anonymous pull. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(fd >= 0 && util_write_all(fd, "{\"auths\":", 9) == 0);
	if (fd >= 0)
		close(fd);
	CHECK(pull_creds_get("h:1", &auth, &err) < 0);
	mr_buf_free(&buf);
	if (old)
		setenv("MINIRUN_AUTH_FILE", old, 1);
	else
		unsetenv("MINIRUN_AUTH_FILE");
	free(old);
	unit_rmdir(dir);
}

#if MINIRUN_WITH_TLS
/* Made with openssl: an RSA-1024 CA (CN=unit CA), an EC P-256 leaf it
 * signed (SAN DNS:localhost, IP:127.0.0.1, IP:::1) and a self-signed P-384. */
static const char tpull_ca[] =
	"MIICAjCCAWugAwIBAgIUFGT6Npv5VHEcFen6OYXrD9+M4FQwDQYJKoZIhvcNAQELBQAwEjEQMA4G"
	"A1UEAwwHdW5pdCBDQTAgFw0yNjExMjkxMDE1MDNaGA8yMTI2MTEwNTEwMTUwM1owEjEQMA4GA1UE"
	"AwwHdW5pdCBDQTCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkCgYEAxhmXJ6VMjyQQM2MBnas5/Tyj"
	"Zv3bVVsU9fXPJcz6LqATh04exwSA7G4CpsxMXIQ+KsgXWBmtlwWmHszBjvKN0lNZKZ1eoAO99AjK"
	"rDfEZyp6FH54FpfNKkem322cve4UVlZfcDfDIMlvQ3hcZg4YeZC3Z+orxjMuGNXn9z/+phkCAwEA"
	"AaNTMFEwHQYDVR0OBBYEFMW0u2fGXI4RZ7c4hlxBBvj62EPdMB8GA1UdIwQYMBaAFMW0u2fGXI4R"
	"Z7c4hlxBBvj62EPdMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADgYEARJaQPjkYaf4G"
	"fJRCXC32TpQiO/fisjAon2xTKUtrKiVwIKEwoNAFWW62zsOsV8wvnaUydvExjhE1OhmB0uq4Yy8m"
	"NGAalEy1WkVAOfLjF8FZ/SrMGC9vW5qZku+e861WnaizsBJ1RuKd+w/66tAceQSAHC8mcHtLhi6L"
	"Ai/7XhY=";
static const char tpull_leaf[] =
	"MIIB1TCCAT6gAwIBAgIUKlYoaQd2X2Dy5AZ6daDs8VMWyVUwDQYJKoZIhvcNAQELBQAwEjEQMA4G"
	"A1UEAwwHdW5pdCBDQTAgFw0yNjExMjkxMDE1MDNaGA8yMTI2MTEwNTEwMTUwM1owDzENMAsGA1UE"
	"AwwEbGVhZjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABN13a4CIXYcqljToIzIw3vNlll+fJPkB"
	"9dXD5rATSiS+NgkLUQpbidRCiJCOKUHcOJoxly4XcjeDjuq0mVLOAkyjcDBuMCwGA1UdEQQlMCOC"
	"CWxvY2FsaG9zdIcEfwAAAYcQAAAAAAAAAAAAAAAAAAAAATAdBgNVHQ4EFgQUQdSEnPrX8C36Qjmk"
	"Ul0ORW1BrCcwHwYDVR0jBBgwFoAUxbS7Z8ZcjhFntziGXEEG+PrYQ90wDQYJKoZIhvcNAQELBQAD"
	"gYEAQfG1+OAgrqe7VtVls5UnMDfM66AhX6tlzHMxbz0mzmNeC/ZwInlkUjapQku3P12OzSCME6Cw"
	"37+fUdWRrtHx9HQ+fWHooNErxT++odgnToYgrYJnXbzXB4soSiHP7r2Bi8uqm6aILPqcymQdcTvS"
	"ERNROANBS35XGxDjrne065M=";
static const char tpull_p384[] =
	"MIIBsTCCATigAwIBAgIUIc/Iafxf15Jaqe3sfcX05y46wuQwCgYIKoZIzj0EAwIwDzENMAsGA1UE"
	"AwwEcDM4NDAgFw0yNjExMjkxMDE1MDNaGA8yMTI2MTEwNTEwMTUwM1owDzENMAsGA1UEAwwEcDM4"
	"NDB2MBAGByqGSM49AgEGBSuBBAAiA2IABH0NAtwRv8U5DUNZxTmFhr/UTuV0dAVDchuyaRLdQiuP"
	"HDcseMhtZWdt+znN8zelxzJN/3XXJzt+r7WEEGNQt3JTEGgJZJ2UWRzgpqKe+M+HDCKRFZWexZqI"
	"JB0R2Rsaa6NTMFEwHQYDVR0OBBYEFA8fr8UD/my4pdSWXj9qPp2U+EiHMB8GA1UdIwQYMBaAFA8f"
	"r8UD/my4pdSWXj9qPp2U+EiHMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDZwAwZAIwCFPd"
	"5vTOGok96Fk2Oqcv+GxIXLvatgPWEP/AeGxh6KXydOKX3cEDsLrVhcBXmsrJAjBBIuoxVoI8QLN3"
	"lEOjN+03isd99jqShTDm302M0fmbfIRxyW0FKADQnYM5eZSf9gE=";

static void tpull_dn(void *ctx, const void *data, size_t len)
{
	mr_buf_append(ctx, data, len);
}

/* Our anchor equals what BearSSL's X.509 decoder makes of the same DER. */
static int tpull_same_as_bearssl(const unsigned char *der, size_t n, const br_x509_trust_anchor *ta)
{
	br_x509_decoder_context dc;
	struct mr_buf dn = { 0 };
	const br_x509_pkey *pk;
	int same;
	br_x509_decoder_init(&dc, tpull_dn, &dn);
	br_x509_decoder_push(&dc, der, n);
	pk = br_x509_decoder_get_pkey(&dc);
	same = pk && dn.len == ta->dn.len && !memcmp(dn.data, ta->dn.data, dn.len) &&
	       pk->key_type == ta->pkey.key_type;
	if (same && pk->key_type == BR_KEYTYPE_RSA)
		same = pk->key.rsa.nlen == ta->pkey.key.rsa.nlen &&
		       !memcmp(pk->key.rsa.n, ta->pkey.key.rsa.n, pk->key.rsa.nlen) &&
		       pk->key.rsa.elen == ta->pkey.key.rsa.elen &&
		       !memcmp(pk->key.rsa.e, ta->pkey.key.rsa.e, pk->key.rsa.elen);
	else if (same)
		same = pk->key.ec.curve == ta->pkey.key.ec.curve &&
		       pk->key.ec.qlen == ta->pkey.key.ec.qlen &&
		       !memcmp(pk->key.ec.q, ta->pkey.key.ec.q, pk->key.ec.qlen);
	mr_buf_free(&dn);
	return same;
}

static void test_pull_tls(void)
{
	static const char *const pems[] = { tpull_ca, tpull_leaf, tpull_p384 };
	static const unsigned char lo4[4] = { 127, 0, 0, 1 }, lo4b[4] = { 127, 0, 0, 2 };
	unsigned char der[3][1024], lo6[16] = { 0 };
	size_t len[3], i, k;
	struct tls_anchors a = { 0 };
	struct mr_err err;
	char dir[PATH_MAX], path[PATH_MAX + 16];
	for (i = 0; i < 3; i++)
		CHECK(http_b64_decode(pems[i], der[i], sizeof der[i], &len[i]) == 0);
	for (i = 0; i < 3; i++)
		tls_add_anchor(&a, der[i], len[i]);
	CHECK(a.n == 3);
	if (a.n == 3) {
		CHECK(a.ta[0].pkey.key_type == BR_KEYTYPE_RSA && a.ta[0].pkey.key.rsa.nlen == 128 &&
		      a.ta[0].pkey.key.rsa.elen == 3 && a.ta[0].flags == BR_X509_TA_CA);
		CHECK(a.ta[0].dn.len == 20 && !memcmp(a.ta[0].dn.data + 13, "unit CA", 7));
		CHECK(a.ta[1].pkey.key_type == BR_KEYTYPE_EC && a.ta[1].pkey.key.ec.curve == BR_EC_secp256r1 &&
		      a.ta[1].pkey.key.ec.qlen == 65);
		CHECK(a.ta[2].pkey.key.ec.curve == BR_EC_secp384r1 && a.ta[2].pkey.key.ec.qlen == 97);
		for (i = 0; i < 3; i++)
			CHECK(tpull_same_as_bearssl(der[i], len[i], &a.ta[i]));
	}
	tls_anchors_truncate(&a, 0);
	/* iPAddress SANs */
	lo6[15] = 1;
	CHECK(tls_cert_has_ip(der[1], len[1], lo4, 4));
	CHECK(tls_cert_has_ip(der[1], len[1], lo6, 16));
	CHECK(!tls_cert_has_ip(der[1], len[1], lo4b, 4));
	CHECK(!tls_cert_has_ip(der[0], len[0], lo4, 4));      /* no SAN at all */
	/* Hostile DER: every truncation and every byte flipped must be refused
	 * or parsed without reading out of bounds (run under ASan/valgrind). */
	for (i = 0; i < 3; i++)
		for (k = 0; k < len[i]; k++) {
			unsigned char copy[1024];
			size_t before = a.n;
			tls_add_anchor(&a, der[i], k);
			CHECK(a.n == before);
			CHECK(!tls_cert_has_ip(der[i], k, lo4, 4));
			memcpy(copy, der[i], len[i]);
			copy[k] ^= 0xff;
			tls_add_anchor(&a, copy, len[i]);
			tls_cert_has_ip(copy, len[i], lo4, 4);
		}
	tls_anchors_truncate(&a, 0);
	/* A PEM file: certificates among other blocks and text. */
	if (unit_tmpdir(dir, sizeof dir)) {
		FILE *f;
		snprintf(path, sizeof path, "%s/b.pem", dir);
		f = fopen(path, "w");
		if (f) {
			fprintf(f, "junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
			for (i = 0; i < 3; i++) {
				fprintf(f, "# cert %zu\n-----BEGIN CERTIFICATE-----\n", i);
				for (k = 0; k < strlen(pems[i]); k += 64)
					fprintf(f, "%.64s\n", pems[i] + k);
				fprintf(f, "-----END CERTIFICATE-----\n");
			}
			fprintf(f, "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"
				   "-----BEGIN CERTIFICATE-----\nAAAA");
			fclose(f);
		}
		CHECK(tls_load_pem(&a, AT_FDCWD, path, &err) == 0 && a.n == 3);
		tls_anchors_truncate(&a, 0);
		CHECK(tls_load_pem(&a, AT_FDCWD, "/nonexistent/x.pem", &err) < 0 && err.code == ENOENT);
		unit_rmdir(dir);
	}
	free(a.ta);
}
#endif /* MINIRUN_WITH_TLS */

/* The resolver: queries as bytes, answers (compressed names, CNAME records
 * skipped, wrong ids refused), /etc/hosts and resolv.conf lines. */
static void test_pull_dns(void)
{
	static const unsigned char answer[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		3, 'r', 'e', 'g', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'c', 'd', 'n', 0xc0, 16,  /* CNAME */
		0xc0, 41, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 8, 7 };
	unsigned char q[300];
	struct dns_result r = { .n = 0 };
	struct dns_conf conf = { .ndots = 1, .timeout = 5, .attempts = 2 };
	struct mr_err err;
	char dir[256], hosts[300], resolv[300];
	size_t n = dns_query(q, 0x1234, "reg.example", 1);
	CHECK(n == 12 + 13 + 4 && q[0] == 0x12 && q[1] == 0x34 && q[2] == 1 && q[5] == 1 && q[12] == 3 &&
	      !memcmp(q + 13, "reg", 3) && q[16] == 7 && q[n - 3] == 1 && q[n - 1] == 1);
	CHECK(dns_query(q, 1, "a..b", 1) == 0);
	CHECK(dns_answer(answer, sizeof answer, 0x1234, &r) == 0 && r.n == 1 && r.addr[0].family == AF_INET &&
	      !memcmp(r.addr[0].ip, "\012\011\010\007", 4));
	CHECK(dns_answer(answer, sizeof answer, 0x1235, &r) < 0 && r.n == 1);        /* another query's */
	CHECK(dns_answer(answer, sizeof answer - 3, 0x1234, &r) < 0);               /* cut short */
	r.n = 0;
	CHECK(dns_lookup("10.1.2.3", "/nonexistent", "/nonexistent", &r, &err) == 0 && r.n == 1);
	CHECK(dns_lookup("::1", "/nonexistent", "/nonexistent", &r, &err) == 0 && r.addr[0].family == AF_INET6);
	CHECK(dns_lookup("", "/nonexistent", "/nonexistent", &r, &err) < 0);
	if (unit_tmpdir(dir, sizeof dir)) {
		snprintf(hosts, sizeof hosts, "%s/hosts", dir);
		snprintf(resolv, sizeof resolv, "%s/resolv.conf", dir);
		CHECK(unit_write(hosts, "# comment\n127.0.0.1 localhost\n10.0.0.5  Reg.Local reg # a registry\n"
				 "fd00::5 reg6\n") == 0);
		CHECK(dns_lookup("reg", hosts, "/nonexistent", &r, &err) == 0 && r.n == 1 &&
		      !memcmp(r.addr[0].ip, "\012\0\0\005", 4));
		CHECK(dns_lookup("REG.LOCAL", hosts, "/nonexistent", &r, &err) == 0 && r.n == 1);
		CHECK(dns_lookup("reg6", hosts, "/nonexistent", &r, &err) == 0 && r.addr[0].family == AF_INET6);
		CHECK(unit_write(resolv, "nameserver 192.0.2.1\nnameserver ::1\nnameserver bogus\n"
				 "search a.example b.example\noptions ndots:2 timeout:3 attempts:4 rotate\n") == 0);
		dns_each_line(resolv, dns_conf_line, &conf);
		CHECK(conf.servers == 2 && conf.server[1].family == AF_INET6 && conf.ndots == 2 &&
		      conf.timeout == 3 && conf.attempts == 4 && !strcmp(conf.search, "a.example b.example"));
		unit_rmdir(dir);
	}
}

/* util_inet_pton answers as libc's inet_pton, byte for byte. */
static void test_pull_inet_pton(void)
{
	static const char *const cases[] = {
		"0.0.0.0", "127.0.0.1", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5",
		"01.2.3.4", "1.2.3.04", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "",
		"1.2.3.a", "0.0.0.00", "10.0.0.1000", "::", "::1", "1::", "1::2", "::ffff:1.2.3.4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:1.2.3.4",
		"1:2:3:4:5:6:7:1.2.3.4", "1::2::3", ":1::2", "1::2:", "1:2:3:4:5:6:7::",
		"::1:2:3:4:5:6:7", "1:2:3:4::5:6:7", "fe80::1", "FE80::ABCD:1", "12345::1",
		"1:::2", "g::1", "::1.2.3.4", "::1.2.3", "1:2:3:4:5:6:7:8::", "::0:0:0:0:0:0:0",
		"2001:db8::", "2001:db8:0:0:1:0:0:1", "0:0:0:0:0:0:0:0", "::ffff:256.1.1.1",
		"1:2:3:4:5::1.2.3.4", "1:", ":", ":::", "1.2.3.4::", "::1.2.3.4:5",
	};
	size_t i;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int af;
		for (af = 0; af < 2; af++) {
			unsigned char a[16], b[16];
			int fam = af ? AF_INET6 : AF_INET, ra, rb;
			memset(a, 0xaa, sizeof a);
			memset(b, 0xaa, sizeof b);
			ra = util_inet_pton(fam, cases[i], a);
			rb = inet_pton(fam, cases[i], b);
			if (ra != rb || (ra == 1 && memcmp(a, b, af ? 16 : 4)))
				fprintf(stderr, "inet_pton(%s, \"%s\"): %d, libc %d\n", af ? "AF_INET6" : "AF_INET",
					cases[i], ra, rb);
			CHECK(ra == rb && (ra != 1 || !memcmp(a, b, af ? 16 : 4)));
		}
	}
}

static void test_pull(void)
{
	test_pull_inet_pton();
	test_pull_dns();
	test_pull_url();
	test_pull_b64();
	test_pull_ref();
	test_pull_challenge();
	test_pull_http();
	test_pull_messages();
	test_pull_creds();
#if MINIRUN_WITH_TLS
	test_pull_tls();
#endif
}

#else
static void test_pull(void)
{
}
#endif /* MINIRUN_WITH_PULL */
