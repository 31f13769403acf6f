/* The process side of the CRI streaming calls Exec, Attach and PortForward (issue 13).
 * The streaming server (src/cri/stream*) speaks the protocols and calls only what is
 * declared here; this file is the contract of /work/wt/STREAM-CONTRACT.md.
 *
 * Thread-safe: each function may be called from any thread; one mascri_stream_proc is used
 * by one thread at a time.
 *
 * CHANGED (additions only, the contract's declarations are unchanged):
 * mascri_stream_proc_error() (why an exec'd process could not start),
 * mascri_containers_attach_check() (Attach's RPC refuses what cannot be attached to). */
#ifndef MASCRI_SANDBOX_STREAM_H
#define MASCRI_SANDBOX_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "sandbox/containers.h"
#include "sandbox/pods.h"

struct mascri_stream_opts {
  bool tty;          /* a pty: stdout carries stdout+stderr merged, stderr unused */
  bool in, out, err; /* which streams the client asked for */
};

/* A running exec'd process or an attach session. All fds are non-blocking, O_CLOEXEC,
 * owned by the session (the caller must not close them), -1 when not requested. The
 * streaming server polls them on its own event loop. */
struct mascri_stream_proc {
  int stdin_fd;  /* write end: the process's (or container's) stdin */
  int stdout_fd; /* read end: EOF when the process side closed it */
  int stderr_fd; /* read end; -1 with tty */
  int done_fd;   /* becomes readable when the exec'd process exited or the attached
                    container stopped; then mascri_stream_proc_result() answers */
};

/* Exec: starts argv in the running container `id` (the container's namespaces, cgroup,
 * user, capabilities, seccomp, LSM label: the same path ExecSync uses). Errors:
 * NOT_FOUND (no such container), FAILED_PRECONDITION (not running), INVALID_ARGUMENT.
 * Returns once the helper is started (a few ms), not once the process runs: a process that
 * cannot start shows as done_fd readable with exit code 126 and mascri_stream_proc_error().
 * done_fd may become readable before stdout/stderr reach EOF (read them to the end). */
int mascri_containers_exec_stream(struct mascri_containers *ctrs, const char *id, char *const *argv,
                                  const struct mascri_stream_opts *o,
                                  struct mascri_stream_proc **out, mascri_error_t *err);

/* Attach: to the container's own stdio through the attach socket of its mascri-monitor
 * (sandbox/monitor.h); output is still written to the CRI log meanwhile, and copied to the
 * session only from the moment this returns. stdin reaches the container only when it was
 * created with stdin (or stdin_once) and its stdin is not closed yet; otherwise stdin_fd
 * takes the client's input and drops it. With stdin_once the container's stdin is closed
 * when the first session that had stdin detaches (closes stdin_fd, or is freed). Resize
 * works for tty containers (the container's tty, not o->tty, decides). done_fd becomes
 * readable once the container exited (result: its exit code) or the monitor went away
 * (result: -1). A session that falls about 1 MiB behind the container's output is cut off
 * by the monitor (stdout/stderr reach EOF): a slow client never holds up the container.
 * Errors: NOT_FOUND, FAILED_PRECONDITION (not running; a monitor without the attach socket,
 * i.e. a container created by an older mascri), UNAVAILABLE (the monitor's limit of
 * MONITOR_ATTACH_MAX connections), DEADLINE (the monitor does not answer). Blocks up to a
 * few seconds: call it from a worker thread. */
int mascri_containers_attach(struct mascri_containers *ctrs, const char *id,
                             const struct mascri_stream_opts *o, struct mascri_stream_proc **out,
                             mascri_error_t *err);

/* What Attach's RPC checks before it answers a URL: the container is running
 * (NOT_FOUND, FAILED_PRECONDITION) and its monitor has an attach socket (else
 * FAILED_PRECONDITION). */
int mascri_containers_attach_check(struct mascri_containers *ctrs, const char *id,
                                   mascri_error_t *err);

/* Resize the pty (tty sessions only; otherwise a no-op returning 0). */
int mascri_stream_proc_resize(struct mascri_stream_proc *p, unsigned short width,
                              unsigned short height, mascri_error_t *err);

/* Close the stdin side (client half-closed stdin); p->stdin_fd is -1 afterwards. Exec
 * without a tty: the process reads EOF; with a tty: the pty gets its VEOF character (^D)
 * once, as if typed. */
void mascri_stream_proc_close_stdin(struct mascri_stream_proc *p);

/* After done_fd is readable: 1 and *exit_code set (exec: the process's status, 128+signal
 * when killed; attach: the container's exit code if it exited, else 0 with *exit_code=-1
 * when the attach session ended without an exit), 0 when not finished yet. */
int mascri_stream_proc_result(struct mascri_stream_proc *p, int *exit_code);

/* Exec only, once mascri_stream_proc_result() answered 1: NULL when the process ran (its
 * exit code is the answer), else why it could not be started (e.g. "exec: \"foo\": no
 * such file or directory"); the exit code is then 126 (255 when the helper died). Owned
 * by p. */
const char *mascri_stream_proc_error(struct mascri_stream_proc *p);

/* The client went away or the stream ended: frees everything. For exec: stdin closed, and
 * a process still running gets SIGTERM (with a tty SIGHUP first, which an interactive
 * shell does not ignore), then SIGKILL MASCRI_MONITOR_EXEC_GRACE_MS (2 s) later. The rule
 * is enforced by the exec's mascri-monitor when its control pipe closes (sandbox/monitor.h),
 * so this returns at once, and a crash of mascrid ends the process the same way. For
 * attach: only detaches, the container keeps running. */
void mascri_stream_proc_free(struct mascri_stream_proc *p);

/* PortForward: a connected TCP socket (non-blocking, O_CLOEXEC) to `port` on localhost in
 * the pod's network namespace (host-network pods: the host's). NOT_FOUND for an unknown
 * pod, FAILED_PRECONDITION when the pod is not ready, UNAVAILABLE-ish error (errno
 * ECONNREFUSED kept) when nothing listens. May block up to a few seconds (connect):
 * call it from a worker thread, not the loop. */
int mascri_pods_port_connect(struct mascri_pods *pods, const char *pod_id, uint16_t port,
                             mascri_error_t *err);

#endif
