/*
 * Recompose ROIs into one image (reference/pvcam-frames.md §1.10): the C twin of
 * labkit/native/_twin_recompose.py.
 *
 * The result is exactly the twin's "fill everything, then copy each ROI in turn" (later ROIs win
 * where they overlap), but no pixel is written twice where that can be avoided: a sweep down the
 * rows keeps the ROIs crossing the current row sorted by x and fills only the gaps between them;
 * then each ROI is copied, block by block, in ROI order. A frame whose ROIs cover the image
 * costs one memcpy per row and no clearing at all; a centroid frame costs one pass of filling.
 *
 * Images from 4 MB on get their ROI rows copied with non-temporal (streaming) stores, which skip
 * reading each destination cache line before writing it: many short row copies then run as fast
 * as one memcpy. Gaps are filled with ordinary stores: measured, streaming them was up to three
 * times slower for centroid frames, whose gaps interleave with tiny patches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "lk_frames.h"
#include "lk_parallel.h"

typedef struct {
    const uint8_t *buf;
    uint8_t *out;
    size_t height, width;
    ptrdiff_t stride;
    unsigned bpp;       /* bytes of one output pixel: sample * channels */
    unsigned sample;    /* bytes of one output sample: 1, 2 or 4 */
    unsigned channels;  /* samples per pixel: 1, or 3 for RGB */
    unsigned wire;      /* bytes of one sample in the frame: the output's, or 3 (widened to 4) */
    const lk_place *places;
    size_t count;
    int has_fill;
    uint32_t fill;
    const size_t *by_y; /* place indices sorted by y, for the sweep */
    size_t *active;     /* count indices for each thread */
    int stream;         /* streaming stores (large images) */
} recompose_job;

/* Set `count` samples of `sample` bytes to `fill`, stored little-endian (the frame's order). */
static void fill_row(uint8_t *row, size_t count, unsigned sample, uint32_t fill)
{
    size_t bytes = count * sample;
    if (bytes == 0)
        return;
    if (fill == 0 || sample == 1) {
        memset(row, (int)(fill & 0xFF), bytes);
        return;
    }
    for (unsigned i = 0; i < sample; i++)
        row[i] = (uint8_t)(fill >> (8 * i));
    size_t done = sample;
    while (done < bytes) { /* doubling copies of the pattern */
        size_t chunk = done < bytes - done ? done : bytes - done;
        memcpy(row + done, row, chunk);
        done += chunk;
    }
}

/* 24-bit samples (MONO24, BAYER24, RGB72) widened to zero-extended little-endian uint32. */
static void widen_copy(uint8_t *dst, const uint8_t *src, size_t samples)
{
    for (size_t i = 0; i < samples; i++, dst += 4, src += 3) {
        dst[0] = src[0];
        dst[1] = src[1];
        dst[2] = src[2];
        dst[3] = 0;
    }
}

/*
 * memcpy with non-temporal stores: a large image is written straight to memory without first
 * reading each destination line in (the read-for-ownership a cached store needs), which makes
 * copies of many short row segments as fast as one big memcpy. Only whole 64-byte lines are
 * streamed; the partial lines at either end (which a neighbouring ROI or gap may share) get
 * ordinary stores, because mixing both kinds of store on one line is very slow. The caller
 * ends with a fence.
 */
static void stream_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
#ifdef __SSE2__
    size_t head = (64 - ((uintptr_t)dst & 63)) & 63;
    if (n < head + 64) {
        memcpy(dst, src, n);
        return;
    }
    memcpy(dst, src, head);
    dst += head;
    src += head;
    n -= head;
    size_t body = n & ~(size_t)63;
    for (size_t i = 0; i < body; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_stream_si128((__m128i *)(dst + i), a);
        _mm_stream_si128((__m128i *)(dst + i + 16), b);
        _mm_stream_si128((__m128i *)(dst + i + 32), c);
        _mm_stream_si128((__m128i *)(dst + i + 48), d);
    }
    memcpy(dst + body, src + body, n - body);
#else
    memcpy(dst, src, n);
#endif
}

static void plain_copy(uint8_t *dst, const uint8_t *src, size_t n) { memcpy(dst, src, n); }

/* Copy rows [y0, y1) of ROI p to the output: one call when the rows are contiguous there too. */
static void copy_rows(const recompose_job *j, const lk_place *p, size_t y0, size_t y1)
{
    size_t samples = (size_t)p->width * j->channels;
    size_t src_row = samples * j->wire, dst_row = samples * j->sample;
    const uint8_t *src = j->buf + (size_t)p->data_offset + (y0 - (size_t)p->y) * src_row;
    uint8_t *dst = j->out + (ptrdiff_t)y0 * j->stride + (size_t)p->x * j->bpp;
    if (j->wire != j->sample) {
        for (size_t r = y0; r < y1; r++, src += src_row, dst += j->stride)
            widen_copy(dst, src, samples);
        return;
    }
    void (*copy)(uint8_t *, const uint8_t *, size_t) = j->stream ? stream_copy : plain_copy;
    if ((ptrdiff_t)dst_row == j->stride) {
        copy(dst, src, (y1 - y0) * dst_row);
        return;
    }
    for (size_t r = y0; r < y1; r++, src += src_row, dst += j->stride)
        copy(dst, src, dst_row);
}

/*
 * Fill the gaps of rows [r0, r1): sweep down, keeping `active` (the ROIs crossing the row) sorted
 * by x. Each row costs the number of ROIs crossing it (insertions cost up to that many moves).
 */
static void fill_gaps(const recompose_job *j, size_t r0, size_t r1, size_t *active)
{
    const lk_place *places = j->places;
    size_t next = 0, count = 0;
    for (size_t r = r0; r < r1; r++) {
        size_t kept = 0;
        for (size_t i = 0; i < count; i++) /* drop the ROIs that ended */
            if ((size_t)(places[active[i]].y + places[active[i]].height) > r)
                active[kept++] = active[i];
        count = kept;
        for (; next < j->count && (size_t)places[j->by_y[next]].y <= r; next++) {
            size_t k = j->by_y[next];
            const lk_place *p = &places[k];
            if ((size_t)(p->y + p->height) <= r || p->width == 0)
                continue; /* ended before this thread's first row, or empty */
            size_t at = count++;
            while (at > 0 && places[active[at - 1]].x > p->x) {
                active[at] = active[at - 1];
                at--;
            }
            active[at] = k;
        }
        uint8_t *row = j->out + (ptrdiff_t)r * j->stride;
        size_t cursor = 0;
        for (size_t i = 0; i < count; i++) {
            const lk_place *p = &places[active[i]];
            if ((size_t)p->x > cursor)
                fill_row(row + cursor * j->bpp, ((size_t)p->x - cursor) * j->channels, j->sample,
                         j->fill);
            if ((size_t)(p->x + p->width) > cursor)
                cursor = (size_t)(p->x + p->width);
        }
        if (cursor < j->width)
            fill_row(row + cursor * j->bpp, (j->width - cursor) * j->channels, j->sample, j->fill);
    }
}

static void recompose_task(void *ctx, int index, int count)
{
    const recompose_job *j = ctx;
    size_t r0 = j->height * (size_t)index / (size_t)count;
    size_t r1 = j->height * (size_t)(index + 1) / (size_t)count;
    if (j->has_fill)
        fill_gaps(j, r0, r1, j->active + j->count * (size_t)index);
    for (size_t k = 0; k < j->count; k++) { /* in ROI order: later ROIs win */
        const lk_place *p = &j->places[k];
        size_t y = (size_t)p->y, h = (size_t)p->height;
        size_t y0 = y > r0 ? y : r0, y1 = y + h < r1 ? y + h : r1;
        if (y0 < y1 && p->width > 0)
            copy_rows(j, p, y0, y1);
    }
#ifdef __SSE2__
    if (j->stream)
        _mm_sfence(); /* order the streaming stores before the thread reports completion */
#endif
}

typedef struct {
    int64_t y;
    size_t index;
} y_key;

static int compare_keys(const void *a, const void *b)
{
    const y_key *p = a, *q = b;
    return p->y < q->y ? -1 : p->y > q->y ? 1 : (p->index > q->index) - (p->index < q->index);
}

/* Indices of places sorted by y: insertion sort for a few, qsort of (y, index) keys beyond. */
static int sort_by_y(const lk_place *places, size_t count, size_t *order)
{
    if (count <= 32) {
        for (size_t i = 0; i < count; i++) {
            size_t at = i;
            while (at > 0 && places[order[at - 1]].y > places[i].y) {
                order[at] = order[at - 1];
                at--;
            }
            order[at] = i;
        }
        return 0;
    }
    y_key *keys = malloc(count * sizeof *keys);
    if (!keys)
        return -1;
    for (size_t i = 0; i < count; i++)
        keys[i] = (y_key){places[i].y, i};
    qsort(keys, count, sizeof *keys, compare_keys);
    for (size_t i = 0; i < count; i++)
        order[i] = keys[i].index;
    free(keys);
    return 0;
}

int lk_place_rois(const lk_roi *rois, size_t n, uint64_t origin_x, uint64_t origin_y,
                  uint64_t off_x, uint64_t off_y, size_t width, size_t height, lk_place *places,
                  size_t *placed, size_t *bad)
{
    const lk_roi *first = NULL;
    for (size_t i = 0; i < n; i++) { /* all binnings first: they make placing meaningless */
        const lk_roi *r = &rois[i];
        if (r->flags & LK_ROI_FLAG_HEADER_ONLY)
            continue;
        first = first ? first : r;
        if (r->sbin == 0 || r->pbin == 0 || r->sbin != first->sbin || r->pbin != first->pbin) {
            *bad = i;
            return LK_PLACE_BINNING;
        }
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const lk_roi *r = &rois[i];
        if (r->flags & LK_ROI_FLAG_HEADER_ONLY)
            continue;
        uint64_t x = 0, y = 0;
        int inside = r->s1 >= origin_x && r->p1 >= origin_y;
        if (inside) {
            /* pl_md_frame_recompose's placement: each coordinate binned (floored) on its own. */
            x = r->s1 / r->sbin - origin_x / r->sbin + off_x;
            y = r->p1 / r->pbin - origin_y / r->pbin + off_y;
            inside = r->width <= width && x <= width - r->width && r->height <= height &&
                     y <= height - r->height;
        }
        if (!inside) {
            *bad = i;
            return LK_PLACE_OUTSIDE;
        }
        places[count++] = (lk_place){(int64_t)r->data_offset, r->width, r->height, (int64_t)x,
                                     (int64_t)y};
    }
    *placed = count;
    return LK_PLACE_OK;
}

int lk_recompose(const uint8_t *buf, size_t n, uint8_t *out, size_t height, size_t width,
                 ptrdiff_t row_stride, const lk_pixel *pixel, const lk_place *places,
                 size_t count, int has_fill, uint32_t fill, int threads, lk_error *err)
{
    err->offset = 0;
    unsigned sample = pixel->sample, channels = pixel->channels, wire = pixel->wire;
    if ((sample != 1 && sample != 2 && sample != 4) || (channels != 1 && channels != 3) ||
        (wire != sample && !(wire == 3 && sample == 4))) {
        snprintf(err->message, sizeof err->message,
                 "pixels of %u samples of %u bytes (%u in the frame) are not supported", channels,
                 sample, wire);
        return -1;
    }
    unsigned bpp = sample * channels, wire_bpp = wire * channels;
    if (height > 1 && width > 0 && row_stride < (ptrdiff_t)(width * bpp)) {
        snprintf(err->message, sizeof err->message, "output rows overlap");
        return -1;
    }
    for (size_t k = 0; k < count; k++) {
        const lk_place *p = &places[k];
        if (p->data_offset < 0 || p->width < 0 || p->height < 0 || p->x < 0 || p->y < 0 ||
            (uint64_t)p->width > width || (uint64_t)p->x > width - (size_t)p->width ||
            (uint64_t)p->height > height || (uint64_t)p->y > height - (size_t)p->height ||
            (uint64_t)p->data_offset > n ||
            (uint64_t)p->width * (uint64_t)p->height * wire_bpp > n - (size_t)p->data_offset) {
            snprintf(err->message, sizeof err->message,
                     "placement %zu lies outside the output or the buffer", k);
            return -1;
        }
    }
    /* One thread by default: with streaming stores one core already moves memory as fast as
     * memcpy does, and a second thread only adds the risk of waiting for a busy core. */
    int nthreads = threads > 0 ? lk_threads_for(height * width * bpp, threads) : 1;
    if ((size_t)nthreads > height)
        nthreads = height ? (int)height : 1;
    enum { STACK = 64 };
    size_t stack[STACK * 2];
    size_t need = count * (1 + (size_t)nthreads); /* by_y, then `active` for each thread */
    size_t *scratch = need <= STACK * 2 ? stack : malloc(need * sizeof *scratch);
    if (!scratch) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    if (sort_by_y(places, count, scratch)) {
        if (scratch != stack)
            free(scratch);
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    recompose_job job = {.buf = buf, .out = out, .height = height, .width = width,
                         .stride = row_stride, .bpp = bpp, .sample = sample,
                         .channels = channels, .wire = wire, .places = places, .count = count,
                         .has_fill = has_fill, .fill = fill, .by_y = scratch,
                         .active = scratch + count,
                         .stream = height * width * bpp >= ((size_t)4 << 20)};
    lk_parallel(nthreads, recompose_task, &job);
    if (scratch != stack)
        free(scratch);
    return 0;
}
