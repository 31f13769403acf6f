/* The pod store: the table of pods, open/restore, lookups and snapshots. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/mount-private.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "sandbox/pod-files.h"
#include "sandbox/pod-spawn.h"
#include "sandbox/pods-internal.h"

int mascri_pods_recorded_ids(const char *root, char ***ids, mascri_error_t *err)
{
  _cleanup_free_ char *dir = xasprintf("%s/pods", root);
  char **out = xcalloc(1, sizeof(char *));
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT) {
      *ids = out;
      return 0;
    }
    mascri_strv_free(out);
    return mascri_make_error(err, errno, "open %s", dir);
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!mascri_obj_is_id(de->d_name))
      continue;
    _cleanup_free_ char *rec = xasprintf("%s/%s/pod.json", dir, de->d_name);
    if (mascri_path_exists(rec))
      mascri_strv_append(&out, de->d_name);
  }
  *ids = out;
  return 0;
}

static void restore_one(struct mascri_pods *pods, const char *path)
{
  _cleanup_error_ mascri_error_t err = NULL;
  struct pod *p = NULL;
  bool old = false;
  if (mascri_pod_record_read(path, pods->legacy_config, &p, &old, &err) < 0) {
    log_warning("skipping pod record: %s", mascri_error_message(&err));
    return;
  }
  p->info.ns_dir = pods->ns_dir;
  p->info.files_dir = pods->files_dir;
  bool rewrite = old;
  if (old)
    log_info("pod %s: record of an older form, rewriting it", p->info.id);
  if (p->info.ready && !mascri_pause_alive(p->info.pause_pid, p->info.pause_start_time)) {
    log_info("pod %s: pause process %d is gone, pod is NOTREADY", p->info.id,
             (int)p->info.pause_pid);
    p->info.ready = false;
    rewrite = true;
  }
  /* An old record that cannot be rewritten is still read (again) at the next start. */
  if (rewrite && mascri_pod_record_write(pods, p, &err) < 0)
    log_warning("%s", mascri_error_message(&err));
  mascri_objtable_add_locked(&pods->table, &p->obj);
}

/* Leftovers of a RunPodSandbox that a crash interrupted: pins and pod directories without
 * a record, their pause process (found by the pod id it carries; the pod directory exists
 * before pause, its pins only after) and the cgroups it noted in the pod directory. */
static void remove_orphans(struct mascri_pods *pods, const char *sub, char *const *ids)
{
  _cleanup_free_ char *dir =
      xasprintf("%s/%s", strcmp(sub, "ns") == 0 ? pods->state : pods->root, sub);
  _cleanup_closedir_ DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    if (!mascri_obj_is_id(de->d_name) || mascri_strv_contains(ids, de->d_name))
      continue;
    _cleanup_error_ mascri_error_t err = NULL;
    _cleanup_free_ char *path = mascri_path_join(dir, de->d_name);
    _cleanup_free_ char *shm = mascri_path_join(path, "shm");
    log_warning("removing %s: no pod record", path);
    pid_t pause = mascri_pause_find(de->d_name);
    if (pause > 0 && mascri_pause_kill(pause, mascri_proc_start_time(pause), 5000, &err) < 0)
      log_warning("%s", mascri_error_message(&err));
    if (strcmp(sub, "pods") == 0)
      mascri_pods_remove_noted_cgroups(pods, path);
    if (strcmp(sub, "ns") == 0
            ? mascri_ns_unpin_all(path, &err) < 0
            : mascri_pod_files_unmount_shm(shm, &err) < 0 || mascri_rm_rf(path, &err) < 0)
      log_warning("%s", mascri_error_message(&err));
  }
}

static int by_creation(const struct mascri_obj *a, const struct mascri_obj *b)
{
  int64_t x = mascri_pod_of(a)->info.created_at, y = mascri_pod_of(b)->info.created_at;
  return x > y ? 1 : x < y ? -1 : 0;
}

/* Before the table is shared: its lock is not taken. */
static int restore(struct mascri_pods *pods, mascri_error_t *err)
{
  _cleanup_strv_ char **ids = NULL;
  if (mascri_pods_recorded_ids(pods->root, &ids, err) < 0)
    return -1;
  for (size_t i = 0; ids[i]; i++) {
    _cleanup_free_ char *path = xasprintf("%s/pods/%s/pod.json", pods->root, ids[i]);
    restore_one(pods, path);
  }
  remove_orphans(pods, "ns", ids);
  remove_orphans(pods, "pods", ids);
  /* Creation order, as ListPodSandbox shows it. */
  mascri_objtable_sort_locked(&pods->table, by_creation);
  return 0;
}

int mascri_pods_open(const struct mascri_pods_config *cfg, struct mascri_pods **out,
                     mascri_error_t *err)
{
  if (!cfg->root || !cfg->state || !cfg->pause_path)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "pods: root, state and pause_path are required");
  struct mascri_pods *pods = xmalloc0(sizeof(*pods));
  pods->root = xstrdup(cfg->root);
  pods->state = xstrdup(cfg->state);
  pods->pause_path = xstrdup(cfg->pause_path);
  pods->cgroup_parent = xstrdup(cfg->cgroup_parent ? cfg->cgroup_parent : "mascri");
  pods->cgroup_manager = cfg->cgroup_manager;
  pods->cgroup_ops = mascri_cgroup_ops_of(cfg->cgroup_manager);
  pods->net = cfg->net;
  pods->legacy_config = cfg->legacy_config;
  mascri_objtable_init(&pods->table, &mascri_pod_kind);
  pods->files_dir = xasprintf("%s/pods", pods->root);
  pods->ns_dir = xasprintf("%s/ns", pods->state);
  /* private mounts of their own: the pods' pins and shm mounts are made below them */
  if (mascri_mount_private_dir(pods->files_dir, 0700, err) < 0 ||
      mascri_mount_private_dir(pods->ns_dir, 0700, err) < 0 || restore(pods, err) < 0) {
    mascri_pods_close(pods);
    return -1;
  }
  log_info("pods: %zu restored", pods->table.n);
  *out = pods;
  return 0;
}

void mascri_pods_close(struct mascri_pods *pods)
{
  if (!pods)
    return;
  mascri_objtable_destroy(&pods->table);
  free(pods->root);
  free(pods->state);
  free(pods->files_dir);
  free(pods->ns_dir);
  free(pods->pause_path);
  free(pods->cgroup_parent);
  free(pods);
}

static struct pod *find_locked(struct mascri_pods *pods, const char *id_or_prefix,
                               mascri_error_t *err)
{
  struct mascri_obj *o = mascri_objtable_find_locked(&pods->table, id_or_prefix, err);
  return o ? mascri_pod_of(o) : NULL;
}

int mascri_pods_get(struct mascri_pods *pods, const char *id_or_prefix,
                    struct mascri_pod_info **out, mascri_error_t *err)
{
  mascri_objtable_lock(&pods->table);
  struct pod *p = find_locked(pods, id_or_prefix, err);
  if (p) {
    *out = xmalloc0(sizeof(**out));
    mascri_pod_info_copy(*out, &p->info);
  }
  mascri_objtable_unlock(&pods->table);
  return p ? 0 : -1;
}

int mascri_pods_list(struct mascri_pods *pods, struct mascri_pod_info ***out, size_t *n,
                     mascri_error_t *err)
{
  (void)err;
  mascri_objtable_lock(&pods->table);
  struct mascri_pod_info **v = xcalloc(pods->table.n + 1, sizeof(*v));
  size_t k = 0;
  struct mascri_obj *o;
  for (size_t i = 0; (o = mascri_objtable_next_locked(&pods->table, &i));) {
    v[k] = xmalloc0(sizeof(*v[k]));
    mascri_pod_info_copy(v[k++], &mascri_pod_of(o)->info);
  }
  mascri_objtable_unlock(&pods->table);
  *out = v;
  *n = k;
  return 0;
}

void mascri_pods_foreach(struct mascri_pods *pods, mascri_pod_visit_fn fn, void *data)
{
  mascri_objtable_lock(&pods->table);
  struct mascri_obj *o;
  for (size_t i = 0; (o = mascri_objtable_next_locked(&pods->table, &i));)
    fn(data, &mascri_pod_of(o)->info);
  mascri_objtable_unlock(&pods->table);
}

int mascri_pods_cgroup_stats(struct mascri_pods *pods, const struct mascri_pod_info *info,
                             mascri_container_stats_t *out, mascri_error_t *err)
{
  /* The pod's own cgroup parent: a directory, or with the systemd manager the pod's slice */
  char *path = !info->pause_cgroup || !info->cgroup_parent
                   ? NULL
                   : pods->cgroup_ops->parent_path(info->cgroup_parent);
  if (!path)
    return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "pod %s has no cgroup", info->id);
  const mascri_cgroup_layout_t *layout = mascri_cgroup_layout_host(err);
  if (!layout) {
    free(path);
    return -1;
  }
  /* A view over the process-wide layout (never freed): no copy of it per pod. */
  const mascri_cgroup_t cg = {.layout = *layout, .manager = pods->cgroup_manager, .path = path};
  memset(out, 0, sizeof(*out));
  int ret =
      mascri_cgroup_usage(&cg, MASCRI_CGROUP_USAGE_PIDS | MASCRI_CGROUP_USAGE_LIMIT, out, err);
  free(path);
  return ret;
}

int mascri_pods_net_stats(const struct mascri_pod_info *info, const char *ifname,
                          struct mascri_pod_net_stats *out, mascri_error_t *err)
{
  if (!info->ready || !mascri_pod_has(info, MASCRI_POD_NETNS) ||
      !mascri_pause_alive(info->pause_pid, info->pause_start_time))
    return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "pod %s is not running", info->id);
  _cleanup_free_ char *path = xasprintf("/proc/%d/net/dev", (int)info->pause_pid);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f)
    return mascri_make_error(err, errno, "open %s", path);
  char line[512];
  size_t n = strlen(ifname);
  while (fgets(line, sizeof(line), f)) {
    char *p = line + strspn(line, " ");
    if (strncmp(p, ifname, n) != 0 || p[n] != ':')
      continue;
    unsigned long long v[16];
    if (sscanf(p + n + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10]) != 11)
      break;
    /* rx: bytes packets errs drop fifo frame compressed multicast | tx: bytes packets errs */
    *out = (struct mascri_pod_net_stats){v[0], v[2], v[8], v[10]};
    return 0;
  }
  return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "pod %s has no interface %s",
                                info->id, ifname);
}
