/* Spawning, feeding, watching and reaping the `mascri-image pull` child of PullImage. */
#include "common/clock.h"
#include "cri/pull-child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/process-spawn.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/pull-status.h"

#define STATUS_FD 3
#define STATUS_MAX 8192
#define KILL_AFTER_MS 10000

char **mascri_pull_child_argv(const struct mascri_pull_child_config *cfg, const char *ref,
                              bool with_auth)
{
  char **argv = NULL;
  mascri_strv_push(&argv, xstrdup(cfg->exe));
  mascri_strv_push(&argv, xstrdup("pull"));
  mascri_strv_push(&argv, xstrdup("--root"));
  mascri_strv_push(&argv, xstrdup(cfg->root));
  if (cfg->registry_config) {
    mascri_strv_push(&argv, xstrdup("--registries-config"));
    mascri_strv_push(&argv, xstrdup(cfg->registry_config));
  }
  if (cfg->max_layer_bytes) {
    mascri_strv_push(&argv, xstrdup("--max-layer-size"));
    mascri_strv_push(&argv, xasprintf("%llu", (unsigned long long)cfg->max_layer_bytes));
  }
  if (cfg->max_layer_entries) {
    mascri_strv_push(&argv, xstrdup("--max-layer-entries"));
    mascri_strv_push(&argv, xasprintf("%llu", (unsigned long long)cfg->max_layer_entries));
  }
  mascri_strv_push(&argv, xstrdup("--sync-fd"));
  mascri_strv_push(&argv, xasprintf("%d", STATUS_FD));
  if (with_auth)
    mascri_strv_push(&argv, xstrdup("--auth-stdin"));
  mascri_strv_push(&argv, xstrdup("--"));
  mascri_strv_push(&argv, xstrdup(ref));
  return argv;
}

/* The child's stdin: a sealed-off memfd with the credentials as JSON, or /dev/null. */
static int auth_input(const struct mascri_registry_auth *auth, mascri_error_t *err)
{
  if (!auth) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? fd : mascri_make_error(err, errno, "open /dev/null");
  }
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  const char *const keys[] = {"username", "password", "auth", "identity_token", "registry_token"};
  const char *const vals[] = {auth->username, auth->password, auth->auth, auth->identity_token,
                              auth->registry_token};
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
    if (vals[i])
      mascri_json_gen_kv_string(g, keys[i], vals[i]);
  yajl_gen_map_close(g);
  size_t len = 0;
  _cleanup_free_ char *json = mascri_json_gen_take(g, &len);
  _cleanup_close_ int fd = memfd_create("mascri-pull-auth", MFD_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "memfd_create");
  if (mascri_write_all(fd, json, len, err) < 0)
    return -1;
  explicit_bzero(json, len);
  if (lseek(fd, 0, SEEK_SET) < 0)
    return mascri_make_error(err, errno, "lseek memfd");
  return TAKE_FD(fd);
}

/* Its own process group, so cancelling kills whatever the child started too. */
static int spawn_child(const char *exe, char **argv, int in_fd, int status_w, pid_t *pid,
                       mascri_error_t *err)
{
  const mascri_spawn_fd_t fds[] = {
      {.fd = STDIN_FILENO, .from = in_fd},
      {.fd = STDOUT_FILENO, .from = -1, .null_flags = O_WRONLY},
      {.fd = STATUS_FD, .from = status_w},
  };
  int r = mascri_spawn(exe, argv, NULL, fds, ARRAY_SIZE(fds), MASCRI_SPAWN_NEW_PGROUP, pid);
  return r ? mascri_make_error(err, r, "start %s", exe) : 0;
}

struct watch {
  char buf[STATUS_MAX];
  size_t len;
  bool cancelled;
};

/* Reads the status until the child closes it (it exits), stopping it on cancel. */
static void watch_child(int fd, pid_t pid, const volatile int *cancel, struct watch *w)
{
  long term_at = -1;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, 100);
    if (r < 0 && errno != EINTR)
      break;
    if (r > 0) {
      char tmp[1024];
      ssize_t n = read(fd, tmp, sizeof(tmp));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        break;
      size_t keep = n > 0 ? (size_t)n : 0;
      if (keep > sizeof(w->buf) - w->len)
        keep = sizeof(w->buf) - w->len;
      memcpy(w->buf + w->len, tmp, keep);
      w->len += keep;
    }
    if (term_at < 0 && cancel && *cancel) {
      w->cancelled = true;
      kill(pid, SIGTERM);
      term_at = mascri_clock_monotonic_ms();
    } else if (term_at >= 0 && mascri_clock_monotonic_ms() - term_at > KILL_AFTER_MS) {
      kill(-pid, SIGKILL); /* stuck: its process group goes */
      term_at = mascri_clock_monotonic_ms() + 3600 * 1000L;
    }
  }
}

static int child_result(const struct watch *w, int status, char **image_id, mascri_error_t *err)
{
  if (w->len > 0)
    return mascri_pull_status_parse(w->buf, w->len, image_id, err);
  if (w->cancelled)
    return mascri_make_error_kind(err, MASCRI_ERR_CANCELLED, 0, "pull cancelled");
  if (WIFSIGNALED(status))
    return mascri_make_error(err, 0, "mascri-image killed by signal %d", WTERMSIG(status));
  return mascri_make_error(err, 0, "mascri-image exited with status %d without a result",
                           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int mascri_pull_child_run(const struct mascri_pull_child_config *cfg, const char *ref,
                          const struct mascri_registry_auth *auth, const volatile int *cancel,
                          char **image_id, mascri_error_t *err)
{
  int pfd[2];
  _cleanup_close_ int in_fd = auth_input(auth, err);
  if (in_fd < 0)
    return -1;
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return mascri_make_error(err, errno, "pipe");
  _cleanup_close_ int status_r = pfd[0];
  _cleanup_close_ int status_w = pfd[1];
  _cleanup_strv_ char **argv = mascri_pull_child_argv(cfg, ref, auth != NULL);
  pid_t pid;
  if (spawn_child(cfg->exe, argv, in_fd, status_w, &pid, err) < 0)
    return -1;
  close(TAKE_FD(status_w));
  close(TAKE_FD(in_fd));
  struct watch *w = xmalloc0(sizeof(*w));
  watch_child(status_r, pid, cancel, w);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  int r = child_result(w, status, image_id, err);
  free(w);
  return r;
}
