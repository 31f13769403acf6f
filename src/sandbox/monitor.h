/* mascri-monitor: one small process per CRI container, the container's parent. This header
 * is the contract between mascrid (sandbox/containers, the caller) and mascri-monitor
 * (sandbox/monitor/, the program); neither side includes the other's code.
 *
 * mascrid starts it from a sealed memfd copy of the binary (all monitors share that one
 * copy, so the container cannot reach a writable host binary through /proc/<pid>/exe,
 * CVE-2019-5736) with fork + setsid + fexecve, fd 3 = the write end of a sync pipe,
 * stdin/stdout/stderr = /dev/null. mascri-monitor forks once more right away: the first
 * process exits 0 (mascrid reaps it), the second goes on, reparented away from mascrid, so
 * it survives a restart of mascrid.
 *
 * ---- create mode --------------------------------------------------------------------
 *   mascri-monitor create --id ID --bundle DIR --runtime-root DIR [--systemd-cgroup]
 *       --log-path FILE --exit-file FILE --socket-dir DIR
 *       [--terminal] [--stdin] [--stdin-once] [--log-max-line BYTES]
 * Loads DIR/config.json and calls mascri_container_create() with wait_start = true (so the
 * init waits on exec.fifo until mascrid calls mascri_container_start()), stdio:
 *   - without --terminal: stdout and stderr are pipes the monitor reads; stdin is a pipe the
 *     monitor holds open with --stdin or --stdin-once (attach clients write to it), else
 *     /dev/null;
 *   - with --terminal: a pty (console_master); its output is the "stdout" stream.
 * Then writes ONE line to fd 3 and closes it:
 *   "ok <monitor_pid> <init_pid>\n"           container created, init waiting
 *   "error <kind> <message>\n"                creation failed (kind: mascri_error_kind_name()
 * upper-cased, spaces as "_", e.g. "INVALID_ARGUMENT"); the monitor exits 1.
 * (The init holds a copy of fd 3 until it execs: read one line, not up to EOF.)
 * Log: every chunk of stdout/stderr goes to --log-path (opened O_APPEND|O_CREAT, 0640,
 * directories must exist) in the CRI format, one record per line:
 *   "<RFC3339Nano local time with offset> <stdout|stderr> <F|P> <content>\n"
 * e.g. "2026-11-22T18:30:00.123456789+00:00 stdout F hello". A line longer than
 * --log-max-line (default 16384) is split into P records ending with an F record; at EOF a
 * last line without a newline is written as F. Lines of the two streams never interleave
 * inside a record (each stream's partial line is buffered until its newline, until it
 * reaches --log-max-line, or until EOF).
 * When the init exits: reaps it, drains the pipes (bounded: at most 1 s after the exit),
 * writes the exit file atomically (temp + fsync + rename) and exits 0. Its other children
 * (none normally) are reaped too. SIGTERM/SIGINT/SIGHUP to the monitor are ignored (blocked
 * and read from a signalfd, not SIG_IGN, which the container would inherit): the
 * container's life decides the monitor's.
 * Exit file (JSON object, one line):
 *   {"exit_code":N,"signal":S,"finished_at":NS,"oom_killed":B}
 *   exit_code: the status (0..255), or 128+signal when killed by a signal; signal: 0 or the
 *   signal number; finished_at: ns since the epoch (CLOCK_REALTIME) when reaped; oom_killed:
 *   the container's cgroup saw an OOM kill (mascri_container_stats().oom_killed_seen, read
 *   before writing).
 * Control socket: <socket-dir>/ctl, a SOCK_SEQPACKET unix socket bound by path (never
 * abstract: CVE-2020-15257), the directory made 0700 by the monitor if it does not exist.
 * One request per datagram, one reply:
 *   "reopen"   -> "ok" | "error <message>"    reopen --log-path (ReopenContainerLog)
 *   "ping"     -> "ok <monitor_pid> <init_pid>"
 * Unknown requests -> "error unknown request". The socket and its directory are removed
 * when the monitor exits.
 * Attach socket (monitor-attach.h): <socket-dir>/attach, a SOCK_STREAM unix socket bound by
 * path in the same root-only directory (through /proc/self/fd/<dir fd>/attach when the
 * path does not fit sun_path, common/unix-addr.h: mascrid connects the same way). Each
 * connection carries one
 * stream of one attach session; its first byte is its role, answered with one byte, '+'
 * (served from now on) or '-' (refused, then closed):
 *   'o'  stdout: a copy of every chunk of the container's stdout (with --terminal: of the
 *        pty's output) from now on, besides the CRI log, never instead of it
 *   'e'  stderr: the same for stderr (refused with --terminal)
 *   'i'  stdin: what the client sends goes to the container's stdin pipe (or pty), read
 *        only as fast as the container takes it; refused without --stdin/--stdin-once or
 *        once the container's stdin is closed. EOF = the client detached its stdin. With
 *        --stdin-once, the detach of the first stdin client closes the container's stdin
 *        (the pipe; a pty gets its VEOF character once) and later stdin clients are refused.
 *   'c'  control: lines "<width> <height>\n" resize the pty (ignored without one); once the
 *        container has exited and its output is drained, the monitor writes
 *        "exit <code>\n" (code as in the exit file) and closes every connection.
 * A client never holds up the container or the log: an output client whose socket cannot
 * take a whole chunk at once (its socket's send buffer, up to 1 MiB) is disconnected
 * (its stream ends); at most MONITOR_ATTACH_MAX connections, more are closed at accept.
 *
 * ---- exec mode (ExecSync) ------------------------------------------------------------
 *   mascri-monitor exec --id ID --runtime-root DIR [--systemd-cgroup] --process FILE
 *       [--terminal]
 * stdin/stdout/stderr are the caller's (pipes of mascrid), fd 3 the status pipe. Loads
 * FILE (an OCI process JSON, as `runc exec --process`), runs mascri_container_exec() with
 * those stdio fds (with --terminal: the process gets a pty; its output, stdout and stderr
 * merged, is copied to the monitor's stdout, and its input gets nothing: stdin is
 * /dev/null), waits for the process and writes ONE line to fd 3:
 *   "exit <code>\n"              code: status, or 128+signal when killed by a signal
 *   "error <kind> <message>\n"   the process could not be started (exit 1)
 * On SIGTERM it SIGKILLs the exec'ed process, reaps it, writes "exit <code>" and exits
 * (mascrid's ExecSync timeout). It does not fork away in this mode (it is mascrid's child).
 *
 * ---- exec mode, interactive (streaming Exec, sandbox/stream.h) ---------------------
 *   mascri-monitor exec ... --interactive [--terminal]
 * As above, plus fd 4 = the read end of a control pipe from mascrid; and the monitor forks
 * away at once like create mode (the first process exits 0; mascrid reaps it and never
 * waits for the rest). The status line on fd 3 is the same ("exit <code>" / "error ...").
 *   - without --terminal: fds 0, 1, 2 are given to the process as they are (mascrid's stdin
 *     pipe or /dev/null, its stdout/stderr pipes or /dev/null); once the process runs the
 *     monitor replaces its own copies by /dev/null, so EOF on stdout/stderr means that the
 *     process side closed them, and the process reads EOF when mascrid closes stdin.
 *   - with --terminal: the pty's output (stdout and stderr merged) is copied to fd 1, fd 0
 *     is copied to the pty (both without ever blocking the monitor on one side); when fd 0
 *     reaches EOF (the client closed stdin) the pty gets its VEOF character (^D) once.
 * Control pipe (fd 4), lines of text:
 *   "<width> <height>\n"   TIOCSWINSZ on the pty (ignored without a terminal)
 *   EOF                     the client went away: the process gets SIGTERM (with a terminal
 *                           SIGHUP before it), then SIGKILL MASCRI_MONITOR_EXEC_GRACE_MS
 *                           later if it still runs; the status line is written as usual.
 * mascrid dying closes the pipe too: no exec'd process outlives its stream.
 */
#ifndef MASCRI_SANDBOX_MONITOR_H
#define MASCRI_SANDBOX_MONITOR_H

#define MASCRI_MONITOR_SYNC_FD 3
#define MASCRI_MONITOR_CTL_SOCKET "ctl"
#define MASCRI_MONITOR_ATTACH_SOCKET "attach"
#define MASCRI_MONITOR_ATTACH_STDOUT 'o'
#define MASCRI_MONITOR_ATTACH_STDERR 'e'
#define MASCRI_MONITOR_ATTACH_STDIN 'i'
#define MASCRI_MONITOR_ATTACH_CONTROL 'c'
#define MASCRI_MONITOR_ATTACH_OK '+'
#define MASCRI_MONITOR_ATTACH_REFUSED '-'
#define MASCRI_MONITOR_DEFAULT_MAX_LINE 16384
#define MASCRI_MONITOR_EXEC_CTL_FD 4
#define MASCRI_MONITOR_EXEC_GRACE_MS 2000

#endif
