/* Acquisition: pl_exp_setup_*, start, status, frame access, trigger, stop and abort.
 *
 * One thread per running acquisition renders frames straight into the caller's buffer on an
 * absolute schedule: frame k begins (BOF) at t0 + k * period and ends (EOF) exposure + readout
 * later, with period = max(exposure, readout) as for a rolling-shutter sCMOS with overlapped
 * exposure. The thread renders between BOF and EOF, waits until EOF, publishes the frame and
 * calls the EOF callback. If rendering takes longer than the schedule allows, the frame is
 * delivered late and the schedule restarts from there (counted in the stats).
 *
 * Stopping sets a flag, wakes the thread and joins it, so no callback runs and no byte is written
 * into the caller's buffer after pl_exp_stop_cont / pl_exp_abort / pl_exp_finish_seq returns.
 */
#include "pvsim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ACQ_NONE, ACQ_SEQUENCE, ACQ_CONTINUOUS };
enum { FAULT_NONE, FAULT_CAM_REMOVED, FAULT_READOUT_FAILED };

/* FRAME_INFO timestamps are driver times in units of 100 µs since the acquisition started. */
#define FRAME_INFO_TICK_NS 100000

static const PVCAM_FRAME_INFO_GUID frame_info_guid = {
    0x7076736Du, 0x6D69, 0x4C4B, {'l', 'a', 'b', 'k', 'i', 't', 0, 1}};

/* ---- helpers ------------------------------------------------------------------------------- */

static bool wait_until(camera *c, long64 deadline_ns) {
    while (!c->acq.stop_req && !c->fault_pending) {
        long64 now = pvsim_now_ns();
        if (now >= deadline_ns) return true;
        struct timespec ts = {(time_t)(deadline_ns / 1000000000LL),
                              (long)(deadline_ns % 1000000000LL)};
        pthread_cond_timedwait(&c->cond, &c->lock, &ts);
    }
    return false;
}

static bool waits_for_trigger(int32 mode, ulong64 k) {
    switch (mode) {
    case EXT_TRIG_TRIG_FIRST:
    case EXT_TRIG_SOFTWARE_FIRST: return k == 0;
    case EXT_TRIG_EDGE_RISING:
    case EXT_TRIG_LEVEL:
    case EXT_TRIG_SOFTWARE_EDGE:
    case EXT_TRIG_LEVEL_OVERLAP:
    case EXT_TRIG_LEVEL_PULSED: return true;
    default: return false;
    }
}

static bool software_mode(int32 mode) {
    return mode == EXT_TRIG_SOFTWARE_FIRST || mode == EXT_TRIG_SOFTWARE_EDGE;
}

/* The camera's own frame period; with host frame summing PVCAM delivers one frame per
 * sum_count of them. */
static double sub_period_ns(const acq_setup *s) {
    return s->exposure_ns > s->readout_ns ? s->exposure_ns : s->readout_ns;
}

static double period_ns(const acq_setup *s) { return sub_period_ns(s) * s->layout.sum_count; }

/* BOF of a delivered frame's first camera frame to EOF of its last. */
static double duration_ns(const acq_setup *s) {
    return sub_period_ns(s) * (s->layout.sum_count - 1) + s->exposure_ns + s->readout_ns;
}

void pvsim_frame_params(const camera *c, ulong64 index, frame_params *fp) {
    const gain_model *g = pvsim_gain(c);
    const frame_layout *l = &c->setup.layout;
    memset(fp, 0, sizeof *fp);
    fp->frame_index = index;
    fp->t_s = (double)index * period_ns(&c->setup) * 1e-9;
    fp->exposure_s = c->setup.exposure_ns * 1e-9;
    fp->e_per_adu = g->e_per_adu;
    fp->bias_adu = g->bias_adu;
    fp->read_noise_e = g->read_noise_e;
    /* Dark current doubles about every 6.3 °C. */
    double dark_e_per_s = c->model->dark_e_per_s_at_0c * pow(2.0, pvsim_temperature_c(c) / 6.3);
    fp->background_e = c->scene.cfg.background_e_per_ms * fp->exposure_s * 1e3 +
                       dark_e_per_s * fp->exposure_s;
    fp->max_adu = (1u << g->bit_depth) - 1; /* the sensor's; summed frames clip at the container */
    fp->sbin = l->rois[0].sbin;
    fp->pbin = l->rois[0].pbin;
    fp->sum_count = l->sum_count;
    fp->sub_period_s = sub_period_ns(&c->setup) * 1e-9;
}

static void fill_info(const camera *c, FRAME_INFO *info, ulong64 k, long64 bof, long64 eof) {
    memset(info, 0, sizeof *info);
    info->FrameInfoGUID = frame_info_guid;
    info->hCam = (int16)c->index;
    info->FrameNr = (int32)(k + 1);
    info->TimeStampBOF = (bof - c->acq.t0_ns) / FRAME_INFO_TICK_NS;
    info->TimeStamp = (eof - c->acq.t0_ns) / FRAME_INFO_TICK_NS;
    info->ReadoutTime = (int32)(c->setup.readout_ns / FRAME_INFO_TICK_NS);
}

/* Handles a pending fault at a frame boundary; returns true when the acquisition must end. */
static bool apply_fault(camera *c, ulong64 k) {
    int fault = c->fault_pending;
    if (fault == FAULT_NONE) return false;
    c->fault_pending = FAULT_NONE;
    c->acq.status = READOUT_FAILED;
    if (fault == FAULT_CAM_REMOVED) {
        c->removed = true;
        FRAME_INFO info;
        fill_info(c, &info, k, pvsim_now_ns(), pvsim_now_ns());
        pvsim_fire_callback(c, PL_CALLBACK_CAM_REMOVED, &info);
    }
    return true;
}

/* The oldest timed edge: it starts the frame at its own time if the camera is ready for it by
 * then (`*bof` is the earliest the next exposure may begin); an edge that came while the last
 * frame was still exposing or reading out is ignored, as the camera ignores it. */
static bool take_edge(camera *c, long64 *bof) {
    long64 at = c->acq.edges[c->acq.edge_head];
    c->acq.edge_head = (c->acq.edge_head + 1) % PVSIM_EDGE_QUEUE;
    c->acq.edge_count--;
    if (at < *bof) return false;
    *bof = at;
    c->acq.edges_started++;
    return true;
}

/* ---- the acquisition thread ---------------------------------------------------------------- */

static void *acquisition_thread(void *arg) {
    camera *c = arg;
    pthread_mutex_lock(&c->lock);
    const acq_setup setup = c->setup;
    const uns32 frame_bytes = setup.layout.frame_bytes;
    const double period = period_ns(&setup);
    const double duration = duration_ns(&setup);
    const uns32 summed = setup.layout.sum_count;
    long64 bof = c->acq.t0_ns;
    bool edge_started = false; /* this frame began at a timed edge */

    for (ulong64 k = 0;; k++) {
        if (c->acq.stop_req) break;
        if (c->acq.kind == ACQ_SEQUENCE && k >= c->acq.frames_target) {
            c->acq.status = READOUT_COMPLETE;
            break;
        }
        if (apply_fault(c, k)) break;
        if (waits_for_trigger(setup.trigger_mode, k)) {
            c->acq.waiting_trigger = true;
            bool started = false;
            edge_started = false;
            while (!started) {
                while (!c->acq.stop_req && !c->fault_pending && c->acq.triggers_pending == 0 &&
                       c->acq.edge_count == 0)
                    pthread_cond_wait(&c->cond, &c->lock);
                if (c->acq.stop_req || c->fault_pending) break;
                if (c->acq.triggers_pending > 0) {
                    c->acq.triggers_pending--;
                    long64 now = pvsim_now_ns();
                    if (now > bof) bof = now;
                    started = true;
                } else {
                    started = edge_started = take_edge(c, &bof);
                }
            }
            c->acq.waiting_trigger = false;
            if (c->acq.stop_req) break;
            if (apply_fault(c, k)) break;
        }
        bof += (long64)c->slow_ms * 1000000LL;
        if (!wait_until(c, bof)) {
            if (apply_fault(c, k) || c->acq.stop_req) break;
        }
        if (c->acq.kind == ACQ_CONTINUOUS && setup.circ_mode == CIRC_NO_OVERWRITE &&
            c->acq.consumed + c->acq.n_slots <= k)
            c->acq.overrun_pending = true; /* about to overwrite a frame not yet released */
        c->acq.status = EXPOSURE_IN_PROGRESS;
        FRAME_INFO info;
        fill_info(c, &info, k, bof, bof + (long64)duration);
        pvsim_fire_callback(c, PL_CALLBACK_BOF, &info);
        if (c->acq.stop_req) break;

        frame_params fp;
        pvsim_frame_params(c, k, &fp);
        uns32 slot = (uns32)(k % c->acq.n_slots);
        uns8 *dst = c->acq.buffer + (size_t)slot * frame_bytes;
        /* A summed frame integrates sum_count exposures. */
        uint64_t exposure_value = (uint64_t)setup.exposure * summed;
        frame_timing t = {(uns32)(k + 1), bof - c->acq.t0_ns, bof - c->acq.t0_ns + (long64)duration,
                          setup.exposure_ns * summed, pvsim_speed(c)->line_time_ns,
                          exposure_value > UINT32_MAX ? UINT32_MAX : (uns32)exposure_value,
                          (uns32)pvsim_exp_res_ns(setup.exp_res)};
        pthread_mutex_unlock(&c->lock);

        long64 render_start = pvsim_now_ns();
        pvsim_scene_prepare(&c->scene, &fp);
        pvsim_write_frame(&setup, &c->scene, &fp, &t, dst);
        long64 render_end = pvsim_now_ns();

        pthread_mutex_lock(&c->lock);
        if (c->corrupt_frames && setup.layout.metadata) {
            /* A transfer error: the frame arrives, its metadata signature garbled. */
            c->corrupt_frames--;
            memset(dst, 0xA5, 4);
        }
        c->acq.render_s_total += (double)(render_end - render_start) * 1e-9;
        long64 eof = bof + (long64)duration;
        if (render_end > eof) {
            /* Rendering fell behind the schedule: deliver now and restart the schedule. */
            c->acq.late_frames++;
            eof = render_end;
            /* A frame started by a timed edge began exposing at the edge all the same. */
            if (!edge_started) bof = eof - (long64)duration;
        }
        c->acq.status = READOUT_IN_PROGRESS;
        if (!wait_until(c, eof)) {
            if (c->acq.stop_req) break;
            if (apply_fault(c, k)) break;
        }
        fill_info(c, &info, k, bof, eof);
        c->acq.infos[slot] = info;
        c->acq.frames_done = k + 1;
        /* For a sequence READOUT_COMPLETE means the whole sequence, not one frame. */
        if (c->acq.kind == ACQ_CONTINUOUS)
            c->acq.status = FRAME_AVAILABLE;
        else
            c->acq.status = k + 1 >= c->acq.frames_target ? READOUT_COMPLETE : EXPOSURE_IN_PROGRESS;
        /* Re-arm before anyone hears of this frame: a trigger sent from the EOF callback, or
         * right after it, is for the next frame (the camera is ready once readout ends). */
        if (waits_for_trigger(setup.trigger_mode, k + 1) &&
            !(c->acq.kind == ACQ_SEQUENCE && k + 1 >= c->acq.frames_target))
            c->acq.waiting_trigger = true;
        pthread_cond_broadcast(&c->cond);
        pvsim_fire_callback(c, PL_CALLBACK_EOF, &info);
        bof += (long64)period;
    }
    if (c->acq.status == EXPOSURE_IN_PROGRESS || c->acq.status == READOUT_IN_PROGRESS ||
        (c->acq.kind == ACQ_CONTINUOUS && c->acq.status == FRAME_AVAILABLE && c->acq.stop_req))
        c->acq.status = READOUT_NOT_ACTIVE;
    c->acq.running = false;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

void pvsim_stop_locked(camera *c) {
    if (!c->acq.thread_alive) return;
    c->acq.stop_req = true;
    pthread_cond_broadcast(&c->cond);
    if (pthread_equal(pthread_self(), c->acq.thread)) return; /* stopping from a callback */
    while (c->acq.joining) pthread_cond_wait(&c->cond, &c->lock);
    if (!c->acq.thread_alive) return;
    c->acq.joining = true;
    pthread_t t = c->acq.thread;
    pthread_mutex_unlock(&c->lock);
    pthread_join(t, NULL);
    pthread_mutex_lock(&c->lock);
    c->acq.joining = false;
    c->acq.thread_alive = false;
    pthread_cond_broadcast(&c->cond);
}

/* ---- setup --------------------------------------------------------------------------------- */

static pvsim_error parse_exp_mode(const camera *c, int16 exp_mode, int32 *trigger, int32 *out) {
    int32 mode = (uns16)exp_mode;
    if (mode == TIMED_MODE) {
        *trigger = EXT_TRIG_INTERNAL; /* the classic timed mode runs on the internal trigger */
        *out = c->expose_out;
        return PVSIM_E_NONE;
    }
    *trigger = mode & ~0xFF;
    *out = mode & 0xFF;
    bool trig_ok = false, out_ok = false;
    for (int i = 0; i < c->model->n_exposure_modes; i++)
        trig_ok = trig_ok || c->model->exposure_modes[i].value == *trigger;
    for (int i = 0; i < c->model->n_expose_out_modes; i++)
        out_ok = out_ok || c->model->expose_out_modes[i].value == *out;
    return trig_ok && out_ok ? PVSIM_E_NONE : PVSIM_E_EXPOSURE_MODE_INVALID;
}

static rs_bool setup_locked(camera *c, int kind, uns32 frames, uns16 rgn_total,
                            const rgn_type *rgns, int16 exp_mode, uns32 exposure, int16 circ,
                            uns32 *bytes) {
    if (c->acq.running) return pvsim_fail(PVSIM_E_ACQUISITION_IN_PROGRESS);
    if (bytes == NULL) return pvsim_fail(PVSIM_E_NULL_POINTER);
    pvsim_invalidate_setup(c);
    acq_setup s = {0};
    s.kind = kind;
    s.frames = frames;
    s.circ_mode = circ;
    s.exposure = exposure;
    s.exp_res = c->exp_res;
    pvsim_error err = pvsim_build_layout(c, rgn_total, rgns, &s.layout);
    if (err == PVSIM_E_NONE) err = parse_exp_mode(c, exp_mode, &s.trigger_mode, &s.expose_out);
    s.exposure_ns = (double)exposure * pvsim_exp_res_ns(c->exp_res);
    if (err == PVSIM_E_NONE && (s.exposure_ns < 1000.0 || s.exposure_ns > 3600e9))
        err = PVSIM_E_EXPOSURE_TIME_OUT_OF_RANGE;
    if (err == PVSIM_E_NONE && kind == ACQ_SEQUENCE &&
        (uint64_t)s.layout.frame_bytes * frames > UINT32_MAX)
        err = PVSIM_E_SEQUENCE_TOO_LARGE;
    if (err) return pvsim_fail(err);
    s.readout_ns = pvsim_readout_ns(c, &s.layout);
    s.valid = true;
    c->setup = s;
    c->expose_out = s.expose_out;
    *bytes = kind == ACQ_SEQUENCE ? s.layout.frame_bytes * frames : s.layout.frame_bytes;
    return PV_OK;
}

PVSIM_EXPORT rs_bool pl_exp_setup_seq(int16 hcam, uns16 exp_total, uns16 rgn_total,
                                      const rgn_type *rgn_array, int16 exp_mode,
                                      uns32 exposure_time, uns32 *exp_bytes) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = exp_total == 0
                     ? pvsim_fail(PVSIM_E_ZERO_FRAMES)
                     : setup_locked(c, ACQ_SEQUENCE, exp_total, rgn_total, rgn_array, exp_mode,
                                    exposure_time, CIRC_NONE, exp_bytes);
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pl_exp_setup_cont(int16 hcam, uns16 rgn_total, const rgn_type *rgn_array,
                                       int16 exp_mode, uns32 exposure_time, uns32 *exp_bytes,
                                       int16 buffer_mode) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = buffer_mode != CIRC_OVERWRITE && buffer_mode != CIRC_NO_OVERWRITE
                     ? pvsim_fail(PVSIM_E_INVALID_ARGUMENT)
                     : setup_locked(c, ACQ_CONTINUOUS, 0, rgn_total, rgn_array, exp_mode,
                                    exposure_time, buffer_mode, exp_bytes);
    pvsim_unlock(c);
    return ok;
}

/* ---- start --------------------------------------------------------------------------------- */

static rs_bool start_locked(camera *c, int kind, void *buffer, uint64_t size) {
    if (buffer == NULL) return pvsim_fail(PVSIM_E_NULL_POINTER);
    if (c->acq.running) return pvsim_fail(PVSIM_E_ACQUISITION_IN_PROGRESS);
    if (!c->setup.valid || c->setup.kind != kind)
        return pvsim_fail(PVSIM_E_ACQUISITION_SETUP_REQUIRED);
    uns32 frame = c->setup.layout.frame_bytes;
    if (size == 0 || size % frame != 0) return pvsim_fail(PVSIM_E_BUFFER_SIZE_INVALID);
    pvsim_stop_locked(c); /* reap a thread that ended on its own */
    uns32 slots = (uns32)(size / frame);
    FRAME_INFO *infos = calloc(slots, sizeof *infos);
    if (infos == NULL) return pvsim_fail(PVSIM_E_OUT_OF_MEMORY);
    free(c->acq.infos);
    memset(&c->acq, 0, sizeof c->acq);
    c->acq.infos = infos;
    c->acq.kind = kind;
    c->acq.buffer = buffer;
    c->acq.n_slots = slots;
    c->acq.frames_target = kind == ACQ_SEQUENCE ? c->setup.frames : 0;
    c->acq.status = EXPOSURE_IN_PROGRESS;
    c->acq.running = true;
    /* Armed from the moment start returns, as the camera is: a trigger may follow at once. */
    c->acq.waiting_trigger = waits_for_trigger(c->setup.trigger_mode, 0);
    c->acq.t0_ns = pvsim_now_ns();
    if (pthread_create(&c->acq.thread, NULL, acquisition_thread, c) != 0) {
        c->acq.running = false;
        c->acq.status = READOUT_FAILED;
        return pvsim_fail(PVSIM_E_OUT_OF_MEMORY);
    }
    c->acq.thread_alive = true;
    return PV_OK;
}

PVSIM_EXPORT rs_bool pl_exp_start_seq(int16 hcam, void *pixel_stream) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    uint64_t size = c->setup.valid ? (uint64_t)c->setup.layout.frame_bytes * c->setup.frames : 0;
    rs_bool ok = start_locked(c, ACQ_SEQUENCE, pixel_stream, size);
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pl_exp_start_cont(int16 hcam, void *pixel_stream, uns32 size) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = start_locked(c, ACQ_CONTINUOUS, pixel_stream, size);
    pvsim_unlock(c);
    return ok;
}

/* ---- status -------------------------------------------------------------------------------- */

PVSIM_EXPORT rs_bool pl_exp_check_status(int16 hcam, int16 *status, uns32 *bytes_arrived) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (status == NULL || bytes_arrived == NULL) {
        ok = pvsim_fail(PVSIM_E_NULL_POINTER);
    } else {
        *status = c->acq.kind ? c->acq.status : READOUT_NOT_ACTIVE;
        uint64_t bytes = c->acq.frames_done * (uint64_t)c->setup.layout.frame_bytes;
        *bytes_arrived = bytes > UINT32_MAX ? UINT32_MAX : (uns32)bytes;
    }
    pvsim_unlock(c);
    return ok;
}

static rs_bool check_cont(int16 hcam, int16 *status, uns32 *bytes_arrived, uns32 *buffer_cnt,
                          FRAME_INFO *info) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (status == NULL || bytes_arrived == NULL || buffer_cnt == NULL) {
        ok = pvsim_fail(PVSIM_E_NULL_POINTER);
    } else if (c->acq.kind != ACQ_CONTINUOUS) {
        ok = pvsim_fail(PVSIM_E_ACQUISITION_NOT_RUNNING);
    } else {
        acq_state *a = &c->acq;
        if (a->status == READOUT_FAILED)
            *status = READOUT_FAILED;
        else if (a->frames_done > a->last_checked)
            *status = FRAME_AVAILABLE;
        else
            *status = a->running ? EXPOSURE_IN_PROGRESS : READOUT_NOT_ACTIVE;
        a->last_checked = a->frames_done;
        /* Bytes of the buffer filled in the current pass, and the number of completed passes. */
        uns32 in_pass = a->frames_done ? (uns32)((a->frames_done - 1) % a->n_slots) + 1 : 0;
        *bytes_arrived = in_pass * c->setup.layout.frame_bytes;
        *buffer_cnt = (uns32)(a->frames_done / a->n_slots);
        /* The FRAME_INFO of the newest frame received (FrameNr 0 before the first). */
        if (info != NULL) {
            if (a->frames_done)
                *info = a->infos[(a->frames_done - 1) % a->n_slots];
            else
                memset(info, 0, sizeof *info);
        }
    }
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pl_exp_check_cont_status(int16 hcam, int16 *status, uns32 *bytes_arrived,
                                              uns32 *buffer_cnt) {
    return check_cont(hcam, status, bytes_arrived, buffer_cnt, NULL);
}

PVSIM_EXPORT rs_bool pl_exp_check_cont_status_ex(int16 hcam, int16 *status, uns32 *byte_cnt,
                                                 uns32 *buffer_cnt, FRAME_INFO *frame_info) {
    if (frame_info == NULL) {
        pvsim_clear_error();
        return pvsim_fail(PVSIM_E_NULL_POINTER);
    }
    return check_cont(hcam, status, byte_cnt, buffer_cnt, frame_info);
}

/* ---- frame access -------------------------------------------------------------------------- */

/* Index of the oldest frame still intact in the buffer. While the thread runs, the slot after the
 * newest frame may be being rewritten, so one slot less is guaranteed. */
static ulong64 oldest_intact(const acq_state *a) {
    ulong64 window = a->running ? (a->n_slots > 1 ? a->n_slots - 1 : 1) : a->n_slots;
    return a->frames_done > window ? a->frames_done - window : 0;
}

static pvsim_error check_frames(camera *c) {
    acq_state *a = &c->acq;
    if (a->kind != ACQ_CONTINUOUS) return PVSIM_E_ACQUISITION_NOT_RUNNING;
    if (a->overrun_pending) {
        a->overrun_pending = false;
        if (a->consumed < oldest_intact(a)) a->consumed = oldest_intact(a);
        return PVSIM_E_BUFFER_OVERRUN;
    }
    if (a->frames_done == 0)
        return a->status == READOUT_FAILED ? PVSIM_E_READOUT_FAILED : PVSIM_E_NO_FRAME_AVAILABLE;
    return PVSIM_E_NONE;
}

static void *frame_at(const camera *c, ulong64 index, FRAME_INFO *info) {
    uns32 slot = (uns32)(index % c->acq.n_slots);
    if (info) *info = c->acq.infos[slot];
    return c->acq.buffer + (size_t)slot * c->setup.layout.frame_bytes;
}

static rs_bool get_latest(int16 hcam, void **frame, FRAME_INFO *info) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    pvsim_error err = frame == NULL ? PVSIM_E_NULL_POINTER : check_frames(c);
    if (err)
        ok = pvsim_fail(err);
    else
        *frame = frame_at(c, c->acq.frames_done - 1, info);
    pvsim_unlock(c);
    return ok;
}

static rs_bool get_oldest(int16 hcam, void **frame, FRAME_INFO *info) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    acq_state *a = &c->acq;
    pvsim_error err = frame == NULL ? PVSIM_E_NULL_POINTER : check_frames(c);
    if (err == PVSIM_E_NONE) {
        if (c->setup.circ_mode == CIRC_OVERWRITE && a->consumed < oldest_intact(a))
            a->consumed = oldest_intact(a); /* older frames were overwritten, as allowed */
        if (a->consumed >= a->frames_done) err = PVSIM_E_NO_FRAME_AVAILABLE;
    }
    if (err)
        ok = pvsim_fail(err);
    else
        *frame = frame_at(c, a->consumed, info);
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pl_exp_get_latest_frame(int16 hcam, void **frame) {
    return get_latest(hcam, frame, NULL);
}

PVSIM_EXPORT rs_bool pl_exp_get_latest_frame_ex(int16 hcam, void **frame, FRAME_INFO *info) {
    if (info == NULL) {
        pvsim_clear_error();
        return pvsim_fail(PVSIM_E_NULL_POINTER);
    }
    return get_latest(hcam, frame, info);
}

PVSIM_EXPORT rs_bool pl_exp_get_oldest_frame(int16 hcam, void **frame) {
    return get_oldest(hcam, frame, NULL);
}

PVSIM_EXPORT rs_bool pl_exp_get_oldest_frame_ex(int16 hcam, void **frame, FRAME_INFO *info) {
    if (info == NULL) {
        pvsim_clear_error();
        return pvsim_fail(PVSIM_E_NULL_POINTER);
    }
    return get_oldest(hcam, frame, info);
}

PVSIM_EXPORT rs_bool pl_exp_unlock_oldest_frame(int16 hcam) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    acq_state *a = &c->acq;
    if (a->kind != ACQ_CONTINUOUS)
        ok = pvsim_fail(PVSIM_E_ACQUISITION_NOT_RUNNING);
    else if (a->consumed >= a->frames_done)
        ok = pvsim_fail(PVSIM_E_NO_FRAME_AVAILABLE);
    else
        a->consumed++;
    pvsim_unlock(c);
    return ok;
}

/* ---- triggers ------------------------------------------------------------------------------ */

/* Why a trigger (software) or an edge (hardware) cannot be taken now (PVSIM_E_NONE: it can). */
static pvsim_error trigger_refusal(const camera *c, const uns32 *flags, bool software) {
    if (flags == NULL) return PVSIM_E_NULL_POINTER;
    if (!c->acq.running) return PVSIM_E_ACQUISITION_NOT_RUNNING;
    if (software_mode(c->setup.trigger_mode) != software ||
        (!software && !waits_for_trigger(c->setup.trigger_mode, 0)))
        return software ? PVSIM_E_NOT_SOFTWARE_TRIGGERED : PVSIM_E_NOT_HARDWARE_TRIGGERED;
    return PVSIM_E_NONE;
}

rs_bool pvsim_deliver_trigger(int16 hcam, uns32 *flags, bool software) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    pvsim_error refusal = trigger_refusal(c, flags, software);
    if (refusal != PVSIM_E_NONE) {
        ok = pvsim_fail(refusal);
    } else if (c->acq.waiting_trigger && c->acq.triggers_pending == 0) {
        c->acq.triggers_pending = 1;
        pthread_cond_broadcast(&c->cond);
        *flags = PL_SW_TRIG_STATUS_TRIGGERED;
    } else {
        *flags = PL_SW_TRIG_STATUS_IGNORED; /* an exposure is in progress */
    }
    pvsim_unlock(c);
    return ok;
}

/* An edge on the external trigger input at `at_ns` (CLOCK_MONOTONIC), told now or a little
 * later: the acquisition thread judges it by its time, not by when it was told, so a bench
 * that delivers several edges at once still exposes each frame at its edge. */
rs_bool pvsim_deliver_edge(int16 hcam, long64 at_ns, uns32 *flags) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, false);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    pvsim_error refusal = trigger_refusal(c, flags, false);
    if (refusal != PVSIM_E_NONE) {
        ok = pvsim_fail(refusal);
    } else {
        c->acq.edges_received++;
        if (c->acq.edge_count < PVSIM_EDGE_QUEUE) {
            uns32 tail = (c->acq.edge_head + c->acq.edge_count) % PVSIM_EDGE_QUEUE;
            c->acq.edges[tail] = at_ns;
            c->acq.edge_count++;
            pthread_cond_broadcast(&c->cond);
            *flags = PL_SW_TRIG_STATUS_TRIGGERED;
        } else {
            *flags = PL_SW_TRIG_STATUS_IGNORED; /* far more edges than frames: dropped */
        }
    }
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pl_exp_trigger(int16 hcam, uns32 *flags, uns32 value) {
    if (value != 0) {
        pvsim_clear_error();
        return pvsim_fail(PVSIM_E_INVALID_ARGUMENT);
    }
    return pvsim_deliver_trigger(hcam, flags, true);
}

/* ---- stop ---------------------------------------------------------------------------------- */

static rs_bool stop(int16 hcam, int16 cam_state, bool check_state) {
    pvsim_clear_error();
    camera *c = pvsim_lock_camera(hcam, true);
    if (c == NULL) return PV_FAIL;
    rs_bool ok = PV_OK;
    if (check_state && (cam_state < CCS_NO_CHANGE || cam_state > CCS_CLEAR_OPEN_SHTR))
        ok = pvsim_fail(PVSIM_E_INVALID_ARGUMENT);
    else
        pvsim_stop_locked(c);
    pvsim_unlock(c);
    return ok;
}

PVSIM_EXPORT rs_bool pl_exp_stop_cont(int16 hcam, int16 cam_state) {
    return stop(hcam, cam_state, true);
}

PVSIM_EXPORT rs_bool pl_exp_abort(int16 hcam, int16 cam_state) {
    return stop(hcam, cam_state, true);
}

PVSIM_EXPORT rs_bool pl_exp_finish_seq(int16 hcam, void *pixel_stream, int16 hbuf) {
    (void)pixel_stream;
    (void)hbuf;
    return stop(hcam, 0, false);
}
