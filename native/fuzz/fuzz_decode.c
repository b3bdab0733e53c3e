/*
 * A self-contained mutation fuzzer for lk_frames (gcc has no libFuzzer): build valid PVCAM frames,
 * mutate them, and run lk_decode, then lk_recompose and lk_preview on what decodes. Meant to be
 * compiled with -fsanitize=address,undefined: every buffer is malloc'd at its exact size, so a
 * one-byte overread is reported. tests/native/test_fuzz.py builds and runs it.
 *
 * usage: fuzz_decode [max_iterations] [seed] [max_seconds]
 * Prints "iterations=N decoded=N rejected=N recomposed=N previewed=N" and exits 0, or aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lk_frames.h"

#define MAX_FRAME (1u << 16)

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t next(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint64_t below(uint64_t n) { return n ? next() % n : 0; }

typedef struct {
    uint8_t data[MAX_FRAME];
    size_t size;
} frame_bytes;

static void put(frame_bytes *f, uint64_t value, unsigned bytes)
{
    for (unsigned i = 0; i < bytes && f->size < MAX_FRAME; i++)
        f->data[f->size++] = (uint8_t)(value >> (8 * i));
}

/* `items` tag-value items of 5 bytes; now and then an unknown tag (the block stays its size). */
static void put_ext_md(frame_bytes *f, unsigned items)
{
    for (unsigned i = 0; i < items; i++) {
        put(f, below(16) ? below(3) : 3 + below(253), 1);
        put(f, next(), 4);
    }
}

/* A valid frame: any version, any of the 12 containers, 1-16 ROIs (INVALID ones anywhere),
 * ext MD, flags, sometimes compressed or with a roiDataSize that disagrees with the region. */
static void build(frame_bytes *f)
{
    unsigned version = 1 + (unsigned)below(3);
    int format = version == 1 ? 0 : (int)below(12);
    unsigned bpp = lk_bytes_per_pixel(format);
    unsigned rois = 1 + (unsigned)below(16);
    unsigned frame_ext = (unsigned)below(3);
    unsigned sbin = 1 + (unsigned)below(3), pbin = 1 + (unsigned)below(3);
    f->size = 0;
    put(f, LK_SIGNATURE, 4);
    put(f, version, 1);
    put(f, next(), 4);
    put(f, rois, 2);
    for (int i = 0; i < 24; i++) /* timestamps, exposure and resolutions: any values */
        put(f, next(), 1);
    put(f, 16, 1);
    put(f, below(6), 1);
    put(f, next(), 1);
    put(f, frame_ext * 5, 2);
    put(f, version >= 2 ? (unsigned)format : 0, 1);
    put(f, below(16) ? 0 : 9 + below(10), 1); /* imageCompression: decoded, pixels unusable */
    put(f, 0, 6);
    put_ext_md(f, frame_ext);
    for (unsigned r = 0; r < rois; r++) {
        unsigned w = 1 + (unsigned)below(12), h = 1 + (unsigned)below(12);
        unsigned s1 = (unsigned)below(100), p1 = (unsigned)below(100);
        unsigned flags = below(4) == 0 ? (unsigned)below(4) : 0;
        unsigned ext = (unsigned)below(4);
        size_t data = (size_t)w * h * bpp;
        if (!below(16) && version >= 2) /* a roiDataSize the vendor trusts: more, or less */
            data = below(2) ? data + below(8) : data - below(data + 1);
        if (!below(8)) /* now and then a ROI of its own binning */
            sbin = 1 + (unsigned)below(3);
        put(f, r + 1, 2);
        put(f, next(), 4);
        put(f, next(), 4);
        put(f, s1, 2);
        put(f, s1 + w * sbin - 1, 2);
        put(f, sbin, 2);
        put(f, p1, 2);
        put(f, p1 + h * pbin - 1, 2);
        put(f, pbin, 2);
        put(f, flags, 1);
        put(f, ext * 5, 2);
        put(f, version >= 2 ? data : 0, 4);
        put(f, 0, 3);
        put_ext_md(f, ext);
        if (!(flags & LK_ROI_FLAG_HEADER_ONLY))
            for (size_t i = 0; i < data; i++)
                put(f, next(), 1);
    }
}

static void mutate(frame_bytes *f)
{
    static const uint32_t interesting[] = {0, 1, 2, 3, 4, 5, 31, 32, 33, 48, 0x7F, 0x80, 0xFF,
                                           0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF,
                                           0x80000000u, 0xFFFFFFFFu};
    unsigned rounds = 1 + (unsigned)below(6);
    for (unsigned k = 0; k < rounds && f->size; k++) {
        size_t at = below(f->size);
        uint32_t value = below(2) ? interesting[below(sizeof interesting / sizeof *interesting)]
                                  : (uint32_t)next();
        switch (below(7)) {
        case 0: f->data[at] ^= (uint8_t)(1u << below(8)); break;
        case 1: f->data[at] = (uint8_t)value; break;
        case 2: /* a u16 field, often one of the headers' */
            if (below(2) && f->size > 48)
                at = below(2) ? 9 + below(2) * 29 : 48 + below(32);
            if (at + 2 <= f->size) { f->data[at] = (uint8_t)value; f->data[at + 1] = (uint8_t)(value >> 8); }
            break;
        case 3:
            for (unsigned i = 0; i < 4 && at + i < f->size; i++)
                f->data[at + i] = (uint8_t)(value >> (8 * i));
            break;
        case 4: f->size = at; break;
        case 5: {
            size_t extra = below(64);
            for (size_t i = 0; i < extra && f->size < MAX_FRAME; i++)
                f->data[f->size++] = (uint8_t)next();
            break;
        }
        default: { /* copy a block over another (duplicates ROI headers and ext MD) */
            size_t from = below(f->size), len = below(40);
            if (from + len <= f->size && at + len <= f->size)
                memmove(f->data + at, f->data + from, len);
        }
        }
    }
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static int preview_image(const uint8_t *image, size_t height, size_t width, unsigned bpp)
{
    static uint8_t lut[4096];
    for (size_t i = 0; i < sizeof lut; i++)
        lut[i] = (uint8_t)(i >> 4);
    size_t f = 1 + below(6);
    size_t fy = f < height ? f : height, fx = f < width ? f : width;
    size_t oh = height / fy, ow = width / fx;
    uint8_t *out = malloc(oh * ow);
    lk_preview_job job = {.image = image, .image_stride = (ptrdiff_t)(width * bpp), .height = height,
                          .width = width, .itemsize = bpp, .fy = fy, .fx = fx,
                          .binning = (int)below(2), .contrast = (int)below(3), .lut = lut,
                          .lut_size = below(4) ? sizeof lut : 2 + below(300), .out = out,
                          .out_stride = (ptrdiff_t)ow, .oh = oh, .ow = ow,
                          .threads = (int)below(4)};
    uint64_t count = (uint64_t)oh * ow, top = bpp == 4 ? 0xFFFFFFFFull : (1ull << (8 * bpp)) - 1;
    job.a = job.contrast == LK_CONTRAST_RANKS ? below(count) : below(top);
    job.b = job.contrast == LK_CONTRAST_RANKS ? job.a + below(count - job.a) : job.a + 1 + below(top - job.a);
    lk_error err;
    int status = lk_preview(&job, &err);
    if (!status)
        check(job.contrast != LK_CONTRAST_MANUAL || (job.lo == job.a && job.hi == job.b), "levels");
    free(out);
    return status == 0;
}

int main(int argc, char **argv)
{
    unsigned long long iterations = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
    rng_state = (seed + 1) * 0x9E3779B97F4A7C15ull; /* odd multiplier: never 0 for seed + 1 < 2^64 */
    rng_state = rng_state ? rng_state : 1;
    double seconds = argc > 3 ? atof(argv[3]) : 5.0;
    static frame_bytes frame;
    unsigned long long done = 0, decoded = 0, rejected = 0, recomposed = 0, previewed = 0;
    clock_t start = clock();
    for (; done < iterations; done++) {
        if ((done & 255) == 0 && (double)(clock() - start) / CLOCKS_PER_SEC > seconds)
            break;
        build(&frame);
        if (below(8))
            mutate(&frame);
        uint8_t *buf = malloc(frame.size ? frame.size : 1);
        memcpy(buf, frame.data, frame.size);
        size_t cap = lk_roi_capacity(buf, frame.size);
        lk_roi *rois = malloc((cap ? cap : 1) * sizeof *rois);
        lk_header header;
        lk_error err;
        int format = below(4) ? -1 : (int)(below(2) ? 0 : 2);
        if (lk_decode(buf, frame.size, format, &header, rois, cap, &err)) {
            rejected++;
            check(err.offset <= frame.size, "error offset inside the buffer");
            check(strlen(err.message) > 0, "error message");
        } else {
            decoded++;
            unsigned bpp = lk_bytes_per_pixel(header.image_format);
            check(header.decoded_count <= cap && header.nbytes <= frame.size, "decoded extent");
            for (size_t i = 0; i < header.decoded_count; i++) {
                check(rois[i].data_offset + rois[i].data_size <= frame.size, "ROI data inside");
                check(rois[i].header_offset + LK_ROI_HEADER_SIZE <= frame.size, "ROI header inside");
            }
            /* Recompose in implied coordinates, sometimes shifted, sometimes on a canvas of
             * several megabytes (the threaded, streaming path), sometimes too small. The size
             * is the implied ROI's plus a pixel for unaligned origins. */
            size_t sbin = header.implied_sbin ? header.implied_sbin : 1;
            size_t pbin = header.implied_pbin ? header.implied_pbin : 1;
            size_t width = (size_t)(header.implied_s2 - header.implied_s1 + 1u) / sbin + 1;
            size_t height = (size_t)(header.implied_p2 - header.implied_p1 + 1u) / pbin + 1;
            uint64_t off_x = below(4), off_y = below(4);
            width += off_x;
            height += off_y;
            if (below(32) == 0) {
                width += 1500 + below(700);
                height += 1400 + below(300);
            } else if (below(16) == 0) {
                width -= below(width + 1);
            }
            /* The image's pixel: 24-bit containers widen to 4 bytes, RGB has 3 channels. */
            unsigned channels = bpp % 3 == 0 ? 3u : 1u, wire = bpp / channels;
            if (bpp == 3 && (header.image_format == 4 || header.image_format == 5))
                channels = 1, wire = 3; /* MONO24, BAYER24 */
            lk_pixel pixel = {wire == 3 ? 4u : wire, channels, wire};
            unsigned out_bpp = pixel.sample * pixel.channels;
            lk_place *places = malloc((header.decoded_count + 1u) * sizeof *places);
            size_t placed = 0, bad = 0;
            int where = lk_place_rois(rois, header.decoded_count, header.implied_s1,
                                      header.implied_p1, off_x, off_y, width, height, places,
                                      &placed, &bad);
            check(where == LK_PLACE_OK || bad < header.decoded_count, "culprit index");
            if (where == LK_PLACE_OK && header.decoded_count && width * height <= (1u << 22)) {
                uint8_t *out = calloc(width * height * out_bpp + 1, 1);
                if (below(16) == 0 && placed) /* a placement lk_recompose itself must refuse */
                    places[below(placed)].x += (int64_t)below(2 * width + 2) - (int64_t)width;
                int status = lk_recompose(buf, frame.size, out, height, width,
                                          (ptrdiff_t)(width * out_bpp), &pixel, places, placed,
                                          (int)below(2), (uint32_t)next(), (int)below(4), &err);
                if (status == 0 && width && height) {
                    recomposed++;
                    if (channels == 1)
                        previewed += (unsigned long long)preview_image(out, height, width,
                                                                       pixel.sample);
                }
                free(out);
            }
            free(places);
        }
        free(rois);
        free(buf);
    }
    printf("iterations=%llu decoded=%llu rejected=%llu recomposed=%llu previewed=%llu\n", done,
           decoded, rejected, recomposed, previewed);
    return 0;
}
