/* CreateContainer: name reservation, the rootfs from the image store, the OCI spec
 * (ctr-spec.h) in the bundle <root>/containers/<id>/config.json, and the monitor, which
 * creates the container; rollback of every step on failure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/signal-name.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "sandbox/ctr-internal.h"
#include "sandbox/ctr-spec.h"
#include "sandbox/pod-spawn.h"
#include "sandbox/pod-util.h"

static bool bad_name(const char *s)
{
  return !s || !s[0] || strpbrk(s, "/_\n ") != NULL || strlen(s) > 253;
}

static int validate(const struct mascri_ctr_config *c, mascri_error_t *err)
{
  if (!c)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "container config is required");
  if (bad_name(c->metadata.name))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "container metadata.name is required and must not contain "
                                  "'/', '_' or spaces");
  if (!c->image.image || !c->image.image[0])
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "container image.image is required");
  if (c->log_path && c->log_path[0] && (c->log_path[0] == '/' || strstr(c->log_path, "..") != NULL))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "log_path \"%s\" must be relative to the pod's log directory "
                                  "without \"..\"",
                                  c->log_path);
  return 0;
}

static int stop_signal(const struct mascri_ctr_config *c, const struct mascri_image_info *img)
{
  int sig = c->stop_signal ? mascri_signal_parse(c->stop_signal) : 0;
  if (sig > 0)
    return sig;
  sig = mascri_signal_parse(img->stop_signal);
  return sig > 0 ? sig : SIGTERM;
}

/* What CreateContainer was asked, for a retry's comparison. */
struct create_request {
  const char *pod_id;
  const struct mascri_ctr_config *config;
};

/* Whether holder is what this same request made (kubelet retrying after its own timeout): a
 * container still CREATED from an identical config in the same pod. */
static bool same_request(const struct mascri_obj *holder, const void *request)
{
  const struct ctr *x = mascri_ctr_of(holder);
  const struct create_request *rq = request;
  if (x->info.state != MASCRI_CTR_CREATED || !x->info.config ||
      strcmp(x->info.pod_id, rq->pod_id) != 0)
    return false;
  return mascri_ctr_config_equal(x->info.config, rq->config);
}

/* The container as far as the request describes it, under a new id. */
static struct ctr *new_ctr(const struct mascri_pod_info *pod, const struct mascri_ctr_config *c)
{
  struct ctr *x = mascri_ctr_alloc();
  x->info.id = mascri_pod_new_id();
  x->info.full_name = xasprintf("k8s_%s_%s_%s_%s_%u", c->metadata.name, pod->name, pod->namespace_,
                                pod->uid, c->metadata.attempt);
  x->info.pod_id = xstrdup(pod->id);
  x->info.name = xstrdup(c->metadata.name);
  x->info.attempt = c->metadata.attempt;
  x->info.image_ref = xstrdup(c->image.image);
  x->info.config = mascri_ctr_config_dup(c);
  x->obj.id = x->info.id;
  x->obj.name = x->info.full_name;
  return x;
}

static char *cgroups_path(const struct mascri_containers *ctrs, const struct mascri_pod_info *pod,
                          const char *id)
{
  return mascri_cgroup_ops_of(ctrs->cgroup_manager)
      ->container_cgroups_path(pod->cgroup_parent ? pod->cgroup_parent : "/mascri", id);
}

/* Makes the directories of rel (a normal relative path) below dirfd, one component at a
 * time, refusing symlinks: the pod's log directory may be writable from a container. */
static int mkdirs_nofollow_at(int dirfd, const char *rel, mascri_error_t *err)
{
  _cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return mascri_make_error(err, errno, "dup");
  _cleanup_free_ char *copy = xstrdup(rel);
  char *save = NULL;
  for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    if (mkdirat(cur, part, 0755) < 0 && errno != EEXIST)
      return mascri_make_error(err, errno, "mkdir %s", part);
    int next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, errno,
                                    "%s in `%s` is not a directory (a symlink?)", part, rel);
    close(cur);
    cur = next;
  }
  return 0;
}

/* log_path is relative to the pod's log_directory and must stay below it. */
static char *log_path(const struct mascri_pod_info *pod, const struct mascri_ctr_config *c,
                      mascri_error_t *err)
{
  if (!c->log_path || !c->log_path[0] || !pod->log_directory || !pod->log_directory[0])
    return NULL;
  if (c->log_path[0] == '/' || !mascri_path_is_normal(c->log_path)) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                           "log_path \"%s\": must be a relative path below the pod's "
                           "log_directory, without \"..\" or \".\" components",
                           c->log_path);
    return NULL;
  }
  if (mascri_mkdir_p(pod->log_directory, 0755, err) < 0) {
    mascri_error_wrap(err, "log directory");
    return NULL;
  }
  _cleanup_close_ int dfd =
      open(pod->log_directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) {
    mascri_make_error(err, errno, "open the log directory %s", pod->log_directory);
    return NULL;
  }
  _cleanup_free_ char *sub = xstrdup(c->log_path);
  char *slash = strrchr(sub, '/');
  if (slash) {
    *slash = '\0';
    if (mkdirs_nofollow_at(dfd, sub, err) < 0) {
      mascri_error_wrap(err, "log directory %s", pod->log_directory);
      return NULL;
    }
  }
  /* an existing log must be a regular file (the monitor opens it O_NOFOLLOW too) */
  struct stat st;
  if (fstatat(dfd, c->log_path, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                           "log_path \"%s\": exists and is not a regular file (a symlink?)",
                           c->log_path);
    return NULL;
  }
  return mascri_path_join(pod->log_directory, c->log_path);
}

struct create_job {
  struct mascri_containers *ctrs;
  struct ctr *c;
  struct mascri_pod_info *pod;
  struct mascri_image_info *image;
  char *dir, *rootfs;
  bool rootfs_made, dir_made, monitor_started;
};

static int make_bundle(struct create_job *j, mascri_error_t *err)
{
  const char *id = j->c->info.id;
  if (mascri_mkdir_p(j->dir, 0700, err) < 0)
    return -1;
  j->dir_made = true;
  if (mascri_image_rootfs_create(j->ctrs->images, id, j->image->id, err) < 0)
    return mascri_error_wrap(err, "rootfs of image %s", j->c->info.image_ref);
  j->rootfs_made = true;
  if (mascri_image_rootfs_mount(j->ctrs->images, id, NULL, &j->rootfs, err) < 0)
    return -1;
  _cleanup_close_ int rootfd = open(j->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return mascri_make_error(err, errno, "open %s", j->rootfs);
  _cleanup_free_ char *cg = cgroups_path(j->ctrs, j->pod, id);
  _cleanup_free_ char *target_pidns = NULL;
  const struct mascri_ctr_security *sc = &j->c->info.config->security;
  const struct mascri_ns_options *ns = sc->has_namespace_options ? &sc->namespace_options : NULL;
  if (ns && ns->pid == MASCRI_NS_MODE_TARGET) {
    _cleanup_ctr_info_ struct mascri_ctr_info *t = NULL;
    if (mascri_containers_get(j->ctrs, ns->target_id ? ns->target_id : "", &t, err) < 0)
      return mascri_error_wrap(err, "namespace_options.target_id");
    if (t->state != MASCRI_CTR_RUNNING || t->init_pid <= 0)
      return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                    "target container %s is not running", t->id);
    target_pidns = xasprintf("/proc/%d/ns/pid", (int)t->init_pid);
  }
  struct mascri_ctr_spec_input in = {
      .container_id = id,
      .config = j->c->info.config,
      .pod = j->pod,
      .image = j->image,
      .rootfs = j->rootfs,
      .rootfs_fd = rootfd,
      .cgroups_path = cg,
      .target_pidns_path = target_pidns,
      .default_caps = j->ctrs->default_caps,
  };
  _cleanup_free_ char *json = NULL;
  if (mascri_ctr_spec_build(&in, &json, err) < 0)
    return -1;
  _cleanup_free_ char *path = mascri_path_join(j->dir, "config.json");
  return mascri_write_file_atomic(path, json, strlen(json), 0600, err);
}

static int start_monitor(struct create_job *j, const volatile int *cancel, mascri_error_t *err)
{
  struct ctr *c = j->c;
  _cleanup_free_ char *exit_file = mascri_ctr_exit_file(j->ctrs, c->info.id);
  _cleanup_free_ char *socket_dir = mascri_ctr_monitor_dir(j->ctrs, c->info.id);
  unlink(exit_file);
  struct mascri_monitor_args a = {
      .id = c->info.id,
      .bundle = j->dir,
      .log_path = c->info.log_path,
      .exit_file = exit_file,
      .socket_dir = socket_dir,
      .terminal = c->info.config->tty,
      .stdin_ = c->info.config->stdin_,
      .stdin_once = c->info.config->stdin_once,
  };
  j->monitor_started = true;
  if (mascri_monitor_create(j->ctrs, &a, &c->info.monitor_pid, &c->info.init_pid, cancel, err) < 0)
    return -1;
  c->info.monitor_start_time = mascri_proc_start_time(c->info.monitor_pid);
  return 0;
}

static void rollback(struct create_job *j)
{
  _cleanup_error_ mascri_error_t err = NULL;
  const char *id = j->c->info.id;
  if (j->monitor_started) {
    mascri_runtime_t rt = mascri_ctrs_runtime(j->ctrs);
    if (mascri_container_delete(&rt, id, true, &err) < 0 && err->kind != MASCRI_ERR_NOT_FOUND)
      log_warning("rollback of container %s: %s", id, mascri_error_message(&err));
    mascri_error_release(&err);
    _cleanup_free_ char *exit_file = mascri_ctr_exit_file(j->ctrs, id);
    unlink(exit_file);
  }
  if (j->rootfs_made && mascri_image_rootfs_remove(j->ctrs->images, id, &err) < 0)
    mascri_log_error_release(MASCRI_LOG_WARNING, &err, "rollback of container %s", id);
  if (j->dir_made && mascri_rm_rf(j->dir, &err) < 0)
    log_warning("rollback of container %s: %s", id, mascri_error_message(&err));
}

static int create_steps(struct create_job *j, const volatile int *cancel, mascri_error_t *err)
{
  struct ctr *c = j->c;
  if (mascri_image_lookup(j->ctrs->images, c->info.image_ref, &j->image, err) < 0)
    return (*err)->kind == MASCRI_ERR_NOT_FOUND
               ? mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0,
                                        "image \"%s\" not found: pull it first", c->info.image_ref)
               : -1;
  c->info.image_id = xstrdup(j->image->id);
  c->info.stop_signal = stop_signal(c->info.config, j->image);
  c->info.log_path = log_path(j->pod, c->info.config, err);
  if (!c->info.log_path && err && *err)
    return -1;
  j->dir = mascri_ctr_dir(j->ctrs, c->info.id);
  if (make_bundle(j, err) < 0 || start_monitor(j, cancel, err) < 0)
    return -1;
  c->info.cgroup_path = mascri_ctr_runtime_cgroup_path(j->ctrs, c->info.id);
  c->info.state = MASCRI_CTR_CREATED;
  c->info.created_at = mascri_clock_realtime_ns();
  return mascri_ctr_record_write(j->ctrs, c, err);
}

int mascri_containers_create(struct mascri_containers *ctrs, const char *pod_id,
                             const struct mascri_ctr_config *config, char **id,
                             const volatile int *cancel, mascri_error_t *err)
{
  if (validate(config, err) < 0)
    return -1;
  struct create_job j = {.ctrs = ctrs};
  if (mascri_pods_get(ctrs->pods, pod_id, &j.pod, err) < 0)
    return -1;
  if (!j.pod->ready) {
    mascri_pod_info_free(j.pod);
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "pod sandbox %s is not ready", pod_id);
  }
  /* ALREADY_EXISTS naming the holder; a CreateContainer of the name in flight is waited
   * for. */
  const struct create_request rq = {j.pod->id, config};
  char *existing = NULL;
  j.c = new_ctr(j.pod, config);
  int ret = mascri_objtable_reserve(&ctrs->table, &j.c->obj, same_request, &rq, &existing, err);
  if (ret != 0) {
    if (ret > 0)
      log_info("CreateContainer of %s again: answering with the container it made, %s",
               config->metadata.name, existing);
    mascri_ctr_free(j.c);
    mascri_pod_info_free(j.pod);
    if (ret < 0)
      return -1;
    *id = existing;
    return 0;
  }
  ret = create_steps(&j, cancel, err);
  if (ret < 0) {
    rollback(&j);
  } else {
    *id = xstrdup(j.c->info.id);
    log_info("container %s (%s) created in pod %s", j.c->info.id, j.c->info.full_name, j.pod->id);
  }
  /* Our own reference keeps j.c through the event (a RemoveContainer may drop the table's
   * meanwhile); a failed one goes with it. */
  mascri_objtable_lock(&ctrs->table);
  mascri_obj_ref_locked(&j.c->obj);
  mascri_objtable_unlock(&ctrs->table);
  mascri_objtable_settle(&ctrs->table, &j.c->obj, ret == 0);
  if (ret == 0)
    mascri_ctrs_emit(ctrs, j.c, MASCRI_CTR_EVENT_CREATED);
  mascri_objtable_unref(&ctrs->table, &j.c->obj);
  mascri_pod_info_free(j.pod);
  mascri_image_info_free(j.image);
  free(j.dir);
  free(j.rootfs);
  return ret;
}
