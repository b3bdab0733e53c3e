/* Internal declarations of labkit's simulated libpvcam.
 *
 * The simulated library exports PVCAM's C entry points with their exact signatures so that
 * labkit's ctypes binding loads it by path exactly like the vendor's libpvcam. Every fact it
 * follows (types, parameter IDs, metadata layout) comes from labkit's reference notes
 * (docs: /work/shared/reference/pvcam-frames.md); nothing here is taken from the vendor SDK.
 *
 * Layout of the sources:
 *   pvsim_errors.c   error codes and messages, the thread-local last error
 *   pvsim_models.c   the two simulated cameras (sensor, ports, speeds, gains, enumerations)
 *   pvsim_camera.c   library init, camera enumeration, open/close, callbacks, temperature
 *   pvsim_params.c   pl_get_param / pl_set_param / enumerations
 *   pvsim_layout.c   frame size and the packed metadata layout written into each frame
 *   pvsim_scene.c    the rendered scene: noise planes, moving Gaussian spots
 *   pvsim_acq.c      sequences, circular buffers, the acquisition thread
 *   pvsim_control.c  the pvsim_* control functions (scene, faults, header version...)
 */
#ifndef PVSIM_H
#define PVSIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PVSIM_EXPORT __attribute__((visibility("default")))

/* ---- PVCAM scalar types (reference §0) ---------------------------------------------------- */
typedef uint16_t rs_bool;
typedef int8_t int8;
typedef uint8_t uns8;
typedef int16_t int16;
typedef uint16_t uns16;
typedef int32_t int32;
typedef uint32_t uns32;
typedef int64_t long64;
typedef uint64_t ulong64;
typedef double flt64;

#define PV_OK 1
#define PV_FAIL 0

#define CAM_NAME_LEN 32
#define ERROR_MSG_LEN 255

typedef struct rgn_type {
    uns16 s1, s2, sbin, p1, p2, pbin;
} rgn_type;

typedef struct PVCAM_FRAME_INFO_GUID {
    uns32 f1;
    uns16 f2;
    uns16 f3;
    uns8 f4[8];
} PVCAM_FRAME_INFO_GUID;

/* Not packed: 48 bytes on x86-64 (reference §3.1). */
typedef struct FRAME_INFO {
    PVCAM_FRAME_INFO_GUID FrameInfoGUID;
    int16 hCam;
    int32 FrameNr;
    long64 TimeStamp;
    int32 ReadoutTime;
    long64 TimeStampBOF;
} FRAME_INFO;

typedef void (*pvsim_callback_fn)(const FRAME_INFO *info, void *context);

/* ---- enumerations and codes (reference §3) ------------------------------------------------ */
enum { ATTR_CURRENT, ATTR_COUNT, ATTR_TYPE, ATTR_MIN, ATTR_MAX, ATTR_DEFAULT, ATTR_INCREMENT,
       ATTR_ACCESS, ATTR_AVAIL, ATTR_LIVE };
enum { ACC_READ_ONLY = 1, ACC_READ_WRITE = 2, ACC_EXIST_CHECK_ONLY = 3, ACC_WRITE_ONLY = 4 };
enum { TYPE_INT16 = 1, TYPE_INT32 = 2, TYPE_FLT64 = 4, TYPE_UNS8 = 5, TYPE_UNS16 = 6,
       TYPE_UNS32 = 7, TYPE_UNS64 = 8, TYPE_ENUM = 9, TYPE_BOOLEAN = 11, TYPE_INT8 = 12,
       TYPE_CHAR_PTR = 13, TYPE_INT64 = 16, TYPE_RGN_TYPE = 20 };

enum { PL_CALLBACK_BOF, PL_CALLBACK_EOF, PL_CALLBACK_CHECK_CAMS, PL_CALLBACK_CAM_REMOVED,
       PL_CALLBACK_CAM_RESUMED, PL_CALLBACK_MAX };

enum { READOUT_NOT_ACTIVE, EXPOSURE_IN_PROGRESS, READOUT_IN_PROGRESS, READOUT_COMPLETE,
       READOUT_FAILED, ACQUISITION_IN_PROGRESS };
#define FRAME_AVAILABLE READOUT_COMPLETE

enum { CIRC_NONE, CIRC_OVERWRITE, CIRC_NO_OVERWRITE };
enum { CCS_NO_CHANGE, CCS_HALT, CCS_HALT_CLOSE_SHTR, CCS_CLEAR, CCS_CLEAR_CLOSE_SHTR,
       CCS_OPEN_SHTR, CCS_CLEAR_OPEN_SHTR };
enum { PL_SW_TRIG_STATUS_TRIGGERED = 0, PL_SW_TRIG_STATUS_IGNORED = 1 };

enum { TIMED_MODE = 0, EXT_TRIG_INTERNAL = 1792, EXT_TRIG_TRIG_FIRST = 2048,
       EXT_TRIG_EDGE_RISING = 2304, EXT_TRIG_LEVEL = 2560, EXT_TRIG_SOFTWARE_FIRST = 2816,
       EXT_TRIG_SOFTWARE_EDGE = 3072, EXT_TRIG_LEVEL_OVERLAP = 3328,
       EXT_TRIG_LEVEL_PULSED = 3584 };
enum { EXPOSE_OUT_FIRST_ROW, EXPOSE_OUT_ALL_ROWS, EXPOSE_OUT_ANY_ROW,
       EXPOSE_OUT_ROLLING_SHUTTER, EXPOSE_OUT_LINE_TRIGGER, EXPOSE_OUT_GLOBAL_SHUTTER };
enum { EXP_RES_ONE_MILLISEC, EXP_RES_ONE_MICROSEC, EXP_RES_ONE_SEC };
enum { FAN_SPEED_HIGH, FAN_SPEED_MEDIUM, FAN_SPEED_LOW, FAN_SPEED_OFF };
enum { PL_IMAGE_FORMAT_MONO16 = 0, PL_IMAGE_FORMAT_MONO8 = 2, PL_IMAGE_FORMAT_MONO24 = 4,
       PL_IMAGE_FORMAT_MONO32 = 9 };
enum { PL_FRAME_SUMMING_FORMAT_16_BIT, PL_FRAME_SUMMING_FORMAT_24_BIT,
       PL_FRAME_SUMMING_FORMAT_32_BIT };
enum { PL_IMAGE_COMPRESSION_NONE = 0 };
enum { PL_CENTROIDS_MODE_LOCATE, PL_CENTROIDS_MODE_TRACK, PL_CENTROIDS_MODE_BLOB };

/* Metadata (reference §1) */
#define PL_MD_FRAME_SIGNATURE 0x00514D50u
#define PL_MD_FRAME_FLAG_ROI_TS_SUPPORTED 0x01
#define PL_MD_ROI_FLAG_INVALID 0x01
#define PL_MD_ROI_FLAG_HEADER_ONLY 0x02
#define PL_MD_EXT_TAG_PARTICLE_ID 0
#define PL_MD_EXT_TAG_PARTICLE_M0 1
#define PL_MD_EXT_TAG_PARTICLE_M2 2
#define MD_FRAME_HEADER_SIZE 48
#define MD_ROI_HEADER_SIZE 32
#define MD_TRACK_EXT_SIZE 15 /* three items of 1-byte tag + u32 value */

/* ---- errors (pvsim_errors.c) -------------------------------------------------------------- */
/* PVCAM's own error codes and names (reference/pvcam-errors.md, from the vendor's library,
 * PVCAM 3.10): pl_error_code() reports only these. */
typedef enum pl_error_codes {
    PL_ERR_NONE = 0,
    PL_ERR_BC_STATUS_INVALID_BLOCK_NUM = 1,
    PL_ERR_BC_UNSUPPORTED_TARGET = 2,
    PL_ERR_BC_INVALID_TARGET = 3,
    PL_ERR_BC_TIMEOUT = 4,
    PL_ERR_BC_INVALID_OPCODE = 5,
    PL_ERR_BC_INVALID_LENGTH = 6,
    PL_ERR_BC_INVALID_PARAMETER = 7,
    PL_ERR_BC_INVALID_CAM_SPEED = 8,
    PL_ERR_BC_NO_MEMORY = 9,
    PL_ERR_BC_LOCK_FAILED = 10,
    PL_ERR_BC_CHANNEL_USED = 11,
    PL_ERR_BC_INVALID_CHANNEL = 12,
    PL_ERR_BC_NO_ISO_CHANNEL = 13,
    PL_ERR_BC_NO_ISO_BANDWIDTH = 14,
    PL_ERR_BC_INVALID_SPEED = 15,
    PL_ERR_BC_UNKNOWN_ERROR = 16,
    PL_ERR_BC_PROGRAMMING_FAILED = 17,
    PL_ERR_BC_PARAMETER_PERMISSION = 18,
    PL_ERR_BC_PENDING = 129,
    PL_ERR_UNKNOWN = 150,
    PL_ERR_INSTALLATION_CORRUPTED = 151,
    PL_ERR_INSUFFICIENT_RESOURCES = 152,
    PL_ERR_NULL_POINTER = 153,
    PL_ERR_NOT_AVAILABLE = 154,
    PL_ERR_NOT_IMPLEMENTED = 155,
    PL_ERR_ACCESS_DENIED = 156,
    PL_ERR_LIBRARY_NOT_INITIALIZED = 157,
    PL_ERR_LIBRARY_ALREADY_INITIALIZED = 158,
    PL_ERR_PARAMETER_UNKNOWN = 159,
    PL_ERR_PARAMETER_NOT_AVAILABLE = 160,
    PL_ERR_PARAMETER_NOT_ENUM = 161,
    PL_ERR_ATTRIBUTE_UNKNOWN = 162,
    PL_ERR_ATTRIBUTE_NOT_AVAILABLE = 163,
    PL_ERR_VALUE_INVALID = 164,
    PL_ERR_VALUE_OUT_OF_RANGE = 165,
    PL_ERR_VALUE_SET_FAILED = 166,
    PL_ERR_VALUE_REFUSED_BY_DEVICE = 167,
    PL_ERR_DATA_INVALID = 168,
    PL_ERR_DATA_NOT_AVAILABLE_YET = 169,
    PL_ERR_DATA_PROCESSING_FAILED = 170,
    PL_ERR_BUFFER_SIZE_INVALID = 171,
    PL_ERR_BUFFER_TOO_SMALL = 172,
    PL_ERR_BUFFER_OVERRUN = 173,
    PL_ERR_BUFFER_MALFORMED = 174,
    PL_ERR_DEVICE_HANDLE_INVALID = 175,
    PL_ERR_DEVICE_NAME_UNKNOWN = 176,
    PL_ERR_DEVICE_NOT_OPEN = 177,
    PL_ERR_DEVICE_ALREADY_OPEN = 178,
    PL_ERR_DEVICE_CONFIGURATION_INVALID = 179,
    PL_ERR_DEVICE_REMOVED = 180,
    PL_ERR_REGION_INVALID = 181,
    PL_ERR_BINNING_INVALID = 182,
    PL_ERR_MODE_INVALID = 183,
    PL_ERR_STATE_INVALID = 184,
    PL_ERR_CONFIGURATION_INVALID = 185,
    PL_ERR_INDEX_OUT_OF_RANGE = 186,
    PL_ERR_EXPOSURE_OUT_OF_RANGE = 187,
    PL_ERR_ACQUISITION_SETUP_REQUIRED = 188,
    PL_ERR_NO_SPEED_AVAILABLE = 189,
    PL_ERR_TOO_MANY_FRAMES = 190,
    PL_ERR_ZERO_FRAMES = 191,
    PL_ERR_METADATA_INVALID = 192,
    PL_ERR_DDI_LIBRARY_INCOMPATIBLE = 193,
    PL_ERR_DDI_DRIVER_INITIALIZATION_FAILED = 194,
    PL_ERR_DDI_DEVICE_OPEN_FAILED = 195,
    PL_ERR_DDI_DEVICE_CLOSE_FAILED = 196,
    PL_ERR_DDI_DEVICE_READ_FAILED = 197,
    PL_ERR_DDI_DEVICE_WRITE_FAILED = 198,
    PL_ERR_DDI_DEVICE_IOCTL_FAILED = 199,
    PL_ERR_DDI_EVENT_WAIT_FAILED = 200,
    PL_ERR_DDI_EVENT_RESET_FAILED = 201,
    PL_ERR_DDI_EVENT_SET_FAILED = 202,
    PL_ERR_DDI_EVENT_WAIT_TIMEOUT = 203,
} pl_error_code_t;

/* The simulator's own failure conditions. Each is reported as one vendor code (several share
 * one, as in the vendor's library) with a detail the message gives after the code's name. */
typedef enum pvsim_error {
    PVSIM_E_NONE,
    PVSIM_E_NOT_INITIALIZED,
    PVSIM_E_ALREADY_INITIALIZED,
    PVSIM_E_NULL_POINTER,
    PVSIM_E_OUT_OF_MEMORY,
    PVSIM_E_INVALID_ARGUMENT,
    PVSIM_E_INVALID_CAMERA_INDEX,
    PVSIM_E_CAMERA_NOT_FOUND,
    PVSIM_E_CAMERA_ALREADY_OPEN,
    PVSIM_E_INVALID_HANDLE,
    PVSIM_E_INVALID_OPEN_MODE,
    PVSIM_E_CAMERA_REMOVED,
    PVSIM_E_PARAM_NOT_SUPPORTED,
    PVSIM_E_PARAM_NOT_AVAILABLE,
    PVSIM_E_INVALID_ATTRIBUTE,
    PVSIM_E_UNKNOWN_ATTRIBUTE,
    PVSIM_E_PARAM_READ_ONLY,
    PVSIM_E_VALUE_OUT_OF_RANGE,
    PVSIM_E_ENUM_VALUE_INVALID,
    PVSIM_E_PARAM_NOT_ENUM,
    PVSIM_E_ENUM_INDEX_OUT_OF_RANGE,
    PVSIM_E_BUFFER_TOO_SMALL,
    PVSIM_E_REGION_INVALID,
    PVSIM_E_BINNING_INVALID,
    PVSIM_E_TOO_MANY_REGIONS,
    PVSIM_E_METADATA_REQUIRED,
    PVSIM_E_CENTROIDS_CONFLICT,
    PVSIM_E_EXPOSURE_MODE_INVALID,
    PVSIM_E_EXPOSURE_TIME_OUT_OF_RANGE,
    PVSIM_E_ACQUISITION_SETUP_REQUIRED,
    PVSIM_E_ACQUISITION_IN_PROGRESS,
    PVSIM_E_ACQUISITION_NOT_RUNNING,
    PVSIM_E_SEQUENCE_TOO_LARGE,
    PVSIM_E_BUFFER_SIZE_INVALID,
    PVSIM_E_NO_FRAME_AVAILABLE,
    PVSIM_E_BUFFER_OVERRUN,
    PVSIM_E_READOUT_FAILED,
    PVSIM_E_CALLBACK_EVENT_INVALID,
    PVSIM_E_NOT_SOFTWARE_TRIGGERED,
    PVSIM_E_NOT_HARDWARE_TRIGGERED,
    PVSIM_E_ZERO_FRAMES,
    PVSIM_E_SUMMING_CONFLICT,
    PVSIM_E_COUNT
} pvsim_error;

rs_bool pvsim_fail(pvsim_error condition); /* records its vendor code, returns PV_FAIL */
void pvsim_clear_error(void);

/* ---- camera models (pvsim_models.c) ------------------------------------------------------- */
typedef struct enum_item {
    int32 value;
    const char *name;
} enum_item;

typedef struct gain_model {
    const char *name;
    int16 bit_depth;
    double e_per_adu;    /* conversion gain */
    double read_noise_e; /* rms read noise in electrons */
    double bias_adu;     /* offset added to every pixel */
} gain_model;

typedef struct speed_model {
    const char *name;
    uns16 pix_time_ns;  /* nominal ADC pixel time reported as PARAM_PIX_TIME */
    double line_time_ns; /* rolling readout: one sensor row */
    int32 image_format; /* container */
    int n_gains;         /* gain indices are 1..n_gains */
    gain_model gains[4];
} speed_model;

typedef struct port_model {
    const char *name;
    int n_speeds;
    speed_model speeds[3];
} port_model;

typedef struct camera_model {
    const char *name;
    const char *chip_name;
    uns16 fw_version;
    uns16 width, height;
    uns16 pixel_nm;
    int n_ports;
    port_model ports[4];
    const enum_item *exposure_modes;
    int n_exposure_modes;
    const enum_item *expose_out_modes;
    int n_expose_out_modes;
    const enum_item *clear_modes;
    int n_clear_modes;
    const enum_item *exp_res;
    int n_exp_res;
    const enum_item *binnings; /* value = factor, name like "2x2" (same list for ser and par) */
    int n_binnings;
    const enum_item *image_formats;
    int n_image_formats;
    uns16 max_rois;
    uns16 max_centroids;
    uns16 max_centroid_radius;
    int16 setpoint_default, setpoint_min, setpoint_max; /* hundredths of °C */
    double dark_e_per_s_at_0c;                           /* doubles every 6.3 °C */
} camera_model;

#define PVSIM_N_CAMERAS 2
extern const camera_model *const pvsim_models[PVSIM_N_CAMERAS];
extern const enum_item pvsim_fan_speeds[4];
extern const enum_item pvsim_centroid_modes[3];
extern const enum_item pvsim_compressions[1];
extern const enum_item pvsim_summing_formats[3];

/* ---- frame layout (pvsim_layout.c) -------------------------------------------------------- */
#define PVSIM_MAX_USER_ROIS 15

typedef struct frame_layout {
    rgn_type rois[PVSIM_MAX_USER_ROIS]; /* user ROIs, or the single centroid search ROI */
    uns16 n_rois;
    bool metadata;
    int centroid_mode; /* -1 when centroids are off */
    uns16 centroid_count, centroid_radius;
    uns8 header_version;
    int32 image_format;     /* what the host receives (PARAM_IMAGE_FORMAT_HOST) */
    uns32 bytes_per_pixel;
    int16 bit_depth;        /* PARAM_BIT_DEPTH_HOST */
    bool summing;           /* host frame summing: each frame sums sum_count camera frames */
    uns32 sum_count;
    int32 native_format;    /* what the sensor reads out (PARAM_IMAGE_FORMAT) */
    uns32 native_bpp;
    uns32 frame_bytes;
    uns16 header_roi_count; /* roiCount written into the frame header */
    uns16 first_row, last_row; /* rows the rolling readout spans */
} frame_layout;

uns32 pvsim_roi_width(const rgn_type *r);
uns32 pvsim_roi_height(const rgn_type *r);

/* ---- scene (pvsim_scene.c) ---------------------------------------------------------------- */
typedef struct scene_config {
    uns32 seed;
    uns16 n_spots;
    double sigma_px;         /* spot width on the sensor */
    double peak_e_per_ms;    /* brightest spot's peak photo-electron rate */
    double background_e_per_ms;
    double speed_px_per_s;   /* typical spot speed */
} scene_config;

#define PVSIM_MAX_SPOTS 1024
#define PVSIM_NOISE_LEN (1u << 20)

typedef struct spot {
    double x, y;     /* sensor coordinates at the frame's time */
    double peak_e;   /* peak electrons per sensor pixel during the exposure */
    double sigma;    /* sensor pixels */
    uns32 id;
} spot;

typedef struct scene_state {
    scene_config cfg;
    /* per-spot motion parameters, derived from the seed */
    double cx[PVSIM_MAX_SPOTS], cy[PVSIM_MAX_SPOTS], ax[PVSIM_MAX_SPOTS], ay[PVSIM_MAX_SPOTS];
    double wx[PVSIM_MAX_SPOTS], wy[PVSIM_MAX_SPOTS], px[PVSIM_MAX_SPOTS], py[PVSIM_MAX_SPOTS];
    double brightness[PVSIM_MAX_SPOTS];
    int16 *unit_noise;   /* standard normal samples, Q12 */
    int16 *scaled_noise; /* unit noise scaled to the current sigma (ADU) plus dither */
    int32 scaled_key_sigma, scaled_key_frac;
    bool ready;
} scene_state;

/* Everything the renderer needs for one frame, computed under the camera lock. */
typedef struct frame_params {
    ulong64 frame_index; /* 0-based within the acquisition */
    double t_s;        /* scene time of the frame */
    double exposure_s;
    double e_per_adu, bias_adu, read_noise_e;
    double background_e; /* sky + dark current per sensor pixel during the exposure */
    uns32 max_adu;
    uns16 sbin, pbin;
    uns32 sum_count;      /* camera frames summed into this one (1: no summing) */
    double sub_period_s;  /* period of the camera frames */
} frame_params;

int pvsim_scene_init(scene_state *s, const scene_config *cfg, uns16 width, uns16 height);
void pvsim_scene_free(scene_state *s);
int pvsim_scene_prepare(scene_state *s, const frame_params *fp); /* rescale noise if needed */
int pvsim_scene_spots(const scene_state *s, const frame_params *fp, spot *out, int max);
void pvsim_render_region(const scene_state *s, const frame_params *fp, const spot *spots,
                         int n_spots, const rgn_type *r, uns32 bpp, uns32 salt, void *dst);

/* ---- cameras (pvsim_camera.c) ------------------------------------------------------------- */
#define PVSIM_EDGE_QUEUE 256

typedef struct acq_state {
    int kind; /* 0 none, 1 sequence, 2 continuous */
    bool thread_alive, joining, stop_req, running;
    pthread_t thread;
    int16 status;
    uns8 *buffer;
    uns32 n_slots;
    ulong64 frames_done;   /* completed frames */
    ulong64 frames_target; /* sequence length, 0 for continuous */
    ulong64 consumed;      /* index of the oldest frame not yet unlocked */
    ulong64 last_checked;  /* frames_done at the last check_cont_status */
    bool overrun_pending;
    bool waiting_trigger;
    uns32 triggers_pending;
    /* Edges on the trigger input with their times (pvsim_hardware_trigger_at), oldest first:
     * the acquisition thread starts a frame at the first one the camera is ready for. */
    long64 edges[PVSIM_EDGE_QUEUE];
    uns32 edge_head, edge_count;
    ulong64 edges_received, edges_started;
    FRAME_INFO *infos; /* one per slot */
    long64 t0_ns;
    ulong64 late_frames;
    double render_s_total;
} acq_state;

typedef struct acq_setup {
    bool valid;
    int kind; /* 1 sequence, 2 continuous */
    frame_layout layout;
    uns32 frames;       /* sequence length */
    int32 trigger_mode; /* EXT_TRIG_* value */
    int32 expose_out;
    uns32 exposure;     /* in the resolution of exp_res at setup */
    int32 exp_res;
    double exposure_ns;
    double readout_ns;
    int16 circ_mode;
} acq_setup;

typedef struct camera {
    const camera_model *model;
    int index;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool open, removed;
    /* settings */
    int32 port;
    int16 speed, gain;
    int32 exp_res, expose_out, clear_mode, fan, centroid_mode;
    bool metadata, centroids, summing;
    uns32 sum_count;
    int32 sum_format;
    uns16 centroid_radius, centroid_count;
    uns32 centroid_threshold;
    int32 binning_ser, binning_par;
    uns8 header_version;
    /* thermal model */
    double temp_c0, temp_t0_s, ambient_c, tau_s;
    int16 setpoint;
    /* scene, setup, acquisition */
    scene_state scene;
    acq_setup setup;
    acq_state acq;
    /* callbacks */
    pvsim_callback_fn callbacks[PL_CALLBACK_MAX];
    void *callback_ctx[PL_CALLBACK_MAX];
    int callbacks_running;
    pthread_t callback_thread;
    /* faults */
    int fault_pending;
    uns32 slow_ms;
    uns32 corrupt_frames; /* the next frames arrive damaged in transfer (metadata garbled) */
} camera;

extern camera pvsim_cameras[PVSIM_N_CAMERAS];

long64 pvsim_now_ns(void);
bool pvsim_initialized(void);
/* Looks up an open camera and returns it locked, or records the error and returns NULL.
 * allow_removed lets close and the pvsim_ controls reach a camera that was unplugged. */
camera *pvsim_lock_camera(int16 hcam, bool allow_removed);
void pvsim_unlock(camera *c);
void pvsim_fire_callback(camera *c, int event, const FRAME_INFO *info); /* lock held */
double pvsim_temperature_c(const camera *c);                           /* lock held */
void pvsim_set_setpoint(camera *c, int16 setpoint);                     /* lock held */
void pvsim_thermal_rebase(camera *c);                                   /* lock held */
void pvsim_camera_defaults(camera *c);                                  /* lock held */
const speed_model *pvsim_speed(const camera *c);
const gain_model *pvsim_gain(const camera *c);

/* ---- parameters (pvsim_params.c) ---------------------------------------------------------- */
void pvsim_invalidate_setup(camera *c);
uns8 pvsim_effective_format(const camera *c, uns32 *bytes_per_pixel); /* the sensor's */
uns8 pvsim_host_format(const camera *c, uns32 *bytes_per_pixel, int16 *bit_depth);
double pvsim_exp_res_ns(int32 exp_res);

/* ---- layout (pvsim_layout.c) -------------------------------------------------------------- */
pvsim_error pvsim_build_layout(const camera *c, uns16 n_rgns, const rgn_type *rgns,
                               frame_layout *out);
double pvsim_readout_ns(const camera *c, const frame_layout *l);

typedef struct frame_timing {
    uns32 frame_nr; /* 1-based */
    long64 bof_ns, eof_ns; /* since the acquisition started */
    double exposure_ns, line_ns;
    uns32 exposure_value, exposure_res_ns;
} frame_timing;

void pvsim_write_frame(const acq_setup *setup, const scene_state *scene, const frame_params *fp,
                       const frame_timing *t, uns8 *dst);

/* ---- acquisition (pvsim_acq.c) ------------------------------------------------------------ */
void pvsim_stop_locked(camera *c);   /* requests a stop and joins the thread (unless called on it) */
void pvsim_frame_params(const camera *c, ulong64 index, frame_params *fp); /* lock held */
/* Delivers a software (pl_exp_trigger) or an external (pvsim_hardware_trigger) trigger. */
rs_bool pvsim_deliver_trigger(int16 hcam, uns32 *flags, bool software);
rs_bool pvsim_deliver_edge(int16 hcam, long64 at_ns, uns32 *flags);

#endif
