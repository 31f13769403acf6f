#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "image/auth.h"
#include "image/registry.h"

static void parses_bearer_challenge(void **state)
{
  struct mascri_challenge c;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(
      mascri_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
                             "docker.io\",scope=\"repository:library/busybox:pull\"",
                             &c, &err),
      0);
  assert_string_equal(c.scheme, "bearer");
  assert_string_equal(c.realm, "https://auth.docker.io/token");
  assert_string_equal(c.service, "registry.docker.io");
  assert_string_equal(c.scope, "repository:library/busybox:pull");
  mascri_challenge_clear(&c);
  assert_int_equal(mascri_challenge_parse("Basic realm=\"x y\"", &c, &err), 0);
  assert_string_equal(c.scheme, "basic");
  assert_string_equal(c.realm, "x y");
  mascri_challenge_clear(&c);
}

static void decodes_auth_and_docker_config(void **state)
{
  struct mascri_credentials cr = {0};
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_credentials_from_auth("YWxpY2U6czNjcjp0", &cr, &err),
                   0); /* alice:s3cr:t */
  assert_string_equal(cr.username, "alice");
  assert_string_equal(cr.password, "s3cr:t");
  mascri_credentials_clear(&cr);
  assert_int_equal(mascri_credentials_from_auth("!!!", &cr, &err), -1);

  char tmpl[] = "/tmp/mascri-test-auth-XXXXXX";
  int fd = mkstemp(tmpl);
  const char cfg[] = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHViOnB3\"},"
                     "\"127.0.0.1:5000\":{\"username\":\"bob\",\"password\":\"pw\"}}}";
  assert_int_equal(write(fd, cfg, strlen(cfg)), (ssize_t)strlen(cfg));
  close(fd);
  assert_int_equal(mascri_credentials_from_docker_config(tmpl, "docker.io", &cr, &err), 0);
  assert_string_equal(cr.username, "hub");
  mascri_credentials_clear(&cr);
  assert_int_equal(mascri_credentials_from_docker_config(tmpl, "127.0.0.1:5000", &cr, &err), 0);
  assert_string_equal(cr.username, "bob");
  assert_string_equal(cr.password, "pw");
  mascri_credentials_clear(&cr);
  assert_int_equal(mascri_credentials_from_docker_config(tmpl, "quay.io", &cr, &err), 0);
  assert_null(cr.username);
  unlink(tmpl);
}

static void loopback_hosts(void **state)
{
  assert_true(mascri_registry_host_is_loopback("localhost:5000"));
  assert_true(mascri_registry_host_is_loopback("127.0.0.1:5000"));
  assert_true(mascri_registry_host_is_loopback("127.1.2.3"));
  assert_true(mascri_registry_host_is_loopback("[::1]:5000"));
  assert_false(mascri_registry_host_is_loopback("registry.example.com"));
  assert_false(mascri_registry_host_is_loopback("localhost.example.com"));
  assert_true(mascri_registry_host_is_loopback("::1"));
  assert_true(mascri_registry_host_is_loopback("[::1]"));
  assert_true(mascri_registry_host_is_loopback("127.255.255.254:443"));
  /* DNS names that only look like loopback */
  assert_false(mascri_registry_host_is_loopback("127.attacker.example"));
  assert_false(mascri_registry_host_is_loopback("127.attacker.example:5000"));
  assert_false(mascri_registry_host_is_loopback("127.0.0.1.attacker.example"));
  assert_false(mascri_registry_host_is_loopback("localhostx:5000"));
  assert_false(mascri_registry_host_is_loopback("[::1].example:5000"));
  assert_false(mascri_registry_host_is_loopback("[::2]:5000"));
  assert_false(mascri_registry_host_is_loopback("128.0.0.1"));
}

static void token_cache_expires(void **state)
{
  struct mascri_token_cache tc;
  mascri_token_cache_init(&tc);
  mascri_token_cache_put(&tc, "k", "Bearer a", time(NULL) + 300);
  mascri_token_cache_put(&tc, "old", "Bearer b", time(NULL) - 1);
  _cleanup_free_ char *a = mascri_token_cache_get(&tc, "k");
  assert_string_equal(a, "Bearer a");
  assert_null(mascri_token_cache_get(&tc, "old"));
  assert_null(mascri_token_cache_get(&tc, "none"));
  mascri_token_cache_clear(&tc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_bearer_challenge),
      cmocka_unit_test(decodes_auth_and_docker_config),
      cmocka_unit_test(loopback_hosts),
      cmocka_unit_test(token_cache_expires),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
