/* Concurrency stress of the simulated libpvcam, built with -fsanitize=thread by
 * test_pvcam_sim_threads.py. Several threads use the library the way a camera driver does while
 * the acquisition thread delivers frames: callbacks that read frames and stop the acquisition,
 * a reader draining a NO_OVERWRITE buffer, a poller reading live parameters, triggers, faults,
 * and start/stop/close racing each other. Exit status 0 means every call behaved; ThreadSanitizer
 * reports data races on stderr.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef uint16_t rs_bool;
typedef struct { uint16_t s1, s2, sbin, p1, p2, pbin; } rgn_type;
typedef struct {
    uint8_t guid[16];
    int16_t hCam;
    int32_t FrameNr;
    int64_t TimeStamp;
    int32_t ReadoutTime;
    int64_t TimeStampBOF;
} FRAME_INFO;

rs_bool pl_pvcam_init(void);
rs_bool pl_pvcam_uninit(void);
rs_bool pl_cam_open(char *name, int16_t *hcam, int16_t mode);
rs_bool pl_cam_close(int16_t hcam);
rs_bool pl_cam_register_callback_ex3(int16_t, int32_t, void *, void *);
rs_bool pl_cam_deregister_callback(int16_t, int32_t);
rs_bool pl_get_param(int16_t, uint32_t, int16_t, void *);
rs_bool pl_set_param(int16_t, uint32_t, void *);
rs_bool pl_exp_setup_cont(int16_t, uint16_t, const rgn_type *, int16_t, uint32_t, uint32_t *,
                          int16_t);
rs_bool pl_exp_setup_seq(int16_t, uint16_t, uint16_t, const rgn_type *, int16_t, uint32_t,
                         uint32_t *);
rs_bool pl_exp_start_cont(int16_t, void *, uint32_t);
rs_bool pl_exp_start_seq(int16_t, void *);
rs_bool pl_exp_check_status(int16_t, int16_t *, uint32_t *);
rs_bool pl_exp_check_cont_status(int16_t, int16_t *, uint32_t *, uint32_t *);
rs_bool pl_exp_get_latest_frame_ex(int16_t, void **, FRAME_INFO *);
rs_bool pl_exp_get_oldest_frame(int16_t, void **);
rs_bool pl_exp_unlock_oldest_frame(int16_t);
rs_bool pl_exp_trigger(int16_t, uint32_t *, uint32_t);
rs_bool pl_exp_stop_cont(int16_t, int16_t);
rs_bool pl_exp_abort(int16_t, int16_t);
int16_t pl_error_code(void);
rs_bool pvsim_inject_fault(int16_t, int32_t, uint32_t);
rs_bool pvsim_set_scene(int16_t, uint32_t, uint16_t, double, double, double, double);

#define PARAM_TEMP 0x0102020Du
#define PARAM_TEMP_SETPOINT 0x0102020Eu
#define PARAM_METADATA_ENABLED 0x0B0300A8u
#define EXT_TRIG_INTERNAL 1792
#define EXT_TRIG_SOFTWARE_EDGE 3072
#define CIRC_OVERWRITE 1
#define CIRC_NO_OVERWRITE 2
#define PL_CALLBACK_EOF 1
#define PL_CALLBACK_CAM_REMOVED 3

static int failures;
#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "CHECK failed at line %d: %s (error %d)\n", __LINE__, #cond,         \
                    pl_error_code());                                                            \
            failures++;                                                                          \
        }                                                                                        \
    } while (0)

static atomic_int eof_count;
static atomic_int stop_at;
static atomic_int running = 1;
static int16_t cam_a, cam_b;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void on_eof(const FRAME_INFO *info, void *ctx) {
    int16_t hcam = *(int16_t *)ctx;
    void *frame;
    FRAME_INFO latest;
    atomic_fetch_add(&eof_count, 1);
    if (pl_exp_get_latest_frame_ex(hcam, &frame, &latest))
        CHECK(latest.FrameNr >= info->FrameNr);
    if (info->FrameNr == atomic_load(&stop_at)) pl_exp_stop_cont(hcam, 1); /* from the callback */
}

static void on_removed(const FRAME_INFO *info, void *ctx) {
    (void)info;
    atomic_fetch_add((atomic_int *)ctx, 1);
}

static void *poller(void *arg) {
    (void)arg;
    while (atomic_load(&running)) {
        int16_t t;
        pl_get_param(cam_a, PARAM_TEMP, 0, &t);
        int16_t set = -500;
        pl_set_param(cam_a, PARAM_TEMP_SETPOINT, &set);
        int16_t status;
        uint32_t bytes, passes;
        pl_exp_check_cont_status(cam_a, &status, &bytes, &passes);
        uint32_t flags;
        pl_exp_trigger(cam_b, &flags, 0);
        sleep_ms(1);
    }
    return NULL;
}

static void *drainer(void *arg) {
    (void)arg;
    while (atomic_load(&running)) {
        void *frame;
        if (pl_exp_get_oldest_frame(cam_b, &frame)) pl_exp_unlock_oldest_frame(cam_b);
        sleep_ms(1);
    }
    return NULL;
}

int main(void) {
    CHECK(pl_pvcam_init());
    CHECK(pl_cam_open("pvsim-kinetix", &cam_a, 0));
    CHECK(pl_cam_open("pvsim-primebsi", &cam_b, 0));
    rs_bool on = 1;
    CHECK(pl_set_param(cam_a, PARAM_METADATA_ENABLED, &on));
    CHECK(pl_cam_register_callback_ex3(cam_a, PL_CALLBACK_EOF, (void *)on_eof, &cam_a));
    CHECK(pl_cam_register_callback_ex3(cam_b, PL_CALLBACK_EOF, (void *)on_eof, &cam_b));
    atomic_int removed = 0;
    CHECK(pl_cam_register_callback_ex3(cam_a, PL_CALLBACK_CAM_REMOVED, (void *)on_removed,
                                       &removed));

    rgn_type rois[2] = {{0, 63, 1, 0, 31, 1}, {100, 163, 1, 100, 131, 1}};
    uint32_t frame_a, frame_b;
    CHECK(pl_exp_setup_cont(cam_a, 2, rois, EXT_TRIG_INTERNAL, 1, &frame_a, CIRC_OVERWRITE));
    CHECK(pl_exp_setup_cont(cam_b, 1, rois, EXT_TRIG_SOFTWARE_EDGE, 1, &frame_b,
                            CIRC_NO_OVERWRITE));
    uint8_t *buf_a = malloc(frame_a * 8), *buf_b = malloc(frame_b * 8);

    pthread_t poll_thread, drain_thread;
    pthread_create(&poll_thread, NULL, poller, NULL);
    pthread_create(&drain_thread, NULL, drainer, NULL);

    for (int round = 0; round < 12; round++) {
        atomic_store(&stop_at, round % 3 == 0 ? 4 : -1);
        CHECK(pl_exp_start_cont(cam_a, buf_a, frame_a * 8));
        CHECK(pl_exp_start_cont(cam_b, buf_b, frame_b * 8));
        sleep_ms(15);
        if (round % 4 == 1) pvsim_inject_fault(cam_a, 2, 0); /* readout failure */
        sleep_ms(10);
        CHECK(pl_exp_stop_cont(cam_a, 1));
        CHECK(pl_exp_abort(cam_b, 1));
    }

    /* A sequence, polled to completion. */
    uint32_t total;
    CHECK(pl_exp_setup_seq(cam_a, 5, 1, rois, EXT_TRIG_INTERNAL, 1, &total));
    uint8_t *seq = malloc(total);
    CHECK(pl_exp_start_seq(cam_a, seq));
    int16_t status = 0;
    uint32_t arrived;
    for (int i = 0; i < 2000 && status != 3; i++) {
        pl_exp_check_status(cam_a, &status, &arrived);
        sleep_ms(1);
    }
    CHECK(status == 3 && arrived == total);

    /* Unplug mid-stream, then close while the callback may be running; close a running one. */
    CHECK(pl_exp_setup_cont(cam_a, 2, rois, EXT_TRIG_INTERNAL, 1, &frame_a, CIRC_OVERWRITE));
    CHECK(pl_exp_start_cont(cam_a, buf_a, frame_a * 8));
    sleep_ms(5);
    CHECK(pvsim_inject_fault(cam_a, 1, 0));
    for (int i = 0; i < 1000 && atomic_load(&removed) == 0; i++) sleep_ms(1);
    CHECK(atomic_load(&removed) == 1);
    CHECK(!pl_exp_start_cont(cam_a, buf_a, frame_a * 8));
    CHECK(pl_cam_close(cam_a));
    CHECK(pl_exp_start_cont(cam_b, buf_b, frame_b * 8));
    sleep_ms(5);

    atomic_store(&running, 0);
    pthread_join(poll_thread, NULL);
    pthread_join(drain_thread, NULL);
    CHECK(pl_pvcam_uninit()); /* closes cam_b, stopping its acquisition */
    free(buf_a);
    free(buf_b);
    free(seq);
    printf("eof callbacks: %d, failures: %d\n", atomic_load(&eof_count), failures);
    return failures == 0 && atomic_load(&eof_count) > 0 ? 0 : 1;
}
