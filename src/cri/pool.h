/* A worker pool: jobs run on threads started on demand up to a maximum, so a burst of slow
 * jobs does not queue behind each other until that maximum is reached. */
#ifndef MASCRI_CRI_POOL_H
#define MASCRI_CRI_POOL_H

typedef void (*mascri_pool_fn)(void *data);
struct mascri_pool;

/* max_threads >= 1; no thread runs until the first job. name is used in thread names. */
struct mascri_pool *mascri_pool_new(const char *name, unsigned max_threads);
void mascri_pool_submit(struct mascri_pool *pool, mascri_pool_fn fn, void *data);
/* Stops taking jobs, drops queued ones (calling fn with data == NULL is not done: dropped
 * jobs are returned through drop), waits up to timeout_ms for running ones, frees the
 * pool. Returns the number of threads still busy when it gave up (they are detached). */
unsigned mascri_pool_free(struct mascri_pool *pool, unsigned timeout_ms, void (*drop)(void *data));

#endif
