/*
 * Recompose ROIs into one image (reference/pvcam-frames.md §1.10): the C twin of
 * labkit/native/_twin_recompose.py.
 *
 * The output is processed in bands of rows small enough to stay in cache: a band is cleared,
 * then every ROI's rows inside it are copied in ROI order. Clearing thus costs a cache-speed
 * memset instead of a second pass over memory, and the result is the twin's "fill everything,
 * then copy each ROI in turn" exactly, overlaps included.
 */
#include <stdio.h>
#include <string.h>

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
} recompose_job;

/* Set a row of `width` pixels to `fill`, stored little-endian (the frame's byte order). */
static void fill_row(uint8_t *row, size_t width, unsigned bpp, uint32_t fill)
{
    size_t bytes = width * bpp;
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

static void recompose_rows(const recompose_job *j, size_t r0, size_t r1)
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
            size_t row_bytes = (size_t)p->width * j->bpp;
            for (size_t r = y0; r < y1; r++)
                memcpy(j->out + (ptrdiff_t)r * j->stride + (size_t)p->x * j->bpp,
                       j->buf + (size_t)p->data_offset + (r - y) * row_bytes, row_bytes);
        }
    }
}

static void recompose_task(void *ctx, int index, int count)
{
    const recompose_job *j = ctx;
    size_t r0 = j->height * (size_t)index / (size_t)count;
    size_t r1 = j->height * (size_t)(index + 1) / (size_t)count;
    recompose_rows(j, r0, r1);
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
                         has_fill, fill, band ? band : 1};
    int nthreads = lk_threads_for(height * row_bytes, threads);
    if ((size_t)nthreads > height)
        nthreads = height ? (int)height : 1;
    lk_parallel(nthreads, recompose_task, &job);
    return 0;
}
