/* Frame layout: region validation, frame sizes, and the packed metadata written into frames.
 *
 * The layout follows reference §1 byte for byte: a 48-byte frame header (v1/v2 or v3), then per
 * ROI a 32-byte ROI header, the ROI's extended metadata (tag byte + value) and its pixels, all
 * little-endian with no padding. Centroid modes (§1.11):
 *   LOCATE  roiCount = count; each ROI a (2r+1)^2 patch around a particle; missing particles are
 *           flagged INVALID (their patch bytes are still present, so the frame size is fixed);
 *   TRACK   roiCount = count + 1; ROI 1 is the whole search region with ext MD carrying dummy
 *           values, then one HEADER_ONLY ROI per particle with ext MD {PARTICLE_ID, M0, M2};
 *   BLOB    roiCount = count + 1; ROI 1 is the whole search region, then one HEADER_ONLY ROI per
 *           particle whose rgn is the 1-pixel centre.
 * Like the vendor's own fake camera, HEADER_ONLY ROIs carry the nominal roiDataSize of their rgn
 * although no pixels follow: decoders must test the flag first.
 *
 * LOCATE slots follow the brightness of the particles found in the search region; a particle
 * whose patch would cross the region's edge cannot be located and its slot is INVALID wherever
 * it falls, so INVALID ROIs also come before valid ones (the vendor's decoder stops at the
 * first). With host frame summing, each frame is the sum of sum_count sensor frames, rendered
 * one by one and added up, clipped at the summing format's container (16, 24 or 32 bits).
 */
#include "pvsim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uns32 pvsim_roi_width(const rgn_type *r) { return (uns32)(r->s2 - r->s1 + 1) / r->sbin; }
uns32 pvsim_roi_height(const rgn_type *r) { return (uns32)(r->p2 - r->p1 + 1) / r->pbin; }

static bool binning_supported(const camera_model *m, uns16 bin) {
    for (int i = 0; i < m->n_binnings; i++)
        if (m->binnings[i].value == bin) return true;
    return false;
}

static bool overlap(const rgn_type *a, const rgn_type *b) {
    return a->s1 <= b->s2 && b->s1 <= a->s2 && a->p1 <= b->p2 && b->p1 <= a->p2;
}

pvsim_error pvsim_build_layout(const camera *c, uns16 n, const rgn_type *rgns, frame_layout *l) {
    const camera_model *m = c->model;
    memset(l, 0, sizeof *l);
    if (rgns == NULL) return PVSIM_E_NULL_POINTER;
    if (n == 0) return PVSIM_E_REGION_INVALID;
    if (n > m->max_rois) return PVSIM_E_TOO_MANY_REGIONS;
    if ((n > 1 || c->centroids) && !c->metadata) return PVSIM_E_METADATA_REQUIRED;
    if (c->centroids && n > 1) return PVSIM_E_CENTROIDS_CONFLICT;
    if (c->centroids && c->summing) return PVSIM_E_SUMMING_CONFLICT;
    for (uns16 i = 0; i < n; i++) {
        const rgn_type *r = &rgns[i];
        if (r->s1 > r->s2 || r->s2 >= m->width || r->p1 > r->p2 || r->p2 >= m->height)
            return PVSIM_E_REGION_INVALID;
        /* The binning lists are paired; both lists are symmetric here. */
        if (r->sbin != r->pbin || !binning_supported(m, r->sbin)) return PVSIM_E_BINNING_INVALID;
        if (r->sbin != rgns[0].sbin || r->pbin != rgns[0].pbin) return PVSIM_E_BINNING_INVALID;
        if (pvsim_roi_width(r) == 0 || pvsim_roi_height(r) == 0) return PVSIM_E_REGION_INVALID;
        for (uns16 j = 0; j < i; j++)
            if (overlap(r, &rgns[j])) return PVSIM_E_REGION_INVALID;
        l->rois[i] = *r;
    }
    l->n_rois = n;
    l->metadata = c->metadata;
    l->centroid_mode = c->centroids ? c->centroid_mode : -1;
    l->centroid_count = c->centroid_count;
    l->centroid_radius = c->centroid_radius;
    l->header_version = c->header_version;
    l->image_format = pvsim_host_format(c, &l->bytes_per_pixel, &l->bit_depth);
    l->native_format = pvsim_effective_format(c, &l->native_bpp);
    l->summing = c->summing;
    l->sum_count = c->summing ? c->sum_count : 1;
    uns32 bpp = l->bytes_per_pixel;

    l->first_row = rgns[0].p1;
    l->last_row = rgns[0].p2;
    for (uns16 i = 1; i < n; i++) {
        if (rgns[i].p1 < l->first_row) l->first_row = rgns[i].p1;
        if (rgns[i].p2 > l->last_row) l->last_row = rgns[i].p2;
    }

    uint64_t size;
    if (!l->metadata) {
        size = (uint64_t)pvsim_roi_width(&rgns[0]) * pvsim_roi_height(&rgns[0]) * bpp;
        l->header_roi_count = 1;
    } else if (l->centroid_mode < 0) {
        size = MD_FRAME_HEADER_SIZE;
        for (uns16 i = 0; i < n; i++)
            size += MD_ROI_HEADER_SIZE +
                    (uint64_t)pvsim_roi_width(&rgns[i]) * pvsim_roi_height(&rgns[i]) * bpp;
        l->header_roi_count = n;
    } else {
        const rgn_type *r = &rgns[0];
        uns32 patch = 2u * l->centroid_radius + 1;
        if (r->sbin != 1 || pvsim_roi_width(r) < patch || pvsim_roi_height(r) < patch)
            return PVSIM_E_CENTROIDS_CONFLICT;
        uint64_t full = (uint64_t)pvsim_roi_width(r) * pvsim_roi_height(r) * bpp;
        uns32 count = l->centroid_count;
        switch (l->centroid_mode) {
        case PL_CENTROIDS_MODE_LOCATE:
            size = MD_FRAME_HEADER_SIZE + count * (MD_ROI_HEADER_SIZE + (uint64_t)patch * patch * bpp);
            l->header_roi_count = (uns16)count;
            break;
        case PL_CENTROIDS_MODE_TRACK:
            size = MD_FRAME_HEADER_SIZE + MD_ROI_HEADER_SIZE + MD_TRACK_EXT_SIZE + full +
                   (uint64_t)count * (MD_ROI_HEADER_SIZE + MD_TRACK_EXT_SIZE);
            l->header_roi_count = (uns16)(count + 1);
            break;
        default:
            size = MD_FRAME_HEADER_SIZE + MD_ROI_HEADER_SIZE + full +
                   (uint64_t)count * MD_ROI_HEADER_SIZE;
            l->header_roi_count = (uns16)(count + 1);
            break;
        }
    }
    if (size > UINT32_MAX) return PVSIM_E_SEQUENCE_TOO_LARGE;
    l->frame_bytes = (uns32)size;
    return PVSIM_E_NONE;
}

double pvsim_readout_ns(const camera *c, const frame_layout *l) {
    return pvsim_speed(c)->line_time_ns * (double)(l->last_row - l->first_row + 1);
}

/* ---- little-endian stores ------------------------------------------------------------------ */

static void put16(uns8 *p, size_t off, uns16 v) {
    p[off] = (uns8)v;
    p[off + 1] = (uns8)(v >> 8);
}

static void put32(uns8 *p, size_t off, uns32 v) {
    for (int i = 0; i < 4; i++) p[off + i] = (uns8)(v >> (8 * i));
}

static void put64(uns8 *p, size_t off, ulong64 v) {
    for (int i = 0; i < 8; i++) p[off + i] = (uns8)(v >> (8 * i));
}

static void put_rgn(uns8 *p, size_t off, const rgn_type *r) {
    put16(p, off + 0, r->s1);
    put16(p, off + 2, r->s2);
    put16(p, off + 4, r->sbin);
    put16(p, off + 6, r->p1);
    put16(p, off + 8, r->p2);
    put16(p, off + 10, r->pbin);
}

static void write_frame_header(uns8 *h, const frame_layout *l, const frame_timing *t) {
    memset(h, 0, MD_FRAME_HEADER_SIZE);
    put32(h, 0, PL_MD_FRAME_SIGNATURE);
    h[4] = l->header_version;
    put32(h, 5, t->frame_nr);
    put16(h, 9, l->header_roi_count);
    if (l->header_version >= 3) {
        put64(h, 11, (ulong64)t->bof_ns * 1000u);
        put64(h, 19, (ulong64)t->eof_ns * 1000u);
        put64(h, 27, (ulong64)llround(t->exposure_ns * 1000.0));
    } else {
        put32(h, 11, (uns32)(t->bof_ns / 1000));
        put32(h, 15, (uns32)(t->eof_ns / 1000));
        put32(h, 19, 1000); /* timestamps in µs */
        put32(h, 23, t->exposure_value);
        put32(h, 27, t->exposure_res_ns);
        put32(h, 31, 1000); /* ROI timestamps in µs */
    }
    h[35] = (uns8)l->bit_depth;
    h[36] = 0; /* no colour mask */
    /* v3 dropped the unit of the ROI timestamps, so they are only advertised for v1/v2. */
    h[37] = l->header_version < 3 ? PL_MD_FRAME_FLAG_ROI_TS_SUPPORTED : 0;
    put16(h, 38, 0); /* no frame-level extended metadata */
    if (l->header_version >= 2) {
        h[40] = (uns8)l->image_format;
        h[41] = PL_IMAGE_COMPRESSION_NONE;
    }
}

typedef struct roi_header {
    uns16 nr;
    rgn_type rgn;
    uns8 flags;
    uns16 ext_size;
    uns32 data_size;
} roi_header;

static void write_roi_header(uns8 *p, const frame_layout *l, const frame_timing *t,
                             const roi_header *rh) {
    memset(p, 0, MD_ROI_HEADER_SIZE);
    /* Rolling readout: the ROI's rows are read after the exposure, one line time per row. */
    double bor = (double)t->bof_ns + t->exposure_ns + (rh->rgn.p1 - l->first_row) * t->line_ns;
    double eor = bor + (rh->rgn.p2 - rh->rgn.p1 + 1) * t->line_ns;
    put16(p, 0, rh->nr);
    put32(p, 2, (uns32)(bor / 1000.0));
    put32(p, 6, (uns32)(eor / 1000.0));
    put_rgn(p, 10, &rh->rgn);
    p[22] = rh->flags;
    put16(p, 23, rh->ext_size);
    if (l->header_version >= 2) put32(p, 25, rh->data_size);
}

static size_t write_track_ext(uns8 *p, uns32 id, uns32 m0, uns32 m2) {
    p[0] = PL_MD_EXT_TAG_PARTICLE_ID;
    put32(p, 1, id);
    p[5] = PL_MD_EXT_TAG_PARTICLE_M0;
    put32(p, 6, m0);
    p[10] = PL_MD_EXT_TAG_PARTICLE_M2;
    put32(p, 11, m2);
    return MD_TRACK_EXT_SIZE;
}

static uns32 region_bytes(const rgn_type *r, uns32 bpp) {
    return pvsim_roi_width(r) * pvsim_roi_height(r) * bpp;
}

/* Particles: the brightest spots whose (2r+1)^2 patch lies inside the search region. */
static int cmp_brightness(const void *a, const void *b) {
    const spot *x = a, *y = b;
    if (x->peak_e != y->peak_e) return x->peak_e < y->peak_e ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int find_particles(const rgn_type *search, uns16 radius, spot *spots, int n, spot *out,
                          int max) {
    int found = 0;
    for (int i = 0; i < n; i++) {
        long x = lround(spots[i].x), y = lround(spots[i].y);
        if (x - radius >= search->s1 && x + radius <= search->s2 && y - radius >= search->p1 &&
            y + radius <= search->p2)
            out[found++] = spots[i];
    }
    qsort(out, (size_t)found, sizeof *out, cmp_brightness);
    return found < max ? found : max;
}

/* LOCATE candidates: the brightest spots whose centre lies in the search region, patch or not. */
static int find_candidates(const rgn_type *search, spot *spots, int n, spot *out, int max) {
    int found = 0;
    for (int i = 0; i < n; i++) {
        long x = lround(spots[i].x), y = lround(spots[i].y);
        if (x >= search->s1 && x <= search->s2 && y >= search->p1 && y <= search->p2)
            out[found++] = spots[i];
    }
    qsort(out, (size_t)found, sizeof *out, cmp_brightness);
    return found < max ? found : max;
}

static bool patch_fits(const spot *s, const rgn_type *search, uns16 r) {
    long x = lround(s->x), y = lround(s->y);
    return x - r >= search->s1 && x + r <= search->s2 && y - r >= search->p1 &&
           y + r <= search->p2;
}

static rgn_type patch_rgn(const spot *s, uns16 r) {
    uns16 x = (uns16)lround(s->x), y = (uns16)lround(s->y);
    rgn_type g = {(uns16)(x - r), (uns16)(x + r), 1, (uns16)(y - r), (uns16)(y + r), 1};
    return g;
}

static uns32 particle_m0(const spot *s, const frame_params *fp) {
    double m0 = s->peak_e * 2.0 * M_PI * s->sigma * s->sigma / fp->e_per_adu; /* Q22.0 */
    return m0 > 4194303.0 ? 4194303u : (uns32)lround(m0);
}

static uns32 particle_m2(const spot *s) {
    double m2 = s->sigma * s->sigma * 524288.0; /* Q3.19 */
    return m2 > 4194303.0 ? 4194303u : (uns32)lround(m2);
}

/* Store `n` summed values as little-endian containers of `bpp` bytes, clipped at `top`. */
static void store_sums(uns8 *dst, const uint32_t *sums, size_t n, uns32 bpp, uint32_t top) {
    for (size_t i = 0; i < n; i++) {
        uint32_t v = sums[i] > top ? top : sums[i];
        for (uns32 b = 0; b < bpp; b++) dst[i * bpp + b] = (uns8)(v >> (8 * b));
    }
}

/* Host frame summing: render each of the sum_count sensor frames of every region at the
 * sensor's container and add them up (saturating), then write the frame in the host format. */
static void write_summed_frame(const acq_setup *setup, const scene_state *scene,
                               const frame_params *fp, const frame_timing *t, uns8 *dst) {
    const frame_layout *l = &setup->layout;
    uns16 n = l->metadata ? l->n_rois : 1;
    size_t total = 0, largest = 0, offsets[PVSIM_MAX_USER_ROIS];
    for (uns16 i = 0; i < n; i++) {
        size_t px = (size_t)pvsim_roi_width(&l->rois[i]) * pvsim_roi_height(&l->rois[i]);
        offsets[i] = total;
        total += px;
        if (px > largest) largest = px;
    }
    uint32_t *sums = calloc(total ? total : 1, sizeof *sums);
    uns8 *scratch = malloc(largest ? largest * l->native_bpp : 1);
    spot *spots = malloc(PVSIM_MAX_SPOTS * sizeof *spots);
    if (sums != NULL && scratch != NULL && spots != NULL) {
        for (uns32 j = 0; j < fp->sum_count; j++) {
            frame_params sub = *fp;
            sub.frame_index = fp->frame_index * fp->sum_count + j;
            sub.t_s = (double)sub.frame_index * fp->sub_period_s;
            int n_spots = pvsim_scene_spots(scene, &sub, spots, PVSIM_MAX_SPOTS);
            for (uns16 i = 0; i < n; i++) {
                size_t px = (size_t)pvsim_roi_width(&l->rois[i]) * pvsim_roi_height(&l->rois[i]);
                pvsim_render_region(scene, &sub, spots, n_spots, &l->rois[i], l->native_bpp, i,
                                    scratch);
                uint32_t *acc = sums + offsets[i];
                for (size_t q = 0; q < px; q++) {
                    uint32_t v = l->native_bpp == 1 ? scratch[q]
                                                    : (uint32_t)(scratch[2 * q] | scratch[2 * q + 1] << 8);
                    acc[q] = acc[q] > UINT32_MAX - v ? UINT32_MAX : acc[q] + v;
                }
            }
        }
    }
    uns32 bpp = l->bytes_per_pixel;
    uint32_t top = l->bit_depth >= 32 ? UINT32_MAX : (1u << l->bit_depth) - 1;
    size_t off = 0;
    if (l->metadata) {
        write_frame_header(dst, l, t);
        off = MD_FRAME_HEADER_SIZE;
    }
    for (uns16 i = 0; i < n; i++) {
        size_t px = (size_t)pvsim_roi_width(&l->rois[i]) * pvsim_roi_height(&l->rois[i]);
        if (l->metadata) {
            roi_header rh = {(uns16)(i + 1), l->rois[i], 0, 0, (uns32)(px * bpp)};
            write_roi_header(dst + off, l, t, &rh);
            off += MD_ROI_HEADER_SIZE;
        }
        if (sums != NULL && scratch != NULL && spots != NULL)
            store_sums(dst + off, sums + offsets[i], px, bpp, top);
        else
            memset(dst + off, 0, px * bpp); /* out of memory: a black frame, never a crash */
        off += px * bpp;
    }
    free(sums);
    free(scratch);
    free(spots);
}

void pvsim_write_frame(const acq_setup *setup, const scene_state *scene, const frame_params *fp,
                       const frame_timing *t, uns8 *dst) {
    const frame_layout *l = &setup->layout;
    if (l->summing) {
        write_summed_frame(setup, scene, fp, t, dst);
        return;
    }
    uns32 bpp = l->bytes_per_pixel;
    spot spots[PVSIM_MAX_SPOTS];
    int n_spots = pvsim_scene_spots(scene, fp, spots, PVSIM_MAX_SPOTS);

    if (!l->metadata) {
        pvsim_render_region(scene, fp, spots, n_spots, &l->rois[0], bpp, 0, dst);
        return;
    }
    write_frame_header(dst, l, t);
    size_t off = MD_FRAME_HEADER_SIZE;
    if (l->centroid_mode < 0) {
        for (uns16 i = 0; i < l->n_rois; i++) {
            roi_header rh = {(uns16)(i + 1), l->rois[i], 0, 0, region_bytes(&l->rois[i], bpp)};
            write_roi_header(dst + off, l, t, &rh);
            off += MD_ROI_HEADER_SIZE;
            pvsim_render_region(scene, fp, spots, n_spots, &l->rois[i], bpp, i, dst + off);
            off += rh.data_size;
        }
        return;
    }

    const rgn_type *search = &l->rois[0];
    uns16 radius = l->centroid_radius;
    uns32 patch = 2u * radius + 1;
    spot particles[PVSIM_MAX_SPOTS];
    uns16 nr = 1;

    if (l->centroid_mode == PL_CENTROIDS_MODE_LOCATE) {
        int found = find_candidates(search, spots, n_spots, particles, l->centroid_count);
        for (uns32 i = 0; i < l->centroid_count; i++) {
            roi_header rh = {nr++, {0}, 0, 0, patch * patch * bpp};
            bool located = (int)i < found && patch_fits(&particles[i], search, radius);
            if (located) {
                rh.rgn = patch_rgn(&particles[i], radius);
            } else {
                /* No particle, or one at the edge: an INVALID ROI whose patch bytes are zero. */
                rgn_type g = {search->s1, (uns16)(search->s1 + patch - 1), 1, search->p1,
                              (uns16)(search->p1 + patch - 1), 1};
                rh.rgn = g;
                rh.flags = PL_MD_ROI_FLAG_INVALID;
            }
            write_roi_header(dst + off, l, t, &rh);
            off += MD_ROI_HEADER_SIZE;
            if (located)
                pvsim_render_region(scene, fp, spots, n_spots, &rh.rgn, bpp, i + 1, dst + off);
            else
                memset(dst + off, 0, rh.data_size);
            off += rh.data_size;
        }
        return;
    }
    int found = find_particles(search, radius, spots, n_spots, particles, l->centroid_count);

    bool track = l->centroid_mode == PL_CENTROIDS_MODE_TRACK;
    uns16 ext = track ? MD_TRACK_EXT_SIZE : 0;
    roi_header bg = {nr++, *search, 0, ext, region_bytes(search, bpp)};
    write_roi_header(dst + off, l, t, &bg);
    off += MD_ROI_HEADER_SIZE;
    if (track) off += write_track_ext(dst + off, 0, 0, 0); /* dummy values on the background */
    pvsim_render_region(scene, fp, spots, n_spots, search, bpp, 0, dst + off);
    off += bg.data_size;
    for (uns32 i = 0; i < l->centroid_count; i++) {
        roi_header rh = {nr++, {0}, PL_MD_ROI_FLAG_HEADER_ONLY, ext, 0};
        const spot *p = (int)i < found ? &particles[i] : NULL;
        if (p && track) {
            rh.rgn = patch_rgn(p, radius);
        } else if (p) {
            uns16 x = (uns16)lround(p->x), y = (uns16)lround(p->y);
            rgn_type g = {x, x, 1, y, y, 1};
            rh.rgn = g;
        } else {
            rgn_type g = {search->s1, search->s1, 1, search->p1, search->p1, 1};
            rh.rgn = g;
            rh.flags |= PL_MD_ROI_FLAG_INVALID;
        }
        rh.data_size = region_bytes(&rh.rgn, bpp); /* nominal, no pixels follow */
        write_roi_header(dst + off, l, t, &rh);
        off += MD_ROI_HEADER_SIZE;
        if (track) {
            off += p ? write_track_ext(dst + off, p->id, particle_m0(p, fp), particle_m2(p))
                     : write_track_ext(dst + off, 0, 0, 0);
        }
    }
}
