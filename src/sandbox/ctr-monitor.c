/* mascrid's side of mascri-monitor (sandbox/monitor.h): the one sealed copy of the binary
 * every monitor runs from, starting a monitor in create mode and reading its sync line,
 * and requests on its control socket. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/process-spawn.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-internal.h"
#include "sandbox/monitor.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define SYNC_TIMEOUT_MS 120000

int mascri_monitor_seal(const char *path, int *out, mascri_error_t *err)
{
  _cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
  if (src < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, errno, "open monitor %s", path);
  struct stat st;
  if (fstat(src, &st) < 0)
    return mascri_make_error(err, errno, "stat %s", path);
  _cleanup_close_ int mfd = memfd_create("mascri-monitor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return mascri_make_error(err, errno, "memfd_create");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return mascri_make_error(err, n < 0 ? errno : EIO, "copy %s", path);
  }
  if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
    return mascri_make_error(err, errno, "seal the copy of %s", path);
  *out = TAKE_FD(mfd);
  return 0;
}

static int spawn(struct mascri_containers *ctrs, char **argv, int sync_w, pid_t *pid,
                 mascri_error_t *err)
{
  const mascri_spawn_fd_t fds[] = {
      {.fd = 0, .from = -1, .null_flags = O_RDWR},
      {.fd = 1, .from = 0},
      {.fd = 2, .from = 0},
      {.fd = MASCRI_MONITOR_SYNC_FD, .from = sync_w},
  };
  int r = mascri_spawn(ctrs->monitor_exe, argv, NULL, fds, ARRAY_SIZE(fds),
                       MASCRI_SPAWN_NEW_SESSION, pid);
  if (r != 0)
    return mascri_make_error(err, r, "start %s", ctrs->monitor_path);
  return 0;
}

static char **create_argv(const struct mascri_containers *ctrs, const struct mascri_monitor_args *a)
{
  char **v = NULL;
  const char *const fixed[] = {"mascri-monitor", "create",     "--id",           a->id,
                               "--bundle",       a->bundle,    "--runtime-root", ctrs->runtime_root,
                               "--exit-file",    a->exit_file, "--socket-dir",   a->socket_dir};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
    mascri_strv_append(&v, fixed[i]);
  if (a->log_path) {
    mascri_strv_append(&v, "--log-path");
    mascri_strv_append(&v, a->log_path);
  } else {
    mascri_strv_append(&v, "--log-path");
    mascri_strv_append(&v, "/dev/null");
  }
  if (ctrs->cgroup_manager == MASCRI_CGROUP_MANAGER_SYSTEMD)
    mascri_strv_append(&v, "--systemd-cgroup");
  if (ctrs->mount_template) {
    mascri_strv_append(&v, "--mount-template");
    mascri_strv_append(&v, ctrs->mount_template);
  }
  if (a->terminal)
    mascri_strv_append(&v, "--terminal");
  if (a->stdin_)
    mascri_strv_append(&v, "--stdin");
  if (a->stdin_once)
    mascri_strv_append(&v, "--stdin-once");
  return v;
}

/* Reads one line (up to EOF) from fd, bounded in time; cancel stops the wait. */
static int read_line(int fd, char *buf, size_t size, int timeout_ms, const volatile int *cancel,
                     mascri_error_t *err)
{
  size_t len = 0;
  int64_t start = mascri_clock_monotonic_ms();
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, 100);
    if (r < 0 && errno != EINTR)
      return mascri_make_error(err, errno, "poll");
    if (r > 0) {
      ssize_t n = read(fd, buf + len, size - 1 - len);
      if (n < 0 && errno != EINTR && errno != EAGAIN)
        return mascri_make_error(err, errno, "read from the monitor");
      if (n == 0 || (n > 0 && memchr(buf + len, '\n', (size_t)n)) ||
          (n > 0 && len + (size_t)n >= size - 1)) {
        len += n > 0 ? (size_t)n : 0;
        break;
      }
      len += n > 0 ? (size_t)n : 0;
    }
    int64_t ms = mascri_clock_monotonic_ms() - start;
    if (cancel && *cancel)
      return mascri_make_error_kind(err, MASCRI_ERR_CANCELLED, 0,
                                    "cancelled while the monitor was creating the container");
    if (ms > timeout_ms)
      return mascri_make_error_kind(err, MASCRI_ERR_DEADLINE, 0,
                                    "the monitor did not answer within %d s", timeout_ms / 1000);
  }
  buf[len] = '\0';
  char *nl = strchr(buf, '\n');
  if (nl)
    *nl = '\0';
  return 0;
}

mascri_error_kind_t mascri_ctr_error_kind_from_name(const char *name)
{
  for (int k = MASCRI_ERR_INTERNAL; k <= MASCRI_ERR_CANCELLED; k++) {
    const char *n = mascri_error_kind_name((mascri_error_kind_t)k);
    size_t i = 0;
    for (; n[i] && name[i]; i++) {
      char a = n[i] == ' ' ? '_' : n[i];
      char b = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
      if (b == '_' && a == '_')
        continue;
      if (a != b)
        break;
    }
    if (!n[i] && !name[i])
      return (mascri_error_kind_t)k;
  }
  return MASCRI_ERR_INTERNAL;
}

/* "ok <mpid> <pid>" or "error <KIND> <message>". */
static int parse_sync(char *line, pid_t *monitor_pid, pid_t *init_pid, mascri_error_t *err)
{
  int mp = 0, ip = 0;
  if (sscanf(line, "ok %d %d", &mp, &ip) == 2 && mp > 0 && ip > 0) {
    *monitor_pid = mp;
    *init_pid = ip;
    return 0;
  }
  if (strncmp(line, "error ", 6) == 0) {
    char *kind = line + 6;
    char *msg = strchr(kind, ' ');
    if (msg)
      *msg++ = '\0';
    return mascri_make_error_kind(err, mascri_ctr_error_kind_from_name(kind), 0, "%s",
                                  msg ? msg : kind);
  }
  if (!line[0])
    return mascri_make_error(err, 0, "the monitor exited without creating the container");
  return mascri_make_error(err, 0, "unexpected answer from the monitor: \"%s\"", line);
}

int mascri_monitor_create(struct mascri_containers *ctrs, const struct mascri_monitor_args *a,
                          pid_t *monitor_pid, pid_t *init_pid, const volatile int *cancel,
                          mascri_error_t *err)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return mascri_make_error(err, errno, "pipe");
  _cleanup_close_ int rd = p[0];
  _cleanup_strv_ char **argv = create_argv(ctrs, a);
  pid_t pid = 0;
  int r = spawn(ctrs, argv, p[1], &pid, err);
  close(p[1]);
  if (r < 0)
    return -1;
  /* The first monitor process exits once the second one runs. */
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  char line[4096];
  if (read_line(rd, line, sizeof(line), SYNC_TIMEOUT_MS, cancel, err) < 0)
    return -1;
  return parse_sync(line, monitor_pid, init_pid, err);
}

int mascri_monitor_request(const char *socket_dir, const char *req, char **reply,
                           mascri_error_t *err)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", socket_dir,
                   MASCRI_MONITOR_CTL_SOCKET);
  if (n < 0 || (size_t)n >= sizeof(addr.sun_path))
    return mascri_make_error(err, ENAMETOOLONG, "monitor socket in %s", socket_dir);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return mascri_make_error(err, errno, "socket");
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    return mascri_make_error_kind(err,
                                  errno == ENOENT ? MASCRI_ERR_NOT_FOUND : MASCRI_ERR_UNAVAILABLE,
                                  errno, "connect to the monitor at %s", addr.sun_path);
  if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
    return mascri_make_error(err, errno, "send to the monitor");
  char buf[4096];
  ssize_t got = recv(fd, buf, sizeof(buf) - 1, 0);
  if (got <= 0)
    return mascri_make_error(err, got < 0 ? errno : EPIPE, "no answer from the monitor");
  buf[got] = '\0';
  if (strncmp(buf, "error", 5) == 0)
    return mascri_make_error(err, 0, "monitor: %s", buf[5] ? buf + 6 : "error");
  if (reply)
    *reply = xstrdup(buf);
  return 0;
}
