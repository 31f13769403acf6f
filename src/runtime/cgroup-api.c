/* pause, resume, update, stats, pids: cgroup operations on a container by id. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "common/fs.h"
#include "runtime/container-internal.h"

static int load_cgroup(const mascri_runtime_t *rt, const char *id, bool need_running,
                       mascri_cgroup_t *cg, mascri_error_t *err)
{
  _cleanup_record_ container_record_t rec = {0};
  if (record_read(rt, id, &rec, err) < 0)
    return -1;
  if (need_running && record_status(rt, &rec) == MASCRI_STATUS_STOPPED)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s is not running", id);
  if (!rec.cgroup_path[0])
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s has no cgroup", id);
  return container_cgroup(&rec, cg, err);
}

int mascri_container_pause(const mascri_runtime_t *rt, const char *id, mascri_error_t *err)
{
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  if (load_cgroup(rt, id, true, &cg, err) < 0)
    return -1;
  return mascri_cgroup_freeze(&cg, true, err);
}

int mascri_container_resume(const mascri_runtime_t *rt, const char *id, mascri_error_t *err)
{
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  if (load_cgroup(rt, id, true, &cg, err) < 0)
    return -1;
  if (!mascri_cgroup_is_frozen(&cg))
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s is not paused", id);
  return mascri_cgroup_freeze(&cg, false, err);
}

int mascri_container_update(const mascri_runtime_t *rt, const char *id,
                            const mascri_spec_resources_t *resources, mascri_error_t *err)
{
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  if (load_cgroup(rt, id, false, &cg, err) < 0)
    return -1;
  return mascri_cgroup_apply(&cg, resources, false, err);
}

int mascri_container_stats(const mascri_runtime_t *rt, const char *id,
                           mascri_container_stats_t *out, mascri_error_t *err)
{
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  if (load_cgroup(rt, id, false, &cg, err) < 0)
    return -1;
  return mascri_cgroup_stats(&cg, out, err);
}

int mascri_container_cgroup_file_open(const mascri_runtime_t *rt, const char *id, const char *file,
                                      mascri_error_t *err)
{
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  if (load_cgroup(rt, id, false, &cg, err) < 0)
    return -1;
  _cleanup_free_ char *dir = mascri_cgroup_dir(&cg, NULL);
  if (!dir)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s has no cgroup v2 directory", id);
  _cleanup_free_ char *path = mascri_path_join(dir, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open %s", path);
  return fd;
}

int mascri_container_pids(const mascri_runtime_t *rt, const char *id, pid_t **pids, size_t *n,
                          mascri_error_t *err)
{
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  if (load_cgroup(rt, id, false, &cg, err) < 0)
    return -1;
  return mascri_cgroup_pids(&cg, pids, n, err);
}
