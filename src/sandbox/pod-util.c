#include "sandbox/pod-util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "common/xalloc.h"

char *mascri_pod_full_name(const struct mascri_metadata *md, mascri_error_t *err)
{
  const char *missing = !md->name || !md->name[0]               ? "name"
                        : !md->namespace_ || !md->namespace_[0] ? "namespace"
                        : !md->uid || !md->uid[0]               ? "uid"
                                                                : NULL;
  if (missing) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                           "pod sandbox metadata.%s is required", missing);
    return NULL;
  }
  return xasprintf("k8s_POD_%s_%s_%s_%u", md->name, md->namespace_, md->uid, md->attempt);
}

char *mascri_pod_new_id(void)
{
  uint8_t raw[32];
  size_t got = 0;
  while (got < sizeof(raw)) {
    ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
    if (n > 0)
      got += (size_t)n;
  }
  return mascri_hex_encode(raw, sizeof(raw));
}

static bool has_newline(const char *s)
{
  return s && strpbrk(s, "\r\n") != NULL;
}

static int check_values(char *const *v, const char *what, mascri_error_t *err)
{
  for (; v && *v; v++)
    if (!(*v)[0] || has_newline(*v) || strchr(*v, ' '))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "dns_config.%s: invalid value \"%s\"", what, *v);
  return 0;
}

static void append(char **buf, const char *s)
{
  size_t a = *buf ? strlen(*buf) : 0, b = strlen(s);
  *buf = xrealloc(*buf, a + b + 1);
  memcpy(*buf + a, s, b + 1);
}

static void append_line(char **buf, const char *key, char *const *v)
{
  if (!v || !v[0])
    return;
  append(buf, key);
  for (; *v; v++) {
    append(buf, " ");
    append(buf, *v);
  }
  append(buf, "\n");
}

char *mascri_pod_resolv_conf(const struct mascri_pod_dns *dns, mascri_error_t *err)
{
  if (check_values(dns->servers, "servers", err) < 0 ||
      check_values(dns->searches, "searches", err) < 0 ||
      check_values(dns->options, "options", err) < 0)
    return NULL;
  char *buf = xstrdup("");
  for (char *const *s = dns->servers; s && *s; s++) {
    append(&buf, "nameserver ");
    append(&buf, *s);
    append(&buf, "\n");
  }
  append_line(&buf, "search", dns->searches);
  append_line(&buf, "options", dns->options);
  return buf;
}

static bool label_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool mascri_pod_hostname_valid(const char *h)
{
  size_t len = strlen(h);
  if (len == 0 || len > 64)
    return false;
  for (const char *p = h;;) {
    size_t n = strcspn(p, ".");
    if (n == 0 || n > 63 || !label_char(p[0]) || !label_char(p[n - 1]))
      return false;
    for (size_t i = 0; i < n; i++)
      if (!label_char(p[i]) && p[i] != '-')
        return false;
    if (p[n] == '\0')
      return true;
    p += n + 1;
  }
}

char *mascri_pod_hostname_from_name(const char *name, mascri_error_t *err)
{
  _cleanup_free_ char *h = xstrndup(name, 63);
  size_t n = strlen(h);
  while (n > 0 && (h[n - 1] == '-' || h[n - 1] == '.'))
    h[--n] = '\0';
  if (!mascri_pod_hostname_valid(h)) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                           "hostname: none given and metadata.name \"%s\" is not a valid "
                           "hostname (RFC 1123: letters, digits, '-' and '.')",
                           name);
    return NULL;
  }
  return TAKE_PTR(h);
}

char *mascri_pod_hosts(const char *hostname, const char *ip)
{
  char *base = xstrdup("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  if (ip && ip[0] && hostname && hostname[0]) {
    char *line = xasprintf("%s\t%s\n", ip, hostname);
    append(&base, line);
    free(line);
  }
  return base;
}

static bool starts_with(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *mascri_pod_sysctl_path(const char *name, bool host_net, bool host_ipc, mascri_error_t *err)
{
  bool ok_chars = name && name[0] && name[0] != '.' && strstr(name, "..") == NULL;
  for (const char *p = name; ok_chars && *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("._-/", *p)))
      ok_chars = false;
  if (!ok_chars) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "invalid sysctl name \"%s\"",
                           name ? name : "");
    return NULL;
  }
  bool is_net = starts_with(name, "net.") || starts_with(name, "net/");
  bool is_ipc = starts_with(name, "kernel.shm") || starts_with(name, "kernel.msg") ||
                strcmp(name, "kernel.sem") == 0 || starts_with(name, "fs.mqueue.") ||
                starts_with(name, "kernel/shm") || starts_with(name, "kernel/msg") ||
                strcmp(name, "kernel/sem") == 0 || starts_with(name, "fs/mqueue/");
  const char *why = NULL;
  if (!is_net && !is_ipc)
    why = "is not a namespaced sysctl";
  else if (is_net && host_net)
    why = "needs the pod's own network namespace (pod uses the host network)";
  else if (is_ipc && host_ipc)
    why = "needs the pod's own IPC namespace (pod uses the host IPC)";
  if (why) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "sysctl \"%s\" %s", name, why);
    return NULL;
  }
  /* A name using '/' keeps its dots (e.g. net/ipv4/conf/eth0.1/...). */
  char *path = xstrdup(name);
  if (!strchr(name, '/'))
    for (char *p = path; *p; p++)
      if (*p == '.')
        *p = '/';
  return path;
}

char *mascri_hex_encode(const uint8_t *data, size_t len)
{
  static const char digits[] = "0123456789abcdef";
  char *out = xmalloc(len * 2 + 1);
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  out[len * 2] = '\0';
  return out;
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

ssize_t mascri_hex_decode(const char *hex, uint8_t **out)
{
  size_t n = strlen(hex);
  if (n % 2)
    return -1;
  uint8_t *buf = xmalloc(n / 2 + 1);
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(buf);
      return -1;
    }
    buf[i] = (uint8_t)(hi << 4 | lo);
  }
  *out = buf;
  return (ssize_t)(n / 2);
}
