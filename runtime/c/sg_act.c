/*
 * sg_act: the C runtime's command-line tool, with the output of `switchgym act`.
 *
 *   sg_act POLICY --input OBS.csv [--mask MASKS.csv] [--bench N]
 *
 * OBS.csv: one observation per line, comma-separated floats; MASKS.csv: one mask per
 * observation line, comma-separated 0/1 (blank lines are skipped in both). Prints one line per
 * observation: the action's integers, comma-separated. Standard error gets the batch-1 latency
 * of those decisions (p50, p99); with --bench N, the median of N timed decisions over the
 * inputs in turn, after a warm-up, as `bench: median N ns per act (...)`.
 *
 * Build: cc -std=c99 -O2 -Iinclude switchgym_policy.c sg_act.c -lm -o sg_act
 */
#define _POSIX_C_SOURCE 199309L
#include "switchgym_policy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "sg_act: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    exit(1);
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) die("%s: cannot open the file%s", path, "");
    for (;;) {
        size_t r;
        if (cap - n < 65536) {
            char *nb;
            cap = cap ? cap * 2 : 1 << 20;
            nb = (char *)realloc(buf, cap + 1);
            if (!nb) die("%s: out of memory%s", path, "");
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) die("%s: read error%s", path, "");
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Parses the CSV at `path` into rows of exactly `width` fields. is_mask: 0/1 into bytes;
 * otherwise finite floats. Returns the row count; `*out` gets rows × width values. */
static size_t read_rows(const char *path, size_t width, int is_mask, void **out) {
    size_t len, rows = 0, cap = 16, line_no = 0;
    char *text = read_all(path, &len), *line = text, *end = text + len;
    size_t esize = is_mask ? 1 : sizeof(float);
    unsigned char *vals = (unsigned char *)malloc(cap * width * esize + 1);
    if (!vals) die("%s: out of memory%s", path, "");
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line)), *p, *q;
        size_t field = 0;
        int blank = 1;
        if (!nl) nl = end;
        *nl = '\0';
        line_no++;
        if (nl > line && nl[-1] == '\r') nl[-1] = '\0';
        for (p = line; *p; p++) if (*p != ' ' && *p != '\t') { blank = 0; break; }
        if (!blank) {
            char where[64];
            if (rows == cap) {
                unsigned char *nv;
                cap *= 2;
                nv = (unsigned char *)realloc(vals, cap * width * esize + 1);
                if (!nv) die("%s: out of memory%s", path, "");
                vals = nv;
            }
            snprintf(where, sizeof where, ":%zu", line_no);
            p = line;
            for (;;) {
                char *comma = strchr(p, ','), *tok;
                if (comma) *comma = '\0';
                tok = p;
                while (*tok == ' ' || *tok == '\t') tok++;
                q = tok + strlen(tok);
                while (q > tok && (q[-1] == ' ' || q[-1] == '\t')) *--q = '\0';
                if (field >= width) die("%s%s: more fields than the policy's width", path, where);
                if (is_mask) {
                    if (strcmp(tok, "0") && strcmp(tok, "1")) die("%s%s: a mask entry is not 0 or 1", path, where);
                    vals[rows * width + field] = (unsigned char)(tok[0] == '1');
                } else {
                    char *e;
                    float v;
                    errno = 0;
                    v = strtof(tok, &e);
                    if (e == tok || *e != '\0' || !isfinite(v)) die("%s%s: an observation entry is not a finite number", path, where);
                    memcpy(vals + (rows * width + field) * sizeof(float), &v, sizeof v);
                }
                field++;
                if (!comma) break;
                p = comma + 1;
            }
            if (field != width) die("%s%s: fewer fields than the policy's width", path, where);
            rows++;
        }
        line = nl + 1;
    }
    free(text);
    *out = vals;
    return rows;
}

static int cmp_u64(const void *a, const void *b) {
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

#ifdef SG_MAC_COUNTER
/* A measurement build (`make macs`): the runtime counts the network's multiply-adds here. */
long long SG_MAC_COUNTER = 0;
#endif

static unsigned long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv) {
    const char *policy_path = NULL, *input = NULL, *mask_path = NULL;
    long bench = 0;
    int i, rc;
    char err[1024];
    sg_policy *p = NULL;
    size_t dim, width, nc, n, nm = 0, r, c;
    float *obs;
    unsigned char *masks = NULL;
    int32_t *action;
    unsigned long long *ns;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc) input = argv[++i];
        else if (!strcmp(argv[i], "--mask") && i + 1 < argc) mask_path = argv[++i];
        else if (!strcmp(argv[i], "--bench") && i + 1 < argc) bench = strtol(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !policy_path) policy_path = argv[i];
        else {
            fprintf(stderr, "usage: sg_act POLICY --input OBS.csv [--mask MASKS.csv] [--bench N]\n");
            return 2;
        }
    }
    if (!policy_path || !input) {
        fprintf(stderr, "usage: sg_act POLICY --input OBS.csv [--mask MASKS.csv] [--bench N]\n");
        return 2;
    }
    rc = sg_policy_load_file(policy_path, &p, err, sizeof err);
    if (rc) { fprintf(stderr, "sg_act: %s\n", err); return 1; }
    dim = sg_policy_observation_dimension(p);
    width = sg_policy_mask_width(p);
    nc = sg_policy_action_components(p);
    n = read_rows(input, dim, 0, (void **)&obs);
    if (mask_path) {
        nm = read_rows(mask_path, width, 1, (void **)&masks);
        if (nm != n) {
            fprintf(stderr, "sg_act: %s: %zu mask lines for %zu observation lines in %s\n", mask_path, nm, n, input);
            return 1;
        }
    }
    action = (int32_t *)malloc((nc ? nc : 1) * sizeof(int32_t));
    ns = (unsigned long long *)malloc((n ? n : 1) * sizeof *ns);
    if (!action || !ns) { fprintf(stderr, "sg_act: out of memory\n"); return 1; }
#ifdef SG_MAC_COUNTER
    long long macs_max = 0, macs_min = -1, macs_total = 0;
#endif
    for (r = 0; r < n; r++) {
        unsigned long long t0;
#ifdef SG_MAC_COUNTER
        SG_MAC_COUNTER = 0;
#endif
        t0 = now_ns();
        rc = sg_policy_act(p, obs + r * dim, masks ? masks + r * width : NULL, action, err, sizeof err);
        ns[r] = now_ns() - t0;
#ifdef SG_MAC_COUNTER
        macs_total += SG_MAC_COUNTER;
        if (SG_MAC_COUNTER > macs_max) macs_max = SG_MAC_COUNTER;
        if (macs_min < 0 || SG_MAC_COUNTER < macs_min) macs_min = SG_MAC_COUNTER;
#endif
        if (rc) { fprintf(stderr, "sg_act: %s:%zu: %s\n", mask_path ? mask_path : input, r + 1, err); return 1; }
        for (c = 0; c < nc; c++) printf(c ? ",%d" : "%d", (int)action[c]);
        printf("\n");
    }
    if (n > 0) {
        qsort(ns, n, sizeof *ns, cmp_u64);
        fprintf(stderr, "acted on %zu observations; batch-1 latency p50 %.2f us, p99 %.2f us (%s, beam %d)\n", n,
                ns[n / 2] / 1000.0, ns[(n * 99 / 100) < n ? n * 99 / 100 : n - 1] / 1000.0, sg_policy_kind_name(p),
                sg_policy_beam_width(p));
    }
#ifdef SG_MAC_COUNTER
    if (n > 0)
        fprintf(stderr, "multiply-adds per decision: mean %.0f, min %lld, max %lld\n", (double)macs_total / (double)n, macs_min,
                macs_max);
#endif
    if (bench > 0 && n > 0) {
        unsigned long long *t = (unsigned long long *)malloc((size_t)bench * sizeof *t);
        long k, warm = bench < 1000 ? bench : 1000;
        if (!t) { fprintf(stderr, "sg_act: out of memory\n"); return 1; }
        for (k = 0; k < warm; k++)
            sg_policy_act(p, obs + ((size_t)k % n) * dim, masks ? masks + ((size_t)k % n) * width : NULL, action, err, sizeof err);
        for (k = 0; k < bench; k++) {
            size_t row = (size_t)k % n;
            unsigned long long t0 = now_ns();
            sg_policy_act(p, obs + row * dim, masks ? masks + row * width : NULL, action, err, sizeof err);
            t[k] = now_ns() - t0;
        }
        qsort(t, (size_t)bench, sizeof *t, cmp_u64);
        fprintf(stderr, "bench: median %llu ns per act over %ld calls (%s, beam %d, %zu components)\n", t[bench / 2], bench,
                sg_policy_kind_name(p), sg_policy_beam_width(p), nc);
        free(t);
    }
    free(obs);
    free(masks);
    free(action);
    free(ns);
    sg_policy_free(p);
    return 0;
}
