/*
 * lk_frames: decode, recompose and preview PVCAM frames. Plain C11, no Python.
 *
 * The Python bindings (module.c) and the fuzz harness (native/fuzz) both sit on this API.
 * The NumPy twin in labkit/native/_twin_*.py is the reference: every function here gives the
 * same results, and the decoder the same messages and offsets, as its twin.
 */
#ifndef LK_FRAMES_H
#define LK_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LK_FRAME_HEADER_SIZE 48u
#define LK_ROI_HEADER_SIZE 32u
#define LK_SIGNATURE 0x00514D50u /* "PMQ\0" little-endian */
#define LK_ROI_FLAG_INVALID 0x01u
#define LK_ROI_FLAG_HEADER_ONLY 0x02u
#define LK_EXT_MD_UNREADABLE 0x80u /* ext_mask bit: an unknown or cut tag; reading raises */
#define LK_MESSAGE_SIZE 320

/* One decoded frame header. Layout = labkit.native._layout.HEADER_DTYPE (checked on import). */
typedef struct {
    uint64_t ts_bof, ts_eof, exposure, nbytes;
    uint32_t frame_nr, ts_res_ns, exp_res_ns, roi_ts_res_ns;
    uint32_t particle_id, m0, m2;
    uint16_t roi_count, decoded_count, ext_md_size;
    uint16_t implied_s1, implied_s2, implied_sbin, implied_p1, implied_p2, implied_pbin;
    uint8_t version, bit_depth, color_mask, flags, image_format, image_compression, ext_mask;
    uint8_t pad[3];
} lk_header;

/* One decoded ROI. Layout = labkit.native._layout.ROI_DTYPE. */
typedef struct {
    uint64_t header_offset, data_offset, data_size;
    uint32_t width, height, ts_bor, ts_eor;
    uint32_t particle_id, m0, m2, roi_data_size;
    uint16_t roi_nr, s1, s2, sbin, p1, p2, pbin, ext_md_size;
    uint8_t flags, ext_mask;
    uint8_t pad[6];
} lk_roi;

/* Why decoding stopped: a message (same text as the twin's) and the byte offset at fault. */
typedef struct {
    uint64_t offset;
    char message[LK_MESSAGE_SIZE];
} lk_error;

/* Bytes one pixel of a PL_IMAGE_FORMATS container occupies in a frame, 0 if unknown. */
unsigned lk_bytes_per_pixel(int image_format);

/* Upper bound on the ROIs lk_decode can store for this buffer (for sizing `rois`). */
size_t lk_roi_capacity(const uint8_t *buf, size_t n);

/*
 * Decode the metadata frame at buf[0..n). format_override < 0 means none (v1 headers then use
 * MONO16); the caller has checked that it is a supported format. Writes the header and up to
 * `cap` ROI records; returns 0, or -1 with `err` filled. Reads nothing outside buf[0..n).
 */
int lk_decode(const uint8_t *buf, size_t n, int format_override, lk_header *hdr, lk_roi *rois,
              size_t cap, lk_error *err);

/* One ROI's place in a recomposed image. */
typedef struct {
    int64_t data_offset, width, height, x, y;
} lk_place;

enum { LK_PLACE_OK = 0, LK_PLACE_BINNING = 1, LK_PLACE_OUTSIDE = 2 };

/*
 * Where the pixel-carrying (not HEADER_ONLY) ROIs of a decoded frame land in a width × height
 * image, as pl_md_frame_recompose places them (reference §1.10):
 * x = s1 / sbin - origin_x / sbin + off_x, y = p1 / pbin - origin_y / pbin + off_y (each
 * coordinate binned on its own, integer division). Returns LK_PLACE_OK with `placed` entries
 * written to `places` (room for n), or, before writing anything, LK_PLACE_BINNING (a zero
 * binning, or one that differs from the first carrier's) or LK_PLACE_OUTSIDE (an ROI beyond the
 * image) with *bad = that ROI's index in `rois`.
 */
int lk_place_rois(const lk_roi *rois, size_t n, uint64_t origin_x, uint64_t origin_y,
                  uint64_t off_x, uint64_t off_y, size_t width, size_t height, lk_place *places,
                  size_t *placed, size_t *bad);

/* A pixel: `channels` samples (1, or 3 for RGB) of `sample` bytes in the image (1, 2, 4), each
 * `wire` bytes in the frame: the same, or 3 for 24-bit containers, widened to 4. */
typedef struct {
    unsigned sample, channels, wire;
} lk_pixel;

/*
 * Copy `count` ROIs from buf into the image `out` (height × width pixels, rows `row_stride`
 * bytes apart), clearing everything else to `fill` (each sample) first when has_fill. Later
 * ROIs win where ROIs overlap. Every placement is checked against buf and out; returns 0, or
 * -1 with a message in err (and nothing written). threads <= 0 means one thread.
 */
int lk_recompose(const uint8_t *buf, size_t n, uint8_t *out, size_t height, size_t width,
                 ptrdiff_t row_stride, const lk_pixel *pixel, const lk_place *places,
                 size_t count, int has_fill, uint32_t fill, int threads, lk_error *err);

enum { LK_BIN_MEAN = 0, LK_BIN_MAX = 1 };
enum { LK_CONTRAST_MINMAX = 0, LK_CONTRAST_RANKS = 1, LK_CONTRAST_MANUAL = 2 };

/* A preview: bin `image` by fy × fx into out (oh × ow uint8) through levels and a table. */
typedef struct {
    const uint8_t *image;
    ptrdiff_t image_stride; /* bytes between rows */
    size_t height, width;
    unsigned itemsize; /* 1, 2 or 4: uint8, uint16, uint32 */
    size_t fy, fx;
    int binning;  /* LK_BIN_* */
    int contrast; /* LK_CONTRAST_* */
    uint64_t a, b; /* ranks (RANKS) or levels (MANUAL) */
    const uint8_t *lut;
    size_t lut_size;
    uint8_t *out;
    ptrdiff_t out_stride;
    size_t oh, ow;
    int threads; /* <= 0: choose by size */
    uint64_t lo, hi; /* out: the levels used */
} lk_preview_job;

/* Run a preview job; returns 0, or -1 with a message (bad job or out of memory). */
int lk_preview(lk_preview_job *job, lk_error *err);

/* How many threads to use for `bytes` of pixel work when the caller asks for `requested`. */
int lk_threads_for(size_t bytes, int requested);

#ifdef __cplusplus
}
#endif
#endif
