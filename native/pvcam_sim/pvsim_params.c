/* Parameters: pl_get_param, pl_set_param, pl_get_enum_param, pl_enum_str_length.
 *
 * Each parameter is one row of a table: its ID (reference §3.3) and a function that describes
 * it for the camera's current state (type, access, availability, current/min/max/default/
 * increment/count, enumeration items), plus a setter for the writable ones. pl_get_param then
 * writes the requested attribute with the C type the TYPE attribute announces.
 */
#include "pvsim.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#define PARAM_CHIP_NAME 0x0D020081u
#define PARAM_VENDOR_NAME 0x0D020083u
#define PARAM_PRODUCT_NAME 0x0D020084u
#define PARAM_CAM_FW_VERSION 0x06020214u
#define PARAM_HEAD_SER_NUM_ALPHA 0x0D020215u
#define PARAM_EXPOSURE_TIME 0x08030008u
#define PARAM_EXP_RES 0x09030002u
#define PARAM_EXP_RES_INDEX 0x06030004u
#define PARAM_EXPOSURE_MODE 0x09020217u
#define PARAM_EXPOSE_OUT_MODE 0x09020230u
#define PARAM_CLEAR_MODE 0x0902020Bu
#define PARAM_READOUT_PORT 0x090200F7u
#define PARAM_SPDTAB_INDEX 0x01020201u
#define PARAM_SPDTAB_NAME 0x0D020203u
#define PARAM_GAIN_INDEX 0x01020200u
#define PARAM_GAIN_NAME 0x0D020202u
#define PARAM_PIX_TIME 0x06020204u
#define PARAM_BIT_DEPTH 0x010201FFu
#define PARAM_BIT_DEPTH_HOST 0x01020227u
#define PARAM_IMAGE_FORMAT 0x090200F8u
#define PARAM_IMAGE_FORMAT_HOST 0x09020228u
#define PARAM_IMAGE_COMPRESSION 0x090200F9u
#define PARAM_IMAGE_COMPRESSION_HOST 0x090200FDu
#define PARAM_SER_SIZE 0x0602003Au
#define PARAM_PAR_SIZE 0x06020039u
#define PARAM_PIX_SER_SIZE 0x0602003Eu
#define PARAM_PIX_PAR_SIZE 0x0602003Fu
#define PARAM_BINNING_SER 0x090300A5u
#define PARAM_BINNING_PAR 0x090300A6u
#define PARAM_ROI 0x14030001u
#define PARAM_ROI_COUNT 0x060300A9u
#define PARAM_METADATA_ENABLED 0x0B0300A8u
#define PARAM_CENTROIDS_ENABLED 0x0B0300AAu
#define PARAM_CENTROIDS_RADIUS 0x060300ABu
#define PARAM_CENTROIDS_COUNT 0x060300ACu
#define PARAM_CENTROIDS_MODE 0x090300ADu
#define PARAM_TEMP 0x0102020Du
#define PARAM_TEMP_SETPOINT 0x0102020Eu
#define PARAM_FAN_SPEED_SETPOINT 0x090202C6u
#define PARAM_CIRC_BUFFER 0x0B03012Bu
#define PARAM_FRAME_BUFFER_SIZE 0x0803012Cu
#define PARAM_READOUT_TIME 0x040200B3u
#define PARAM_COLOR_MODE 0x090201F8u
#define PARAM_HOST_FRAME_SUMMING_ENABLED 0x0B020102u
#define PARAM_HOST_FRAME_SUMMING_COUNT 0x07020103u
#define PARAM_HOST_FRAME_SUMMING_FORMAT 0x09020104u
#define SUMMING_COUNT_MAX 65535

/* Exposure limits, the same in every resolution. */
#define EXPOSURE_MIN_NS 1000.0
#define EXPOSURE_MAX_NS 3600e9
#define EXPOSURE_DEFAULT_NS 10e6
#define RECOMMENDED_BUFFER_FRAMES 16u

typedef struct param_info {
    uns16 type;
    uns16 access;
    bool avail;
    bool live; /* readable and writable while an acquisition runs */
    long64 cur, min, max, def, inc;
    const char *str;          /* CHAR_PTR value */
    const enum_item *items;   /* ENUM items */
    int n_items;
    rgn_type rgn, rgn_def;    /* RGN_TYPE value */
    pvsim_error value_error;  /* when set, value attributes fail with this code */
} param_info;

typedef struct param_desc {
    uns32 id;
    void (*describe)(const camera *c, param_info *p);
    pvsim_error (*set)(camera *c, long64 v);
} param_desc;

/* ---- helpers ------------------------------------------------------------------------------- */

double pvsim_exp_res_ns(int32 exp_res) {
    switch (exp_res) {
    case EXP_RES_ONE_MICROSEC: return 1e3;
    case EXP_RES_ONE_SEC: return 1e9;
    default: return 1e6;
    }
}

uns8 pvsim_effective_format(const camera *c, uns32 *bytes_per_pixel) {
    /* Header version 1 predates image formats: such cameras deliver 16-bit containers only. */
    int32 f = c->header_version == 1 ? PL_IMAGE_FORMAT_MONO16 : pvsim_speed(c)->image_format;
    if (bytes_per_pixel) *bytes_per_pixel = f == PL_IMAGE_FORMAT_MONO8 ? 1 : 2;
    return (uns8)f;
}

/* What PVCAM hands the host: the sensor's container, or with host frame summing the summing
 * format's (reference §2.3: 16, 24 or 32-bit containers for summed frames). */
uns8 pvsim_host_format(const camera *c, uns32 *bytes_per_pixel, int16 *bit_depth) {
    if (!c->summing) {
        if (bit_depth) *bit_depth = pvsim_gain(c)->bit_depth;
        return pvsim_effective_format(c, bytes_per_pixel);
    }
    static const uns8 formats[3] = {PL_IMAGE_FORMAT_MONO16, PL_IMAGE_FORMAT_MONO24,
                                    PL_IMAGE_FORMAT_MONO32};
    int i = c->sum_format >= 0 && c->sum_format <= 2 ? c->sum_format : 0;
    if (bytes_per_pixel) *bytes_per_pixel = (uns32)(2 + i);
    if (bit_depth) *bit_depth = (int16)(16 + 8 * i);
    return formats[i];
}

void pvsim_invalidate_setup(camera *c) { c->setup.valid = false; }

static void numeric(param_info *p, uns16 type, uns16 access, long64 cur, long64 min, long64 max,
                    long64 def) {
    p->type = type;
    p->access = access;
    p->avail = true;
    p->cur = cur;
    p->min = min;
    p->max = max;
    p->def = def;
    p->inc = 1;
}

static void enumerated(param_info *p, uns16 access, long64 cur, const enum_item *items, int n) {
    long64 lo = items[0].value, hi = items[0].value;
    for (int i = 1; i < n; i++) {
        if (items[i].value < lo) lo = items[i].value;
        if (items[i].value > hi) hi = items[i].value;
    }
    numeric(p, TYPE_ENUM, access, cur, lo, hi, items[0].value);
    p->items = items;
    p->n_items = n;
}

static void text(param_info *p, const char *s) {
    p->type = TYPE_CHAR_PTR;
    p->access = ACC_READ_ONLY;
    p->avail = true;
    p->str = s;
}

static void boolean(param_info *p, uns16 access, bool cur, bool def) {
    numeric(p, TYPE_BOOLEAN, access, cur, 0, 1, def);
}

static const frame_layout *setup_layout(const camera *c) {
    return c->setup.valid ? &c->setup.layout : NULL;
}

/* ---- describers ---------------------------------------------------------------------------- */

static void d_chip_name(const camera *c, param_info *p) { text(p, c->model->chip_name); }
static void d_vendor_name(const camera *c, param_info *p) {
    (void)c;
    text(p, "labkit simulation");
}
static void d_product_name(const camera *c, param_info *p) { text(p, c->model->name); }
static void d_serial(const camera *c, param_info *p) {
    text(p, c->index == 0 ? "PVSIM-KX-0001" : "PVSIM-BSI-0001");
}
static void d_fw_version(const camera *c, param_info *p) {
    numeric(p, TYPE_UNS16, ACC_READ_ONLY, c->model->fw_version, c->model->fw_version,
            c->model->fw_version, c->model->fw_version);
}

static void d_exposure_time(const camera *c, param_info *p) {
    double res = pvsim_exp_res_ns(c->exp_res);
    long64 min = (long64)ceil(EXPOSURE_MIN_NS / res);
    long64 max = (long64)floor(EXPOSURE_MAX_NS / res);
    long64 def = (long64)llround(EXPOSURE_DEFAULT_NS / res);
    if (def < min) def = min;
    long64 cur = c->setup.kind ? (long64)llround(c->setup.exposure_ns / res) : def;
    numeric(p, TYPE_UNS64, ACC_READ_ONLY, cur, min, max, def);
}

static void d_exp_res(const camera *c, param_info *p) {
    enumerated(p, ACC_READ_WRITE, c->exp_res, c->model->exp_res, c->model->n_exp_res);
}
static pvsim_error s_exp_res(camera *c, long64 v) {
    c->exp_res = (int32)v;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_exp_res_index(const camera *c, param_info *p) {
    long64 cur = 0;
    for (int i = 0; i < c->model->n_exp_res; i++)
        if (c->model->exp_res[i].value == c->exp_res) cur = i;
    numeric(p, TYPE_UNS16, ACC_READ_WRITE, cur, 0, c->model->n_exp_res - 1, 0);
}
static pvsim_error s_exp_res_index(camera *c, long64 v) {
    return s_exp_res(c, c->model->exp_res[v].value);
}

static void d_exposure_mode(const camera *c, param_info *p) {
    long64 cur = c->setup.kind ? c->setup.trigger_mode : c->model->exposure_modes[0].value;
    enumerated(p, ACC_READ_ONLY, cur, c->model->exposure_modes, c->model->n_exposure_modes);
}

static void d_expose_out(const camera *c, param_info *p) {
    enumerated(p, ACC_READ_WRITE, c->expose_out, c->model->expose_out_modes,
               c->model->n_expose_out_modes);
}
static pvsim_error s_expose_out(camera *c, long64 v) {
    c->expose_out = (int32)v;
    return PVSIM_E_NONE;
}

static void d_clear_mode(const camera *c, param_info *p) {
    enumerated(p, ACC_READ_WRITE, c->clear_mode, c->model->clear_modes, c->model->n_clear_modes);
}
static pvsim_error s_clear_mode(camera *c, long64 v) {
    c->clear_mode = (int32)v;
    return PVSIM_E_NONE;
}

static enum_item port_items[PVSIM_N_CAMERAS][4];

static void d_readout_port(const camera *c, param_info *p) {
    /* The port names live in the model; build the item list once per camera. */
    enum_item *items = port_items[c->index];
    for (int i = 0; i < c->model->n_ports; i++) {
        items[i].value = i;
        items[i].name = c->model->ports[i].name;
    }
    enumerated(p, ACC_READ_WRITE, c->port, items, c->model->n_ports);
}
static pvsim_error s_readout_port(camera *c, long64 v) {
    c->port = (int32)v;
    c->speed = 0;
    c->gain = 1;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_spdtab_index(const camera *c, param_info *p) {
    numeric(p, TYPE_INT16, ACC_READ_WRITE, c->speed, 0,
            c->model->ports[c->port].n_speeds - 1, 0);
}
static pvsim_error s_spdtab_index(camera *c, long64 v) {
    c->speed = (int16)v;
    c->gain = 1; /* setting the speed resets the gain (reference §3.5) */
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}
static void d_spdtab_name(const camera *c, param_info *p) { text(p, pvsim_speed(c)->name); }

static void d_gain_index(const camera *c, param_info *p) {
    numeric(p, TYPE_INT16, ACC_READ_WRITE, c->gain, 1, pvsim_speed(c)->n_gains, 1);
}
static pvsim_error s_gain_index(camera *c, long64 v) {
    c->gain = (int16)v;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}
static void d_gain_name(const camera *c, param_info *p) { text(p, pvsim_gain(c)->name); }

static void d_pix_time(const camera *c, param_info *p) {
    uns16 t = pvsim_speed(c)->pix_time_ns;
    numeric(p, TYPE_UNS16, ACC_READ_ONLY, t, t, t, t);
}

static void d_bit_depth(const camera *c, param_info *p) {
    int16 b = pvsim_gain(c)->bit_depth;
    numeric(p, TYPE_INT16, ACC_READ_ONLY, b, b, b, b);
}

static void d_image_format(const camera *c, param_info *p) {
    enumerated(p, ACC_READ_ONLY, pvsim_effective_format(c, NULL), c->model->image_formats,
               c->model->n_image_formats);
}

static enum_item host_format_items[PVSIM_N_CAMERAS][6];

static void d_bit_depth_host(const camera *c, param_info *p) {
    int16 b;
    pvsim_host_format(c, NULL, &b);
    numeric(p, TYPE_INT16, ACC_READ_ONLY, b, b, b, b);
}

static void d_image_format_host(const camera *c, param_info *p) {
    /* The sensor's containers, and the ones host frame summing produces. */
    enum_item *items = host_format_items[c->index];
    int n = 0;
    for (int i = 0; i < c->model->n_image_formats; i++) items[n++] = c->model->image_formats[i];
    items[n++] = (enum_item){PL_IMAGE_FORMAT_MONO24, "Mono 24-bit"};
    items[n++] = (enum_item){PL_IMAGE_FORMAT_MONO32, "Mono 32-bit"};
    enumerated(p, ACC_READ_ONLY, pvsim_host_format(c, NULL, NULL), items, n);
}

static void d_summing(const camera *c, param_info *p) {
    boolean(p, ACC_READ_WRITE, c->summing, false);
}
static pvsim_error s_summing(camera *c, long64 v) {
    c->summing = v != 0;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_summing_count(const camera *c, param_info *p) {
    numeric(p, TYPE_UNS32, ACC_READ_WRITE, c->sum_count, 1, SUMMING_COUNT_MAX, 1);
}
static pvsim_error s_summing_count(camera *c, long64 v) {
    c->sum_count = (uns32)v;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_summing_format(const camera *c, param_info *p) {
    enumerated(p, ACC_READ_WRITE, c->sum_format, pvsim_summing_formats, 3);
}
static pvsim_error s_summing_format(camera *c, long64 v) {
    c->sum_format = (int32)v;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_compression(const camera *c, param_info *p) {
    (void)c;
    enumerated(p, ACC_READ_ONLY, PL_IMAGE_COMPRESSION_NONE, pvsim_compressions, 1);
}

static void d_ser_size(const camera *c, param_info *p) {
    uns16 v = c->model->width;
    numeric(p, TYPE_UNS16, ACC_READ_ONLY, v, v, v, v);
}
static void d_par_size(const camera *c, param_info *p) {
    uns16 v = c->model->height;
    numeric(p, TYPE_UNS16, ACC_READ_ONLY, v, v, v, v);
}
static void d_pix_size(const camera *c, param_info *p) {
    uns16 v = c->model->pixel_nm;
    numeric(p, TYPE_UNS16, ACC_READ_ONLY, v, v, v, v);
}

static void d_binning_ser(const camera *c, param_info *p) {
    const frame_layout *l = setup_layout(c);
    enumerated(p, ACC_READ_ONLY, l ? l->rois[0].sbin : 1, c->model->binnings,
               c->model->n_binnings);
}
static void d_binning_par(const camera *c, param_info *p) {
    const frame_layout *l = setup_layout(c);
    enumerated(p, ACC_READ_ONLY, l ? l->rois[0].pbin : 1, c->model->binnings,
               c->model->n_binnings);
}

static void d_roi(const camera *c, param_info *p) {
    const frame_layout *l = setup_layout(c);
    p->type = TYPE_RGN_TYPE;
    p->access = ACC_READ_ONLY;
    p->avail = true;
    rgn_type full = {0, (uns16)(c->model->width - 1), 1, 0, (uns16)(c->model->height - 1), 1};
    p->rgn_def = full;
    p->rgn = l ? l->rois[0] : full;
}

static void d_roi_count(const camera *c, param_info *p) {
    const frame_layout *l = setup_layout(c);
    numeric(p, TYPE_UNS16, ACC_READ_ONLY, l ? l->n_rois : 1, 1, c->model->max_rois, 1);
}

static void d_metadata(const camera *c, param_info *p) {
    boolean(p, ACC_READ_WRITE, c->metadata, false);
}
static pvsim_error s_metadata(camera *c, long64 v) {
    c->metadata = v != 0;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_centroids(const camera *c, param_info *p) {
    boolean(p, ACC_READ_WRITE, c->centroids, false);
}
static pvsim_error s_centroids(camera *c, long64 v) {
    c->centroids = v != 0;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_centroid_radius(const camera *c, param_info *p) {
    numeric(p, TYPE_UNS16, ACC_READ_WRITE, c->centroid_radius, 1, c->model->max_centroid_radius,
            2);
}
static pvsim_error s_centroid_radius(camera *c, long64 v) {
    c->centroid_radius = (uns16)v;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_centroid_count(const camera *c, param_info *p) {
    numeric(p, TYPE_UNS16, ACC_READ_WRITE, c->centroid_count, 1, c->model->max_centroids, 10);
}
static pvsim_error s_centroid_count(camera *c, long64 v) {
    c->centroid_count = (uns16)v;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_centroid_mode(const camera *c, param_info *p) {
    enumerated(p, ACC_READ_WRITE, c->centroid_mode, pvsim_centroid_modes, 3);
}
static pvsim_error s_centroid_mode(camera *c, long64 v) {
    c->centroid_mode = (int32)v;
    pvsim_invalidate_setup(c);
    return PVSIM_E_NONE;
}

static void d_temp(const camera *c, param_info *p) {
    long64 t = (long64)llround(pvsim_temperature_c(c) * 100.0);
    numeric(p, TYPE_INT16, ACC_READ_ONLY, t, -5000, 5000, 2500);
    p->live = true;
}

static void d_temp_setpoint(const camera *c, param_info *p) {
    numeric(p, TYPE_INT16, ACC_READ_WRITE, c->setpoint, c->model->setpoint_min,
            c->model->setpoint_max, c->model->setpoint_default);
    p->live = true;
}
static pvsim_error s_temp_setpoint(camera *c, long64 v) {
    pvsim_set_setpoint(c, (int16)v);
    return PVSIM_E_NONE;
}

static void d_fan(const camera *c, param_info *p) {
    enumerated(p, ACC_READ_WRITE, c->fan, pvsim_fan_speeds, 4);
    p->live = true;
}
static pvsim_error s_fan(camera *c, long64 v) {
    pvsim_thermal_rebase(c);
    c->fan = (int32)v;
    return PVSIM_E_NONE;
}

static void d_circ_buffer(const camera *c, param_info *p) {
    (void)c;
    boolean(p, ACC_READ_ONLY, true, true);
}

static void d_frame_buffer_size(const camera *c, param_info *p) {
    const frame_layout *l = setup_layout(c);
    numeric(p, TYPE_UNS64, ACC_READ_ONLY, 0, 0, 0, 0);
    if (l == NULL) {
        p->value_error = PVSIM_E_ACQUISITION_SETUP_REQUIRED;
        return;
    }
    long64 frame = l->frame_bytes;
    long64 max_frames = (long64)(UINT32_MAX / (uns32)frame);
    long64 rec = max_frames < RECOMMENDED_BUFFER_FRAMES ? max_frames : RECOMMENDED_BUFFER_FRAMES;
    long64 cur = c->setup.kind == 1 ? frame * c->setup.frames : frame * rec;
    numeric(p, TYPE_UNS64, ACC_READ_ONLY, cur, frame, frame * max_frames, frame * rec);
    p->inc = frame;
}

static void d_readout_time(const camera *c, param_info *p) {
    /* The ID says FLT64 but the value is an uns32 in microseconds (reference §3.3); the TYPE
     * attribute reports what is actually written. */
    double ns;
    const frame_layout *l = setup_layout(c);
    if (l)
        ns = c->setup.readout_ns;
    else
        ns = pvsim_speed(c)->line_time_ns * c->model->height;
    long64 us = (long64)llround(ns / 1000.0);
    numeric(p, TYPE_UNS32, ACC_READ_ONLY, us, us, us, us);
}

static void d_color_mode(const camera *c, param_info *p) {
    (void)c;
    p->type = TYPE_ENUM;
    p->access = ACC_READ_ONLY;
    p->avail = false; /* a monochrome sensor */
}

static const param_desc params[] = {
    {PARAM_CHIP_NAME, d_chip_name, NULL},
    {PARAM_VENDOR_NAME, d_vendor_name, NULL},
    {PARAM_PRODUCT_NAME, d_product_name, NULL},
    {PARAM_HEAD_SER_NUM_ALPHA, d_serial, NULL},
    {PARAM_CAM_FW_VERSION, d_fw_version, NULL},
    {PARAM_EXPOSURE_TIME, d_exposure_time, NULL},
    {PARAM_EXP_RES, d_exp_res, s_exp_res},
    {PARAM_EXP_RES_INDEX, d_exp_res_index, s_exp_res_index},
    {PARAM_EXPOSURE_MODE, d_exposure_mode, NULL},
    {PARAM_EXPOSE_OUT_MODE, d_expose_out, s_expose_out},
    {PARAM_CLEAR_MODE, d_clear_mode, s_clear_mode},
    {PARAM_READOUT_PORT, d_readout_port, s_readout_port},
    {PARAM_SPDTAB_INDEX, d_spdtab_index, s_spdtab_index},
    {PARAM_SPDTAB_NAME, d_spdtab_name, NULL},
    {PARAM_GAIN_INDEX, d_gain_index, s_gain_index},
    {PARAM_GAIN_NAME, d_gain_name, NULL},
    {PARAM_PIX_TIME, d_pix_time, NULL},
    {PARAM_BIT_DEPTH, d_bit_depth, NULL},
    {PARAM_BIT_DEPTH_HOST, d_bit_depth_host, NULL},
    {PARAM_IMAGE_FORMAT, d_image_format, NULL},
    {PARAM_IMAGE_FORMAT_HOST, d_image_format_host, NULL},
    {PARAM_IMAGE_COMPRESSION, d_compression, NULL},
    {PARAM_IMAGE_COMPRESSION_HOST, d_compression, NULL},
    {PARAM_SER_SIZE, d_ser_size, NULL},
    {PARAM_PAR_SIZE, d_par_size, NULL},
    {PARAM_PIX_SER_SIZE, d_pix_size, NULL},
    {PARAM_PIX_PAR_SIZE, d_pix_size, NULL},
    {PARAM_BINNING_SER, d_binning_ser, NULL},
    {PARAM_BINNING_PAR, d_binning_par, NULL},
    {PARAM_ROI, d_roi, NULL},
    {PARAM_ROI_COUNT, d_roi_count, NULL},
    {PARAM_METADATA_ENABLED, d_metadata, s_metadata},
    {PARAM_CENTROIDS_ENABLED, d_centroids, s_centroids},
    {PARAM_CENTROIDS_RADIUS, d_centroid_radius, s_centroid_radius},
    {PARAM_CENTROIDS_COUNT, d_centroid_count, s_centroid_count},
    {PARAM_CENTROIDS_MODE, d_centroid_mode, s_centroid_mode},
    {PARAM_TEMP, d_temp, NULL},
    {PARAM_TEMP_SETPOINT, d_temp_setpoint, s_temp_setpoint},
    {PARAM_FAN_SPEED_SETPOINT, d_fan, s_fan},
    {PARAM_CIRC_BUFFER, d_circ_buffer, NULL},
    {PARAM_FRAME_BUFFER_SIZE, d_frame_buffer_size, NULL},
    {PARAM_READOUT_TIME, d_readout_time, NULL},
    {PARAM_COLOR_MODE, d_color_mode, NULL},
    {PARAM_HOST_FRAME_SUMMING_ENABLED, d_summing, s_summing},
    {PARAM_HOST_FRAME_SUMMING_COUNT, d_summing_count, s_summing_count},
    {PARAM_HOST_FRAME_SUMMING_FORMAT, d_summing_format, s_summing_format},
};

static const param_desc *find_param(uns32 id) {
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (params[i].id == id) return &params[i];
    return NULL;
}

/* ---- value transfer ------------------------------------------------------------------------ */

static void write_number(uns16 type, long64 v, void *out) {
    switch (type) {
    case TYPE_INT8: { int8 x = (int8)v; memcpy(out, &x, sizeof x); break; }
    case TYPE_UNS8: { uns8 x = (uns8)v; memcpy(out, &x, sizeof x); break; }
    case TYPE_INT16: { int16 x = (int16)v; memcpy(out, &x, sizeof x); break; }
    case TYPE_UNS16:
    case TYPE_BOOLEAN: { uns16 x = (uns16)v; memcpy(out, &x, sizeof x); break; }
    case TYPE_INT32:
    case TYPE_ENUM: { int32 x = (int32)v; memcpy(out, &x, sizeof x); break; }
    case TYPE_UNS32: { uns32 x = (uns32)v; memcpy(out, &x, sizeof x); break; }
    case TYPE_INT64: { long64 x = v; memcpy(out, &x, sizeof x); break; }
    case TYPE_UNS64: { ulong64 x = (ulong64)v; memcpy(out, &x, sizeof x); break; }
    default: break;
    }
}

static long64 read_number(uns16 type, const void *in) {
    switch (type) {
    case TYPE_INT8: { int8 x; memcpy(&x, in, sizeof x); return x; }
    case TYPE_UNS8: { uns8 x; memcpy(&x, in, sizeof x); return x; }
    case TYPE_INT16: { int16 x; memcpy(&x, in, sizeof x); return x; }
    case TYPE_UNS16: { uns16 x; memcpy(&x, in, sizeof x); return x; }
    case TYPE_BOOLEAN: { uns16 x; memcpy(&x, in, sizeof x); return x != 0; }
    case TYPE_INT32:
    case TYPE_ENUM: { int32 x; memcpy(&x, in, sizeof x); return x; }
    case TYPE_UNS32: { uns32 x; memcpy(&x, in, sizeof x); return x; }
    case TYPE_INT64: { long64 x; memcpy(&x, in, sizeof x); return x; }
    case TYPE_UNS64: {
        ulong64 x;
        memcpy(&x, in, sizeof x);
        return x > (ulong64)LLONG_MAX ? LLONG_MAX : (long64)x;
    }
    default: return 0;
    }
}

static uns32 value_count(const param_info *p) {
    switch (p->type) {
    case TYPE_ENUM: return (uns32)p->n_items;
    case TYPE_CHAR_PTR: return (uns32)strlen(p->str) + 1;
    case TYPE_RGN_TYPE: return 1;
    default: {
        long64 n = (p->max - p->min) / (p->inc > 0 ? p->inc : 1) + 1;
        return n > (long64)UINT32_MAX ? UINT32_MAX : (uns32)n;
    }
    }
}

static rs_bool get_locked(camera *c, uns32 id, int16 attr, void *value) {
    const param_desc *d = find_param(id);
    param_info p = {0};
    if (d) d->describe(c, &p);
    if (attr == ATTR_AVAIL) {
        rs_bool avail = (d && p.avail) ? 1 : 0;
        memcpy(value, &avail, sizeof avail);
        return PV_OK;
    }
    if (d == NULL) return pvsim_fail(PVSIM_E_PARAM_NOT_SUPPORTED);
    if (!p.avail) return pvsim_fail(PVSIM_E_PARAM_NOT_AVAILABLE);
    switch (attr) {
    case ATTR_TYPE: write_number(TYPE_UNS16, p.type, value); return PV_OK;
    case ATTR_ACCESS: write_number(TYPE_UNS16, p.access, value); return PV_OK;
    case ATTR_LIVE: write_number(TYPE_BOOLEAN, p.live, value); return PV_OK;
    case ATTR_COUNT:
    case ATTR_CURRENT:
    case ATTR_DEFAULT:
    case ATTR_MIN:
    case ATTR_MAX:
    case ATTR_INCREMENT: break;
    default: return pvsim_fail(PVSIM_E_UNKNOWN_ATTRIBUTE);
    }
    if (p.value_error) return pvsim_fail(p.value_error);
    if (attr == ATTR_COUNT) {
        write_number(TYPE_UNS32, value_count(&p), value);
        return PV_OK;
    }
    if (p.type == TYPE_CHAR_PTR || p.type == TYPE_RGN_TYPE) {
        if (attr != ATTR_CURRENT && attr != ATTR_DEFAULT)
            return pvsim_fail(PVSIM_E_INVALID_ATTRIBUTE);
        if (p.type == TYPE_CHAR_PTR)
            memcpy(value, p.str, strlen(p.str) + 1);
        else
            memcpy(value, attr == ATTR_CURRENT ? &p.rgn : &p.rgn_def, sizeof(rgn_type));
        return PV_OK;
    }
    long64 v = attr == ATTR_CURRENT ? p.cur
             : attr == ATTR_DEFAULT ? p.def
             : attr == ATTR_MIN     ? p.min
             : attr == ATTR_MAX     ? p.max
                                    : p.inc;
    write_number(p.type, v, value);
    return PV_OK;
}

PVSIM_EXPORT rs_bool pl_get_param(int16 hcam, uns32 param_id, int16 param_attribute,
                                  void *param_value) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = param_value ? get_locked(c, param_id, param_attribute, param_value)
                             : pvsim_fail(PVSIM_E_NULL_POINTER);
    pvsim_unlock(c);
    return ok;
}

static rs_bool set_locked(camera *c, uns32 id, const void *value) {
    const param_desc *d = find_param(id);
    if (d == NULL) return pvsim_fail(PVSIM_E_PARAM_NOT_SUPPORTED);
    param_info p = {0};
    d->describe(c, &p);
    if (!p.avail) return pvsim_fail(PVSIM_E_PARAM_NOT_AVAILABLE);
    if (p.access != ACC_READ_WRITE && p.access != ACC_WRITE_ONLY)
        return pvsim_fail(PVSIM_E_PARAM_READ_ONLY);
    if (c->acq.running && !p.live) return pvsim_fail(PVSIM_E_ACQUISITION_IN_PROGRESS);
    long64 v = read_number(p.type, value);
    if (p.type == TYPE_ENUM) {
        bool found = false;
        for (int i = 0; i < p.n_items; i++) found = found || p.items[i].value == v;
        if (!found) return pvsim_fail(PVSIM_E_ENUM_VALUE_INVALID);
    } else if (v < p.min || v > p.max || (v - p.min) % p.inc != 0) {
        return pvsim_fail(PVSIM_E_VALUE_OUT_OF_RANGE);
    }
    pvsim_error err = d->set(c, v);
    return err ? pvsim_fail(err) : PV_OK;
}

PVSIM_EXPORT rs_bool pl_set_param(int16 hcam, uns32 param_id, void *param_value) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = param_value ? set_locked(c, param_id, param_value)
                             : pvsim_fail(PVSIM_E_NULL_POINTER);
    pvsim_unlock(c);
    return ok;
}

/* Looks up enumeration item `index`; records the error and returns NULL when there is none. */
static const enum_item *enum_item_locked(camera *c, uns32 id, uns32 index) {
    const param_desc *d = find_param(id);
    if (d == NULL) {
        pvsim_fail(PVSIM_E_PARAM_NOT_SUPPORTED);
        return NULL;
    }
    param_info p = {0};
    d->describe(c, &p);
    if (!p.avail) {
        pvsim_fail(PVSIM_E_PARAM_NOT_AVAILABLE);
        return NULL;
    }
    if (p.type != TYPE_ENUM) {
        pvsim_fail(PVSIM_E_PARAM_NOT_ENUM);
        return NULL;
    }
    if (index >= (uns32)p.n_items) {
        pvsim_fail(PVSIM_E_ENUM_INDEX_OUT_OF_RANGE);
        return NULL;
    }
    return &p.items[index];
}

PVSIM_EXPORT rs_bool pl_get_enum_param(int16 hcam, uns32 param_id, uns32 index, int32 *value,
                                       char *desc, uns32 length) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_FAIL;
    if (value == NULL || desc == NULL) {
        pvsim_fail(PVSIM_E_NULL_POINTER);
    } else {
        const enum_item *item = enum_item_locked(c, param_id, index);
        if (item && strlen(item->name) + 1 > length) {
            pvsim_fail(PVSIM_E_BUFFER_TOO_SMALL);
        } else if (item) {
            *value = item->value;
            memcpy(desc, item->name, strlen(item->name) + 1);
            ok = PV_OK;
        }
    }
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pl_enum_str_length(int16 hcam, uns32 param_id, uns32 index,
                                        uns32 *length) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_FAIL;
    if (length == NULL) {
        pvsim_fail(PVSIM_E_NULL_POINTER);
    } else {
        const enum_item *item = enum_item_locked(c, param_id, index);
        if (item) {
            *length = (uns32)strlen(item->name) + 1;
            ok = PV_OK;
        }
    }
    pvsim_unlock(c);
    return ok;
}
