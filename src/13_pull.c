/* ==== [13] PULL: registry client, auth, pull ====
 * The distribution API over the HTTP client: manifests by tag or digest (the
 * four OCI and Docker types), an index resolved to the wanted platform with
 * the load code's rules, then config and layers read through the load code's
 * pluggable blob source, so each layer streams from the socket through both
 * hashes into its temporary folder and is checked before the commit. Nothing
 * is stored that was not verified; a kill leaves the store as it was.
 * Auth: the bearer token flow (anonymous, or with the stored credentials) and
 * HTTP basic; tokens are kept per scope and fetched again when one expires.
 * A connection lost in the middle of a blob resumes with a Range request from
 * the byte reached; failed requests are retried with back-off. */

#if MINIRUN_WITH_PULL

#define PULL_TRIES 5                   /* attempts per request or blob */
#define PULL_MAX_REDIRECTS 5

static const char pull_accept[] =
	"Accept: application/vnd.oci.image.index.v1+json, "
	"application/vnd.oci.image.manifest.v1+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json, "
	"application/vnd.docker.distribution.manifest.v2+json\r\n";

/* ---- References, the way Docker parses them ----
 * busybox -> docker.io/library/busybox:latest; a first component with '.' or
 * ':' or "localhost" is a registry host; name@sha256:... pulls by digest. */
struct pull_ref {
	char domain[256];              /* docker.io, ghcr.io, 127.0.0.1:5000 */
	char repo[256];                /* library/busybox */
	char tag[129];                 /* empty when pulling by digest */
	char digest[MR_DIGEST_LEN + 1];
	int default_tag;               /* no tag was given: "latest" */
};

static int pull_repo_valid(const char *s)
{
	const char *p = s;
	if (!*s)
		return 0;
	while (*p) {
		/* component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
			return 0;
		while (*p && *p != '/') {
			if (islower((unsigned char)*p) || isdigit((unsigned char)*p)) {
				p++;
				continue;
			}
			if (*p == '.' || (*p == '_' && p[1] != '_'))
				p++;
			else if (*p == '_')
				p += 2;
			else if (*p == '-')
				while (*p == '-')
					p++;
			else
				return 0;
			if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
				return 0;
		}
		if (*p == '/' && !*++p)
			return 0;
	}
	return 1;
}

static int pull_ref_parse(const char *in, struct pull_ref *r, struct mr_err *err)
{
	char name[512];
	const char *at, *slash, *colon, *rest, *why = "";
	size_t n, i;
	memset(r, 0, sizeof *r);
	if (image_ref_check(in, err) < 0)
		return -1;
	at = strchr(in, '@');
	n = at ? (size_t)(at - in) : strlen(in);
	if (!n || n >= sizeof name)
		goto bad;
	memcpy(name, in, n);
	name[n] = 0;
	if (at) {
		if (mr_digest_valid(at + 1) < 0) {
			why = " (only sha256 digests)";
			goto bad;
		}
		util_scopy(r->digest, sizeof r->digest, at + 1);
	}
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash)) {
		const char *t = colon + 1;
		size_t tl = strlen(t);
		if (!tl || tl > 128 || !(isalnum((unsigned char)*t) || *t == '_'))
			goto bad;
		for (i = 0; i < tl; i++)
			if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
				goto bad;
		if (!at)
			util_scopy(r->tag, sizeof r->tag, t);
		name[colon - name] = 0;
	} else if (!at) {
		util_scopy(r->tag, sizeof r->tag, "latest");
		r->default_tag = 1;
	}
	slash = strchr(name, '/');
	rest = name;
	if (slash && (memchr(name, '.', (size_t)(slash - name)) ||
		      memchr(name, ':', (size_t)(slash - name)) ||
		      !strncmp(name, "localhost/", 10))) {
		util_scopyn(r->domain, sizeof r->domain, name, (size_t)(slash - name));
		rest = slash + 1;
		for (i = 0; r->domain[i]; i++)
			if (!isalnum((unsigned char)r->domain[i]) && !strchr(".-:[]", r->domain[i]))
				goto bad;
	} else {
		util_scopy(r->domain, sizeof r->domain, "docker.io");
	}
	if (!strcmp(r->domain, "index.docker.io"))
		util_scopy(r->domain, sizeof r->domain, "docker.io");
	if (!strcmp(r->domain, "docker.io") && !strchr(rest, '/'))
		snprintf(r->repo, sizeof r->repo, "library/%s", rest);
	else if (util_strlcpy(r->repo, rest, sizeof r->repo) < 0)
		goto bad;
	if (pull_repo_valid(r->repo))
		return 0;
	if (strpbrk(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
		why = " (repository name must be lowercase)";
bad:
	return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %.200s%s", in, why);
}

/* Docker's short form of the repository: busybox, user/app, host:5000/app. */
static void pull_ref_familiar(const struct pull_ref *r, char *out, size_t size)
{
	if (strcmp(r->domain, "docker.io"))
		snprintf(out, size, "%s/%s", r->domain, r->repo);
	else if (util_starts_with(r->repo, "library/") && !strchr(r->repo + 8, '/'))
		util_scopy(out, size, r->repo + 8);
	else
		util_scopy(out, size, r->repo);
}

/* "busybox:latest" or "busybox@sha256:..." (full = 1: with docker.io/). */
static void pull_ref_name(const struct pull_ref *r, int full, char *out, size_t size)
{
	char fam[600];
	if (full)
		snprintf(fam, sizeof fam, "%s/%s", r->domain, r->repo);
	else
		pull_ref_familiar(r, fam, sizeof fam);
	snprintf(out, size, "%s%s%s", fam, r->digest[0] ? "@" : ":", r->digest[0] ? r->digest : r->tag);
}

/* Is host[:port] in a comma-separated list (--insecure-registry and
 * MINIRUN_INSECURE_REGISTRIES)? Plain HTTP is used only for those. */
static int pull_in_list(const char *list, const char *domain)
{
	size_t n = strlen(domain);
	while (list && *list) {
		size_t k = strcspn(list, ", ");
		if (k == n && !strncmp(list, domain, n))
			return 1;
		list += k;
		list += strspn(list, ", ");
	}
	return 0;
}

/* ---- WWW-Authenticate: Bearer realm="...",service="...",scope="..." ---- */
enum { PULL_AUTH_NONE, PULL_AUTH_BASIC, PULL_AUTH_BEARER };

struct pull_challenge {
	int scheme;
	char realm[1024], service[256], scope[512];
};

static int pull_parse_challenge(const char *h, struct pull_challenge *ch)
{
	const char *p = h;
	size_t n;
	memset(ch, 0, sizeof *ch);
	while (*p == ' ')
		p++;
	n = strcspn(p, " ");
	if (n == 6 && !strncasecmp(p, "bearer", 6))
		ch->scheme = PULL_AUTH_BEARER;
	else if (n == 5 && !strncasecmp(p, "basic", 5))
		ch->scheme = PULL_AUTH_BASIC;
	else
		return -1;
	p += n;
	for (;;) {
		char key[32], val[1024];
		size_t k = 0, v = 0;
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (*p && *p != '=' && *p != ',' && *p != ' ') {
			if (k + 1 < sizeof key)
				key[k++] = (char)tolower((unsigned char)*p);
			p++;
		}
		key[k] = 0;
		if (*p != '=')
			continue;  /* a bare token (token68): nothing we use */
		p++;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (v + 1 >= sizeof val)
					return -1;
				val[v++] = *p;
			}
			if (*p != '"')
				return -1;
			p++;
		} else {
			for (; *p && *p != ',' && *p != ' '; p++) {
				if (v + 1 >= sizeof val)
					return -1;
				val[v++] = *p;
			}
		}
		val[v] = 0;
		if (!strcmp(key, "realm") && util_strlcpy(ch->realm, val, sizeof ch->realm) < 0)
			return -1;
		if (!strcmp(key, "service") && util_strlcpy(ch->service, val, sizeof ch->service) < 0)
			return -1;
		if (!strcmp(key, "scope") && util_strlcpy(ch->scope, val, sizeof ch->scope) < 0)
			return -1;
	}
	return ch->scheme == PULL_AUTH_BEARER && !ch->realm[0] ? -1 : 0;
}

/* Append s percent-encoded (RFC 3986 unreserved characters kept). */
static void pull_urlenc(struct mr_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~", c))
			mr_buf_append(b, s, 1);
		else
			mr_buf_printf(b, "%%%02X", c);
	}
}

/* ---- Credentials: Docker's config.json shape, {"auths": {KEY: {"auth":
 * base64("user:password")}}}, in a file only root reads (0600). ---- */

static const char *pull_auth_file(void)
{
	const char *p = getenv("MINIRUN_AUTH_FILE");
	return p && *p ? p : MINIRUN_DEFAULT_CONF "/auth.json";
}

/* The key Docker uses: Docker Hub's historical URL, else host[:port]. */
static const char *pull_auth_key(const char *domain)
{
	return strcmp(domain, "docker.io") ? domain : "https://index.docker.io/v1/";
}

/* Does a config.json key name this registry? Keys may carry a scheme and a
 * path ("https://index.docker.io/v1/", "https://host:5000"). */
static int pull_auth_key_matches(const char *key, const char *domain)
{
	size_t n;
	if (util_starts_with(key, "https://"))
		key += 8;
	else if (util_starts_with(key, "http://"))
		key += 7;
	n = strcspn(key, "/");
	if (!strcmp(domain, "docker.io"))
		return (n == 15 && !strncmp(key, "index.docker.io", 15)) ||
		       (n == 9 && !strncmp(key, "docker.io", 9)) ||
		       (n == 20 && !strncmp(key, "registry-1.docker.io", 20));
	return n == strlen(domain) && !strncmp(key, domain, n);
}

/* The first member of config.json's "auths" object (NULL if none). */
static const struct mr_json *pull_auths(const struct mr_json_doc *doc)
{
	const struct mr_json *a = mr_json_get(doc->root, "auths");
	return a && a->type == MR_JSON_OBJECT ? a->child : NULL;
}

/* The stored "auth" for a registry (malloc'd), or NULL. A file that cannot
 * be read or parsed is an error: pulling anonymously instead would hide it. */
static int pull_creds_get(const char *domain, char **out, struct mr_err *err)
{
	struct mr_buf buf = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *a;
	const char *path = pull_auth_file();
	*out = NULL;
	if (mr_read_file(AT_FDCWD, path, &buf, 1u << 20, err) < 0) {
		mr_buf_free(&buf);
		return err->code == ENOENT ? 0 : -1;
	}
	if (mr_json_parse(&doc, buf.data, buf.len, err) < 0) {
		mr_buf_free(&buf);
		return mr_err_ctx(err, "%s", path);
	}
	for (a = pull_auths(&doc); a; a = a->next) {
		const char *auth = json_get_str(a, "auth");
		if (auth && *auth && pull_auth_key_matches(a->key, domain)) {
			*out = util_xstrdup(auth);
			break;
		}
	}
	mr_json_free(&doc);
	mr_buf_free(&buf);
	return 0;
}

/* Store (auth != NULL) or remove the credentials of a registry, keeping
 * everything else in the file; written atomically, mode 0600. *found says
 * whether the registry had credentials before. */
static int pull_creds_set(const char *domain, const char *auth, int *found, struct mr_err *err)
{
	struct mr_buf buf = { 0 }, out = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *m, *a;
	struct mr_jw w;
	char dir[MINIRUN_MAX_PATH];
	const char *path = pull_auth_file(), *base;
	int dfd = -1, rc = -1;
	*found = 0;
	if (mr_read_file(AT_FDCWD, path, &buf, 1u << 20, err) < 0) {
		if (err->code != ENOENT)
			goto out;
	} else if (mr_json_parse(&doc, buf.data, buf.len, err) < 0) {
		mr_err_ctx(err, "%s", path);
		goto out;
	}
	mr_jw_init(&w, &out, 1);
	mr_jw_obj(&w);
	json_kobj(&w, "auths");
	for (a = pull_auths(&doc); a; a = a->next) {
		if (pull_auth_key_matches(a->key, domain)) {
			*found = 1;
			continue;
		}
		mr_jw_key(&w, a->key);
		mr_jw_value(&w, a);
	}
	if (auth) {
		json_kobj(&w, pull_auth_key(domain));
		json_kstr(&w, "auth", auth);
		mr_jw_obj_end(&w);
	}
	mr_jw_obj_end(&w);
	for (m = doc.root && doc.root->type == MR_JSON_OBJECT ? doc.root->child : NULL; m; m = m->next)
		if (strcmp(m->key, "auths")) {
			mr_jw_key(&w, m->key);
			mr_jw_value(&w, m);
		}
	mr_jw_obj_end(&w);
	mr_buf_append(&out, "\n", 1);
	if (!auth && !*found) {
		rc = 0;
		goto out;
	}
	util_scopy(dir, sizeof dir, path);
	base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : path;
	if (strrchr(dir, '/')) {
		*strrchr(dir, '/') = 0;
		if (!dir[0])
			util_scopy(dir, sizeof dir, "/");
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			mr_err_sys(err, "%s", dir);
			goto out;
		}
	} else {
		util_scopy(dir, sizeof dir, ".");
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		mr_err_sys(err, "%s", dir);
		goto out;
	}
	rc = mr_write_atomic(dfd, base, out.data, out.len, 0600, err);
	if (rc < 0)
		mr_err_ctx(err, "%s", path);
out:
	util_close(dfd);
	mr_json_free(&doc);
	mr_buf_free(&buf);
	mr_buf_free(&out);
	return rc;
}

/* ---- The registry client ---- */
struct pull_desc {
	char digest[MR_DIGEST_LEN + 1];
	uint64_t size;
	int layer;
	int fetched;                   /* downloaded by this pull (not in the store) */
};

struct pull {
	/* the most used small fields first (one-byte offsets in x86-64 code),
	 * then ref, whose domain is still below 128, the big members after */
	struct mr_store *st;
	struct pull_desc *cur;         /* the blob being read */
	FILE *out;                     /* progress: stdout for pull, stderr for run */
	char *basic;                   /* stored "auth" (base64 of user:password) */
	struct pull_desc *descs;       /* config and layers of the manifest being pulled */
	uint64_t got;                  /* the blob being read */
	uint64_t rate, rated;          /* --limit-rate (bytes/s, 0: none); bytes so far */
	char *scope, *token;           /* the bearer token and the scope it is for */
	size_t ndescs;
	size_t mpos;                   /* in mbuf */
	int quiet, tty;
	int tries;                     /* the blob being read */
	int use_basic;                 /* the registry asked for basic auth */
	int login;                     /* `login`: tokens without a repository scope */
	struct pull_ref ref;
	struct http_url reg;           /* scheme, host and port of the registry */
	struct http_conn conn;
	struct http_resp resp;
	struct http_body body;
	const char *insecure;          /* --insecure-registry list */
	struct image_load ld;
	double rate_t0;                /* when the first limited byte came */
	/* The blob being read */
	struct stream s;
	char path[96];
	size_t nblobs_before;
	double shown;
	/* A manifest read by digest while resolving an index */
	struct mr_buf mbuf;
};

static int pull_retryable(const struct mr_err *err)
{
	switch (err->code) {
	case ECONNRESET: case ECONNREFUSED: case ECONNABORTED: case ETIMEDOUT: case EPIPE:
	case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN: case EAGAIN: case EIO:
		return 1;
	}
	return 0;
}

/* 1, 2, 4, 8 seconds between attempts. */
static void pull_backoff(struct pull *p, int attempt)
{
	struct timespec ts = { 1L << (attempt > 4 ? 3 : attempt - 1), 0 };
	http_close(&p->conn);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

/* The registry's error list ({"errors":[{"code","message"}]}) as Docker
 * shows it: "manifest unknown: manifest unknown". */
static void pull_registry_message(const struct mr_buf *body, char *out, size_t size)
{
	struct mr_json_doc doc = { 0 };
	struct mr_err ignored;
	const struct mr_json *e;
	out[0] = 0;
	if (!body->len || mr_json_parse(&doc, body->data, body->len, &ignored) < 0)
		return;
	e = mr_json_at(mr_json_get(doc.root, "errors"), 0);
	if (json_get_str(e, "code")) {
		char code[64];
		size_t i;
		util_scopy(code, sizeof code, json_get_str(e, "code"));
		for (i = 0; code[i]; i++)
			code[i] = code[i] == '_' ? ' ' : (char)tolower((unsigned char)code[i]);
		snprintf(out, size, "%s: %.200s", code,
			 json_get_str(e, "message") ?: "");
	} else if (json_get_str(doc.root, "details")) {  /* token servers */
		snprintf(out, size, "%.200s", json_get_str(doc.root, "details"));
	}
	mr_json_free(&doc);
}

/* An unexpected status as an error: 404 -> MR_ENOTFOUND, 429 and 5xx ->
 * EAGAIN (retried), 401/403 -> EACCES. */
static int pull_status_error(struct pull *p, const struct http_url *u, struct mr_err *err)
{
	struct mr_buf body = { 0 };
	struct mr_err ignored;
	char msg[300];
	int st = p->resp.status;
	int code = st == 404 ? MR_ENOTFOUND : st == 429 || st >= 500 ? EAGAIN :
		   st == 401 || st == 403 ? EACCES : MR_EINVAL_INPUT;
	http_body_slurp(&p->body, &body, 16u << 10, &ignored);
	pull_registry_message(&body, msg, sizeof msg);
	mr_buf_free(&body);
	if (msg[0])
		return mr_err_set(err, code, "%s", msg);
	return mr_err_set(err, code, "%s:%s: unexpected HTTP status %d", u->host, u->port, st);
}

static int pull_same_origin(const struct http_url *a, const struct http_url *b)
{
	return a->tls == b->tls && !strcmp(a->host, b->host) && !strcmp(a->port, b->port);
}

/* The "user" part of the stored credentials (the token server's account). */
static void pull_basic_user(const char *basic, char *user, size_t size)
{
	size_t n;
	user[0] = 0;
	if (basic && http_b64_decode(basic, user, size, &n) == 0)
		user[strcspn(user, ":")] = 0;
	else
		user[0] = 0;
}

/* Fetch a bearer token from the challenge's realm for its scope (or ours),
 * with the stored credentials when there are any. */
static int pull_get_token(struct pull *p, const struct pull_challenge *ch, struct mr_err *err)
{
	struct mr_buf url = { 0 }, hdr = { 0 }, body = { 0 };
	struct mr_json_doc doc = { 0 };
	struct http_url u;
	char scope[512], user[256];
	const char *tok, *sc;
	int rc = -1;
	if (ch->scope[0])
		util_scopy(scope, sizeof scope, ch->scope);
	else if (!p->login)
		snprintf(scope, sizeof scope, "repository:%s:pull", p->ref.repo);
	else
		scope[0] = 0;
	mr_buf_printf(&url, "%s%c", ch->realm, strchr(ch->realm, '?') ? '&' : '?');
	if (ch->service[0]) {
		mr_buf_printf(&url, "service=");
		pull_urlenc(&url, ch->service);
	}
	/* Several scopes are separated by spaces: one parameter each. */
	for (sc = scope; *sc; sc += strspn(sc, " ")) {
		char one[512];
		size_t n = strcspn(sc, " ");
		util_scopyn(one, sizeof one, sc, n);
		mr_buf_printf(&url, "&scope=");
		pull_urlenc(&url, one);
		sc += n;
	}
	pull_basic_user(p->basic, user, sizeof user);
	if (user[0]) {
		mr_buf_printf(&url, "&account=");
		pull_urlenc(&url, user);
		mr_buf_printf(&hdr, "Authorization: Basic %s\r\n", p->basic);
	}
	if (http_url_parse(url.data, &u, err) < 0)
		goto out;
	if (!u.tls && !pull_same_origin(&u, &p->reg)) {
		/* Credentials and tokens in clear only to a host listed as insecure. */
		char hp[280];
		snprintf(hp, sizeof hp, "%s:%s", u.host, u.port);
		if (!pull_in_list(p->insecure, hp) &&
		    !pull_in_list(getenv("MINIRUN_INSECURE_REGISTRIES"), hp)) {
			mr_err_set(err, EACCES, "token server %s: plain HTTP refused (not an "
				   "insecure registry)", hp);
			goto out;
		}
	}
	if (http_request(&p->conn, "GET", &u, hdr.len ? hdr.data : "", &p->resp, &p->body, err) < 0)
		goto out;
	if (p->resp.status != 200) {
		int st = p->resp.status;
		pull_status_error(p, &u, err);
		if (st == 401 || st == 403)
			mr_err_set(err, EACCES, "unauthorized: %s", user[0] ?
				   "incorrect username or password" : "authentication required");
		goto out;
	}
	if (http_body_slurp(&p->body, &body, 64u << 10, err) < 0 ||
	    mr_json_parse(&doc, body.data, body.len, err) < 0)
		goto out;
	tok = json_get_str(doc.root, "token");
	if (!tok || !*tok)
		tok = json_get_str(doc.root, "access_token");
	if (!tok || !*tok || strpbrk(tok, "\r\n")) {
		mr_err_set(err, MR_EINVAL_INPUT, "token server %s: no token in the answer", u.host);
		goto out;
	}
	free(p->token);
	free(p->scope);
	p->token = util_xstrdup(tok);
	p->scope = util_xstrdup(scope);
	rc = 0;
out:
	if (rc < 0)
		mr_err_ctx(err, "get token from %s", ch->realm);
	mr_json_free(&doc);
	mr_buf_free(&body);
	mr_buf_free(&url);
	mr_buf_free(&hdr);
	return rc;
}

/* A 401 from the registry: answer its challenge (once per request). */
static int pull_authorize(struct pull *p, const char *header, int sent, struct mr_err *err)
{
	struct pull_challenge ch;
	if (!header[0] || pull_parse_challenge(header, &ch) < 0)
		return mr_err_set(err, EACCES, "%s: unauthorized, with no usable WWW-Authenticate "
				  "challenge", p->ref.domain);
	if (ch.scheme == PULL_AUTH_BASIC) {
		if (!p->basic)
			return mr_err_set(err, EACCES, "%s: no basic auth credentials (minirun login %s)",
					  p->ref.domain, p->ref.domain);
		if (sent)
			return mr_err_set(err, EACCES, "%s: unauthorized: incorrect username or password",
					  p->ref.domain);
		p->use_basic = 1;
		return 0;
	}
	return pull_get_token(p, &ch, err);
}

/* One GET to the registry (path under /v2/<repo>/, or "/v2/" itself when
 * path is NULL): credentials for the registry only, redirects followed
 * without them, a 401 answered once. On success the response is 200 or 206
 * and p->body is ready. */
static int pull_open_once(struct pull *p, const char *path, const char *accept, uint64_t from,
			  struct mr_err *err)
{
	struct http_url u = p->reg;
	struct mr_buf hdr = { 0 };
	int redirects = 0, authed = 0, rc = -1;
	if (path)
		snprintf(u.path, sizeof u.path, "/v2/%s/%s", p->ref.repo, path);
	else
		util_scopy(u.path, sizeof u.path, "/v2/");
	for (;;) {
		int to_reg = pull_same_origin(&u, &p->reg), sent = 0, st;
		hdr.len = 0;
		mr_buf_append(&hdr, NULL, 0);
		if (accept)
			mr_buf_printf(&hdr, "%s", accept);
		if (from)
			mr_buf_printf(&hdr, "Range: bytes=%" PRIu64 "-\r\n", from);
		if (to_reg && p->use_basic && p->basic)
			mr_buf_printf(&hdr, "Authorization: Basic %s\r\n", p->basic), sent = 1;
		else if (to_reg && p->token)
			mr_buf_printf(&hdr, "Authorization: Bearer %s\r\n", p->token), sent = 1;
		if (http_request(&p->conn, "GET", &u, hdr.data, &p->resp, &p->body, err) < 0)
			goto out;
		st = p->resp.status;
		if (st == 200 || st == 206) {
			rc = 0;
			goto out;
		}
		if ((st == 301 || st == 302 || st == 303 || st == 307 || st == 308) &&
		    p->resp.location[0]) {
			struct http_url next;
			struct mr_buf drop = { 0 };
			struct mr_err ignored;
			http_body_slurp(&p->body, &drop, 64u << 10, &ignored);
			mr_buf_free(&drop);
			if (++redirects > PULL_MAX_REDIRECTS) {
				mr_err_set(err, MR_EINVAL_INPUT, "%s: too many redirects", u.host);
				goto out;
			}
			if (http_url_resolve(&u, p->resp.location, &next, err) < 0)
				goto out;
			if (u.tls && !next.tls) {
				mr_err_set(err, EACCES, "%s: redirect from https to plain HTTP refused "
					   "(%s)", u.host, next.host);
				goto out;
			}
			u = next;
			continue;
		}
		if (st == 401 && to_reg && !authed++) {
			char challenge[sizeof p->resp.auth];
			struct mr_buf drop = { 0 };
			struct mr_err ignored;
			util_scopy(challenge, sizeof challenge, p->resp.auth);
			http_body_slurp(&p->body, &drop, 64u << 10, &ignored);
			mr_buf_free(&drop);
			if (pull_authorize(p, challenge, sent, err) < 0)
				goto out;
			continue;
		}
		pull_status_error(p, &u, err);
		goto out;
	}
out:
	mr_buf_free(&hdr);
	return rc;
}

static int pull_open(struct pull *p, const char *path, const char *accept, struct mr_err *err)
{
	int attempt;
	for (attempt = 1;; attempt++) {
		if (pull_open_once(p, path, accept, 0, err) == 0)
			return 0;
		if (attempt >= PULL_TRIES || !pull_retryable(err))
			return -1;
		pull_backoff(p, attempt);
	}
}

/* A manifest or index (by tag or digest) into out, retried as a whole. */
static int pull_get_manifest(struct pull *p, const char *ref, struct mr_buf *out, struct mr_err *err)
{
	char path[200], fam[600];
	int attempt;
	snprintf(path, sizeof path, "manifests/%s", ref);
	for (attempt = 1;; attempt++) {
		out->len = 0;
		if (pull_open_once(p, path, pull_accept, 0, err) == 0 &&
		    http_body_slurp(&p->body, out, MINIRUN_MAX_JSON, err) == 0)
			return 0;
		if (attempt >= PULL_TRIES || !pull_retryable(err))
			break;
		pull_backoff(p, attempt);
	}
	pull_ref_familiar(&p->ref, fam, sizeof fam);
	if (err->code == MR_ENOTFOUND) {
		char msg[sizeof err->msg];
		util_scopy(msg, sizeof msg, err->msg);
		mr_err_set(err, MR_ENOTFOUND, "manifest for %s%s%s not found: %s", fam,
			   strchr(ref, ':') ? "@" : ":", ref, msg);
	} else if (err->code == EACCES && !p->login && !strstr(err->msg, "no basic auth")) {
		mr_err_ctx(err, "pull access denied for %s, repository does not exist or may require "
			   "'minirun login'", fam);
	}
	return -1;
}

/* ---- Blobs: the load code's pluggable source ---- */

static void pull_meter(struct pull *p, int force)
{
	double now = image_now();
	char got[32], size[32];
	if (!p->tty || p->quiet || !p->cur || !p->cur->layer || (!force && now - p->shown < 0.1))
		return;
	p->shown = now;
	util_human_size(p->got, got, sizeof got);
	util_human_size(p->cur->size, size, sizeof size);
	fprintf(p->out, "\r\033[K%.12s: Downloading  %s/%s", digest_hex(p->cur->digest), got, size);
	fflush(p->out);
}

static void pull_say(struct pull *p, const char *digest, const char *what)
{
	if (p->quiet)
		return;
	fprintf(p->out, "%s%.12s: %s\n", p->tty ? "\r\033[K" : "", digest_hex(digest), what);
	fflush(p->out);
}

/* Start (or resume, from p->got) the current blob. A server that ignores
 * the Range answers 200: the bytes already passed on are skipped. */
static int pull_blob_start(struct pull *p, struct mr_err *err)
{
	uint64_t start = 0;
	if (pull_open_once(p, p->path, NULL, p->got, err) < 0)
		return -1;
	if (p->resp.status == 206) {
		const char *r = p->resp.range;
		uint64_t v = 0;
		if (strncmp(r, "bytes ", 6))
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: 206 without a Content-Range", p->conn.host);
		for (r += 6; *r >= '0' && *r <= '9' && v < UINT64_MAX / 10; r++)
			v = v * 10 + (uint64_t)(*r - '0');
		if (v != p->got || *r != '-')
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: resumed at the wrong offset (%s)",
					  p->conn.host, p->resp.range);
		return 0;
	}
	while (start < p->got) {
		char buf[16384];
		uint64_t want = p->got - start;
		ssize_t r = http_body_read(&p->body.s, buf, want < sizeof buf ? (size_t)want : sizeof buf, err);
		if (r <= 0)
			return r < 0 ? -1 : mr_err_set(err, ECONNRESET, "%s: blob shorter on retry",
						       p->conn.host);
		start += (uint64_t)r;
	}
	return 0;
}

/* --limit-rate: sleep while the bytes read so far are ahead of rate x time
 * (the socket's buffers then fill and TCP slows the sender down: a device on
 * a thin link keeps the rest of it). Over the whole pull, retries included. */
static void pull_pace(struct pull *p, uint64_t got)
{
	double now = image_now(), due;
	if (!p->rate)
		return;
	if (!p->rated)
		p->rate_t0 = now;
	p->rated += got;
	due = p->rate_t0 + (double)p->rated / (double)p->rate;
	if (due > now) {
		struct timespec t;
		t.tv_sec = (time_t)(due - now);
		t.tv_nsec = (long)((due - now - (double)t.tv_sec) * 1e9);
		while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
	}
}

static ssize_t pull_blob_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct pull *p = (struct pull *)(void *)((char *)s - offsetof(struct pull, s));
	for (;;) {
		uint64_t left = p->cur->size - p->got;
		ssize_t r;
		if (!left)
			return 0;  /* never more than the descriptor says */
		if (p->rate && n > p->rate / 8 + 1)
			n = (size_t)(p->rate / 8 + 1);   /* short reads: an even pace */
		r = http_body_read(&p->body.s, buf, n < left ? n : (size_t)left, err);
		if (r == 0)
			r = mr_err_set(err, ECONNRESET, "%s: blob ended after %" PRIu64 " of %" PRIu64
				       " bytes", p->conn.host, p->got, p->cur->size);
		if (r > 0) {
			p->got += (uint64_t)r;
			pull_pace(p, (uint64_t)r);
			pull_meter(p, 0);
			return r;
		}
		for (;;) {
			if (!pull_retryable(err) || ++p->tries >= PULL_TRIES)
				return mr_err_ctx(err, "blob %.19s", p->cur->digest);
			if (p->cur->layer && !p->quiet) {
				char msg[64];
				snprintf(msg, sizeof msg, "Retrying in %d second%s", 1 << (p->tries - 1),
					 p->tries > 1 ? "s" : "");
				pull_say(p, p->cur->digest, msg);
			}
			pull_backoff(p, p->tries);
			if (pull_blob_start(p, err) == 0)
				break;
		}
	}
}

/* A manifest fetched while resolving a (nested) index, as a stream. */
static ssize_t pull_mem_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct pull *p = (struct pull *)(void *)((char *)s - offsetof(struct pull, s));
	size_t k = p->mbuf.len - p->mpos < n ? p->mbuf.len - p->mpos : n;
	(void)err;
	memcpy(buf, p->mbuf.data + p->mpos, k);
	p->mpos += k;
	return (ssize_t)k;
}

static struct pull_desc *pull_desc_find(struct pull *p, const char *digest)
{
	size_t i;
	for (i = 0; i < p->ndescs; i++)
		if (!strcmp(p->descs[i].digest, digest))
			return &p->descs[i];
	return NULL;
}

static int pull_open_blob(struct image_load *ld, const char *digest, struct stream **in,
			  uint64_t *size, struct mr_err *err)
{
	struct pull *p = ld->source_ctx;
	p->cur = pull_desc_find(p, digest);
	p->nblobs_before = ld->nblobs;
	if (!p->cur) {
		/* Not a config or layer: a manifest or index an index points to. */
		if (pull_get_manifest(p, digest, &p->mbuf, err) < 0)
			return -1;
		p->mpos = 0;
		p->s.read = pull_mem_read;
		*in = &p->s;
		*size = p->mbuf.len;
		return 0;
	}
	snprintf(p->path, sizeof p->path, "blobs/%s", digest);
	p->got = 0;
	p->tries = 0;
	p->shown = image_now();
	for (;;) {
		if (pull_blob_start(p, err) == 0)
			break;
		if (!pull_retryable(err) || ++p->tries >= PULL_TRIES)
			return mr_err_ctx(err, "blob %.19s", digest);
		pull_backoff(p, p->tries);
	}
	p->s.read = pull_blob_read;
	*in = &p->s;
	*size = p->cur->size;
	return 0;
}

static void pull_close_blob(struct image_load *ld)
{
	struct pull *p = ld->source_ctx;
	struct image_blob *b = ld->nblobs > p->nblobs_before ? ld->blobs[ld->nblobs - 1] : NULL;
	if (!p->cur)
		return;
	http_body_end(&p->body);
	if (p->cur->layer && b && !b->failure && !strcmp(b->digest, p->cur->digest)) {
		pull_say(p, p->cur->digest, "Verifying Checksum");
		pull_say(p, p->cur->digest, "Download complete");
		p->cur->fetched = 1;
	}
	p->cur = NULL;
}

/* ---- Pulling one image ---- */

/* Register a manifest read from the registry as a blob of the load; pulled
 * by digest, its content must hash to it. */
static struct image_blob *pull_add_manifest(struct pull *p, struct mr_buf *body, const char *want,
					    struct mr_err *err)
{
	char digest[MR_DIGEST_LEN + 1], path[96];
	struct image_blob *b;
	mr_digest_buf(body->data, body->len, digest);
	if (want && strcmp(digest, want)) {
		mr_err_set(err, MR_EVERIFY, "manifest %s: digest mismatch (content is %s)", want, digest);
		return NULL;
	}
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(digest));
	b = image_blob_by_path(&p->ld, path);
	if (b)
		return b;
	b = image_blob_new(&p->ld, path, err);
	if (!b)
		return NULL;
	b->data = *body;
	memset(body, 0, sizeof *body);
	util_scopy(b->digest, sizeof b->digest, digest);
	b->bytes = b->data.len;
	p->ld.meta_bytes += b->data.len;
	return b;
}

static const char *pull_media_type(const struct mr_json *root)
{
	const char *mt = json_get_str(root, "mediaType");
	const struct mr_json *v = mr_json_get(root, "schemaVersion");
	if (v && v->type == MR_JSON_NUMBER && v->num == 1)
		return "application/vnd.docker.distribution.manifest.v1+json (schema 1)";
	if (mt)
		return mt;
	if (mr_json_get(root, "manifests"))
		return "application/vnd.oci.image.index.v1+json";
	return "application/vnd.oci.image.manifest.v1+json";
}

/* One descriptor (config or layer) of the manifest, for open_blob. */
static int pull_add_desc(struct pull *p, const struct mr_json *desc, int layer, struct mr_err *err)
{
	const char *d = image_desc_digest(desc, "manifest descriptor", err);
	const struct mr_json *size = mr_json_get(desc, "size");
	struct pull_desc *dd = &p->descs[p->ndescs];
	if (!d)
		return -1;
	if (!size || size->type != MR_JSON_NUMBER || size->num < 0 || size->num > 1e15)
		return mr_err_set(err, MR_EINVAL_INPUT, "manifest: descriptor %.19s without a valid "
				  "size", d);
	util_scopy(dd->digest, sizeof dd->digest, d);
	dd->size = (uint64_t)size->num;
	dd->layer = layer;
	p->ndescs++;
	return 0;
}

/* The config and layer descriptors of a manifest (descs[0] is the config). */
static int pull_read_descs(struct pull *p, const struct mr_json *root, struct mr_err *err)
{
	const struct mr_json *layers = mr_json_get(root, "layers"), *l;
	if (!layers || layers->type != MR_JSON_ARRAY || layers->count > MINIRUN_MAX_LAYERS)
		return mr_err_set(err, MR_EINVAL_INPUT, "manifest: no layer list (or more than %d "
				  "layers)", MINIRUN_MAX_LAYERS);
	p->descs = util_xcalloc(layers->count + 1, sizeof *p->descs);
	if (pull_add_desc(p, mr_json_get(root, "config"), 0, err) < 0)
		return -1;
	for (l = layers->child; l; l = l->next)
		if (pull_add_desc(p, l, 1, err) < 0)
			return -1;
	return 0;
}

/* The config from the store when an image there has it (a second pull of
 * the same image downloads nothing but its manifest). */
static void pull_config_from_store(struct pull *p, const char *digest, struct image_db *db)
{
	struct mr_buf data = { 0 };
	struct mr_err ignored;
	struct image_blob *b;
	char path[96], d[MR_DIGEST_LEN + 1];
	if (!image_db_by_id(db, digest))
		return;
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(digest));
	if (mr_read_file(p->st->rootfd, path, &data, MINIRUN_MAX_JSON, &ignored) < 0) {
		mr_buf_free(&data);
		return;
	}
	mr_digest_buf(data.data, data.len, d);
	if (strcmp(d, digest) || !(b = image_blob_new(&p->ld, path, &ignored))) {
		mr_buf_free(&data);
		return;
	}
	b->data = data;
	util_scopy(b->digest, sizeof b->digest, d);
	b->bytes = data.len;
}

/* Is layer i (by the config's diff_ids) in the store? As image_stored_layer decides. */
static int pull_layer_stored(struct pull *p, const struct mr_json *diff_ids, size_t i)
{
	const char *id = mr_json_str(mr_json_at(diff_ids, i));
	uint64_t size;
	if (!id || mr_digest_valid(id) < 0 || !p->ld.stored ||
	    image_db_layer_size(p->ld.stored, digest_hex(id), &size) < 0)
		return 0;
	return image_layer_ok(p->st, digest_hex(id));
}

/* Fetch the config (unless stored) and say, per layer, whether it is
 * already there or will be pulled. */
static int pull_announce(struct pull *p, struct mr_err *err)
{
	struct mr_json_doc cfg = { 0 };
	const struct mr_json *ids;
	struct image_blob *b;
	size_t i, stored = 0, nl = p->ndescs - 1;
	pull_config_from_store(p, p->descs[0].digest, p->ld.stored);
	b = image_blob_by_digest(&p->ld, p->descs[0].digest, 0, err);
	if (!b || image_blob_json(b, &cfg, err) < 0)
		return -1;
	ids = mr_json_get(mr_json_get(cfg.root, "rootfs"), "diff_ids");
	for (i = 0; i < nl; i++)
		stored += (size_t)pull_layer_stored(p, ids, i);
	/* A complete image says nothing per layer (as Docker). */
	for (i = 0; i < nl && stored < nl; i++)
		pull_say(p, p->descs[i + 1].digest,
			 pull_layer_stored(p, ids, i) ? "Already exists" : "Pulling fs layer");
	mr_json_free(&cfg);
	return 0;
}

/* Has the tag (or, by digest, the store) already got this image? Docker's
 * "Image is up to date" against "Downloaded newer image". */
static int pull_up_to_date(struct pull *p, const struct image_found *f, const char *name)
{
	struct image_db db;
	struct mr_err ignored;
	size_t i;
	int same = 0;
	if (image_db_read(p->st, &db, &ignored) < 0)
		return 0;
	for (i = 0; i < db.nrecs && p->ref.digest[0]; i++)
		same |= !strcmp(db.recs[i].id, f->config->digest) &&
			!strcmp(db.recs[i].manifest, f->manifest->digest);
	for (i = 0; i < db.ntags && !p->ref.digest[0]; i++)
		same |= !strcmp(db.tags[i].name, name) && !strcmp(db.tags[i].id, f->config->digest);
	image_db_free(&db);
	return same;
}

/* How image_pull is called: `pull` prints on stdout and ends with the full
 * name; `run` (a missing image) wants the progress on stderr, as Docker. */
struct pull_opts {
	const char *platform;          /* "os/arch[/variant]"; NULL: the host's */
	const char *insecure;          /* host:port list allowed over plain HTTP */
	const char *ca_file;           /* --ca-file (NULL: $MINIRUN_CA_FILE or the system's) */
	int quiet;                     /* no progress (with print_name: only the name) */
	int print_name;                /* end with "docker.io/library/busybox:latest" */
	FILE *out;                     /* progress; NULL: stdout */
	uint64_t rate;                 /* download limit, bytes/s (0: none) */
};

static void pull_free(struct pull *p)
{
	http_close(&p->conn);
	tls_free(&p->conn);
	free(p->basic);
	free(p->scope);
	free(p->token);
	free(p->descs);
	mr_buf_free(&p->mbuf);
}

/* Where the registry is: Docker Hub's API host, https unless listed as
 * insecure. */
static int pull_setup(struct pull *p, const char *insecure, const char *ca_file,
		      struct mr_err *err)
{
	char url[300];
	const char *t = getenv("MINIRUN_PULL_TIMEOUT");
	uint64_t secs = 30;
	int plain = pull_in_list(insecure, p->ref.domain) ||
		    pull_in_list(getenv("MINIRUN_INSECURE_REGISTRIES"), p->ref.domain);
	p->insecure = insecure;
	if (t && *t && (util_parse_u64(t, &secs) < 0 || !secs || secs > 3600))
		return mr_err_set(err, MR_EINVAL_INPUT, "MINIRUN_PULL_TIMEOUT=%s: expected seconds", t);
	p->conn.fd = -1;
	p->conn.timeout = (int)secs;
	p->conn.ca_file = ca_file;
	snprintf(url, sizeof url, "%s://%s/", plain ? "http" : "https",
		 strcmp(p->ref.domain, "docker.io") ? p->ref.domain : "registry-1.docker.io");
	if (http_url_parse(url, &p->reg, err) < 0)
		return -1;
	return pull_creds_get(p->ref.domain, &p->basic, err);
}

/* The manifest for the reference (an index resolved to the platform's). */
static struct image_blob *pull_resolve(struct pull *p, char *top_digest, struct mr_err *err)
{
	struct mr_buf body = { 0 };
	struct mr_json_doc doc = { 0 };
	struct image_blob *b;
	char digest[MR_DIGEST_LEN + 1];
	const char *mt;
	if (pull_get_manifest(p, p->ref.digest[0] ? p->ref.digest : p->ref.tag, &body, err) < 0)
		return NULL;
	b = pull_add_manifest(p, &body, p->ref.digest[0] ? p->ref.digest : NULL, err);
	mr_buf_free(&body);
	if (!b || image_blob_json(b, &doc, err) < 0)
		return NULL;
	util_scopy(top_digest, MR_DIGEST_LEN + 1, b->digest);
	mt = pull_media_type(doc.root);
	if (image_is_index_type(mt)) {
		int rc = image_pick_from_index(&p->ld, mr_json_get(doc.root, "manifests"), digest, 0, err);
		mr_json_free(&doc);
		if (rc < 0 || pull_get_manifest(p, digest, &body, err) < 0)
			return NULL;
		b = pull_add_manifest(p, &body, digest, err);
		mr_buf_free(&body);
		if (!b || image_blob_json(b, &doc, err) < 0)
			return NULL;
		mt = pull_media_type(doc.root);
	}
	if (!image_is_manifest_type(mt)) {
		mr_err_set(err, MR_EINVAL_INPUT, "unsupported manifest type %.100s", mt);
		b = NULL;
	} else if (pull_read_descs(p, doc.root, err) < 0) {
		b = NULL;
	}
	mr_json_free(&doc);
	return b;
}

/* Pull REF (Docker's reference syntax) into the store, printing Docker's
 * progress lines to o->out. o may be NULL: the host's platform, progress on
 * stdout. What `run` calls for an image that is not in the store. */
static int image_pull(struct mr_store *st, const char *ref, const struct pull_opts *o,
		      struct mr_err *err)
{
	static const struct pull_opts none;
	struct pull *p = util_xcalloc(1, sizeof *p);
	struct image_db stored = { 0 };
	struct image_found found;
	struct image_blob *m;
	char top[MR_DIGEST_LEN + 1], name[600], full[600];
	size_t i;
	int rc = -1, fresh;
	if (!o)
		o = &none;
	memset(&found, 0, sizeof found);
	p->st = st;
	p->quiet = o->quiet;
	p->rate = o->rate;
	p->out = o->out ? o->out : stdout;
	p->tty = isatty(fileno(p->out));
	p->ld.st = st;
	p->ld.dirfd = -1;
	p->ld.source = ref;
	p->ld.quiet = 1;  /* the load code's own lines; ours are Docker's */
	p->ld.open_blob = pull_open_blob;
	p->ld.close_blob = pull_close_blob;
	p->ld.source_ctx = p;
	p->conn.fd = -1;
	if (pull_ref_parse(ref, &p->ref, err) < 0)
		goto out;
	image_platform_host(&p->ld.platform);
	if (o->platform && image_platform_parse(o->platform, &p->ld.platform, err) < 0)
		goto out;
	if (pull_setup(p, o->insecure, o->ca_file, err) < 0)
		goto out;
	if (image_db_read(st, &stored, err) < 0)
		goto out;
	p->ld.stored = &stored;
	if (!p->quiet) {
		if (p->ref.default_tag)
			fprintf(p->out, "Using default tag: latest\n");
		fprintf(p->out, "%s: Pulling from %s\n", p->ref.digest[0] ? p->ref.digest : p->ref.tag,
			p->ref.repo);
		fflush(p->out);
	}
	if (!(m = pull_resolve(p, top, err)) || pull_announce(p, err) < 0 ||
	    image_resolve_manifest(&p->ld, m->digest, &found, err) < 0)
		goto out;
	for (i = 1; i < p->ndescs; i++)
		if (p->descs[i].fetched)
			pull_say(p, p->descs[i].digest, "Pull complete");
	pull_ref_name(&p->ref, 0, name, sizeof name);
	pull_ref_name(&p->ref, 1, full, sizeof full);
	if (image_found_name(&found, name, err) < 0)
		goto out;
	fresh = !pull_up_to_date(p, &found, name);
	if (image_commit(&p->ld, &found, 1, err) < 0)
		goto out;
	if (!p->quiet)
		fprintf(p->out, "Digest: %s\nStatus: %s for %s\n", top,
			fresh ? "Downloaded newer image" : "Image is up to date", name);
	if (o->print_name)
		fprintf(p->out, "%s\n", full);
	fflush(p->out);
	rc = 0;
out:
	if (rc < 0) {
		if (p->tty && !p->quiet)
			fprintf(p->out, "\r\033[K");
		fflush(p->out);
		/* Messages that name the image already stand alone (as Docker's). */
		if (!util_starts_with(err->msg, "invalid reference") &&
		    !util_starts_with(err->msg, "manifest for ") &&
		    !util_starts_with(err->msg, "pull access denied"))
			mr_err_ctx(err, "pull %s", ref);
	}
	image_found_free(&found);
	image_load_free(&p->ld);
	image_db_free(&stored);
	pull_free(p);
	free(p);
	return rc;
}

/* `login`: check the credentials against the registry (its /v2/ with basic
 * auth, or a token from its token server), then store them. */
static int pull_login(const char *server, const char *user, const char *pass,
		      const struct pull_opts *o, struct mr_err *err)
{
	struct pull *p = util_xcalloc(1, sizeof *p);
	struct mr_buf up = { 0 };
	p->conn.fd = -1;
	char domain[256];
	const char *s = server;
	int rc = -1, found;
	size_t n;
	if (util_starts_with(s, "https://"))
		s += 8;
	else if (util_starts_with(s, "http://"))
		s += 7;
	n = strcspn(s, "/");
	util_scopyn(domain, sizeof domain, s, n);
	if (!n || !strcmp(domain, "index.docker.io") || !strcmp(domain, "registry-1.docker.io"))
		util_scopy(domain, sizeof domain, "docker.io");
	util_scopy(p->ref.domain, sizeof p->ref.domain, domain);
	p->login = 1;
	if (pull_setup(p, o->insecure, o->ca_file, err) < 0)
		goto out;
	free(p->basic);
	mr_buf_printf(&up, "%s:%s", user, pass);
	p->basic = util_xmalloc(4 * ((up.len + 2) / 3) + 1);
	http_b64_encode(up.data, up.len, p->basic);
	if (pull_open(p, NULL, NULL, err) < 0)
		goto out;
	http_body_end(&p->body);
	rc = pull_creds_set(domain, p->basic, &found, err);
out:
	if (rc < 0 && err->code == EACCES && !strstr(err->msg, "no basic auth"))
		mr_err_set(err, EACCES, "unauthorized: incorrect username or password");
	if (rc < 0)
		mr_err_ctx(err, "login %s", domain);
	if (up.data)
		memset(up.data, 0, up.len);
	mr_buf_free(&up);
	pull_free(p);
	free(p);
	return rc;
}

#else /* !MINIRUN_WITH_PULL */

struct pull_opts {
	const char *platform;
	const char *insecure;
	const char *ca_file;
	int quiet;
	int print_name;
	FILE *out;
	uint64_t rate;
};

static int image_pull(struct mr_store *st, const char *ref, const struct pull_opts *o,
		      struct mr_err *err)
{
	(void)st; (void)ref; (void)o;
	return mr_err_set(err, MR_EDISABLED, "pull: built without MINIRUN_WITH_PULL");
}
#endif /* MINIRUN_WITH_PULL */
