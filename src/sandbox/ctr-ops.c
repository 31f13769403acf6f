/* Start, stop, remove (one container or a pod's), update, reopen the log and ExecSync, on
 * the container store. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-internal.h"
#include "sandbox/ctr-spec.h"
#include "sandbox/pod-spawn.h"

#define KILL_WAIT_MS 10000

static const char *state_name(mascri_ctr_state_t s)
{
  static const char *const names[] = {"created", "running", "exited", "unknown"};
  return (unsigned)s < 4 ? names[s] : "unknown";
}

static int wrong_state(const struct ctr *c, const char *want, mascri_error_t *err)
{
  return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                "container %s is %s, not %s", c->info.id, state_name(c->info.state),
                                want);
}

int mascri_containers_start(struct mascri_containers *ctrs, const char *id, mascri_error_t *err)
{
  struct ctr *c = mascri_ctrs_acquire(ctrs, id, err);
  if (!c)
    return -1;
  mascri_ctrs_refresh(ctrs, c);
  int ret;
  if (c->info.state != MASCRI_CTR_CREATED) {
    ret = wrong_state(c, "created", err);
  } else {
    mascri_runtime_t rt = mascri_ctrs_runtime(ctrs);
    ret = mascri_container_start(&rt, c->info.id, err);
    if (ret == 0) {
      mascri_objtable_lock(&ctrs->table);
      c->info.started_at = mascri_clock_realtime_ns();
      if (c->info.state == MASCRI_CTR_CREATED)
        c->info.state = MASCRI_CTR_RUNNING;
      ret = mascri_ctr_record_write(ctrs, c, err);
      mascri_objtable_unlock(&ctrs->table);
    }
    if (ret == 0) {
      log_info("container %s started", c->info.id);
      mascri_ctrs_emit(ctrs, c, MASCRI_CTR_EVENT_STARTED);
      mascri_ctrs_refresh(ctrs, c); /* it may already have exited */
    } else {
      mascri_error_wrap(err, "start container %s", c->info.id);
    }
  }
  mascri_ctrs_put(ctrs, c);
  return ret;
}

static bool has_exited(struct mascri_containers *ctrs, struct ctr *c)
{
  _cleanup_free_ char *exit_file = mascri_ctr_exit_file(ctrs, c->info.id);
  return mascri_path_exists(exit_file) ||
         !mascri_pause_alive(c->info.monitor_pid, c->info.monitor_start_time);
}

/* Sends sig (see mascri_ctr_kill_wait); *pending stays true while the init would not get it. */
static void kill_once(const mascri_runtime_t *rt, const struct ctr *c, int sig, bool all,
                      bool *pending)
{
  _cleanup_error_ mascri_error_t kerr = NULL;
  bool sent = true;
  int r = all ? mascri_container_kill(rt, c->info.id, sig, true, &kerr)
              : mascri_container_signal_init(rt, c->info.id, sig, &sent, &kerr);
  *pending = r == 0 && !sent;
  if (r < 0 && kerr->kind != MASCRI_ERR_NOT_FOUND && kerr->kind != MASCRI_ERR_FAILED_PRECONDITION)
    log_warning("container %s: %s", c->info.id, mascri_error_message(&kerr));
}

int mascri_ctr_kill_wait(struct mascri_containers *ctrs, struct ctr *c, int sig, bool all,
                         int64_t timeout_ms, const volatile int *cancel, mascri_error_t *err)
{
  if (has_exited(ctrs, c))
    return 1;
  mascri_runtime_t rt = mascri_ctrs_runtime(ctrs);
  /* A signal for the init alone is held back while the kernel would drop it (a PID-namespace
   * init that has not installed its handler yet) and sent once it would not, exactly once. */
  bool pending = false;
  kill_once(&rt, c, sig, all, &pending);
  if (pending)
    log_debug("container %s: holding signal %d until its init has a handler", c->info.id, sig);
  int64_t start = mascri_clock_monotonic_ms();
  long sleep_us = 500;
  for (;;) {
    if (pending)
      kill_once(&rt, c, sig, false, &pending);
    if (has_exited(ctrs, c))
      return 1;
    int64_t ms = mascri_clock_monotonic_ms() - start;
    if (timeout_ms >= 0 && ms >= timeout_ms)
      return 0;
    if (cancel && *cancel)
      return mascri_make_error_kind(err, MASCRI_ERR_CANCELLED, 0,
                                    "cancelled while stopping container %s", c->info.id);
    usleep((useconds_t)sleep_us);
    if (sleep_us < 20000)
      sleep_us *= 2;
  }
}

/* With c->obj.op held (acquire). */
static int stop_locked(struct mascri_containers *ctrs, struct ctr *c, int64_t timeout_s,
                       const volatile int *cancel, mascri_error_t *err)
{
  mascri_ctrs_refresh(ctrs, c);
  if (c->info.state == MASCRI_CTR_EXITED || c->info.state == MASCRI_CTR_UNKNOWN)
    return 0;
  int r = 0;
  if (timeout_s > 0 && c->info.state == MASCRI_CTR_RUNNING) {
    r = mascri_ctr_kill_wait(ctrs, c, c->info.stop_signal, false, timeout_s * 1000, cancel, err);
    if (r < 0)
      return -1;
  }
  if (r == 0) {
    r = mascri_ctr_kill_wait(ctrs, c, SIGKILL, true, KILL_WAIT_MS, cancel, err);
    if (r < 0)
      return -1;
    if (r == 0)
      return mascri_make_error_kind(err, MASCRI_ERR_DEADLINE, 0,
                                    "container %s did not exit %d s after SIGKILL", c->info.id,
                                    KILL_WAIT_MS / 1000);
  }
  mascri_ctrs_refresh(ctrs, c);
  log_info("container %s stopped", c->info.id);
  return 0;
}

int mascri_containers_stop(struct mascri_containers *ctrs, const char *id, int64_t timeout_s,
                           const volatile int *cancel, mascri_error_t *err)
{
  struct ctr *c = mascri_ctrs_acquire(ctrs, id, err);
  if (!c)
    return -1;
  int ret = stop_locked(ctrs, c, timeout_s, cancel, err);
  mascri_ctrs_put(ctrs, c);
  return ret;
}

static void remove_files(struct mascri_containers *ctrs, const char *id)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_runtime_t rt = mascri_ctrs_runtime(ctrs);
  if (mascri_container_delete(&rt, id, true, &err) < 0 && err->kind != MASCRI_ERR_NOT_FOUND)
    log_warning("container %s: %s", id, mascri_error_message(&err));
  mascri_error_release(&err);
  if (mascri_image_rootfs_remove(ctrs->images, id, &err) < 0)
    mascri_log_error_release(MASCRI_LOG_WARNING, &err, "container %s", id);
  _cleanup_free_ char *exit_file = mascri_ctr_exit_file(ctrs, id);
  _cleanup_free_ char *mon = mascri_ctr_monitor_dir(ctrs, id);
  unlink(exit_file);
  if (mascri_rm_rf(mon, &err) < 0)
    log_warning("container %s: %s", id, mascri_error_message(&err));
}

int mascri_containers_remove(struct mascri_containers *ctrs, const char *id, mascri_error_t *err)
{
  struct ctr *c = mascri_ctrs_acquire(ctrs, id, err);
  if (!c)
    return -1;
  int ret = stop_locked(ctrs, c, 0, NULL, err);
  if (ret == 0) {
    remove_files(ctrs, c->info.id);
    _cleanup_free_ char *dir = mascri_ctr_dir(ctrs, c->info.id);
    ret = mascri_rm_rf(dir, err);
  }
  if (ret == 0) {
    mascri_objtable_remove(&ctrs->table, &c->obj);
    log_info("container %s removed", c->info.id);
    mascri_ctrs_emit(ctrs, c, MASCRI_CTR_EVENT_DELETED);
  }
  mascri_ctrs_put(ctrs, c);
  return ret;
}

static char **pod_container_ids(struct mascri_containers *ctrs, const char *pod_id)
{
  char **ids = xcalloc(1, sizeof(char *));
  mascri_objtable_lock(&ctrs->table);
  struct mascri_obj *o;
  for (size_t i = 0; (o = mascri_objtable_next_locked(&ctrs->table, &i));)
    if (strcmp(mascri_ctr_of(o)->info.pod_id, pod_id) == 0)
      mascri_strv_append(&ids, o->id);
  mascri_objtable_unlock(&ctrs->table);
  return ids;
}

int mascri_containers_stop_pod(struct mascri_containers *ctrs, const char *pod_id,
                               int64_t timeout_s, mascri_error_t *err)
{
  _cleanup_strv_ char **ids = pod_container_ids(ctrs, pod_id);
  for (size_t i = 0; ids[i]; i++) {
    _cleanup_error_ mascri_error_t e = NULL;
    if (mascri_containers_stop(ctrs, ids[i], timeout_s, NULL, &e) < 0 &&
        e->kind != MASCRI_ERR_NOT_FOUND) {
      mascri_error_move(err, &e);
      return mascri_error_wrap(err, "stop pod %s", pod_id);
    }
  }
  return 0;
}

int mascri_containers_remove_pod(struct mascri_containers *ctrs, const char *pod_id,
                                 mascri_error_t *err)
{
  _cleanup_strv_ char **ids = pod_container_ids(ctrs, pod_id);
  for (size_t i = 0; ids[i]; i++) {
    _cleanup_error_ mascri_error_t e = NULL;
    if (mascri_containers_remove(ctrs, ids[i], &e) < 0 && e->kind != MASCRI_ERR_NOT_FOUND) {
      mascri_error_move(err, &e);
      return mascri_error_wrap(err, "remove pod %s", pod_id);
    }
  }
  return 0;
}

/* ---- update / reopen / exec / usage ------------------------------------------------ */

static void spec_resources(const struct mascri_ctr_resources *in, mascri_spec_resources_t *r)
{
  memset(r, 0, sizeof(*r));
  r->cpu.has_shares = in->cpu_shares > 0, r->cpu.shares = (uint64_t)in->cpu_shares;
  r->cpu.has_quota = in->cpu_quota != 0, r->cpu.quota = in->cpu_quota;
  r->cpu.has_period = in->cpu_period > 0, r->cpu.period = (uint64_t)in->cpu_period;
  r->cpu.cpus = in->cpuset_cpus && in->cpuset_cpus[0] ? xstrdup(in->cpuset_cpus) : NULL;
  r->cpu.mems = in->cpuset_mems && in->cpuset_mems[0] ? xstrdup(in->cpuset_mems) : NULL;
  r->memory.has_limit = in->memory_limit_in_bytes > 0;
  r->memory.limit = in->memory_limit_in_bytes;
  r->memory.has_swap = in->memory_swap_limit_in_bytes > 0;
  r->memory.swap = in->memory_swap_limit_in_bytes;
  if (in->n_hugepage_limits) {
    r->hugepage_limits = xcalloc(in->n_hugepage_limits, sizeof(*r->hugepage_limits));
    for (size_t i = 0; i < in->n_hugepage_limits; i++) {
      r->hugepage_limits[i].page_size =
          xstrdup(in->hugepage_limits[i].page_size ? in->hugepage_limits[i].page_size : "");
      r->hugepage_limits[i].limit = in->hugepage_limits[i].limit;
    }
    r->n_hugepage_limits = in->n_hugepage_limits;
  }
  for (size_t i = 0; i < in->unified.n; i++) {
    mascri_strv_append(&r->unified_keys, in->unified.v[i].key);
    mascri_strv_append(&r->unified_values, in->unified.v[i].value);
  }
}

/* The config's resources become res (what ContainerStatus then reports). */
static void record_resources(struct ctr *c, const struct mascri_ctr_resources *res)
{
  struct mascri_ctr_resources *dst = &c->info.config->resources;
  mascri_ctr_resources_clear(dst);
  mascri_ctr_resources_copy(dst, res);
  dst->set = true;
}

int mascri_containers_update(struct mascri_containers *ctrs, const char *id,
                             const struct mascri_ctr_resources *res, mascri_error_t *err)
{
  struct ctr *c = mascri_ctrs_acquire(ctrs, id, err);
  if (!c)
    return -1;
  mascri_ctrs_refresh(ctrs, c);
  int ret;
  if (c->info.state != MASCRI_CTR_CREATED && c->info.state != MASCRI_CTR_RUNNING) {
    ret = wrong_state(c, "created or running", err);
  } else {
    mascri_spec_resources_t r;
    spec_resources(res, &r);
    mascri_runtime_t rt = mascri_ctrs_runtime(ctrs);
    ret = mascri_container_update(&rt, c->info.id, &r, err);
    free(r.cpu.cpus);
    free(r.cpu.mems);
    for (size_t i = 0; i < r.n_hugepage_limits; i++)
      free(r.hugepage_limits[i].page_size);
    free(r.hugepage_limits);
    mascri_strv_free(r.unified_keys);
    mascri_strv_free(r.unified_values);
    if (ret == 0) {
      mascri_objtable_lock(&ctrs->table);
      record_resources(c, res);
      ret = mascri_ctr_record_write(ctrs, c, err);
      mascri_objtable_unlock(&ctrs->table);
    }
  }
  mascri_ctrs_put(ctrs, c);
  return ret;
}

int mascri_containers_reopen_log(struct mascri_containers *ctrs, const char *id,
                                 mascri_error_t *err)
{
  struct ctr *c = mascri_ctrs_acquire(ctrs, id, err);
  if (!c)
    return -1;
  mascri_ctrs_refresh(ctrs, c);
  int ret;
  if (c->info.state != MASCRI_CTR_RUNNING) {
    ret = wrong_state(c, "running", err);
  } else {
    _cleanup_free_ char *dir = mascri_ctr_monitor_dir(ctrs, c->info.id);
    ret = mascri_monitor_request(dir, "reopen", NULL, err);
    if (ret < 0)
      mascri_error_wrap(err, "reopen the log of container %s", c->info.id);
  }
  mascri_ctrs_put(ctrs, c);
  return ret;
}

int mascri_containers_exec_sync(struct mascri_containers *ctrs, const char *id,
                                const char *const *cmd, int64_t timeout_s,
                                const volatile int *cancel, struct mascri_exec_sync_result *res,
                                mascri_error_t *err)
{
  memset(res, 0, sizeof(*res));
  if (!cmd || !cmd[0] || !cmd[0][0])
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "exec: cmd is required");
  _cleanup_ctr_info_ struct mascri_ctr_info *info = NULL;
  if (mascri_containers_get(ctrs, id, &info, err) < 0)
    return -1;
  if (info->state != MASCRI_CTR_RUNNING)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s is %s, not running", info->id,
                                  state_name(info->state));
  _cleanup_free_ char *dir = mascri_ctr_dir(ctrs, info->id);
  _cleanup_free_ char *spec_path = mascri_path_join(dir, "config.json");
  _cleanup_free_ char *spec = NULL, *process = NULL;
  size_t len = 0;
  if (mascri_read_file(spec_path, &spec, &len, err) < 0 ||
      mascri_ctr_exec_process_json(spec, cmd, false, &process, err) < 0)
    return -1;
  return mascri_monitor_exec_sync(ctrs, info->id, process, false, timeout_s, cancel, res, err);
}
