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
/* Stop and join the workers, free the pool; NULL is a no-op. */
void oct__pool_free(oct__pool *p);

#endif /* OCT_THREADPOOL_H */
