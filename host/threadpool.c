/* threadpool.c — the CPU backend's persistent worker threads. A job is published by
 * bumping a generation counter; idle workers spin on it briefly (the ops of a forward
 * pass follow each other within microseconds), then sleep on a condition variable. A
 * worker joins a job by registering in `active` and then checking the job is still
 * open; the caller closes the job once its own run returns (all work taken) and waits
 * only for the registered workers. Both sides use sequentially consistent atomics for
 * that handshake: either the caller sees the worker registered, or the worker sees the
 * job closed and never touches it. */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Polls before sleeping: the first OCT__POOL_PAUSES with a pause instruction (about 25 ns
 * each here), the rest with sched_yield, so that when the OS has put two of the pool's
 * threads on one core the waiting one hands the core to the one with work. */
#ifndef OCT__POOL_SPIN
#define OCT__POOL_SPIN 2000
#endif
#ifndef OCT__POOL_PAUSES
#define OCT__POOL_PAUSES 400
#endif

/* One thread's timing sums (oct__pool_timing), padded to 64 bytes: every thread writes
 * only its own, and only while a profile has timing on. */
typedef struct {
    double run, wait;
    char pad[64 - 2 * sizeof(double)];
} pool__times;

typedef struct {
    oct__pool *pool;
    pthread_t thread;
    int index;                 /* 1 .. size - 1 */
} pool__worker;

struct oct__pool {
    int size;                  /* threads counting the caller */
    pool__worker *workers;     /* size - 1 started workers (room for threads - 1) */
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* a new job, or stop */
    pthread_cond_t idle;       /* the last registered worker left the job */
    atomic_uint gen;           /* number of the last job published (never 0 once one is) */
    atomic_uint open;          /* number of the job workers may join; 0: none */
    atomic_int active;         /* workers registered in a job */
    atomic_int stop;
    /* The job: written before it opens, read by workers that joined it. */
    oct__pool_fn fn;
    void *arg;
    int threads;
    /* Timing: on, and the sums of threads 0 .. size - 1 (allocated with the pool). */
    int timing;
    pool__times *times;
};

/* Seconds on the library's monotonic clock. */
static double pool__now(void) { return 1e-3 * oct__now_ms(); }

/* fn(arg, t), its time added to thread t's run sum while timing is on. */
static void pool__call(oct__pool *p, oct__pool_fn fn, void *arg, int t)
{
    if (!p || !p->timing) {
        fn(arg, t);
        return;
    }
    double t0 = pool__now();
    fn(arg, t);
    p->times[t].run += pool__now() - t0;
}

/* The i-th poll of a wait. */
static inline void pool__relax(int i)
{
    if (i >= OCT__POOL_PAUSES) {
        sched_yield();
        return;
    }
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void *pool__main(void *arg)
{
    pool__worker *w = arg;
    oct__pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load(&p->gen);
        for (int i = 0; g == seen && i < OCT__POOL_SPIN; i++) {
            pool__relax(i);
            g = atomic_load(&p->gen);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->lock);
            while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->wake, &p->lock);
            pthread_mutex_unlock(&p->lock);
        }
        seen = g;
        if (atomic_load(&p->stop)) break;
        atomic_fetch_add(&p->active, 1);
        if (atomic_load(&p->open) == g && w->index < p->threads) pool__call(p, p->fn, p->arg, w->index);
        if (atomic_fetch_sub(&p->active, 1) == 1) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->idle);
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

oct_status oct__pool_create(int threads, oct__pool **out)
{
    *out = NULL;
    if (threads < 1) threads = 1;
    oct__pool *p = oct__calloc(1, sizeof *p);
    if (!p) return oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory for the thread pool");
    p->size = 1;
    p->times = oct__calloc((size_t)threads, sizeof *p->times);
    if (!p->times) {
        free(p);
        return oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory for the thread pool");
    }
    if (threads > 1) {
        p->workers = oct__calloc((size_t)threads - 1, sizeof *p->workers);
        if (!p->workers) {
            free(p->times);
            free(p);
            return oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory for %d worker threads", threads - 1);
        }
    }
    if (pthread_mutex_init(&p->lock, NULL) != 0) goto fail_lock;
    if (pthread_cond_init(&p->wake, NULL) != 0) goto fail_wake;
    if (pthread_cond_init(&p->idle, NULL) != 0) goto fail_idle;
    atomic_init(&p->gen, 0u);
    atomic_init(&p->open, 0u);
    atomic_init(&p->active, 0);
    atomic_init(&p->stop, 0);
    /* A worker that cannot be started leaves a smaller pool: the work is shared by the
     * threads there are (fault injection counts this call as fallible). */
    /* Workers run only octcl's kernels (whose buffers are on the heap): 2 MB of stack
     * each, not the 8 MB the stack limit gives by default, so many threads fit an
     * address-space limit (OCTCL_THREADS=600 under 4 GB), and a small `ulimit -s` does
     * not shrink them. */
    pthread_attr_t attr;
    int have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr && pthread_attr_setstacksize(&attr, (size_t)2 << 20) != 0) {
        pthread_attr_destroy(&attr);
        have_attr = 0;
    }
    for (int i = 1; i < threads; i++) {
        pool__worker *w = &p->workers[i - 1];
        w->pool = p;
        w->index = i;
        if (oct__fault_hit() || pthread_create(&w->thread, have_attr ? &attr : NULL, pool__main, w) != 0) break;
        p->size++;
    }
    if (have_attr) pthread_attr_destroy(&attr);
    *out = p;
    return OCT_OK;

fail_idle:
    pthread_cond_destroy(&p->wake);
fail_wake:
    pthread_mutex_destroy(&p->lock);
fail_lock:
    free(p->workers);
    free(p->times);
    free(p);
    return oct__fail(OCT_ERR_HOST_MEMORY, "cpu: could not create the thread pool's lock");
}

int oct__pool_size(const oct__pool *p) { return p ? p->size : 1; }

void oct__pool_run(oct__pool *p, int threads, oct__pool_fn fn, void *arg)
{
    int size = oct__pool_size(p);
    if (threads > size) threads = size;
    if (threads <= 1) {
        pool__call(p, fn, arg, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->threads = threads;
    unsigned g = atomic_load(&p->gen) + 1u;
    if (g == 0) g = 1;
    atomic_store(&p->open, g);
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->gen, g);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    pool__call(p, fn, arg, 0);

    /* Every item is taken: close the job, then wait for the workers inside it. */
    atomic_store(&p->open, 0u);
    double t0 = p->timing ? pool__now() : 0;
    int done = 0;
    for (int i = 0; i < OCT__POOL_SPIN && !done; i++) {
        done = atomic_load(&p->active) == 0;
        if (!done) pool__relax(i);
    }
    if (!done) {
        pthread_mutex_lock(&p->lock);
        while (atomic_load(&p->active) != 0) pthread_cond_wait(&p->idle, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
    if (p->timing) p->times[0].wait += pool__now() - t0;
}

void oct__pool_timing(oct__pool *p, int on)
{
    if (!p) return;
    if (on)
        for (int t = 0; t < p->size; t++) p->times[t].run = p->times[t].wait = 0;
    p->timing = on != 0;
}

void oct__pool_times(const oct__pool *p, double *run, int n, double *wait)
{
    for (int t = 0; t < n; t++) run[t] = p && t < p->size ? p->times[t].run : 0;
    if (wait) *wait = p ? p->times[0].wait : 0;
}

void oct__pool_free(oct__pool *p)
{
    if (!p) return;
    if (p->size > 1) {
        pthread_mutex_lock(&p->lock);
        atomic_store(&p->stop, 1);
        unsigned g = atomic_load(&p->gen) + 1u;
        atomic_store(&p->gen, g ? g : 1u);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
        for (int i = 0; i < p->size - 1; i++) pthread_join(p->workers[i].thread, NULL);
    }
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p->times);
    free(p);
}
