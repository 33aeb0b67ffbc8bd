/* notify.c — the process-wide event callback: the library tells a program about slow
 * one-off work (an OpenCL program compiled from source) and the program decides whether
 * to say something; the library itself never prints.
 */
#include "internal.h"

#include <pthread.h>

static pthread_mutex_t oct__event_lock = PTHREAD_MUTEX_INITIALIZER;
static oct_event_fn oct__event_fn;
static void *oct__event_user;

void oct_set_event_callback(oct_event_fn fn, void *user)
{
    pthread_mutex_lock(&oct__event_lock);
    oct__event_fn = fn;
    oct__event_user = user;
    pthread_mutex_unlock(&oct__event_lock);
}

void oct__event(const oct_event *e)
{
    pthread_mutex_lock(&oct__event_lock);
    oct_event_fn fn = oct__event_fn;
    void *user = oct__event_user;
    pthread_mutex_unlock(&oct__event_lock);
    if (fn) fn(user, e);
}
