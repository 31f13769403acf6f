#include "sandbox/pod-spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/proc-stat.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

static const char *const ns_names[] = {"net", "ipc", "uts", "pid", NULL};

/* What the intermediate child reports over the pipe. */
struct spawn_report {
  int errnum;
  int step; /* index into step_names */
  pid_t pid;
  bool in_cgroup; /* pause was born in the v2 cgroup */
};

static const char *const step_names[] = {
    "setsid", "unshare", "sethostname", "open sysctl", "write sysctl", "fork pause", "exec pause",
};

/* Runs in the forked child of a threaded process: async-signal-safe calls only. */
static void pause_grandchild(const struct mascri_pause_spec *s, int devnull, char *const argv[],
                             char *const envp[], int report_fd)
{
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  execve(s->pause_path, argv, envp);
  struct spawn_report r = {errno, 6, 0, false};
  (void)!write(report_fd, &r, sizeof(r));
  _exit(127);
}

static void report_and_exit(int fd, int step, int errnum, pid_t pid, bool in_cgroup)
{
  struct spawn_report r = {errnum, step, pid, in_cgroup};
  (void)!write(fd, &r, sizeof(r));
  _exit(errnum ? 1 : 0);
}

static void pause_child(const struct mascri_pause_spec *s, int procsys, int devnull, int cgroup_fd,
                        char *const argv[], char *const envp[], int report_fd)
{
  if (setsid() < 0)
    report_and_exit(report_fd, 0, errno, 0, false);
  int flags = (s->new_net ? CLONE_NEWNET : 0) | (s->new_ipc ? CLONE_NEWIPC : 0) |
              (s->new_uts ? CLONE_NEWUTS : 0) | (s->new_pid ? CLONE_NEWPID : 0);
  if (flags && unshare(flags) < 0)
    report_and_exit(report_fd, 1, errno, 0, false);
  if (s->new_uts && s->hostname && s->hostname[0] &&
      sethostname(s->hostname, strlen(s->hostname)) < 0)
    report_and_exit(report_fd, 2, errno, 0, false);
  for (size_t i = 0; i < s->n_sysctls; i++) {
    int fd = openat(procsys, s->sysctl_paths[i], O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      report_and_exit(report_fd, 3, errno, 0, false);
    size_t len = strlen(s->sysctl_values[i]);
    if (write(fd, s->sysctl_values[i], len) != (ssize_t)len)
      report_and_exit(report_fd, 4, errno ? errno : EIO, 0, false);
    close(fd);
  }
  bool in_cgroup = false;
  pid_t pid = mascri_cgroup_clone(0, cgroup_fd, &in_cgroup);
  if (pid < 0)
    report_and_exit(report_fd, 5, errno, 0, false);
  if (pid == 0)
    pause_grandchild(s, devnull, argv, envp, report_fd);
  report_and_exit(report_fd, 0, 0, pid, in_cgroup);
}

static int open_procsys(mascri_error_t *err)
{
  int fd = open("/proc/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open /proc/sys");
  struct statfs st;
  if (fstatfs(fd, &st) < 0 || st.f_type != PROC_SUPER_MAGIC) {
    close(fd);
    return mascri_make_error(err, 0, "/proc/sys is not on a procfs");
  }
  return fd;
}

/* Reads the reports: the child's (with pause's pid), then an exec failure of pause if any
 * (the pipe closes at pause's exec, so EOF means success). */
static int read_reports(int fd, pid_t *pid, bool *in_cgroup, mascri_error_t *err)
{
  struct spawn_report r;
  ssize_t n;
  while ((n = read(fd, &r, sizeof(r))) < 0 && errno == EINTR)
    ;
  if (n != (ssize_t)sizeof(r))
    return mascri_make_error(err, 0, "pod setup child exited without a report");
  if (r.errnum)
    return mascri_make_error(err, r.errnum, "pod setup: %s", step_names[r.step]);
  *pid = r.pid;
  *in_cgroup = r.in_cgroup;
  while ((n = read(fd, &r, sizeof(r))) < 0 && errno == EINTR)
    ;
  if (n == (ssize_t)sizeof(r) && r.errnum)
    return mascri_make_error(err, r.errnum, "pod setup: %s", step_names[r.step]);
  return 0;
}

/* The pod's v2 cgroup directory, to clone pause into; -1 (pause is moved later) when it
 * cannot be opened. */
static int open_cgroup_dir(const char *dir)
{
  if (!dir)
    return -1;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    log_debug("open %s: %s; pause is moved into it instead", dir, strerror(errno));
  return fd;
}

int mascri_pause_spawn(const struct mascri_pause_spec *s, pid_t *pid, uint64_t *start_time,
                       bool *in_cgroup, mascri_error_t *err)
{
  *in_cgroup = false;
  _cleanup_close_ int procsys = s->n_sysctls ? open_procsys(err) : -1;
  if (s->n_sysctls && procsys < 0)
    return -1;
  _cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0)
    return mascri_make_error(err, errno, "open /dev/null");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0)
    return mascri_make_error(err, errno, "pipe");
  _cleanup_close_ int rfd = fds[0], wfd = fds[1];
  _cleanup_close_ int cgroup_fd = open_cgroup_dir(s->cgroup_v2_dir);
  char *argv[] = {(char *)"mascri-pause", (char *)s->pod_id, NULL};
  char *envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
  pid_t child = fork();
  if (child < 0)
    return mascri_make_error(err, errno, "fork");
  if (child == 0)
    pause_child(s, procsys, devnull, cgroup_fd, argv, envp, wfd);
  close(TAKE_FD(wfd));
  int ret = read_reports(rfd, pid, in_cgroup, err);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
    ;
  if (ret < 0)
    return ret;
  *start_time = mascri_proc_start_time(*pid);
  if (*start_time == 0)
    return mascri_make_error(err, 0, "mascri-pause (pid %d) exited at once", (int)*pid);
  return 0;
}

/* A zombie counts as gone: what matters to callers is whether the process can still act. */
uint64_t mascri_proc_start_time(pid_t pid)
{
  mascri_proc_stat_t st;
  if (mascri_proc_stat_read(pid, &st) < 0 || mascri_proc_state_exited(st.state))
    return 0;
  return st.start_time;
}

bool mascri_pause_alive(pid_t pid, uint64_t start_time)
{
  return pid > 0 && start_time != 0 && mascri_proc_start_time(pid) == start_time;
}

static bool wait_gone(pid_t pid, uint64_t start_time, unsigned timeout_ms)
{
  const struct timespec tick = {0, 10 * 1000 * 1000};
  for (unsigned waited = 0; waited <= timeout_ms; waited += 10) {
    if (!mascri_pause_alive(pid, start_time))
      return true;
    nanosleep(&tick, NULL);
  }
  return !mascri_pause_alive(pid, start_time);
}

int mascri_pause_kill(pid_t pid, uint64_t start_time, unsigned timeout_ms, mascri_error_t *err)
{
  if (!mascri_pause_alive(pid, start_time))
    return 0;
  if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
    return mascri_make_error(err, errno, "kill pause %d", (int)pid);
  if (wait_gone(pid, start_time, timeout_ms))
    return 0;
  if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
    return mascri_make_error(err, errno, "kill -9 pause %d", (int)pid);
  if (!wait_gone(pid, start_time, 5000))
    return mascri_make_error(err, 0, "pause %d survives SIGKILL", (int)pid);
  return 0;
}

int mascri_ns_pin(pid_t pid, const char *dir, const char *const *names, mascri_error_t *err)
{
  if (mascri_mkdir_p(dir, 0700, err) < 0)
    return -1;
  for (size_t i = 0; names[i]; i++) {
    _cleanup_free_ char *target = mascri_path_join(dir, names[i]);
    _cleanup_free_ char *src = xasprintf("/proc/%d/ns/%s", (int)pid, names[i]);
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0400);
    if (fd < 0)
      return mascri_make_error(err, errno, "create %s", target);
    close(fd);
    if (mount(src, target, NULL, MS_BIND, NULL) < 0)
      return mascri_make_error(err, errno, "pin %s at %s", src, target);
  }
  return 0;
}

int mascri_ns_unpin_all(const char *dir, mascri_error_t *err)
{
  for (size_t i = 0; ns_names[i]; i++) {
    _cleanup_free_ char *target = mascri_path_join(dir, ns_names[i]);
    /* Stacked pins (a crash between two runs) come off one by one. */
    while (umount2(target, MNT_DETACH) == 0)
      ;
    if (errno != EINVAL && errno != ENOENT)
      return mascri_make_error(err, errno, "unmount %s", target);
  }
  return mascri_rm_rf(dir, err);
}

pid_t mascri_pause_find(const char *pod_id)
{
  _cleanup_closedir_ DIR *d = opendir("/proc");
  struct dirent *de;
  size_t idlen = strlen(pod_id);
  while (d && (de = readdir(d)) != NULL) {
    if (de->d_name[0] < '1' || de->d_name[0] > '9')
      continue;
    char path[300], buf[256];
    snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
      continue;
    buf[n] = '\0';
    size_t first = strlen(buf);
    if (strcmp(buf, "mascri-pause") == 0 && (size_t)n >= first + 1 + idlen &&
        strcmp(buf + first + 1, pod_id) == 0)
      return (pid_t)atoi(de->d_name);
  }
  return 0;
}
