/* The container store: the table, open/restore, lookups, snapshots, state refresh from the
 * monitors' exit files, and the watcher that notices containers exiting on their own. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mount-private.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-internal.h"
#include "sandbox/mntns-template.h"
#include "sandbox/pod-spawn.h"

struct ctr *mascri_ctrs_acquire(struct mascri_containers *ctrs, const char *id_or_prefix,
                                mascri_error_t *err)
{
  struct mascri_obj *o = mascri_objtable_acquire(&ctrs->table, id_or_prefix, err);
  return o ? mascri_ctr_of(o) : NULL;
}

void mascri_ctrs_emit(struct mascri_containers *ctrs, const struct ctr *c, mascri_ctr_event_t type)
{
  if (ctrs->on_event)
    ctrs->on_event(ctrs->event_data, c->info.id, c->info.pod_id, type);
}

static void set_str(char **dst, const char *s)
{
  free(*dst);
  *dst = s ? xstrdup(s) : NULL;
}

/* With the table's lock held. */
static bool refresh_locked(struct mascri_containers *ctrs, struct ctr *c)
{
  if (c->obj.creating ||
      (c->info.state != MASCRI_CTR_CREATED && c->info.state != MASCRI_CTR_RUNNING))
    return false;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *exit_file = mascri_ctr_exit_file(ctrs, c->info.id);
  int r = mascri_ctr_read_exit_file(exit_file, &c->info, &err);
  if (r < 0) {
    log_warning("container %s: %s", c->info.id, mascri_error_message(&err));
    return false;
  }
  if (r == 0) {
    if (mascri_pause_alive(c->info.monitor_pid, c->info.monitor_start_time))
      return false;
    /* The monitor writes the exit file before it exits: look once more. */
    r = mascri_ctr_read_exit_file(exit_file, &c->info, &err);
    if (r == 0) {
      c->info.state = MASCRI_CTR_EXITED;
      c->info.exit_code = 255;
      c->info.finished_at = mascri_clock_realtime_ns();
      c->info.init_pid = 0;
      set_str(&c->info.reason, "Error");
      set_str(&c->info.message, "the container's monitor is gone (host reboot or killed): "
                                "exit status unknown");
    } else if (r < 0) {
      return false;
    }
  }
  if (mascri_ctr_record_write(ctrs, c, &err) < 0)
    log_warning("%s", mascri_error_message(&err));
  log_info("container %s exited: code %d%s", c->info.id, (int)c->info.exit_code,
           c->info.oom_killed ? " (OOM killed)" : "");
  return true;
}

bool mascri_ctrs_refresh(struct mascri_containers *ctrs, struct ctr *c)
{
  mascri_objtable_lock(&ctrs->table);
  bool changed = refresh_locked(ctrs, c);
  mascri_objtable_unlock(&ctrs->table);
  if (changed)
    mascri_ctrs_emit(ctrs, c, MASCRI_CTR_EVENT_STOPPED);
  return changed;
}

/* Containers whose state changed, each with a reference, to announce once no lock is
 * held (the event handler reads the store). */
struct changed {
  struct ctr **v;
  size_t n;
};

/* With the table's lock held: refreshes c, keeps it (with a reference) when it changed. */
static void collect_locked(struct mascri_containers *ctrs, struct ctr *c, struct changed *ch)
{
  if (!refresh_locked(ctrs, c))
    return;
  mascri_obj_ref_locked(&c->obj);
  ch->v = xrealloc(ch->v, (ch->n + 1) * sizeof(*ch->v));
  ch->v[ch->n++] = c;
}

/* Refreshes every live container (or only_id); collects those that changed. */
static void refresh_collect(struct mascri_containers *ctrs, const char *only_id, struct changed *ch)
{
  mascri_objtable_lock(&ctrs->table);
  struct mascri_obj *o;
  if (only_id) {
    if ((o = mascri_objtable_get_locked(&ctrs->table, only_id)))
      collect_locked(ctrs, mascri_ctr_of(o), ch);
  } else {
    for (size_t i = 0; (o = mascri_objtable_next_locked(&ctrs->table, &i));)
      collect_locked(ctrs, mascri_ctr_of(o), ch);
  }
  mascri_objtable_unlock(&ctrs->table);
}

/* Emits STOPPED for each changed container and drops the references. */
static void announce(struct mascri_containers *ctrs, struct changed *ch)
{
  for (size_t i = 0; i < ch->n; i++) {
    mascri_ctrs_emit(ctrs, ch->v[i], MASCRI_CTR_EVENT_STOPPED);
    mascri_objtable_unref(&ctrs->table, &ch->v[i]->obj);
  }
  free(ch->v);
  *ch = (struct changed){0};
}

/* Refreshes every live container; emits STOPPED for those that changed. */
static void refresh_all(struct mascri_containers *ctrs)
{
  struct changed ch = {0};
  refresh_collect(ctrs, NULL, &ch);
  announce(ctrs, &ch);
}

int mascri_containers_get(struct mascri_containers *ctrs, const char *id_or_prefix,
                          struct mascri_ctr_info **out, mascri_error_t *err)
{
  mascri_objtable_lock(&ctrs->table);
  struct mascri_obj *o = mascri_objtable_find_locked(&ctrs->table, id_or_prefix, err);
  struct ctr *c = o ? mascri_ctr_of(o) : NULL;
  bool changed = false;
  if (c) {
    changed = refresh_locked(ctrs, c);
    *out = xmalloc0(sizeof(**out));
    mascri_ctr_info_copy(*out, &c->info);
    mascri_obj_ref_locked(o);
  }
  mascri_objtable_unlock(&ctrs->table);
  if (!c)
    return -1;
  if (changed)
    mascri_ctrs_emit(ctrs, c, MASCRI_CTR_EVENT_STOPPED);
  mascri_objtable_unref(&ctrs->table, o);
  return 0;
}

/* Reads the exit watcher's queue without blocking and refreshes the containers named in
 * it into ch; false when there is no watcher (then only a full refresh is up to date).
 * With exits_lock held: an event read is applied before another reader can look. */
static bool drain_exits_locked(struct mascri_containers *ctrs, struct changed *ch)
{
  if (ctrs->exits_fd < 0)
    return false;
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  ssize_t len;
  while ((len = read(ctrs->exits_fd, buf, sizeof(buf))) > 0) {
    for (char *ptr = buf; ptr < buf + len;) {
      struct inotify_event *ev = (struct inotify_event *)ptr;
      if (ev->mask & IN_Q_OVERFLOW)
        refresh_collect(ctrs, NULL, ch);
      else if (ev->len > 0 && mascri_obj_is_id(ev->name))
        refresh_collect(ctrs, ev->name, ch);
      ptr += sizeof(*ev) + ev->len;
    }
  }
  return true;
}

/* Applies every exit file written so far: the kernel queues the inotify event when the
 * monitor renames the file into place, so a call that follows sees it here, while a
 * monitor that died without one is found by the watcher's periodic sweep. */
static void sync_exits(struct mascri_containers *ctrs)
{
  struct changed ch = {0};
  pthread_mutex_lock(&ctrs->exits_lock);
  bool watched = drain_exits_locked(ctrs, &ch);
  pthread_mutex_unlock(&ctrs->exits_lock);
  announce(ctrs, &ch);
  if (!watched)
    refresh_all(ctrs);
}

int mascri_containers_list(struct mascri_containers *ctrs, struct mascri_ctr_info ***out, size_t *n,
                           mascri_error_t *err)
{
  (void)err;
  sync_exits(ctrs);
  mascri_objtable_lock(&ctrs->table);
  struct mascri_ctr_info **v = xcalloc(ctrs->table.n + 1, sizeof(*v));
  size_t k = 0;
  struct mascri_obj *o;
  for (size_t i = 0; (o = mascri_objtable_next_locked(&ctrs->table, &i));) {
    v[k] = xmalloc0(sizeof(*v[k]));
    mascri_ctr_info_copy(v[k++], &mascri_ctr_of(o)->info);
  }
  mascri_objtable_unlock(&ctrs->table);
  *out = v;
  *n = k;
  return 0;
}

void mascri_containers_foreach(struct mascri_containers *ctrs, mascri_ctr_visit_fn fn, void *data)
{
  sync_exits(ctrs);
  mascri_objtable_lock(&ctrs->table);
  struct mascri_obj *o;
  for (size_t i = 0; (o = mascri_objtable_next_locked(&ctrs->table, &i));)
    fn(data, &mascri_ctr_of(o)->info);
  mascri_objtable_unlock(&ctrs->table);
}

char *mascri_ctr_runtime_cgroup_path(const struct mascri_containers *ctrs, const char *id)
{
  mascri_runtime_t rt = mascri_ctrs_runtime(ctrs);
  mascri_container_state_t st = {0};
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_container_state(&rt, id, &st, &err) < 0) {
    log_debug("container %s: no cgroup path: %s", id, mascri_error_message(&err));
    return NULL;
  }
  char *path = st.cgroup_path && st.cgroup_path[0] ? xstrdup(st.cgroup_path) : NULL;
  mascri_container_state_clear(&st);
  return path;
}

/* ---- the exit watcher ------------------------------------------------------------- */

static void *watcher_main(void *arg)
{
  struct mascri_containers *ctrs = arg;
  for (;;) {
    struct pollfd p[2] = {{.fd = ctrs->exits_fd, .events = POLLIN},
                          {.fd = ctrs->watch_stop[0], .events = POLLIN}};
    /* The timeout also catches monitors that died without an exit file. */
    int r = poll(p, 2, 5000);
    if (r < 0 && errno != EINTR)
      break;
    if (p[1].revents)
      break;
    if (r == 0) {
      refresh_all(ctrs);
      continue;
    }
    sync_exits(ctrs);
  }
  return NULL;
}

static void watch_exits(struct mascri_containers *ctrs)
{
  _cleanup_free_ char *dir = xasprintf("%s/exits", ctrs->state);
  _cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in < 0 || inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    log_warning("containers: cannot watch %s (%m): exits are noticed by reading every "
                "container's exit file on each call",
                dir);
    return;
  }
  ctrs->exits_fd = TAKE_FD(in);
  if (pthread_create(&ctrs->watcher, NULL, watcher_main, ctrs) == 0)
    ctrs->watcher_running = true;
}

/* ---- open / restore ---------------------------------------------------------------- */

static void remove_leftover(struct mascri_containers *ctrs, const char *id)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_runtime_t rt = mascri_ctrs_runtime(ctrs);
  log_warning("container %s: no record (a CreateContainer was interrupted): removing it", id);
  if (mascri_container_delete(&rt, id, true, &err) < 0 && err->kind != MASCRI_ERR_NOT_FOUND)
    log_warning("%s", mascri_error_message(&err));
  mascri_error_release(&err);
  if (mascri_image_rootfs_remove(ctrs->images, id, &err) < 0)
    mascri_log_error_release(MASCRI_LOG_WARNING, &err, "container %s", id);
  _cleanup_free_ char *dir = mascri_ctr_dir(ctrs, id);
  if (mascri_rm_rf(dir, &err) < 0)
    log_warning("%s", mascri_error_message(&err));
}

static void restore_one(struct mascri_containers *ctrs, const char *id)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *dir = mascri_ctr_dir(ctrs, id);
  _cleanup_free_ char *path = mascri_path_join(dir, "record.json");
  if (!mascri_path_exists(path)) {
    remove_leftover(ctrs, id);
    return;
  }
  struct ctr *c = NULL;
  bool legacy = false;
  if (mascri_ctr_record_read(ctrs, path, &c, &legacy, &err) < 0) {
    log_warning("skipping container record: %s", mascri_error_message(&err));
    return;
  }
  /* in the current form right away: the next start need not convert it again */
  if (legacy && mascri_ctr_record_write(ctrs, c, &err) < 0)
    mascri_log_error_release(MASCRI_LOG_WARNING, &err, "container %s: rewriting its record", id);
  if (!c->info.cgroup_path &&
      (c->info.state == MASCRI_CTR_CREATED || c->info.state == MASCRI_CTR_RUNNING))
    c->info.cgroup_path = mascri_ctr_runtime_cgroup_path(ctrs, id); /* an older record */
  mascri_objtable_add_locked(&ctrs->table, &c->obj);
  refresh_locked(ctrs, c);
}

/* Runtime containers under our runtime root without a record: a crash between monitor
 * start and the record. */
static void remove_runtime_orphans(struct mascri_containers *ctrs)
{
  mascri_runtime_t rt = mascri_ctrs_runtime(ctrs);
  _cleanup_strv_ char **ids = NULL;
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_container_list(&rt, &ids, &err) < 0)
    return;
  for (size_t i = 0; ids[i]; i++)
    if (!mascri_objtable_get_locked(&ctrs->table, ids[i]))
      remove_leftover(ctrs, ids[i]);
}

static int by_creation(const struct mascri_obj *a, const struct mascri_obj *b)
{
  int64_t x = mascri_ctr_of(a)->info.created_at, y = mascri_ctr_of(b)->info.created_at;
  return x > y ? 1 : x < y ? -1 : 0;
}

static int restore(struct mascri_containers *ctrs, mascri_error_t *err)
{
  _cleanup_free_ char *dir = xasprintf("%s/containers", ctrs->root);
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d)
    return mascri_make_error(err, errno, "open %s", dir);
  struct dirent *de;
  mascri_objtable_lock(&ctrs->table);
  while ((de = readdir(d)) != NULL)
    if (mascri_obj_is_id(de->d_name))
      restore_one(ctrs, de->d_name);
  remove_runtime_orphans(ctrs);
  mascri_objtable_sort_locked(&ctrs->table, by_creation);
  mascri_objtable_unlock(&ctrs->table);
  return 0;
}

static int make_dirs(struct mascri_containers *ctrs, mascri_error_t *err)
{
  const char *const subs[][2] = {
      {ctrs->root, "containers"}, {ctrs->state, "exits"}, {ctrs->state, "monitors"}};
  for (size_t i = 0; i < 3; i++) {
    _cleanup_free_ char *p = mascri_path_join(subs[i][0], subs[i][1]);
    if (mascri_mkdir_p(p, 0700, err) < 0)
      return -1;
  }
  return 0;
}

/* Without a template containers copy the daemon's namespace: slower on a full node, the
 * same otherwise. Pinned in a private mount of its own (a shared one would propagate the
 * pin into the namespaces copied from the template). */
static void make_mount_template(struct mascri_containers *ctrs)
{
  _cleanup_free_ char *dir = mascri_path_join(ctrs->state, "mount-template");
  _cleanup_free_ char *pin = mascri_path_join(dir, "mnt");
  const char *const hide[] = {ctrs->root, ctrs->state, mascri_image_store_root(ctrs->images), NULL};
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_mount_private_dir(dir, 0700, &err) < 0 ||
      mascri_mntns_template_make(pin, hide, &err) < 0) {
    log_warning("containers: no mount namespace template (%s): each container's mounts are "
                "copied from the daemon's",
                mascri_error_message(&err));
    return;
  }
  ctrs->mount_template = TAKE_PTR(pin);
}

int mascri_containers_open(const struct mascri_containers_config *cfg,
                           struct mascri_containers **out, mascri_error_t *err)
{
  if (!cfg->root || !cfg->state || !cfg->monitor_path || !cfg->runtime_root || !cfg->images ||
      !cfg->pods)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "containers: root, state, monitor, runtime root, images and "
                                  "pods are required");
  struct mascri_containers *ctrs = xmalloc0(sizeof(*ctrs));
  ctrs->root = xstrdup(cfg->root);
  ctrs->state = xstrdup(cfg->state);
  ctrs->monitor_path = xstrdup(cfg->monitor_path);
  ctrs->runtime_root = xstrdup(cfg->runtime_root);
  ctrs->cgroup_manager = cfg->cgroup_manager;
  ctrs->default_caps =
      cfg->default_capabilities ? mascri_strv_dup(cfg->default_capabilities) : NULL;
  ctrs->images = cfg->images;
  ctrs->pods = cfg->pods;
  ctrs->on_event = cfg->on_event;
  ctrs->event_data = cfg->event_data;
  ctrs->legacy_config = cfg->legacy_config;
  ctrs->usage_period_ms = cfg->usage_period_ms ? cfg->usage_period_ms : MASCRI_CTR_USAGE_PERIOD_MS;
  ctrs->monitor_fd = ctrs->watch_stop[0] = ctrs->watch_stop[1] = -1;
  ctrs->exits_fd = ctrs->usage_stop[0] = ctrs->usage_stop[1] = -1;
  mascri_objtable_init(&ctrs->table, &mascri_ctr_kind);
  pthread_mutex_init(&ctrs->exits_lock, NULL);
  if (make_dirs(ctrs, err) < 0 ||
      mascri_monitor_seal(cfg->monitor_path, &ctrs->monitor_fd, err) < 0 ||
      restore(ctrs, err) < 0 || pipe2(ctrs->watch_stop, O_CLOEXEC) < 0) {
    if (!*err)
      mascri_make_error(err, errno, "pipe");
    mascri_containers_close(ctrs);
    return -1;
  }
  ctrs->monitor_exe = xasprintf("/proc/self/fd/%d", ctrs->monitor_fd);
  make_mount_template(ctrs);
  watch_exits(ctrs);
  if (mascri_ctr_usage_start(ctrs, err) < 0) {
    mascri_containers_close(ctrs);
    return -1;
  }
  log_info("containers: %zu restored", ctrs->table.n);
  *out = ctrs;
  return 0;
}

void mascri_containers_close(struct mascri_containers *ctrs)
{
  if (!ctrs)
    return;
  mascri_ctr_usage_stop(ctrs);
  if (ctrs->watcher_running) {
    close(ctrs->watch_stop[1]);
    ctrs->watch_stop[1] = -1;
    pthread_join(ctrs->watcher, NULL);
  }
  for (int i = 0; i < 2; i++)
    if (ctrs->watch_stop[i] >= 0)
      close(ctrs->watch_stop[i]);
  if (ctrs->exits_fd >= 0)
    close(ctrs->exits_fd);
  pthread_mutex_destroy(&ctrs->exits_lock);
  mascri_objtable_destroy(&ctrs->table);
  if (ctrs->monitor_fd >= 0)
    close(ctrs->monitor_fd);
  free(ctrs->monitor_exe);
  if (ctrs->mount_template)
    mascri_mntns_template_remove(ctrs->mount_template);
  free(ctrs->mount_template);
  free(ctrs->root);
  free(ctrs->state);
  free(ctrs->monitor_path);
  mascri_strv_free(ctrs->default_caps);
  free(ctrs->runtime_root);
  free(ctrs);
}
