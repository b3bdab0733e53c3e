/* Library state, camera enumeration, open/close, callbacks and the thermal model.
 *
 * Locking: every camera has one mutex guarding all of its state and one condition variable
 * (on CLOCK_MONOTONIC) used for timed waits, trigger waits and joins. The library-wide mutex
 * only serialises init/uninit/open/close. Callbacks run without any lock held, so a callback may
 * call back into the library (get the latest frame, even stop the acquisition).
 */
#include "pvsim.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

camera pvsim_cameras[PVSIM_N_CAMERAS];

static atomic_bool g_initialized;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* Version reported by pl_pvcam_get_ver: major in the high byte, minor and build in the two
 * nibbles of the low byte (3.10.0). */
#define PVSIM_PVCAM_VERSION 0x03A0

static const double ambient_default_c = 25.0;
static const double tau_default_s = 3.0;
/* How far below ambient the cooler can pull the sensor, per fan speed. */
static const double cooling_capacity_c[4] = {45.0, 35.0, 25.0, 10.0};

static void init_primitives(void) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    for (int i = 0; i < PVSIM_N_CAMERAS; i++) {
        camera *c = &pvsim_cameras[i];
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->cond, &attr);
        c->model = pvsim_models[i];
        c->index = i;
    }
    pthread_condattr_destroy(&attr);
}

long64 pvsim_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

bool pvsim_initialized(void) { return atomic_load(&g_initialized); }

camera *pvsim_lock_camera(int16 hcam, bool allow_removed) {
    if (!pvsim_initialized()) {
        pvsim_fail(PVSIM_E_NOT_INITIALIZED);
        return NULL;
    }
    if (hcam < 0 || hcam >= PVSIM_N_CAMERAS) {
        pvsim_fail(PVSIM_E_INVALID_HANDLE);
        return NULL;
    }
    camera *c = &pvsim_cameras[hcam];
    pthread_mutex_lock(&c->lock);
    if (!c->open) {
        pthread_mutex_unlock(&c->lock);
        pvsim_fail(PVSIM_E_INVALID_HANDLE);
        return NULL;
    }
    if (c->removed && !allow_removed) {
        pthread_mutex_unlock(&c->lock);
        pvsim_fail(PVSIM_E_CAMERA_REMOVED);
        return NULL;
    }
    return c;
}

void pvsim_unlock(camera *c) { pthread_mutex_unlock(&c->lock); }

const speed_model *pvsim_speed(const camera *c) {
    return &c->model->ports[c->port].speeds[c->speed];
}

const gain_model *pvsim_gain(const camera *c) { return &pvsim_speed(c)->gains[c->gain - 1]; }

/* ---- thermal model ------------------------------------------------------------------------- */

static double now_s(void) { return (double)pvsim_now_ns() * 1e-9; }

static double thermal_target_c(const camera *c) {
    double floor_c = c->ambient_c - cooling_capacity_c[c->fan];
    double set_c = c->setpoint / 100.0;
    return set_c > floor_c ? set_c : floor_c;
}

double pvsim_temperature_c(const camera *c) {
    double target = thermal_target_c(c);
    double dt = now_s() - c->temp_t0_s;
    if (dt < 0) dt = 0;
    return target + (c->temp_c0 - target) * exp(-dt / c->tau_s);
}

void pvsim_thermal_rebase(camera *c) {
    c->temp_c0 = pvsim_temperature_c(c);
    c->temp_t0_s = now_s();
}

void pvsim_set_setpoint(camera *c, int16 setpoint) {
    pvsim_thermal_rebase(c);
    c->setpoint = setpoint;
}

/* ---- defaults ------------------------------------------------------------------------------ */

void pvsim_camera_defaults(camera *c) {
    c->port = 0;
    c->speed = 0;
    c->gain = 1;
    c->exp_res = EXP_RES_ONE_MILLISEC;
    c->expose_out = EXPOSE_OUT_FIRST_ROW;
    c->clear_mode = 0;
    c->fan = FAN_SPEED_HIGH;
    c->metadata = false;
    c->centroids = false;
    c->centroid_mode = PL_CENTROIDS_MODE_LOCATE;
    c->centroid_radius = 2;
    c->centroid_count = 10;
    c->centroid_threshold = 1234;
    c->summing = false;
    c->sum_count = 1;
    c->sum_format = PL_FRAME_SUMMING_FORMAT_16_BIT;
    c->binning_ser = 1;
    c->binning_par = 1;
    c->header_version = 3;
    c->ambient_c = ambient_default_c;
    c->tau_s = tau_default_s;
    c->setpoint = c->model->setpoint_default;
    c->temp_c0 = ambient_default_c;
    c->temp_t0_s = now_s();
    memset(&c->setup, 0, sizeof c->setup);
    c->fault_pending = 0;
    c->slow_ms = 0;
    c->corrupt_frames = 0;
}

static const scene_config default_scene = {
    .seed = 1,
    .n_spots = 12,
    .sigma_px = 2.0,
    .peak_e_per_ms = 500.0,
    .background_e_per_ms = 2.0,
    .speed_px_per_s = 40.0,
};

/* ---- entry points -------------------------------------------------------------------------- */

PVSIM_EXPORT rs_bool pl_pvcam_get_ver(uns16 *version) {
    pvsim_clear_error();
    if (version == NULL) return pvsim_fail(PVSIM_E_NULL_POINTER);
    *version = PVSIM_PVCAM_VERSION;
    return PV_OK;
}

PVSIM_EXPORT rs_bool pl_pvcam_init(void) {
    pvsim_clear_error();
    pthread_once(&g_once, init_primitives);
    pthread_mutex_lock(&g_lock);
    if (pvsim_initialized()) {
        pthread_mutex_unlock(&g_lock);
        return pvsim_fail(PVSIM_E_ALREADY_INITIALIZED);
    }
    atomic_store(&g_initialized, true);
    pthread_mutex_unlock(&g_lock);
    return PV_OK;
}

static void close_locked(camera *c) {
    pvsim_stop_locked(c);
    for (int e = 0; e < PL_CALLBACK_MAX; e++) {
        c->callbacks[e] = NULL;
        c->callback_ctx[e] = NULL;
    }
    while (c->callbacks_running > 0 && !pthread_equal(c->callback_thread, pthread_self()))
        pthread_cond_wait(&c->cond, &c->lock);
    /* A thread that stopped itself from a callback still reads the scene until it leaves the
     * callback; its planes are released on the next open instead of here. */
    if (!c->acq.thread_alive) pvsim_scene_free(&c->scene);
    free(c->acq.infos);
    c->acq.infos = NULL;
    c->acq.buffer = NULL;
    c->acq.kind = 0;
    c->open = false;
    c->removed = false;
}

PVSIM_EXPORT rs_bool pl_pvcam_uninit(void) {
    pvsim_clear_error();
    pthread_mutex_lock(&g_lock);
    if (!pvsim_initialized()) {
        pthread_mutex_unlock(&g_lock);
        return pvsim_fail(PVSIM_E_NOT_INITIALIZED);
    }
    for (int i = 0; i < PVSIM_N_CAMERAS; i++) {
        camera *c = &pvsim_cameras[i];
        pthread_mutex_lock(&c->lock);
        if (c->open) close_locked(c);
        pthread_mutex_unlock(&c->lock);
    }
    atomic_store(&g_initialized, false);
    pthread_mutex_unlock(&g_lock);
    return PV_OK;
}

PVSIM_EXPORT rs_bool pl_cam_get_total(int16 *total) {
    pvsim_clear_error();
    if (!pvsim_initialized()) return pvsim_fail(PVSIM_E_NOT_INITIALIZED);
    if (total == NULL) return pvsim_fail(PVSIM_E_NULL_POINTER);
    *total = PVSIM_N_CAMERAS;
    return PV_OK;
}

PVSIM_EXPORT rs_bool pl_cam_get_name(int16 cam_num, char *name) {
    pvsim_clear_error();
    if (!pvsim_initialized()) return pvsim_fail(PVSIM_E_NOT_INITIALIZED);
    if (name == NULL) return pvsim_fail(PVSIM_E_NULL_POINTER);
    if (cam_num < 0 || cam_num >= PVSIM_N_CAMERAS)
        return pvsim_fail(PVSIM_E_INVALID_CAMERA_INDEX);
    strncpy(name, pvsim_models[cam_num]->name, CAM_NAME_LEN - 1);
    name[CAM_NAME_LEN - 1] = '\0';
    return PV_OK;
}

PVSIM_EXPORT rs_bool pl_cam_open(char *camera_name, int16 *hcam, int16 o_mode) {
    pvsim_clear_error();
    if (!pvsim_initialized()) return pvsim_fail(PVSIM_E_NOT_INITIALIZED);
    if (camera_name == NULL || hcam == NULL) return pvsim_fail(PVSIM_E_NULL_POINTER);
    if (o_mode != 0) return pvsim_fail(PVSIM_E_INVALID_OPEN_MODE);
    int index = -1;
    for (int i = 0; i < PVSIM_N_CAMERAS; i++)
        if (strncmp(camera_name, pvsim_models[i]->name, CAM_NAME_LEN) == 0) index = i;
    if (index < 0) return pvsim_fail(PVSIM_E_CAMERA_NOT_FOUND);

    pthread_mutex_lock(&g_lock);
    camera *c = &pvsim_cameras[index];
    pthread_mutex_lock(&c->lock);
    if (c->open) {
        pthread_mutex_unlock(&c->lock);
        pthread_mutex_unlock(&g_lock);
        return pvsim_fail(PVSIM_E_CAMERA_ALREADY_OPEN);
    }
    pvsim_stop_locked(c); /* joins a thread left behind by a stop from inside a callback */
    pvsim_scene_free(&c->scene);
    pvsim_camera_defaults(c);
    memset(&c->acq, 0, sizeof c->acq);
    if (!pvsim_scene_init(&c->scene, &default_scene, c->model->width, c->model->height)) {
        pthread_mutex_unlock(&c->lock);
        pthread_mutex_unlock(&g_lock);
        return pvsim_fail(PVSIM_E_OUT_OF_MEMORY);
    }
    c->open = true;
    c->removed = false;
    *hcam = (int16)index;
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&g_lock);
    return PV_OK;
}

PVSIM_EXPORT rs_bool pl_cam_close(int16 hcam) {
    pvsim_clear_error();
    pthread_mutex_lock(&g_lock);
    camera *c = pvsim_lock_camera(hcam, true);
    if (c == NULL) {
        pthread_mutex_unlock(&g_lock);
        return PV_FAIL;
    }
    close_locked(c);
    pvsim_unlock(c);
    pthread_mutex_unlock(&g_lock);
    return PV_OK;
}

/* ---- callbacks ----------------------------------------------------------------------------- */

void pvsim_fire_callback(camera *c, int event, const FRAME_INFO *info) {
    pvsim_callback_fn fn = c->callbacks[event];
    void *ctx = c->callback_ctx[event];
    if (fn == NULL) return;
    c->callbacks_running++;
    c->callback_thread = pthread_self();
    pthread_mutex_unlock(&c->lock);
    fn(info, ctx);
    pthread_mutex_lock(&c->lock);
    c->callbacks_running--;
    pthread_cond_broadcast(&c->cond);
}

PVSIM_EXPORT rs_bool pl_cam_register_callback_ex3(int16 hcam, int32 callback_event,
                                                  void *callback, void *context) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (callback_event < 0 || callback_event >= PL_CALLBACK_MAX)
        ok = pvsim_fail(PVSIM_E_CALLBACK_EVENT_INVALID);
    else if (callback == NULL)
        ok = pvsim_fail(PVSIM_E_NULL_POINTER);
    else {
        /* Function pointers and void* have the same representation on every PVCAM platform. */
        pvsim_callback_fn fn;
        memcpy(&fn, &callback, sizeof fn);
        c->callbacks[callback_event] = fn;
        c->callback_ctx[callback_event] = context;
    }
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pl_cam_deregister_callback(int16 hcam, int32 callback_event) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, true);
    if (c == NULL) return PV_FAIL;
    if (callback_event < 0 || callback_event >= PL_CALLBACK_MAX) {
        pvsim_unlock(c);
        return pvsim_fail(PVSIM_E_CALLBACK_EVENT_INVALID);
    }
    c->callbacks[callback_event] = NULL;
    c->callback_ctx[callback_event] = NULL;
    /* Once this returns, the callback is not running and will not run again. */
    while (c->callbacks_running > 0 && !pthread_equal(c->callback_thread, pthread_self()))
        pthread_cond_wait(&c->cond, &c->lock);
    pvsim_unlock(c);
    return PV_OK;
}
