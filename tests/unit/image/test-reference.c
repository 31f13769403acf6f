#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "image/reference.h"

static char *normalise(const char *s)
{
  struct mascri_reference r;
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_reference_parse(s, &r, &err) < 0)
    return NULL;
  char *out = mascri_reference_tagged(&r);
  if (r.digest) {
    _cleanup_free_ char *name = mascri_reference_name(&r);
    char *d = xasprintf("%s@%s", out ? out : name, r.digest);
    free(out);
    out = d;
  }
  mascri_reference_clear(&r);
  return out;
}

static void check(const char *in, const char *want)
{
  _cleanup_free_ char *got = normalise(in);
  if (!want) {
    if (got)
      fail_msg("\"%s\" should be refused, got %s", in, got);
    return;
  }
  if (!got)
    fail_msg("\"%s\" refused", in);
  assert_string_equal(got, want);
}

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void docker_hub_normalisation(void **state)
{
  check("busybox", "docker.io/library/busybox:latest");
  check("busybox:1.36", "docker.io/library/busybox:1.36");
  check("library/busybox", "docker.io/library/busybox:latest");
  check("docker.io/busybox", "docker.io/library/busybox:latest");
  check("index.docker.io/busybox", "docker.io/library/busybox:latest");
  check("user/app:v1", "docker.io/user/app:v1");
  check("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9");
}

static void hosts_ports_and_digests(void **state)
{
  check("localhost/app", "localhost/app:latest");
  check("localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t");
  check("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest");
  check("[::1]:5000/x", "[::1]:5000/x:latest");
  check("quay.io/a_b/c-d.e__f:TAG_1.0-x", "quay.io/a_b/c-d.e__f:TAG_1.0-x");
  check("busybox@sha256:" D64, "docker.io/library/busybox@sha256:" D64);
  check("busybox:1@sha256:" D64, "docker.io/library/busybox:1@sha256:" D64);
  struct mascri_reference r;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_reference_parse("busybox@sha256:" D64, &r, &err), 0);
  assert_null(r.tag);
  assert_string_equal(mascri_reference_api_host(&r), "registry-1.docker.io");
  mascri_reference_clear(&r);
}

static void invalid_references(void **state)
{
  const char *bad[] = {"",
                       "UPPER",
                       "a//b",
                       "a/",
                       "/a",
                       "a:",
                       "a:-tag",
                       "a@sha256:abc",
                       "a@md5:" D64,
                       "a b",
                       "-a",
                       "a_",
                       "a..b",
                       "a___b",
                       "host:port:x/y",
                       "a:"
                       "0123456789012345678901234567890123456789012345678901234567890123456789"
                       "0123456789012345678901234567890123456789012345678901234567890123456789",
                       "exa mple.com/a",
                       "a/b\n",
                       "a@sha256:" D64 "0"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct mascri_reference r;
    _cleanup_error_ mascri_error_t err = NULL;
    if (mascri_reference_parse(bad[i], &r, &err) == 0)
      fail_msg("\"%s\" accepted", bad[i]);
    assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  }
}

static void digests(void **state)
{
  assert_true(mascri_digest_valid("sha256:" D64));
  assert_false(mascri_digest_valid("sha256:" D64 "00"));
  assert_false(mascri_digest_valid("sha512:" D64));
  assert_false(mascri_digest_valid(
      "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(docker_hub_normalisation),
      cmocka_unit_test(hosts_ports_and_digests),
      cmocka_unit_test(invalid_references),
      cmocka_unit_test(digests),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
