#ifndef SWITCHGYM_SHA256_NI_H
#define SWITCHGYM_SHA256_NI_H
// Not API: SHA-256 block compression with the x86 SHA extensions (SHA-NI), for
// SwitchGymIO's SHA256 only: a header-only module (static inline functions), so
// no C target has to be compiled. On other
// architectures, or CPUs without SHA-NI, `CZlib_sha256_ni_available()` is 0 and
// Swift uses its portable implementation.
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>

/// 1 when the CPU has SHA-NI, SSSE3 and SSE4.1.
static inline int CZlib_sha256_ni_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return ssse3 && sse41 && ((b >> 29) & 1);
}

/// Compresses `blocks` 64-byte blocks at `data` into `state` (h0...h7).
__attribute__((target("sha,sse4.1,ssse3")))
static inline void CZlib_sha256_ni_blocks(uint32_t *state, const uint8_t *data, size_t blocks) {
    static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };
    const __m128i MASK = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i TMP = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i STATE1 = _mm_loadu_si128((const __m128i *)&state[4]);
    TMP = _mm_shuffle_epi32(TMP, 0xB1);           // CDAB
    STATE1 = _mm_shuffle_epi32(STATE1, 0x1B);     // EFGH
    __m128i STATE0 = _mm_alignr_epi8(TMP, STATE1, 8);  // ABEF
    STATE1 = _mm_blend_epi16(STATE1, TMP, 0xF0);  // CDGH

    while (blocks--) {
        const __m128i ABEF = STATE0, CDGH = STATE1;
        __m128i W[4];
        for (int i = 0; i < 16; i++) {
            __m128i w;
            if (i < 4) {
                w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * i)), MASK);
            } else {
                // W[i] = msg2(msg1(W[i-4], W[i-3]) + (W[i-2]:W[i-1] >> 32), W[i-1])
                __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(W[i & 3], W[(i - 3) & 3]),
                                          _mm_alignr_epi8(W[(i - 1) & 3], W[(i - 2) & 3], 4));
                w = _mm_sha256msg2_epu32(t, W[(i - 1) & 3]);
            }
            W[i & 3] = w;
            __m128i msg = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&K[4 * i]));
            STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, msg);
            msg = _mm_shuffle_epi32(msg, 0x0E);
            STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, msg);
        }
        STATE0 = _mm_add_epi32(STATE0, ABEF);
        STATE1 = _mm_add_epi32(STATE1, CDGH);
        data += 64;
    }
    TMP = _mm_shuffle_epi32(STATE0, 0x1B);        // FEBA
    STATE1 = _mm_shuffle_epi32(STATE1, 0xB1);     // DCHG
    STATE0 = _mm_blend_epi16(TMP, STATE1, 0xF0);  // DCBA
    STATE1 = _mm_alignr_epi8(STATE1, TMP, 8);     // ABEF
    _mm_storeu_si128((__m128i *)&state[0], STATE0);
    _mm_storeu_si128((__m128i *)&state[4], STATE1);
}
#else
static inline int CZlib_sha256_ni_available(void) { return 0; }
static inline void CZlib_sha256_ni_blocks(uint32_t *state, const uint8_t *data, size_t blocks) {
    (void)state; (void)data; (void)blocks;
}
#endif
#endif
