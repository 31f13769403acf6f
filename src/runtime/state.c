/* Container records: state.json written atomically, read back, and status detection. */
#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/proc-stat.h"
#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"

const char *state_root(const mascri_runtime_t *rt)
{
  return rt && rt->state_root ? rt->state_root : MASCRI_RUNTIME_DEFAULT_ROOT;
}

int state_dir(const mascri_runtime_t *rt, const char *id, char **out, mascri_error_t *err)
{
  if (!id || !id[0] || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 ||
      strlen(id) > 1024)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "invalid container id \"%s\"", id ? id : "");
  *out = mascri_path_join(state_root(rt), id);
  return 0;
}

void record_clear(container_record_t *rec)
{
  free(rec->id);
  free(rec->bundle);
  free(rec->rootfs);
  free(rec->owner);
  free(rec->cgroup_path);
  mascri_strv_free(rec->annotation_keys);
  mascri_strv_free(rec->annotation_values);
  memset(rec, 0, sizeof(*rec));
}

int state_write_file_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                        mascri_error_t *err)
{
  char tmp[64];
  snprintf(tmp, sizeof(tmp), ".tmp.%d.%s", (int)getpid(), strlen(name) < 40 ? name : "f");
  _cleanup_close_ int fd =
      openat(dirfd, tmp, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return mascri_make_error(err, errno, "create %s", name);
  int r = mascri_write_all(fd, data, len, err);
  if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
    r = mascri_make_error(err, errno, "rename %s", name);
  if (r < 0)
    unlinkat(dirfd, tmp, 0);
  return r;
}

int record_write(const char *dir, const container_record_t *rec, mascri_error_t *err)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "id", rec->id);
  mascri_json_gen_kv_int(g, "pid", rec->pid);
  mascri_json_gen_kv_uint(g, "start_time", rec->start_time);
  mascri_json_gen_kv_string(g, "bundle", rec->bundle);
  mascri_json_gen_kv_string(g, "rootfs", rec->rootfs);
  mascri_json_gen_kv_int(g, "created_sec", rec->created.tv_sec);
  mascri_json_gen_kv_int(g, "created_nsec", rec->created.tv_nsec);
  mascri_json_gen_kv_string(g, "owner", rec->owner ? rec->owner : "");
  mascri_json_gen_kv_string(g, "cgroup_path", rec->cgroup_path ? rec->cgroup_path : "");
  mascri_json_gen_kv_int(g, "cgroup_manager", rec->cgroup_manager);
  mascri_json_gen_key(g, "annotations");
  yajl_gen_map_open(g);
  for (size_t i = 0; rec->annotation_keys && rec->annotation_keys[i]; i++)
    mascri_json_gen_kv_string(g, rec->annotation_keys[i], rec->annotation_values[i]);
  yajl_gen_map_close(g);
  yajl_gen_map_close(g);
  size_t len = 0;
  _cleanup_free_ char *text = mascri_json_gen_take(g, &len);
  _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return mascri_make_error(err, errno, "open %s", dir);
  return state_write_file_at(dfd, "state.json", text, len, 0600, err);
}

int record_read(const mascri_runtime_t *rt, const char *id, container_record_t *rec,
                mascri_error_t *err)
{
  _cleanup_free_ char *dir = NULL;
  if (state_dir(rt, id, &dir, err) < 0)
    return -1;
  _cleanup_free_ char *path = mascri_path_join(dir, "state.json");
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  if (mascri_read_file(path, &buf, &len, err) < 0) {
    if (mascri_error_retcode(err) == -ENOENT)
      return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, ENOENT, "container \"%s\"", id);
    return -1;
  }
  _cleanup_json_ yajl_val v = NULL;
  if (mascri_json_parse(buf, len, path, &v, err) < 0)
    return -1;
  int64_t n = 0;
  memset(rec, 0, sizeof(*rec));
  rec->id = xstrdup(id);
  if (mascri_json_get_int64(v, "pid", &n) > 0)
    rec->pid = (pid_t)n;
  if (mascri_json_get_int64(v, "start_time", &n) > 0)
    rec->start_time = (unsigned long long)n;
  if (mascri_json_get_int64(v, "created_sec", &n) > 0)
    rec->created.tv_sec = n;
  if (mascri_json_get_int64(v, "created_nsec", &n) > 0)
    rec->created.tv_nsec = n;
  if (mascri_json_get_int64(v, "cgroup_manager", &n) > 0)
    rec->cgroup_manager = (mascri_cgroup_manager_t)n;
  const char *s;
  rec->bundle = xstrdup((s = mascri_json_get_string(v, "bundle")) ? s : "");
  rec->rootfs = xstrdup((s = mascri_json_get_string(v, "rootfs")) ? s : "");
  rec->owner = xstrdup((s = mascri_json_get_string(v, "owner")) ? s : "");
  rec->cgroup_path = xstrdup((s = mascri_json_get_string(v, "cgroup_path")) ? s : "");
  yajl_val ann = mascri_json_get(v, "annotations");
  if (ann && YAJL_IS_OBJECT(ann))
    for (size_t i = 0; i < ann->u.object.len; i++) {
      const char *val = YAJL_GET_STRING(ann->u.object.values[i]);
      mascri_strv_append(&rec->annotation_keys, ann->u.object.keys[i]);
      mascri_strv_append(&rec->annotation_values, val ? val : "");
    }
  return 0;
}

int record_load_spec(const mascri_runtime_t *rt, const char *id, mascri_spec_t **out,
                     mascri_error_t *err)
{
  _cleanup_free_ char *dir = NULL;
  if (state_dir(rt, id, &dir, err) < 0)
    return -1;
  _cleanup_free_ char *path = mascri_path_join(dir, "config.json");
  return mascri_spec_load_file(path, out, err);
}

/* The start time of pid, zombie or not (a zombie's start time still names the process we
 * recorded), 0 when there is no such process. */
unsigned long long proc_start_time(pid_t pid)
{
  mascri_proc_stat_t st;
  if (mascri_proc_stat_read(pid, &st) < 0)
    return 0;
  return st.start_time;
}

/* A zombie counts as stopped: the container's init has exited even if not reaped yet. */
bool proc_alive(pid_t pid, unsigned long long start_time)
{
  mascri_proc_stat_t st;
  if (pid <= 0 || mascri_proc_stat_read(pid, &st) < 0)
    return false;
  if (mascri_proc_state_exited(st.state))
    return false;
  return start_time == 0 || st.start_time == start_time;
}

mascri_status_t record_status(const mascri_runtime_t *rt, const container_record_t *rec)
{
  if (!proc_alive(rec->pid, rec->start_time))
    return MASCRI_STATUS_STOPPED;
  _cleanup_free_ char *dir = NULL;
  mascri_error_t e = NULL;
  if (state_dir(rt, rec->id, &dir, &e) < 0) {
    mascri_error_release(&e);
    return MASCRI_STATUS_STOPPED;
  }
  _cleanup_free_ char *fifo = mascri_path_join(dir, "exec.fifo");
  if (access(fifo, F_OK) == 0)
    return MASCRI_STATUS_CREATED;
  mascri_cgroup_t cg = {.path = rec->cgroup_path, .manager = rec->cgroup_manager};
  if (rec->cgroup_path[0] && mascri_cgroup_layout_probe(&cg.layout, &e) == 0) {
    bool frozen = mascri_cgroup_is_frozen(&cg);
    mascri_cgroup_layout_clear(&cg.layout);
    if (frozen)
      return MASCRI_STATUS_PAUSED;
  }
  mascri_error_release(&e);
  return MASCRI_STATUS_RUNNING;
}
