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

// The training kernels below compute exactly what SwitchGymNN's portable Swift loops compute
// (the same IEEE operations in the same order per element; no fused multiply-add), eight lanes
// at a time in AVX2: results are bit for bit the same, only faster than the baseline x86-64
// (SSE) code Swift emits. Each processes the first n / 8 * 8 elements and returns that count;
// the caller does the rest with its scalar loop. NNKernelTests pins each against the Swift loop.
#pragma STDC FP_CONTRACT OFF

/// Adam's update (SwitchGymNN.Adam.step): m = b1 m + (1 - b1) g; v = b2 v + ((1 - b2) g) g;
/// moments below the smallest normal flushed to zero; p -= (stepSize m) / (sqrt(v) / bc2Sqrt + eps).
__attribute__((target("avx2,fma")))
static inline long CBLAS_adam_avx2(float *p, const float *g, float *m, float *v, long n, float b1, float b2,
                                   float stepSize, float bc2Sqrt, float eps, float tiny) {
    const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
    const __m256 vc1 = _mm256_set1_ps(1 - b1), vc2 = _mm256_set1_ps(1 - b2);
    const __m256 vs = _mm256_set1_ps(stepSize), vbc = _mm256_set1_ps(bc2Sqrt), ve = _mm256_set1_ps(eps);
    const __m256 vt = _mm256_set1_ps(tiny), vnt = _mm256_set1_ps(-tiny);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vc1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(vc2, gi), gi));
        __m256 mz = _mm256_and_ps(_mm256_cmp_ps(mi, vt, _CMP_LT_OQ), _mm256_cmp_ps(mi, vnt, _CMP_GT_OQ));
        mi = _mm256_andnot_ps(mz, mi);
        vi = _mm256_andnot_ps(_mm256_cmp_ps(vi, vt, _CMP_LT_OQ), vi);
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), vbc), ve);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(vs, mi), den)));
    }
    return i;
}

/// SwitchGymNN.fastTanh in place: clamp to ±c, the [13/6] rational p(x) / q(x) by Horner,
/// x itself where |x| < 0.0004. `k` holds c then p's seven and q's four coefficients (from Swift,
/// so both use the same floats).
__attribute__((target("avx2,fma")))
static inline long CBLAS_fast_tanh_avx2(float *y, long n, const float *k) {
    const __m256 c = _mm256_set1_ps(k[0]), nc = _mm256_set1_ps(-k[0]);
    const __m256 small = _mm256_set1_ps(0.0004f), abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(y + i);
        __m256 x = _mm256_blendv_ps(a, c, _mm256_cmp_ps(a, c, _CMP_GT_OQ));
        x = _mm256_blendv_ps(x, nc, _mm256_cmp_ps(x, nc, _CMP_LT_OQ));
        __m256 x2 = _mm256_mul_ps(x, x);
        __m256 p = _mm256_set1_ps(k[1]);
        for (int j = 2; j <= 7; j++) p = _mm256_add_ps(_mm256_mul_ps(p, x2), _mm256_set1_ps(k[j]));
        p = _mm256_mul_ps(p, x);
        __m256 q = _mm256_set1_ps(k[8]);
        for (int j = 9; j <= 11; j++) q = _mm256_add_ps(_mm256_mul_ps(q, x2), _mm256_set1_ps(k[j]));
        __m256 r = _mm256_div_ps(p, q);
        __m256 isSmall = _mm256_cmp_ps(_mm256_and_ps(a, abs), small, _CMP_LT_OQ);
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(r, a, isSmall));
    }
    return i;
}

/// The backward step through an activation (SwitchGymNN.MLP.backward): tanh (kind 1)
/// d *= 1 - y y; relu (kind 2) d = 0 where y <= 0.
__attribute__((target("avx2,fma")))
static inline long CBLAS_activation_backward_avx2(float *d, const float *y, long n, int kind) {
    const __m256 one = _mm256_set1_ps(1), zero = _mm256_setzero_ps();
    long i = 0;
    if (kind == 1) {
        for (; i + 8 <= n; i += 8) {
            __m256 yi = _mm256_loadu_ps(y + i);
            _mm256_storeu_ps(d + i, _mm256_mul_ps(_mm256_loadu_ps(d + i), _mm256_sub_ps(one, _mm256_mul_ps(yi, yi))));
        }
    } else if (kind == 2) {
        for (; i + 8 <= n; i += 8) {
            __m256 dead = _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_LE_OQ);
            _mm256_storeu_ps(d + i, _mm256_andnot_ps(dead, _mm256_loadu_ps(d + i)));
        }
    }
    return i;
}

/// gb[o] += Σ_r rows[r * width + o], rows in order (a bias's gradient); returns the columns done.
__attribute__((target("avx2,fma")))
static inline long CBLAS_add_column_sums_avx2(float *gb, const float *rows, long batch, long width) {
    long o = 0;
    for (; o + 8 <= width; o += 8) {
        __m256 acc = _mm256_loadu_ps(gb + o);
        for (long r = 0; r < batch; r++) acc = _mm256_add_ps(acc, _mm256_loadu_ps(rows + r * width + o));
        _mm256_storeu_ps(gb + o, acc);
    }
    return o;
}

/// Σ x² in double over the first n / 16 * 16 floats, in sixteen interleaved partial sums
/// (a different order from a sequential sum: equal to it within double rounding, not bit for bit).
__attribute__((target("avx2,fma")))
static inline double CBLAS_sum_of_squares_avx2(const float *x, long n, long *done) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256d x0 = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), x1 = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        __m256d x2 = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 8)), x3 = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 12));
        a0 = _mm256_add_pd(a0, _mm256_mul_pd(x0, x0));
        a1 = _mm256_add_pd(a1, _mm256_mul_pd(x1, x1));
        a2 = _mm256_add_pd(a2, _mm256_mul_pd(x2, x2));
        a3 = _mm256_add_pd(a3, _mm256_mul_pd(x3, x3));
    }
    __m256d s = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));
    double l[4];
    _mm256_storeu_pd(l, s);
    *done = i;
    return (l[0] + l[1]) + (l[2] + l[3]);
}
#else
static inline int CBLAS_has_avx2_fma(void) { return 0; }
static inline void CBLAS_dense_single_avx2(const float *w, const float *bias, const float *x, float *y, long m, long n) {}
static inline long CBLAS_adam_avx2(float *p, const float *g, float *m, float *v, long n, float b1, float b2,
                                   float stepSize, float bc2Sqrt, float eps, float tiny) { return 0; }
static inline long CBLAS_fast_tanh_avx2(float *y, long n, const float *k) { return 0; }
static inline long CBLAS_activation_backward_avx2(float *d, const float *y, long n, int kind) { return 0; }
static inline long CBLAS_add_column_sums_avx2(float *gb, const float *rows, long batch, long width) { return 0; }
static inline double CBLAS_sum_of_squares_avx2(const float *x, long n, long *done) { *done = 0; return 0; }
#endif
#endif
