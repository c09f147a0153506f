/*
 * switchgym_policy.c: the C99 runtime of SwitchGym policy files (see switchgym_policy.h and
 * docs/policy-format.md). Only libc and libm; no global state.
 */
#include "switchgym_policy.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_RESTRICT restrict

/* Measurement builds only (`make macs`): -DSG_MAC_COUNTER=name counts the multiply-adds of the
 * network in the global `long long name` (sg_act prints them per decision). The default build
 * has neither the counter nor any other global state. */
#ifdef SG_MAC_COUNTER
extern long long SG_MAC_COUNTER;
#define SG_COUNT_MACS(n) (SG_MAC_COUNTER += (long long)(n))
#else
#define SG_COUNT_MACS(n) ((void)0)
#endif

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */

static int fail(char *err, size_t err_len, int code, const char *fmt, ...) {
    if (err && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ------------------------------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4)                                                                        */

typedef struct {
    uint32_t h[8];
    uint64_t total;
    uint8_t block[64];
    size_t used;
} sha256_ctx;

static const uint32_t sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_compress(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64], a, b, c, d, e, f, g, hh;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) | ((uint32_t)p[4 * i + 2] << 8) | p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
    for (i = 0; i < 64; i++) {
        uint32_t S1 = ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + sha256_k[i] + w[i];
        uint32_t S0 = ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22);
        uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + mj;
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256_init(sha256_ctx *c) {
    static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    memcpy(c->h, iv, sizeof iv);
    c->total = 0;
    c->used = 0;
}

static void sha256_update(sha256_ctx *c, const void *data, size_t len) {
    const uint8_t *p = (const uint8_t *)data;
    c->total += len;
    if (c->used > 0) {
        size_t take = 64 - c->used;
        if (take > len) take = len;
        memcpy(c->block + c->used, p, take);
        c->used += take; p += take; len -= take;
        if (c->used < 64) return;
        sha256_compress(c->h, c->block);
        c->used = 0;
    }
    while (len >= 64) { sha256_compress(c->h, p); p += 64; len -= 64; }
    if (len > 0) { memcpy(c->block, p, len); c->used = len; }
}

static void sha256_final(sha256_ctx *c, uint8_t out[32]) {
    uint64_t bits = c->total * 8;
    uint8_t pad[72];
    size_t padlen = (c->used < 56) ? 56 - c->used : 120 - c->used, i;
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    for (i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(c, pad, padlen + 8);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24); out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8); out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void sg_sha256(const void *data, size_t len, uint8_t digest[32]) {
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, data, len);
    sha256_final(&c, digest);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON (RFC 8259, strict): a tree of nodes in one array, strings decoded into one buffer      */

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

#define JSON_MAX_DEPTH 64
#define JSON_MAX_MEMBERS 4096          /* per object (duplicate keys are checked pairwise) */
#define JSON_MAX_NODES 50000000u

typedef struct {
    int type;
    int32_t first, last, next; /* children (arrays, objects) and the next sibling; -1: none */
    size_t key, key_len;       /* an object member's key, in the string buffer */
    size_t str, str_len;       /* a string's value, in the string buffer */
    size_t count;              /* children */
    double num;
} jnode;

typedef struct {
    const unsigned char *s;
    size_t n, i;
    jnode *nodes;
    size_t count, cap;
    char *strs;
    size_t strs_used;
    char *err;
    size_t err_len;
    int code;
} jparser;

typedef struct {
    jnode *nodes;
    char *strs;
    int32_t root;
} jdoc;

static void jdoc_free(jdoc *d) {
    free(d->nodes);
    free(d->strs);
    d->nodes = NULL;
    d->strs = NULL;
}

static int jerr(jparser *p, const char *what) {
    p->code = fail(p->err, p->err_len, SG_ERR_FORMAT, "%s at byte %zu", what, p->i);
    return -1;
}

static void jws(jparser *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static int32_t jnew(jparser *p, int type) {
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        jnode *nn;
        if (cap > JSON_MAX_NODES) cap = JSON_MAX_NODES;
        if (p->count >= cap) { jerr(p, "too many JSON values"); return -1; }
        nn = (jnode *)realloc(p->nodes, cap * sizeof(jnode));
        if (!nn) { p->code = fail(p->err, p->err_len, SG_ERR_NO_MEMORY, "out of memory parsing JSON"); return -1; }
        p->nodes = nn;
        p->cap = cap;
    }
    memset(&p->nodes[p->count], 0, sizeof(jnode));
    p->nodes[p->count].type = type;
    p->nodes[p->count].first = p->nodes[p->count].last = p->nodes[p->count].next = -1;
    return (int32_t)p->count++;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int jhex4(jparser *p, uint32_t *out) {
    uint32_t v = 0;
    int k;
    if (p->n - p->i < 4) return jerr(p, "truncated \\u escape");
    for (k = 0; k < 4; k++) {
        int h = hexval(p->s[p->i + k]);
        if (h < 0) return jerr(p, "bad \\u escape");
        v = v * 16 + (uint32_t)h;
    }
    p->i += 4;
    *out = v;
    return 0;
}

static void jput_utf8(jparser *p, uint32_t cp) {
    char *o = p->strs + p->strs_used;
    if (cp < 0x80) { o[0] = (char)cp; p->strs_used += 1; }
    else if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); p->strs_used += 2; }
    else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        p->strs_used += 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
        p->strs_used += 4;
    }
}

/* Parses a string at p->i (the opening quote) into the string buffer; a decoded string is never
 * longer than its source, so the buffer (source length + 1) always has room. */
static int jstring(jparser *p, size_t *off, size_t *len) {
    size_t start;
    p->i++; /* '"' */
    start = p->strs_used;
    for (;;) {
        unsigned char c;
        if (p->i >= p->n) return jerr(p, "unterminated string");
        c = p->s[p->i];
        if (c == '"') { p->i++; break; }
        if (c < 0x20) return jerr(p, "control character in string");
        if (c == '\\') {
            unsigned char e;
            if (p->i + 1 >= p->n) return jerr(p, "unterminated string");
            e = p->s[p->i + 1];
            p->i += 2;
            switch (e) {
            case '"': p->strs[p->strs_used++] = '"'; break;
            case '\\': p->strs[p->strs_used++] = '\\'; break;
            case '/': p->strs[p->strs_used++] = '/'; break;
            case 'b': p->strs[p->strs_used++] = '\b'; break;
            case 'f': p->strs[p->strs_used++] = '\f'; break;
            case 'n': p->strs[p->strs_used++] = '\n'; break;
            case 'r': p->strs[p->strs_used++] = '\r'; break;
            case 't': p->strs[p->strs_used++] = '\t'; break;
            case 'u': {
                uint32_t u, lo;
                if (jhex4(p, &u)) return -1;
                if (u >= 0xDC00 && u <= 0xDFFF) return jerr(p, "unpaired low surrogate in \\u escape");
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                        return jerr(p, "unpaired high surrogate in \\u escape");
                    p->i += 2;
                    if (jhex4(p, &lo)) return -1;
                    if (lo < 0xDC00 || lo > 0xDFFF) return jerr(p, "unpaired high surrogate in \\u escape");
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                }
                jput_utf8(p, u);
                break;
            }
            default: return jerr(p, "bad escape in string");
            }
            continue;
        }
        if (c < 0x80) { p->strs[p->strs_used++] = (char)c; p->i++; continue; }
        {   /* UTF-8: validate (no overlongs, no surrogates, at most U+10FFFF) and copy */
            size_t need, k;
            uint32_t cp, min;
            if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; min = 0x80; }
            else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; min = 0x800; }
            else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; min = 0x10000; }
            else return jerr(p, "invalid UTF-8 in string");
            if (p->n - p->i <= need) return jerr(p, "invalid UTF-8 in string");
            for (k = 1; k <= need; k++) {
                unsigned char cc = p->s[p->i + k];
                if ((cc & 0xC0) != 0x80) return jerr(p, "invalid UTF-8 in string");
                cp = (cp << 6) | (cc & 0x3F);
            }
            if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return jerr(p, "invalid UTF-8 in string");
            memcpy(p->strs + p->strs_used, p->s + p->i, need + 1);
            p->strs_used += need + 1;
            p->i += need + 1;
        }
    }
    *off = start;
    *len = p->strs_used - start;
    p->strs[p->strs_used++] = '\0';
    return 0;
}

static int jdigits(jparser *p) {
    size_t s = p->i;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    return p->i > s ? 0 : -1;
}

/* Decimal text to double: exact for up to 19 significant digits times 10^(-22..22) (Clinger's
 * fast path, one correctly rounded operation); otherwise strtod on a C-locale-safe copy. */
static double jnumber_value(const char *t, size_t len) {
    uint64_t m = 0;
    int digits = 0, exp10 = 0, neg = 0, eneg = 0, e = 0, ok = 1;
    size_t i = 0;
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (t[i] == '-') { neg = 1; i++; }
    for (; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
        if (m == 0 && t[i] == '0') continue;
        if (digits < 19) { m = m * 10 + (uint64_t)(t[i] - '0'); digits++; } else { exp10++; if (t[i] != '0') ok = 0; }
    }
    if (i < len && t[i] == '.') {
        for (i++; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
            if (m == 0 && t[i] == '0') { exp10--; continue; }
            if (digits < 19) { m = m * 10 + (uint64_t)(t[i] - '0'); digits++; exp10--; } else if (t[i] != '0') ok = 0;
        }
    }
    if (i < len && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (t[i] == '+' || t[i] == '-') { eneg = t[i] == '-'; i++; }
        for (; i < len && t[i] >= '0' && t[i] <= '9'; i++) if (e < 100000) e = e * 10 + (t[i] - '0');
        exp10 += eneg ? -e : e;
    }
    if (m == 0) return neg ? -0.0 : 0.0;
    if (ok && m <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 < 0 ? v / p10[-exp10] : v * p10[exp10];
        return neg ? -v : v;
    }
    {
        char buf[512];
        char *dot;
        size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
        memcpy(buf, t, n);
        buf[n] = '\0';
        dot = strchr(buf, '.');
        if (dot) {   /* strtod honours the locale's decimal point */
            char probe[8];
            snprintf(probe, sizeof probe, "%.1f", 1.5);
            if (probe[1] != '\0' && probe[1] != '.') *dot = probe[1];
        }
        return strtod(buf, NULL);
    }
}

static int32_t jvalue(jparser *p, int depth);

static int32_t jvalue(jparser *p, int depth) {
    int32_t id;
    unsigned char c;
    if (depth > JSON_MAX_DEPTH) { jerr(p, "JSON nested too deeply"); return -1; }
    jws(p);
    if (p->i >= p->n) { jerr(p, "unexpected end of JSON"); return -1; }
    c = p->s[p->i];
    if (c == '{' || c == '[') {
        int obj = c == '{';
        size_t members = 0;
        id = jnew(p, obj ? J_OBJ : J_ARR);
        if (id < 0) return -1;
        p->i++;
        jws(p);
        if (p->i < p->n && p->s[p->i] == (obj ? '}' : ']')) { p->i++; return id; }
        for (;;) {
            size_t koff = 0, klen = 0;
            int32_t child;
            jws(p);
            if (obj) {
                int32_t q;
                if (p->i >= p->n || p->s[p->i] != '"') { jerr(p, "expected a string key"); return -1; }
                if (jstring(p, &koff, &klen)) return -1;
                for (q = p->nodes[id].first; q >= 0; q = p->nodes[q].next)
                    if (p->nodes[q].key_len == klen && memcmp(p->strs + p->nodes[q].key, p->strs + koff, klen) == 0) {
                        jerr(p, "duplicate key in JSON object");
                        return -1;
                    }
                jws(p);
                if (p->i >= p->n || p->s[p->i] != ':') { jerr(p, "expected ':'"); return -1; }
                p->i++;
            }
            if (++members > (obj ? JSON_MAX_MEMBERS : JSON_MAX_NODES)) { jerr(p, "too many JSON object members"); return -1; }
            child = jvalue(p, depth + 1);
            if (child < 0) return -1;
            p->nodes[child].key = koff;
            p->nodes[child].key_len = klen;
            if (p->nodes[id].last < 0) p->nodes[id].first = child; else p->nodes[p->nodes[id].last].next = child;
            p->nodes[id].last = child;
            p->nodes[id].count++;
            jws(p);
            if (p->i < p->n && p->s[p->i] == ',') { p->i++; continue; }
            if (p->i < p->n && p->s[p->i] == (obj ? '}' : ']')) { p->i++; return id; }
            jerr(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            return -1;
        }
    }
    if (c == '"') {
        size_t off, len;
        id = jnew(p, J_STR);
        if (id < 0) return -1;
        if (jstring(p, &off, &len)) return -1;
        p->nodes[id].str = off;
        p->nodes[id].str_len = len;
        return id;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        size_t s = p->i;
        if (c == '-') p->i++;
        if (p->i < p->n && p->s[p->i] == '0') p->i++;
        else if (jdigits(p)) { jerr(p, "bad number"); return -1; }
        if (p->i < p->n && p->s[p->i] == '.') { p->i++; if (jdigits(p)) { jerr(p, "bad number"); return -1; } }
        if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
            p->i++;
            if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
            if (jdigits(p)) { jerr(p, "bad number"); return -1; }
        }
        id = jnew(p, J_NUM);
        if (id < 0) return -1;
        p->nodes[id].num = jnumber_value((const char *)p->s + s, p->i - s);
        return id;
    }
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0) { p->i += 4; return jnew(p, J_TRUE); }
    if (p->n - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0) { p->i += 5; return jnew(p, J_FALSE); }
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "null", 4) == 0) { p->i += 4; return jnew(p, J_NULL); }
    jerr(p, "unexpected character in JSON");
    return -1;
}

/* Parses `n` bytes of JSON (one value, whitespace around it) into `d`; `what` names it in errors. */
static int jparse(const void *text, size_t n, jdoc *d, const char *what, char *err, size_t err_len) {
    jparser p;
    char sub[256];
    memset(&p, 0, sizeof p);
    memset(d, 0, sizeof *d);
    d->root = -1;
    p.s = (const unsigned char *)text;
    p.n = n;
    p.err = sub;
    p.err_len = sizeof sub;
    p.strs = (char *)malloc(n + 1);
    if (!p.strs) return fail(err, err_len, SG_ERR_NO_MEMORY, "out of memory for the %s (%zu bytes)", what, n);
    d->root = jvalue(&p, 0);
    if (d->root >= 0) {
        jws(&p);
        if (p.i != p.n) { jerr(&p, "trailing characters after JSON"); d->root = -1; }
    }
    if (d->root < 0) {
        free(p.nodes);
        free(p.strs);
        return fail(err, err_len, p.code ? p.code : SG_ERR_FORMAT, "%s: %s", what, sub);
    }
    d->nodes = p.nodes;
    d->strs = p.strs;
    return SG_OK;
}

static int32_t jget(const jdoc *d, int32_t obj, const char *key) {
    size_t kl = strlen(key);
    int32_t q;
    if (obj < 0 || d->nodes[obj].type != J_OBJ) return -1;
    for (q = d->nodes[obj].first; q >= 0; q = d->nodes[q].next)
        if (d->nodes[q].key_len == kl && memcmp(d->strs + d->nodes[q].key, key, kl) == 0) return q;
    return -1;
}

static int jis_int(const jdoc *d, int32_t n, int64_t lo, int64_t hi, int64_t *out) {
    double v;
    if (n < 0 || d->nodes[n].type != J_NUM) return 0;
    v = d->nodes[n].num;
    if (!(v >= (double)lo && v <= (double)hi) || v != floor(v)) return 0;
    *out = (int64_t)v;
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* The handle                                                                                  */

#define SG_MAX_LAYERS 64
#define SG_MAX_WIDTH (1 << 20)
#define SG_MAX_WORKERS 65536
#define SG_MAX_JOBS 4096
#define SG_MAX_CLASSES 4096
#define SG_MAX_BEAM 64
#define SG_MAX_GOLDEN 10000
#define SG_MAX_FILE ((uint64_t)1 << 32)

struct sg_policy {
    sg_kind kind;
    char *document;
    size_t document_len;
    /* network */
    int layers;
    int32_t sizes[SG_MAX_LAYERS + 1];
    int relu;
    float *weights[SG_MAX_LAYERS];
    float *columns[SG_MAX_LAYERS]; /* W_l transposed ([sizes[l] × sizes[l+1]]): hidden layers, and a family's layer 0;
                                    * 64-byte aligned in columns_memory (no vector load straddles a cache line) */
    float *columns_memory[SG_MAX_LAYERS];
    float *biases[SG_MAX_LAYERS];
    int32_t max_width;
    float stay_bias;
    int beam;
    int levels;
    /* observation and action */
    size_t dimension, mask_width, components;
    int32_t *component_sizes;   /* [components] */
    size_t *component_offsets;  /* [components] */
    /* family layout (family, moves) */
    int32_t D, J, K;
    size_t shared_offset, shared_count;
    int32_t *worker_class;      /* [D] */
    float *inv_class_size;      /* [K] 1 / n_k (family: 0 for an empty class) */
    float *inv_class_size_mv;   /* [K] 1 / max(1, n_k) (moves) */
    int32_t *class_devices;     /* [D] devices grouped by class, index order within a class */
    int32_t *class_start;       /* [K + 1] */
    /* scratch (act allocates nothing) */
    float *buf_a, *buf_b;       /* [max_width] */
    float *logits;              /* [max(last size, J)] */
    float *row;                 /* [sizes[0]] */
    float *lp;                  /* [B × J] */
    float *pre_shared, *pre_device, *first; /* family: [sizes[1]] */
    int32_t *rows;              /* [sizes[L]]: the output rows to compute */
    float *cand_score;          /* [B]: the best candidates so far, best first */
    int32_t *cand_index;        /* [B] */
    int32_t *held;              /* [D] */
    uint8_t *idle;              /* [D] */
    float *plans;               /* [2 × B × plan size] */
    int32_t *picks;             /* [2 × B × D] */
    float *scores;              /* [2 × B] */
    float *candidates;          /* [B × J] */
    int32_t *class_rows;        /* [K + 1]: moves: class k's allowed options are rows[class_rows[k] ..< class_rows[k + 1]] */
    int32_t *moves_choice;      /* [K] */
    int32_t *movable;           /* [J × J] */
    uint8_t *allow_all;         /* [mask_width] */
};

void sg_policy_free(sg_policy *p) {
    int l;
    if (!p) return;
    free(p->document);
    for (l = 0; l < SG_MAX_LAYERS; l++) { free(p->weights[l]); free(p->biases[l]); free(p->columns_memory[l]); }
    free(p->component_sizes); free(p->component_offsets);
    free(p->worker_class); free(p->inv_class_size); free(p->inv_class_size_mv);
    free(p->class_devices); free(p->class_start);
    free(p->buf_a); free(p->buf_b); free(p->logits); free(p->row); free(p->lp);
    free(p->held); free(p->idle); free(p->plans); free(p->picks); free(p->scores); free(p->candidates);
    free(p->class_rows); free(p->moves_choice); free(p->movable); free(p->allow_all);
    free(p->pre_shared); free(p->pre_device); free(p->first); free(p->rows);
    free(p->cand_score); free(p->cand_index);
    free(p);
}

size_t sg_policy_observation_dimension(const sg_policy *p) { return p ? p->dimension : 0; }
size_t sg_policy_mask_width(const sg_policy *p) { return p ? p->mask_width : 0; }
size_t sg_policy_action_components(const sg_policy *p) { return p ? p->components : 0; }
int32_t sg_policy_component_size(const sg_policy *p, size_t c) {
    return (p && c < p->components) ? p->component_sizes[c] : 0;
}
sg_kind sg_policy_kind(const sg_policy *p) { return p ? p->kind : (sg_kind)0; }
const char *sg_policy_kind_name(const sg_policy *p) {
    if (!p) return "";
    return p->kind == SG_KIND_MLP ? "mlp" : p->kind == SG_KIND_FAMILY ? "family" : "moves";
}
int sg_policy_beam_width(const sg_policy *p) { return p ? p->beam : 0; }
const char *sg_policy_document(const sg_policy *p, size_t *len) {
    if (len) *len = p ? p->document_len : 0;
    return p ? p->document : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Acting                                                                                      */
/*
 * Where the time goes (runtime/c/README.md, "Latency"): the hidden layers' matrix-vector
 * products, and tanh. So acting
 *   - computes a hidden layer from its transposed weights, 32 outputs at a time in named sums
 *     that GCC and Clang keep in registers and vectorise at -O2 (column_block32);
 *   - computes tanh as the Swift runtime's rational function, vectorised (tanh32);
 *   - built with AVX2 and FMA enabled (`-mavx2 -mfma`, or `-march=` a CPU that has them), does
 *     the hidden layers and a family's first layer 64 outputs at a time in 8 AVX registers with
 *     fused multiply-adds, the first layer's column sums and its tanh in one pass
 *     (column_block64, first_block64), from transposed weights aligned to 64 bytes (no vector
 *     load straddles a cache line: 30% faster on a 128 × 128 layer);
 *   - computes only the output rows the mask allows (a moves policy allows a few of its
 *     K × (1 + V² × L) options; the argmax reads nothing else);
 *   - splits a family network's first layer: its input row is the device's block, its class's
 *     one-hot, the plan and the shared block, so the bias plus the shared block's columns is
 *     computed once per decision, the device's columns once per device, and each beam adds only
 *     the plan's non-zero columns (a column lookup per one-hot entry, not a matrix product);
 *   - in beam search, scores each distinct plan once per device (beams whose plans are equal
 *     have the same row, so the same scores), and skips the beams that cannot place a
 *     candidate among the best (a candidate's score is its beam's score plus a log-probability,
 *     which is <= 0; beams come best first): at the last device only the best candidate counts.
 * None of this changes what is computed except the order in which the hidden layers' sums are
 * added and, with FMA, the rounding of each multiply-add.
 */

/* The 8 lanes of a dot product, combined pairwise. */
static float lanes_sum(const float *s) {
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

/* Dot product in float with 8 independent partial sums (lanes), combined pairwise: the compiler
 * vectorises it without -ffast-math; the order differs from a sequential sum only by rounding.
 * (Four rows at a time with 32 lane sums was slower with both GCC and Clang.) */
static float dot(const float *SG_RESTRICT w, const float *SG_RESTRICT x, int32_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int32_t k = 0, l;
    for (; k + 8 <= n; k += 8)
        for (l = 0; l < 8; l++) s[l] += w[k + l] * x[k + l];
    for (l = 0; k < n; k++, l++) s[l] += w[k] * x[k];
    return lanes_sum(s);
}

/* y[rows[i]] = W[rows[i]] · x + b[rows[i]] for i < count (rows NULL: every row, count = m): the
 * output layer, of which a mask may allow a few rows. */
static void dense(const float *W, const float *b, int32_t n, const int32_t *rows, int32_t count,
                  const float *SG_RESTRICT x, float *SG_RESTRICT y) {
    int32_t i;
    SG_COUNT_MACS((long)count * n);
    for (i = 0; i < count; i++) {
        int32_t r = rows ? rows[i] : i;
        y[r] = dot(W + (size_t)r * (size_t)n, x, n) + b[r];
    }
}

/* y = Wt^T x + b (all m rows) from the transposed weights (column k at Wt + k × m), in blocks
 * of 32 outputs: each block adds the columns in index order into 32 named sums. Named scalars
 * (not an array) are what both GCC and Clang keep in registers and vectorise at -O2: 8 (SSE)
 * or 4 (AVX) independent vector sums, each input loaded once per block (~15 multiply-adds per
 * ns with SSE2, ~20 with AVX2 on this machine's 128 × 128 layer; a row-by-row dot product
 * with an array of lanes got 8 with GCC and 4 with Clang). */
#define SG_SUMS8(a) a##0, a##1, a##2, a##3, a##4, a##5, a##6, a##7
#define SG_INIT8(a, o) a##0 = b[i + (o)]; a##1 = b[i + (o) + 1]; a##2 = b[i + (o) + 2]; a##3 = b[i + (o) + 3]; \
    a##4 = b[i + (o) + 4]; a##5 = b[i + (o) + 5]; a##6 = b[i + (o) + 6]; a##7 = b[i + (o) + 7];
#define SG_ADD8(a, o) a##0 += v * c[(o)]; a##1 += v * c[(o) + 1]; a##2 += v * c[(o) + 2]; a##3 += v * c[(o) + 3]; \
    a##4 += v * c[(o) + 4]; a##5 += v * c[(o) + 5]; a##6 += v * c[(o) + 6]; a##7 += v * c[(o) + 7];
#define SG_STORE8(a, o) y[i + (o)] = a##0; y[i + (o) + 1] = a##1; y[i + (o) + 2] = a##2; y[i + (o) + 3] = a##3; \
    y[i + (o) + 4] = a##4; y[i + (o) + 5] = a##5; y[i + (o) + 6] = a##6; y[i + (o) + 7] = a##7;

static void column_block32(const float *SG_RESTRICT Wt, const float *SG_RESTRICT b, int32_t n, int32_t m, int32_t i,
                           const float *SG_RESTRICT x, float *SG_RESTRICT y) {
    float SG_SUMS8(a), SG_SUMS8(d), SG_SUMS8(e), SG_SUMS8(f);
    int32_t k;
    SG_INIT8(a, 0) SG_INIT8(d, 8) SG_INIT8(e, 16) SG_INIT8(f, 24)
    for (k = 0; k < n; k++) {
        const float v = x[k], *c = Wt + (size_t)k * (size_t)m + i;
        SG_ADD8(a, 0) SG_ADD8(d, 8) SG_ADD8(e, 16) SG_ADD8(f, 24)
    }
    SG_STORE8(a, 0) SG_STORE8(d, 8) SG_STORE8(e, 16) SG_STORE8(f, 24)
}

static void column_block8(const float *SG_RESTRICT Wt, const float *SG_RESTRICT b, int32_t n, int32_t m, int32_t i,
                          const float *SG_RESTRICT x, float *SG_RESTRICT y) {
    float SG_SUMS8(a);
    int32_t k;
    SG_INIT8(a, 0)
    for (k = 0; k < n; k++) {
        const float v = x[k], *c = Wt + (size_t)k * (size_t)m + i;
        SG_ADD8(a, 0)
    }
    SG_STORE8(a, 0)
}
#undef SG_SUMS8
#undef SG_INIT8
#undef SG_ADD8
#undef SG_STORE8

#if defined(__AVX2__) && defined(__FMA__) && !defined(SG_PORTABLE) && !defined(SG_LIBM_TANH)
/* With AVX2 and FMA enabled at compile time (`-mavx2 -mfma`, or `-march=` a CPU that has them;
 * -DSG_PORTABLE turns this off), the hidden layers and a family network's first layer are
 * computed 64 outputs at a time in 8 AVX registers with fused multiply-adds (two FMA units
 * busy; 4 accumulators are bound by the FMA latency), and tanh in registers. The same sums in
 * the same order as the portable code, each product and addition fused (one rounding), and
 * the same rational tanh with exact division: actions agree with the portable build and the
 * Swift runtime except at near-ties (runtime/c/README.md, "Latency"). */
#include <immintrin.h>
#define SG_AVX 1

/* tanh of 8 values in registers: tanh32's clamp, rational function and small-|x| choice. */
static inline __m256 tanh_ps(__m256 y0) {
    const __m256 hi = _mm256_set1_ps(7.90531110763549805f), lo = _mm256_set1_ps(-7.90531110763549805f);
    __m256 v = _mm256_max_ps(lo, _mm256_min_ps(hi, y0));   /* NaN stays NaN, as in tanh32 */
    __m256 x2 = _mm256_mul_ps(v, v), p, q, small;
    p = _mm256_fmadd_ps(_mm256_set1_ps(-2.76076847742355e-16f), x2, _mm256_set1_ps(2.00018790482477e-13f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-8.60467152213735e-11f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(5.12229709037114e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(1.48572235717979e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(6.37261928875436e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(4.89352455891786e-03f));
    p = _mm256_mul_ps(p, v);
    q = _mm256_fmadd_ps(_mm256_set1_ps(1.19825839466702e-06f), x2, _mm256_set1_ps(1.18534705686654e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(2.26843463243900e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(4.89352518554385e-03f));
    small = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), y0), _mm256_set1_ps(0.0004f), _CMP_LT_OQ);
    return _mm256_blendv_ps(_mm256_div_ps(p, q), y0, small);
}

#define SG_LOAD64(a, src) a##0 = _mm256_loadu_ps(src); a##1 = _mm256_loadu_ps((src) + 8); \
    a##2 = _mm256_loadu_ps((src) + 16); a##3 = _mm256_loadu_ps((src) + 24); a##4 = _mm256_loadu_ps((src) + 32); \
    a##5 = _mm256_loadu_ps((src) + 40); a##6 = _mm256_loadu_ps((src) + 48); a##7 = _mm256_loadu_ps((src) + 56);
#define SG_FMA64(a, v, c) a##0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(c), a##0); \
    a##1 = _mm256_fmadd_ps(v, _mm256_loadu_ps((c) + 8), a##1); a##2 = _mm256_fmadd_ps(v, _mm256_loadu_ps((c) + 16), a##2); \
    a##3 = _mm256_fmadd_ps(v, _mm256_loadu_ps((c) + 24), a##3); a##4 = _mm256_fmadd_ps(v, _mm256_loadu_ps((c) + 32), a##4); \
    a##5 = _mm256_fmadd_ps(v, _mm256_loadu_ps((c) + 40), a##5); a##6 = _mm256_fmadd_ps(v, _mm256_loadu_ps((c) + 48), a##6); \
    a##7 = _mm256_fmadd_ps(v, _mm256_loadu_ps((c) + 56), a##7);
#define SG_STORE64(a, dst) _mm256_storeu_ps(dst, a##0); _mm256_storeu_ps((dst) + 8, a##1); \
    _mm256_storeu_ps((dst) + 16, a##2); _mm256_storeu_ps((dst) + 24, a##3); _mm256_storeu_ps((dst) + 32, a##4); \
    _mm256_storeu_ps((dst) + 40, a##5); _mm256_storeu_ps((dst) + 48, a##6); _mm256_storeu_ps((dst) + 56, a##7);

/* column_block32 for 64 outputs: y[i ..< i + 64] = b + the columns of Wt in index order times x. */
static void column_block64(const float *SG_RESTRICT Wt, const float *SG_RESTRICT b, int32_t n, int32_t m, int32_t i,
                           const float *SG_RESTRICT x, float *SG_RESTRICT y) {
    __m256 a0, a1, a2, a3, a4, a5, a6, a7;
    int32_t k;
    SG_LOAD64(a, b + i)
    for (k = 0; k < n; k++) {
        const __m256 v = _mm256_broadcast_ss(x + k);
        const float *c = Wt + (size_t)k * (size_t)m + i;
        SG_FMA64(a, v, c)
    }
    SG_STORE64(a, y + i)
}

/* A family network's first layer, outputs i ..< i + 64 of m: out = start + x[c] × column c of
 * `cols` for each non-zero x[c] (c < count, in order), then + the column `extra` (NULL: none),
 * then tanh when `tanh` is set: add_columns, axpy and activate in one pass, in registers. */
static void first_block64(const float *SG_RESTRICT start, const float *SG_RESTRICT x, size_t count, const float *SG_RESTRICT cols,
                          int32_t m, int32_t i, const float *SG_RESTRICT extra, int tanh, float *SG_RESTRICT out) {
    __m256 a0, a1, a2, a3, a4, a5, a6, a7;
    size_t c;
    SG_LOAD64(a, start + i)
    for (c = 0; c < count; c++) {
        if (x[c] != 0.0f) {
            const __m256 v = _mm256_broadcast_ss(x + c);
            const float *col = cols + c * (size_t)m + i;
            SG_COUNT_MACS(64);
            SG_FMA64(a, v, col)
        }
    }
    if (extra) {
        const __m256 one = _mm256_set1_ps(1.0f);
        SG_COUNT_MACS(64);
        SG_FMA64(a, one, extra + i)
    }
    if (tanh) {
        a0 = tanh_ps(a0); a1 = tanh_ps(a1); a2 = tanh_ps(a2); a3 = tanh_ps(a3);
        a4 = tanh_ps(a4); a5 = tanh_ps(a5); a6 = tanh_ps(a6); a7 = tanh_ps(a7);
    }
    SG_STORE64(a, out + i)
}
#undef SG_LOAD64
#undef SG_FMA64
#undef SG_STORE64
#endif

static void dense_columns(const float *Wt, const float *b, int32_t n, int32_t m, const float *SG_RESTRICT x,
                          float *SG_RESTRICT y) {
    int32_t i = 0;
    SG_COUNT_MACS((long)n * m);
#ifdef SG_AVX
    for (; i + 64 <= m; i += 64) column_block64(Wt, b, n, m, i, x, y);
#endif
    for (; i + 32 <= m; i += 32) column_block32(Wt, b, n, m, i, x, y);
    for (; i + 8 <= m; i += 8) column_block8(Wt, b, n, m, i, x, y);
    for (; i < m; i++) {
        float a = b[i];
        int32_t k;
        for (k = 0; k < n; k++) a += x[k] * Wt[(size_t)k * (size_t)m + i];
        y[i] = a;
    }
}

#ifndef SG_LIBM_TANH
/* The rational tanh of the Swift runtime (Eigen's ptanh_float, [13/6] minimax on
 * [-7.90531, 7.90531], clamped outside, x itself for |x| < 0.0004; relative error < 2e-6),
 * on N values at once: the clamp, the rational function and the small-|x| choice are three
 * loops, so GCC and Clang vectorise each at -O2 (one loop would stay scalar: "control flow in
 * loop"); 32 values give the out-of-order core independent chains to overlap (GCC -O2: 1.3 ns
 * a value against 1.8 for blocks of 8). Several times faster than tanhf; -DSG_LIBM_TANH uses
 * libm's tanhf instead. */
#define SG_TANH_BLOCK(name, N)                                                                      \
    static void name(float *SG_RESTRICT y) {                                                        \
        const float clamp = 7.90531110763549805f;                                                   \
        float x[N];                                                                                 \
        int l;                                                                                      \
        for (l = 0; l < N; l++) {                                                                   \
            float a = y[l] > clamp ? clamp : y[l];                                                  \
            x[l] = a < -clamp ? -clamp : a;                                                         \
        }                                                                                           \
        for (l = 0; l < N; l++) {                                                                   \
            float v = x[l], x2 = v * v, p, q;                                                       \
            p = -2.76076847742355e-16f;                                                             \
            p = p * x2 + 2.00018790482477e-13f;                                                     \
            p = p * x2 + -8.60467152213735e-11f;                                                    \
            p = p * x2 + 5.12229709037114e-08f;                                                     \
            p = p * x2 + 1.48572235717979e-05f;                                                     \
            p = p * x2 + 6.37261928875436e-04f;                                                     \
            p = p * x2 + 4.89352455891786e-03f;                                                     \
            p = p * v;                                                                              \
            q = 1.19825839466702e-06f;                                                              \
            q = q * x2 + 1.18534705686654e-04f;                                                     \
            q = q * x2 + 2.26843463243900e-03f;                                                     \
            q = q * x2 + 4.89352518554385e-03f;                                                     \
            x[l] = p / q;                                                                           \
        }                                                                                           \
        for (l = 0; l < N; l++) y[l] = (y[l] < 0.0004f && y[l] > -0.0004f) ? y[l] : x[l];          \
    }
SG_TANH_BLOCK(tanh32, 32)
SG_TANH_BLOCK(tanh8, 8)
#undef SG_TANH_BLOCK
#endif

/* The hidden activation on y[0 ..< m], in fixed blocks (vectorised at -O2). */
static void activate(const sg_policy *p, float *SG_RESTRICT y, int32_t m) {
    int32_t i = 0, l;
    if (p->relu) {
        for (; i + 8 <= m; i += 8) for (l = 0; l < 8; l++) y[i + l] = y[i + l] > 0.0f ? y[i + l] : 0.0f;
        for (; i < m; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        return;
    }
#ifndef SG_LIBM_TANH
#ifdef SG_AVX
    for (; i + 8 <= m; i += 8) _mm256_storeu_ps(y + i, tanh_ps(_mm256_loadu_ps(y + i)));
#endif
    for (; i + 32 <= m; i += 32) tanh32(y + i);
    for (; i + 8 <= m; i += 8) tanh8(y + i);
    if (i < m) {
        float t[8] = {0};
        for (l = 0; i + l < m; l++) t[l] = y[i + l];
        tanh8(t);
        for (l = 0; i + l < m; l++) y[i + l] = t[l];
    }
#else
    for (; i < m; i++) y[i] = tanhf(y[i]);
    (void)l;
#endif
}

/* y[0 ..< m] += a × col[0 ..< m], in fixed blocks of 8. */
static void axpy(float a, const float *SG_RESTRICT col, float *SG_RESTRICT y, int32_t m) {
    int32_t i = 0, l;
    SG_COUNT_MACS(m);
    for (; i + 8 <= m; i += 8) for (l = 0; l < 8; l++) y[i + l] += a * col[i + l];
    for (; i < m; i++) y[i] += a * col[i];
}

/* Layers l0 ... of the MLP on x (layer l0's input) into `out` (sizes[L] floats): the last layer
 * computes only the rows listed (rows NULL: all). x and out must not be buf_a/buf_b. */
static void mlp_from(const sg_policy *p, int l0, const float *x, const int32_t *rows, int32_t count, float *out) {
    const float *in = x;
    int l;
    for (l = l0; l < p->layers; l++) {
        int last = l == p->layers - 1;
        float *y = last ? out : ((l & 1) ? p->buf_b : p->buf_a);
        if (last) dense(p->weights[l], p->biases[l], p->sizes[l], rows, rows ? count : p->sizes[l + 1], in, y);
        else {
            dense_columns(p->columns[l], p->biases[l], p->sizes[l], p->sizes[l + 1], in, y);
            activate(p, y, p->sizes[l + 1]);
        }
        in = y;
    }
}

/* The allowed indices of mask[0 ..< n] (all when mask is NULL) into rows; returns their count. */
static int32_t allowed_rows(const uint8_t *mask, int32_t n, int32_t offset, int32_t *rows) {
    int32_t i, c = 0;
    for (i = 0; i < n; i++) if (!mask || mask[i]) rows[c++] = offset + i;
    return c;
}

/* The smallest allowed index maximising z (first on ties); -1 when nothing is allowed. NaN
 * scores never win over an earlier allowed index (as the Swift runtime). */
static int32_t masked_argmax(const float *z, const uint8_t *mask, int32_t n) {
    int32_t best = -1, i;
    float bv = -INFINITY;
    for (i = 0; i < n; i++) {
        if (mask && !mask[i]) continue;
        if (best < 0 || z[i] > bv) { best = i; bv = z[i]; }
    }
    return best;
}

static int32_t held_of(const sg_policy *p, const float *obs, int32_t w) {
    const float *o = obs + (size_t)w * (size_t)(p->J + 1);
    int32_t j, h = 0;
    for (j = p->J - 1; j >= 0; j--) h = o[j] > 0.5f ? j : h;   /* the first j, without branches */
    return h;
}

static size_t plan_size(const sg_policy *p) { return (size_t)p->K * (size_t)p->J + (size_t)p->K; }

static void start_plan(const sg_policy *p, float *plan) {
    int32_t w;
    memset(plan, 0, plan_size(p) * sizeof(float));
    for (w = 0; w < p->D; w++) {
        int32_t k = p->worker_class[w];
        plan[(size_t)k * p->J + p->held[w]] += p->inv_class_size[k];
    }
}

static void advance_plan(const sg_policy *p, int32_t w, int32_t j, float *plan) {
    int32_t k = p->worker_class[w];
    float x = p->inv_class_size[k];
    plan[(size_t)k * p->J + p->held[w]] -= x;
    plan[(size_t)k * p->J + j] += x;
    plan[(size_t)p->K * p->J + k] += x;
}

/* The first layer's columns: p->columns[0] holds W0 transposed (column c of the row is
 * columns[0] + c × sizes[1]). x's entries that are 0 contribute nothing, so they are skipped. */
static void add_columns(const sg_policy *p, const float *x, size_t first, size_t count, float *pre) {
    size_t c;
    int32_t m = p->sizes[1];
    for (c = 0; c < count; c++)
        if (x[c] != 0.0f) axpy(x[c], p->columns[0] + (first + c) * (size_t)m, pre, m);
}

/* Per decision: bias + the shared block's columns into p->pre_shared. */
static void family_shared(const sg_policy *p, const float *obs) {
    size_t J = (size_t)p->J, K = (size_t)p->K;
#ifdef SG_AVX
    if (p->sizes[1] % 64 == 0) {
        int32_t i, m = p->sizes[1];
        for (i = 0; i < m; i += 64)
            first_block64(p->biases[0], obs + p->shared_offset, p->shared_count,
                          p->columns[0] + (J + 1 + K + plan_size(p)) * (size_t)m, m, i, NULL, 0, p->pre_shared);
        return;
    }
#endif
    memcpy(p->pre_shared, p->biases[0], (size_t)p->sizes[1] * sizeof(float));
    add_columns(p, obs + p->shared_offset, J + 1 + K + plan_size(p), p->shared_count, p->pre_shared);
}

/* Per device: pre_shared + the device block's and its class's columns into p->pre_device. */
static void family_device(const sg_policy *p, const float *obs, int32_t w) {
    size_t J = (size_t)p->J;
    int32_t m = p->sizes[1];
#ifdef SG_AVX
    if (m % 64 == 0) {
        int32_t i;
        for (i = 0; i < m; i += 64)
            first_block64(p->pre_shared, obs + (size_t)w * (J + 1), J + 1, p->columns[0], m, i,
                          p->columns[0] + (J + 1 + (size_t)p->worker_class[w]) * (size_t)m, 0, p->pre_device);
        return;
    }
#endif
    memcpy(p->pre_device, p->pre_shared, (size_t)m * sizeof(float));
    add_columns(p, obs + (size_t)w * (J + 1), 0, J + 1, p->pre_device);
    axpy(1.0f, p->columns[0] + (J + 1 + (size_t)p->worker_class[w]) * (size_t)m, p->pre_device, m);
}

/* Device w's scores for a plan into z (J floats; only the rows `rm` allows when rm is not NULL),
 * stay bias included. */
static void family_scores(sg_policy *p, int32_t w, const float *plan, const uint8_t *rm, float *z) {
    int32_t m = p->sizes[1], n;
    size_t J = (size_t)p->J, K = (size_t)p->K;
    float *h = p->first;
    int activated = 0;
#ifdef SG_AVX
    if (m % 64 == 0 && (p->layers == 1 || !p->relu)) {
        int32_t i;
        activated = p->layers > 1;
        for (i = 0; i < m; i += 64)
            first_block64(p->pre_device, plan, plan_size(p), p->columns[0] + (J + 1 + K) * (size_t)m, m, i, NULL, activated, h);
    } else
#endif
    {
        memcpy(h, p->pre_device, (size_t)m * sizeof(float));
        add_columns(p, plan, J + 1 + K, plan_size(p), h);
    }
    n = allowed_rows(rm, p->J, 0, p->rows);
    if (p->layers == 1) {
        int32_t i;
        for (i = 0; i < n; i++) z[p->rows[i]] = h[p->rows[i]];
    } else {
        if (!activated) activate(p, h, m);
        mlp_from(p, 1, h, p->rows, n, z);
    }
    z[p->held[w]] += p->stay_bias;
}

static void family_greedy(sg_policy *p, const float *obs, const uint8_t *mask, int32_t *action) {
    int32_t w, J = p->J;
    float *plan = p->plans;
    start_plan(p, plan);
    family_shared(p, obs);
    for (w = 0; w < p->D; w++) {
        const uint8_t *rm = mask ? mask + (size_t)w * J : NULL;
        int32_t c;
        family_device(p, obs, w);
        family_scores(p, w, plan, rm, p->logits);
        c = masked_argmax(p->logits, rm, J);
        action[w] = c;
        advance_plan(p, w, c, plan);
    }
}

static void family_beam(sg_policy *p, const float *obs, const uint8_t *mask, int32_t *action) {
    int32_t J = p->J, D = p->D, B = p->beam, w, live = 1, current = 0, b, j;
    size_t ps = plan_size(p);
    start_plan(p, p->plans);
    family_shared(p, obs);
    p->scores[0] = 0.0f;
    for (w = 0; w < D; w++) {
        float *plans = p->plans + (size_t)current * B * ps;
        int32_t *picks = p->picks + (size_t)current * B * D;
        const uint8_t *rm = mask ? mask + (size_t)w * J : NULL;
        int32_t next = 1 - current, kept = 0, want = w == D - 1 ? 1 : B, i;
        float *next_plans = p->plans + (size_t)next * B * ps;
        int32_t *next_picks = p->picks + (size_t)next * B * D;
        float *lps = p->lp;   /* [B × J]: beam b's log-probabilities */
        family_device(p, obs, w);
        for (b = 0; b < live; b++) {
            const float *plan = plans + (size_t)b * ps;
            float score = p->scores[current * B + b], *lp = lps + (size_t)b * J;
            int32_t same = -1, u;
            /* The kept candidates are the best `want` so far, best first; beam b's candidates
             * score <= its score and come later on ties, so it (and every later beam) is out. */
            if (kept == want && !(score > p->cand_score[want - 1])) break;
            for (u = 0; u < b && same < 0; u++)
                if (memcmp(plans + (size_t)u * ps, plan, ps * sizeof(float)) == 0) same = u;
            if (same >= 0) memcpy(lp, lps + (size_t)same * J, (size_t)J * sizeof(float));
            else {
                float mx = -INFINITY, s = 0.0f, lse;
                family_scores(p, w, plan, rm, p->logits);
                for (j = 0; j < J; j++) if (!rm || rm[j]) mx = fmaxf(mx, p->logits[j]);
                for (j = 0; j < J; j++) if (!rm || rm[j]) s += expf(p->logits[j] - mx);
                lse = mx + logf(s);
                for (j = 0; j < J; j++) lp[j] = p->logits[j] - lse;
            }
            /* Insert the candidates (b, j) in index order: after every kept one that scores as
             * well, so the smaller index first on ties (the selection the format describes). */
            for (j = 0; j < J; j++) {
                float c;
                if (rm && !rm[j]) continue;
                c = score + lp[j];
                if (!(c > -INFINITY)) continue;   /* -inf or NaN: never selected */
                if (kept == want && !(c > p->cand_score[want - 1])) continue;
                i = kept < want ? kept++ : want - 1;
                for (; i > 0 && c > p->cand_score[i - 1]; i--) {
                    p->cand_score[i] = p->cand_score[i - 1];
                    p->cand_index[i] = p->cand_index[i - 1];
                }
                p->cand_score[i] = c;
                p->cand_index[i] = b * J + j;
            }
        }
        if (kept == 0) { family_greedy(p, obs, mask, action); return; } /* NaN scores: as the Swift runtime */
        for (i = 0; i < kept; i++) {
            int32_t pb = p->cand_index[i] / J, pj = p->cand_index[i] % J;
            memcpy(next_plans + (size_t)i * ps, plans + (size_t)pb * ps, ps * sizeof(float));
            advance_plan(p, w, pj, next_plans + (size_t)i * ps);
            if (w > 0) memcpy(next_picks + (size_t)i * D, picks + (size_t)pb * D, (size_t)w * sizeof(int32_t));
            next_picks[(size_t)i * D + w] = pj;
            p->scores[next * B + i] = p->cand_score[i];
        }
        live = kept;
        current = next;
    }
    memcpy(action, p->picks + (size_t)current * B * D, (size_t)D * sizeof(int32_t));
}

static void moves_act(sg_policy *p, const float *obs, const uint8_t *fleet_mask, int32_t *action) {
    int32_t V = p->J, K = p->K, Lv = p->levels, k, w, from, to, level, n = 0;
    size_t opts = 1 + (size_t)V * V * Lv, i;
    float *mobs = p->row;
    for (w = 0; w < p->D; w++) p->idle[w] = obs[(size_t)w * (V + 1) + V] <= 0.0f;
    memset(mobs, 0, (size_t)K * (V + 1) * sizeof(float));
    for (k = 0; k < K; k++) {
        float inv = p->inv_class_size_mv[k];
        for (i = (size_t)p->class_start[k]; i < (size_t)p->class_start[k + 1]; i++) {
            w = p->class_devices[i];
            mobs[(size_t)k * V + p->held[w]] += inv;
            if (!p->idle[w]) mobs[(size_t)K * V + k] += inv;
        }
    }
    memcpy(mobs + (size_t)K * (V + 1), obs + p->shared_offset, p->shared_count * sizeof(float));
    /* The allowed options of each class, in index order: option 0, and (from, to, level) when
     * from != to and the class has at least 2^level idle devices holding from that may hold to.
     * Only these outputs are computed, and the class's choice is the first best among them. */
    for (k = 0; k < K; k++) {
        int32_t first = n;
        memset(p->movable, 0, (size_t)V * V * sizeof(int32_t));
        /* Without branches on the mask or the device's state (random ones mispredict): an idle
         * device counts 1 towards each (held, to) pair its mask allows, a busy one 0. */
        for (i = (size_t)p->class_start[k]; i < (size_t)p->class_start[k + 1]; i++) {
            int32_t idle;
            w = p->class_devices[i];
            idle = p->idle[w] != 0;
            from = p->held[w];
            for (to = 0; to < V; to++) p->movable[from * V + to] += idle & (fleet_mask[(size_t)w * V + to] != 0);
        }
        p->rows[n++] = (int32_t)((size_t)k * opts);
        /* Each pair's levels 0 ..< its count are allowed (2^level <= c): every level's row is
         * written and n advances by the count. They fit: the rows listed so far are a subset of
         * the options before this pair's first, so n + Lv <= first + Lv <= the output size. */
        for (from = 0; from < V; from++)
            for (to = 0; to < V; to++) {
                int32_t c = from == to ? 0 : p->movable[from * V + to], allowed = 0;
                size_t first = (size_t)k * opts + 1 + ((size_t)from * V + to) * Lv;
                for (level = 0; level < Lv; level++) {
                    p->rows[n + level] = (int32_t)(first + (size_t)level);
                    allowed += c >= ((int32_t)1 << level);
                }
                n += allowed;
            }
        p->class_rows[k] = first;
    }
    p->class_rows[K] = n;
    mlp_from(p, 0, mobs, p->rows, n, p->logits);
    for (k = 0; k < K; k++) {
        int32_t r, best = -1;
        float bv = -INFINITY;
        for (r = p->class_rows[k]; r < p->class_rows[k + 1]; r++)
            if (best < 0 || p->logits[p->rows[r]] > bv) { best = p->rows[r]; bv = p->logits[best]; }
        p->moves_choice[k] = (int32_t)((size_t)best - (size_t)k * opts);
    }
    for (w = 0; w < p->D; w++) action[w] = p->held[w];
    for (k = 0; k < K; k++) {
        int32_t opt = p->moves_choice[k], x, pair, left;
        if (opt <= 0) continue;
        x = opt - 1;
        level = x % Lv;
        pair = x / Lv;
        from = pair / V;
        to = pair % V;
        if (from == to) continue;
        left = (int32_t)1 << level;
        for (i = (size_t)p->class_start[k]; i < (size_t)p->class_start[k + 1] && left > 0; i++) {
            w = p->class_devices[i];
            if (action[w] == from && p->idle[w] && fleet_mask[(size_t)w * V + to]) { action[w] = to; left--; }
        }
    }
}

/* Whether x[0 ..< n] is finite: x × 0 is ±0 when x is finite and NaN otherwise; summed in 8
 * lanes of fixed length (vectorised), without a branch per entry. */
static int all_finite(const float *SG_RESTRICT x, size_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t k = 0;
    int l;
    for (; k + 8 <= n; k += 8) for (l = 0; l < 8; l++) s[l] += x[k + l] * 0.0f;
    for (l = 0; k < n; k++, l++) s[l] += x[k] * 0.0f;
    return lanes_sum(s) == 0.0f;
}

int sg_policy_act(sg_policy *p, const float *observation, const uint8_t *mask, int32_t *action,
                  char *err, size_t err_len) {
    size_t c;
    if (!p || !observation || !action) return fail(err, err_len, SG_ERR_ARGUMENT, "sg_policy_act: NULL argument");
    if (!all_finite(observation, p->dimension))
        for (c = 0; c < p->dimension; c++)
            if (!isfinite(observation[c])) return fail(err, err_len, SG_ERR_INPUT, "observation[%zu] is not finite", c);
    if (mask) {
        for (c = 0; c < p->components; c++) {
            const uint8_t *m = mask + p->component_offsets[c];
            int32_t i;
            unsigned any = 0;
            for (i = 0; i < p->component_sizes[c]; i++) any |= m[i];   /* no early exit: random masks mispredict it */
            if (!any) return fail(err, err_len, SG_ERR_MASK, "mask component %zu allows no value", c);
        }
    }
    if (p->kind == SG_KIND_MLP) {
        int32_t n = allowed_rows(mask, (int32_t)p->mask_width, 0, p->rows);
        mlp_from(p, 0, observation, p->rows, n, p->logits);
        for (c = 0; c < p->components; c++) {
            size_t o = p->component_offsets[c];
            action[c] = masked_argmax(p->logits + o, mask ? mask + o : NULL, p->component_sizes[c]);
        }
        return SG_OK;
    }
    {
        int32_t w;
        for (w = 0; w < p->D; w++) p->held[w] = held_of(p, observation, w);
    }
    if (p->kind == SG_KIND_FAMILY) {
        if (p->beam > 1) family_beam(p, observation, mask, action); else family_greedy(p, observation, mask, action);
    } else {
        moves_act(p, observation, mask ? mask : p->allow_all, action);
    }
    return SG_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Loading                                                                                     */

typedef struct {
    const char *name;
    int dtype;          /* 0 F32, 1 U8, 2 I32 */
    int rank;
    uint64_t shape[2];
    int found;
    uint64_t begin, end;
} tensor_spec;

static const char *dtype_names[] = {"F32", "U8", "I32"};
static const uint64_t dtype_sizes[] = {4, 1, 4};

static uint32_t le32(const uint8_t *b) {
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static void format_shape(char *out, size_t n, const uint64_t *shape, int rank) {
    int r;
    size_t used = 0;
    used += (size_t)snprintf(out + used, n - used, "[");
    for (r = 0; r < rank && used < n; r++)
        used += (size_t)snprintf(out + used, n - used, "%s%llu", r ? ", " : "", (unsigned long long)shape[r]);
    if (used < n) snprintf(out + used, n - used, "]");
}

/* Reads an array of small non-negative integers (node `a`) into `out` (n entries, each in lo...hi). */
static int int_array(const jdoc *d, int32_t a, int32_t *out, size_t n, int64_t lo, int64_t hi) {
    int32_t q;
    size_t i = 0;
    if (a < 0 || d->nodes[a].type != J_ARR || d->nodes[a].count != n) return 0;
    for (q = d->nodes[a].first; q >= 0; q = d->nodes[q].next) {
        int64_t v;
        if (!jis_int(d, q, lo, hi, &v)) return 0;
        out[i++] = (int32_t)v;
    }
    return 1;
}

static int str_is(const jdoc *d, int32_t n, const char *s) {
    return n >= 0 && d->nodes[n].type == J_STR && d->nodes[n].str_len == strlen(s) &&
           memcmp(d->strs + d->nodes[n].str, s, d->nodes[n].str_len) == 0;
}

#define ALLOC(ptr, count, type)                                                                     \
    do {                                                                                            \
        (ptr) = (type *)calloc((count) > 0 ? (size_t)(count) : 1, sizeof(type));                    \
        if (!(ptr)) { rc = fail(err, err_len, SG_ERR_NO_MEMORY, "out of memory"); goto done; }       \
    } while (0)

#define BAD(...)                                                                                    \
    do { rc = fail(err, err_len, SG_ERR_FORMAT, __VA_ARGS__); goto done; } while (0)

/* Parses the document, checks the tensors, builds the handle; the self-test comes after. */
static int build(const uint8_t *data, uint64_t data_len, const jdoc *hdr, const char *policy_text,
                 size_t policy_len, sg_policy **out, char *err, size_t err_len) {
    jdoc doc = {0};
    sg_policy *p = NULL;
    int rc = SG_OK, l;
    int32_t pol, net, obs, fam, act, q, sizes_node;
    int64_t v;
    tensor_spec specs[2 * SG_MAX_LAYERS + 3];
    int nspecs = 0, t;
    char names[2 * SG_MAX_LAYERS][32];
    int64_t golden_count = 0;

    rc = jparse(policy_text, policy_len, &doc, "policy document", err, err_len);
    if (rc) return rc;
    p = (sg_policy *)calloc(1, sizeof *p);
    if (!p) { rc = fail(err, err_len, SG_ERR_NO_MEMORY, "out of memory"); goto done; }
    ALLOC(p->document, policy_len + 1, char);
    memcpy(p->document, policy_text, policy_len);
    p->document_len = policy_len;

    if (doc.nodes[doc.root].type != J_OBJ) BAD("policy document: not a JSON object");
    if (!str_is(&doc, jget(&doc, doc.root, "format"), "switchgym.policy")) BAD("policy document: format is not 'switchgym.policy'");
    if (!jis_int(&doc, jget(&doc, doc.root, "format_version"), 1, 1, &v)) BAD("policy document: format_version is not 1");

    pol = jget(&doc, doc.root, "policy");
    if (pol < 0 || doc.nodes[pol].type != J_OBJ) BAD("policy document: no 'policy' object");
    q = jget(&doc, pol, "kind");
    if (str_is(&doc, q, "mlp")) p->kind = SG_KIND_MLP;
    else if (str_is(&doc, q, "family")) p->kind = SG_KIND_FAMILY;
    else if (str_is(&doc, q, "moves")) p->kind = SG_KIND_MOVES;
    else BAD("policy document: policy.kind must be mlp, family or moves");

    net = jget(&doc, pol, "network");
    if (net < 0 || doc.nodes[net].type != J_OBJ) BAD("policy document: no policy.network object");
    sizes_node = jget(&doc, net, "sizes");
    if (sizes_node < 0 || doc.nodes[sizes_node].type != J_ARR || doc.nodes[sizes_node].count < 2 ||
        doc.nodes[sizes_node].count > SG_MAX_LAYERS + 1)
        BAD("policy document: policy.network.sizes must list 2 to %d layer sizes", SG_MAX_LAYERS + 1);
    p->layers = (int)doc.nodes[sizes_node].count - 1;
    if (!int_array(&doc, sizes_node, p->sizes, (size_t)p->layers + 1, 1, SG_MAX_WIDTH))
        BAD("policy document: policy.network.sizes must be integers in 1...%d", SG_MAX_WIDTH);
    q = jget(&doc, net, "hidden_activation");
    if (str_is(&doc, q, "tanh")) p->relu = 0;
    else if (str_is(&doc, q, "relu")) p->relu = 1;
    else BAD("policy document: policy.network.hidden_activation must be tanh or relu");
    for (l = 0; l <= p->layers; l++) if (p->sizes[l] > p->max_width) p->max_width = p->sizes[l];

    q = jget(&doc, pol, "stay_bias");
    if (q >= 0 && doc.nodes[q].type == J_NUM && isfinite(doc.nodes[q].num) && fabs(doc.nodes[q].num) < 1e30)
        p->stay_bias = (float)doc.nodes[q].num;
    else if (q >= 0 && doc.nodes[q].type != J_NULL) BAD("policy document: policy.stay_bias is not a finite number");
    p->beam = 1;
    q = jget(&doc, pol, "beam_width");
    if (q >= 0 && doc.nodes[q].type != J_NULL) {
        if (!jis_int(&doc, q, 1, SG_MAX_BEAM, &v)) BAD("policy document: policy.beam_width must be an integer in 1...%d", SG_MAX_BEAM);
        p->beam = (int)v;
    }
    if (p->kind != SG_KIND_FAMILY) { p->beam = 1; p->stay_bias = 0.0f; }
    if (p->kind == SG_KIND_MOVES) {
        if (!jis_int(&doc, jget(&doc, pol, "moves_levels"), 1, 30, &v))
            BAD("policy document: a moves policy needs policy.moves_levels in 1...30");
        p->levels = (int)v;
    }

    obs = jget(&doc, doc.root, "observation");
    if (obs < 0 || doc.nodes[obs].type != J_OBJ) BAD("policy document: no 'observation' object");
    if (!jis_int(&doc, jget(&doc, obs, "dimension"), 1, SG_MAX_WIDTH * 16LL, &v))
        BAD("policy document: observation.dimension must be a positive integer");
    p->dimension = (size_t)v;

    act = jget(&doc, doc.root, "action");
    if (act < 0 || doc.nodes[act].type != J_OBJ) BAD("policy document: no 'action' object");
    q = jget(&doc, act, "components");
    if (q < 0 || doc.nodes[q].type != J_ARR || doc.nodes[q].count < 1 || doc.nodes[q].count > SG_MAX_WIDTH)
        BAD("policy document: action.components must be a non-empty array");
    p->components = doc.nodes[q].count;
    ALLOC(p->component_sizes, p->components, int32_t);
    ALLOC(p->component_offsets, p->components, size_t);
    if (!int_array(&doc, q, p->component_sizes, p->components, 1, SG_MAX_WIDTH))
        BAD("policy document: action.components must be integers in 1...%d", SG_MAX_WIDTH);
    {
        size_t c, o = 0;
        for (c = 0; c < p->components; c++) { p->component_offsets[c] = o; o += (size_t)p->component_sizes[c]; }
        if (!jis_int(&doc, jget(&doc, act, "mask_width"), 1, INT32_MAX, &v) || (size_t)v != o)
            BAD("policy document: action.mask_width must be the sum of action.components (%zu)", o);
        p->mask_width = o;
    }

    if (p->kind == SG_KIND_MLP) {
        if ((size_t)p->sizes[0] != p->dimension)
            BAD("policy document: an mlp network takes %d inputs, observation.dimension is %zu", p->sizes[0], p->dimension);
        if ((size_t)p->sizes[p->layers] != p->mask_width)
            BAD("policy document: an mlp network gives %d outputs, action.mask_width is %zu", p->sizes[p->layers], p->mask_width);
    } else {
        int64_t so, sc;
        int32_t w, k, J, K, D;
        size_t c;
        fam = jget(&doc, obs, "family");
        if (fam < 0 || doc.nodes[fam].type != J_OBJ) BAD("policy document: a %s policy needs observation.family", sg_policy_kind_name(p));
        if (!jis_int(&doc, jget(&doc, fam, "workers"), 1, SG_MAX_WORKERS, &v)) BAD("policy document: observation.family.workers must be in 1...%d", SG_MAX_WORKERS);
        p->D = D = (int32_t)v;
        if (!jis_int(&doc, jget(&doc, fam, "jobs"), 1, SG_MAX_JOBS, &v)) BAD("policy document: observation.family.jobs must be in 1...%d", SG_MAX_JOBS);
        p->J = J = (int32_t)v;
        q = jget(&doc, fam, "class_names");
        if (q < 0 || doc.nodes[q].type != J_ARR || doc.nodes[q].count < 1 || doc.nodes[q].count > SG_MAX_CLASSES)
            BAD("policy document: observation.family.class_names must list 1 to %d classes", SG_MAX_CLASSES);
        p->K = K = (int32_t)doc.nodes[q].count;
        ALLOC(p->worker_class, D, int32_t);
        if (!int_array(&doc, jget(&doc, fam, "worker_class"), p->worker_class, (size_t)D, 0, K - 1))
            BAD("policy document: observation.family.worker_class must give each of the %d workers a class in 0...%d", D, K - 1);
        if (!jis_int(&doc, jget(&doc, fam, "shared_offset"), 0, INT32_MAX, &so) ||
            !jis_int(&doc, jget(&doc, fam, "shared_count"), 0, INT32_MAX, &sc))
            BAD("policy document: observation.family.shared_offset/shared_count missing");
        if ((uint64_t)so != (uint64_t)D * (uint64_t)(J + 1) || (uint64_t)so + (uint64_t)sc != p->dimension)
            BAD("policy document: the family layout (%d workers of %d + 1 floats, shared block %lld + %lld) does not fit observation.dimension %zu",
                D, J, (long long)so, (long long)sc, p->dimension);
        p->shared_offset = (size_t)so;
        p->shared_count = (size_t)sc;
        if (p->components != (size_t)D) BAD("policy document: action.components has %zu entries, the fleet %d devices", p->components, D);
        for (c = 0; c < p->components; c++)
            if (p->component_sizes[c] != J) BAD("policy document: action.components[%zu] is %d, expected %d variants", c, p->component_sizes[c], J);
        ALLOC(p->inv_class_size, K, float);
        ALLOC(p->inv_class_size_mv, K, float);
        ALLOC(p->class_start, K + 1, int32_t);
        ALLOC(p->class_devices, D, int32_t);
        for (w = 0; w < D; w++) p->class_start[p->worker_class[w] + 1]++;
        for (k = 0; k < K; k++) {
            int32_t n = p->class_start[k + 1];
            p->inv_class_size[k] = n > 0 ? 1.0f / (float)n : 0.0f;
            p->inv_class_size_mv[k] = 1.0f / (float)(n > 1 ? n : 1);
            p->class_start[k + 1] += p->class_start[k];
        }
        {
            int32_t *fill = NULL;
            ALLOC(fill, K, int32_t);
            for (w = 0; w < D; w++) { k = p->worker_class[w]; p->class_devices[p->class_start[k] + fill[k]++] = w; }
            free(fill);
        }
        if (p->kind == SG_KIND_FAMILY) {
            uint64_t in = (uint64_t)J + 1 + K + (uint64_t)K * J + K + (uint64_t)sc;
            if ((uint64_t)p->sizes[0] != in)
                BAD("policy document: a family network takes J + 1 + K + K×J + K + G = %llu inputs, policy.network.sizes[0] is %d",
                    (unsigned long long)in, p->sizes[0]);
            if (p->sizes[p->layers] != J) BAD("policy document: a family network gives %d outputs, expected %d variants", p->sizes[p->layers], J);
        } else {
            uint64_t in = (uint64_t)K * (J + 1) + (uint64_t)sc;
            uint64_t outn = (uint64_t)K * (1 + (uint64_t)J * J * (uint64_t)p->levels);
            if ((uint64_t)p->sizes[0] != in)
                BAD("policy document: a moves network takes K×(V + 1) + G = %llu inputs, policy.network.sizes[0] is %d",
                    (unsigned long long)in, p->sizes[0]);
            if ((uint64_t)p->sizes[p->layers] != outn)
                BAD("policy document: a moves network gives K×(1 + V²×L) = %llu outputs, policy.network.sizes[%d] is %d",
                    (unsigned long long)outn, p->layers, p->sizes[p->layers]);
        }
    }
    if (!jis_int(&doc, jget(&doc, doc.root, "golden_count"), 1, SG_MAX_GOLDEN, &golden_count))
        BAD("policy document: golden_count must be an integer in 1...%d (a file without golden cases cannot be self-tested)", SG_MAX_GOLDEN);

    /* The tensors the document implies. */
    for (l = 0; l < p->layers; l++) {
        snprintf(names[2 * l], sizeof names[0], "actor.%d.weight", l);
        snprintf(names[2 * l + 1], sizeof names[0], "actor.%d.bias", l);
        specs[nspecs].name = names[2 * l]; specs[nspecs].dtype = 0; specs[nspecs].rank = 2;
        specs[nspecs].shape[0] = (uint64_t)p->sizes[l + 1]; specs[nspecs].shape[1] = (uint64_t)p->sizes[l]; nspecs++;
        specs[nspecs].name = names[2 * l + 1]; specs[nspecs].dtype = 0; specs[nspecs].rank = 1;
        specs[nspecs].shape[0] = (uint64_t)p->sizes[l + 1]; specs[nspecs].shape[1] = 0; nspecs++;
    }
    specs[nspecs].name = "golden.observation"; specs[nspecs].dtype = 0; specs[nspecs].rank = 2;
    specs[nspecs].shape[0] = (uint64_t)golden_count; specs[nspecs].shape[1] = p->dimension; nspecs++;
    specs[nspecs].name = "golden.mask"; specs[nspecs].dtype = 1; specs[nspecs].rank = 2;
    specs[nspecs].shape[0] = (uint64_t)golden_count; specs[nspecs].shape[1] = p->mask_width; nspecs++;
    specs[nspecs].name = "golden.action"; specs[nspecs].dtype = 2; specs[nspecs].rank = 2;
    specs[nspecs].shape[0] = (uint64_t)golden_count; specs[nspecs].shape[1] = p->components; nspecs++;
    for (t = 0; t < nspecs; t++) specs[t].found = 0;

    for (q = hdr->nodes[hdr->root].first; q >= 0; q = hdr->nodes[q].next) {
        const jnode *n = &hdr->nodes[q];
        const char *key = hdr->strs + n->key;
        int32_t f;
        tensor_spec *s = NULL;
        uint64_t shape[8], nbytes, off[2];
        int rank = 0, dt = -1;
        char got[160], want[160];
        if (n->key_len == 12 && memcmp(key, "__metadata__", 12) == 0) continue;
        for (t = 0; t < nspecs; t++)
            if (strlen(specs[t].name) == n->key_len && memcmp(specs[t].name, key, n->key_len) == 0) { s = &specs[t]; break; }
        if (!s) BAD("unexpected tensor '%.64s' (not in format version 1 for this document)", key);
        if (n->type != J_OBJ) BAD("tensor %s: entry is not a JSON object", s->name);
        f = jget(hdr, q, "dtype");
        for (t = 0; t < 3; t++) if (str_is(hdr, f, dtype_names[t])) dt = t;
        if (dt != s->dtype)
            BAD("tensor %s: dtype %.16s, expected %s", s->name,
                (f >= 0 && hdr->nodes[f].type == J_STR) ? hdr->strs + hdr->nodes[f].str : "?", dtype_names[s->dtype]);
        f = jget(hdr, q, "shape");
        if (f < 0 || hdr->nodes[f].type != J_ARR || hdr->nodes[f].count > 8) BAD("tensor %s: shape is not an array of at most 8 sizes", s->name);
        {
            int32_t e;
            for (e = hdr->nodes[f].first; e >= 0; e = hdr->nodes[e].next) {
                int64_t sv;
                if (!jis_int(hdr, e, 0, (int64_t)1 << 40, &sv)) BAD("tensor %s: shape entries must be non-negative integers", s->name);
                shape[rank++] = (uint64_t)sv;
            }
        }
        if (rank != s->rank || shape[0] != s->shape[0] || (rank > 1 && shape[1] != s->shape[1])) {
            format_shape(got, sizeof got, shape, rank);
            format_shape(want, sizeof want, s->shape, s->rank);
            BAD("tensor %s: shape %s, expected %s", s->name, got, want);
        }
        f = jget(hdr, q, "data_offsets");
        if (f < 0 || hdr->nodes[f].type != J_ARR || hdr->nodes[f].count != 2) BAD("tensor %s: data_offsets is not [begin, end]", s->name);
        {
            int32_t e = hdr->nodes[f].first;
            int64_t a, b;
            if (!jis_int(hdr, e, 0, (int64_t)1 << 52, &a) || !jis_int(hdr, hdr->nodes[e].next, 0, (int64_t)1 << 52, &b))
                BAD("tensor %s: data_offsets must be non-negative integers", s->name);
            off[0] = (uint64_t)a; off[1] = (uint64_t)b;
        }
        nbytes = dtype_sizes[dt] * s->shape[0] * (s->rank > 1 ? s->shape[1] : 1);
        if (off[0] > off[1] || off[1] > data_len)
            BAD("tensor %s: data_offsets [%llu, %llu] lie outside the data section (%llu bytes)", s->name,
                (unsigned long long)off[0], (unsigned long long)off[1], (unsigned long long)data_len);
        if (off[1] - off[0] != nbytes)
            BAD("tensor %s: data_offsets [%llu, %llu] hold %llu bytes, its shape needs %llu", s->name,
                (unsigned long long)off[0], (unsigned long long)off[1], (unsigned long long)(off[1] - off[0]),
                (unsigned long long)nbytes);
        s->found = 1;
        s->begin = off[0];
        s->end = off[1];
    }
    for (t = 0; t < nspecs; t++) if (!specs[t].found) BAD("missing tensor %s", specs[t].name);
    {
        int u;
        for (t = 0; t < nspecs; t++)
            for (u = t + 1; u < nspecs; u++)
                if (specs[t].begin < specs[u].end && specs[u].begin < specs[t].end)
                    BAD("tensors %s and %s overlap in the data section", specs[t].name, specs[u].name);
    }

    /* Weights, copied (aligned, host order). */
    for (l = 0; l < p->layers; l++) {
        size_t nw = (size_t)p->sizes[l + 1] * (size_t)p->sizes[l], nb = (size_t)p->sizes[l + 1], i;
        const uint8_t *src;
        ALLOC(p->weights[l], nw, float);
        ALLOC(p->biases[l], nb, float);
        src = data + specs[2 * l].begin;
        for (i = 0; i < nw; i++) { uint32_t u = le32(src + 4 * i); memcpy(&p->weights[l][i], &u, 4); }
        src = data + specs[2 * l + 1].begin;
        for (i = 0; i < nb; i++) { uint32_t u = le32(src + 4 * i); memcpy(&p->biases[l][i], &u, 4); }
        for (i = 0; i < nw; i++) if (!isfinite(p->weights[l][i])) BAD("tensor actor.%d.weight: entry %zu is not finite", l, i);
        for (i = 0; i < nb; i++) if (!isfinite(p->biases[l][i])) BAD("tensor actor.%d.bias: entry %zu is not finite", l, i);
    }

    /* The hidden layers' weights, transposed (and a family network's first layer). */
    for (l = 0; l < p->layers; l++) {
        size_t n = (size_t)p->sizes[l], m = (size_t)p->sizes[l + 1], r, c;
        if (l == p->layers - 1 && !(l == 0 && p->kind == SG_KIND_FAMILY)) continue;
        ALLOC(p->columns_memory[l], n * m + 16, float);
        p->columns[l] = p->columns_memory[l] + ((64 - (size_t)((uintptr_t)p->columns_memory[l] & 63)) & 63) / sizeof(float);
        for (r = 0; r < m; r++) for (c = 0; c < n; c++) p->columns[l][c * m + r] = p->weights[l][r * n + c];
    }

    /* Scratch. */
    ALLOC(p->buf_a, p->max_width, float);
    ALLOC(p->buf_b, p->max_width, float);
    ALLOC(p->logits, p->sizes[p->layers] > p->J ? p->sizes[p->layers] : p->J, float);
    ALLOC(p->row, p->sizes[0], float);
    ALLOC(p->rows, p->sizes[p->layers], int32_t);
    ALLOC(p->allow_all, p->mask_width, uint8_t);
    memset(p->allow_all, 1, p->mask_width);
    if (p->kind != SG_KIND_MLP) {
        size_t ps = plan_size(p), B = (size_t)p->beam;
        ALLOC(p->held, p->D, int32_t);
        ALLOC(p->idle, p->D, uint8_t);
        ALLOC(p->lp, B * (size_t)p->J, float);
        ALLOC(p->cand_score, B, float);
        ALLOC(p->cand_index, B, int32_t);
        if (p->kind == SG_KIND_FAMILY) {
            size_t m = (size_t)p->sizes[1];
            ALLOC(p->pre_shared, m, float);
            ALLOC(p->pre_device, m, float);
            ALLOC(p->first, m, float);
        }
        ALLOC(p->plans, 2 * B * ps, float);
        ALLOC(p->picks, 2 * B * (size_t)p->D, int32_t);
        ALLOC(p->scores, 2 * B, float);
        ALLOC(p->candidates, B * (size_t)p->J, float);
        if (p->kind == SG_KIND_MOVES) {
            ALLOC(p->class_rows, (size_t)p->K + 1, int32_t);
            ALLOC(p->moves_choice, p->K, int32_t);
            ALLOC(p->movable, (size_t)p->J * p->J, int32_t);
        }
    }

    /* The self-test. */
    {
        size_t g, i, dim = p->dimension, mw = p->mask_width, nc = p->components;
        const uint8_t *go = data + specs[nspecs - 3].begin, *gm = data + specs[nspecs - 2].begin,
                      *ga = data + specs[nspecs - 1].begin;
        float *o = NULL;
        int32_t *a = NULL;
        char sub[192];
        for (i = 0; i < (size_t)golden_count * mw; i++)
            if (gm[i] > 1) BAD("tensor golden.mask: value %u at entry %zu (expected 0 or 1)", gm[i], i);
        ALLOC(o, dim, float);
        a = (int32_t *)calloc(nc, sizeof(int32_t));
        if (!a) { free(o); rc = fail(err, err_len, SG_ERR_NO_MEMORY, "out of memory"); goto done; }
        for (g = 0; g < (size_t)golden_count && rc == SG_OK; g++) {
            int arc;
            for (i = 0; i < dim; i++) { uint32_t u = le32(go + 4 * (g * dim + i)); memcpy(&o[i], &u, 4); }
            arc = sg_policy_act(p, o, gm + g * mw, a, sub, sizeof sub);
            if (arc) { rc = fail(err, err_len, SG_ERR_SELF_TEST, "self-test case %zu: %s", g, sub); break; }
            for (i = 0; i < nc; i++) {
                if ((int32_t)le32(ga + 4 * (g * nc + i)) != a[i]) {
                    char got[200], want[200];
                    size_t u1 = 0, u2 = 0, k;
                    /* snprintf returns the length it wanted, so stop once a buffer is full: the
                     * file's golden actions are any int32 (24 × 12 characters > 200). */
                    for (k = 0; k < nc && k < 24; k++) {
                        if (u1 < sizeof got) u1 += (size_t)snprintf(got + u1, sizeof got - u1, "%s%d", k ? "," : "", (int)a[k]);
                        if (u2 < sizeof want)
                            u2 += (size_t)snprintf(want + u2, sizeof want - u2, "%s%d", k ? "," : "", (int)(int32_t)le32(ga + 4 * (g * nc + k)));
                    }
                    rc = fail(err, err_len, SG_ERR_SELF_TEST, "self-test case %zu: action [%s%s] expected [%s%s] (component %zu)", g,
                              got, nc > 24 ? ",..." : "", want, nc > 24 ? ",..." : "", i);
                    break;
                }
            }
        }
        free(o);
        free(a);
    }

done:
    jdoc_free(&doc);
    if (rc) { sg_policy_free(p); p = NULL; }
    *out = p;
    return rc;
}

static const char *meta_string(const jdoc *d, int32_t meta, const char *key, size_t *len) {
    int32_t q = jget(d, meta, key);
    if (q < 0 || d->nodes[q].type != J_STR) return NULL;
    if (len) *len = d->nodes[q].str_len;
    return d->strs + d->nodes[q].str;
}

int sg_policy_load_memory(const void *bytes, size_t len, sg_policy **out, char *err, size_t err_len) {
    const uint8_t *b = (const uint8_t *)bytes;
    uint64_t n = 0;
    int i, rc;
    jdoc hdr;
    int32_t meta, q;
    const char *fmt, *policy, *sum, *ver;
    size_t policy_len = 0, sum_len = 0, fmt_len = 0, ver_len = 0;
    const uint8_t *data;
    uint64_t data_len;
    if (err && err_len) err[0] = '\0';
    if (!out) return fail(err, err_len, SG_ERR_ARGUMENT, "sg_policy_load: NULL output handle");
    *out = NULL;
    if (!bytes && len) return fail(err, err_len, SG_ERR_ARGUMENT, "sg_policy_load: NULL bytes");
    if (len < 8) return fail(err, err_len, SG_ERR_FORMAT, "file too short (%zu bytes): not a safetensors file", len);
    for (i = 7; i >= 0; i--) n = (n << 8) | b[i];
    if (n > SG_MAX_HEADER_BYTES)
        return fail(err, err_len, SG_ERR_FORMAT, "header length %llu exceeds the %llu-byte limit (truncated or not a safetensors file)",
                    (unsigned long long)n, (unsigned long long)SG_MAX_HEADER_BYTES);
    if (n > (uint64_t)len - 8)
        return fail(err, err_len, SG_ERR_FORMAT, "header length %llu runs past the end of the file (%zu bytes): truncated",
                    (unsigned long long)n, len);
    if (n < 2) return fail(err, err_len, SG_ERR_FORMAT, "header length %llu: too short for a JSON header", (unsigned long long)n);
    rc = jparse(b + 8, (size_t)n, &hdr, "safetensors header", err, err_len);
    if (rc) return rc;
    data = b + 8 + n;
    data_len = (uint64_t)len - 8 - n;
    if (hdr.nodes[hdr.root].type != J_OBJ) { rc = fail(err, err_len, SG_ERR_FORMAT, "safetensors header: not a JSON object"); goto out; }
    meta = jget(&hdr, hdr.root, "__metadata__");
    if (meta < 0 || hdr.nodes[meta].type != J_OBJ) {
        rc = fail(err, err_len, SG_ERR_FORMAT, "not a SwitchGym policy file (no __metadata__)");
        goto out;
    }
    for (q = hdr.nodes[meta].first; q >= 0; q = hdr.nodes[q].next)
        if (hdr.nodes[q].type != J_STR) { rc = fail(err, err_len, SG_ERR_FORMAT, "__metadata__ values must be strings"); goto out; }
    fmt = meta_string(&hdr, meta, "format", &fmt_len);
    if (!fmt || fmt_len != 16 || memcmp(fmt, "switchgym.policy", 16) != 0) {
        rc = fail(err, err_len, SG_ERR_FORMAT, "not a SwitchGym policy file (__metadata__.format is %s%.40s%s, expected 'switchgym.policy')",
                  fmt ? "'" : "", fmt ? fmt : "missing", fmt ? "'" : "");
        goto out;
    }
    policy = meta_string(&hdr, meta, "policy", &policy_len);
    sum = meta_string(&hdr, meta, "sha256", &sum_len);
    if (!policy || !sum) { rc = fail(err, err_len, SG_ERR_FORMAT, "__metadata__ lacks the policy document or its sha256"); goto out; }
    {
        sha256_ctx c;
        uint8_t dg[32];
        char hex[65];
        sha256_init(&c);
        sha256_update(&c, data, (size_t)data_len);
        sha256_update(&c, policy, policy_len);
        sha256_final(&c, dg);
        for (i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", dg[i]);
        if (sum_len != 64 || memcmp(hex, sum, 64) != 0) {
            rc = fail(err, err_len, SG_ERR_CHECKSUM, "checksum mismatch: the file says sha256 %.64s, its content hashes to %s; the file is corrupted or was altered",
                      sum, hex);
            goto out;
        }
    }
    ver = meta_string(&hdr, meta, "format_version", &ver_len);
    if (!ver || ver_len != 1 || ver[0] != '1') {
        rc = fail(err, err_len, SG_ERR_FORMAT, "format_version %.20s; this runtime reads version 1", ver ? ver : "missing");
        goto out;
    }
    rc = build(data, data_len, &hdr, policy, policy_len, out, err, err_len);
out:
    jdoc_free(&hdr);
    return rc;
}

int sg_policy_load_file(const char *path, sg_policy **out, char *err, size_t err_len) {
    FILE *f;
    long size;
    uint8_t *buf;
    int rc;
    if (!out) return fail(err, err_len, SG_ERR_ARGUMENT, "sg_policy_load_file: NULL output handle");
    *out = NULL;
    if (!path) return fail(err, err_len, SG_ERR_ARGUMENT, "sg_policy_load_file: NULL path");
    f = fopen(path, "rb");
    if (!f) return fail(err, err_len, SG_ERR_IO, "%s: cannot open the file", path);
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return fail(err, err_len, SG_ERR_IO, "%s: cannot determine the file's size", path);
    }
    if ((uint64_t)size >= SG_MAX_FILE || (unsigned long)size > (size_t)-1) {
        fclose(f);
        return fail(err, err_len, SG_ERR_FORMAT, "%s: %ld bytes; policy files over 4 GiB are refused", path, size);
    }
    buf = (uint8_t *)malloc(size > 0 ? (size_t)size : 1);
    if (!buf) { fclose(f); return fail(err, err_len, SG_ERR_NO_MEMORY, "%s: out of memory for %ld bytes", path, size); }
    if (size > 0 && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        return fail(err, err_len, SG_ERR_IO, "%s: read error", path);
    }
    fclose(f);
    rc = sg_policy_load_memory(buf, (size_t)size, out, err, err_len);
    free(buf);
    if (rc && err && err_len) {   /* name the file */
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, err_len, "%s: %s", path, tmp);
    }
    return rc;
}
