/* mascri-pause: holds a pod's namespaces. As PID 1 of the pod's pid namespace it reaps
 * every orphan; it exits 0 on SIGTERM or SIGINT. Static, no library at run time.
 * mascrid passes the pod id as argv[1] (unused here) so that a pause process left without
 * a record by a crash can be found and stopped.
 *
 * One runs per pod, so its private memory is a per-pod cost. On x86_64 it is built
 * freestanding (-nostdlib, its own _start and system calls): a static C library's start
 * alone writes ~44 KiB per process (its data, the TLS block on a heap, stdio), against one
 * or two stack pages here. Other architectures build the same code on the C library's
 * syscall(). Freestanding rules apply: no C library call on x86_64, no static data that
 * needs relocating. */
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifdef MASCRI_PAUSE_FREESTANDING
static long sys4(long nr, long a, long b, long c, long d)
{
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}
#else
#include <errno.h>
#include <unistd.h>

static long sys4(long nr, long a, long b, long c, long d)
{
  long r = syscall(nr, a, b, c, d);
  return r < 0 ? -errno : r;
}
#endif

#define SYS(nr, a, b, c, d) sys4((nr), (long)(a), (long)(b), (long)(c), (long)(d))

/* The kernel's sigaction and sigset (8 bytes), not the C library's. */
struct k_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  unsigned long mask;
};
#define K_SIGSET_SIZE 8
#define BIT(sig) (1UL << ((sig)-1))

static size_t len_of(const char *s)
{
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

static int str_eq(const char *a, const char *b)
{
  while (*a && *a == *b)
    a++, b++;
  return *a == *b;
}

static void say(int fd, const char *s)
{
  SYS(SYS_write, fd, s, len_of(s), 0);
}

static int pause_main(int argc, char **argv)
{
  if (argc > 1 && str_eq(argv[1], "--version")) {
    say(1, "mascri-pause\n");
    return 0;
  }
  /* Whatever the parent ignored must reach the wait below (an ignored SIGCHLD is not
   * even queued). */
  static const int sigs[] = {SIGTERM, SIGINT, SIGCHLD};
  unsigned long set = 0;
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
    struct k_sigaction dfl = {.handler = SIG_DFL};
    SYS(SYS_rt_sigaction, sigs[i], &dfl, NULL, K_SIGSET_SIZE);
    set |= BIT(sigs[i]);
  }
  if (SYS(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, K_SIGSET_SIZE) < 0) {
    say(2, "mascri-pause: sigprocmask failed\n");
    return 1;
  }
  for (;;) {
    long sig = SYS(SYS_rt_sigtimedwait, &set, NULL, NULL, K_SIGSET_SIZE);
    if (sig == SIGTERM || sig == SIGINT)
      return 0;
    if (sig != SIGCHLD)
      continue; /* -EINTR */
    /* reap every child that has exited */
    while (SYS(SYS_wait4, -1, NULL, WNOHANG, NULL) > 0)
      ;
  }
}

#ifdef MASCRI_PAUSE_FREESTANDING
_Noreturn void mascri_pause_start(long *sp);

/* The kernel starts us with argc, argv[], NULL, envp[] on the stack. */
__asm__(".text\n"
        ".globl _start\n"
        ".type _start,@function\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call mascri_pause_start\n"
        "  hlt\n");

_Noreturn void mascri_pause_start(long *sp)
{
  int code = pause_main((int)sp[0], (char **)(sp + 1));
  for (;;)
    SYS(SYS_exit_group, code, 0, 0, 0);
}
#else
int main(int argc, char **argv)
{
  return pause_main(argc, argv);
}
#endif
