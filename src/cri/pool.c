#include "cri/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"

struct job {
  mascri_pool_fn fn;
  void *data;
  struct job *next;
};

struct mascri_pool {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct job *head, *tail;
  pthread_t *threads;
  unsigned n_threads, max_threads, idle, busy;
  unsigned queued; /* jobs waiting for a thread */
  bool stopping;
  char name[12];
};

static void *worker_main(void *arg)
{
  struct mascri_pool *pool = arg;
  pthread_mutex_lock(&pool->lock);
  for (;;) {
    while (pool->head == NULL && !pool->stopping) {
      pool->idle++;
      pthread_cond_wait(&pool->cond, &pool->lock);
      pool->idle--;
    }
    if (pool->stopping)
      break;
    struct job *job = pool->head;
    pool->head = job->next;
    pool->queued--;
    if (pool->head == NULL)
      pool->tail = NULL;
    pool->busy++;
    pthread_mutex_unlock(&pool->lock);
    job->fn(job->data);
    free(job);
    pthread_mutex_lock(&pool->lock);
    pool->busy--;
    pthread_cond_broadcast(&pool->cond);
  }
  pthread_mutex_unlock(&pool->lock);
  return NULL;
}

struct mascri_pool *mascri_pool_new(const char *name, unsigned max_threads)
{
  struct mascri_pool *pool = xmalloc0(sizeof(*pool));
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->cond, NULL);
  pool->max_threads = max_threads ? max_threads : 1;
  pool->threads = xcalloc(pool->max_threads, sizeof(pthread_t));
  snprintf(pool->name, sizeof(pool->name), "%s", name);
  return pool;
}

/* Called with the lock held. Idle threads only count until they wake up, so compare the
 * jobs waiting with them: two jobs submitted back to back with one idle thread need a
 * second thread. */
static void maybe_spawn(struct mascri_pool *pool)
{
  if (pool->queued <= pool->idle || pool->n_threads >= pool->max_threads)
    return;
  pthread_t t;
  int r = pthread_create(&t, NULL, worker_main, pool);
  if (r != 0) {
    log_warning("cannot start a %s worker thread: %s", pool->name, strerror(r));
    return;
  }
  char tname[16];
  snprintf(tname, sizeof(tname), "%s-%u", pool->name, pool->n_threads);
  pthread_setname_np(t, tname);
  pool->threads[pool->n_threads++] = t;
}

void mascri_pool_submit(struct mascri_pool *pool, mascri_pool_fn fn, void *data)
{
  struct job *job = xmalloc0(sizeof(*job));
  job->fn = fn;
  job->data = data;
  pthread_mutex_lock(&pool->lock);
  if (pool->tail)
    pool->tail->next = job;
  else
    pool->head = job;
  pool->tail = job;
  pool->queued++;
  /* Every queued job beyond the idle threads wants a thread of its own. */
  maybe_spawn(pool);
  pthread_cond_signal(&pool->cond);
  pthread_mutex_unlock(&pool->lock);
}

unsigned mascri_pool_free(struct mascri_pool *pool, unsigned timeout_ms, void (*drop)(void *data))
{
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }

  pthread_mutex_lock(&pool->lock);
  struct job *queued = pool->head;
  pool->head = pool->tail = NULL;
  pool->queued = 0;
  pool->stopping = true;
  pthread_cond_broadcast(&pool->cond);
  pthread_mutex_unlock(&pool->lock);
  while (queued) {
    struct job *next = queued->next;
    if (drop)
      drop(queued->data);
    free(queued);
    queued = next;
  }

  unsigned left = 0;
  for (unsigned i = 0; i < pool->n_threads; i++) {
    if (pthread_timedjoin_np(pool->threads[i], NULL, &deadline) != 0) {
      pthread_detach(pool->threads[i]);
      left++;
    }
  }
  if (left > 0)
    return left; /* the busy threads still use the pool: leak it, the process is exiting */
  pthread_mutex_destroy(&pool->lock);
  pthread_cond_destroy(&pool->cond);
  free(pool->threads);
  free(pool);
  return 0;
}
