/* A tiny parallel-for on POSIX threads (sequential where there are none). Internal to lk_frames. */
#ifndef LK_PARALLEL_H
#define LK_PARALLEL_H

/* The most threads lk_parallel runs (callers size per-thread scratch space with it). */
#define LK_MAX_THREADS 16

/* Call task(ctx, i, count) for i in [0, count): i = 0 on the calling thread, the rest on new
 * threads. If a thread cannot be started, its share runs on the calling thread instead. */
void lk_parallel(int count, void (*task)(void *ctx, int index, int count), void *ctx);

/* Online processors (at least 1). */
int lk_cpu_count(void);

#endif
