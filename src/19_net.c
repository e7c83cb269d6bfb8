/* ==== [19] NET: bridge, veth, addresses, networks, masquerade, published ports ====
 * --network bridge (the default): one Linux bridge minirun0 holding the
 * gateway address (10.88.0.1/16 unless MINIRUN_SUBNET or root/network.json
 * say otherwise), and per running container a veth pair: mr<short id> on the
 * bridge, eth0 in the container with the lowest free address and a default
 * route. `network create NAME` networks work the same on a bridge of their
 * own, mr-<id12>. Outgoing traffic is masqueraded by table ip minirun
 * (nf_tables) and ip_forward is set. All of it through rtnetlink and
 * nfnetlink from minirun itself, no ip/nft/iptables programs.
 * root/network.json  {"Subnet":..., "Containers":{ID:IP}}: addresses of the
 *                    running containers, changed under the store lock only
 * root/networks/ID.json  a created network: the same plus Name, Id, Created,
 *                    Gateway
 * containers/ID/net.conf  what run was asked: "p tcp HOSTIP HOSTPORT PORT",
 *                    "h NAME IP" (--add-host), "d IP" (--dns), "a NAME"
 *                    (--network-alias)
 * rundir/ID/net      "IP PREFIX GW MAC PROXYPID PROXYSTART" then the "p" lines
 *                    with the host ports actually bound (PROXYPID 0: DNAT)
 * Published ports are DNATed by the same table (the kernel forwards, as
 * Docker without its userland proxy); the monitor keeps the host ports bound
 * meanwhile. Where nf_tables cannot (or MINIRUN_USERLAND_PROXY=1) a small
 * proxy process per container (a child of its monitor) serves them: TCP
 * through splice(), UDP by one connected socket per client. Either way the
 * ports are bound before the container runs, so a busy port fails the start.
 * A bridge and its rules go away with the last container on it. */

#include <netinet/in.h>
#include <poll.h>

#define NET_BRIDGE "minirun0"
#define NET_SUBNET "10.88.0.0/16"
#define NET_MAX_PORTS 32
#define NET_UDP_SESSIONS 32
#define NET_RELAY_PIPE (1 << 20)

struct net_port {
	char proto;                       /* 't' or 'u' */
	uint32_t hip;                     /* host address, host order */
	uint16_t hport, cport;            /* hport 0: any free port */
};

/* A network (see "networks" below). */
struct net_def {                      /* small fields first: one-byte offsets in x86 code */
	const char *driver;               /* "bridge", "host" or "null" */
	uint32_t net, gw;
	int prefix, ctrs;                 /* ctrs: running containers on it */
	char name[64], id[65], bridge[16], file[80];
};


static void net_ip_str(uint32_t ip, char *out)
{
	sprintf(out, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/* "a.b.c.d/n" (out: 19 bytes) */
static void net_cidr_str(uint32_t ip, int prefix, char *out)
{
	sprintf(out, "%u.%u.%u.%u/%d", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
		prefix);
}

static int net_ip_parse(const char *s, size_t n, uint32_t *ip)
{
	uint32_t v = 0, part = 0;
	size_t i, digits = 0, dots = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] >= '0' && s[i] <= '9' && digits < 3) {
			part = part * 10 + (uint32_t)(s[i] - '0');
			digits++;
		} else if ((i == n || s[i] == '.') && digits && part <= 255) {
			v = v << 8 | part;
			part = 0;
			digits = 0;
			if (i < n && ++dots > 3)
				return -1;
		} else {
			return -1;
		}
	}
	if (dots != 3)
		return -1;
	*ip = v;
	return 0;
}

/* "a.b.c.d/n" -> network (host bits cleared) and prefix 8..30. */
static int net_cidr_parse(const char *s, uint32_t *net, int *prefix)
{
	const char *sl = strchr(s, '/');
	char *end;
	long p;
	if (!sl || net_ip_parse(s, (size_t)(sl - s), net) < 0)
		return -1;
	p = strtol(sl + 1, &end, 10);
	if (*end || end == sl + 1 || p < 8 || p > 30)
		return -1;
	*prefix = (int)p;
	*net &= ~0u << (32 - p);
	return 0;
}

/* Parse one -p: [IP:][HOSTPORT:]PORT[/tcp|/udp]. */
static int net_port_parse(const char *s, struct net_port *p, struct mr_err *err)
{
	const char *slash = strchr(s, '/'), *c1, *c2, *ps;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	unsigned long v;
	memset(p, 0, sizeof *p);
	p->proto = 't';
	if (slash && !strcmp(slash, "/udp"))
		p->proto = 'u';
	else if (slash && strcmp(slash, "/tcp"))
		goto bad;
	c2 = memrchr(s, ':', n);
	c1 = c2 ? memchr(s, ':', (size_t)(c2 - s)) : NULL;
	if (c1 && net_ip_parse(s, (size_t)(c1 - s), &p->hip) < 0)
		goto bad;
	ps = c1 ? c1 + 1 : s;
	if (c2 && c2 > ps) {
		v = strtoul(ps, &end, 10);
		if (end != c2 || v < 1 || v > 65535)
			goto bad;
		p->hport = (uint16_t)v;
	}
	ps = c2 ? c2 + 1 : s;
	v = strtoul(ps, &end, 10);
	if (end != s + n || end == ps || v < 1 || v > 65535 || *ps == '-' || *ps == '+')
		goto bad;
	p->cport = (uint16_t)v;
	return 0;
bad:
	return mr_err_set(err, MR_EINVAL_INPUT, "invalid publish spec '%s' (expected "
			  "[IP:][HOSTPORT:]PORT[/tcp|/udp])", s);
}

static void net_port_fmt(const struct net_port *p, struct mr_buf *b)
{
	char ip[16];
	net_ip_str(p->hip, ip);
	mr_buf_printf(b, "p %s %s %u %u\n", p->proto == 'u' ? "udp" : "tcp", ip, p->hport, p->cport);
}

/* One "p ..." line back. */
static int net_port_line(const char *l, struct net_port *p)
{
	char tag[4], proto[4], ip[16];
	uint64_t hp, cp;
	if (util_word(&l, tag, sizeof tag) < 0 || strcmp(tag, "p") ||
	    util_word(&l, proto, sizeof proto) < 0 || util_word(&l, ip, sizeof ip) < 0 ||
	    util_word_u64(&l, &hp, 10) < 0 || util_word_u64(&l, &cp, 10) < 0 ||
	    net_ip_parse(ip, strlen(ip), &p->hip) < 0 || hp > 65535 || cp > 65535)
		return -1;
	p->proto = proto[0];
	p->hport = (uint16_t)hp;
	p->cport = (uint16_t)cp;
	return 0;
}

/* The next line of a text (at its end: the terminating NUL). */
static const char *net_next(const char *l)
{
	l += strcspn(l, "\n");
	return l + (*l == '\n');
}

/* A network of the bridge driver (default or created): not host, none or
 * container:. */
static int net_bridged(const char *network)
{
	return strcmp(network, "host") && strcmp(network, "none") && strncmp(network, "container:", 10);
}

#if MINIRUN_WITH_NET
static int net_find(struct mr_store *st, const char *ref, struct net_def *d, struct mr_err *err);
#else
static int net_find(struct mr_store *st, const char *ref, struct net_def *d, struct mr_err *err)
{
	(void)st; (void)d;
	return mr_err_set(err, MR_ENOTFOUND, "network %s not found", ref);   /* only bridge */
}
#endif

/* --network VALUE of run/create. */
static int net_mode(struct mr_store *st, struct ctr *c, const char *v, struct mr_err *err)
{
	char id[CTR_ID_LEN + 1], *s;
	if (!strcmp(v, "default") || !strcmp(v, "bridge")) {
		if (!MINIRUN_WITH_NET && !strcmp(v, "bridge"))
			return mr_err_set(err, MR_EINVAL_INPUT, "network bridge: built without "
					  "MINIRUN_WITH_NET");
		c->network = "bridge";
	} else if (!strcmp(v, "host") || !strcmp(v, "none")) {
		c->network = v;
	} else if (!strncmp(v, "container:", 10)) {
		if (ctr_find(st, v + 10, id, err) < 0)
			return mr_err_ctx(err, "network %s", v);
		s = util_xmalloc(CTR_ID_LEN + 12);
		sprintf(s, "container:%s", id);
		c->network = ctr_own(c, s);
	} else {
		struct net_def d;
		if (net_find(st, v, &d, err) < 0)
			return -1;
		/* the record keeps the name, as Docker's NetworkMode does */
		c->network = ctr_own(c, util_xstrdup(d.name));
	}
	return 0;
}

/* A socket bound to the host side of p (TCP: SO_REUSEADDR), or -1 with
 * Docker's message. */
static int net_bind(const struct net_port *p, struct mr_err *err)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(p->hport),
				 .sin_addr.s_addr = htonl(p->hip) };
	int one = 1, fd = socket(AF_INET, (p->proto == 'u' ? SOCK_DGRAM : SOCK_STREAM) |
				 SOCK_CLOEXEC, 0);
	char ip[16];
	if (fd < 0)
		return mr_err_sys(err, "socket");
	if (p->proto == 't')
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0)
		return fd;
	net_ip_str(p->hip, ip);
	if (errno == EADDRINUSE)
		mr_err_set(err, MR_EINUSE, "Bind for %s:%u failed: port is already allocated", ip,
			   p->hport);
	else
		mr_err_sys(err, "Bind for %s:%u failed", ip, p->hport);
	close(fd);
	return -1;
}

/* A host port that cannot be bound now will not be at start either: check
 * at create, so that run leaves nothing behind. */
static int net_port_free(const struct net_port *p, struct mr_err *err)
{
	int fd = net_bind(p, err);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* run/create: -p, -P (the image's ExposedPorts), --add-host, --dns into the
 * spec's net.conf, checked ([17] ctr_create records it). */
static int net_run_opts(struct ctr *c, const char **pub, size_t npub, int all,
			const char **hosts, size_t nhosts, const char **dns, size_t ndns,
			const char **alias, size_t nalias, const struct mr_json *cfg,
			struct mr_err *err)
{
	struct mr_buf *b = &c->net_conf;
	struct net_port p;
	const struct mr_json *e;
	size_t i, n = 0;
	uint32_t ip;
	b->len = 0;
	if (npub || all) {
		if (!MINIRUN_WITH_NET)
			return mr_err_set(err, MR_EINVAL_INPUT, "publish: built without MINIRUN_WITH_NET");
		if (!net_bridged(c->network))
			fprintf(stderr, "WARNING: Published ports are discarded when using %s "
				"network mode\n", c->network);
	}
	for (i = 0; i < npub; i++, n++) {
		if (n >= NET_MAX_PORTS)
			return mr_err_set(err, MR_EINVAL_INPUT, "too many published ports");
		if (net_port_parse(pub[i], &p, err) < 0)
			return -1;
		ctr_exposed_add(c, NULL, p.cport, p.proto);
		if (p.hport && net_bridged(c->network) && net_port_free(&p, err) < 0)
			return -1;
		net_port_fmt(&p, b);
	}
	if (mr_json_get(cfg, "ExposedPorts"))
		ctr_exposed_add(c, mr_json_get(cfg, "ExposedPorts"), 0, 0);
	e = all ? mr_json_get(cfg, "ExposedPorts") : NULL;
	for (e = e && e->type == MR_JSON_OBJECT ? e->child : NULL; e; e = e->next, n++) {
		if (n >= NET_MAX_PORTS)
			return mr_err_set(err, MR_EINVAL_INPUT, "too many published ports");
		if (e->key_len > 20 || net_port_parse(e->key, &p, err) < 0)
			return -1;
		p.hport = 0;
		net_port_fmt(&p, b);
	}
	for (i = 0; i < nhosts; i++) {
		const char *s = hosts[i], *col = strchr(s, ':');
		if (!col || col == s || strpbrk(s, " \t\n") ||
		    (strcmp(col + 1, "host-gateway") && net_ip_parse(col + 1, strlen(col + 1), &ip) < 0))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for "
					  "\"--add-host\" flag: invalid IP address", s);
		mr_buf_printf(b, "h %.*s %s\n", (int)(col - s), s, col + 1);
	}
	for (i = 0; i < ndns; i++) {
		if (net_ip_parse(dns[i], strlen(dns[i]), &ip) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s is not an ip address",
					  dns[i]);
		mr_buf_printf(b, "d %s\n", dns[i]);
	}
	/* names of a created network only (Docker's rule) */
	if (nalias && (!net_bridged(c->network) || !strcmp(c->network, "bridge")))
		return mr_err_set(err, MR_EINVAL_INPUT, "network-scoped alias is supported only "
				  "for containers in user defined networks");
	for (i = 0; i < nalias; i++) {
		if (!*alias[i] || strpbrk(alias[i], " \t\n#"))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid network alias \"%s\"", alias[i]);
		mr_buf_printf(b, "a %s\n", alias[i]);
	}
	return 0;
}

/* Child side of --network container:NAME: enter its namespace (opened by
 * net_prepare in the parent, before the clone). */
static int net_child_join(const struct ctr_spawn *sp, struct mr_err *err)
{
	if (sp->netns_fd >= 0 && setns(sp->netns_fd, CLONE_NEWNET) < 0)
		return mr_err_sys(err, "join the network namespace");
	return 0;
}

/* Before the clone: open the netns of the container to share. */
static int net_prepare(struct ctr_spawn *sp, struct mr_err *err)
{
	const struct ctr *c = sp->c;
	struct ctr_info ci;
	char path[48];
	sp->netns_fd = -1;
	if (strncmp(c->network, "container:", 10))
		return 0;
	ctr_info_get(sp->st, c->network + 10, &ci);
	if (ci.status != CTR_RUNNING || ci.pid <= 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "cannot join network of a non running "
				  "container: %.12s", c->network + 10);
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)ci.pid);
	sp->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sp->netns_fd < 0)
		return mr_err_sys(err, "open %s", path);
	return 0;
}

/* Read containers/ID/net.conf (empty when absent). */
static void net_conf_read(struct ctr_spawn *sp, struct mr_buf *b)
{
	struct mr_err ignored;
	char path[MINIRUN_MAX_PATH + 16];
	snprintf(path, sizeof path, "%s/net.conf", sp->dir);
	b->len = 0;
	if (mr_read_file(AT_FDCWD, path, b, 1u << 16, &ignored) < 0 || !b->data)
		mr_buf_append(b, "", 0);
}

/* The block of names of the containers on a created network, at the end of
 * each one's hosts file (see net_names_sync). */
#define NET_NAMES_MARK "# minirun: containers on network "

/* Cut b (a hosts file) before the block of names. */
static void net_names_cut(struct mr_buf *b)
{
	const char *m = b->data ? strstr(b->data, NET_NAMES_MARK) : NULL;
	if (m && (m == b->data || m[-1] == '\n')) {
		b->len = (size_t)(m - b->data);
		b->data[b->len] = 0;
	}
}

/* --add-host, --dns and the container's own address into the files that
 * rootfs_etc_files wrote (bind-mounted by the child after 'g'). */
static int net_etc(struct ctr_spawn *sp, const char *conf, const char *myip, const char *gw,
		   struct mr_err *err)
{
	struct mr_buf b = { 0 };
	const char *l;
	int dirfd, rc = 0, dns = 0;
	char path[MINIRUN_MAX_PATH + 16];
	snprintf(path, sizeof path, "%s/hosts", sp->dir);
	if (mr_read_file(AT_FDCWD, path, &b, 1u << 20, err) < 0)
		return -1;
	net_names_cut(&b);
	for (l = conf; *l; l = net_next(l)) {
		char tag[4], name[256], ip[40];
		const char *q = l;
		if (util_word(&q, tag, sizeof tag) == 0 && !strcmp(tag, "h") &&
		    util_word(&q, name, sizeof name) == 0 && util_word(&q, ip, sizeof ip) == 0)
			mr_buf_printf(&b, "%s\t%s\n", strcmp(ip, "host-gateway") ? ip : gw, name);
		dns |= l[0] == 'd';
	}
	if (myip)
		mr_buf_printf(&b, "%s\t%s\n", myip, sp->c->hostname);
	dirfd = ctr_dir(sp->st, sp->c->id, err);
	if (dirfd < 0) {
		mr_buf_free(&b);
		return -1;
	}
	/* in place and 0644 (rootfs_put): a non-root process reads them, as
	 * in Docker, and a running container's bind mount holds the inode */
	rc = rootfs_put(dirfd, "hosts", &b, err);
	if (!rc && dns) {
		b.len = 0;
		for (l = conf; *l; l = net_next(l))
			if (l[0] == 'd')
				mr_buf_printf(&b, "nameserver %.*s\n", (int)strcspn(l + 2, "\n"), l + 2);
		rc = rootfs_put(dirfd, "resolv.conf", &b, err);
	}
	close(dirfd);
	mr_buf_free(&b);
	return rc;
}

#if MINIRUN_WITH_NET
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/veth.h>

/* ---- rtnetlink: one request, one acknowledgement ---- */

struct nl_msg {
	union {
		struct nlmsghdr h;
		char buf[512];                /* every request here is far smaller */
	};
};

static void *nl_tail(struct nlmsghdr *h)
{
	return (char *)h + NLMSG_ALIGN(h->nlmsg_len);
}

static void nl_init(struct nl_msg *m, int type, int flags, const void *hdr, size_t len)
{
	memset(m, 0, sizeof *m);
	m->h.nlmsg_type = (unsigned short)type;
	m->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	m->h.nlmsg_len = (unsigned)(NLMSG_HDRLEN + len);
	memcpy(NLMSG_DATA(&m->h), hdr, len);
}

static struct rtattr *nl_attr(struct nlmsghdr *h, int type, const void *data, size_t len)
{
	struct rtattr *a = nl_tail(h);
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	/* the padding zeroed too: a batch buffer is reused, and what the kernel
	 * gets must not depend on what was there before */
	memset(RTA_DATA(a), 0, RTA_ALIGN(len));
	if (len)
		memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nl_attr_u32(struct nlmsghdr *h, int type, uint32_t v)
{
	nl_attr(h, type, &v, 4);
}

/* A string attribute, with its NUL. */
static void nl_attr_str(struct nlmsghdr *h, int type, const char *s)
{
	nl_attr(h, type, s, strlen(s) + 1);
}

/* Close a nest opened by nl_attr(h, type, NULL, 0). */
static void nl_nest_end(struct nlmsghdr *h, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)nl_tail(h) - (char *)a);
}

/* Send and wait for the ack: 0 or -errno. */
static int nl_talk(int fd, struct nlmsghdr *h)
{
	static unsigned seq;
	char buf[1024];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	h->nlmsg_seq = ++seq;
	if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *r = (struct nlmsghdr *)buf;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n))
			if (r->nlmsg_seq == seq && r->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	}
}

static int nl_open(void)
{
	return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

static int nl_link_up(int fd, int index)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index,
				 .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	nl_init(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
	return nl_talk(fd, &m.h);
}

static int nl_link_del(int fd, const char *name)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	nl_init(&m, RTM_DELLINK, 0, &ifi, sizeof ifi);
	nl_attr_str(&m.h, IFLA_IFNAME, name);
	return nl_talk(fd, &m.h);
}

static int nl_addr_add(int fd, int index, uint32_t ip, int prefix)
{
	struct nl_msg m;
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix,
				 .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)index };
	uint32_t a = htonl(ip), bc = htonl(ip | ~(~0u << (32 - prefix)));
	nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
	nl_attr(&m.h, IFA_LOCAL, &a, 4);
	nl_attr(&m.h, IFA_ADDRESS, &a, 4);
	nl_attr(&m.h, IFA_BROADCAST, &bc, 4);
	return nl_talk(fd, &m.h);
}

static int nl_route_default(int fd, int index, uint32_t gw)
{
	struct nl_msg m;
	struct rtmsg r = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
			   .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE,
			   .rtm_type = RTN_UNICAST };
	uint32_t g = htonl(gw);
	nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &r, sizeof r);
	nl_attr(&m.h, RTA_GATEWAY, &g, 4);
	nl_attr_u32(&m.h, RTA_OIF, (uint32_t)index);
	return nl_talk(fd, &m.h);
}

/* A bridge port that may send a frame back where it came from: with
 * br_netfilter loaded, a container's packet to its own published port is
 * DNATed on the bridge and must go back out of its own port. */
static int nl_hairpin(int fd, int index)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = index };
	struct rtattr *pi;
	uint8_t on = 1;
	nl_init(&m, RTM_SETLINK, 0, &ifi, sizeof ifi);
	pi = nl_attr(&m.h, IFLA_PROTINFO | NLA_F_NESTED, NULL, 0);
	nl_attr(&m.h, IFLA_BRPORT_MODE, &on, 1);
	nl_nest_end(&m.h, pi);
	return nl_talk(fd, &m.h);
}

static int net_fail(struct mr_err *err, int rc, const char *what, const char *missing)
{
	if (rc == -EOPNOTSUPP && missing)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: the kernel lacks %s", what, missing);
	errno = -rc;
	return mr_err_sys(err, "%s", what);
}

/* The bridge with the gateway address, up. Returns its index. */
static int net_bridge(int fd, const char *name, uint32_t gw, int prefix, struct mr_err *err)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *li;
	int rc, index;
	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	nl_attr_str(&m.h, IFLA_IFNAME, name);
	li = nl_attr(&m.h, IFLA_LINKINFO, NULL, 0);
	nl_attr(&m.h, IFLA_INFO_KIND, "bridge", 6);
	nl_nest_end(&m.h, li);
	rc = nl_talk(fd, &m.h);
	if (rc < 0 && rc != -EEXIST)
		return net_fail(err, rc, "create bridge", "bridge support (CONFIG_BRIDGE)");
	index = (int)if_nametoindex(name);
	if (!index)
		return mr_err_sys(err, "bridge %s", name);
	rc = nl_addr_add(fd, index, gw, prefix);
	if (rc < 0 && rc != -EEXIST)
		return net_fail(err, rc, "address of the bridge", NULL);
	rc = nl_link_up(fd, index);
	if (rc < 0)
		return net_fail(err, rc, "bring the bridge up", NULL);
	return index;
}

/* veth pair: host end on the bridge and up, the peer created right inside
 * the container's namespace as eth0 (no name clash with the host's). */
static int net_veth(int fd, const char *host, int br, pid_t pid, const unsigned char *mac,
		    struct mr_err *err)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	struct ifinfomsg peer = { .ifi_family = AF_UNSPEC };
	struct rtattr *li, *data, *pa;
	int rc;
	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	nl_attr_str(&m.h, IFLA_IFNAME, host);
	nl_attr_u32(&m.h, IFLA_MASTER, (uint32_t)br);
	li = nl_attr(&m.h, IFLA_LINKINFO, NULL, 0);
	nl_attr(&m.h, IFLA_INFO_KIND, "veth", 4);
	data = nl_attr(&m.h, IFLA_INFO_DATA, NULL, 0);
	pa = nl_attr(&m.h, VETH_INFO_PEER, &peer, sizeof peer);
	nl_attr(&m.h, IFLA_IFNAME, "eth0", 5);
	nl_attr_u32(&m.h, IFLA_NET_NS_PID, (uint32_t)pid);
	nl_attr(&m.h, IFLA_ADDRESS, mac, 6);
	nl_nest_end(&m.h, pa);
	nl_nest_end(&m.h, data);
	nl_nest_end(&m.h, li);
	rc = nl_talk(fd, &m.h);
	if (rc < 0)
		return net_fail(err, rc, "create veth pair", "veth support (CONFIG_VETH)");
	return 0;
}

/* eth0 inside: address, up, default route. The monitor steps into the
 * namespace for the socket only (it is single-threaded), then back. */
static int net_inside(pid_t pid, uint32_t ip, int prefix, uint32_t gw, struct mr_err *err)
{
	char path[48];
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), ns, fd = -1, rc = 0, index = 0;
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
		rc = mr_err_sys(err, "enter the container's network namespace");
		goto out;
	}
	fd = nl_open();
	index = (int)if_nametoindex("eth0");
	if (setns(self, CLONE_NEWNET) < 0) {
		/* cannot happen short of a kernel bug; never serve in the wrong one */
		mr_err_sys(err, "leave the container's network namespace");
		_exit(125);
	}
	if (fd < 0 || !index) {
		rc = mr_err_sys(err, "eth0 in the container");
		goto out;
	}
	if ((rc = nl_addr_add(fd, index, ip, prefix)) < 0 || (rc = nl_link_up(fd, index)) < 0 ||
	    (rc = nl_route_default(fd, index, gw)) < 0)
		rc = net_fail(err, rc, "configure eth0 in the container", NULL);
out:
	util_close(fd);
	util_close(ns);
	util_close(self);
	return rc;
}

/* ---- networks: the default bridge, host, none and `network create`'s ----
 * A bridge network is a file under the store lock: network.json for the
 * default one (bridge minirun0), networks/ID.json for the others (bridge
 * mr-<id12>) with Name, Id, Created, Subnet, Gateway; both hold Containers,
 * {ID: address} of the running containers on it. */

static void net_subnet(const struct mr_json *root, uint32_t *net, int *prefix)
{
	const char *s = getenv("MINIRUN_SUBNET"), *f = json_get_str(root, "Subnet");
	const struct mr_json *ctrs = mr_json_get(root, "Containers");
	/* while containers use the bridge its subnet stays */
	if (f && ctrs && ctrs->count && net_cidr_parse(f, net, prefix) == 0)
		return;
	if (s && net_cidr_parse(s, net, prefix) == 0)
		return;
	if (f && net_cidr_parse(f, net, prefix) == 0)
		return;
	net_cidr_parse(NET_SUBNET, net, prefix);
}

/* The three built-in networks have fixed IDs: sha256 of their names. */
static void net_def_builtin(struct net_def *d, const char *name, const char *driver)
{
	char dg[MR_DIGEST_LEN + 1];
	memset(d, 0, sizeof *d);
	mr_digest_buf(name, strlen(name), dg);
	util_scopy(d->id, sizeof d->id, digest_hex(dg));
	util_scopy(d->name, sizeof d->name, name);
	d->driver = driver;
}

/* A bridge network from its file (root: its JSON, NULL when absent). */
static void net_def_fill(struct net_def *d, const char *file, const struct mr_json *root)
{
	const char *gw = json_get_str(root, "Gateway");
	const struct mr_json *c = mr_json_get(root, "Containers");
	if (!strcmp(file, "network.json")) {
		net_def_builtin(d, "bridge", "bridge");
		util_scopy(d->bridge, sizeof d->bridge, NET_BRIDGE);
		net_subnet(root, &d->net, &d->prefix);
	} else {
		memset(d, 0, sizeof *d);
		d->driver = "bridge";
		util_scopy(d->name, sizeof d->name, json_get_str(root, "Name") ?: "");
		util_scopy(d->id, sizeof d->id, json_get_str(root, "Id") ?: "");
		snprintf(d->bridge, sizeof d->bridge, "mr-%.12s", d->id);
		if (net_cidr_parse(json_get_str(root, "Subnet") ?: "", &d->net, &d->prefix) < 0)
			d->prefix = 0;        /* unusable: never allocated from */
	}
	util_scopy(d->file, sizeof d->file, file);
	if (!gw || net_ip_parse(gw, strlen(gw), &d->gw) < 0)
		d->gw = d->net + 1;
	d->ctrs = c ? (int)c->count : 0;
}

typedef int (*net_fn)(struct mr_store *st, struct net_def *d, void *arg);

/* A network's file, read and parsed (doc empty when absent or broken). */
static void net_read(struct mr_store *st, const char *file, struct mr_buf *b,
		     struct mr_json_doc *doc)
{
	struct mr_err ignored;
	if (json_read_file(st->rootfd, file, MINIRUN_MAX_JSON, b, doc, &ignored) < 0)
		memset(doc, 0, sizeof *doc);
}

/* A network's file, atomically: network.json in the store's root, the
 * others in networks/. */
static int net_write(struct mr_store *st, const char *file, const struct mr_buf *b,
		     struct mr_err *err)
{
	const char *base = strchr(file, '/');
	int dfd = base ? openat(st->rootfd, "networks", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : st->rootfd;
	int rc;
	if (dfd < 0)
		return mr_err_sys(err, "networks folder");
	rc = mr_write_atomic(dfd, base ? base + 1 : file, b->data, b->len, 0600, err);
	if (base)
		close(dfd);
	return rc;
}

static int net_each_file(struct mr_store *st, const char *file, net_fn fn, void *arg)
{
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	struct net_def d;
	int rc;
	net_read(st, file, &b, &doc);
	net_def_fill(&d, file, doc.root);
	rc = fn(st, &d, arg);
	mr_json_free(&doc);
	mr_buf_free(&b);
	return rc;
}

/* Each network: bridge, host, none, then the created ones. Stops at the
 * first nonzero answer of fn and returns it. */
static int net_each(struct mr_store *st, net_fn fn, void *arg)
{
	static const char *const builtin[] = { "host", "host", "none", "null" };
	struct net_def d;
	struct dirent *de;
	DIR *dir;
	int rc = net_each_file(st, "network.json", fn, arg), i, fd;
	char file[80];
	for (i = 0; !rc && i < 4; i += 2) {
		net_def_builtin(&d, builtin[i], builtin[i + 1]);
		rc = fn(st, &d, arg);
	}
	fd = rc ? -1 : openat(st->rootfd, "networks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir && fd >= 0)
		close(fd);
	while (!rc && dir && (de = readdir(dir)) != NULL) {
		/* only ID.json: not the temporaries of an atomic write */
		if (strlen(de->d_name) != 69 || strcmp(de->d_name + 64, ".json"))
			continue;
		snprintf(file, sizeof file, "networks/%s", de->d_name);
		rc = net_each_file(st, file, fn, arg);
	}
	if (dir)
		closedir(dir);
	return rc;
}

struct net_match {
	const char *ref;
	struct net_def *out;
	int found;
};

/* A name matches at once; an ID prefix only if no name does. */
static int net_match_one(struct mr_store *st, struct net_def *d, void *arg)
{
	struct net_match *m = arg;
	size_t n = strlen(m->ref);
	int name = !strcmp(d->name, m->ref);
	(void)st;
	if (name || (n >= 3 && !m->found && !strncmp(d->id, m->ref, n))) {
		*m->out = *d;
		m->found = 1;
	}
	return name;
}

/* A network by name or ID (prefix). */
static int net_find(struct mr_store *st, const char *ref, struct net_def *d, struct mr_err *err)
{
	struct net_match m = { ref, d, 0 };
	net_each(st, net_match_one, &m);
	if (!m.found)
		return mr_err_set(err, MR_ENOTFOUND, "network %s not found", ref);
	return 0;
}

/* ---- NAT: table ip minirun through nf_tables netlink ----
 * Per bridge network in use, at postrouting (nat, srcnat)
 * `ip saddr SUBNET oifname != BRIDGE masquerade` and the two masquerades
 * published ports need (nft_net_rules), a guard chain (filter, raw); per
 * port published by DNAT, the same rule at prerouting and output (nat,
 * dstnat): `fib daddr type local tcp dport 8000 dnat to 10.88.0.2:80`.
 * The table is rebuilt whole in one batch (add table, delete table, add
 * again with its chains and rules) whenever a container takes or gives
 * back an address or publishes ports, under the store lock (few files to
 * read; a flushed ruleset heals at the next start): the kernel applies a
 * batch atomically, so there is never a moment without the rules of the
 * containers still running, and no rule handles to remember. No accepting
 * forward chain: the forward hook accepts by default, and an accept in our
 * table cannot override another table's drop (each base chain must accept),
 * so it would change nothing; the forward chain "isolate" only drops
 * (traffic from one network to another, see nft_net_rules). The kernel loads
 * nf_tables, nft_chain_nat, nft_masq, nft_nat, nft_fib_ipv4 and nft_ct itself
 * on the first request for them (request_module), so no modprobe here. */

#define NFT_TABLE "minirun"
#define NFT_CHAIN "postrouting"
#define NFT_MAX_NETS 32
/* one batch: 4 rules (1.5 KB) per network, 2 (0.9 KB) per published port,
 * over 90 ports in all; below netlink's default send buffer. Each network
 * and each port is added only with NFT_ROOM left. */
#define NFT_BATCH (128 << 10)
#define NFT_ROOM 2048

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

struct nft_batch {
	struct nlmsghdr *h;
	unsigned seq;
	union {                         /* last: the fields above at one-byte offsets */
		struct nlmsghdr first;
		char buf[NFT_BATCH];
	};
};

/* Start the next message of the batch. */
static void nft_msg(struct nft_batch *b, int type, int flags)
{
	struct nfgenmsg g = { .nfgen_family = 2 /* NFPROTO_IPV4 */, .version = NFNETLINK_V0 };
	b->h = b->h ? (struct nlmsghdr *)nl_tail(b->h) : &b->first;
	if (type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END) {
		g.nfgen_family = AF_UNSPEC;
		g.res_id = htons(NFNL_SUBSYS_NFTABLES);
	} else {
		type |= NFNL_SUBSYS_NFTABLES << 8;
		flags |= NLM_F_ACK;
	}
	memset(b->h, 0, NLMSG_HDRLEN + sizeof g);
	b->h->nlmsg_type = (unsigned short)type;
	b->h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	b->h->nlmsg_len = NLMSG_HDRLEN + sizeof g;
	b->h->nlmsg_seq = ++b->seq;
	memcpy(NLMSG_DATA(b->h), &g, sizeof g);
	if (type != NFNL_MSG_BATCH_BEGIN && type != NFNL_MSG_BATCH_END)
		nl_attr(b->h, NFTA_TABLE_NAME, NFT_TABLE, sizeof NFT_TABLE);
}

static struct rtattr *nft_nest(struct nlmsghdr *h, int type)
{
	return nl_attr(h, type | NLA_F_NESTED, NULL, 0);
}

/* nf_tables numbers are big-endian. */
static void nft_u32(struct nlmsghdr *h, int type, uint32_t v)
{
	nl_attr_u32(h, type, htonl(v));
}

/* Attribute type holding NFTA_DATA_VALUE data. */
static void nft_data(struct nlmsghdr *h, int type, const void *data, size_t len)
{
	struct rtattr *a = nft_nest(h, type);
	nl_attr(h, NFTA_DATA_VALUE, data, len);
	nl_nest_end(h, a);
}

/* One expression: its name, then pairs of (attribute, u32); a cmp's data
 * goes after, through nft_data, before nft_expr_end. */
static struct rtattr *nft_expr(struct nlmsghdr *h, const char *name, const uint32_t *kv, int n,
			       struct rtattr **data)
{
	struct rtattr *e = nft_nest(h, NFTA_LIST_ELEM);
	nl_attr_str(h, NFTA_EXPR_NAME, name);
	*data = nft_nest(h, NFTA_EXPR_DATA);
	for (; n > 0; n--, kv += 2)
		nft_u32(h, (int)kv[0], kv[1]);
	return e;
}

static void nft_expr_end(struct nlmsghdr *h, struct rtattr *e, struct rtattr *data)
{
	nl_nest_end(h, data);
	nl_nest_end(h, e);
}

/* An expression whose u32 attributes are followed by one data attribute. */
static void nft_expr_data(struct nlmsghdr *h, const char *name, const uint32_t *kv, int n,
			  int type, const void *data, size_t len)
{
	struct rtattr *d, *e = nft_expr(h, name, kv, n, &d);
	nft_data(h, type, data, len);
	nft_expr_end(h, e, d);
}

/* cmp reg 1 OP data */
static void nft_cmp(struct nlmsghdr *h, uint32_t op, const void *data, size_t len)
{
	const uint32_t kv[] = { NFTA_CMP_SREG, NFT_REG_1, NFTA_CMP_OP, op };
	nft_expr_data(h, "cmp", kv, 2, NFTA_CMP_DATA, data, len);
}

/* reg 1 = reg 1 & mask (^ 0), mask as the register holds it */
static void nft_bitwise(struct nlmsghdr *h, uint32_t mask)
{
	static const uint32_t bitwise[] = { NFTA_BITWISE_SREG, NFT_REG_1, NFTA_BITWISE_DREG,
		NFT_REG_1, NFTA_BITWISE_LEN, 4 };
	uint32_t zero = 0;
	struct rtattr *data, *e = nft_expr(h, "bitwise", bitwise, 3, &data);
	nft_data(h, NFTA_BITWISE_MASK, &mask, 4);
	nft_data(h, NFTA_BITWISE_XOR, &zero, 4);
	nft_expr_end(h, e, data);
}

/* Start a rule of chain; its expressions go inside the nest returned. */
static struct rtattr *nft_rule(struct nft_batch *b, const char *chain)
{
	nft_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	nl_attr_str(b->h, NFTA_RULE_CHAIN, chain);
	return nft_nest(b->h, NFTA_RULE_EXPRESSIONS);
}

/* An expression with only u32 attributes. */
static void nft_plain(struct nlmsghdr *h, const char *name, const uint32_t *kv, int n)
{
	struct rtattr *data, *e = nft_expr(h, name, kv, n, &data);
	nft_expr_end(h, e, data);
}

/* ip saddr (off 12) or daddr (off 16) in NET/PREFIX */
static void nft_ip(struct nlmsghdr *h, uint32_t off, uint32_t net, int prefix)
{
	const uint32_t payload[] = { NFTA_PAYLOAD_DREG, NFT_REG_1, NFTA_PAYLOAD_BASE,
		NFT_PAYLOAD_NETWORK_HEADER, NFTA_PAYLOAD_OFFSET, off, NFTA_PAYLOAD_LEN, 4 };
	uint32_t v = htonl(net);
	nft_plain(h, "payload", payload, 4);
	if (prefix < 32)
		nft_bitwise(h, htonl(~0u << (32 - prefix)));
	nft_cmp(h, NFT_CMP_EQ, &v, 4);
}

/* meta KEY OP value (iifname/oifname: the 16 bytes of a name) */
static void nft_meta(struct nlmsghdr *h, uint32_t key, uint32_t op, const void *v, size_t len)
{
	const uint32_t meta[] = { NFTA_META_DREG, NFT_REG_1, NFTA_META_KEY, key };
	nft_plain(h, "meta", meta, 2);
	nft_cmp(h, op, v, len);
}

static void nft_ifname(struct nlmsghdr *h, uint32_t key, uint32_t op, const char *name)
{
	char ifname[16] = { 0 };
	memcpy(ifname, name, strlen(name));
	nft_meta(h, key, op, ifname, sizeof ifname);
}

/* ct status & dnat OP 0: NEQ for connections DNATed (a published port), EQ
 * for the others. */
static void nft_ct_dnat(struct nlmsghdr *h, uint32_t op)
{
	static const uint32_t ct[] = { NFTA_CT_DREG, NFT_REG_1, NFTA_CT_KEY, NFT_CT_STATUS };
	uint32_t zero = 0;
	nft_plain(h, "ct", ct, 2);
	nft_bitwise(h, 1u << 5);              /* IPS_DST_NAT; ct status: host order */
	nft_cmp(h, op, &zero, 4);
}

/* The verdict drop, ending a rule. */
static void nft_drop(struct nlmsghdr *h)
{
	static const uint32_t drop[] = { NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT };
	struct rtattr *e, *data, *imm, *verdict;
	e = nft_expr(h, "immediate", drop, 1, &data);
	imm = nft_nest(h, NFTA_IMMEDIATE_DATA);
	verdict = nft_nest(h, NFTA_DATA_VERDICT);
	nft_u32(h, NFTA_VERDICT_CODE, 0);   /* NF_DROP */
	nl_nest_end(h, verdict);
	nl_nest_end(h, imm);
	nft_expr_end(h, e, data);
}

/* postrouting: ip saddr NET/PREFIX oifname OP BRIDGE [ct status dnat] masquerade */
static void nft_masq(struct nft_batch *b, uint32_t net, int prefix, uint32_t op,
		     const char *bridge, int dnat)
{
	struct rtattr *list = nft_rule(b, NFT_CHAIN);
	nft_ip(b->h, 12, net, prefix);
	nft_ifname(b->h, NFT_META_OIFNAME, op, bridge);
	if (dnat)
		nft_ct_dnat(b->h, NFT_CMP_NEQ);
	nft_plain(b->h, "masq", NULL, 0);
	nl_nest_end(b->h, list);
}

/* A network's rules: its masquerade out; the hairpin (a container reaching
 * a published port through a host address: without the masquerade the
 * answer would go straight back over the bridge, not un-NATed); the
 * masquerade of 127.0.0.1 DNATed into the bridge (route_localnet); and the
 * guard that route_localnet needs (CVE-2020-8558): nothing arriving from
 * the bridge may reach 127.0.0.0/8, i.e. the host's localhost-only
 * services. The guard runs at raw priority, before conntrack un-NATs the
 * answers to 127.0.0.1, which still carry the bridge's address there. */
static void nft_net_rules(struct nft_batch *b, const struct net_def *d)
{
	struct rtattr *list;
	int k;
	nft_masq(b, d->net, d->prefix, NFT_CMP_NEQ, d->bridge, 0);
	nft_masq(b, d->net, d->prefix, NFT_CMP_EQ, d->bridge, 1);
	nft_masq(b, 0x7f000000, 8, NFT_CMP_EQ, d->bridge, 0);
	list = nft_rule(b, "guard");
	nft_ifname(b->h, NFT_META_IIFNAME, NFT_CMP_EQ, d->bridge);
	nft_ip(b->h, 16, 0x7f000000, 8);
	nft_drop(b->h);
	nl_nest_end(b->h, list);
	/* Networks are isolated from each other, as Docker's are: what this
	 * bridge forwards to another of minirun's bridges (minirun0, or one
	 * named "mr-*") is dropped, unless it was DNATed: a published port
	 * stays reachable from every network, like any service of the host.
	 * `iifname BR oifname != BR oifname "mr-*"|"minirun0" ct status & dnat == 0 drop` */
	for (k = 0; k < 2; k++) {
		list = nft_rule(b, "isolate");
		nft_ifname(b->h, NFT_META_IIFNAME, NFT_CMP_EQ, d->bridge);
		nft_ifname(b->h, NFT_META_OIFNAME, NFT_CMP_NEQ, d->bridge);
		if (k == 0)
			nft_meta(b->h, NFT_META_OIFNAME, NFT_CMP_EQ, "mr-", 3);    /* a prefix */
		else
			nft_ifname(b->h, NFT_META_OIFNAME, NFT_CMP_EQ, NET_BRIDGE);
		nft_ct_dnat(b->h, NFT_CMP_EQ);
		nft_drop(b->h);
		nl_nest_end(b->h, list);
	}
}

/* CHAIN: (ip daddr HOSTIP | fib daddr type local) meta l4proto P
 * th dport HOSTPORT dnat to IP:PORT */
static void nft_dnat(struct nft_batch *b, const char *chain, const struct net_port *p, uint32_t ip)
{
	static const uint32_t fib[] = { NFTA_FIB_DREG, NFT_REG_1, NFTA_FIB_RESULT,
		NFT_FIB_RESULT_ADDRTYPE, NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR };
	static const uint32_t dport[] = { NFTA_PAYLOAD_DREG, NFT_REG_1, NFTA_PAYLOAD_BASE,
		NFT_PAYLOAD_TRANSPORT_HEADER, NFTA_PAYLOAD_OFFSET, 2, NFTA_PAYLOAD_LEN, 2 };
	static const uint32_t nat[] = { NFTA_NAT_TYPE, NFT_NAT_DNAT, NFTA_NAT_FAMILY, 2,
		NFTA_NAT_REG_ADDR_MIN, NFT_REG_1, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2 };
	uint32_t local = RTN_LOCAL, a = htonl(ip);     /* fib's answer: host order */
	uint16_t hport = htons(p->hport), cport = htons(p->cport);
	uint8_t proto = p->proto == 'u' ? IPPROTO_UDP : IPPROTO_TCP;
	uint32_t reg[] = { NFTA_IMMEDIATE_DREG, NFT_REG_1 };
	struct rtattr *list = nft_rule(b, chain);
	if (p->hip) {
		nft_ip(b->h, 16, p->hip, 32);
	} else {
		nft_plain(b->h, "fib", fib, 3);
		nft_cmp(b->h, NFT_CMP_EQ, &local, 4);
	}
	nft_meta(b->h, NFT_META_L4PROTO, NFT_CMP_EQ, &proto, 1);
	nft_plain(b->h, "payload", dport, 4);
	nft_cmp(b->h, NFT_CMP_EQ, &hport, 2);
	nft_expr_data(b->h, "immediate", reg, 1, NFTA_IMMEDIATE_DATA, &a, 4);
	reg[1] = NFT_REG_2;
	nft_expr_data(b->h, "immediate", reg, 1, NFTA_IMMEDIATE_DATA, &cport, 2);
	nft_plain(b->h, "nat", nat, 4);
	nl_nest_end(b->h, list);
}

struct nft_nets {
	int n;                          /* first: one-byte offsets in x86-64 code */
	struct net_def d[NFT_MAX_NETS];
};

static int nft_collect(struct mr_store *st, struct net_def *d, void *arg)
{
	struct nft_nets *a = arg;
	(void)st;
	if (d->ctrs && d->prefix && a->n < NFT_MAX_NETS)
		a->d[a->n++] = *d;
	return 0;
}

/* Send the batch; 0 or the first error (-errno) the kernel answers. */
static int nft_send(struct nft_batch *b)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	unsigned last = b->seq - 1;       /* the last message before BATCH_END */
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER), rc = 0, done = 0;
	size_t len = (size_t)((char *)nl_tail(b->h) - b->buf);
	if (fd < 0)
		return -errno;
	if (sendto(fd, b->buf, len, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
		rc = -errno;
	while (!rc && !done) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *r = (struct nlmsghdr *)buf;
		if (n < 0 && errno != EINTR)
			rc = -errno;
		for (; n > 0 && NLMSG_OK(r, (size_t)n) && !rc && !done; r = NLMSG_NEXT(r, n))
			if (r->nlmsg_type == NLMSG_ERROR) {
				rc = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
				done = r->nlmsg_seq == last;
			}
	}
	close(fd);
	return rc;
}

static int nft_full(struct nft_batch *b)
{
	return (char *)nl_tail(b->h) - b->buf > NFT_BATCH - NFT_ROOM;
}

/* rundir/ID/net's first line: address, proxy pid and its start time. */
static int net_rt_head(const char *q, char ip[16], int *pid, uint64_t *start)
{
	char skip[24];
	return util_word(&q, ip, 16) < 0 || util_word(&q, skip, sizeof skip) < 0 ||
	       util_word(&q, skip, sizeof skip) < 0 || util_word(&q, skip, sizeof skip) < 0 ||
	       util_word_int(&q, pid) < 0 || util_word_u64(&q, start, 10) < 0 ? -1 : 0;
}

/* DNAT rules of the containers on network d whose ports no proxy serves
 * (rundir/ID/net), each at its address on d: a stale file left by a
 * killed monitor names an address d no longer gives it. -ENOSPC when the
 * batch is full. */
static int nft_ports(struct nft_batch *b, struct mr_store *st, const struct net_def *d)
{
	struct mr_buf nb = { 0 }, rb = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *e;
	struct mr_err ignored;
	struct net_port p;
	const char *l;
	char ip[16];
	uint64_t start;
	uint32_t addr;
	int rfd, proxy, rc = 0;
	net_read(st, d->file, &nb, &doc);
	for (e = json_first(doc.root, "Containers"); e && !rc; e = e->next) {
		rfd = e->str && strlen(e->key) == CTR_ID_LEN ? ctr_rundir(st, e->key, 0) : -1;
		if (rfd < 0)
			continue;
		if (mr_read_file(rfd, "net", &rb, 1u << 16, &ignored) == 0 && rb.data &&
		    net_rt_head(rb.data, ip, &proxy, &start) == 0 && !proxy && !strcmp(ip, e->str) &&
		    net_ip_parse(ip, strlen(ip), &addr) == 0)
			for (l = net_next(rb.data); *l && !rc; l = net_next(l)) {
				if (net_port_line(l, &p) < 0)
					continue;
				if (nft_full(b)) {
					rc = -ENOSPC;
				} else {
					nft_dnat(b, "prerouting", &p, addr);
					nft_dnat(b, "output", &p, addr);
				}
			}
		close(rfd);
	}
	mr_json_free(&doc);
	mr_buf_free(&nb);
	mr_buf_free(&rb);
	return rc;
}

/* A base chain of the table. */
static void nft_chain(struct nft_batch *b, const char *name, uint32_t hook, int prio,
		      const char *type)
{
	struct rtattr *h;
	nft_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	nl_attr_str(b->h, NFTA_CHAIN_NAME, name);
	h = nft_nest(b->h, NFTA_CHAIN_HOOK);
	nft_u32(b->h, NFTA_HOOK_HOOKNUM, hook);
	nft_u32(b->h, NFTA_HOOK_PRIORITY, (uint32_t)prio);
	nl_nest_end(b->h, h);
	nl_attr_str(b->h, NFTA_CHAIN_TYPE, type);
}

/* Rebuild table ip minirun for the bridge networks in use and the ports
 * published by DNAT (store locked). */
static int nft_sync(struct mr_store *st, const char *what, struct mr_err *err)
{
	static struct nft_batch b;        /* 128 KiB: not on the stack */
	struct nft_nets nets;
	int i, rc = 0;
	b.h = NULL;
	b.seq = 0;
	nets.n = 0;
	net_each(st, nft_collect, &nets);
	nft_msg(&b, NFNL_MSG_BATCH_BEGIN, 0);
	/* NFTA_TABLE_NAME, NFTA_CHAIN_TABLE and NFTA_RULE_TABLE are all 1:
	 * nft_msg names the table in every message */
	nft_msg(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nft_msg(&b, NFT_MSG_DELTABLE, 0);
	if (nets.n) {
		nft_msg(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
		/* hooks: NF_INET_PRE_ROUTING 0, LOCAL_OUT 3, POST_ROUTING 4;
		 * priorities: raw -300, dstnat -100, srcnat 100 */
		nft_chain(&b, NFT_CHAIN, 4, 100, "nat");
		nft_chain(&b, "prerouting", 0, -100, "nat");
		nft_chain(&b, "output", 3, -100, "nat");
		nft_chain(&b, "guard", 0, -300, "filter");
		nft_chain(&b, "isolate", 2, 0, "filter");     /* NF_INET_FORWARD */
	}
	for (i = 0; i < nets.n && !rc; i++) {
		if (nft_full(&b))
			rc = -ENOSPC;
		else
			nft_net_rules(&b, &nets.d[i]);
		if (!rc)
			rc = nft_ports(&b, st, &nets.d[i]);
	}
	if (!rc) {
		nft_msg(&b, NFNL_MSG_BATCH_END, 0);
		rc = nft_send(&b);
	}
	if (rc >= 0)
		return 0;
	errno = -rc;
	return mr_err_sys(err, "network %s: %s", what, rc == -ENOENT || rc == -EOPNOTSUPP ||
			  rc == -EPROTONOSUPPORT ? "kernel has no nf_tables (masquerade, DNAT)" :
			  rc == -ENOSPC ? "too many published ports for one batch" :
			  "nf_tables rules");
}

/* ---- names on a created network ----
 * Docker answers container names, NAME.NETWORK, the short ID and
 * --network-alias aliases on user-defined networks (not on the default
 * bridge) from a DNS server in its daemon. minirun has no daemon: each start
 * and stop of a container on such a network rewrites, under the store lock,
 * the block of names at the end of the hosts file of every running container
 * on it (in place: the file is bind-mounted, a rename would leave the
 * container reading the old one). No process, no memory; a container
 * started again at another address is seen at once, as the start rewrites
 * every block. */

/* "IP\tNAME NAME.NETWORK ALIAS... SHORTID" of each container in ctrs. */
static void net_names_block(struct mr_store *st, const struct net_def *d,
			    const struct mr_json *ctrs, struct mr_buf *out)
{
	const struct mr_json *e;
	struct mr_buf conf = { 0 };
	struct mr_err ignored;
	for (e = ctrs ? ctrs->child : NULL; e; e = e->next) {
		struct ctr c;
		const char *l;
		int fd;
		memset(&c, 0, sizeof c);
		if (!e->str || ctr_load(st, e->key, &c, &ignored) < 0) {
			ctr_free(&c);
			continue;
		}
		mr_buf_printf(out, "%s\t%s %s.%s", e->str, c.name, c.name, d->name);
		conf.len = 0;
		fd = ctr_dir(st, e->key, &ignored);
		if (fd >= 0 && mr_read_file(fd, "net.conf", &conf, 1u << 16, &ignored) == 0 && conf.data)
			for (l = conf.data; *l; l = net_next(l))
				if (l[0] == 'a' && l[1] == ' ')
					mr_buf_printf(out, " %.*s", (int)strcspn(l + 2, "\n"), l + 2);
		util_close(fd);
		mr_buf_printf(out, " %.12s\n", e->key);
		ctr_free(&c);
	}
	mr_buf_free(&conf);
}

/* Rewrite the block of names in the hosts file of each container on the
 * created network d (nothing for the default bridge, as in Docker). */
static void net_names_sync(struct mr_store *st, const struct net_def *d)
{
	struct mr_buf b = { 0 }, block = { 0 }, hosts = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *ctrs, *e;
	struct mr_err ignored;
	if (strncmp(d->file, "networks/", 9) || mr_store_lock(st, &ignored) < 0)
		return;
	net_read(st, d->file, &b, &doc);
	ctrs = mr_json_get(doc.root, "Containers");
	net_names_block(st, d, ctrs, &block);
	for (e = ctrs ? ctrs->child : NULL; e; e = e->next) {
		int fd = ctr_dir(st, e->key, &ignored);
		if (fd < 0)
			continue;
		if (mr_read_file(fd, "hosts", &hosts, 1u << 20, &ignored) == 0 && hosts.data) {
			net_names_cut(&hosts);
			mr_buf_printf(&hosts, NET_NAMES_MARK "%s\n", d->name);
			mr_buf_append(&hosts, block.data ? block.data : "", block.len);
			rootfs_put(fd, "hosts", &hosts, &ignored);
		}
		close(fd);
	}
	mr_store_unlock(st);
	mr_json_free(&doc);
	mr_buf_free(&b);
	mr_buf_free(&block);
	mr_buf_free(&hosts);
}

/* A container renamed: the blocks of its network name it anew (Docker's
 * DNS answers the new name at once). */
static void net_names_update(struct mr_store *st, const char *network)
{
	struct net_def d;
	struct mr_err ignored;
	if (net_bridged(network) && strcmp(network, "bridge") && net_find(st, network, &d, &ignored) == 0)
		net_names_sync(st, &d);
}

/* ---- address allocation: the network's file under the store lock ---- */

/* Allocate (ip != NULL: lowest free for id) or release id on network d
 * (its file; filled from it). Returns the number of containers left
 * holding an address, -2 when id held none, or -1. */
static int net_alloc(struct mr_store *st, struct net_def *d, const char *id, uint32_t *ip,
		     struct mr_err *err)
{
	struct mr_buf b = { 0 }, out = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *e, *ctrs;
	struct mr_jw w;
	struct mr_err fw;
	uint32_t cand, used, bcast;
	int rc = -1, left = 0, taken;
	char s[16], cidr[20], file[sizeof d->file];
	if (mr_store_lock(st, err) < 0)
		return -1;
	snprintf(file, sizeof file, "%s", d->file);   /* net_def_fill clears d */
	net_read(st, file, &b, &doc);
	net_def_fill(d, file, doc.root);
	ctrs = mr_json_get(doc.root, "Containers");
	bcast = d->net | ~(~0u << (32 - d->prefix));
	if (ip && (!d->prefix || (!doc.root && strcmp(d->name, "bridge")))) {
		mr_err_set(err, MR_ENOTFOUND, "network %s not found", d->name);
		goto out;
	}
	if (ip) {
		for (cand = d->net + 1; cand < bcast; cand++) {
			taken = cand == d->gw;
			for (e = ctrs ? ctrs->child : NULL; e && !taken; e = e->next)
				taken = e->str && net_ip_parse(e->str, e->len, &used) == 0 &&
					used == cand && strcmp(e->key, id);
			if (!taken)
				break;
		}
		if (cand >= bcast) {
			mr_err_set(err, MR_EINVAL_INPUT, "network %s: no free address left in the "
				   "subnet", d->name);
			goto out;
		}
		*ip = cand;
	}
	for (e = ctrs ? ctrs->child : NULL; !ip && e && strcmp(e->key, id); e = e->next) {}
	if (!ip && !e) {
		rc = -2;                  /* held nothing: nothing to write */
		goto out;
	}
	mr_jw_init(&w, &out, 0);
	mr_jw_obj(&w);
	mr_jw_key(&w, "Subnet");
	net_cidr_str(d->net, d->prefix, cidr);
	mr_jw_str(&w, cidr);
	/* a created network's Name, Id, Created, Gateway stay as they are */
	for (e = doc.root ? doc.root->child : NULL; e; e = e->next)
		if (e->type == MR_JSON_STRING && strcmp(e->key, "Subnet")) {
			json_kstr(&w, e->key, e->str);
		}
	json_kobj(&w, "Containers");
	for (e = ctrs ? ctrs->child : NULL; e; e = e->next)
		if (strcmp(e->key, id) && e->str) {
			json_kstr(&w, e->key, e->str);
			left++;
		}
	if (ip) {
		net_ip_str(*ip, s);
		json_kstr(&w, id, s);
		left++;
	}
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	if (w.failed || net_write(st, file, &out, err) < 0)
		goto out;
	rc = left;
	if (!ip)                          /* a start syncs after its hosts file */
		net_names_sync(st, d);
	/* Without nf_tables (many embedded kernels) a warning, not a failure:
	 * containers still reach this host, each other and their published
	 * ports, which is what such devices mostly want; Docker refuses to start
	 * without iptables instead. */
	if (nft_sync(st, d->name, &fw) < 0 && ip)
		fprintf(stderr, "WARNING: %s; containers reach this host and each other, nothing "
			"beyond it\n", fw.msg);
out:
	mr_store_unlock(st);
	mr_json_free(&doc);
	mr_buf_free(&b);
	mr_buf_free(&out);
	return rc;
}

/* ---- published ports: DNAT, or the proxy ----
 * Where nf_tables does NAT, table ip minirun DNATs each published port
 * (nft_ports) and the kernel forwards the bytes: no process copies them.
 * The monitor then keeps the host ports bound (TCP listening, never
 * accepting: DNAT takes every packet before a socket sees it) so that no
 * other program can take them while the container runs, as Docker does;
 * rundir/ID/net says proxy pid 0. Elsewhere (a kernel without nf_tables
 * NAT, or MINIRUN_USERLAND_PROXY=1) a proxy process serves them. */

static struct {
	int fd[NET_MAX_PORTS], n;
} net_held;                               /* the monitor's bound host ports */

static void net_sysctl(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		util_write_all(fd, "1\n", 2);
		close(fd);
	}
}

/* Rebuild the rules with this container's ports in (its rundir/ID/net
 * written, no proxy). */
static int net_dnat(struct mr_store *st, const char *name)
{
	struct mr_err e;
	int rc = mr_store_lock(st, &e);
	if (rc == 0) {
		rc = nft_sync(st, name, &e);
		mr_store_unlock(st);
	}
	if (rc < 0)
		fprintf(stderr, "WARNING: %s; published ports of %s go through the userland "
			"proxy\n", e.msg, name);
	return rc;
}

/* The destination port of a CTA_TUPLE_ORIG if it is UDP, else -1. */
static int net_ct_udp_dport(struct rtattr *orig)
{
	struct rtattr *t, *p;
	int tl, pl, proto = -1, dport = -1;
	for (t = RTA_DATA(orig), tl = (int)RTA_PAYLOAD(orig); RTA_OK(t, tl); t = RTA_NEXT(t, tl)) {
		if ((t->rta_type & NLA_TYPE_MASK) != CTA_TUPLE_PROTO)
			continue;
		for (p = RTA_DATA(t), pl = (int)RTA_PAYLOAD(t); RTA_OK(p, pl); p = RTA_NEXT(p, pl)) {
			if ((p->rta_type & NLA_TYPE_MASK) == CTA_PROTO_NUM)
				proto = *(uint8_t *)RTA_DATA(p);
			else if ((p->rta_type & NLA_TYPE_MASK) == CTA_PROTO_DST_PORT)
				dport = ntohs(*(uint16_t *)RTA_DATA(p));
		}
	}
	return proto == IPPROTO_UDP ? dport : -1;
}

/* Forget the conntrack entries of the UDP host ports just published, as
 * Docker does: a client that kept sending (syslog, DNS, a sensor) before the
 * rules were in, or to the container's old address, owns an entry that
 * would bypass the new DNAT for as long as it keeps sending. The entries are
 * dumped, and those whose original tuple is UDP to one of the ports deleted
 * by that tuple. Best effort: conntrack may not even be loaded. */
static void net_ct_flush(const struct net_port *ports, int n)
{
	enum { CT_MAX = 256 };
	struct nfgenmsg g = { AF_INET, NFNETLINK_V0, 0 };
	struct nl_msg m;
	struct rtattr *hits[CT_MAX];
	static char buf[16384];
	int fd, i, k, nhits = 0, udp = 0, done = 0;
	for (i = 0; i < n; i++)
		udp |= ports[i].proto == 'u';
	if (!udp || (fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER)) < 0)
		return;
	nl_init(&m, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET, NLM_F_DUMP, &g, sizeof g);
	m.h.nlmsg_flags &= (unsigned short)~NLM_F_ACK;
	if (send(fd, &m.h, m.h.nlmsg_len, 0) < 0)
		done = 1;
	while (!done) {
		ssize_t len = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			break;
		for (; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof g));
			int alen = (int)h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof g));
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				done = 1;
			if (done || h->nlmsg_type != (NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW))
				continue;
			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				int dport = (a->rta_type & NLA_TYPE_MASK) == CTA_TUPLE_ORIG ?
					    net_ct_udp_dport(a) : -1;
				for (k = 0; dport >= 0 && k < n && nhits < CT_MAX; k++)
					if (ports[k].proto == 'u' && ports[k].hport == dport &&
					    a->rta_len <= 200) {
						hits[nhits] = util_xmalloc(a->rta_len);
						memcpy(hits[nhits++], a, a->rta_len);
						break;
					}
			}
		}
	}
	for (i = 0; i < nhits; i++) {
		nl_init(&m, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE, 0, &g, sizeof g);
		nl_attr(&m.h, hits[i]->rta_type, RTA_DATA(hits[i]), RTA_PAYLOAD(hits[i]));
		nl_talk(fd, &m.h);
		free(hits[i]);
	}
	close(fd);
}

static void net_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* One TCP connection, both directions through a pipe with splice(): the
 * data never enters user space. */
static void __attribute__((noreturn)) net_relay(int a, uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(ip) };
	int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), src[2], dst[2], p[2][2], eof[2] = { 0, 0 };
	size_t pend[2] = { 0, 0 };
	int i;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (b < 0 || connect(b, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    pipe2(p[0], O_CLOEXEC) < 0 || pipe2(p[1], O_CLOEXEC) < 0)
		_exit(1);
	/* 1 MiB pipes (the default is 64 KiB): far fewer splices and polls per
	 * byte; an unprivileged limit (pipe-max-size) only keeps the default */
	for (i = 0; i < 2; i++)
		fcntl(p[i][1], F_SETPIPE_SZ, NET_RELAY_PIPE);
	net_nonblock(a);
	net_nonblock(b);
	src[0] = dst[1] = a;
	src[1] = dst[0] = b;
	/* splice while anything moves; poll only when both sides would block */
	while (!(eof[0] && eof[1] && !pend[0] && !pend[1])) {
		struct pollfd pf[4];
		int moved = 0;
		for (i = 0; i < 2; i++) {
			ssize_t n;
			if (!eof[i] && !pend[i]) {
				n = splice(src[i], NULL, p[i][1], NULL, NET_RELAY_PIPE,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0) {
					pend[i] += (size_t)n;
					moved = 1;
				} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
					eof[i] = 1;
					shutdown(dst[i], SHUT_WR);
				}
			}
			if (pend[i]) {
				n = splice(p[i][0], NULL, dst[i], NULL, pend[i],
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0) {
					pend[i] -= (size_t)n;
					moved = 1;
				} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
					_exit(0);
				}
			}
		}
		if (moved)
			continue;
		for (i = 0; i < 2; i++) {
			pf[i].fd = !eof[i] && !pend[i] ? src[i] : -1;
			pf[i].events = POLLIN;
			pf[2 + i].fd = pend[i] ? dst[i] : -1;
			pf[2 + i].events = POLLOUT;
		}
		if (!(eof[0] && eof[1] && !pend[0] && !pend[1]) && poll(pf, 4, -1) < 0 &&
		    errno != EINTR)
			_exit(1);
	}
	_exit(0);
}

struct net_udp {
	struct sockaddr_in peer;
	int fd, port;                     /* port: index of the listener */
	time_t last;
};

static void net_udp_in(const struct net_port *ports, int *lfd, int i, uint32_t ip,
		       struct net_udp *u)
{
	char buf[65536];
	struct sockaddr_in from, to = { .sin_family = AF_INET };
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(lfd[i], buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	int k, old = 0;
	if (n < 0)
		return;
	for (k = 0; k < NET_UDP_SESSIONS; k++) {
		if (u[k].fd >= 0 && u[k].port == i && u[k].peer.sin_port == from.sin_port &&
		    u[k].peer.sin_addr.s_addr == from.sin_addr.s_addr)
			break;
		if (u[k].fd < 0 || (u[old].fd >= 0 && u[k].last < u[old].last))
			old = k;
	}
	if (k == NET_UDP_SESSIONS) {
		k = old;
		util_close(u[k].fd);
		to.sin_port = htons(ports[i].cport);
		to.sin_addr.s_addr = htonl(ip);
		u[k].fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (u[k].fd < 0)
			return;
		if (connect(u[k].fd, (struct sockaddr *)&to, sizeof to) < 0) {
			close(u[k].fd);
			u[k].fd = -1;
			return;
		}
		u[k].peer = from;
		u[k].port = i;
	}
	u[k].last = time(NULL);
	send(u[k].fd, buf, (size_t)n, MSG_DONTWAIT);
}

static void __attribute__((noreturn)) net_proxy(const struct net_port *ports, int *lfd, int n,
						uint32_t ip)
{
	struct net_udp u[NET_UDP_SESSIONS];
	struct pollfd pf[NET_MAX_PORTS + NET_UDP_SESSIONS];
	char buf[65536];
	int i, k, fd;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_NAME, "minirun-proxy", 0, 0, 0);
	signal(SIGCHLD, SIG_IGN);     /* connection handlers reap themselves */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (i = 0; fd >= 0 && i < 3; i++)
		dup2(fd, i);
	/* nothing of the monitor's: a report pipe held open here would keep
	 * `run -d` waiting for its end */
	for (fd = 3; fd < 4096; fd++) {
		for (i = 0; i < n && lfd[i] != fd; i++) {}
		if (i == n)
			close(fd);
	}
	for (k = 0; k < NET_UDP_SESSIONS; k++)
		u[k].fd = -1;
	for (;;) {
		for (i = 0; i < n; i++) {
			pf[i].fd = lfd[i];
			pf[i].events = POLLIN;
		}
		for (k = 0; k < NET_UDP_SESSIONS; k++) {
			pf[n + k].fd = u[k].fd;
			pf[n + k].events = POLLIN;
		}
		if (poll(pf, (nfds_t)(n + NET_UDP_SESSIONS), -1) < 0)
			continue;
		for (i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (ports[i].proto == 'u') {
				net_udp_in(ports, lfd, i, ip, u);
				continue;
			}
			fd = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0)
				continue;
			fcntl(fd, F_SETFL, 0);
			if (fork() == 0) {
				for (k = 0; k < n; k++)
					close(lfd[k]);
				net_relay(fd, ip, ports[i].cport);
			}
			close(fd);
		}
		for (k = 0; k < NET_UDP_SESSIONS; k++) {
			ssize_t r;
			if (u[k].fd < 0 || !pf[n + k].revents)
				continue;
			r = recv(u[k].fd, buf, sizeof buf, MSG_DONTWAIT);
			if (r >= 0)
				sendto(lfd[u[k].port], buf, (size_t)r, MSG_DONTWAIT,
				       (struct sockaddr *)&u[k].peer, sizeof u[k].peer);
		}
	}
}

/* Bind every published port (a free one for HOSTPORT 0, written back). */
static int net_listen(struct net_port *ports, int *lfd, int n, struct mr_err *err)
{
	int i;
	for (i = 0; i < n; i++) {
		struct sockaddr_in a;
		socklen_t al = sizeof a;
		lfd[i] = net_bind(&ports[i], err);
		if (lfd[i] < 0)
			return -1;
		if (ports[i].proto == 't' && listen(lfd[i], 128) < 0)
			return mr_err_sys(err, "listen");
		getsockname(lfd[i], (struct sockaddr *)&a, &al);
		ports[i].hport = ntohs(a.sin_port);
	}
	return 0;
}

static void net_veth_name(const char *id, char *out)
{
	sprintf(out, "mr%.12s", id);
}

static void net_mac(uint32_t ip, unsigned char *mac)
{
	mac[0] = 0x02, mac[1] = 0x42;
	mac[2] = (unsigned char)(ip >> 24), mac[3] = (unsigned char)(ip >> 16);
	mac[4] = (unsigned char)(ip >> 8), mac[5] = (unsigned char)ip;
}

static void net_link_gone(const char *name)
{
	int fd = nl_open();
	if (fd >= 0) {
		nl_link_del(fd, name);
		close(fd);
	}
}

/* Release id's address on network d; after its last container the bridge
 * goes (net_alloc has already taken its rule out). */
static int net_release(struct mr_store *st, struct net_def *d, void *id)
{
	struct mr_err ignored;
	if (d->file[0] && net_alloc(st, d, id, NULL, &ignored) == 0)
		net_link_gone(d->bridge);
	return 0;
}

/* ---- network create and inspect ---- */

struct net_overlap {
	uint32_t net;
	int prefix;
	const char *name;
};

/* 2: the name is taken; 1: the subnets overlap. */
static int net_overlaps(struct mr_store *st, struct net_def *d, void *arg)
{
	struct net_overlap *o = arg;
	int p = d->prefix < o->prefix ? d->prefix : o->prefix;
	(void)st;
	if (!strcmp(d->name, o->name))
		return 2;
	return d->prefix && !((d->net ^ o->net) >> (32 - p));
}

/* networks/ID.json; without a subnet the first free 10.N.0.0/16 above the
 * default bridge's. The new ID goes to id. */
static int net_create(struct mr_store *st, const char *name, const char *subnet,
		      const char *gateway, char id[65], struct mr_err *err)
{
	struct net_overlap o = { 0, 16, name };
	struct mr_buf out = { 0 };
	struct mr_jw w;
	struct timespec now;
	unsigned char rnd[32];
	char s[16], cidr[20], created[48], file[80];
	uint32_t gw, k = 89;
	int rc = -1, clash;
	if (!ctr_name_valid(name))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid network name \"%s\": only "
				  "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
	if (subnet && net_cidr_parse(subnet, &o.net, &o.prefix) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid subnet %s (expected "
				  "a.b.c.d/8 to /30)", subnet);
	if (mr_store_lock(st, err) < 0)
		return -1;
	for (;; k++) {
		if (!subnet)
			o.net = 10u << 24 | k << 16;
		clash = net_each(st, net_overlaps, &o);
		if (clash == 2) {
			mr_err_set(err, MR_EEXIST, "network with name %s already exists", name);
			goto out;
		}
		if (!clash)
			break;
		if (subnet || k == 255) {
			mr_err_set(err, MR_EINVAL_INPUT, "Pool overlaps with other one on this address space");
			goto out;
		}
	}
	gw = o.net + 1;
	if (gateway && (net_ip_parse(gateway, strlen(gateway), &gw) < 0 || gw <= o.net ||
			gw >= (o.net | ~(~0u << (32 - o.prefix))))) {
		mr_err_set(err, MR_EINVAL_INPUT, "no matching subnet for gateway %s", gateway);
		goto out;
	}
	if (util_random(rnd, sizeof rnd) < 0) {
		mr_err_sys(err, "random");
		goto out;
	}
	util_hex(rnd, sizeof rnd, id);
	clock_gettime(CLOCK_REALTIME, &now);
	util_time_rfc3339(&now, created, sizeof created);
	net_cidr_str(o.net, o.prefix, cidr);
	net_ip_str(gw, s);
	mr_jw_init(&w, &out, 0);
	mr_jw_obj(&w);
	json_kstr(&w, "Subnet", cidr);
	json_kstr(&w, "Name", name);
	json_kstr(&w, "Id", id);
	json_kstr(&w, "Created", created);
	json_kstr(&w, "Gateway", s);
	json_kobj(&w, "Containers");
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	snprintf(file, sizeof file, "networks/%s.json", id);
	if (mkdirat(st->rootfd, "networks", 0700) < 0 && errno != EEXIST)
		mr_err_sys(err, "networks folder");
	else if (!w.failed)
		rc = net_write(st, file, &out, err);
out:
	mr_store_unlock(st);
	mr_buf_free(&out);
	return rc;
}

/* One network as `network inspect` shows it, Docker's shape. */
static void net_inspect_one(struct mr_store *st, const struct net_def *d, struct mr_jw *w)
{
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *e;
	char s[16], v[24];
	unsigned char m[6];
	uint32_t ip;
	if (d->file[0])
		net_read(st, d->file, &b, &doc);
	mr_jw_obj(w);
	json_kstr(w, "Name", d->name);
	json_kstr(w, "Id", d->id);
	json_kstr(w, "Created", json_get_str(doc.root, "Created") ?: "0001-01-01T00:00:00Z");
	json_kstr(w, "Scope", "local");
	json_kstr(w, "Driver", d->driver);
	json_kbool(w, "EnableIPv6", 0);
	json_kobj(w, "IPAM");
	json_kstr(w, "Driver", "default");
	json_karr(w, "Config");
	if (d->file[0]) {
		mr_jw_obj(w);
		net_cidr_str(d->net, d->prefix, v);
		json_kstr(w, "Subnet", v);
		net_ip_str(d->gw, s);
		json_kstr(w, "Gateway", s);
		mr_jw_obj_end(w);
	}
	mr_jw_arr_end(w);
	mr_jw_obj_end(w);
	json_kobj(w, "Containers");
	for (e = json_first(doc.root, "Containers"); e; e = e->next) {
		struct ctr c;
		struct mr_err ignored;
		if (!e->str || net_ip_parse(e->str, e->len, &ip) < 0)
			continue;
		json_kobj(w, e->key);
		memset(&c, 0, sizeof c);
		json_kstr(w, "Name", ctr_load(st, e->key, &c, &ignored) == 0 ? c.name : "");
		ctr_free(&c);
		net_mac(ip, m);
		snprintf(v, sizeof v, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
		json_kstr(w, "MacAddress", v);
		snprintf(v, sizeof v, "%s/%d", e->str, d->prefix);
		json_kstr(w, "IPv4Address", v);
		json_kstr(w, "IPv6Address", "");
		mr_jw_obj_end(w);
	}
	mr_jw_obj_end(w);
	/* Docker's last two keys: no driver options or labels are kept */
	json_kobj(w, "Options");
	mr_jw_obj_end(w);
	json_kobj(w, "Labels");
	mr_jw_obj_end(w);
	mr_jw_obj_end(w);
	mr_json_free(&doc);
	mr_buf_free(&b);
}

/* Undo net_start: proxy, veth, address (and the bridge after the last).
 * Safe to call many times, from the monitor or from rm. */
static void net_stop(struct mr_store *st, const char *id)
{
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	char name[20], ip[16];
	int rfd = ctr_rundir(st, id, 0), fd, pid = 0;
	uint64_t start = 0;
	while (net_held.n > 0)
		close(net_held.fd[--net_held.n]);
	if (rfd >= 0) {
		if (mr_read_file(rfd, "net", &b, 1u << 16, &ignored) == 0 && b.data &&
		    net_rt_head(b.data, ip, &pid, &start) == 0 && pid > 0 &&
		    ctr_pid_start(pid) == start)
			kill(pid, SIGKILL);
		unlinkat(rfd, "net", 0);
		close(rfd);
	}
	mr_buf_free(&b);
	net_veth_name(id, name);
	fd = nl_open();
	if (fd >= 0) {
		nl_link_del(fd, name);
		close(fd);
	}
	net_each(st, net_release, (void *)id);
}

/* Parent side of the start, between the clone and the child's go: address,
 * veth, routes, published ports; /etc/hosts and resolv.conf. The child is
 * waiting, so the network is complete before its program runs. */
static int net_start(struct ctr_spawn *sp, struct mr_err *err)
{
	const struct ctr *c = sp->c;
	struct mr_buf conf = { 0 }, rt = { 0 };
	struct net_port ports[NET_MAX_PORTS];
	struct net_def d;
	int lfd[NET_MAX_PORTS], n = 0, i, fd = -1, br, rc = -1, rfd;
	uint32_t ip = 0;
	unsigned char mac[6];
	char host[20], ips[16], gws[16], path[64];
	const char *l;
	pid_t proxy = 0;
	net_conf_read(sp, &conf);
	if (!net_bridged(c->network)) {
		rc = net_etc(sp, conf.data, NULL, "", err);
		mr_buf_free(&conf);
		return rc;
	}
	for (l = conf.data; *l && n < NET_MAX_PORTS; l = net_next(l))
		if (net_port_line(l, &ports[n]) == 0)
			lfd[n++] = -1;
	if (net_find(sp->st, c->network, &d, err) < 0 || net_alloc(sp->st, &d, c->id, &ip, err) < 0)
		goto out;
	net_ip_str(ip, ips);
	net_ip_str(d.gw, gws);
	net_veth_name(c->id, host);
	net_mac(ip, mac);
	fd = nl_open();
	if (fd < 0) {
		mr_err_sys(err, "netlink");
		goto out;
	}
	nl_link_del(fd, host);            /* left by a killed monitor */
	if ((br = net_bridge(fd, d.bridge, d.gw, d.prefix, err)) < 0 ||
	    net_veth(fd, host, br, sp->pid, mac, err) < 0 ||
	    net_inside(sp->pid, ip, d.prefix, d.gw, err) < 0)
		goto out;
	net_sysctl("/proc/sys/net/ipv4/ip_forward");
	/* 127.0.0.1:HOSTPORT DNATed into the bridge (the guard rule keeps
	 * the containers off the host's 127.0.0.0/8) */
	snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/route_localnet", d.bridge);
	net_sysctl(path);
	if (net_etc(sp, conf.data, ips, gws, err) < 0 || net_listen(ports, lfd, n, err) < 0)
		goto out;
	net_names_sync(sp->st, &d);
	/* the mappings with proxy 0 first: DNAT's rules are made from them */
	for (;;) {
		rt.len = 0;
		mr_buf_printf(&rt, "%s %d %s %02x:%02x:%02x:%02x:%02x:%02x %d %llu\n", ips,
			      d.prefix, gws, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
			      (int)proxy, proxy ? ctr_pid_start(proxy) : 0ULL);
		for (i = 0; i < n; i++)
			net_port_fmt(&ports[i], &rt);
		rfd = ctr_rundir(sp->st, c->id, 1);
		rc = rfd < 0 ? mr_err_sys(err, "run folder") :
			ctr_write_file(rfd, "net", rt.data, rt.len, 0, err);
		util_close(rfd);
		if (rc < 0 || !n || proxy)
			break;
		if (!(l = getenv("MINIRUN_USERLAND_PROXY"), l && !strcmp(l, "1")) &&
		    net_dnat(sp->st, c->name) == 0) {
			nl_hairpin(fd, (int)if_nametoindex(host));
			net_ct_flush(ports, n);
			for (i = 0; i < n && net_held.n < NET_MAX_PORTS; i++) {
				net_held.fd[net_held.n++] = lfd[i];
				lfd[i] = -1;
			}
			break;
		}
		proxy = fork();
		if (proxy == 0)
			net_proxy(ports, lfd, n, ip);
		if (proxy < 0) {
			rc = mr_err_sys(err, "fork the port proxy");
			break;
		}
	}
out:
	for (i = 0; i < n; i++)
		util_close(lfd[i]);
	util_close(fd);
	if (rc < 0) {
		if (proxy > 0)
			kill(proxy, SIGKILL);
		if (ip)
			net_stop(sp->st, c->id);
		mr_err_ctx(err, "network of %s", c->name);
	}
	mr_buf_free(&conf);
	mr_buf_free(&rt);
	return rc;
}

#else /* !MINIRUN_WITH_NET */

static void net_names_update(struct mr_store *st, const char *network)
{
	(void)st, (void)network;
}

static void net_stop(struct mr_store *st, const char *id)
{
	(void)st, (void)id;
}

static int net_start(struct ctr_spawn *sp, struct mr_err *err)
{
	struct mr_buf conf = { 0 };
	int rc;
	net_conf_read(sp, &conf);
	rc = net_etc(sp, conf.data, NULL, "", err);
	mr_buf_free(&conf);
	return rc;
}

#endif /* MINIRUN_WITH_NET */

/* The live mappings of a container (rundir/ID/net), for port and inspect. */
static int net_rt_read(struct mr_store *st, const char *id, struct mr_buf *b)
{
	struct mr_err ignored;
	int rfd = ctr_rundir(st, id, 0), rc;
	b->len = 0;
	if (rfd < 0)
		return -1;
	rc = mr_read_file(rfd, "net", b, 1u << 16, &ignored);
	close(rfd);
	return rc < 0 || !b->data ? -1 : 0;
}

/* inspect: NetworkSettings' address fields and Ports. */
static void net_inspect(struct mr_store *st, const struct ctr *c, int running, struct mr_jw *w)
{
	struct mr_buf b = { 0 };
	char ip[16] = "", gw[16] = "", mac[20] = "", hp[8];
	int prefix = 0;
	const char *l;
	const char *q = NULL;
	if (!running || net_rt_read(st, c->id, &b) < 0 || !(q = b.data) ||
	    util_word(&q, ip, sizeof ip) < 0 || util_word_int(&q, &prefix) < 0 ||
	    util_word(&q, gw, sizeof gw) < 0 || util_word(&q, mac, sizeof mac) < 0) {
		ip[0] = gw[0] = mac[0] = 0;
		prefix = 0;
	}
	json_kobj(w, "Ports");
	for (l = ip[0] ? strchr(b.data, '\n') : NULL; l && *++l; l = strchr(l, '\n')) {
		struct net_port p;
		char key[16], hip[16];
		if (net_port_line(l, &p) < 0)
			break;
		snprintf(key, sizeof key, "%u/%s", p.cport, p.proto == 'u' ? "udp" : "tcp");
		net_ip_str(p.hip, hip);
		snprintf(hp, sizeof hp, "%u", p.hport);
		json_karr(w, key);
		mr_jw_obj(w);
		json_kstr(w, "HostIp", hip);
		json_kstr(w, "HostPort", hp);
		mr_jw_obj_end(w);
		mr_jw_arr_end(w);
	}
	mr_jw_obj_end(w);
	json_kstr(w, "Gateway", gw);
	json_kstr(w, "IPAddress", ip);
	json_kint(w, "IPPrefixLen", prefix);
	json_kstr(w, "MacAddress", mac);
	mr_buf_free(&b);
}

/* A network's ID by name (empty when unknown or built without networking). */
#if MINIRUN_WITH_NET
static void net_id_of(struct mr_store *st, const char *name, char *id, size_t size)
{
	struct net_def d;
	struct mr_err ignored;
	util_scopy(id, size, net_find(st, name, &d, &ignored) == 0 ? d.id : "");
}
#else
static void net_id_of(struct mr_store *st, const char *name, char *id, size_t size)
{
	(void)st;
	(void)name;
	util_scopy(id, size, "");
}
#endif

/* inspect: NetworkSettings.Networks, one endpoint as Docker shows it; the
 * address fields only while running, Aliases (the short ID) on networks
 * users create. EndpointID: derived from the container and network IDs
 * (there is no daemon to keep a random one). */
static void net_inspect_networks(struct mr_store *st, const struct ctr *c, int running,
				 struct mr_jw *w)
{
	struct mr_buf b = { 0 };
	char ip[16] = "", gw[16] = "", mac[20] = "", nid[65], ep[MR_DIGEST_LEN + 1], buf[160];
	int prefix = 0, user = strcmp(c->network, "bridge") && net_bridged(c->network);
	const char *q = NULL;
	json_kobj(w, "Networks");
	if (!strncmp(c->network, "container:", 10)) {
		mr_jw_obj_end(w);
		return;
	}
	if (!running || net_rt_read(st, c->id, &b) < 0 || !(q = b.data) ||
	    util_word(&q, ip, sizeof ip) < 0 || util_word_int(&q, &prefix) < 0 ||
	    util_word(&q, gw, sizeof gw) < 0 || util_word(&q, mac, sizeof mac) < 0) {
		ip[0] = gw[0] = mac[0] = 0;
		prefix = 0;
	}
	net_id_of(st, c->network, nid, sizeof nid);
	snprintf(buf, sizeof buf, "%s %s", c->id, nid);
	mr_digest_buf(buf, strlen(buf), ep);
	json_kobj(w, c->network);
	json_kstr(w, "IPAMConfig", NULL);
	json_kstr(w, "Links", NULL);
	mr_jw_key(w, "Aliases");
	if (user) {
		mr_jw_arr(w);
		util_scopyn(buf, sizeof buf, c->id, 12);
		mr_jw_str(w, buf);
		mr_jw_arr_end(w);
	} else {
		mr_jw_null(w);
	}
	json_kstr(w, "NetworkID", nid);
	json_kstr(w, "EndpointID", running ? ep + 7 : "");
	json_kstr(w, "Gateway", gw);
	json_kstr(w, "IPAddress", ip);
	json_kint(w, "IPPrefixLen", prefix);
	json_kstr(w, "IPv6Gateway", "");
	json_kstr(w, "GlobalIPv6Address", "");
	json_kint(w, "GlobalIPv6PrefixLen", 0);
	json_kstr(w, "MacAddress", mac);
	json_kstr(w, "DriverOpts", NULL);
	mr_jw_obj_end(w);
	mr_jw_obj_end(w);
	mr_buf_free(&b);
}

struct cli;
static int cmd_port(struct cli *cl, int argc, char **argv);   /* [24] */
