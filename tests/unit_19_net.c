/* Networking ([19] NET): subnets, network records, the nf_tables batch. */

/* The offset of needle in the bytes of h..end, or -1. */
static long unit_find(const struct nlmsghdr *h, const void *needle, size_t n)
{
	const char *p = memmem(h, h->nlmsg_len, needle, n);
	return p ? (long)(p - (const char *)h) : -1;
}

struct unit_bytes {
	const void *p;
	size_t n;
};

/* Do the needles stand in h in this order (each after the one before)? */
static int unit_in_order(const struct nlmsghdr *h, const struct unit_bytes *nd, int k)
{
	const char *at = (const char *)h, *end = at + h->nlmsg_len;
	for (; k > 0 && at; k--, nd++)
		if ((at = memmem(at, (size_t)(end - at), nd->p, nd->n)) != NULL)
			at += nd->n;
	return at != NULL;
}
#define UB(s) { s, sizeof s }

static void test_net(void)
{
	struct net_overlap o = { 0, 0, "x" };
	struct net_def d;
	struct nft_batch b;
	struct nlmsghdr *m;
	const struct nfgenmsg *g;
	static const unsigned char mask[] = { 0xff, 0xff, 0, 0 }, net[] = { 10, 88, 0, 0 };
	static const char ifname[16] = "minirun0";
	uint32_t ip;
	int prefix;

	CHECK(net_cidr_parse("10.77.0.5/24", &ip, &prefix) == 0 && ip == 0x0a4d0000 && prefix == 24);
	CHECK(net_cidr_parse("10.77.0.0/31", &ip, &prefix) < 0);
	CHECK(net_cidr_parse("10.77.0.0/7", &ip, &prefix) < 0);
	CHECK(net_cidr_parse("10.77.0/24", &ip, &prefix) < 0);

	/* a network's file: the default one, and a created one */
	unsetenv("MINIRUN_SUBNET");
	net_def_fill(&d, "network.json", NULL);
	CHECK(!strcmp(d.name, "bridge") && !strcmp(d.bridge, "minirun0") && d.net == 0x0a580000 &&
	      d.prefix == 16 && d.gw == 0x0a580001 && d.ctrs == 0 && strlen(d.id) == 64);
	{
		static const char text[] = "{\"Subnet\":\"192.168.7.0/24\",\"Name\":\"lan\",\"Id\":\""
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
			"\"Gateway\":\"192.168.7.254\",\"Containers\":{\"a\":\"192.168.7.1\"}}";
		struct mr_json_doc doc = { 0 };
		struct mr_err err;
		CHECK(mr_json_parse(&doc, text, sizeof text - 1, &err) == 0);
		net_def_fill(&d, "networks/x.json", doc.root);
		CHECK(!strcmp(d.name, "lan") && !strcmp(d.bridge, "mr-0123456789ab") &&
		      d.net == 0xc0a80700 && d.prefix == 24 && d.gw == 0xc0a807fe && d.ctrs == 1);
		mr_json_free(&doc);
	}

	/* overlapping subnets, names taken */
	o.net = 0x0a580500, o.prefix = 24;
	CHECK(net_overlaps(NULL, &d, &o) == 0);
	d.net = 0x0a580000, d.prefix = 16;
	CHECK(net_overlaps(NULL, &d, &o) == 1);
	o.net = 0x0a590000, o.prefix = 16;
	CHECK(net_overlaps(NULL, &d, &o) == 0);
	o.name = "lan";
	CHECK(net_overlaps(NULL, &d, &o) == 2);

	/* the masquerade rule, framed by the batch messages as nft sends them */
	net_def_fill(&d, "network.json", NULL);
	b.h = NULL;
	b.seq = 0;
	nft_msg(&b, NFNL_MSG_BATCH_BEGIN, 0);
	nft_masq(&b, d.net, d.prefix, NFT_CMP_NEQ, d.bridge, 0);
	nft_msg(&b, NFNL_MSG_BATCH_END, 0);
	m = &b.first;
	g = NLMSG_DATA(m);
	CHECK(m->nlmsg_type == NFNL_MSG_BATCH_BEGIN && m->nlmsg_seq == 1 &&
	      g->res_id == htons(NFNL_SUBSYS_NFTABLES) && !(m->nlmsg_flags & NLM_F_ACK));
	m = nl_tail(m);
	g = NLMSG_DATA(m);
	CHECK(m->nlmsg_type == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE) && m->nlmsg_seq == 2 &&
	      g->nfgen_family == 2 &&
	      (m->nlmsg_flags & (NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND)) ==
	      (NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND));
	CHECK(unit_find(m, "minirun", 8) > 0 && unit_find(m, "postrouting", 12) > 0);
	/* the expressions in order: payload, bitwise, cmp, meta, cmp, masq */
	CHECK(unit_find(m, "payload", 8) < unit_find(m, "bitwise", 8) &&
	      unit_find(m, "bitwise", 8) < unit_find(m, "cmp", 4) &&
	      unit_find(m, "cmp", 4) < unit_find(m, "meta", 5) &&
	      unit_find(m, "meta", 5) < unit_find(m, "masq", 5));
	CHECK(unit_find(m, mask, 4) > 0 && unit_find(m, net, 4) > unit_find(m, mask, 4) &&
	      unit_find(m, ifname, 16) > unit_find(m, "meta", 5));
	m = nl_tail(m);
	CHECK(m->nlmsg_type == NFNL_MSG_BATCH_END && m->nlmsg_seq == 3 &&
	      (char *)nl_tail(m) - b.buf < (long)sizeof b.buf);

	/* a network's four rules: three masquerades, then the guard's drop */
	b.h = NULL;
	b.seq = 0;
	nft_net_rules(&b, &d);
	m = nl_tail(&b.first);
	{
		static const struct unit_bytes hairpin[] = { UB("payload"), UB(net), UB("meta"),
			UB(ifname), UB("ct"), UB("bitwise"), UB("cmp"), UB("masq") };
		CHECK(unit_in_order(m, hairpin, 8));
	}
	m = nl_tail(m);
	CHECK(unit_find(m, (const char[]){ 127, 0, 0, 0 }, 4) > 0 && unit_find(m, "ct", 3) < 0);
	m = nl_tail(m);
	{
		static const unsigned char lo[] = { 127, 0, 0, 0 }, lomask[] = { 255, 0, 0, 0 },
			drop[] = { 8, 0, NFTA_VERDICT_CODE, 0, 0, 0, 0, 0 };
		static const struct unit_bytes guard[] = { UB("guard"), UB("meta"), UB(ifname),
			UB("payload"), UB(lomask), UB(lo), UB("immediate"), UB(drop) };
		CHECK(unit_in_order(m, guard, 8) && unit_find(m, "masq", 5) < 0);
	}
	/* the two isolation rules: to bridges named "mr-*", to minirun0; not DNATed */
	m = nl_tail(m);
	{
		static const unsigned char zero[] = { 0, 0, 0, 0 };
		static const struct unit_bytes iso[] = { UB("isolate"), UB("meta"), UB(ifname), UB("meta"),
			UB(ifname), UB("meta"), UB("mr-"), UB("ct"), UB("bitwise"), UB(zero), UB("immediate") };
		CHECK(unit_in_order(m, iso, 11));
	}
	m = nl_tail(m);
	CHECK(unit_find(m, "isolate", 8) > 0 && unit_find(m, "minirun0", 9) > 0 && unit_find(m, "immediate", 10) > 0);
	CHECK(b.seq == 6);

	/* DNAT: fib daddr type local (any host address) or ip daddr HOSTIP,
	 * l4proto, th dport, the address and port in registers 1 and 2 */
	{
		struct net_port p = { 'u', 0, 5301, 53 };
		static const unsigned char to[] = { 10, 88, 0, 2 }, local[] = { 2, 0, 0, 0 },
			udp[] = { IPPROTO_UDP }, hport[] = { 5301 >> 8, 5301 & 255 },
			cport[] = { 0, 53 }, lo1[] = { 127, 0, 0, 1 };
		static const struct unit_bytes any[] = { UB("prerouting"), UB("fib"), UB(local),
			UB("meta"), UB(udp), UB("payload"), UB(hport), UB("immediate"), UB(to),
			UB("immediate"), UB(cport), UB("nat") };
		static const struct unit_bytes one[] = { UB("output"), UB("payload"), UB(lo1),
			UB("meta"), UB("payload"), UB("nat") };
		b.h = NULL;
		b.seq = 0;
		nft_dnat(&b, "prerouting", &p, 0x0a580002);
		m = &b.first;
		CHECK(unit_in_order(m, any, 12));
		p.hip = 0x7f000001;
		p.proto = 't';
		nft_dnat(&b, "output", &p, 0x0a580002);
		m = nl_tail(m);
		CHECK(unit_in_order(m, one, 6) && unit_find(m, "fib", 4) < 0);
	}
}
