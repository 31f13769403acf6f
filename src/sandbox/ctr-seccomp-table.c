/* The default seccomp profile of CRI containers: the same policy as Docker's, containerd's
 * and CRI-O's default (moby profiles/seccomp), written as a table of syscall groups. Names
 * the host's libseccomp does not know are skipped by the runtime, so 32-bit and newer
 * syscalls are listed too. */
#include <sched.h>

#include "common/cleanup.h"
#include "sandbox/ctr-seccomp-internal.h"

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Always allowed: files and directories. */
// clang-format off
static const char *const files_io[] = {
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range",
    "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
    "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "flock", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
    "getdents64", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "ioctl",
    "lchown", "lchown32", "link", "linkat", "_llseek", "lseek", "lstat", "lstat64", "mkdir",
    "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat", "open", "openat", "openat2",
    "pipe", "pipe2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "rename", "renameat", "renameat2", "rmdir",
    "sendfile", "sendfile64", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
    "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write",
    "writev", "cachestat", "fchmodat2", NULL};
// clang-format on

/* Always allowed: extended attributes, polling, async I/O, event fds. Not io_uring: like
 * Docker's and containerd's current profiles, it is left out (it bypasses seccomp). */
// clang-format off
static const char *const xattr_poll_aio[] = {
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr",
    "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "_newselect", "poll", "ppoll", "ppoll_time64",
    "pselect6", "pselect6_time64", "select", "signalfd", "signalfd4", "timerfd_create",
    "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "io_cancel",
    "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit",
    "getxattrat", "listxattrat", "removexattrat", "setxattrat", NULL};
// clang-format on

/* Always allowed: memory. */
// clang-format off
static const char *const memory[] = {
    "brk", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock", "mlock2",
    "mlockall", "mmap", "mmap2", "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages", "map_shadow_stack", "mseal",
    NULL};
// clang-format on

/* Always allowed: processes, threads, credentials, limits, scheduling. ptrace and
 * process_vm_* too: safe under seccomp since Linux 4.8, as in Docker's profile. */
// clang-format off
static const char *const process[] = {
    "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "vfork", "futex",
    "futex_time64", "futex_waitv", "futex_wait", "futex_wake", "futex_requeue", "get_robust_list",
    "set_robust_list", "get_thread_area", "set_thread_area", "set_tid_address", "getcpu", "getegid",
    "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
    "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid", "gettid",
    "getuid", "getuid32", "ioprio_get", "ioprio_set", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "listmount", "statmount", "pidfd_open",
    "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease", "restart_syscall", "rseq",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setpgid", "setpriority",
    "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
    "setreuid32", "setrlimit", "setsid", "setuid", "setuid32", "ugetrlimit", "uname", "uretprobe",
    "sysinfo", "wait4", "waitid", "waitpid", "ptrace", "process_vm_readv", "process_vm_writev",
    NULL};
// clang-format on

/* Always allowed: signals, clocks and timers. */
// clang-format off
static const char *const signals_time[] = {
    "alarm", "kill", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sigaltstack", "sigprocmask", "sigreturn", "tgkill", "tkill", "adjtimex",
    "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "getitimer", "setitimer",
    "gettimeofday", "nanosleep", "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "times", NULL};
// clang-format on

/* Always allowed: sockets (socket itself is conditioned below) and System V / POSIX IPC. */
// clang-format off
static const char *const net_ipc[] = {
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg",
    "sendto", "setsockopt", "shutdown", "socketcall", "socketpair", "ipc", "mq_getsetattr",
    "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget", NULL};
// clang-format on

/* What CAP_SYS_ADMIN is needed for: mounts, namespaces, names, tracing, quotas. */
// clang-format off
static const char *const sys_admin[] = {
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
    "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
    "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
    "umount2", "unshare", NULL};
// clang-format on

#define AF_VSOCK_NR 40
/* personality(2) values a container may set: PER_LINUX, PER_LINUX32, UNAME26 alone and
 * with PER_LINUX32, and the 0xffffffff query. */
static const struct ctr_seccomp_arg pers_linux[] = {{0, 0x0, 0, "SCMP_CMP_EQ"}};
static const struct ctr_seccomp_arg pers_linux32[] = {{0, 0x8, 0, "SCMP_CMP_EQ"}};
static const struct ctr_seccomp_arg pers_uname26[] = {{0, 0x20000, 0, "SCMP_CMP_EQ"}};
static const struct ctr_seccomp_arg pers_uname26_32[] = {{0, 0x20008, 0, "SCMP_CMP_EQ"}};
static const struct ctr_seccomp_arg pers_query[] = {{0, 0xffffffff, 0, "SCMP_CMP_EQ"}};
static const struct ctr_seccomp_arg socket_no_vsock[] = {{0, AF_VSOCK_NR, 0, "SCMP_CMP_NE"}};
/* clone(2) without any namespace flag: (flags & mask) == 0 */
#define CLONE_NS_FLAGS                                                                             \
  ((uint64_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |           \
              CLONE_NEWNET | CLONE_NEWCGROUP))
static const struct ctr_seccomp_arg clone_no_ns[] = {{0, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ"}};

#define ARGS(a) .args = (a), .n_args = ARRAY_SIZE(a)
#define ERRNO_ENOSYS 38

const struct ctr_seccomp_group ctr_seccomp_default_groups[] = {
    {.names = files_io},
    {.names = xattr_poll_aio},
    {.names = memory},
    {.names = process},
    {.names = signals_time},
    {.names = net_ipc},
    {.names = NAMES("socket"), ARGS(socket_no_vsock)},
    {.names = NAMES("personality"), ARGS(pers_linux)},
    {.names = NAMES("personality"), ARGS(pers_linux32)},
    {.names = NAMES("personality"), ARGS(pers_uname26)},
    {.names = NAMES("personality"), ARGS(pers_uname26_32)},
    {.names = NAMES("personality"), ARGS(pers_query)},
    {.names = NAMES("arch_prctl", "modify_ldt"), .arch = "amd64"},
    {.names = NAMES("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                    "cacheflush", "set_tls"),
     .arch = "arm64"},
    {.names = NAMES("riscv_hwprobe", "riscv_flush_icache"), .arch = "riscv64"},
    {.names = NAMES("open_by_handle_at"), .cap = "CAP_DAC_READ_SEARCH"},
    {.names = sys_admin, .cap = "CAP_SYS_ADMIN"},
    {.names = NAMES("clone"), ARGS(clone_no_ns), .without_cap = "CAP_SYS_ADMIN"},
    /* ENOSYS makes glibc fall back to clone(2), whose flags can be checked */
    {.names = NAMES("clone3"),
     .action = "SCMP_ACT_ERRNO",
     .errno_ret = ERRNO_ENOSYS,
     .without_cap = "CAP_SYS_ADMIN"},
    {.names = NAMES("reboot"), .cap = "CAP_SYS_BOOT"},
    {.names = NAMES("chroot"), .cap = "CAP_SYS_CHROOT"},
    {.names = NAMES("delete_module", "init_module", "finit_module"), .cap = "CAP_SYS_MODULE"},
    {.names = NAMES("acct"), .cap = "CAP_SYS_PACCT"},
    {.names = NAMES("kcmp", "pidfd_getfd", "process_madvise"), .cap = "CAP_SYS_PTRACE"},
    {.names = NAMES("iopl", "ioperm"), .cap = "CAP_SYS_RAWIO"},
    {.names = NAMES("settimeofday", "stime", "clock_settime", "clock_settime64"),
     .cap = "CAP_SYS_TIME"},
    {.names = NAMES("vhangup"), .cap = "CAP_SYS_TTY_CONFIG"},
    {.names = NAMES("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
     .cap = "CAP_SYS_NICE"},
    {.names = NAMES("syslog"), .cap = "CAP_SYSLOG"},
    {.names = NAMES("bpf"), .cap = "CAP_BPF"},
    {.names = NAMES("perf_event_open"), .cap = "CAP_PERFMON"},
};

const size_t ctr_seccomp_n_default_groups = ARRAY_SIZE(ctr_seccomp_default_groups);
