#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "cri/pool.h"

/* Shared by the jobs of one test: counters and a gate they wait on. */
struct gate {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned started, finished, dropped;
  bool open;
};

static void gate_init(struct gate *g)
{
  pthread_mutex_init(&g->lock, NULL);
  pthread_cond_init(&g->cond, NULL);
  g->started = g->finished = g->dropped = 0;
  g->open = false;
}

static void gate_destroy(struct gate *g)
{
  pthread_mutex_destroy(&g->lock);
  pthread_cond_destroy(&g->cond);
}

static void gate_open(struct gate *g)
{
  pthread_mutex_lock(&g->lock);
  g->open = true;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->lock);
}

/* Waits (bounded, 20 s: a hang fails the test instead of blocking it) until *counter
 * reaches want; returns whether it did. */
static bool gate_wait_for(struct gate *g, unsigned *counter, unsigned want)
{
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 20;
  pthread_mutex_lock(&g->lock);
  while (*counter < want) {
    if (pthread_cond_timedwait(&g->cond, &g->lock, &deadline) != 0)
      break;
  }
  bool ok = *counter >= want;
  pthread_mutex_unlock(&g->lock);
  return ok;
}

static void blocking_job(void *data)
{
  struct gate *g = data;
  pthread_mutex_lock(&g->lock);
  g->started++;
  pthread_cond_broadcast(&g->cond);
  while (!g->open)
    pthread_cond_wait(&g->cond, &g->lock);
  g->finished++;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->lock);
}

static void drop_job(void *data)
{
  struct gate *g = data;
  pthread_mutex_lock(&g->lock);
  g->dropped++;
  pthread_mutex_unlock(&g->lock);
}

static void runs_every_job(void **state)
{
  (void)state;
  struct gate g;
  gate_init(&g);
  g.open = true;
  struct mascri_pool *pool = mascri_pool_new("t-all", 3);
  for (int i = 0; i < 500; i++)
    mascri_pool_submit(pool, blocking_job, &g);
  assert_true(gate_wait_for(&g, &g.finished, 500));
  assert_int_equal(mascri_pool_free(pool, 10000, drop_job), 0);
  assert_int_equal(g.finished, 500);
  assert_int_equal(g.dropped, 0);
  gate_destroy(&g);
}

/* Blocking jobs up to the maximum all run at once: none waits behind another. */
static void jobs_run_in_parallel_up_to_max(void **state)
{
  (void)state;
  struct gate g;
  gate_init(&g);
  struct mascri_pool *pool = mascri_pool_new("t-par", 4);
  for (int i = 0; i < 4; i++)
    mascri_pool_submit(pool, blocking_job, &g);
  assert_true(gate_wait_for(&g, &g.started, 4));
  /* A fifth waits for a free thread, then runs. */
  mascri_pool_submit(pool, blocking_job, &g);
  gate_open(&g);
  assert_true(gate_wait_for(&g, &g.finished, 5));
  assert_int_equal(mascri_pool_free(pool, 10000, drop_job), 0);
  gate_destroy(&g);
}

/* One idle thread and two jobs submitted back to back: the second gets a thread of its
 * own instead of queueing behind the first. */
static void back_to_back_jobs_with_one_idle_thread(void **state)
{
  (void)state;
  struct gate warm, g;
  gate_init(&warm);
  gate_init(&g);
  warm.open = true;
  struct mascri_pool *pool = mascri_pool_new("t-idle", 8);
  mascri_pool_submit(pool, blocking_job, &warm);
  assert_true(gate_wait_for(&warm, &warm.finished, 1));
  for (int round = 0; round < 20; round++) {
    unsigned base = g.started;
    mascri_pool_submit(pool, blocking_job, &g);
    mascri_pool_submit(pool, blocking_job, &g);
    assert_true(gate_wait_for(&g, &g.started, base + 2));
    gate_open(&g);
    assert_true(gate_wait_for(&g, &g.finished, base + 2));
    pthread_mutex_lock(&g.lock);
    g.open = false;
    pthread_mutex_unlock(&g.lock);
  }
  assert_int_equal(mascri_pool_free(pool, 10000, drop_job), 0);
  gate_destroy(&warm);
  gate_destroy(&g);
}

static void *open_later(void *arg)
{
  struct gate *g = arg;
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, NULL);
  gate_open(g);
  return NULL;
}

/* Free drops the queued jobs (through drop) and waits for the running ones. */
static void free_drops_queued_and_waits_for_running(void **state)
{
  (void)state;
  struct gate g;
  gate_init(&g);
  struct mascri_pool *pool = mascri_pool_new("t-free", 1);
  for (int i = 0; i < 4; i++)
    mascri_pool_submit(pool, blocking_job, &g);
  assert_true(gate_wait_for(&g, &g.started, 1));
  pthread_t t;
  pthread_create(&t, NULL, open_later, &g);
  assert_int_equal(mascri_pool_free(pool, 20000, drop_job), 0);
  pthread_join(t, NULL);
  assert_int_equal(g.started, 1);
  assert_int_equal(g.finished, 1);
  assert_int_equal(g.dropped, 3);
  gate_destroy(&g);
}

static void unused_pool_frees(void **state)
{
  (void)state;
  struct mascri_pool *pool = mascri_pool_new("t-none", 0);
  assert_int_equal(mascri_pool_free(pool, 0, NULL), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(runs_every_job),
      cmocka_unit_test(jobs_run_in_parallel_up_to_max),
      cmocka_unit_test(back_to_back_jobs_with_one_idle_thread),
      cmocka_unit_test(free_drops_queued_and_waits_for_running),
      cmocka_unit_test(unused_pool_frees),
  };
  return cmocka_run_group_tests_name("cri-pool", tests, NULL, NULL);
}
