/* The simulator's own control functions, all prefixed pvsim_.
 *
 * They are not part of PVCAM: labkit.sim.pvcam calls them through ctypes to shape the scene,
 * choose the metadata header version, inject faults, fire external triggers and measure the
 * renderer. They follow PVCAM's conventions (rs_bool result, pl_error_code on failure) and take
 * the handle of an open camera.
 */
#include "pvsim.h"

#include <stdlib.h>
#include <string.h>

enum { PVSIM_FAULT_NONE, PVSIM_FAULT_CAM_REMOVED, PVSIM_FAULT_READOUT_FAILED,
       PVSIM_FAULT_SLOW_FRAMES, PVSIM_FAULT_CORRUPT_FRAMES };

PVSIM_EXPORT rs_bool pvsim_set_scene(int16 hcam, uns32 seed, uns16 spots, flt64 sigma_px,
                                     flt64 peak_e_per_ms, flt64 background_e_per_ms,
                                     flt64 speed_px_per_s) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (!c->acq.running) pvsim_stop_locked(c); /* reap a thread that has finished */
    if (c->acq.thread_alive) {
        ok = pvsim_fail(PVSIM_E_ACQUISITION_IN_PROGRESS);
    } else if (spots > PVSIM_MAX_SPOTS || !(sigma_px >= 0.3 && sigma_px <= 50.0) ||
               !(peak_e_per_ms >= 0) || !(background_e_per_ms >= 0) || !(speed_px_per_s >= 0)) {
        ok = pvsim_fail(PVSIM_E_INVALID_ARGUMENT);
    } else {
        scene_config cfg = {seed, spots, sigma_px, peak_e_per_ms, background_e_per_ms,
                            speed_px_per_s};
        if (!pvsim_scene_init(&c->scene, &cfg, c->model->width, c->model->height))
            ok = pvsim_fail(PVSIM_E_OUT_OF_MEMORY);
    }
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pvsim_get_scene(int16 hcam, uns32 *seed, uns16 *spots, flt64 *sigma_px,
                                     flt64 *peak_e_per_ms, flt64 *background_e_per_ms,
                                     flt64 *speed_px_per_s) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (!seed || !spots || !sigma_px || !peak_e_per_ms || !background_e_per_ms ||
        !speed_px_per_s) {
        ok = pvsim_fail(PVSIM_E_NULL_POINTER);
    } else {
        const scene_config *cfg = &c->scene.cfg;
        *seed = cfg->seed;
        *spots = cfg->n_spots;
        *sigma_px = cfg->sigma_px;
        *peak_e_per_ms = cfg->peak_e_per_ms;
        *background_e_per_ms = cfg->background_e_per_ms;
        *speed_px_per_s = cfg->speed_px_per_s;
    }
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pvsim_set_header_version(int16 hcam, uns16 version) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (c->acq.running)
        ok = pvsim_fail(PVSIM_E_ACQUISITION_IN_PROGRESS);
    else if (version < 1 || version > 3)
        ok = pvsim_fail(PVSIM_E_INVALID_ARGUMENT);
    else {
        c->header_version = (uns8)version;
        pvsim_invalidate_setup(c);
    }
    pvsim_unlock(c);
    return ok;
}

/* kind: 0 clears every fault (and plugs a removed camera back in, with CAM_RESUMED),
 * 1 unplugs the camera (CAM_REMOVED; at the next frame boundary when acquiring, at once
 * otherwise), 2 fails the next frame's readout, 3 delays every frame by `value` ms. */
PVSIM_EXPORT rs_bool pvsim_inject_fault(int16 hcam, int32 kind, uns32 value) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, true);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    FRAME_INFO info;
    memset(&info, 0, sizeof info);
    info.hCam = hcam;
    switch (kind) {
    case PVSIM_FAULT_NONE:
        c->fault_pending = 0;
        c->slow_ms = 0;
        c->corrupt_frames = 0;
        if (c->removed) {
            c->removed = false;
            pvsim_fire_callback(c, PL_CALLBACK_CAM_RESUMED, &info);
        }
        break;
    case PVSIM_FAULT_CAM_REMOVED:
        if (c->acq.running) {
            c->fault_pending = PVSIM_FAULT_CAM_REMOVED;
        } else if (!c->removed) {
            c->removed = true;
            pvsim_fire_callback(c, PL_CALLBACK_CAM_REMOVED, &info);
        }
        break;
    case PVSIM_FAULT_READOUT_FAILED:
        c->fault_pending = PVSIM_FAULT_READOUT_FAILED;
        break;
    case PVSIM_FAULT_SLOW_FRAMES:
        c->slow_ms = value;
        break;
    case PVSIM_FAULT_CORRUPT_FRAMES:
        c->corrupt_frames = value ? value : 1;
        break;
    default:
        ok = pvsim_fail(PVSIM_E_INVALID_ARGUMENT);
        break;
    }
    pthread_cond_broadcast(&c->cond);
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pvsim_set_thermal(int16 hcam, int16 ambient, uns32 time_constant_ms) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (time_constant_ms == 0 || ambient < -5000 || ambient > 6000) {
        ok = pvsim_fail(PVSIM_E_INVALID_ARGUMENT);
    } else {
        pvsim_thermal_rebase(c);
        c->ambient_c = ambient / 100.0;
        c->tau_s = time_constant_ms / 1000.0;
    }
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pvsim_hardware_trigger(int16 hcam, uns32 *flags) {
    return pvsim_deliver_trigger(hcam, flags, false);
}

/* An edge on the external trigger input at `at_ns` on CLOCK_MONOTONIC (a bench's trigger
 * cable): the frame it starts begins exposing at that time, if the camera is ready by then. */
PVSIM_EXPORT rs_bool pvsim_hardware_trigger_at(int16 hcam, long64 at_ns, uns32 *flags) {
    return pvsim_deliver_edge(hcam, at_ns, flags);
}

/* Edges the trigger input received in the current or last acquisition, and frames they
 * started (the others came while the camera was busy, or after its sequence). */
PVSIM_EXPORT rs_bool pvsim_get_trigger_stats(int16 hcam, ulong64 *received, ulong64 *started) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, true);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (received == NULL || started == NULL) {
        ok = pvsim_fail(PVSIM_E_NULL_POINTER);
    } else {
        *received = c->acq.edges_received;
        *started = c->acq.edges_started;
    }
    pvsim_unlock(c);
    return ok;
}

/* Renders `frames` frames of the current setup into a scratch buffer as fast as possible. */
PVSIM_EXPORT rs_bool pvsim_benchmark_render(int16 hcam, uns32 frames, flt64 *seconds) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (!c->acq.running) pvsim_stop_locked(c); /* reap a thread that has finished */
    if (seconds == NULL) {
        ok = pvsim_fail(PVSIM_E_NULL_POINTER);
    } else if (c->acq.thread_alive) {
        ok = pvsim_fail(PVSIM_E_ACQUISITION_IN_PROGRESS);
    } else if (!c->setup.valid) {
        ok = pvsim_fail(PVSIM_E_ACQUISITION_SETUP_REQUIRED);
    } else {
        uns8 *buf = malloc(c->setup.layout.frame_bytes);
        if (buf == NULL) {
            ok = pvsim_fail(PVSIM_E_OUT_OF_MEMORY);
        } else {
            long64 start = pvsim_now_ns();
            for (uns32 k = 0; k < frames; k++) {
                frame_params fp;
                pvsim_frame_params(c, k, &fp);
                double duration = c->setup.exposure_ns + c->setup.readout_ns;
                frame_timing t = {k + 1, 0, (long64)duration, c->setup.exposure_ns,
                                  pvsim_speed(c)->line_time_ns, c->setup.exposure,
                                  (uns32)pvsim_exp_res_ns(c->setup.exp_res)};
                pvsim_scene_prepare(&c->scene, &fp);
                pvsim_write_frame(&c->setup, &c->scene, &fp, &t, buf);
            }
            *seconds = (double)(pvsim_now_ns() - start) * 1e-9;
            free(buf);
        }
    }
    pvsim_unlock(c);
    return ok;
}

/* Frames delivered, frames delivered late (rendering could not keep the schedule) and the mean
 * rendering time of the current or last acquisition. */
PVSIM_EXPORT rs_bool pvsim_get_stats(int16 hcam, ulong64 *frames, ulong64 *late_frames,
                                     flt64 *mean_render_ms) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, true);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (frames == NULL || late_frames == NULL || mean_render_ms == NULL) {
        ok = pvsim_fail(PVSIM_E_NULL_POINTER);
    } else {
        *frames = c->acq.frames_done;
        *late_frames = c->acq.late_frames;
        *mean_render_ms =
            c->acq.frames_done ? c->acq.render_s_total * 1e3 / (double)c->acq.frames_done : 0.0;
    }
    pvsim_unlock(c);
    return ok;
}
