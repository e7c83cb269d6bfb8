/* ==== [05] DIGEST: sha256 (SHA-NI, else BearSSL's rounds), digest strings ====
 * Only sha256 is accepted: it is what every registry and archive writer uses,
 * and a digest is validated before it is ever used as a path. */

/* see minirun.h */
int mr_digest_valid(const char *s)
{
	int i;
	if (!s || strncmp(s, "sha256:", 7) != 0)
		return -1;
	for (i = 0; i < 64; i++) {
		char c = s[7 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
	}
	return s[71] == 0 ? 0 : -1;
}

/* SHA-256 over whole layers is the largest CPU cost of a load (BearSSL's
 * portable rounds run at ~140 MB/s here). On x86-64 CPUs with the SHA
 * extensions and arm64 CPUs with the ARMv8 SHA2 instructions the rounds run
 * in hardware (measured on x86-64: a 457 MiB gzip load from 9.3 s to 5.7 s);
 * elsewhere BearSSL's round function does the work. */
void br_sha2small_round(const unsigned char *buf, uint32_t *val);

struct digest_ctx {
	uint32_t h[8];
	unsigned char buf[64];
	uint64_t count;
};

#if defined(__x86_64__) || defined(__aarch64__)
static const uint32_t digest_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
#endif

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* Four rounds per step with sha256rnds2, the message schedule four words
 * ahead with sha256msg1/msg2 (Intel's SHA extensions). */
__attribute__((target("sha,sse4.1")))
static void digest_blocks_ni(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);
	__m128i st1 = _mm_loadu_si128((const __m128i *)&h[4]);
	__m128i st0;
	tmp = _mm_shuffle_epi32(tmp, 0xB1);          /* CDAB */
	st1 = _mm_shuffle_epi32(st1, 0x1B);          /* EFGH */
	st0 = _mm_alignr_epi8(tmp, st1, 8);          /* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);       /* CDGH */
	for (; n; n--, p += 64) {
		__m128i save0 = st0, save1 = st1, w[4];
		int i;
		/* Unrolled, so w[] lives in registers: at -Os the schedule went
		 * through the stack and the rounds ran at half speed (330 against
		 * 600 MB/s here), for about 600 bytes of code. */
#pragma GCC unroll 4
		for (i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
#pragma GCC unroll 16
		for (i = 0; i < 16; i++) {
			__m128i m = _mm_add_epi32(w[i & 3],
						  _mm_loadu_si128((const __m128i *)&digest_k[4 * i]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, m);
			if (i < 12) {
				__m128i next = _mm_add_epi32(_mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]),
							     _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				w[i & 3] = _mm_sha256msg2_epu32(next, w[(i + 3) & 3]);
			}
			st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(m, 0x0E));
		}
		st0 = _mm_add_epi32(st0, save0);
		st1 = _mm_add_epi32(st1, save1);
	}
	tmp = _mm_shuffle_epi32(st0, 0x1B);          /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);          /* DCHG */
	st0 = _mm_blend_epi16(tmp, st1, 0xF0);       /* DCBA */
	st1 = _mm_alignr_epi8(st1, tmp, 8);          /* ABEF */
	_mm_storeu_si128((__m128i *)&h[0], st0);
	_mm_storeu_si128((__m128i *)&h[4], st1);
}

static int digest_have_ni(void)
{
	static int have = -1;
	unsigned a, b, c, d;
	if (have < 0)
		have = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1) &&
		       __get_cpuid(1, &a, &b, &c, &d) && (c >> 19 & 1);
	return have;
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>

/* Four rounds per step with sha256h/sha256h2, the schedule four words ahead
 * with sha256su0/su1 (ARMv8 cryptographic extension); unrolled like the x86
 * one so that w[] stays in registers. */
__attribute__((target("+crypto")))
static void digest_blocks_ce(uint32_t h[8], const unsigned char *p, size_t n)
{
	uint32x4_t s0 = vld1q_u32(&h[0]), s1 = vld1q_u32(&h[4]);
	for (; n; n--, p += 64) {
		uint32x4_t a = s0, b = s1, w[4], t, a0;
		int i;
#pragma GCC unroll 4
		for (i = 0; i < 4; i++)
			w[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * i)));
#pragma GCC unroll 16
		for (i = 0; i < 16; i++) {
			t = vaddq_u32(w[i & 3], vld1q_u32(&digest_k[4 * i]));
			if (i < 12)
				w[i & 3] = vsha256su1q_u32(vsha256su0q_u32(w[i & 3], w[(i + 1) & 3]),
							   w[(i + 2) & 3], w[(i + 3) & 3]);
			a0 = a;
			a = vsha256hq_u32(a, b, t);
			b = vsha256h2q_u32(b, a0, t);
		}
		s0 = vaddq_u32(s0, a);
		s1 = vaddq_u32(s1, b);
	}
	vst1q_u32(&h[0], s0);
	vst1q_u32(&h[4], s1);
}

static int digest_have_ce(void)
{
	static int have = -1;
	if (have < 0)
		have = (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0;
	return have;
}
#endif

static void digest_blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
#if defined(__x86_64__)
	if (digest_have_ni()) {
		digest_blocks_ni(h, p, n);
		return;
	}
#endif
#if defined(__aarch64__)
	if (digest_have_ce()) {
		digest_blocks_ce(h, p, n);
		return;
	}
#endif
	for (; n; n--, p += 64)
		br_sha2small_round(p, h);
}

static void digest_init(struct digest_ctx *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(c->h, iv, sizeof iv);
	c->count = 0;
}

static void digest_update(struct digest_ctx *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t used = (size_t)(c->count & 63);
	c->count += len;
	if (used) {
		size_t take = 64 - used < len ? 64 - used : len;
		memcpy(c->buf + used, p, take);
		p += take;
		len -= take;
		if (used + take < 64)
			return;
		digest_blocks(c->h, c->buf, 1);
	}
	if (len >= 64) {
		digest_blocks(c->h, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	memcpy(c->buf, p, len);
}

static void digest_finish(struct digest_ctx *c, char out[MR_DIGEST_LEN + 1])
{
	unsigned char sum[32];
	uint64_t bits = c->count * 8;
	size_t used = (size_t)(c->count & 63);
	int i;
	c->buf[used++] = 0x80;
	if (used > 56) {
		memset(c->buf + used, 0, 64 - used);
		digest_blocks(c->h, c->buf, 1);
		used = 0;
	}
	memset(c->buf + used, 0, 56 - used);
	for (i = 0; i < 8; i++)
		c->buf[63 - i] = (unsigned char)(bits >> (8 * i));
	digest_blocks(c->h, c->buf, 1);
	for (i = 0; i < 32; i++)
		sum[i] = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
	memcpy(out, "sha256:", 7);
	util_hex(sum, 32, out + 7);
}

/* see minirun.h */
void mr_digest_buf(const void *data, size_t len, char out[MR_DIGEST_LEN + 1])
{
	struct digest_ctx ctx;
	digest_init(&ctx);
	digest_update(&ctx, data, len);
	digest_finish(&ctx, out);
}

/* The 64 hex digits of a valid digest (used for file names: no ':' which
 * overlayfs takes as a lowerdir separator). */
static const char *digest_hex(const char *digest)
{
	return digest + 7;
}
