/* Connection uids in C: conn.Conn.make_uid without Python objects.
 *
 * Our own C, written from RFC 7693 (BLAKE2b, unkeyed; the digest length is a parameter of the hash,
 * so BLAKE2b-136 is not a truncated BLAKE2b-512). tests/unit/test_flows_native.py compares it with
 * hashlib.blake2b on random inputs, and every record's uid with the Python path's. */
#ifndef WARDWATCH_FLOWS_UID_H
#define WARDWATCH_FLOWS_UID_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const uint64_t B2B_IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const uint8_t B2B_SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static inline uint64_t
b2b_rotr(uint64_t x, int n)
{
    return (x >> n) | (x << (64 - n));
}

static inline uint64_t
b2b_load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define B2B_G(a, b, c, d, x, y)                                                                            \
    do {                                                                                                   \
        v[a] = v[a] + v[b] + (x);                                                                          \
        v[d] = b2b_rotr(v[d] ^ v[a], 32);                                                                  \
        v[c] = v[c] + v[d];                                                                                \
        v[b] = b2b_rotr(v[b] ^ v[c], 24);                                                                  \
        v[a] = v[a] + v[b] + (y);                                                                          \
        v[d] = b2b_rotr(v[d] ^ v[a], 16);                                                                  \
        v[c] = v[c] + v[d];                                                                                \
        v[b] = b2b_rotr(v[b] ^ v[c], 63);                                                                  \
    } while (0)

static void
b2b_compress(uint64_t h[8], const uint8_t block[128], uint64_t t, int last)
{
    uint64_t v[16], m[16];
    for (int i = 0; i < 16; i++)
        m[i] = b2b_load64(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = B2B_IV[i];
    }
    v[12] ^= t; /* inputs here are far below 2^64 bytes: the high counter word stays 0 */
    if (last)
        v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = B2B_SIGMA[r];
        B2B_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        B2B_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        B2B_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        B2B_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        B2B_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        B2B_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        B2B_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        B2B_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++)
        h[i] ^= v[i] ^ v[i + 8];
}

/* Unkeyed BLAKE2b of ``in`` with an ``outlen``-byte digest (1..64). */
static void
blake2b(const uint8_t *in, size_t len, uint8_t *out, size_t outlen)
{
    uint64_t h[8];
    uint8_t block[128];
    memcpy(h, B2B_IV, sizeof(h));
    h[0] ^= 0x01010000ULL ^ (uint64_t)outlen;
    size_t done = 0;
    while (len - done > 128) {
        b2b_compress(h, in + done, (uint64_t)(done + 128), 0);
        done += 128;
    }
    memset(block, 0, sizeof(block));
    memcpy(block, in + done, len - done);
    b2b_compress(h, block, (uint64_t)len, 1);
    for (size_t i = 0; i < outlen; i++)
        out[i] = (uint8_t)(h[i / 8] >> (8 * (i % 8)));
}

static const char UID_B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static inline void
put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* conn.Conn.make_uid: "C" + 17 base62 characters of the BLAKE2b-136 of struct "<BQQHQQHd"
 * (proto, orig address halves, orig port, resp address halves, resp port, start time). ``out``
 * receives 18 characters (no terminator). */
static void
make_uid(char out[18], unsigned proto, uint64_t oh, uint64_t ol, unsigned op, uint64_t rh, uint64_t rl,
         unsigned rp, double ts)
{
    uint8_t buf[45], digest[17];
    uint64_t tbits;
    memcpy(&tbits, &ts, 8);
    buf[0] = (uint8_t)proto;
    put_le(buf + 1, oh, 8);
    put_le(buf + 9, ol, 8);
    put_le(buf + 17, op & 0xFFFF, 2);
    put_le(buf + 19, rh, 8);
    put_le(buf + 27, rl, 8);
    put_le(buf + 35, rp & 0xFFFF, 2);
    put_le(buf + 37, tbits, 8);
    blake2b(buf, sizeof(buf), digest, sizeof(digest));
    out[0] = 'C';
    for (int i = 0; i < 17; i++)
        out[1 + i] = UID_B62[digest[i] % 62];
}

#endif
