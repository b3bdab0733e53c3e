#include "lk_parallel.h"

#include "lk_frames.h"

#if defined(__unix__) || defined(__APPLE__)
#define LK_HAVE_PTHREADS 1
#include <pthread.h>
#include <unistd.h>
#endif

typedef struct {
    void (*task)(void *, int, int);
    void *ctx;
    int index, count;
} lk_share;

#ifdef LK_HAVE_PTHREADS
static void *run_share(void *arg)
{
    lk_share *share = arg;
    share->task(share->ctx, share->index, share->count);
    return NULL;
}
#endif

void lk_parallel(int count, void (*task)(void *ctx, int index, int count), void *ctx)
{
    if (count > LK_MAX_THREADS)
        count = LK_MAX_THREADS;
    if (count <= 1) {
        task(ctx, 0, 1);
        return;
    }
#ifdef LK_HAVE_PTHREADS
    pthread_t threads[LK_MAX_THREADS];
    lk_share shares[LK_MAX_THREADS];
    int started[LK_MAX_THREADS] = {0};
    for (int i = 1; i < count; i++) {
        shares[i] = (lk_share){task, ctx, i, count};
        started[i] = pthread_create(&threads[i], NULL, run_share, &shares[i]) == 0;
    }
    task(ctx, 0, count);
    for (int i = 1; i < count; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        else
            task(ctx, i, count);
    }
#else
    for (int i = 0; i < count; i++)
        task(ctx, i, count);
#endif
}

int lk_cpu_count(void)
{
#ifdef LK_HAVE_PTHREADS
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > LK_MAX_THREADS ? LK_MAX_THREADS : (int)n);
#else
    return 1;
#endif
}

/* Threads pay off from a few megabytes of pixels on; below that their start-up costs more. */
int lk_threads_for(size_t bytes, int requested)
{
    if (requested > 0)
        return requested > LK_MAX_THREADS ? LK_MAX_THREADS : requested;
    if (bytes < ((size_t)4 << 20))
        return 1;
    int cpus = lk_cpu_count();
    return cpus < 4 ? cpus : 4;
}
