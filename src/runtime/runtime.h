/* The mascri OCI runtime library: the public surface used by the `mascri` CLI (runc
 * compatible), mascri-monitor (which creates each container and is its parent) and
 * mascrid (exec, kill, pause/resume, update, stats, state).
 *
 * A container is named by its id inside a state root (runc's --root, e.g. /run/mascri/oci):
 * <root>/<id>/ holds state.json (runc-compatible fields), config.json (the spec the
 * container was created with) and, between create and start, exec.fifo.
 *
 * Process model: mascri_container_create() clones the container init from the CALLING
 * process, so the caller is its parent and must reap it (waitpid). Likewise for
 * mascri_container_exec(). Every function returns 0 (or a pid) on success and < 0 with
 * *err filled on failure; err kinds: NOT_FOUND (no such container), ALREADY_EXISTS,
 * INVALID_ARGUMENT (bad spec or option), FAILED_PRECONDITION (wrong container state),
 * UNAVAILABLE (e.g. systemd not running for the systemd cgroup manager), INTERNAL. */
#ifndef MASCRI_RUNTIME_RUNTIME_H
#define MASCRI_RUNTIME_RUNTIME_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/error.h"
#include "runtime/spec.h"

/* Default state root of the CLI (runc uses /run/runc). */
#define MASCRI_RUNTIME_DEFAULT_ROOT "/run/mascri/oci"

typedef enum {
  MASCRI_CGROUP_MANAGER_CGROUPFS = 0,
  MASCRI_CGROUP_MANAGER_SYSTEMD, /* transient scopes over sd-bus; needs systemd as PID 1 */
} mascri_cgroup_manager_t;

/* Settings shared by all operations (runc's global flags). */
typedef struct mascri_runtime {
  const char *state_root; /* NULL = MASCRI_RUNTIME_DEFAULT_ROOT */
  mascri_cgroup_manager_t cgroup_manager;
} mascri_runtime_t;

/* How the container process's stdio is set up. */
typedef struct mascri_stdio {
  /* Without a terminal: fds dup2'ed onto 0, 1, 2 in the container process; -1 keeps the
   * caller's own fd of that number (the CLI's behaviour). The caller keeps its copies. */
  int fds[3];
  /* With process.terminal = true, exactly one of: */
  const char *console_socket; /* unix socket path: the pty master is sent over SCM_RIGHTS
                                 (runc's --console-socket protocol) */
  int *console_master;        /* else: receives the pty master fd (O_CLOEXEC), owned by the
                                 caller (mascri-monitor keeps it) */
} mascri_stdio_t;

#define MASCRI_STDIO_INHERIT                                                                       \
  {                                                                                                \
    .fds = { -1, -1, -1 }                                                                          \
  }

typedef struct mascri_create_options {
  const char *id;
  const char *bundle; /* directory holding config.json; root.path is relative to it */
  mascri_stdio_t stdio;
  /* true: the init stops before exec until mascri_container_start() (create/start split,
   * runc create). false: it execs the process as soon as the container is set up (run). */
  bool wait_start;
  const char *pid_file;  /* NULL = none; written atomically with the init pid */
  unsigned preserve_fds; /* fds 3 .. 3+preserve_fds-1 are passed into the container */
  bool no_pivot;         /* MS_MOVE + chroot instead of pivot_root */
  /* NULL, or a mount namespace (its nsfs file) the container's new one is copied from
   * instead of the caller's, when the spec allows (mount-template.h); rootfs and bundle
   * must then be absolute. */
  const char *mount_template;
  bool no_new_keyring;
} mascri_create_options_t;

/* Creates the container described by spec (ownership stays with the caller) and returns
 * the pid of its init process (> 0). Must be called from a single-threaded process (it
 * clone()s with namespace flags, like mascri-monitor and the CLI do); exec below only forks.
 * Runs the prestart/createRuntime/createContainer hooks,
 * writes <root>/<id>/state.json and the pid file. When it returns, namespaces, cgroups,
 * rootfs and mounts are set up; with wait_start the init is blocked on exec.fifo, else it
 * has exec'ed (or failed to exec: then the error is returned and the init reaped). */
pid_t mascri_container_create(const mascri_runtime_t *rt, const mascri_spec_t *spec,
                              const mascri_create_options_t *opts, mascri_error_t *err);

/* Lets a created container exec its process (opens exec.fifo), then runs the poststart
 * hooks. FAILED_PRECONDITION when the container is not in the "created" state. */
int mascri_container_start(const mascri_runtime_t *rt, const char *id, mascri_error_t *err);

/* Sends sig to the init, or with all to every process of the container's cgroup. Without
 * all, a signal that the init would not get yet (the init of its PID namespace without a
 * handler for it: the kernel drops it) is held back up to 3 s for the program to install
 * one, then sent. */
int mascri_container_kill(const mascri_runtime_t *rt, const char *id, int sig, bool all,
                          mascri_error_t *err);

/* One non-blocking attempt of the above: sends sig to the init and sets *sent, unless the
 * kernel would drop it now (then nothing is sent and *sent stays false: try again later).
 * A signal the init ignores counts as sent. FAILED_PRECONDITION when not running. */
int mascri_container_signal_init(const mascri_runtime_t *rt, const char *id, int sig, bool *sent,
                                 mascri_error_t *err);

/* Removes a stopped (or, with force, any: it is SIGKILLed first) container: cgroups,
 * state directory, and runs the poststop hooks. NOT_FOUND when it does not exist. */
int mascri_container_delete(const mascri_runtime_t *rt, const char *id, bool force,
                            mascri_error_t *err);

typedef enum {
  MASCRI_STATUS_CREATING = 0,
  MASCRI_STATUS_CREATED,
  MASCRI_STATUS_RUNNING,
  MASCRI_STATUS_PAUSED,
  MASCRI_STATUS_STOPPED,
} mascri_status_t;

const char *mascri_status_name(mascri_status_t status); /* "created", "running", ... */

typedef struct mascri_container_state {
  char *id;
  pid_t pid; /* 0 once stopped */
  mascri_status_t status;
  char *bundle;
  char *rootfs;
  struct timespec created;
  char *owner;
  char **annotation_keys, **annotation_values;
  char *cgroup_path; /* cgroupsPath as resolved (relative to the cgroup root) */
} mascri_container_state_t;

int mascri_container_state(const mascri_runtime_t *rt, const char *id,
                           mascri_container_state_t *out, mascri_error_t *err);
void mascri_container_state_clear(mascri_container_state_t *st);
/* runc's `state` JSON for a container: ociVersion, id, pid, status, bundle, rootFS,
 * created, owner, annotations. Returns a new string. */
char *mascri_container_state_json(const mascri_container_state_t *st);
/* The ids of all containers under the state root (sorted). */
int mascri_container_list(const mascri_runtime_t *rt, char ***ids, mascri_error_t *err);

typedef struct mascri_exec_options {
  const mascri_spec_process_t *process; /* full process: args, env, cwd, user, caps, ... */
  mascri_stdio_t stdio;
  const char *pid_file;
  unsigned preserve_fds;
} mascri_exec_options_t;

/* Starts process inside the running container id (joins its namespaces and cgroup,
 * applies the process's user, capabilities, rlimits, noNewPrivileges, the container's
 * seccomp filter and AppArmor profile) and returns its pid; the caller is its parent. */
pid_t mascri_container_exec(const mascri_runtime_t *rt, const char *id,
                            const mascri_exec_options_t *opts, mascri_error_t *err);
/* The process of the container's config.json, as the base exec fills its defaults from
 * (runc exec: env, cwd, user, capabilities, noNewPrivileges of the container). */
int mascri_container_process(const mascri_runtime_t *rt, const char *id,
                             mascri_spec_process_t **out, mascri_error_t *err);

/* Freezes / thaws every process of the container (freezer cgroup v1 or cgroup.freeze). */
int mascri_container_pause(const mascri_runtime_t *rt, const char *id, mascri_error_t *err);
int mascri_container_resume(const mascri_runtime_t *rt, const char *id, mascri_error_t *err);

/* Applies the values set in resources to the container's cgroups (others untouched). */
int mascri_container_update(const mascri_runtime_t *rt, const char *id,
                            const mascri_spec_resources_t *resources, mascri_error_t *err);

typedef struct mascri_container_stats {
  uint64_t cpu_usage_ns; /* total CPU time */
  uint64_t cpu_user_ns, cpu_system_ns;
  uint64_t memory_usage;       /* bytes, including page cache */
  uint64_t memory_working_set; /* usage minus inactive file pages (kubelet's definition) */
  uint64_t memory_limit;       /* 0 = unlimited */
  uint64_t memory_rss;
  uint64_t pids_current;
  uint64_t pids_limit;  /* 0 = unlimited */
  bool oom_killed_seen; /* an OOM kill happened in the cgroup (oom_kill counter > 0) */
} mascri_container_stats_t;

/* An O_RDONLY fd of one file of the container's v2 cgroup (e.g. memory.events, to poll for
 * POLLPRI while it runs: the cgroup may be gone once the container is, with the systemd
 * manager). */
int mascri_container_cgroup_file_open(const mascri_runtime_t *rt, const char *id, const char *file,
                                      mascri_error_t *err);
int mascri_container_stats(const mascri_runtime_t *rt, const char *id,
                           mascri_container_stats_t *out, mascri_error_t *err);

/* Pids of the processes in the container's cgroup (host pid namespace). */
int mascri_container_pids(const mascri_runtime_t *rt, const char *id, pid_t **pids, size_t *n,
                          mascri_error_t *err);

/* Makes the process execute from a sealed memfd copy of its binary (CVE-2019-5736), by
 * re-exec'ing itself once with the same argv when it does not already (the copy holds the
 * binary's loadable part: headers and segments, not the debug info). Returns 0 when
 * already safe, else does not return on success. Call first thing in main() of every
 * binary that creates or enters containers. (The static `mascri` does
 * the same before the C library starts, in runtime/sealed-entry.c; this is their fallback.) */
int mascri_runtime_ensure_sealed_exe(int argc, char **argv, mascri_error_t *err);

static inline void cleanup_container_statep(mascri_container_state_t *st)
{
  mascri_container_state_clear(st);
}
#define _cleanup_container_state_ _cleanup_(cleanup_container_statep)

#endif
