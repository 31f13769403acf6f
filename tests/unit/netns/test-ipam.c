#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "netns/ipam.h"

struct fixture {
  char *dir;
  struct mascri_ipam *ipam;
  struct mascri_ipam_range range;
};

static int setup(void **state)
{
  char tmpl[] = "/tmp/mascri-test-ipam-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  struct fixture *f = xmalloc0(sizeof(*f));
  f->dir = xasprintf("%s/ips", tmpl);
  mascri_error_t err = NULL;
  assert_int_equal(mascri_ipam_open(f->dir, &f->ipam, &err), 0);
  struct mascri_cidr c;
  assert_int_equal(mascri_cidr_parse("10.199.0.0/29", &c, &err), 0);
  assert_int_equal(mascri_ipam_range_init(&f->range, &c, &err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  mascri_ipam_close(f->ipam);
  mascri_error_t err = NULL;
  char *top = xstrndup(f->dir, strlen(f->dir) - 4);
  mascri_rm_rf(top, &err);
  free(top);
  free(f->dir);
  free(f);
  return 0;
}

static char *alloc(struct fixture *f, const char *owner)
{
  struct mascri_ip ip;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_ipam_allocate(f->ipam, &f->range, owner, &ip, &err), 0);
  char buf[MASCRI_IP_STRLEN];
  return xstrdup(mascri_ip_format(&ip, buf));
}

static size_t count_files(struct fixture *f)
{
  char *cmd = xasprintf("ls -A %s | grep -v '^\\.' | wc -l", f->dir);
  FILE *p = popen(cmd, "r");
  size_t n = 0;
  assert_int_equal(fscanf(p, "%zu", &n), 1);
  pclose(p);
  free(cmd);
  return n;
}

static void test_allocate_sequence(void **state)
{
  struct fixture *f = *state;
  char buf[MASCRI_IP_STRLEN];
  assert_string_equal(mascri_ip_format(&f->range.gateway, buf), "10.199.0.1");
  const char *expect[] = {"10.199.0.2", "10.199.0.3", "10.199.0.4"};
  for (size_t i = 0; i < 3; i++) {
    char *ip = alloc(f, "pod-a");
    assert_string_equal(ip, expect[i]);
    free(ip);
  }
  /* The file holds the owner. */
  char *path = xasprintf("%s/10.199.0.3", f->dir);
  char *owner = NULL;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_read_file(path, &owner, NULL, &err), 0);
  assert_string_equal(owner, "pod-a");
  free(owner);
  free(path);
}

static void test_exhaustion_and_release(void **state)
{
  struct fixture *f = *state;
  /* /29: .2 to .6 usable (network, gateway and broadcast excluded). */
  char *ips[5];
  for (size_t i = 0; i < 5; i++) {
    char owner[16];
    snprintf(owner, sizeof(owner), "pod-%zu", i);
    ips[i] = alloc(f, owner);
  }
  assert_string_equal(ips[4], "10.199.0.6");
  struct mascri_ip ip;
  mascri_error_t err = NULL;
  assert_true(mascri_ipam_allocate(f->ipam, &f->range, "pod-x", &ip, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_RESOURCE_EXHAUSTED);
  mascri_error_release(&err);

  /* Release by the wrong owner does nothing; by the right one frees it. */
  struct mascri_ip three;
  mascri_ip_parse("10.199.0.3", &three);
  assert_int_equal(mascri_ipam_release(f->ipam, &three, "pod-0", &err), 0);
  assert_int_equal(count_files(f), 5);
  assert_int_equal(mascri_ipam_release(f->ipam, &three, "pod-1", &err), 0);
  assert_int_equal(count_files(f), 4);
  char *again = alloc(f, "pod-y");
  assert_string_equal(again, "10.199.0.3");
  free(again);
  /* Releasing twice is fine. */
  assert_int_equal(mascri_ipam_release(f->ipam, &three, NULL, &err), 0);
  assert_int_equal(mascri_ipam_release(f->ipam, &three, NULL, &err), 0);
  for (size_t i = 0; i < 5; i++)
    free(ips[i]);
}

static void count_owner(const struct mascri_ip *ip, const char *owner, void *data)
{
  if (strcmp(owner, "listed") == 0)
    (*(int *)data)++;
}

static void test_list(void **state)
{
  struct fixture *f = *state;
  mascri_error_t err = NULL;
  free(alloc(f, "listed"));
  free(alloc(f, "other"));
  free(alloc(f, "listed"));
  int n = 0;
  assert_int_equal(mascri_ipam_list(f->ipam, count_owner, &n, &err), 0);
  assert_int_equal(n, 2);
}

static void test_round_robin(void **state)
{
  struct fixture *f = *state;
  mascri_error_t err = NULL;
  char *a = alloc(f, "a");
  struct mascri_ip ip;
  mascri_ip_parse(a, &ip);
  assert_int_equal(mascri_ipam_release(f->ipam, &ip, "a", &err), 0);
  char *b = alloc(f, "b");
  /* A freed address is not handed out again right away. */
  assert_string_not_equal(a, b);
  free(a);
  free(b);
}

static void test_release_owner_and_reconcile(void **state)
{
  struct fixture *f = *state;
  mascri_error_t err = NULL;
  free(alloc(f, "live-1"));
  free(alloc(f, "dead-1"));
  free(alloc(f, "live-2"));
  free(alloc(f, "dead-2"));
  /* A temp file left by a crash. */
  char *tmp = xasprintf("%s/.tmp-1-1", f->dir);
  assert_int_equal(mascri_write_file_atomic(tmp, "x", 1, 0600, &err), 0);
  /* An address file whose content was lost. */
  char *empty = xasprintf("%s/10.199.0.6", f->dir);
  assert_int_equal(mascri_write_file_atomic(empty, "", 0, 0600, &err), 0);
  free(empty);
  size_t released = 0;
  assert_int_equal(mascri_ipam_release_owner(f->ipam, "dead-2", &released, &err), 0);
  assert_int_equal(released, 1);
  const char *live[] = {"live-1", "live-2", NULL};
  assert_int_equal(mascri_ipam_reconcile(f->ipam, live, &released, &err), 0);
  assert_int_equal(released, 2); /* dead-1 and the ownerless file */
  assert_int_equal(count_files(f), 2);
  assert_false(mascri_path_exists(tmp));
  free(tmp);
  const char *none[] = {NULL};
  assert_int_equal(mascri_ipam_reconcile(f->ipam, none, &released, &err), 0);
  assert_int_equal(released, 2);
  assert_int_equal(count_files(f), 0);
}

static void test_reserve(void **state)
{
  struct fixture *f = *state;
  mascri_error_t err = NULL;
  struct mascri_ip ip;
  mascri_ip_parse("10.199.0.4", &ip);
  assert_int_equal(mascri_ipam_reserve(f->ipam, &ip, "a", &err), 0);
  assert_true(mascri_ipam_reserve(f->ipam, &ip, "b", &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_ALREADY_EXISTS);
  mascri_error_release(&err);
  /* Allocation skips the reserved address. */
  for (int i = 0; i < 4; i++) {
    char *s = alloc(f, "c");
    assert_string_not_equal(s, "10.199.0.4");
    free(s);
  }
}

struct worker {
  struct fixture *f;
  struct mascri_ipam_range *range;
  pthread_mutex_t *lock;
  int id;
  int failures;
};

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  for (int i = 0; i < 50; i++) {
    char owner[32];
    snprintf(owner, sizeof(owner), "w%d-%d", w->id, i);
    struct mascri_ip ip;
    mascri_error_t err = NULL;
    /* The range cursor is the caller's to guard (the network does it with its lock). */
    pthread_mutex_lock(w->lock);
    if (mascri_ipam_allocate(w->f->ipam, w->range, owner, &ip, &err) < 0)
      w->failures++;
    pthread_mutex_unlock(w->lock);
    mascri_error_release(&err);
  }
  return NULL;
}

static void test_concurrent_processes(void **state)
{
  struct fixture *f = *state;
  mascri_error_t err = NULL;
  /* Two handles on the same directory (as two processes would have), four threads. */
  struct mascri_ipam *other = NULL;
  assert_int_equal(mascri_ipam_open(f->dir, &other, &err), 0);
  struct mascri_cidr c;
  mascri_cidr_parse("10.199.0.0/24", &c, &err);
  struct mascri_ipam_range r1, r2;
  mascri_ipam_range_init(&r1, &c, &err);
  mascri_ipam_range_init(&r2, &c, &err);
  pthread_mutex_t l1 = PTHREAD_MUTEX_INITIALIZER, l2 = PTHREAD_MUTEX_INITIALIZER;
  struct fixture f2 = *f;
  f2.ipam = other;
  struct worker w[4] = {
      {f, &r1, &l1, 0, 0}, {f, &r1, &l1, 1, 0}, {&f2, &r2, &l2, 2, 0}, {&f2, &r2, &l2, 3, 0}};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, worker_main, &w[i]);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++)
    assert_int_equal(w[i].failures, 0);
  /* 200 distinct files: link() never lets two owners take one address. */
  assert_int_equal(count_files(f), 200);
  mascri_ipam_close(other);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_allocate_sequence, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exhaustion_and_release, setup, teardown),
      cmocka_unit_test_setup_teardown(test_round_robin, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_release_owner_and_reconcile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reserve, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
  };
  return cmocka_run_group_tests_name("netns-ipam", tests, NULL, NULL);
}
