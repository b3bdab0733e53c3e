/* The simulated scene: moving Gaussian spots on a noisy background.
 *
 * Speed matters (a 3200 x 3200 16-bit frame every 12 ms on one core), so the background is not
 * drawn pixel by pixel from a random generator. A plane of 2^20 standard-normal samples is made
 * once per seed; before a frame it is rescaled to the frame's noise level (read noise plus the
 * shot noise of background and dark current, with the fractional part of the mean as dither),
 * and only when that level changed. Each output row then reads the plane at a pseudo-random
 * offset derived from (seed, frame, region, row), adds the integer mean and clips to the bit
 * depth: one add, two compares and a store per pixel. Spots are rendered afterwards into small
 * patches, with their own shot noise. Everything depends only on the seed, the frame index and
 * the settings, so frames are reproducible.
 */
#include "pvsim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NOISE_Q 4096.0f       /* unit noise is stored in Q12 */
#define NOISE_CLAMP 16384.0f  /* scaled noise bound in ADU (far above any simulated sigma) */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *state) {
    return (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

static uint32_t mix32(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return (uint32_t)x;
}

void pvsim_scene_free(scene_state *s) {
    free(s->unit_noise);
    free(s->scaled_noise);
    s->unit_noise = NULL;
    s->scaled_noise = NULL;
    s->ready = false;
}

int pvsim_scene_init(scene_state *s, const scene_config *cfg, uns16 width, uns16 height) {
    if (s->unit_noise == NULL) s->unit_noise = malloc(PVSIM_NOISE_LEN * sizeof(int16));
    if (s->scaled_noise == NULL) s->scaled_noise = malloc(PVSIM_NOISE_LEN * sizeof(int16));
    if (s->unit_noise == NULL || s->scaled_noise == NULL) {
        pvsim_scene_free(s);
        return 0;
    }
    s->cfg = *cfg;
    uint64_t rng = 0x5EEDull ^ ((uint64_t)cfg->seed << 17);
    for (uns32 i = 0; i < PVSIM_NOISE_LEN; i += 2) {
        /* Box-Muller: two independent normals per pair of uniforms. */
        double u1 = uniform01(&rng), u2 = uniform01(&rng);
        double r = sqrt(-2.0 * log(u1 > 1e-300 ? u1 : 1e-300));
        double a = r * cos(2 * M_PI * u2) * NOISE_Q, b = r * sin(2 * M_PI * u2) * NOISE_Q;
        s->unit_noise[i] = (int16)(a > 32767 ? 32767 : a < -32767 ? -32767 : a);
        s->unit_noise[i + 1] = (int16)(b > 32767 ? 32767 : b < -32767 ? -32767 : b);
    }
    for (int i = 0; i < cfg->n_spots; i++) {
        /* Each spot circles slowly around a home position (a Lissajous path). */
        double margin = 0.05;
        s->cx[i] = width * (margin + (1 - 2 * margin) * uniform01(&rng));
        s->cy[i] = height * (margin + (1 - 2 * margin) * uniform01(&rng));
        s->wx[i] = 0.3 + 0.7 * uniform01(&rng);
        s->wy[i] = 0.3 + 0.7 * uniform01(&rng);
        double amp = cfg->speed_px_per_s * (0.5 + uniform01(&rng));
        s->ax[i] = fmin(amp / s->wx[i], 0.2 * width);
        s->ay[i] = fmin(amp / s->wy[i], 0.2 * height);
        s->px[i] = 2 * M_PI * uniform01(&rng);
        s->py[i] = 2 * M_PI * uniform01(&rng);
        s->brightness[i] = i == 0 ? 1.0 : 0.3 + 0.7 * uniform01(&rng);
    }
    s->scaled_key_sigma = -1;
    s->scaled_key_frac = -1;
    s->ready = true;
    return 1;
}

static double frame_mean_adu(const frame_params *fp, double *sigma_adu) {
    double area = (double)fp->sbin * fp->pbin;
    double mean_e = fp->background_e * area;
    double var_e = area * (fp->read_noise_e * fp->read_noise_e + fp->background_e);
    *sigma_adu = sqrt(var_e) / fp->e_per_adu;
    return fp->bias_adu + mean_e / fp->e_per_adu;
}

int pvsim_scene_prepare(scene_state *s, const frame_params *fp) {
    double sigma;
    double mean = frame_mean_adu(fp, &sigma);
    double frac = mean - floor(mean);
    int32 key_sigma = (int32)lround(sigma * 64.0);
    int32 key_frac = (int32)lround(frac * 16.0);
    if (key_sigma == s->scaled_key_sigma && key_frac == s->scaled_key_frac) return 0;
    float scale = (float)(key_sigma / 64.0) / NOISE_Q;
    float offset = (float)(key_frac / 16.0) + 0.5f;
    const int16 *in = s->unit_noise;
    int16 *out = s->scaled_noise;
    for (uns32 i = 0; i < PVSIM_NOISE_LEN; i++) {
        float v = floorf((float)in[i] * scale + offset);
        out[i] = (int16)(v > NOISE_CLAMP ? NOISE_CLAMP : v < -NOISE_CLAMP ? -NOISE_CLAMP : v);
    }
    s->scaled_key_sigma = key_sigma;
    s->scaled_key_frac = key_frac;
    return 1;
}

int pvsim_scene_spots(const scene_state *s, const frame_params *fp, spot *out, int max) {
    int n = s->cfg.n_spots < max ? s->cfg.n_spots : max;
    double exposure_ms = fp->exposure_s * 1e3;
    for (int i = 0; i < n; i++) {
        out[i].x = s->cx[i] + s->ax[i] * sin(s->wx[i] * fp->t_s + s->px[i]);
        out[i].y = s->cy[i] + s->ay[i] * sin(s->wy[i] * fp->t_s + s->py[i]);
        out[i].peak_e = s->brightness[i] * s->cfg.peak_e_per_ms * exposure_ms;
        out[i].sigma = s->cfg.sigma_px;
        out[i].id = (uns32)i;
    }
    return n;
}

/* ---- pixel loops --------------------------------------------------------------------------- */

static void fill_u16(uint16_t *restrict o, const int16 *restrict n, uns32 w, int32 base,
                     int32 maxv) {
    for (uns32 x = 0; x < w; x++) {
        int32 v = base + n[x];
        v = v < 0 ? 0 : v;
        v = v > maxv ? maxv : v;
        o[x] = (uint16_t)v;
    }
}

/* 8-bit frames have small means and noise, so 16-bit lanes suffice (twice the lanes of the 32-bit
 * arithmetic above): the scaled plane is clamped to +-NOISE_CLAMP and the mean to 8 bits. */
static void fill_u8(uint8_t *restrict o, const int16 *restrict n, uns32 w, int32 base,
                    int32 maxv) {
    int16 b = (int16)(base > 255 ? 255 : base < -255 ? -255 : base);
    int16 m = (int16)maxv;
    for (uns32 x = 0; x < w; x++) {
        int16 v = (int16)(b + n[x]);
        v = v < 0 ? 0 : v;
        v = v > m ? m : v;
        o[x] = (uint8_t)v;
    }
}

static int32 load_px(const uns8 *p, uns32 bpp) {
    if (bpp == 1) return *p;
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static void store_px(uns8 *p, uns32 bpp, int32 v) {
    if (bpp == 1) {
        *p = (uint8_t)v;
    } else {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
    }
}

#define MAX_PATCH 1024

static void add_spot(const scene_state *s, const frame_params *fp, const spot *sp,
                     const rgn_type *r, uns32 w, uns32 h, uns32 bpp, uint64_t key, uns8 *dst) {
    double reach = 4.0 * sp->sigma + 1.0;
    double area = (double)r->sbin * r->pbin;
    /* Output pixels whose centres lie within reach of the spot centre. */
    double ox = r->s1 + (r->sbin - 1) / 2.0, oy = r->p1 + (r->pbin - 1) / 2.0;
    long i0 = (long)ceil((sp->x - reach - ox) / r->sbin), i1 = (long)floor((sp->x + reach - ox) / r->sbin);
    long j0 = (long)ceil((sp->y - reach - oy) / r->pbin), j1 = (long)floor((sp->y + reach - oy) / r->pbin);
    if (i0 < 0) i0 = 0;
    if (j0 < 0) j0 = 0;
    if (i1 >= (long)w) i1 = (long)w - 1;
    if (j1 >= (long)h) j1 = (long)h - 1;
    if (i0 > i1 || j0 > j1 || i1 - i0 >= MAX_PATCH || j1 - j0 >= MAX_PATCH) return;
    double gx[MAX_PATCH], gy[MAX_PATCH];
    double k = -1.0 / (2.0 * sp->sigma * sp->sigma);
    for (long i = i0; i <= i1; i++) {
        double d = ox + (double)i * r->sbin - sp->x;
        gx[i - i0] = exp(k * d * d);
    }
    for (long j = j0; j <= j1; j++) {
        double d = oy + (double)j * r->pbin - sp->y;
        gy[j - j0] = exp(k * d * d);
    }
    double scale = sp->peak_e * area;
    double inv = 1.0 / fp->e_per_adu;
    int32 maxv = (int32)fp->max_adu;
    for (long j = j0; j <= j1; j++) {
        for (long i = i0; i <= i1; i++) {
            double e = scale * gx[i - i0] * gy[j - j0];
            if (e < 0.05) continue;
            uint32_t hsh = mix32(key ^ ((uint64_t)sp->id << 40) ^ ((uint64_t)j << 20) ^ (uint64_t)i);
            double shot = sqrt(e) * s->unit_noise[hsh & (PVSIM_NOISE_LEN - 1)] / NOISE_Q;
            uns8 *p = dst + ((size_t)j * w + (size_t)i) * bpp;
            double v = load_px(p, bpp) + (e + shot) * inv;
            int32 iv = (int32)lround(v);
            store_px(p, bpp, iv < 0 ? 0 : iv > maxv ? maxv : iv);
        }
    }
}

void pvsim_render_region(const scene_state *s, const frame_params *fp, const spot *spots,
                         int n_spots, const rgn_type *r, uns32 bpp, uns32 salt, void *dst) {
    uns32 w = pvsim_roi_width(r), h = pvsim_roi_height(r);
    double sigma;
    double mean = frame_mean_adu(fp, &sigma);
    int32 base = (int32)floor(mean);
    int32 maxv = (int32)fp->max_adu;
    uint64_t key = ((uint64_t)s->cfg.seed << 32) ^ (fp->frame_index * 0x9E3779B97F4A7C15ull) ^
                   ((uint64_t)salt << 48);
    uns8 *out = dst;
    bool aligned = ((uintptr_t)out % bpp) == 0;
    uint16_t scratch[4096];
    for (uns32 y = 0; y < h; y++) {
        uns32 off = mix32(key + (uint64_t)y * 0xD1B54A32D192ED03ull) % (PVSIM_NOISE_LEN - w);
        const int16 *noise = s->scaled_noise + off;
        uns8 *row = out + (size_t)y * w * bpp;
        if (bpp == 1) {
            fill_u8(row, noise, w, base, maxv);
        } else if (aligned) {
            fill_u16((uint16_t *)(void *)row, noise, w, base, maxv);
        } else {
            /* Regions that follow an odd-sized extended-metadata block start at odd addresses. */
            for (uns32 x0 = 0; x0 < w; x0 += 4096) {
                uns32 n = w - x0 < 4096 ? w - x0 : 4096;
                fill_u16(scratch, noise + x0, n, base, maxv);
                memcpy(row + (size_t)x0 * 2, scratch, (size_t)n * 2);
            }
        }
    }
    for (int i = 0; i < n_spots; i++) add_spot(s, fp, &spots[i], r, w, h, bpp, key, out);
}
