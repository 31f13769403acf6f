#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "sandbox/objtable.h"

/* A stand-in for a pod or a container: the header plus the strings it points at. */
struct thing {
  struct mascri_obj obj;
  char id[65];
  char name[32];
};

static atomic_int freed;

static void free_thing(struct mascri_obj *o)
{
  mascri_obj_destroy(o);
  free((struct thing *)((char *)o - offsetof(struct thing, obj)));
  freed++;
}

static const struct mascri_objtable_kind kind = {
    .what = "thing",
    .name_taken = "is held by",
    .free = free_thing,
};

/* id: 64 hex digits starting with prefix, padded with c. */
static struct thing *thing_new(const char *prefix, char c, const char *name)
{
  struct thing *t = xmalloc0(sizeof(*t));
  mascri_obj_init(&t->obj);
  memset(t->id, c, 64);
  memcpy(t->id, prefix, strlen(prefix));
  snprintf(t->name, sizeof(t->name), "%s", name);
  t->obj.id = t->id;
  t->obj.name = t->name;
  return t;
}

static struct thing *add(struct mascri_objtable *t, const char *prefix, char c, const char *name)
{
  struct thing *x = thing_new(prefix, c, name);
  mascri_objtable_lock(t);
  mascri_objtable_add_locked(t, &x->obj);
  mascri_objtable_unlock(t);
  return x;
}

static struct mascri_obj *find(struct mascri_objtable *t, const char *id, mascri_error_t *err)
{
  mascri_error_release(err);
  mascri_objtable_lock(t);
  struct mascri_obj *o = mascri_objtable_find_locked(t, id, err);
  mascri_objtable_unlock(t);
  return o;
}

static int setup(void **state)
{
  struct mascri_objtable *t = xmalloc(sizeof(*t));
  mascri_objtable_init(t, &kind);
  freed = 0;
  *state = t;
  return 0;
}

static int teardown(void **state)
{
  mascri_objtable_destroy(*state);
  free(*state);
  return 0;
}

static void lookup(void **state)
{
  struct mascri_objtable *t = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct thing *a = add(t, "abc", '0', "a");
  struct thing *b = add(t, "def", '1', "b");
  assert_ptr_equal(find(t, a->id, &err), &a->obj);
  assert_ptr_equal(find(t, "d", &err), &b->obj);
  assert_ptr_equal(find(t, "abc0", &err), &a->obj);
  assert_null(find(t, "abd", &err));
  assert_int_equal(err->kind, MASCRI_ERR_NOT_FOUND);
  assert_string_equal(mascri_error_message(&err), "thing \"abd\" not found");
  assert_null(find(t, "", &err));
  assert_int_equal(err->kind, MASCRI_ERR_INVALID_ARGUMENT);
  assert_null(find(t, NULL, &err));
  assert_int_equal(err->kind, MASCRI_ERR_INVALID_ARGUMENT);
  assert_true(mascri_obj_is_id(a->id));
  assert_false(mascri_obj_is_id("abc"));
  assert_false(
      mascri_obj_is_id("ABC0000000000000000000000000000000000000000000000000000000000000"));
}

static void ambiguous_prefix(void **state)
{
  struct mascri_objtable *t = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct thing *a = add(t, "ab", '0', "a");
  add(t, "ab", '1', "b");
  assert_null(find(t, "ab", &err));
  assert_int_equal(err->kind, MASCRI_ERR_INVALID_ARGUMENT);
  assert_string_equal(mascri_error_message(&err), "thing id prefix \"ab\" is ambiguous");
  /* A full id is never ambiguous, even when it is also a prefix of nothing else. */
  assert_ptr_equal(find(t, a->id, &err), &a->obj);
  assert_non_null(find(t, "ab1", &err));
}

static void creating_is_invisible(void **state)
{
  struct mascri_objtable *t = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct thing *a = thing_new("aa", '0', "a");
  char *existing = NULL;
  assert_int_equal(mascri_objtable_reserve(t, &a->obj, NULL, NULL, &existing, &err), 0);
  assert_null(find(t, "aa", &err));
  assert_int_equal(err->kind, MASCRI_ERR_NOT_FOUND);
  mascri_objtable_lock(t);
  assert_ptr_equal(mascri_objtable_get_locked(t, a->id), &a->obj);
  mascri_objtable_unlock(t);
  mascri_objtable_settle(t, &a->obj, true);
  assert_ptr_equal(find(t, "aa", &err), &a->obj);
}

static size_t count_created(struct mascri_objtable *t)
{
  size_t n = 0, i = 0;
  mascri_objtable_lock(t);
  while (mascri_objtable_next_locked(t, &i))
    n++;
  mascri_objtable_unlock(t);
  return n;
}

static void iteration(void **state)
{
  struct mascri_objtable *t = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct thing *a = add(t, "aa", '0', "a");
  struct thing *b = thing_new("bb", '0', "b");
  char *existing = NULL;
  assert_int_equal(mascri_objtable_reserve(t, &b->obj, NULL, NULL, &existing, &err), 0);
  struct thing *c = add(t, "cc", '0', "c");
  /* Creation order, the one being created left out. */
  size_t i = 0;
  mascri_objtable_lock(t);
  assert_ptr_equal(mascri_objtable_next_locked(t, &i), &a->obj);
  assert_ptr_equal(mascri_objtable_next_locked(t, &i), &c->obj);
  assert_null(mascri_objtable_next_locked(t, &i));
  mascri_objtable_unlock(t);
  mascri_objtable_settle(t, &b->obj, true);
  assert_int_equal(count_created(t), 3);
}

static void name_taken(void **state)
{
  struct mascri_objtable *t = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct thing *a = add(t, "aa", '0', "web");
  struct thing *b = thing_new("bb", '0', "web");
  char *existing = NULL;
  assert_int_equal(mascri_objtable_reserve(t, &b->obj, NULL, NULL, &existing, &err), -1);
  assert_int_equal(err->kind, MASCRI_ERR_ALREADY_EXISTS);
  _cleanup_free_ char *want = xasprintf("thing name \"web\" is held by %s", a->id);
  assert_string_equal(mascri_error_message(&err), want);
  assert_null(existing);
  free_thing(&b->obj);
}

static void refcount(void **state)
{
  struct mascri_objtable *t = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct thing *a = add(t, "aa", '0', "a");
  struct mascri_obj *o = mascri_objtable_acquire(t, "aa", &err);
  assert_ptr_equal(o, &a->obj);
  assert_int_equal(o->refs, 2);
  mascri_objtable_lock(t);
  mascri_obj_ref_locked(o);
  mascri_objtable_unlock(t);
  mascri_objtable_remove(t, o);
  assert_true(o->removed);
  assert_null(find(t, "aa", &err));
  assert_int_equal(freed, 0);
  mascri_objtable_put(t, o);
  assert_int_equal(freed, 0); /* the extra reference keeps it */
  mascri_objtable_unref(t, o);
  assert_int_equal(freed, 1);
}

/* ---- reservation across threads ------------------------------------------------------ */

struct racer {
  struct mascri_objtable *t;
  struct thing *x;
  pthread_barrier_t *start;
  atomic_int *entered;
  bool settle_ok;
  int r;
  char *existing;
  mascri_error_t err;
};

static bool always_same(const struct mascri_obj *holder, const void *request)
{
  (void)holder;
  (void)request;
  return true;
}

static void *race(void *arg)
{
  struct racer *r = arg;
  if (r->start)
    pthread_barrier_wait(r->start);
  (*r->entered)++;
  r->r = mascri_objtable_reserve(r->t, &r->x->obj, always_same, NULL, &r->existing, &r->err);
  if (r->r != 0) {
    free_thing(&r->x->obj);
    r->x = NULL;
    return NULL;
  }
  /* The winner holds the name until the other request has had time to block on it. */
  while (*r->entered < 2)
    usleep(1000);
  usleep(200 * 1000);
  mascri_objtable_settle(r->t, &r->x->obj, r->settle_ok);
  return NULL;
}

/* A request waits while another one with the same name is in flight; that one fails, so
 * the name is the waiter's. */
static void reserve_waits_then_takes_over(void **state)
{
  struct mascri_objtable *t = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  atomic_int entered = 1;
  struct thing *first = thing_new("aa", '0', "web");
  char *existing = NULL;
  assert_int_equal(mascri_objtable_reserve(t, &first->obj, always_same, NULL, &existing, &err), 0);
  struct racer second = {
      .t = t, .x = thing_new("bb", '0', "web"), .entered = &entered, .settle_ok = true};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, race, &second), 0);
  while (entered < 2)
    usleep(1000);
  usleep(200 * 1000);
  mascri_objtable_settle(t, &first->obj, false); /* freed: the table's reference was its only */
  assert_int_equal(freed, 1);
  pthread_join(th, NULL);
  assert_int_equal(second.r, 0);
  assert_null(second.existing);
  assert_ptr_equal(find(t, "bb", &err), &second.x->obj);
}

/* Two requests for one name at once: one reserves it, the other waits and, the first
 * having made what it would have made, answers with the first one's id. */
static void concurrent_reserve(void **state)
{
  struct mascri_objtable *t = *state;
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2);
  atomic_int entered = 0;
  struct racer r[2] = {
      {.t = t,
       .x = thing_new("aa", '0', "web"),
       .start = &start,
       .entered = &entered,
       .settle_ok = true},
      {.t = t,
       .x = thing_new("bb", '0', "web"),
       .start = &start,
       .entered = &entered,
       .settle_ok = true},
  };
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
  int w = r[0].r == 0 ? 0 : 1;
  assert_int_equal(r[w].r, 0);
  assert_int_equal(r[!w].r, 1);
  assert_non_null(r[!w].existing);
  assert_string_equal(r[!w].existing, r[w].x->id);
  assert_int_equal(t->n, 1);
  free(r[!w].existing);
  mascri_error_release(&r[!w].err);
}

/* Without an identical earlier request the waiter gets ALREADY_EXISTS naming the holder. */
static void reserve_waits_then_refused(void **state)
{
  struct mascri_objtable *t = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct thing *first = thing_new("aa", '0', "web");
  char *existing = NULL;
  assert_int_equal(mascri_objtable_reserve(t, &first->obj, NULL, NULL, &existing, &err), 0);
  mascri_objtable_settle(t, &first->obj, true);
  struct thing *second = thing_new("bb", '0', "web");
  assert_int_equal(mascri_objtable_reserve(t, &second->obj, always_same, NULL, &existing, &err),
                   -1);
  assert_int_equal(err->kind, MASCRI_ERR_ALREADY_EXISTS);
  assert_null(existing);
  free_thing(&second->obj);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(lookup, setup, teardown),
      cmocka_unit_test_setup_teardown(ambiguous_prefix, setup, teardown),
      cmocka_unit_test_setup_teardown(creating_is_invisible, setup, teardown),
      cmocka_unit_test_setup_teardown(iteration, setup, teardown),
      cmocka_unit_test_setup_teardown(name_taken, setup, teardown),
      cmocka_unit_test_setup_teardown(refcount, setup, teardown),
      cmocka_unit_test_setup_teardown(reserve_waits_then_takes_over, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_reserve, setup, teardown),
      cmocka_unit_test_setup_teardown(reserve_waits_then_refused, setup, teardown),
  };
  return cmocka_run_group_tests_name("sandbox-objtable", tests, NULL, NULL);
}
