/*
 * Walk a PVCAM metadata frame (reference/pvcam-frames.md §1.3-1.8) into lk_header/lk_roi records.
 *
 * Mirrors labkit/native/_twin_decode.py check for check: same order, same messages, same
 * offsets, and the same vendor behaviours (pl_md_frame_decode): an INVALID ROI ends the frame,
 * roiDataSize is trusted, imageCompression is recorded, an unknown or cut extended-metadata tag
 * only marks its block unreadable. All multi-byte fields are unaligned little-endian (the
 * structs are packed), so they are assembled byte by byte; every read is preceded by a check
 * that it lies inside the buffer.
 */
#include "lk_frames.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | (unsigned)p[1] << 8); }

static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32; }

static int fail(lk_error *err, uint64_t offset, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, args);
    va_end(args);
    err->offset = offset;
    return -1;
}

static const char *format_name(unsigned value)
{
    static const char *names[] = {"MONO16", "BAYER16", "MONO8", "BAYER8", "MONO24", "BAYER24",
                                  "RGB24",  "RGB48",   "RGB72", "MONO32", "BAYER32", "RGB96"};
    return value < sizeof names / sizeof names[0] ? names[value] : "unknown";
}

unsigned lk_bytes_per_pixel(int image_format)
{
    switch (image_format) {
    case 0: case 1: return 2;          /* MONO16, BAYER16 */
    case 2: case 3: return 1;          /* MONO8, BAYER8 */
    case 4: case 5: case 6: return 3;  /* MONO24, BAYER24, RGB24 */
    case 7: return 6;                  /* RGB48 */
    case 8: return 9;                  /* RGB72 */
    case 9: case 10: return 4;         /* MONO32, BAYER32 */
    case 11: return 12;                /* RGB96 */
    default: return 0;
    }
}

size_t lk_roi_capacity(const uint8_t *buf, size_t n)
{
    if (n < LK_FRAME_HEADER_SIZE)
        return 0;
    size_t declared = ld16(buf + 9);
    size_t room = (n - LK_FRAME_HEADER_SIZE) / LK_ROI_HEADER_SIZE;
    return declared < room ? declared : room;
}

/* Tag-value extended metadata: 1-byte tag then a u32 for tags 0-2. An unknown tag, or a value
 * cut by the end of the block, leaves the rest unreadable: stop and mark the block. */
static void parse_ext_md(const uint8_t *buf, uint64_t start, uint64_t size, uint8_t *mask,
                         uint32_t values[3])
{
    uint64_t q = start, end = start + size;
    while (q < end) {
        unsigned tag = buf[q];
        if (tag > 2 || end - q - 1 < 4) {
            *mask |= LK_EXT_MD_UNREADABLE;
            return;
        }
        values[tag] = ld32(buf + q + 1);
        *mask |= (uint8_t)(1u << tag);
        q += 5;
    }
}

/* "ROI i of n", the place an error message names. */
static const char *where_name(char *text, size_t size, unsigned roi, unsigned count)
{
    snprintf(text, size, "ROI %u of %u", roi, count);
    return text;
}

static int check_region(const lk_roi *r, uint64_t p, unsigned roi, unsigned count, lk_error *err)
{
    char text[48];
#define W where_name(text, sizeof text, roi, count) /* formatted only on failure */
    if (r->sbin == 0)
        return fail(err, p + 14, "%s: serial binning is 0", W);
    if (r->s2 < r->s1)
        return fail(err, p + 12, "%s: s2 %u < s1 %u", W, r->s2, r->s1);
    if ((r->s2 - r->s1 + 1u) / r->sbin == 0)
        return fail(err, p + 14, "%s: %u serial pixels cannot be binned by %u", W,
                    r->s2 - r->s1 + 1u, r->sbin);
    if (r->pbin == 0)
        return fail(err, p + 20, "%s: parallel binning is 0", W);
    if (r->p2 < r->p1)
        return fail(err, p + 18, "%s: p2 %u < p1 %u", W, r->p2, r->p1);
    if ((r->p2 - r->p1 + 1u) / r->pbin == 0)
        return fail(err, p + 20, "%s: %u parallel rows cannot be binned by %u", W,
                    r->p2 - r->p1 + 1u, r->pbin);
#undef W
    return 0;
}

static int decode_header(const uint8_t *buf, size_t n, int format_override, lk_header *h,
                         unsigned *bpp, lk_error *err)
{
    memset(h, 0, sizeof *h);
    if (n < LK_FRAME_HEADER_SIZE)
        return fail(err, 0, "frame header truncated: needs %u bytes, buffer has %llu",
                    LK_FRAME_HEADER_SIZE, (unsigned long long)n);
    uint32_t signature = ld32(buf);
    if (signature != LK_SIGNATURE)
        return fail(err, 0, "bad frame signature 0x%08x (expected 0x%08x, 'PMQ\\0')",
                    (unsigned)signature, LK_SIGNATURE);
    h->version = buf[4];
    if (h->version < 1 || h->version > 3)
        return fail(err, 4, "unsupported header version %u (known: 1, 2, 3)", h->version);
    h->frame_nr = ld32(buf + 5);
    h->roi_count = ld16(buf + 9);
    if (h->roi_count == 0)
        return fail(err, 9, "roiCount is 0 (a metadata frame has at least one ROI)");
    h->bit_depth = buf[35];
    h->color_mask = buf[36];
    h->flags = buf[37];
    h->ext_md_size = ld16(buf + 38);
    unsigned format = buf[40], compression = buf[41];
    if (h->version == 1) {
        format = format_override < 0 ? 0u : (unsigned)format_override;
        compression = 0;
    } else {
        if (lk_bytes_per_pixel((int)format) == 0)
            return fail(err, 40, "image format %u (%s) is not one of PVCAM's containers (0-11)",
                        format, format_name(format));
        if (format_override >= 0 && (unsigned)format_override != format)
            return fail(err, 40, "header says image format %u (%s) but image_format=%d (%s) was given",
                        format, format_name(format), format_override,
                        format_name((unsigned)format_override));
    }
    *bpp = lk_bytes_per_pixel((int)format);
    if (*bpp == 0) /* an override the caller should have refused */
        return fail(err, 40, "image format %u (%s) is not supported", format, format_name(format));
    h->image_format = (uint8_t)format;
    h->image_compression = (uint8_t)compression;
    if (h->version == 3) {
        h->ts_bof = ld64(buf + 11);
        h->ts_eof = ld64(buf + 19);
        h->exposure = ld64(buf + 27);
    } else {
        h->ts_bof = ld32(buf + 11);
        h->ts_eof = ld32(buf + 15);
        h->ts_res_ns = ld32(buf + 19);
        h->exposure = ld32(buf + 23);
        h->exp_res_ns = ld32(buf + 27);
        h->roi_ts_res_ns = ld32(buf + 31);
    }
    return 0;
}

int lk_decode(const uint8_t *buf, size_t n, int format_override, lk_header *h, lk_roi *rois,
              size_t cap, lk_error *err)
{
    unsigned bpp = 0;
    if (decode_header(buf, n, format_override, h, &bpp, err))
        return -1;

    uint64_t p = LK_FRAME_HEADER_SIZE;
    if (n - p < h->ext_md_size)
        return fail(err, p, "frame: extended metadata truncated: needs %u bytes at offset %llu, "
                            "buffer has %llu",
                    h->ext_md_size, (unsigned long long)p, (unsigned long long)n);
    uint32_t frame_ext[3] = {0, 0, 0};
    parse_ext_md(buf, p, h->ext_md_size, &h->ext_mask, frame_ext);
    h->particle_id = frame_ext[0];
    h->m0 = frame_ext[1];
    h->m2 = frame_ext[2];
    p += h->ext_md_size;

    size_t count = 0;
    char where[48];
    for (unsigned i = 1; i <= h->roi_count; i++) {
        /* The "ROI i of n" prefix of error messages, formatted only when there is an error. */
#define WHERE where_name(where, sizeof where, i, (unsigned)h->roi_count)
        if (n - p < LK_ROI_HEADER_SIZE)
            return fail(err, p, "%s: header truncated: needs %u bytes at offset %llu, buffer has %llu",
                        WHERE, LK_ROI_HEADER_SIZE, (unsigned long long)p, (unsigned long long)n);
        const uint8_t *r = buf + p;
        if (r[22] & LK_ROI_FLAG_INVALID)
            break; /* pl_md_frame_decode ends the frame here: what follows is not read */
        lk_roi roi;
        memset(&roi, 0, sizeof roi);
        roi.header_offset = p;
        roi.roi_nr = ld16(r);
        roi.ts_bor = ld32(r + 2);
        roi.ts_eor = ld32(r + 6);
        roi.s1 = ld16(r + 10);
        roi.s2 = ld16(r + 12);
        roi.sbin = ld16(r + 14);
        roi.p1 = ld16(r + 16);
        roi.p2 = ld16(r + 18);
        roi.pbin = ld16(r + 20);
        roi.flags = r[22];
        roi.ext_md_size = ld16(r + 23);
        uint32_t rds = ld32(r + 25);
        int header_only = (roi.flags & LK_ROI_FLAG_HEADER_ONLY) != 0;
        if (check_region(&roi, p, i, h->roi_count, err))
            return -1;

        uint64_t ext_at = p + LK_ROI_HEADER_SIZE;
        if (n - ext_at < roi.ext_md_size)
            return fail(err, ext_at,
                        "%s: extended metadata truncated: needs %u bytes at offset %llu, "
                        "buffer has %llu",
                        WHERE, roi.ext_md_size, (unsigned long long)ext_at, (unsigned long long)n);
        uint32_t ext[3] = {0, 0, 0};
        parse_ext_md(buf, ext_at, roi.ext_md_size, &roi.ext_mask, ext);
        roi.particle_id = ext[0];
        roi.m0 = ext[1];
        roi.m2 = ext[2];
        uint64_t data_at = ext_at + roi.ext_md_size;
        roi.width = (uint32_t)((roi.s2 - roi.s1 + 1u) / roi.sbin);
        roi.height = (uint32_t)((roi.p2 - roi.p1 + 1u) / roi.pbin);
        uint64_t size;
        roi.roi_data_size = h->version == 1 ? 0 : rds;
        if (header_only)
            size = 0;
        else if (h->version == 1)
            size = (uint64_t)roi.width * roi.height * bpp;
        else
            size = rds; /* trusted, as the vendor does; checked when the pixels are used */
        if (n - data_at < size)
            return fail(err, data_at,
                        "%s: pixel data truncated: needs %llu bytes at offset %llu, buffer has %llu",
                        WHERE, (unsigned long long)size, (unsigned long long)data_at,
                        (unsigned long long)n);
        roi.data_offset = data_at;
        roi.data_size = size;
        if (count >= cap)
            return fail(err, p, "%s: internal error: no room for the ROI record", WHERE);
        /* Implied ROI: the bounding box of the decoded ROIs with the first ROI's binning (the
         * vendor's, HEADER_ONLY or not). */
        if (count == 0) {
            h->implied_s1 = roi.s1;
            h->implied_s2 = roi.s2;
            h->implied_p1 = roi.p1;
            h->implied_p2 = roi.p2;
            h->implied_sbin = roi.sbin;
            h->implied_pbin = roi.pbin;
        } else {
            if (roi.s1 < h->implied_s1) h->implied_s1 = roi.s1;
            if (roi.s2 > h->implied_s2) h->implied_s2 = roi.s2;
            if (roi.p1 < h->implied_p1) h->implied_p1 = roi.p1;
            if (roi.p2 > h->implied_p2) h->implied_p2 = roi.p2;
        }
        rois[count++] = roi;
        p = data_at + size;
    }
#undef WHERE
    h->decoded_count = (uint16_t)count;
    h->nbytes = p;
    return 0;
}
