/* Freezing, killing and statistics of a container's cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"

static int read_in(const mascri_cgroup_t *cg, const char *controller, const char *file, char **buf,
                   mascri_error_t *err)
{
  _cleanup_free_ char *dir = mascri_cgroup_dir(cg, controller);
  if (!dir)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "cgroup controller %s is not available",
                                  controller ? controller : "v2");
  _cleanup_free_ char *path = mascri_path_join(dir, file);
  size_t len = 0;
  return mascri_read_file(path, buf, &len, err);
}

static int write_in(const mascri_cgroup_t *cg, const char *controller, const char *file,
                    const char *value, mascri_error_t *err)
{
  _cleanup_free_ char *dir = mascri_cgroup_dir(cg, controller);
  if (!dir)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "cgroup controller %s is not available",
                                  controller ? controller : "v2");
  _cleanup_free_ char *path = mascri_path_join(dir, file);
  return mascri_write_file_at(AT_FDCWD, path, value, strlen(value), err);
}

static bool use_v2_freezer(const mascri_cgroup_t *cg)
{
  return cg->layout.mode == MASCRI_CGROUP_V2 || !mascri_cgroup_v1_mount(&cg->layout, "freezer");
}

bool mascri_cgroup_is_frozen(const mascri_cgroup_t *cg)
{
  _cleanup_free_ char *buf = NULL;
  mascri_error_t e = NULL;
  bool frozen;
  if (use_v2_freezer(cg)) {
    frozen = read_in(cg, NULL, "cgroup.freeze", &buf, &e) == 0 && buf[0] == '1';
  } else {
    frozen =
        read_in(cg, "freezer", "freezer.state", &buf, &e) == 0 && strncmp(buf, "FROZEN", 6) == 0;
  }
  mascri_error_release(&e);
  return frozen;
}

int mascri_cgroup_freeze(const mascri_cgroup_t *cg, bool freeze, mascri_error_t *err)
{
  bool v2 = use_v2_freezer(cg);
  const char *ctrl = v2 ? NULL : "freezer";
  const char *file = v2 ? "cgroup.freeze" : "freezer.state";
  const char *value = v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED");
  for (int i = 0; i < 1000; i++) {
    if (write_in(cg, ctrl, file, value, err) < 0)
      return mascri_error_wrap(err, freeze ? "freeze" : "thaw");
    _cleanup_free_ char *state = NULL;
    if (v2) {
      if (read_in(cg, NULL, "cgroup.events", &state, err) < 0)
        return -1;
      char *f = strstr(state, "frozen ");
      if (!f || (f[7] == '1') == freeze)
        return 0;
    } else {
      if (read_in(cg, ctrl, file, &state, err) < 0)
        return -1;
      if (strncmp(state, freeze ? "FROZEN" : "THAWED", 6) == 0)
        return 0;
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return mascri_make_error_kind(err, MASCRI_ERR_DEADLINE, 0, "cgroup did not %s in time",
                                freeze ? "freeze" : "thaw");
}

int mascri_cgroup_kill(const mascri_cgroup_t *cg, mascri_error_t *err)
{
  _cleanup_free_ char *dir = mascri_cgroup_dir(cg, NULL);
  if (!dir)
    return 0;
  _cleanup_free_ char *path = mascri_path_join(dir, "cgroup.kill");
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : mascri_make_error(err, errno, "open %s", path);
  ssize_t n;
  do
    n = write(fd, "1", 1);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return mascri_make_error(err, errno, "write %s", path);
  return 1;
}

/* "key value" line lookup in a stat file. */
uint64_t mascri_cgroup_keyed_value(const char *buf, const char *key)
{
  size_t kl = strlen(key);
  for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
      return strtoull(p + kl + 1, NULL, 10);
  return 0;
}

static uint64_t read_u64(const mascri_cgroup_t *cg, const char *ctrl, const char *file)
{
  _cleanup_free_ char *buf = NULL;
  mascri_error_t e = NULL;
  if (read_in(cg, ctrl, file, &buf, &e) < 0) {
    mascri_error_release(&e);
    return 0;
  }
  if (strncmp(buf, "max", 3) == 0)
    return 0;
  return strtoull(buf, NULL, 10);
}

static void stats_v1(const mascri_cgroup_t *cg, mascri_container_stats_t *out)
{
  _cleanup_free_ char *cpu = NULL, *mem = NULL, *oom = NULL;
  mascri_error_t e = NULL;
  out->cpu_usage_ns = read_u64(cg, "cpuacct", "cpuacct.usage");
  if (read_in(cg, "cpuacct", "cpuacct.stat", &cpu, &e) == 0) {
    long hz = sysconf(_SC_CLK_TCK);
    out->cpu_user_ns = mascri_cgroup_keyed_value(cpu, "user") * (1000000000ULL / (uint64_t)hz);
    out->cpu_system_ns = mascri_cgroup_keyed_value(cpu, "system") * (1000000000ULL / (uint64_t)hz);
  }
  mascri_error_release(&e);
  out->memory_usage = read_u64(cg, "memory", "memory.usage_in_bytes");
  out->memory_limit = read_u64(cg, "memory", "memory.limit_in_bytes");
  if (out->memory_limit >= (UINT64_MAX >> 2) || out->memory_limit >= 0x7FFFFFFFFFFFF000ULL)
    out->memory_limit = 0;
  if (read_in(cg, "memory", "memory.stat", &mem, &e) == 0) {
    uint64_t inactive = mascri_cgroup_keyed_value(mem, "total_inactive_file");
    out->memory_working_set = out->memory_usage > inactive ? out->memory_usage - inactive : 0;
    out->memory_rss = mascri_cgroup_keyed_value(mem, "total_rss");
  }
  mascri_error_release(&e);
  if (read_in(cg, "memory", "memory.oom_control", &oom, &e) == 0)
    out->oom_killed_seen = mascri_cgroup_keyed_value(oom, "oom_kill") > 0;
  mascri_error_release(&e);
  out->pids_current = read_u64(cg, "pids", "pids.current");
  out->pids_limit = read_u64(cg, "pids", "pids.max");
}

static void stats_v2(const mascri_cgroup_t *cg, mascri_container_stats_t *out)
{
  _cleanup_free_ char *cpu = NULL, *mem = NULL, *ev = NULL;
  mascri_error_t e = NULL;
  if (read_in(cg, NULL, "cpu.stat", &cpu, &e) == 0) {
    out->cpu_usage_ns = mascri_cgroup_keyed_value(cpu, "usage_usec") * 1000;
    out->cpu_user_ns = mascri_cgroup_keyed_value(cpu, "user_usec") * 1000;
    out->cpu_system_ns = mascri_cgroup_keyed_value(cpu, "system_usec") * 1000;
  }
  mascri_error_release(&e);
  out->memory_usage = read_u64(cg, NULL, "memory.current");
  out->memory_limit = read_u64(cg, NULL, "memory.max");
  if (read_in(cg, NULL, "memory.stat", &mem, &e) == 0) {
    uint64_t inactive = mascri_cgroup_keyed_value(mem, "inactive_file");
    out->memory_working_set = out->memory_usage > inactive ? out->memory_usage - inactive : 0;
    out->memory_rss = mascri_cgroup_keyed_value(mem, "anon");
  }
  mascri_error_release(&e);
  if (read_in(cg, NULL, "memory.events", &ev, &e) == 0)
    out->oom_killed_seen = mascri_cgroup_keyed_value(ev, "oom_kill") > 0;
  mascri_error_release(&e);
  out->pids_current = read_u64(cg, NULL, "pids.current");
  out->pids_limit = read_u64(cg, NULL, "pids.max");
}

int mascri_cgroup_stats(const mascri_cgroup_t *cg, mascri_container_stats_t *out,
                        mascri_error_t *err)
{
  memset(out, 0, sizeof(*out));
  if (cg->layout.mode == MASCRI_CGROUP_V2)
    stats_v2(cg, out);
  else
    stats_v1(cg, out);
  return 0;
}

/* ---- the CRI's figures, cheaply -------------------------------------------------- */

/* A cgroup file into buf (NUL-terminated; what does not fit is dropped): one read, since a
 * cgroup file's content comes whole from the first read when it fits. false when absent. */
static bool read_small_at(int dirfd, const char *name, char *buf, size_t size)
{
  _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n;
  do
    n = read(fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return false;
  buf[n] = '\0';
  return true;
}

static uint64_t u64_at(int dirfd, const char *name)
{
  char buf[64];
  if (!read_small_at(dirfd, name, buf, sizeof(buf)) || strncmp(buf, "max", 3) == 0)
    return 0;
  return strtoull(buf, NULL, 10);
}

/* The cgroup's directory in the hierarchy of controller (NULL: v2), O_PATH: one walk of
 * the long path, then each file is one step from it. */
static int open_dir(const mascri_cgroup_t *cg, const char *controller)
{
  _cleanup_free_ char *dir = mascri_cgroup_dir(cg, controller);
  return dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
}

static void memory_figures(int dfd, bool v2, bool with_limit, mascri_container_stats_t *out)
{
  char stat[8192];
  out->memory_usage = u64_at(dfd, v2 ? "memory.current" : "memory.usage_in_bytes");
  if (with_limit)
    out->memory_limit = u64_at(dfd, v2 ? "memory.max" : "memory.limit_in_bytes");
  if (out->memory_limit >= (UINT64_MAX >> 2))
    out->memory_limit = 0; /* v1's "no limit" (a page-rounded LONG_MAX) */
  if (read_small_at(dfd, "memory.stat", stat, sizeof(stat))) {
    uint64_t inactive =
        mascri_cgroup_keyed_value(stat, v2 ? "inactive_file" : "total_inactive_file");
    out->memory_working_set = out->memory_usage > inactive ? out->memory_usage - inactive : 0;
    out->memory_rss = mascri_cgroup_keyed_value(stat, v2 ? "anon" : "total_rss");
  }
}

int mascri_cgroup_usage(const mascri_cgroup_t *cg, unsigned what, mascri_container_stats_t *out,
                        mascri_error_t *err)
{
  (void)err;
  memset(out, 0, sizeof(*out));
  bool v2 = cg->layout.mode == MASCRI_CGROUP_V2;
  _cleanup_close_ int mem = open_dir(cg, v2 ? NULL : "memory");
  if (mem >= 0)
    memory_figures(mem, v2, what & MASCRI_CGROUP_USAGE_LIMIT, out);
  if (v2) {
    char cpu[1024];
    if (mem >= 0 && read_small_at(mem, "cpu.stat", cpu, sizeof(cpu)))
      out->cpu_usage_ns = mascri_cgroup_keyed_value(cpu, "usage_usec") * 1000;
  } else {
    _cleanup_free_ char *dir = mascri_cgroup_dir(cg, "cpuacct");
    _cleanup_free_ char *path = dir ? mascri_path_join(dir, "cpuacct.usage") : NULL;
    out->cpu_usage_ns = path ? u64_at(AT_FDCWD, path) : 0;
  }
  if (what & MASCRI_CGROUP_USAGE_PIDS) {
    _cleanup_free_ char *dir = mascri_cgroup_dir(cg, v2 ? NULL : "pids");
    _cleanup_free_ char *path = dir ? mascri_path_join(dir, "pids.current") : NULL;
    out->pids_current = path ? u64_at(AT_FDCWD, path) : 0;
  }
  return 0;
}
