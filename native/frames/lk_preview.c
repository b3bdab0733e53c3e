/*
 * Preview: bin an image by fy × fx and map it to uint8 — the C twin of
 * labkit/native/_twin_preview.py, whose module doc defines the integer arithmetic.
 *
 * Phase 1 (threads over output rows) reads every source pixel once: fy rows are accumulated
 * column-wise into a small buffer (a SIMD-friendly loop), then each block of fx columns is
 * reduced, and the block value is either mapped straight to the output (manual levels: a single
 * pass) or kept in a small binned image with per-thread min/max/histogram. Phase 2 finds the
 * levels; phase 3 (threads) maps the binned image. For 8/16-bit data the mapping is a lookup in
 * a table of every possible value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_frames.h"
#include "lk_parallel.h"

/*
 * The per-pixel work is compiled twice on x86-64 Linux with GCC, for the baseline (SSE2) and for
 * AVX2 machines (x86-64-v3), and the loader picks one; the arithmetic, hence the result, is the
 * same. Helpers are forced inline so they are compiled for the clone that calls them.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define LK_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define LK_INLINE static inline __attribute__((always_inline))
#else
#define LK_SIMD_CLONES
#define LK_INLINE static inline
#endif

typedef struct {
    lk_preview_job *job;
    uint64_t lo, span, scale; /* the mapping */
    uint8_t *vlut;            /* value -> uint8 for 8/16-bit data, else NULL */
    void *binned;             /* oh × ow values, NULL when mapping in phase 1 */
    int use_hist;
    size_t hist_bins;
    uint64_t divisor_magic; /* ceil(2^64 / n) for the exact 32-bit division by n = fy·fx */
    uint64_t tmin[LK_MAX_THREADS], tmax[LK_MAX_THREADS];
    uint32_t *thist[LK_MAX_THREADS];
    int failed[LK_MAX_THREADS];
} pv_ctx;

LK_INLINE uint8_t map_value(const pv_ctx *c, uint64_t v)
{
    const size_t last = c->job->lut_size - 1;
    size_t index;
    if (v <= c->lo) {
        index = 0;
    } else if (v >= c->lo + c->span) {
        index = last;
    } else {
        uint64_t t = ((v - c->lo) * c->scale + ((uint64_t)1 << 31)) >> 32;
        index = t < last ? (size_t)t : last;
    }
    return c->job->lut[index];
}

/* floor(x / n) for x < 2^32 and 2 <= n < 2^32 by one multiplication (Lemire, Kaser & Kurz 2019). */
LK_INLINE uint32_t div32(uint32_t x, uint64_t n, uint64_t magic)
{
#ifdef __SIZEOF_INT128__
    (void)n;
    __extension__ typedef unsigned __int128 u128;
    return (uint32_t)(((u128)magic * x) >> 64);
#else
    (void)magic;
    return (uint32_t)(x / n);
#endif
}

#define LK_MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * The steps of one output row, each a plain loop over L1-resident data that the compiler can
 * vectorise: sum (or max) fy source rows column-wise into acc, reduce each block of fx columns
 * into vals, divide, then track min/max. ACC is 32-bit when no block sum can reach 2^32, 64-bit
 * otherwise. The constant-fx cases let the compiler use fixed shuffles.
 */
/* Rows are taken four at a time so acc is written once per four source rows, not per row. */
#define LK_VSUM(EXPR)                                                                            \
    do {                                                                                        \
        if (first)                                                                              \
            for (size_t x = 0; x < w; x++)                                                      \
                acc[x] = EXPR;                                                                  \
        else                                                                                    \
            for (size_t x = 0; x < w; x++)                                                      \
                acc[x] += EXPR;                                                                 \
    } while (0)

#define LK_DEFINE_VERTICAL(SUF, T, ACC)                                                          \
    LK_INLINE void vertical_##SUF(const uint8_t *src, ptrdiff_t stride, size_t fy, size_t w,       \
                               ACC *restrict acc, int mean)                                     \
    {                                                                                           \
        for (size_t k = 0; k < fy; k += 4) {                                                    \
            const size_t left = fy - k < 4 ? fy - k : 4;                                        \
            const int first = k == 0;                                                           \
            const T *restrict a = (const T *)(src + (ptrdiff_t)k * stride);                     \
            const T *restrict b = left > 1 ? (const T *)(src + (ptrdiff_t)(k + 1) * stride) : a;\
            const T *restrict c = left > 2 ? (const T *)(src + (ptrdiff_t)(k + 2) * stride) : a;\
            const T *restrict d = left > 3 ? (const T *)(src + (ptrdiff_t)(k + 3) * stride) : a;\
            if (!mean) { /* repeated rows do not change a maximum */                            \
                if (first)                                                                      \
                    for (size_t x = 0; x < w; x++)                                              \
                        acc[x] = LK_MAX(LK_MAX(a[x], b[x]), LK_MAX(c[x], d[x]));                \
                else                                                                            \
                    for (size_t x = 0; x < w; x++)                                              \
                        acc[x] = LK_MAX(acc[x], (ACC)LK_MAX(LK_MAX(a[x], b[x]),                 \
                                                            LK_MAX(c[x], d[x])));               \
            } else if (left == 4) {                                                             \
                LK_VSUM((ACC)a[x] + b[x] + c[x] + d[x]);                                        \
            } else if (left == 3) {                                                             \
                LK_VSUM((ACC)a[x] + b[x] + c[x]);                                               \
            } else if (left == 2) {                                                             \
                LK_VSUM((ACC)a[x] + b[x]);                                                      \
            } else {                                                                            \
                LK_VSUM((ACC)a[x]);                                                             \
            }                                                                                   \
        }                                                                                       \
    }

#define LK_HREDUCE(OP, ACC)                                                                        \
    switch (fx) {                                                                               \
    case 1:                                                                                     \
        for (size_t c = 0; c < ow; c++)                                                         \
            vals[c] = acc[c];                                                                   \
        break;                                                                                  \
    case 2:                                                                                     \
        for (size_t c = 0; c < ow; c++)                                                         \
            vals[c] = OP(acc[2 * c], acc[2 * c + 1]);                                           \
        break;                                                                                  \
    case 3:                                                                                     \
        for (size_t c = 0; c < ow; c++)                                                         \
            vals[c] = OP(OP(acc[3 * c], acc[3 * c + 1]), acc[3 * c + 2]);                       \
        break;                                                                                  \
    case 4:                                                                                     \
        for (size_t c = 0; c < ow; c++)                                                         \
            vals[c] = OP(OP(acc[4 * c], acc[4 * c + 1]), OP(acc[4 * c + 2], acc[4 * c + 3]));   \
        break;                                                                                  \
    default:                                                                                    \
        for (size_t c = 0; c < ow; c++) {                                                       \
            const ACC *a = acc + c * fx;                                                        \
            ACC v = a[0];                                                                       \
            for (size_t i = 1; i < fx; i++)                                                     \
                v = OP(v, a[i]);                                                                \
            vals[c] = v;                                                                        \
        }                                                                                       \
    }

#define LK_ADD(a, b) ((a) + (b))

#define LK_DEFINE_ROW_STEPS(SUF, ACC)                                                            \
    LK_INLINE void hreduce_##SUF(const ACC *restrict acc, ACC *restrict vals, size_t ow, size_t fx,\
                              int mean)                                                         \
    {                                                                                           \
        if (mean) {                                                                             \
            LK_HREDUCE(LK_ADD, ACC)                                                                \
        } else {                                                                                \
            LK_HREDUCE(LK_MAX, ACC)                                                                \
        }                                                                                       \
    }                                                                                           \
    LK_INLINE void minmax_##SUF(const ACC *restrict vals, size_t ow, uint64_t *lo, uint64_t *hi)   \
    {                                                                                           \
        ACC mn = vals[0], mx = vals[0];                                                         \
        for (size_t c = 1; c < ow; c++) {                                                       \
            mn = vals[c] < mn ? vals[c] : mn;                                                   \
            mx = vals[c] > mx ? vals[c] : mx;                                                   \
        }                                                                                       \
        *lo = mn < *lo ? mn : *lo;                                                              \
        *hi = mx > *hi ? mx : *hi;                                                              \
    }

LK_DEFINE_ROW_STEPS(a32, uint32_t)
LK_DEFINE_ROW_STEPS(a64, uint64_t)

/* Mean of each block, rounded half up: (sum + n/2) / n, by a shift when n is a power of two. */
LK_INLINE void divide_a32(uint32_t *restrict vals, size_t ow, uint64_t n, uint64_t magic)
{
    const uint32_t half = (uint32_t)(n / 2);
    if ((n & (n - 1)) == 0) {
        unsigned shift = 0;
        while (((uint64_t)1 << shift) < n)
            shift++;
        for (size_t c = 0; c < ow; c++)
            vals[c] = (vals[c] + half) >> shift;
    } else {
        for (size_t c = 0; c < ow; c++)
            vals[c] = div32(vals[c] + half, n, magic);
    }
}

LK_INLINE void divide_a64(uint64_t *restrict vals, size_t ow, uint64_t n, uint64_t magic)
{
    (void)magic;
    for (size_t c = 0; c < ow; c++)
        vals[c] = (vals[c] + n / 2) / n;
}

/* Bin output rows [r0, r1) of a T image with ACC sums (STEPS: a32 or a64). */
#define LK_DEFINE_BIN(SUF, T, ACC, STEPS)                                                        \
    LK_DEFINE_VERTICAL(SUF, T, ACC)                                                              \
    LK_INLINE void bin_rows_##SUF(pv_ctx *c, size_t r0, size_t r1, ACC *restrict acc,             \
                               ACC *restrict vals, int slot)                                    \
    {                                                                                           \
        const lk_preview_job *j = c->job;                                                       \
        const size_t fy = j->fy, fx = j->fx, ow = j->ow;                                        \
        const uint64_t n = (uint64_t)fy * fx;                                                   \
        const int mean = j->binning == LK_BIN_MEAN;                                             \
        uint32_t *hist = c->thist[slot];                                                        \
        for (size_t r = r0; r < r1; r++) {                                                      \
            vertical_##SUF(j->image + (ptrdiff_t)(r * fy) * j->image_stride, j->image_stride,  \
                           fy, ow * fx, acc, mean);                                             \
            hreduce_##STEPS(acc, vals, ow, fx, mean);                                           \
            if (mean && n > 1)                                                                  \
                divide_##STEPS(vals, ow, n, c->divisor_magic);                                  \
            minmax_##STEPS(vals, ow, &c->tmin[slot], &c->tmax[slot]);                           \
            if (hist)                                                                           \
                for (size_t x = 0; x < ow; x++)                                                 \
                    hist[vals[x]]++;                                                            \
            if (c->binned) {                                                                    \
                T *restrict brow = (T *)c->binned + r * ow;                                     \
                for (size_t x = 0; x < ow; x++)                                                 \
                    brow[x] = (T)vals[x];                                                       \
            } else {                                                                            \
                uint8_t *restrict orow = j->out + (ptrdiff_t)r * j->out_stride;                 \
                if (c->vlut)                                                                    \
                    for (size_t x = 0; x < ow; x++)                                             \
                        orow[x] = c->vlut[vals[x]];                                             \
                else                                                                            \
                    for (size_t x = 0; x < ow; x++)                                             \
                        orow[x] = map_value(c, vals[x]);                                        \
            }                                                                                   \
        }                                                                                       \
    }

LK_DEFINE_BIN(u8, uint8_t, uint32_t, a32)
LK_DEFINE_BIN(u8w, uint8_t, uint64_t, a64)
LK_DEFINE_BIN(u16, uint16_t, uint32_t, a32)
LK_DEFINE_BIN(u16w, uint16_t, uint64_t, a64)
LK_DEFINE_BIN(u32, uint32_t, uint64_t, a64)

static int narrow_sums(const lk_preview_job *j)
{
    uint64_t top = j->itemsize == 1 ? 0xFFu : j->itemsize == 2 ? 0xFFFFu : 0xFFFFFFFFu;
    uint64_t n = (uint64_t)j->fy * j->fx;
    return j->itemsize < 4 && n < ((uint64_t)1 << 32) / (top + 1) && top * n + n / 2 < ((uint64_t)1 << 32);
}

LK_SIMD_CLONES static void phase_bin(void *ctx, int index, int count)
{
    pv_ctx *c = ctx;
    const lk_preview_job *j = c->job;
    size_t r0 = j->oh * (size_t)index / (size_t)count;
    size_t r1 = j->oh * (size_t)(index + 1) / (size_t)count;
    size_t w = j->ow * j->fx;
    int narrow = narrow_sums(j);
    c->tmin[index] = UINT64_MAX;
    c->tmax[index] = 0;
    c->thist[index] = NULL;
    c->failed[index] = 0;
    if (c->use_hist) {
        c->thist[index] = calloc(c->hist_bins, sizeof(uint32_t));
        if (!c->thist[index]) {
            c->failed[index] = 1;
            return;
        }
    }
    size_t word = narrow ? sizeof(uint32_t) : sizeof(uint64_t);
    void *acc = malloc((w ? w : 1) * word), *vals = malloc((j->ow ? j->ow : 1) * word);
    if (!acc || !vals) {
        free(acc);
        free(vals);
        c->failed[index] = 1;
        return;
    }
    if (j->itemsize == 1 && narrow)
        bin_rows_u8(c, r0, r1, acc, vals, index);
    else if (j->itemsize == 1)
        bin_rows_u8w(c, r0, r1, acc, vals, index);
    else if (j->itemsize == 2 && narrow)
        bin_rows_u16(c, r0, r1, acc, vals, index);
    else if (j->itemsize == 2)
        bin_rows_u16w(c, r0, r1, acc, vals, index);
    else
        bin_rows_u32(c, r0, r1, acc, vals, index);
    free(acc);
    free(vals);
}

LK_SIMD_CLONES static void phase_map(void *ctx, int index, int count)
{
    pv_ctx *c = ctx;
    const lk_preview_job *j = c->job;
    size_t r0 = j->oh * (size_t)index / (size_t)count;
    size_t r1 = j->oh * (size_t)(index + 1) / (size_t)count;
    for (size_t r = r0; r < r1; r++) {
        uint8_t *orow = j->out + (ptrdiff_t)r * j->out_stride;
        size_t base = r * j->ow;
        if (j->itemsize == 1) {
            const uint8_t *b = (const uint8_t *)c->binned + base;
            for (size_t x = 0; x < j->ow; x++)
                orow[x] = c->vlut[b[x]];
        } else if (j->itemsize == 2) {
            const uint16_t *b = (const uint16_t *)c->binned + base;
            for (size_t x = 0; x < j->ow; x++)
                orow[x] = c->vlut[b[x]];
        } else {
            const uint32_t *b = (const uint32_t *)c->binned + base;
            for (size_t x = 0; x < j->ow; x++)
                orow[x] = map_value(c, b[x]);
        }
    }
}

/* The value of rank k (0-based) among `total` counted values. */
static uint64_t rank_in_hist(const uint32_t *hist, size_t bins, uint64_t k)
{
    uint64_t seen = 0;
    for (size_t v = 0; v < bins; v++) {
        seen += hist[v];
        if (seen > k)
            return v;
    }
    return bins - 1;
}

/* The k-th smallest of n 32-bit values: a histogram of the high halves, then of the low ones. */
static uint64_t select_u32(const uint32_t *v, size_t n, uint64_t k, uint32_t *hist)
{
    memset(hist, 0, 65536 * sizeof *hist);
    for (size_t i = 0; i < n; i++)
        hist[v[i] >> 16]++;
    uint64_t seen = 0;
    uint32_t high = 0;
    for (; high < 65535; high++) {
        if (seen + hist[high] > k)
            break;
        seen += hist[high];
    }
    k -= seen;
    memset(hist, 0, 65536 * sizeof *hist);
    for (size_t i = 0; i < n; i++)
        if (v[i] >> 16 == high)
            hist[v[i] & 0xFFFF]++;
    return (uint64_t)high << 16 | rank_in_hist(hist, 65536, k);
}

static void set_levels(pv_ctx *c, uint64_t lo, uint64_t hi)
{
    c->job->lo = lo;
    c->job->hi = hi;
    c->lo = lo;
    c->span = hi > lo ? hi - lo : 1;
    c->scale = ((uint64_t)(c->job->lut_size - 1) << 32) / c->span;
}

static int build_vlut(pv_ctx *c)
{
    size_t values = (size_t)1 << (8 * c->job->itemsize);
    c->vlut = malloc(values);
    if (!c->vlut)
        return -1;
    /* Up to lo and from lo + span on the table is constant: only the ramp needs the formula. */
    size_t ramp_start = c->lo + 1 < values ? (size_t)c->lo + 1 : values;
    size_t ramp_end = c->lo + c->span < values ? (size_t)(c->lo + c->span) : values;
    const size_t last = c->job->lut_size - 1;
    memset(c->vlut, c->job->lut[0], ramp_start);
    uint64_t t = (ramp_start - c->lo) * c->scale + ((uint64_t)1 << 31); /* map_value's t, stepped */
    for (size_t v = ramp_start; v < ramp_end; v++, t += c->scale) {
        uint64_t index = t >> 32;
        c->vlut[v] = c->job->lut[index < last ? index : last];
    }
    memset(c->vlut + ramp_end, c->job->lut[c->job->lut_size - 1], values - ramp_end);
    return 0;
}

static int check_job(const lk_preview_job *j, lk_error *err)
{
    const char *why = NULL;
    if (j->itemsize != 1 && j->itemsize != 2 && j->itemsize != 4)
        why = "pixels must be 1, 2 or 4 bytes";
    else if (j->fy < 1 || j->fx < 1 || j->fy > j->height || j->fx > j->width)
        why = "bin factors must lie between 1 and the image size";
    else if (j->oh != j->height / j->fy || j->ow != j->width / j->fx)
        why = "output shape does not match the bin factors";
    else if (j->lut_size < 2 || j->lut_size > ((size_t)1 << 20))
        why = "the level table must have 2 to 2^20 entries";
    else if (j->height > 1 && j->image_stride < (ptrdiff_t)(j->width * j->itemsize))
        why = "image rows overlap";
    else if (j->oh > 1 && j->out_stride < (ptrdiff_t)j->ow)
        why = "output rows overlap";
    else if (j->binning != LK_BIN_MEAN && j->binning != LK_BIN_MAX)
        why = "unknown binning";
    else if (j->contrast == LK_CONTRAST_RANKS && (j->a > j->b || j->b >= (uint64_t)j->oh * j->ow))
        why = "percentile ranks out of range";
    else if (j->contrast == LK_CONTRAST_MANUAL &&
             (j->a >= j->b || j->b >= ((uint64_t)1 << (8 * j->itemsize))))
        why = "manual levels out of range";
    else if (j->contrast < LK_CONTRAST_MINMAX || j->contrast > LK_CONTRAST_MANUAL)
        why = "unknown contrast";
    if (why) {
        snprintf(err->message, sizeof err->message, "%s", why);
        err->offset = 0;
        return -1;
    }
    return 0;
}

int lk_preview(lk_preview_job *j, lk_error *err)
{
    if (check_job(j, err))
        return -1;
    pv_ctx c;
    memset(&c, 0, sizeof c);
    c.job = j;
    uint64_t n = (uint64_t)j->fy * j->fx;
    c.divisor_magic = n > 1 ? UINT64_MAX / n + 1 : 0;
    int threads = lk_threads_for(j->height * j->width * j->itemsize, j->threads);
    if ((size_t)threads > j->oh)
        threads = (int)j->oh;
    if (threads > LK_MAX_THREADS)
        threads = LK_MAX_THREADS;
    int status = -1;
    const char *why = "out of memory";

    if (j->contrast == LK_CONTRAST_MANUAL) {
        set_levels(&c, j->a, j->b);
        if (j->itemsize < 4 && build_vlut(&c))
            goto done;
    } else {
        size_t cells = j->oh * j->ow;
        c.binned = malloc((cells > 0 ? cells : 1) * j->itemsize);
        if (!c.binned)
            goto done;
        c.use_hist = j->contrast == LK_CONTRAST_RANKS && j->itemsize < 4;
        c.hist_bins = (size_t)1 << (8 * (j->itemsize < 4 ? j->itemsize : 2));
    }
    lk_parallel(threads, phase_bin, &c);
    for (int t = 0; t < threads; t++)
        if (c.failed[t])
            goto done;
    if (j->contrast != LK_CONTRAST_MANUAL) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int t = 0; t < threads; t++) {
            lo = c.tmin[t] < lo ? c.tmin[t] : lo;
            hi = c.tmax[t] > hi ? c.tmax[t] : hi;
        }
        if (j->contrast == LK_CONTRAST_RANKS && c.use_hist) {
            for (int t = 1; t < threads; t++)
                for (size_t v = 0; v < c.hist_bins; v++)
                    c.thist[0][v] += c.thist[t][v];
            lo = rank_in_hist(c.thist[0], c.hist_bins, j->a);
            hi = rank_in_hist(c.thist[0], c.hist_bins, j->b);
        } else if (j->contrast == LK_CONTRAST_RANKS) {
            uint32_t *scratch = malloc(65536 * sizeof *scratch);
            if (!scratch)
                goto done;
            lo = select_u32(c.binned, j->oh * j->ow, j->a, scratch);
            hi = select_u32(c.binned, j->oh * j->ow, j->b, scratch);
            free(scratch);
        }
        set_levels(&c, lo, hi);
        if (j->itemsize < 4 && build_vlut(&c))
            goto done;
        lk_parallel(threads, phase_map, &c);
    }
    status = 0;
done:
    if (status) {
        snprintf(err->message, sizeof err->message, "%s", why);
        err->offset = 0;
    }
    for (int t = 0; t < LK_MAX_THREADS; t++)
        free(c.thist[t]);
    free(c.binned);
    free(c.vlut);
    return status;
}
