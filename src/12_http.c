/* ==== [12] HTTP: name lookup (hosts, DNS), HTTP/1.1 client over TCP and BearSSL TLS ====
 * What a registry pull needs and no more: one connection at a time (a pull is
 * sequential, and one TLS engine is 17 KB of buffers), reused while requests
 * go to the same scheme, host and port (keep-alive); bounded response heads;
 * bodies (Content-Length, chunked, or up to the close) as a `struct stream`,
 * so a blob goes from the socket through the hashes into the extractor
 * without being stored. Timeouts on connect and on every read and write.
 * TLS: TLS 1.2 with ECDHE and AES-GCM or ChaCha20-Poly1305 (what registries,
 * CDNs and Go's TLS server offer), the chain checked against the CA bundle
 * plus Docker-style certs.d folders, and the host name (or IP address, which
 * BearSSL itself does not check) matched against the server certificate. */

#if MINIRUN_WITH_PULL
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

/* Where TLS trust comes from and where credentials live, unless MINIRUN_CA_FILE,
 * MINIRUN_CERTS_D or MINIRUN_AUTH_FILE say otherwise. */
#ifndef MINIRUN_DEFAULT_CA_FILE
#define MINIRUN_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#endif
#ifndef MINIRUN_DEFAULT_CONF
#define MINIRUN_DEFAULT_CONF "/etc/minirun"
#endif

#define HTTP_RBUF 8192                 /* read buffer; also the longest header line */
#define HTTP_MAX_HEAD (64u << 10)      /* all header lines of one response */
#define HTTP_URL_MAX 4096              /* signed CDN redirects run to 2 KB */

struct http_url {
	int tls;
	char port[6];                  /* before host: one-byte offsets in x86-64 code */
	char host[256];                /* name or address, no IPv6 brackets */
	char path[HTTP_URL_MAX];       /* path and query */
};

struct http_resp {
	int status;
	int close;                     /* the server closes after this response */
	int chunked;
	uint64_t length;               /* Content-Length, or UINT64_MAX */
	char location[HTTP_URL_MAX];
	char auth[1024];               /* WWW-Authenticate */
	char type[128];                /* Content-Type */
	char range[128];               /* Content-Range */
};

struct http_tls;

struct http_conn {
	int fd;                        /* -1 when closed */
	int tls;
	int timeout;                   /* seconds for connect and each read/write */
	const char *ca_file;           /* --ca-file: replaces the CA bundle (as
					* MINIRUN_CA_FILE does); NULL: the default */
	int eof;                       /* the peer closed (TLS reports it as an I/O error) */
	int sys_errno;                 /* errno of the last socket failure */
	size_t rpos, rlen;
	struct http_tls *t;            /* allocated at the first https connection */
	char port[6], host[256];       /* the arrays last: the fields above at one-byte offsets */
	unsigned char rbuf[HTTP_RBUF];
};

/* ---- base64 (basic auth, config.json's "auth", PEM) ---- */
static const char http_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* out must hold 4 * ((n + 2) / 3) + 1 bytes. */
static void http_b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i;
	for (i = 0; i + 2 < n; i += 3, out += 4) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[0] = http_b64[v >> 18];
		out[1] = http_b64[(v >> 12) & 63];
		out[2] = http_b64[(v >> 6) & 63];
		out[3] = http_b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		out[0] = http_b64[v >> 18];
		out[1] = http_b64[(v >> 12) & 63];
		out[2] = i + 1 < n ? http_b64[(v >> 6) & 63] : '=';
		out[3] = '=';
		out += 4;
	}
	*out = 0;
}

/* Decode standard base64, blanks and line ends skipped, padding optional;
 * -1 on a bad character or when the result does not fit in size - 1 bytes.
 * The result is NUL-terminated; out may be in (decoding in place). */
static int http_b64_decode(const char *in, void *outp, size_t size, size_t *outlen)
{
	unsigned char *out = outp;
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;
	for (; *in && *in != '='; in++) {
		const char *c = memchr(http_b64, *in, 64);
		if (strchr(" \t\r\n", *in))
			continue;
		if (!c)
			return -1;
		acc = acc << 6 | (uint32_t)(c - http_b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= size)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	while (*in == '=' || (*in && strchr(" \t\r\n", *in)))
		in++;
	if (*in)
		return -1;
	out[n] = 0;
	*outlen = n;
	return 0;
}

/* Parse an absolute http(s) URL. User information ("user@host") is refused:
 * credentials never travel in URLs. */
static int http_url_parse(const char *s, struct http_url *u, struct mr_err *err)
{
	const char *p, *end, *hend, *rest, *why = "invalid URL";
	size_t n;
	for (p = s; *p; p++)  /* it ends up in a request line: no blanks, no controls */
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			why = "invalid character in URL";
			goto bad;
		}
	if (util_starts_with(s, "https://"))
		u->tls = 1, p = s + 8;
	else if (util_starts_with(s, "http://"))
		u->tls = 0, p = s + 7;
	else {
		why = "unsupported URL";
		goto bad;
	}
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p))) {
		why = "URL with user information refused:";
		goto bad;
	}
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(end - p));
		if (!hend)
			goto bad;
		p++;
		rest = hend + 1;
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (!hend)
			hend = end;
		rest = hend;
	}
	n = (size_t)(hend - p);
	if (!n || n >= sizeof u->host) {
		why = "invalid host in URL";
		goto bad;
	}
	memcpy(u->host, p, n);
	u->host[n] = 0;
	if (*rest == ':') {
		size_t k = (size_t)(end - rest - 1);
		uint64_t port;
		char num[8];
		why = "invalid port in URL";
		if (!k || k > 5)
			goto bad;
		memcpy(num, rest + 1, k);
		num[k] = 0;
		if (util_parse_u64(num, &port) < 0 || !port || port > 65535)
			goto bad;
		snprintf(u->port, sizeof u->port, "%u", (unsigned)port);
	} else if (rest != end) {
		goto bad;
	} else {
		util_scopy(u->port, sizeof u->port, u->tls ? "443" : "80");
	}
	n = strcspn(end, "#");
	if (n + 2 > sizeof u->path) {
		why = "URL too long:";
		goto bad;
	}
	snprintf(u->path, sizeof u->path, "%s%.*s", *end == '/' ? "" : "/", (int)n, end);
	return 0;
bad:
	return mr_err_set(err, MR_EINVAL_INPUT, "%s %.200s", why, s);
}

/* A Location header against the URL it answers: absolute, scheme-relative
 * ("//host/x") or an absolute path. */
static int http_url_resolve(const struct http_url *base, const char *loc, struct http_url *out,
			    struct mr_err *err)
{
	char abs[HTTP_URL_MAX + 16];
	if (loc[0] == '/' && loc[1] == '/') {
		snprintf(abs, sizeof abs, "%s:%s", base->tls ? "https" : "http", loc);
		return http_url_parse(abs, out, err);
	}
	if (loc[0] == '/') {
		*out = *base;
		if (strlen(loc) >= sizeof out->path)
			return mr_err_set(err, MR_EINVAL_INPUT, "redirect too long");
		util_scopyn(out->path, sizeof out->path, loc, strcspn(loc, "#"));
		return 0;
	}
	return http_url_parse(loc, out, err);
}

/* "host", "host:port" or "[v6]:port" as the Host header wants it. */
static void http_hostport(const char *host, const char *port, int tls, char *out, size_t size)
{
	int v6 = strchr(host, ':') != NULL;
	int dflt = !strcmp(port, tls ? "443" : "80");
	snprintf(out, size, "%s%s%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "", dflt ? "" : ":",
		 dflt ? "" : port);
}

static void http_close(struct http_conn *c)
{
	util_close(c->fd);
	c->fd = -1;
	c->rpos = c->rlen = 0;
}

/* A socket failure as an error naming the peer; a timeout reads as one. */
static int http_sys_fail(struct http_conn *c, int e, struct mr_err *err)
{
	errno = e == EAGAIN || e == EWOULDBLOCK ? ETIMEDOUT : e ? e : ECONNRESET;
	return mr_err_sys(err, "%s:%s", c->host, c->port);
}

/* TLS ([12] below; stubs when built without it: http_connect refuses
 * https first) */
static int tls_start(struct http_conn *c, struct mr_err *err);
static ssize_t tls_read(struct http_conn *c, void *buf, size_t n, struct mr_err *err);
static int tls_write(struct http_conn *c, const void *buf, size_t n, struct mr_err *err);
static void tls_free(struct http_conn *c);

/* ---- Name lookup: an address literal, /etc/hosts, then DNS over UDP to
 * the nameservers of /etc/resolv.conf (A and AAAA; "search" domains for names
 * with fewer dots than ndots; its timeout and attempts). This is what a
 * registry client needs of getaddrinfo, whose static copy costs about 13 KB
 * with the stdio and number scanners it brings along. Addresses come in the
 * order found, IPv4 answers first; http_connect tries them in turn. */

/* inet_pton for AF_INET and AF_INET6 (musl's is 0.8 KB): dotted quads of
 * decimal parts without leading zeros; eight hex groups, one "::" standing
 * for the zero groups it hides, a dotted quad allowed as the last 32 bits.
 * 1 when parsed, 0 when not. */
static int util_inet_pton(int af, const char *s, unsigned char *out)
{
	unsigned char b[16];
	int n = 0, gap = -1, i;
	if (af == AF_INET) {
		for (i = 0; i < 4; i++) {
			int v = 0, d = 0;
			for (; *s >= '0' && *s <= '9' && d < 4; s++, d++)
				v = v * 10 + (*s - '0');
			if (!d || d > 3 || v > 255 || (d > 1 && s[-d] == '0') || *s != (i < 3 ? '.' : 0))
				return 0;
			b[i] = (unsigned char)v;
			s++;
		}
		memcpy(out, b, 4);
		return 1;
	}
	if (af != AF_INET6)
		return 0;
	if (s[0] == ':' && s[1] != ':')
		return 0;
	while (n < 16) {
		unsigned v = 0;
		int d = 0;
		if (s[0] == ':' && s[1] == ':' && gap < 0) {
			gap = n;
			s += 2;
			if (!*s)
				break;
			continue;
		}
		if (strchr(s, ':') == NULL && strchr(s, '.') && n <= 12) {
			if (util_inet_pton(AF_INET, s, b + n) != 1)
				return 0;
			n += 4;
			s += strlen(s);
			break;
		}
		for (; d < 5 && isxdigit((unsigned char)*s); s++, d++)
			v = v * 16 + (unsigned)(*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10);
		if (!d || d > 4)
			return 0;
		b[n++] = (unsigned char)(v >> 8);
		b[n++] = (unsigned char)v;
		if (!*s)
			break;
		if (*s != ':' || (s[1] == ':' && gap >= 0) || (!s[1]))
			return 0;
		if (s[1] != ':')
			s++;
	}
	if (*s || (gap < 0 && n != 16) || (gap >= 0 && n > 14))
		return 0;
	memset(out, 0, 16);
	if (gap < 0) {
		memcpy(out, b, 16);
	} else {
		memcpy(out, b, (size_t)gap);
		memcpy(out + 16 - (n - gap), b + gap, (size_t)(n - gap));
	}
	return 1;
}

#define DNS_MAX_ADDRS 8

struct dns_addr {
	int family;                    /* AF_INET or AF_INET6 */
	unsigned char ip[16];
};

struct dns_conf {
	struct dns_addr server[3];
	int servers, ndots, timeout, attempts;
	char search[256];              /* space-separated domains */
};

struct dns_result {
	int n;                          /* first: one-byte offsets in x86-64 code */
	struct dns_addr addr[DNS_MAX_ADDRS];
};

static void dns_add(struct dns_result *r, int family, const void *ip)
{
	if (r->n >= DNS_MAX_ADDRS)
		return;
	r->addr[r->n].family = family;
	memcpy(r->addr[r->n].ip, ip, family == AF_INET ? 4 : 16);
	r->n++;
}

/* A literal IPv4 or IPv6 address: added, and 1 returned. */
static int dns_literal(const char *s, struct dns_result *r)
{
	unsigned char ip[16];
	if (util_inet_pton(AF_INET, s, ip) == 1)
		dns_add(r, AF_INET, ip);
	else if (util_inet_pton(AF_INET6, s, ip) == 1)
		dns_add(r, AF_INET6, ip);
	else
		return 0;
	return 1;
}

/* Calls fn with the words of each line of a small text file (comments
 * after '#' dropped); missing files have no lines. */
static void dns_each_line(const char *path, void (*fn)(char words[][256], int n, void *ctx), void *ctx)
{
	struct mr_buf text = { 0 };
	struct mr_err ignored;
	const char *p;
	if (mr_read_file(AT_FDCWD, path, &text, 64 << 10, &ignored) < 0)
		return;
	for (p = text.data; p && *p;) {
		const char *nl = strchr(p, '\n'), *w;
		char line[512], words[8][256];
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		int n = 0;
		util_scopyn(line, sizeof line, p, len);
		line[strcspn(line, "#;")] = 0;
		for (w = line; n < 8 && util_word(&w, words[n], sizeof words[n]) == 0; n++)
			;
		if (n > 0)
			fn(words, n, ctx);
		p = nl ? nl + 1 : NULL;
	}
	mr_buf_free(&text);
}

struct dns_hosts_ctx {
	const char *host;
	struct dns_result *r;
};

static void dns_hosts_line(char words[][256], int n, void *ctx)
{
	struct dns_hosts_ctx *h = ctx;
	int i;
	for (i = 1; i < n; i++)
		if (!strcasecmp(words[i], h->host)) {
			dns_literal(words[0], h->r);
			return;
		}
}

static void dns_conf_line(char words[][256], int n, void *ctx)
{
	struct dns_conf *conf = ctx;
	int i;
	if (!strcmp(words[0], "nameserver") && n > 1 && conf->servers < 3) {
		struct dns_result one = { .n = 0 };
		if (dns_literal(words[1], &one))
			conf->server[conf->servers++] = one.addr[0];
	} else if ((!strcmp(words[0], "search") || !strcmp(words[0], "domain")) && n > 1) {
		conf->search[0] = 0;
		for (i = 1; i < n; i++)
			snprintf(conf->search + strlen(conf->search), sizeof conf->search - strlen(conf->search),
				 "%s%s", i > 1 ? " " : "", words[i]);
	} else if (!strcmp(words[0], "options")) {
		for (i = 1; i < n; i++) {
			int *v = !strncmp(words[i], "ndots:", 6) ? &conf->ndots :
				 !strncmp(words[i], "timeout:", 8) ? &conf->timeout :
				 !strncmp(words[i], "attempts:", 9) ? &conf->attempts : NULL;
			if (v)
				*v = atoi(strchr(words[i], ':') + 1);
		}
	}
}

/* A query for name and type (1 A, 28 AAAA) into q (at least 300 bytes):
 * its length, or 0 when the name cannot be one. */
static size_t dns_query(unsigned char *q, uint16_t id, const char *name, int type)
{
	size_t at = 12;
	const char *label = name;
	memset(q, 0, 12);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 1;                                  /* recursion desired */
	q[5] = 1;                                  /* one question */
	while (*label) {
		size_t len = strcspn(label, ".");
		if (len == 0 || len > 63 || at + len + 6 > 268)
			return 0;
		q[at++] = (unsigned char)len;
		memcpy(q + at, label, len);
		at += len;
		label += len + (label[len] == '.');
	}
	q[at++] = 0;
	q[at++] = 0;
	q[at++] = (unsigned char)type;
	q[at++] = 0;
	q[at++] = 1;                               /* class IN */
	return at;
}

/* Skips a (possibly compressed) name at *at; -1 past the end. */
static int dns_skip_name(const unsigned char *m, size_t len, size_t *at)
{
	while (*at < len) {
		unsigned char c = m[*at];
		if (c >= 0xc0) {
			*at += 2;
			return *at <= len ? 0 : -1;
		}
		*at += 1 + (size_t)c;
		if (c == 0)
			return 0;
	}
	return -1;
}

/* The addresses in an answer to query id: 0 with the answer's A/AAAA records
 * added (none for a name that does not exist), -1 when it is not one. */
static int dns_answer(const unsigned char *m, size_t len, uint16_t id, struct dns_result *r)
{
	size_t at = 12;
	int count;
	if (len < 12 || m[0] != (id >> 8) || m[1] != (id & 255) || !(m[2] & 0x80) ||
	    ((m[3] & 15) != 0 && (m[3] & 15) != 3) || m[5] != 1 || m[4] != 0)
		return -1;
	if (dns_skip_name(m, len, &at) < 0 || (at += 4) > len)
		return -1;
	for (count = m[6] << 8 | m[7]; count > 0; count--) {
		int type;
		size_t rdlen;
		if (dns_skip_name(m, len, &at) < 0 || at + 10 > len)
			return -1;
		type = m[at] << 8 | m[at + 1];
		rdlen = (size_t)(m[at + 8] << 8 | m[at + 9]);
		at += 10;
		if (at + rdlen > len)
			return -1;
		if ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))
			dns_add(r, type == 1 ? AF_INET : AF_INET6, m + at);
		at += rdlen;
	}
	return 0;
}

static socklen_t dns_sockaddr(const struct dns_addr *a, int port, struct sockaddr_in6 *sa)
{
	memset(sa, 0, sizeof *sa);
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, a->ip, 4);
		return sizeof *in;
	}
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons((uint16_t)port);
	memcpy(&sa->sin6_addr, a->ip, 16);
	return sizeof *sa;
}

/* Asks the nameservers about one name (A and AAAA at once): 0 with the
 * addresses added (none if it does not exist), -1 when none answered. */
static int dns_ask(const struct dns_conf *conf, const char *name, struct dns_result *r)
{
	int attempt, s;
	for (attempt = 0; attempt < conf->attempts; attempt++)
		for (s = 0; s < conf->servers; s++) {
			unsigned char q[2][300], m[1232];
			size_t qlen[2];
			struct sockaddr_in6 sa;
			uint16_t id[2];
			int fd, got = 0, ok = 0, k;
			socklen_t salen = dns_sockaddr(&conf->server[s], 53, &sa);
			struct dns_result v4 = { .n = 0 }, v6 = { .n = 0 };
			if (util_random(id, sizeof id) < 0 ||
			    !(qlen[0] = dns_query(q[0], id[0], name, 1)) || !(qlen[1] = dns_query(q[1], id[1], name, 28)))
				return -1;
			fd = socket(conf->server[s].family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&sa, salen) < 0 ||
			    send(fd, q[0], qlen[0], 0) < 0 || send(fd, q[1], qlen[1], 0) < 0) {
				util_close(fd);
				continue;
			}
			while (got < 2) {
				struct pollfd pfd = { fd, POLLIN, 0 };
				ssize_t n;
				if (poll(&pfd, 1, conf->timeout * 1000) <= 0 || (n = recv(fd, m, sizeof m, 0)) < 0)
					break;
				for (k = 0; k < 2; k++)
					if (!(got & (1 << k)) && dns_answer(m, (size_t)n, id[k], k ? &v6 : &v4) == 0)
						got |= 1 << k, ok++;
			}
			close(fd);
			if (ok == 2) {
				for (k = 0; k < v4.n; k++)
					dns_add(r, AF_INET, v4.addr[k].ip);
				for (k = 0; k < v6.n; k++)
					dns_add(r, AF_INET6, v6.addr[k].ip);
				return 0;
			}
		}
	return -1;
}

/* The addresses of host: 0, or -1 with err naming the host and why. */
static int dns_lookup(const char *host, const char *hosts_file, const char *resolv_file,
		      struct dns_result *r, struct mr_err *err)
{
	struct dns_conf conf = { .ndots = 1, .timeout = 5, .attempts = 2 };
	struct dns_hosts_ctx h = { host, r };
	const char *p, *dot;
	char name[512], domain[256];
	int dots = 0, answered = 0;
	r->n = 0;
	if (!*host)
		return mr_err_set(err, ENXIO, "lookup: empty host name");
	if (dns_literal(host, r))
		return 0;
	dns_each_line(hosts_file, dns_hosts_line, &h);
	if (r->n)
		return 0;
	dns_each_line(resolv_file, dns_conf_line, &conf);
	if (!conf.servers) {                       /* the resolvers' default */
		conf.servers = 1;
		conf.server[0].family = AF_INET;
		memcpy(conf.server[0].ip, "\177\0\0\1", 4);
	}
	conf.timeout = conf.timeout < 1 ? 1 : conf.timeout > 30 ? 30 : conf.timeout;
	conf.attempts = conf.attempts < 1 ? 1 : conf.attempts > 5 ? 5 : conf.attempts;
	for (dot = host; (dot = strchr(dot, '.')) != NULL; dot++)
		dots++;
	/* Short names try the search domains first, then the name itself. */
	for (p = conf.search; dots < conf.ndots && host[strlen(host) - 1] != '.' &&
	     util_word(&p, domain, sizeof domain) == 0;) {
		snprintf(name, sizeof name, "%s.%s", host, domain);
		if (dns_ask(&conf, name, r) == 0 && (answered = 1, r->n))
			return 0;
	}
	if (dns_ask(&conf, host, r) == 0 && (answered = 1, r->n))
		return 0;
	return mr_err_set(err, answered ? ENXIO : EAGAIN, "lookup %s: %s", host,
			  answered ? "no such host" : "no answer from the nameservers in /etc/resolv.conf");
}

static int http_connect(struct http_conn *c, const struct http_url *u, struct mr_err *err)
{
	struct dns_result addrs;
	struct timeval tv;
	int i, rc, fd = -1, saved = ECONNREFUSED;
	http_close(c);
	util_scopy(c->host, sizeof c->host, u->host);
	util_scopy(c->port, sizeof c->port, u->port);
	c->tls = u->tls;
	c->eof = c->sys_errno = 0;
	if (!MINIRUN_WITH_TLS && u->tls)
		return mr_err_set(err, MR_EDISABLED, "https://%s:%s: built without MINIRUN_WITH_TLS",
				  u->host, u->port);
	if (dns_lookup(u->host, "/etc/hosts", "/etc/resolv.conf", &addrs, err) < 0)
		return -1;
	for (i = 0; i < addrs.n; i++) {
		struct pollfd pfd;
		struct sockaddr_in6 sa;
		socklen_t len = sizeof saved, salen = dns_sockaddr(&addrs.addr[i], atoi(u->port), &sa);
		fd = socket(addrs.addr[i].family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, (struct sockaddr *)&sa, salen) == 0)
			break;
		saved = errno;
		if (saved == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			rc = poll(&pfd, 1, c->timeout * 1000);
			saved = rc == 0 ? ETIMEDOUT : rc < 0 ? errno : 0;
			if (!saved && getsockopt(fd, SOL_SOCKET, SO_ERROR, &saved, &len) < 0)
				saved = errno;
			if (!saved)
				break;
		}
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		errno = saved;
		return mr_err_sys(err, "connect to %s:%s", u->host, u->port);
	}
	/* Blocking from now on, each read and write bounded by the timeout. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	tv.tv_sec = c->timeout;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	c->fd = fd;
	if (c->tls && tls_start(c, err) < 0) {
		http_close(c);
		return -1;
	}
	return 0;
}

/* Socket reads and writes; 0 from a read is the peer's close. */
static ssize_t http_sock_read(struct http_conn *c, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = read(c->fd, buf, n);
		if (r > 0)
			return r;
		if (r == 0)
			c->eof = 1;
		else if (errno == EINTR)
			continue;
		else
			c->sys_errno = errno;
		return r;
	}
}

static int http_sock_write(struct http_conn *c, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			c->sys_errno = errno;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t http_raw_read(struct http_conn *c, void *buf, size_t n, struct mr_err *err)
{
	ssize_t r;
	if (c->tls)
		return tls_read(c, buf, n, err);
	r = http_sock_read(c, buf, n);
	return r < 0 ? http_sys_fail(c, c->sys_errno, err) : r;
}

static int http_raw_write(struct http_conn *c, const void *buf, size_t n, struct mr_err *err)
{
	if (c->tls)
		return tls_write(c, buf, n, err);
	return http_sock_write(c, buf, n) < 0 ? http_sys_fail(c, c->sys_errno, err) : 0;
}

/* More bytes into the read buffer: the count, 0 at the peer's close. */
static ssize_t http_fill(struct http_conn *c, struct mr_err *err)
{
	ssize_t r;
	if (c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
	if (c->rpos && c->rlen == sizeof c->rbuf) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	r = http_raw_read(c, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen, err);
	if (r > 0)
		c->rlen += (size_t)r;
	return r;
}

/* One CRLF (or LF) terminated line without its end; lines longer than the
 * read buffer are refused. */
static int http_line(struct http_conn *c, char *line, size_t size, struct mr_err *err)
{
	for (;;) {
		unsigned char *nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);
		ssize_t r;
		if (nl) {
			size_t n = (size_t)(nl - (c->rbuf + c->rpos));
			if (n >= size)
				return mr_err_set(err, MR_EINVAL_INPUT, "%s: HTTP header line too long",
						  c->host);
			memcpy(line, c->rbuf + c->rpos, n);
			if (n && line[n - 1] == '\r')
				n--;
			line[n] = 0;
			c->rpos += (size_t)(nl - (c->rbuf + c->rpos)) + 1;
			return 0;
		}
		if (c->rlen - c->rpos >= size - 1 || (c->rpos == 0 && c->rlen == sizeof c->rbuf))
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: HTTP header line too long", c->host);
		r = http_fill(c, err);
		if (r < 0)
			return -1;
		if (r == 0)
			return mr_err_set(err, ECONNRESET, "%s:%s: connection closed by the server",
					  c->host, c->port);
	}
}

/* Case-insensitive "Name:" prefix; returns the value with blanks trimmed. */
static char *http_header_value(char *line, const char *name)
{
	size_t n = strlen(name);
	char *v, *e;
	if (strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	for (v = line + n + 1; *v == ' ' || *v == '\t'; v++) {}
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--) {}
	*e = 0;
	return v;
}

static int http_copy_header(char *dst, size_t size, const char *v, const char *name,
			    struct mr_err *err)
{
	if (util_strlcpy(dst, v, size) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "HTTP header %s too long", name);
	return 0;
}

/* Status line and headers of one response (1xx interim responses skipped). */
static int http_read_head(struct http_conn *c, struct http_resp *r, struct mr_err *err)
{
	char line[HTTP_RBUF];
	size_t total = 0;
	int interim = 0, minor;
	char *v;
again:
	r->status = 0;
	r->close = r->chunked = 0;
	r->length = UINT64_MAX;
	r->location[0] = r->auth[0] = r->type[0] = r->range[0] = 0;
	if (http_line(c, line, sizeof line, err) < 0)
		return -1;
	if (strncmp(line, "HTTP/1.", 7) || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
	    util_digits(line + 9, 3) < 100 || (line[12] && line[12] != ' '))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s:%s: not an HTTP/1.x response: %.60s",
				  c->host, c->port, line);
	minor = line[7] - '0';
	r->status = util_digits(line + 9, 3);
	r->close = minor == 0;
	for (;;) {
		if (http_line(c, line, sizeof line, err) < 0)
			return -1;
		if (!line[0])
			break;
		total += strlen(line) + 2;
		if (total > HTTP_MAX_HEAD)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: HTTP response head larger than %u bytes",
					  c->host, HTTP_MAX_HEAD);
		if ((v = http_header_value(line, "content-length"))) {
			uint64_t n;
			if (util_parse_u64(v, &n) < 0 || (r->length != UINT64_MAX && r->length != n))
				return mr_err_set(err, MR_EINVAL_INPUT, "%s: bad Content-Length %.40s",
						  c->host, v);
			r->length = n;
		} else if ((v = http_header_value(line, "transfer-encoding"))) {
			size_t n = strlen(v);
			r->chunked = n >= 7 && !strcasecmp(v + n - 7, "chunked");
			if (!r->chunked)
				return mr_err_set(err, MR_EINVAL_INPUT, "%s: unsupported "
						  "Transfer-Encoding %.40s", c->host, v);
		} else if ((v = http_header_value(line, "connection"))) {
			if (strcasestr(v, "close"))
				r->close = 1;
			else if (minor == 0 && strcasestr(v, "keep-alive"))
				r->close = 0;
		} else if ((v = http_header_value(line, "location"))) {
			if (http_copy_header(r->location, sizeof r->location, v, "Location", err) < 0)
				return -1;
		} else if ((v = http_header_value(line, "www-authenticate"))) {
			/* Several challenges: keep the first Bearer, else the first. */
			if ((!r->auth[0] || strncasecmp(r->auth, "bearer ", 7)) &&
			    http_copy_header(r->auth, sizeof r->auth, v, "WWW-Authenticate", err) < 0)
				return -1;
		} else if ((v = http_header_value(line, "content-type"))) {
			util_scopy(r->type, sizeof r->type, v);
		} else if ((v = http_header_value(line, "content-range"))) {
			util_scopy(r->range, sizeof r->range, v);
		}
	}
	if (r->status < 200 && r->status != 101 && ++interim < 8)
		goto again;
	if (r->chunked)
		r->length = UINT64_MAX;
	return 0;
}

/* ---- Response bodies as streams ---- */
enum { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED, HTTP_BODY_CLOSE };

struct http_body {
	struct stream s;
	struct http_conn *c;
	int mode;
	int done;                      /* the whole body was read */
	int keep;                      /* the connection may serve the next request */
	int crlf;                      /* chunked: a CRLF ends the previous chunk */
	uint64_t left;                 /* LENGTH: bytes left; CHUNKED: left in this chunk */
	uint64_t count;                /* bytes returned so far */
};

/* The size line of the next chunk (extensions ignored); the last chunk's
 * trailers are read and dropped. */
static int http_chunk_start(struct http_body *b, struct mr_err *err)
{
	char line[HTTP_RBUF];
	uint64_t size = 0;
	int digits = 0;
	const char *p;
	if (b->crlf) {
		if (http_line(b->c, line, sizeof line, err) < 0)
			return -1;
		if (line[0])
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: bad chunked encoding", b->c->host);
	}
	if (http_line(b->c, line, sizeof line, err) < 0)
		return -1;
	for (p = line; isxdigit((unsigned char)*p); p++) {
		if (++digits > 15)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: chunk too large", b->c->host);
		size = size * 16 + (uint64_t)(isdigit((unsigned char)*p) ? *p - '0' :
					      (tolower((unsigned char)*p) - 'a' + 10));
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (!digits || (*p && *p != ';'))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: bad chunk size line %.40s", b->c->host,
				  line);
	b->left = size;
	b->crlf = 1;
	if (size)
		return 0;
	do {            /* trailers, up to the empty line */
		if (http_line(b->c, line, sizeof line, err) < 0)
			return -1;
	} while (line[0]);
	b->done = 1;
	return 0;
}

static ssize_t http_body_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct http_body *b = (struct http_body *)s;
	struct http_conn *c = b->c;
	ssize_t r;
	size_t take = n;
	if (b->done || !n)
		return 0;
	if (b->mode == HTTP_BODY_CHUNKED && !b->left) {
		if (http_chunk_start(b, err) < 0)
			return -1;
		if (b->done)
			return 0;
	}
	if (b->mode != HTTP_BODY_CLOSE && take > b->left)
		take = (size_t)b->left;
	if (c->rpos < c->rlen) {
		r = (ssize_t)(c->rlen - c->rpos < take ? c->rlen - c->rpos : take);
		memcpy(buf, c->rbuf + c->rpos, (size_t)r);
		c->rpos += (size_t)r;
	} else {
		/* Large reads go straight to the caller's buffer. */
		r = http_raw_read(c, buf, take, err);
		if (r < 0)
			return -1;
	}
	if (r == 0) {
		if (b->mode == HTTP_BODY_CLOSE) {
			b->done = 1;
			return 0;
		}
		return mr_err_set(err, ECONNRESET, "%s:%s: connection closed after %" PRIu64
				  " bytes of the response", c->host, c->port, b->count);
	}
	b->count += (uint64_t)r;
	if (b->mode != HTTP_BODY_CLOSE) {
		b->left -= (uint64_t)r;
		if (b->mode == HTTP_BODY_LENGTH && !b->left)
			b->done = 1;
	}
	return r;
}

static void http_body_init(struct http_body *b, struct http_conn *c, const struct http_resp *r,
			   int head)
{
	memset(b, 0, sizeof *b);
	b->s.read = http_body_read;
	b->c = c;
	b->keep = !r->close;
	if (head || r->status == 204 || r->status == 304 || r->status < 200) {
		b->mode = HTTP_BODY_NONE;
		b->done = 1;
	} else if (r->chunked) {
		b->mode = HTTP_BODY_CHUNKED;
	} else if (r->length != UINT64_MAX) {
		b->mode = HTTP_BODY_LENGTH;
		b->left = r->length;
		b->done = !r->length;
	} else {
		b->mode = HTTP_BODY_CLOSE;
		b->keep = 0;
	}
}

/* Done with a response: the connection stays for the next request only
 * when its body was read to the end and the server keeps it open. */
static void http_body_end(struct http_body *b)
{
	if (!b->done || !b->keep)
		http_close(b->c);
}

/* Read a (small) body into buf, at most max bytes; the rest is dropped
 * (and the connection with it). */
static int http_body_slurp(struct http_body *b, struct mr_buf *buf, size_t max, struct mr_err *err)
{
	char chunk[4096];
	ssize_t r;
	while ((r = http_body_read(&b->s, chunk, sizeof chunk, err)) > 0) {
		if (buf->len + (size_t)r > max) {
			http_body_end(b);
			return mr_err_set(err, EFBIG, "%s: response larger than %zu bytes", b->c->host, max);
		}
		mr_buf_append(buf, chunk, (size_t)r);
	}
	if (r < 0) {
		http_close(b->c);
		return -1;
	}
	http_body_end(b);
	return 0;
}

/* Send one request and read the response's head, on the open connection
 * when it goes to the same place (once more on a fresh one if the server had
 * closed it meanwhile, as servers do with idle connections). `headers`: extra
 * header lines, each ending in CRLF. */
static int http_request(struct http_conn *c, const char *method, const struct http_url *u,
			const char *headers, struct http_resp *r, struct http_body *b,
			struct mr_err *err)
{
	struct mr_buf req = { 0 };
	char host[280];
	int attempt, rc = -1;
	http_hostport(u->host, u->port, u->tls, host, sizeof host);
	mr_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: minirun/" MINIRUN_VERSION
		      "\r\n%s\r\n", method, u->path, host, headers ? headers : "");
	for (attempt = 0; attempt < 2 && rc < 0; attempt++) {
		int reused = c->fd >= 0 && c->tls == u->tls && !strcmp(c->host, u->host) &&
			     !strcmp(c->port, u->port);
		if (!reused && http_connect(c, u, err) < 0)
			break;
		c->eof = c->sys_errno = 0;
		if (http_raw_write(c, req.data, req.len, err) == 0 && http_read_head(c, r, err) == 0) {
			rc = 0;
			break;
		}
		http_close(c);
		if (!reused)
			break;
	}
	mr_buf_free(&req);
	if (rc == 0)
		http_body_init(b, c, r, !strcmp(method, "HEAD"));
	return rc;
}

/* ---- TLS (BearSSL) ---- */
#if MINIRUN_WITH_TLS

struct tls_anchors {
	br_x509_trust_anchor *ta;
	size_t n, cap;
};

/* Client context, X.509 engine, our wrapper around it (IP address check),
 * trust anchors and the record buffer, allocated once per process. */
struct http_tls {
	/* the small fields first: at offsets below 128 (one byte of
	 * displacement in x86-64 code), the engine's contexts and buffers after */
	const br_x509_class *vtable;   /* the wrapper: what the engine calls */
	struct tls_anchors anchors;    /* the bundle's first, then the host's certs.d */
	size_t nbundle;
	size_t iplen;
	size_t eelen;                  /* the end-entity certificate, kept for that check */
	int bundle_loaded;
	unsigned ncerts;
	int ee_over;
	br_sslio_context io;
	unsigned char ip[16];          /* the host is an IP address: check iPAddress SANs */
	br_ssl_client_context sc;
	br_x509_minimal_context xc;
	char bundle_err[200];          /* why the bundle gave nothing */
	char extra_for[280];           /* host whose certs.d anchors are loaded */
	unsigned char ee[8192];
	/* Input records of up to 16 KB, output records of 512 bytes (requests
	 * are small): half the RAM of BR_SSL_BUFSIZE_BIDI. */
	unsigned char buf[BR_SSL_BUFSIZE_INPUT + 512 + 85];
};

/* ---- Trust anchors ----
 * Certificates of a PEM file (the system bundle, a certs.d ca.crt) become
 * trust anchors: subject DN (as encoded) and public key, copied into one
 * allocation (dn.data, all there is to free). A short DER walk does this
 * instead of BearSSL's PEM and X.509 decoders (5 KB). Every anchor counts as
 * a CA: a bundle holds only CAs, and a self-signed registry certificate put
 * into certs.d then validates itself, as it does with Docker. */

/* The element at *p: tag, content and its length; *p moves past it. */
static int tls_der(const unsigned char **p, const unsigned char *end, int *tag,
		   const unsigned char **val, size_t *len)
{
	const unsigned char *q = *p;
	size_t n, k;
	if (end - q < 2)
		return -1;
	*tag = q[0];
	n = q[1];
	q += 2;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k < 1 || k > 3 || (size_t)(end - q) < k)
			return -1;
		for (n = 0; k; k--)
			n = n << 8 | *q++;
	}
	if ((size_t)(end - q) < n)
		return -1;
	*val = q;
	*len = n;
	*p = q + n;
	return 0;
}

/* Step into the SEQUENCE at *p: its content becomes [*p, *end). */
static int tls_der_enter(const unsigned char **p, const unsigned char **end)
{
	const unsigned char *v;
	size_t n;
	int tag;
	if (tls_der(p, *end, &tag, &v, &n) < 0 || (tag != 0x30 && tag != 0xa3))
		return -1;
	*p = v;
	*end = v + n;
	return 0;
}

/* INTEGER content without its leading zero bytes. */
static int tls_der_uint(const unsigned char **p, const unsigned char *end,
			const unsigned char **v, size_t *n)
{
	int tag;
	if (tls_der(p, end, &tag, v, n) < 0 || tag != 0x02)
		return -1;
	while (*n > 1 && !**v)
		(*v)++, (*n)--;
	return 0;
}

static void tls_add_anchor(struct tls_anchors *a, const unsigned char *cert, size_t len)
{
	static const unsigned char rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
	static const unsigned char ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
	static const unsigned char curves[3][9] = {  /* length, OID: P-256, P-384, P-521 */
		{ 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 },
		{ 5, 0x2b, 0x81, 0x04, 0x00, 0x22 }, { 5, 0x2b, 0x81, 0x04, 0x00, 0x23 },
	};
	const unsigned char *p = cert, *end = cert + len, *dn = NULL, *v, *q, *qe, *oid, *n, *e = NULL;
	size_t vlen, olen, nlen, elen = 0, dnlen = 0, i;
	br_x509_trust_anchor *ta;
	unsigned char *mem;
	int tag = 0, curve = 0;
	if (tls_der_enter(&p, &end) < 0 || tls_der_enter(&p, &end) < 0)  /* cert, tbs */
		return;
	/* [0] version, serial, signature, issuer, validity, subject, spki */
	for (i = 0; i < 7; i++) {
		const unsigned char *start = p;
		if (tls_der(&p, end, &tag, &v, &vlen) < 0)
			return;
		if (i == 0 && tag != 0xa0)
			i++;  /* a v1 certificate: no version */
		if (i == 5)
			dn = start, dnlen = (size_t)(p - start);
	}
	/* SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { alg, params }, BIT STRING } */
	if (tag != 0x30)
		return;
	p = v;
	end = v + vlen;
	if (tls_der(&p, end, &tag, &v, &vlen) < 0 || tag != 0x30)
		return;
	q = v;
	qe = v + vlen;
	if (tls_der(&q, qe, &tag, &oid, &olen) < 0 || tag != 0x06)
		return;
	if (olen == sizeof ec && !memcmp(oid, ec, olen)) {
		if (tls_der(&q, qe, &tag, &v, &vlen) < 0 || tag != 0x06)
			return;
		for (i = 0; i < 3; i++)
			if (vlen == curves[i][0] && !memcmp(v, curves[i] + 1, vlen))
				curve = BR_EC_secp256r1 + (int)i;
		if (!curve)
			return;
	} else if (olen != sizeof rsa || memcmp(oid, rsa, olen)) {
		return;  /* another key type (Ed25519...): skipped */
	}
	if (tls_der(&p, end, &tag, &n, &nlen) < 0 || tag != 0x03 || nlen < 2 || n[0])
		return;
	n++;
	nlen--;
	if (!curve) {  /* RSAPublicKey: SEQUENCE { modulus, exponent } */
		q = n;
		qe = n + nlen;
		if (tls_der_enter(&q, &qe) < 0 || tls_der_uint(&q, qe, &n, &nlen) < 0 ||
		    tls_der_uint(&q, qe, &e, &elen) < 0)
			return;
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->ta = util_xrealloc(a->ta, a->cap * sizeof *a->ta);
	}
	ta = &a->ta[a->n++];
	memset(ta, 0, sizeof *ta);
	mem = util_xmalloc(dnlen + nlen + elen);
	memcpy(mem, dn, dnlen);
	memcpy(mem + dnlen, n, nlen);
	if (elen)
		memcpy(mem + dnlen + nlen, e, elen);
	ta->dn.data = mem;
	ta->dn.len = dnlen;
	ta->flags = BR_X509_TA_CA;
	if (curve) {
		ta->pkey.key_type = BR_KEYTYPE_EC;
		ta->pkey.key.ec.curve = curve;
		ta->pkey.key.ec.q = mem + dnlen;
		ta->pkey.key.ec.qlen = nlen;
	} else {
		ta->pkey.key_type = BR_KEYTYPE_RSA;
		ta->pkey.key.rsa.n = mem + dnlen;
		ta->pkey.key.rsa.nlen = nlen;
		ta->pkey.key.rsa.e = mem + dnlen + nlen;
		ta->pkey.key.rsa.elen = elen;
	}
}

/* Every "CERTIFICATE" block of a PEM file, decoded in place. */
static int tls_load_pem(struct tls_anchors *a, int dirfd, const char *path, struct mr_err *err)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", endm[] = "-----END CERTIFICATE-----";
	struct mr_buf buf = { 0 };
	char *p, *stop;
	if (mr_read_file(dirfd, path, &buf, 8u << 20, err) < 0) {
		mr_buf_free(&buf);
		return -1;
	}
	for (p = buf.data; p && (p = strstr(p, begin)) != NULL; p = stop + sizeof endm - 1) {
		size_t n;
		p += sizeof begin - 1;
		stop = strstr(p, endm);
		if (!stop)
			break;
		*stop = 0;
		if (http_b64_decode(p, p, (size_t)(stop - p) + 1, &n) == 0)
			tls_add_anchor(a, (unsigned char *)p, n);
	}
	mr_buf_free(&buf);
	return 0;
}

static void tls_anchors_truncate(struct tls_anchors *a, size_t n)
{
	while (a->n > n)
		free((void *)a->ta[--a->n].dn.data);
}

/* Docker's certs.d: every *.crt in DIR/HOST:PORT/ (and DIR/HOST/ for 443)
 * is an extra CA for that registry. */
static int tls_load_certs_d(struct http_tls *t, const char *host, const char *port,
			    struct mr_err *err)
{
	const char *base = getenv("MINIRUN_CERTS_D");
	char dir[MINIRUN_MAX_PATH], name[280];
	int pass;
	if (!base || !*base)
		base = MINIRUN_DEFAULT_CONF "/certs.d";
	for (pass = 0; pass < 2; pass++) {
		DIR *d;
		struct dirent *de;
		int dfd;
		if (pass == 0)
			http_hostport(host, port, 0, name, sizeof name);
		else if (!strcmp(port, "443"))
			http_hostport(host, "80", 0, name, sizeof name);  /* no port */
		else
			break;
		snprintf(dir, sizeof dir, "%s/%s", base, name);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			continue;
		}
		while ((de = readdir(d)) != NULL)
			if (util_ends_with(de->d_name, ".crt") &&
			    tls_load_pem(&t->anchors, dirfd(d), de->d_name, err) < 0) {
				closedir(d);
				return mr_err_ctx(err, "%s", dir);
			}
		closedir(d);
	}
	return 0;
}

/* The anchors for one server: the bundle (loaded once), plus its certs.d. */
static int tls_anchors_for(struct http_tls *t, const char *host, const char *port,
			   const char *ca_file, struct mr_err *err)
{
	char key[280];
	if (!t->bundle_loaded) {
		const char *path = ca_file ? ca_file : getenv("MINIRUN_CA_FILE");
		struct mr_err e2;
		if (!path || !*path)
			path = MINIRUN_DEFAULT_CA_FILE;
		if (tls_load_pem(&t->anchors, AT_FDCWD, path, &e2) < 0)
			util_scopy(t->bundle_err, sizeof t->bundle_err, e2.msg);
		else if (!t->anchors.n)
			snprintf(t->bundle_err, sizeof t->bundle_err, "%s: no certificates", path);
		t->nbundle = t->anchors.n;
		t->bundle_loaded = 1;
	}
	snprintf(key, sizeof key, "%s:%s", host, port);
	if (strcmp(key, t->extra_for)) {
		tls_anchors_truncate(&t->anchors, t->nbundle);
		t->extra_for[0] = 0;
		if (tls_load_certs_d(t, host, port, err) < 0)
			return -1;
		util_scopy(t->extra_for, sizeof t->extra_for, key);
	}
	if (!t->anchors.n)
		return mr_err_set(err, MR_EVERIFY, "%s: no trusted CA certificates (%s; set "
				  "MINIRUN_CA_FILE or add certs.d/%s/ca.crt)", host, t->bundle_err, key);
	return 0;
}

/* ---- Host names that are IP addresses ----
 * BearSSL matches the server name against dNSName entries only; for an
 * address the end-entity certificate's iPAddress entries are checked here,
 * after BearSSL validated the chain. A minimal DER walk: Certificate ->
 * tbsCertificate -> [3] extensions -> subjectAltName -> GeneralNames. */

static int tls_cert_has_ip(const unsigned char *cert, size_t len, const unsigned char *ip,
			   size_t iplen)
{
	static const unsigned char san_oid[] = { 0x55, 0x1d, 0x11 };
	const unsigned char *p = cert, *end = cert + len, *v, *e2;
	size_t n;
	int tag;
	if (tls_der(&p, end, &tag, &v, &n) < 0 || tag != 0x30)
		return 0;
	p = v;
	end = v + n;
	if (tls_der(&p, end, &tag, &v, &n) < 0 || tag != 0x30)      /* tbsCertificate */
		return 0;
	p = v;
	end = v + n;
	while (p < end) {
		if (tls_der(&p, end, &tag, &v, &n) < 0)
			return 0;
		if (tag != 0xa3)
			continue;
		p = v;
		end = v + n;
		if (tls_der(&p, end, &tag, &v, &n) < 0 || tag != 0x30)  /* Extensions */
			return 0;
		p = v;
		end = v + n;
		while (p < end) {
			const unsigned char *q, *oid;
			size_t olen;
			if (tls_der(&p, end, &tag, &v, &n) < 0 || tag != 0x30)
				return 0;
			q = v;
			e2 = v + n;
			if (tls_der(&q, e2, &tag, &oid, &olen) < 0 || tag != 0x06 ||
			    olen != sizeof san_oid || memcmp(oid, san_oid, olen))
				continue;
			if (tls_der(&q, e2, &tag, &v, &n) < 0)
				return 0;
			if (tag == 0x01 && tls_der(&q, e2, &tag, &v, &n) < 0)  /* critical */
				return 0;
			if (tag != 0x04)
				return 0;
			q = v;
			e2 = v + n;
			if (tls_der(&q, e2, &tag, &v, &n) < 0 || tag != 0x30)  /* GeneralNames */
				return 0;
			q = v;
			e2 = v + n;
			while (q < e2) {
				if (tls_der(&q, e2, &tag, &v, &n) < 0)
					return 0;
				if (tag == 0x87 && n == iplen && !memcmp(v, ip, n))
					return 1;
			}
			return 0;
		}
		return 0;
	}
	return 0;
}

#define TLS_OF(ctx) ((struct http_tls *)(void *)((char *)(ctx) - offsetof(struct http_tls, vtable)))

static void tls_x_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct http_tls *t = TLS_OF(ctx);
	t->ncerts = 0;
	t->eelen = 0;
	t->ee_over = 0;
	t->xc.vtable->start_chain(&t->xc.vtable, server_name);
}

static void tls_x_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct http_tls *t = TLS_OF(ctx);
	t->ncerts++;
	t->xc.vtable->start_cert(&t->xc.vtable, length);
}

static void tls_x_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct http_tls *t = TLS_OF(ctx);
	if (t->ncerts == 1 && t->iplen) {
		if (len > sizeof t->ee - t->eelen)
			t->ee_over = 1;
		else
			memcpy(t->ee + t->eelen, buf, len), t->eelen += len;
	}
	t->xc.vtable->append(&t->xc.vtable, buf, len);
}

static void tls_x_end_cert(const br_x509_class **ctx)
{
	struct http_tls *t = TLS_OF(ctx);
	t->xc.vtable->end_cert(&t->xc.vtable);
}

static unsigned tls_x_end_chain(const br_x509_class **ctx)
{
	struct http_tls *t = TLS_OF(ctx);
	unsigned r = t->xc.vtable->end_chain(&t->xc.vtable);
	if (r == 0 && t->iplen && (t->ee_over || !tls_cert_has_ip(t->ee, t->eelen, t->ip, t->iplen)))
		r = BR_ERR_X509_BAD_SERVER_NAME;
	return r;
}

static const br_x509_pkey *tls_x_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct http_tls *t = (const struct http_tls *)(const void *)
		((const char *)ctx - offsetof(struct http_tls, vtable));
	return t->xc.vtable->get_pkey(&t->xc.vtable, usages);
}

static const br_x509_class tls_x509_vtable = {
	sizeof(struct http_tls), tls_x_start_chain, tls_x_start_cert, tls_x_append,
	tls_x_end_cert, tls_x_end_chain, tls_x_get_pkey,
};

/* BearSSL's low-level I/O: -1 for an error or the peer's close (told apart
 * by c->eof when the error is reported). */
static int tls_sock_read(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t r = http_sock_read(ctx, buf, len);
	return r > 0 ? (int)r : -1;
}

static int tls_sock_write(void *ctx, const unsigned char *buf, size_t len)
{
	struct http_conn *c = ctx;
	ssize_t w;
	for (;;) {
		w = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (w >= 0)
			return (int)w;
		if (errno != EINTR) {
			c->sys_errno = errno;
			return -1;
		}
	}
}

/* The client profile: TLS 1.2 only, ECDHE key exchange with ECDSA or RSA
 * certificates, ChaCha20-Poly1305 first (fast without AES instructions, as on
 * most routers) then AES-GCM; P-256/384/521 and RSA through the shared i31
 * big-integer code. br_ssl_client_init_full would add TLS 1.0/1.1, static
 * RSA and ECDH, CBC, CCM and 3DES: tens of KB no registry needs. */
static void tls_profile(struct http_tls *t)
{
	static const uint16_t suites[] = {
		BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	};
	static const br_hash_class *const hashes[] = {
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
	};
	br_ssl_engine_context *eng = &t->sc.eng;
	size_t i;
	br_ssl_client_zero(&t->sc);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_x509_minimal_init(&t->xc, &br_sha256_vtable, t->anchors.ta, t->anchors.n);
	br_ssl_engine_set_suites(eng, suites, sizeof suites / sizeof suites[0]);
	br_ssl_engine_set_ec(eng, &br_ec_prime_i31);
	br_ssl_engine_set_ecdsa(eng, &br_ecdsa_i31_vrfy_asn1);
	br_ssl_engine_set_rsavrfy(eng, &br_rsa_i31_pkcs1_vrfy);
	br_x509_minimal_set_rsa(&t->xc, &br_rsa_i31_pkcs1_vrfy);
	br_x509_minimal_set_ecdsa(&t->xc, &br_ec_prime_i31, &br_ecdsa_i31_vrfy_asn1);
	for (i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
		int id = (int)((hashes[i]->desc >> BR_HASHDESC_ID_OFF) & BR_HASHDESC_ID_MASK);
		br_ssl_engine_set_hash(eng, id, hashes[i]);
		br_x509_minimal_set_hash(&t->xc, id, hashes[i]);
	}
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	/* One implementation each, constant-time and portable (the defaults
	 * would add AES-NI, PCLMUL and SSE2 variants with their fallbacks:
	 * 6 KB on x86_64 for speed a pull does not need). */
	br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
	br_ssl_engine_set_chacha20(eng, &br_chacha20_ct_run);
	br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
#if UINTPTR_MAX > 0xffffffffu
	br_ssl_engine_set_poly1305(eng, &br_poly1305_ctmul_run);
	br_ssl_engine_set_aes_ctr(eng, &br_aes_ct64_ctr_vtable);
	br_ssl_engine_set_ghash(eng, &br_ghash_ctmul64);
#else
	br_ssl_engine_set_poly1305(eng, &br_poly1305_ctmul_run);
	br_ssl_engine_set_aes_ctr(eng, &br_aes_ct_ctr_vtable);
	br_ssl_engine_set_ghash(eng, &br_ghash_ctmul);
#endif
	t->vtable = &tls_x509_vtable;
	br_ssl_engine_set_x509(eng, &t->vtable);
	br_ssl_engine_set_buffer(eng, t->buf, sizeof t->buf, 1);
}

static int tls_start(struct http_conn *c, struct mr_err *err)
{
	struct http_tls *t = c->t;
	unsigned char seed[32];
	if (!t)
		t = c->t = util_xcalloc(1, sizeof *t);
	if (tls_anchors_for(t, c->host, c->port, c->ca_file, err) < 0)
		return -1;
	tls_profile(t);
	t->iplen = util_inet_pton(AF_INET, c->host, t->ip) == 1 ? 4 :
		   util_inet_pton(AF_INET6, c->host, t->ip) == 1 ? 16 : 0;
	if (util_random(seed, sizeof seed) == 0)
		br_ssl_engine_inject_entropy(&t->sc.eng, seed, sizeof seed);
	/* No SNI for an address (RFC 6066); BearSSL checks names, we check addresses. */
	if (!br_ssl_client_reset(&t->sc, t->iplen ? NULL : c->host, 0))
		return mr_err_set(err, EPROTO, "%s: TLS set-up failed (BearSSL error %d)", c->host,
				  br_ssl_engine_last_error(&t->sc.eng));
	br_sslio_init(&t->io, &t->sc.eng, tls_sock_read, c, tls_sock_write, c);
	return 0;
}

/* Why the engine stopped, in the words Go (and so Docker) uses. */
static int tls_fail(struct http_conn *c, struct mr_err *err)
{
	int e = br_ssl_engine_last_error(&c->t->sc.eng);
	const char *why = NULL;
	switch (e) {
	case BR_ERR_OK:
	case BR_ERR_IO:
		if (c->eof)
			return mr_err_set(err, ECONNRESET, "%s:%s: connection closed by the server",
					  c->host, c->port);
		return http_sys_fail(c, c->sys_errno, err);
	case BR_ERR_X509_NOT_TRUSTED:
		why = "certificate signed by unknown authority";
		break;
	case BR_ERR_X509_BAD_SERVER_NAME:
		return mr_err_set(err, MR_EVERIFY, "%s:%s: tls: failed to verify certificate: x509: "
				  "certificate is not valid for %s", c->host, c->port, c->host);
	case BR_ERR_X509_EXPIRED:
		why = "certificate has expired or is not yet valid (is the system clock right?)";
		break;
	case BR_ERR_X509_NOT_CA:
		why = "a certificate of the chain is not a CA";
		break;
	case BR_ERR_X509_BAD_SIGNATURE:
		why = "bad certificate signature";
		break;
	case BR_ERR_X509_WEAK_PUBLIC_KEY:
		why = "public key too weak";
		break;
	case BR_ERR_X509_FORBIDDEN_KEY_USAGE:
		why = "key usage forbids TLS server use";
		break;
	case BR_ERR_X509_UNSUPPORTED:
	case BR_ERR_X509_WRONG_KEY_TYPE:
		why = "unsupported certificate algorithm";
		break;
	}
	if (why)
		return mr_err_set(err, MR_EVERIFY, "%s:%s: tls: failed to verify certificate: x509: %s",
				  c->host, c->port, why);
	if (e >= BR_ERR_X509_OK && e <= BR_ERR_X509_NOT_TRUSTED)
		return mr_err_set(err, MR_EVERIFY, "%s:%s: tls: failed to verify certificate: x509: "
				  "invalid certificate (BearSSL error %d)", c->host, c->port, e);
	if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT)
		return mr_err_set(err, EPROTO, "%s:%s: tls: the server sent alert %d (handshake "
				  "failure: no common cipher suite or TLS 1.2?)", c->host, c->port,
				  e - BR_ERR_RECV_FATAL_ALERT);
	if (e == BR_ERR_UNSUPPORTED_VERSION || e == BR_ERR_BAD_VERSION || e == BR_ERR_BAD_LENGTH ||
	    e == BR_ERR_UNKNOWN_TYPE)
		return mr_err_set(err, EPROTO, "%s:%s: tls: not a TLS 1.2 server (a plain HTTP "
				  "registry needs --insecure-registry %s:%s)", c->host, c->port, c->host,
				  c->port);
	return mr_err_set(err, EPROTO, "%s:%s: tls: error %d (BearSSL)", c->host, c->port, e);
}

static ssize_t tls_read(struct http_conn *c, void *buf, size_t n, struct mr_err *err)
{
	int r = br_sslio_read(&c->t->io, buf, n > INT_MAX ? INT_MAX : n);
	if (r > 0)
		return r;
	/* A close_notify, or a plain close: the caller knows from the body
	 * framing whether that was the end. */
	if (br_ssl_engine_current_state(&c->t->sc.eng) == BR_SSL_CLOSED &&
	    (br_ssl_engine_last_error(&c->t->sc.eng) == BR_ERR_OK ||
	     (br_ssl_engine_last_error(&c->t->sc.eng) == BR_ERR_IO && c->eof)))
		return 0;
	return tls_fail(c, err);
}

static int tls_write(struct http_conn *c, const void *buf, size_t n, struct mr_err *err)
{
	if (br_sslio_write_all(&c->t->io, buf, n) < 0 || br_sslio_flush(&c->t->io) < 0)
		return tls_fail(c, err);
	return 0;
}

/* The connection's TLS context and its anchors. */
static void tls_free(struct http_conn *c)
{
	if (c->t) {
		tls_anchors_truncate(&c->t->anchors, 0);
		free(c->t->anchors.ta);
		free(c->t);
		c->t = NULL;
	}
}
#else /* !MINIRUN_WITH_TLS: never reached (http_connect refuses https) */
static int tls_start(struct http_conn *c, struct mr_err *err)
{
	return mr_err_set(err, MR_EDISABLED, "https://%s:%s: built without MINIRUN_WITH_TLS",
			  c->host, c->port);
}

static ssize_t tls_read(struct http_conn *c, void *buf, size_t n, struct mr_err *err)
{
	(void)buf; (void)n;
	return tls_start(c, err);
}

static int tls_write(struct http_conn *c, const void *buf, size_t n, struct mr_err *err)
{
	(void)buf; (void)n;
	return tls_start(c, err);
}

static void tls_free(struct http_conn *c)
{
	(void)c;
}
#endif /* MINIRUN_WITH_TLS */

#endif /* MINIRUN_WITH_PULL */
