/*
 * Recompose ROIs into one image (reference/pvcam-frames.md §1.10): the C twin of
 * labkit/native/_twin_recompose.py.
 *
 * The result is exactly the twin's "fill everything, then copy each ROI in turn" (later ROIs win
 * where they overlap), without writing any pixel twice where that can be avoided:
 *
 * - with few ROIs (user multi-ROI: at most 15) only the gaps between the ROIs crossing each row
 *   are filled, then each ROI is copied block by block. A frame whose ROIs cover the image costs
 *   one memcpy per row and no clearing at all.
 * - with many ROIs (centroids: hundreds of small patches) the image is mostly fill; it is done in
 *   bands of rows small enough to stay in cache: clear the band, then copy the ROI rows in it.
 */
#include <stdio.h>
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
    unsigned bpp;
    const lk_place *places;
    size_t count;
    int has_fill;
    uint32_t fill;
    size_t band_rows;
    size_t *scratch; /* count indices per thread, for the gap method */
    int stream;      /* copy with non-temporal stores (large images) */
} recompose_job;

/* Up to this many ROIs, only the gaps between ROIs are filled. */
#define LK_ROW_METHOD_MAX 64

/* Set a row of `width` pixels to `fill`, stored little-endian (the frame's byte order). */
static void memcpy_void(uint8_t *dst, const uint8_t *src, size_t n) { memcpy(dst, src, n); }

static void fill_row(uint8_t *row, size_t width, unsigned bpp, uint32_t fill)
{
    size_t bytes = width * bpp;
    if (bytes == 0)
        return;
    if (fill == 0 || bpp == 1) {
        memset(row, (int)(fill & 0xFF), bytes);
        return;
    }
    for (unsigned i = 0; i < bpp; i++)
        row[i] = (uint8_t)(fill >> (8 * i));
    size_t done = bpp;
    while (done < bytes) { /* doubling copies of the pattern */
        size_t chunk = done < bytes - done ? done : bytes - done;
        memcpy(row + done, row, chunk);
        done += chunk;
    }
}

/*
 * memcpy with non-temporal stores: a large image is written straight to memory without first
 * reading each destination line in (the read-for-ownership a cached store needs), which makes
 * copies of many short row segments as fast as one big memcpy. The caller ends with a fence.
 */
static void stream_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
#ifdef __SSE2__
    size_t head = (16 - ((uintptr_t)dst & 15)) & 15;
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

/* Copy rows [y0, y1) of ROI p to the output: one call when the rows are contiguous there too. */
static void copy_rows(const recompose_job *j, const lk_place *p, size_t y0, size_t y1)
{
    size_t row_bytes = (size_t)p->width * j->bpp;
    const uint8_t *src = j->buf + (size_t)p->data_offset + (y0 - (size_t)p->y) * row_bytes;
    uint8_t *dst = j->out + (ptrdiff_t)y0 * j->stride + (size_t)p->x * j->bpp;
    if ((ptrdiff_t)row_bytes == j->stride) {
        (j->stream ? stream_copy : memcpy_void)(dst, src, (y1 - y0) * row_bytes);
        return;
    }
    for (size_t r = y0; r < y1; r++, src += row_bytes, dst += j->stride)
        (j->stream ? stream_copy : memcpy_void)(dst, src, row_bytes);
}

/*
 * Few ROIs: fill only the gaps between the ROIs crossing each row, then copy each ROI block
 * (rows r0..r1) in ROI order, one source stream at a time.
 */
static void recompose_gaps(const recompose_job *j, size_t r0, size_t r1, size_t *by_x)
{
    if (j->has_fill) {
        for (size_t r = r0; r < r1; r++) {
            size_t count = 0;
            for (size_t k = 0; k < j->count; k++) { /* insertion sort by x: count is small */
                const lk_place *p = &j->places[k];
                if ((size_t)p->y > r || r >= (size_t)(p->y + p->height) || p->width == 0)
                    continue;
                size_t at = count++;
                while (at > 0 && j->places[by_x[at - 1]].x > p->x) {
                    by_x[at] = by_x[at - 1];
                    at--;
                }
                by_x[at] = k;
            }
            uint8_t *row = j->out + (ptrdiff_t)r * j->stride;
            size_t cursor = 0;
            for (size_t i = 0; i < count; i++) {
                const lk_place *p = &j->places[by_x[i]];
                if ((size_t)p->x > cursor) /* cached stores: gaps are short, and mixing them with
                                              non-temporal stores on shared lines is slow */
                    fill_row(row + cursor * j->bpp, (size_t)p->x - cursor, j->bpp, j->fill);
                if ((size_t)(p->x + p->width) > cursor)
                    cursor = (size_t)(p->x + p->width);
            }
            if (cursor < j->width)
                fill_row(row + cursor * j->bpp, j->width - cursor, j->bpp, j->fill);
        }
    }
    for (size_t k = 0; k < j->count; k++) {
        const lk_place *p = &j->places[k];
        size_t y = (size_t)p->y, h = (size_t)p->height;
        size_t y0 = y > r0 ? y : r0, y1 = y + h < r1 ? y + h : r1;
        if (y0 < y1)
            copy_rows(j, p, y0, y1);
    }
}

/* Bands of rows: clear a cache-sized band, then copy every ROI row that falls in it. */
static void recompose_by_band(const recompose_job *j, size_t r0, size_t r1)
{
    for (size_t band = r0; band < r1; band += j->band_rows) {
        size_t end = band + j->band_rows < r1 ? band + j->band_rows : r1;
        if (j->has_fill)
            for (size_t r = band; r < end; r++)
                fill_row(j->out + (ptrdiff_t)r * j->stride, j->width, j->bpp, j->fill);
        for (size_t k = 0; k < j->count; k++) {
            const lk_place *p = &j->places[k];
            size_t y = (size_t)p->y, h = (size_t)p->height;
            size_t y0 = y > band ? y : band, y1 = y + h < end ? y + h : end;
            if (y0 < y1)
                copy_rows(j, p, y0, y1);
        }
    }
}

static void recompose_task(void *ctx, int index, int count)
{
    const recompose_job *j = ctx;
    size_t r0 = j->height * (size_t)index / (size_t)count;
    size_t r1 = j->height * (size_t)(index + 1) / (size_t)count;
    if (j->scratch)
        recompose_gaps(j, r0, r1, j->scratch + j->count * (size_t)index);
    else
        recompose_by_band(j, r0, r1);
#ifdef __SSE2__
    if (j->stream)
        _mm_sfence(); /* order the non-temporal stores before the thread reports completion */
#endif
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
            x = (r->s1 - origin_x) / r->sbin + off_x;
            y = (r->p1 - origin_y) / r->pbin + off_y;
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
                 ptrdiff_t row_stride, unsigned bpp, const lk_place *places, size_t count,
                 int has_fill, uint32_t fill, int threads, lk_error *err)
{
    if (bpp != 1 && bpp != 2 && bpp != 4) {
        snprintf(err->message, sizeof err->message, "pixels of %u bytes are not supported", bpp);
        return -1;
    }
    if (height > 1 && row_stride < (ptrdiff_t)(width * bpp)) {
        snprintf(err->message, sizeof err->message, "output rows overlap");
        return -1;
    }
    for (size_t k = 0; k < count; k++) {
        const lk_place *p = &places[k];
        if (p->data_offset < 0 || p->width < 0 || p->height < 0 || p->x < 0 || p->y < 0 ||
            (uint64_t)p->width > width || (uint64_t)p->x > width - (size_t)p->width ||
            (uint64_t)p->height > height || (uint64_t)p->y > height - (size_t)p->height ||
            (uint64_t)p->data_offset > n ||
            (uint64_t)p->width * (uint64_t)p->height * bpp > n - (size_t)p->data_offset) {
            snprintf(err->message, sizeof err->message,
                     "placement %zu lies outside the output or the buffer", k);
            err->offset = 0;
            return -1;
        }
    }
    size_t row_bytes = width * bpp;
    size_t band = row_bytes ? ((size_t)64 << 10) / row_bytes : 1;
    recompose_job job = {buf, out, height, width, row_stride, bpp, places, count,
                         has_fill, fill, band ? band : 1, NULL, 0};
    /* Large images are copied past the cache; small ones stay hot for whoever reads them next. */
    job.stream = height * row_bytes >= ((size_t)4 << 20);
    int nthreads = lk_threads_for(height * row_bytes, threads);
    if ((size_t)nthreads > height)
        nthreads = height ? (int)height : 1;
    size_t scratch[LK_ROW_METHOD_MAX * LK_MAX_THREADS];
    if (count <= LK_ROW_METHOD_MAX)
        job.scratch = scratch; /* count indices for each thread */
    lk_parallel(nthreads, recompose_task, &job);
    return 0;
}
