/* threadpool.h — a small persistent pool of worker threads, one per CPU context. A job is
 * a function that takes its work item by item from a counter of its own until none is
 * left; the caller runs it, and so does every worker that gets the CPU while the job is
 * open. The job ends when the caller's run has returned and the workers that joined have
 * finished theirs: a worker the OS has not scheduled yet is never waited for. */
#ifndef OCT_THREADPOOL_H
#define OCT_THREADPOOL_H

#include "internal.h"

typedef struct oct__pool oct__pool;
/* One thread's run of a job; `thread` is 0 on the caller, i on worker i (for scratch). */
typedef void (*oct__pool_fn)(void *arg, int thread);

/* A pool of `threads` (>= 1) threads counting the caller, so threads - 1 workers. When a
 * worker cannot be started the pool keeps the ones that did (oct__pool_size says how
 * many); out of memory or failing to make a lock is an error. */
oct_status oct__pool_create(int threads, oct__pool **out);
/* Threads of the pool, the caller included (1 for NULL). */
int oct__pool_size(const oct__pool *p);
/* Run fn(arg, t) on the caller (t = 0) and on workers t in [1, threads) that join, with
 * threads clamped to [1, size]. fn must not fail and must not call back into the pool. */
void oct__pool_run(oct__pool *p, int threads, oct__pool_fn fn, void *arg);
/* Timing, for profiles (off when the pool is made): while on, each thread's seconds
 * inside its runs of jobs are summed, and the caller's seconds spent waiting at the end of
 * a job for workers still inside it; turning it on zeroes the sums. NULL: no-op. */
void oct__pool_timing(oct__pool *p, int on);
/* The sums since timing was last turned on: run[t] for threads t in [0, n) (0 past the
 * pool's size), *wait the caller's (NULL: not wanted). A NULL pool reads zeros. Read them
 * on the caller's thread between jobs. */
void oct__pool_times(const oct__pool *p, double *run, int n, double *wait);
/* Stop and join the workers, free the pool; NULL is a no-op. */
void oct__pool_free(oct__pool *p);

#endif /* OCT_THREADPOOL_H */
