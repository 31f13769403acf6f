/* start, kill, delete, state, list: operations on an existing container. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/container-internal.h"
#include "runtime/hooks.h"
#include "runtime/signal-ready.h"

/* How long `kill` holds back a signal that the container's init would not get yet. */
#define KILL_HANDLER_WAIT_MS 3000

const char *mascri_status_name(mascri_status_t status)
{
  static const char *const names[] = {"creating", "created", "running", "paused", "stopped"};
  return status <= MASCRI_STATUS_STOPPED ? names[status] : "unknown";
}

int mascri_container_start(const mascri_runtime_t *rt, const char *id, mascri_error_t *err)
{
  _cleanup_record_ container_record_t rec = {0};
  if (record_read(rt, id, &rec, err) < 0)
    return -1;
  mascri_status_t st = record_status(rt, &rec);
  if (st != MASCRI_STATUS_CREATED)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s is %s, not created", id, mascri_status_name(st));
  _cleanup_free_ char *dir = NULL;
  if (state_dir(rt, id, &dir, err) < 0)
    return -1;
  _cleanup_free_ char *fifo = mascri_path_join(dir, "exec.fifo");
  /* O_NONBLOCK would race the writer; the init is blocked on its open, so this returns */
  _cleanup_close_ int fd = open(fifo, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open %s", fifo);
  char c;
  ssize_t n;
  do
    n = read(fd, &c, 1);
  while (n < 0 && errno == EINTR);
  unlink(fifo);
  if (n != 1)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s: the init exited before start", id);
  _cleanup_spec_ mascri_spec_t *spec = NULL;
  if (record_load_spec(rt, id, &spec, err) < 0)
    return -1;
  if (spec->hooks[MASCRI_HOOK_POSTSTART].n) {
    _cleanup_free_ char *state = container_state_json(id, "running", rec.pid, rec.bundle,
                                                      rec.annotation_keys, rec.annotation_values);
    if (mascri_hooks_run(&spec->hooks[MASCRI_HOOK_POSTSTART], "poststart", state, err) < 0)
      return -1;
  }
  return 0;
}

static int signal_pid(pid_t pid, unsigned long long start, int sig, mascri_error_t *err)
{
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0)
    return errno == ESRCH ? 0 : mascri_make_error(err, errno, "pidfd_open %d", (int)pid);
  /* the pidfd pins the process: check it is still ours before signalling */
  int r = 0;
  if (start == 0 || proc_start_time(pid) == start)
    if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0 && errno != ESRCH)
      r = mascri_make_error(err, errno, "signal %d to %d", sig, (int)pid);
  close(pfd);
  return r;
}

int mascri_container_signal_init(const mascri_runtime_t *rt, const char *id, int sig, bool *sent,
                                 mascri_error_t *err)
{
  _cleanup_record_ container_record_t rec = {0};
  *sent = false;
  if (record_read(rt, id, &rec, err) < 0)
    return -1;
  if (!proc_alive(rec.pid, rec.start_time))
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, ESRCH,
                                  "container %s is not running", id);
  mascri_sig_reach_t reach = mascri_sig_reach(rec.pid, sig);
  if (reach == MASCRI_SIG_DISCARDED)
    return 0;
  *sent = true;
  return reach == MASCRI_SIG_IGNORED ? 0 : signal_pid(rec.pid, rec.start_time, sig, err);
}

int mascri_container_kill(const mascri_runtime_t *rt, const char *id, int sig, bool all,
                          mascri_error_t *err)
{
  if (!all) {
    /* Give a program that has just started the time to install its handler (see
     * signal-ready.c), then send regardless: the caller asked for this signal. */
    bool sent = false;
    for (int waited_ms = 0;; waited_ms += 5) {
      if (mascri_container_signal_init(rt, id, sig, &sent, err) < 0 || sent)
        return sent ? 0 : -1;
      if (waited_ms >= KILL_HANDLER_WAIT_MS)
        break;
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
    _cleanup_record_ container_record_t rec = {0};
    if (record_read(rt, id, &rec, err) < 0)
      return -1;
    return signal_pid(rec.pid, rec.start_time, sig, err);
  }
  _cleanup_record_ container_record_t rec = {0};
  if (record_read(rt, id, &rec, err) < 0)
    return -1;
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if (container_cgroup(&rec, &cg, err) < 0 || mascri_cgroup_pids(&cg, &pids, &n, err) < 0)
    return -1;
  if (sig == SIGKILL && mascri_cgroup_kill(&cg, err) > 0)
    return 0;
  mascri_error_release(err);
  bool frozen = sig == SIGKILL && mascri_cgroup_is_frozen(&cg);
  for (size_t i = 0; i < n; i++)
    signal_pid(pids[i], 0, sig, err);
  mascri_error_release(err);
  if (frozen && mascri_cgroup_freeze(&cg, false, err) < 0)
    mascri_error_release(err);
  return 0;
}

/* Kills everything in the cgroup and waits (bounded) for it to empty. */
static void kill_all_and_wait(const mascri_cgroup_t *cg)
{
  mascri_error_t e = NULL;
  if (mascri_cgroup_kill(cg, &e) <= 0 && mascri_cgroup_is_frozen(cg))
    mascri_cgroup_freeze(cg, false, &e);
  mascri_error_release(&e);
  for (int round = 0; round < 1000; round++) {
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    if (mascri_cgroup_pids(cg, &pids, &n, &e) < 0 || n == 0)
      break;
    for (size_t i = 0; i < n; i++)
      kill(pids[i], SIGKILL);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  mascri_error_release(&e);
}

int mascri_container_delete(const mascri_runtime_t *rt, const char *id, bool force,
                            mascri_error_t *err)
{
  _cleanup_record_ container_record_t rec = {0};
  if (record_read(rt, id, &rec, err) < 0)
    return -1;
  mascri_status_t st = record_status(rt, &rec);
  if (!force && st != MASCRI_STATUS_STOPPED && st != MASCRI_STATUS_CREATED)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s is %s: stop it first or use --force", id,
                                  mascri_status_name(st));
  if (st != MASCRI_STATUS_STOPPED)
    signal_pid(rec.pid, rec.start_time, SIGKILL, err);
  mascri_error_release(err);
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  if (rec.cgroup_path[0] && container_cgroup(&rec, &cg, err) == 0) {
    kill_all_and_wait(&cg);
    if (mascri_cgroup_ops_of(cg.manager)->destroy(&cg, err) < 0)
      mascri_log_error_release(MASCRI_LOG_WARNING, err, "delete container %s", id);
  }
  mascri_error_release(err);
  _cleanup_spec_ mascri_spec_t *spec = NULL;
  if (record_load_spec(rt, id, &spec, err) == 0 && spec->hooks[MASCRI_HOOK_POSTSTOP].n) {
    _cleanup_free_ char *state = container_state_json(id, "stopped", 0, rec.bundle,
                                                      rec.annotation_keys, rec.annotation_values);
    if (mascri_hooks_run(&spec->hooks[MASCRI_HOOK_POSTSTOP], "poststop", state, err) < 0)
      mascri_log_error_release(MASCRI_LOG_WARNING, err, "delete container %s", id);
  }
  mascri_error_release(err);
  _cleanup_free_ char *dir = NULL;
  if (state_dir(rt, id, &dir, err) < 0 || mascri_rm_rf(dir, err) < 0)
    return -1;
  return 0;
}

void mascri_container_state_clear(mascri_container_state_t *st)
{
  free(st->id);
  free(st->bundle);
  free(st->rootfs);
  free(st->owner);
  free(st->cgroup_path);
  mascri_strv_free(st->annotation_keys);
  mascri_strv_free(st->annotation_values);
  memset(st, 0, sizeof(*st));
}

int mascri_container_state(const mascri_runtime_t *rt, const char *id,
                           mascri_container_state_t *out, mascri_error_t *err)
{
  container_record_t rec = {0};
  if (record_read(rt, id, &rec, err) < 0)
    return -1;
  memset(out, 0, sizeof(*out));
  out->status = record_status(rt, &rec);
  out->pid = out->status == MASCRI_STATUS_STOPPED ? 0 : rec.pid;
  out->id = TAKE_PTR(rec.id);
  out->bundle = TAKE_PTR(rec.bundle);
  out->rootfs = TAKE_PTR(rec.rootfs);
  out->owner = TAKE_PTR(rec.owner);
  out->cgroup_path = TAKE_PTR(rec.cgroup_path);
  out->created = rec.created;
  out->annotation_keys = TAKE_PTR(rec.annotation_keys);
  out->annotation_values = TAKE_PTR(rec.annotation_values);
  record_clear(&rec);
  return 0;
}

char *mascri_container_state_json(const mascri_container_state_t *st)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(true);
  struct tm tm;
  char ts[64], created[96];
  gmtime_r(&st->created.tv_sec, &tm);
  strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(created, sizeof(created), "%s.%09ldZ", ts, st->created.tv_nsec);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "ociVersion", "1.2.0");
  mascri_json_gen_kv_string(g, "id", st->id);
  mascri_json_gen_kv_int(g, "pid", st->pid);
  mascri_json_gen_kv_string(g, "status", mascri_status_name(st->status));
  mascri_json_gen_kv_string(g, "bundle", st->bundle);
  mascri_json_gen_kv_string(g, "rootfs", st->rootfs);
  mascri_json_gen_kv_string(g, "created", created);
  mascri_json_gen_kv_string(g, "owner", st->owner ? st->owner : "");
  if (st->annotation_keys && st->annotation_keys[0]) {
    mascri_json_gen_key(g, "annotations");
    yajl_gen_map_open(g);
    for (size_t i = 0; st->annotation_keys[i]; i++)
      mascri_json_gen_kv_string(g, st->annotation_keys[i], st->annotation_values[i]);
    yajl_gen_map_close(g);
  }
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int mascri_container_list(const mascri_runtime_t *rt, char ***ids, mascri_error_t *err)
{
  *ids = xcalloc(1, sizeof(char *));
  _cleanup_closedir_ DIR *d = opendir(state_root(rt));
  if (!d)
    return errno == ENOENT ? 0 : mascri_make_error(err, errno, "open %s", state_root(rt));
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.' && de->d_type == DT_DIR)
      mascri_strv_append(ids, de->d_name);
  qsort(*ids, mascri_strv_length(*ids), sizeof(char *), cmp_str);
  return 0;
}
