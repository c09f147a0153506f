#ifndef SWITCHGYM_CBLAS_SHIM_H
#define SWITCHGYM_CBLAS_SHIM_H
// Not API: the C surface of OpenBLAS for SwitchGymNN only.
#include <cblas.h>
static inline void CBLAS_set_num_threads(int n) { openblas_set_num_threads(n); }
static inline const char *CBLAS_core_name(void) { return openblas_get_corename(); }

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/// 1 when the CPU and the OS support AVX2 and FMA (CPUID leaf 1 and 7, XGETBV for YMM state).
static inline int CBLAS_has_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;
}

__attribute__((target("avx2,fma")))
static inline float CBLAS_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// y[o] = b[o] + Σ_i w[o * n + i] x[i] for o < m (one dense layer, batch 1), with AVX2 + FMA,
/// four output rows at a time sharing the loads of x.
__attribute__((target("avx2,fma")))
static inline void CBLAS_dense_single_avx2(const float *w, const float *bias, const float *x, float *y, long m, long n) {
    long o = 0;
    for (; o + 4 <= m; o += 4) {
        const float *w0 = w + o * n, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        long i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 xv = _mm256_loadu_ps(x + i);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i), xv, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + i), xv, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + i), xv, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + i), xv, a3);
        }
        float s0 = CBLAS_hsum256(a0), s1 = CBLAS_hsum256(a1), s2 = CBLAS_hsum256(a2), s3 = CBLAS_hsum256(a3);
        for (; i < n; i++) {
            s0 += w0[i] * x[i]; s1 += w1[i] * x[i]; s2 += w2[i] * x[i]; s3 += w3[i] * x[i];
        }
        y[o] = s0 + bias[o]; y[o + 1] = s1 + bias[o + 1]; y[o + 2] = s2 + bias[o + 2]; y[o + 3] = s3 + bias[o + 3];
    }
    for (; o < m; o++) {
        const float *wr = w + o * n;
        __m256 a = _mm256_setzero_ps();
        long i = 0;
        for (; i + 8 <= n; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(wr + i), _mm256_loadu_ps(x + i), a);
        float s = CBLAS_hsum256(a);
        for (; i < n; i++) s += wr[i] * x[i];
        y[o] = s + bias[o];
    }
}
#else
static inline int CBLAS_has_avx2_fma(void) { return 0; }
static inline void CBLAS_dense_single_avx2(const float *w, const float *bias, const float *x, float *y, long m, long n) {}
#endif
#endif
