/* Container usage for ContainerStats / ListContainerStats: the cgroup figures, read at
 * each call from the container's own cgroup files (a handful of reads, the path kept in
 * the record, the hierarchy mounts probed once per process), and the writable layer's
 * bytes and inodes, which only a directory walk can give: a low-priority thread walks
 * every live container's upper directory once per period and keeps the figures in the
 * container's info (as containerd's and CRI-O's stats collectors do), so no call ever
 * walks and a call's cost is the number of containers times a constant. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "sandbox/ctr-internal.h"

struct du {
  uint64_t bytes, inodes;
};

/* Adds what the directory parent/name holds, not following symlinks or leaving the tree. */
static void du_dir(int parent, const char *name, struct du *acc, int depth)
{
  _cleanup_closedir_ DIR *d = mascri_opendir_at(parent, name, O_NOFOLLOW);
  if (!d)
    return;
  int fd = dirfd(d);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    struct stat st;
    if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    acc->inodes++;
    acc->bytes += (uint64_t)st.st_blocks * 512;
    if (S_ISDIR(st.st_mode) && depth < 256)
      du_dir(fd, de->d_name, acc, depth + 1);
  }
}

static char *rw_root(const struct mascri_containers *ctrs)
{
  return xasprintf("%s/rootfs", mascri_image_store_root(ctrs->images));
}

static bool is_live(const struct ctr *c)
{
  return c->info.state == MASCRI_CTR_CREATED || c->info.state == MASCRI_CTR_RUNNING;
}

/* One pass: every live container's upper directory, walked with no lock held. */
static void measure_all(struct mascri_containers *ctrs)
{
  mascri_objtable_lock(&ctrs->table);
  struct ctr **v = xcalloc(ctrs->table.n + 1, sizeof(*v));
  size_t n = 0;
  struct mascri_obj *o;
  for (size_t i = 0; (o = mascri_objtable_next_locked(&ctrs->table, &i));)
    if (is_live(mascri_ctr_of(o))) {
      mascri_obj_ref_locked(o);
      v[n++] = mascri_ctr_of(o);
    }
  mascri_objtable_unlock(&ctrs->table);
  _cleanup_free_ char *root = rw_root(ctrs);
  for (size_t i = 0; i < n; i++) {
    _cleanup_free_ char *upper = xasprintf("%s/%s/upper", root, v[i]->info.id);
    struct du acc = {0};
    du_dir(AT_FDCWD, upper, &acc, 0);
    mascri_objtable_lock(&ctrs->table);
    v[i]->info.rw_bytes = acc.bytes;
    v[i]->info.rw_inodes = acc.inodes;
    v[i]->info.rw_at = mascri_clock_realtime_ns();
    mascri_objtable_unlock(&ctrs->table);
    mascri_objtable_unref(&ctrs->table, &v[i]->obj);
  }
  free(v);
}

static void *usage_main(void *arg)
{
  struct mascri_containers *ctrs = arg;
  /* Nice 19 for this thread only (Linux: setpriority on a thread id): the walk gives way to
   * the calls and to the workloads. */
  if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) < 0)
    log_debug("containers: usage thread priority: %m");
  for (;;) {
    measure_all(ctrs);
    struct pollfd p = {.fd = ctrs->usage_stop[0], .events = POLLIN};
    int r = poll(&p, 1, (int)ctrs->usage_period_ms);
    if (r < 0 && errno != EINTR)
      break;
    if (r > 0)
      break;
  }
  return NULL;
}

int mascri_ctr_usage_start(struct mascri_containers *ctrs, mascri_error_t *err)
{
  if (pipe2(ctrs->usage_stop, O_CLOEXEC) < 0)
    return mascri_make_error(err, errno, "pipe");
  int r = pthread_create(&ctrs->usage_thread, NULL, usage_main, ctrs);
  if (r != 0)
    return mascri_make_error(err, r, "start the writable layer usage thread");
  ctrs->usage_running = true;
  return 0;
}

void mascri_ctr_usage_stop(struct mascri_containers *ctrs)
{
  if (ctrs->usage_running) {
    close(ctrs->usage_stop[1]);
    ctrs->usage_stop[1] = -1;
    pthread_join(ctrs->usage_thread, NULL);
    ctrs->usage_running = false;
  }
  for (int i = 0; i < 2; i++)
    if (ctrs->usage_stop[i] >= 0) {
      close(ctrs->usage_stop[i]);
      ctrs->usage_stop[i] = -1;
    }
}

void mascri_containers_usage_layer(struct mascri_containers *ctrs,
                                   const struct mascri_ctr_info *info, struct mascri_ctr_usage *out)
{
  memset(out, 0, sizeof(*out));
  out->rw_mountpoint = rw_root(ctrs);
  out->rw_bytes = info->rw_bytes;
  out->rw_inodes = info->rw_inodes;
}

void mascri_containers_usage_cgroup(struct mascri_containers *ctrs,
                                    const struct mascri_ctr_info *info,
                                    struct mascri_ctr_usage *out)
{
  memset(out, 0, sizeof(*out));
  if (!info->cgroup_path ||
      (info->state != MASCRI_CTR_RUNNING && info->state != MASCRI_CTR_CREATED))
    return;
  _cleanup_error_ mascri_error_t e = NULL;
  const mascri_cgroup_layout_t *layout = mascri_cgroup_layout_host(&e);
  if (!layout) {
    log_debug("container %s stats: %s", info->id, mascri_error_message(&e));
    return;
  }
  /* A view over the process-wide layout: not cleared (that layout is never freed). */
  const mascri_cgroup_t cg = {
      .layout = *layout, .path = (char *)info->cgroup_path, .manager = ctrs->cgroup_manager};
  out->has_cgroup = mascri_cgroup_usage(&cg, 0, &out->cg, &e) == 0;
  int64_t limit = mascri_ctr_memory_limit(info);
  out->cg.memory_limit = limit > 0 ? (uint64_t)limit : 0;
}

int64_t mascri_ctr_memory_limit(const struct mascri_ctr_info *info)
{
  return info->config ? info->config->resources.memory_limit_in_bytes : 0;
}

int mascri_containers_usage(struct mascri_containers *ctrs, const struct mascri_ctr_info *info,
                            struct mascri_ctr_usage *out, mascri_error_t *err)
{
  (void)err;
  struct mascri_ctr_usage cg;
  mascri_containers_usage_cgroup(ctrs, info, &cg);
  mascri_containers_usage_layer(ctrs, info, out);
  out->has_cgroup = cg.has_cgroup;
  out->cg = cg.cg;
  return 0;
}

void mascri_ctr_usage_clear(struct mascri_ctr_usage *u)
{
  free(u->rw_mountpoint);
  memset(u, 0, sizeof(*u));
}
