/* The entry point of the static `mascri` binary (-e
 * mascri_sealed_entry): before the C library initializes, a command that enters a container
 * (create, run, exec) re-execs from a sealed memfd copy of the binary right away, so the
 * unsealed first process costs a few system calls instead of a whole C library start (CPU
 * feature probing, relocations, constructors: about 1 ms on a small VM). Everything else
 * goes on to the C library's _start unchanged.
 *
 * This runs before relocation and TLS: freestanding code only (no C library calls, no
 * stack protector, no pointers in static data, which would need relocating). It is only a
 * shortcut: main() still calls mascri_runtime_ensure_sealed_exe(), which re-execs if this
 * did not (unusual argv, an error here). */
#include <elf.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stddef.h>
#include <sys/syscall.h>

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

long mascri_sealed_entry_main(long *sp);

__asm__(".text\n"
        ".globl mascri_sealed_entry\n"
        ".type mascri_sealed_entry,@function\n"
        "mascri_sealed_entry:\n"
        "  mov %rsp, %r12\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call mascri_sealed_entry_main\n"
        "  mov %r12, %rsp\n"
        "  xor %edx, %edx\n"
        "  jmp _start\n");

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

#define SYS(nr, a, b, c) sys6((nr), (long)(a), (long)(b), (long)(c), 0, 0, 0)

static int str_eq(const char *a, const char *b)
{
  while (*a && *a == *b)
    a++, b++;
  return *a == *b;
}

static int has_prefix(const char *s, const char *p)
{
  while (*p && *s == *p)
    s++, p++;
  return *p == '\0';
}

/* The subcommand of `mascri [global options] COMMAND ...` when it enters a container: the
 * global options are those of runtime/cli/cli.c. */
static int enters_container(long argc, char **argv)
{
  for (long i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-')
      return str_eq(a, "create") || str_eq(a, "run") || str_eq(a, "exec");
    if (str_eq(a, "--root") || str_eq(a, "--log") || str_eq(a, "--log-format") ||
        str_eq(a, "--rootless") || str_eq(a, "--criu"))
      i++;
    else if (!(has_prefix(a, "--root=") || has_prefix(a, "--log=") ||
               has_prefix(a, "--log-format=") || has_prefix(a, "--rootless=") ||
               has_prefix(a, "--criu=") || str_eq(a, "--debug") || str_eq(a, "--systemd-cgroup")))
      return 0; /* anything else: let main() decide */
  }
  return 0;
}

static void clear_section_table(Elf64_Ehdr *h)
{
  h->e_shoff = 0;
  h->e_shnum = 0;
  h->e_shstrndx = SHN_UNDEF;
}

/* Bytes to copy: the ELF header, program headers and loaded segments (see sealed-exe.c). */
static long loadable_size(int fd, Elf64_Ehdr *h, long file_size)
{
  static const unsigned char magic[4] = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3};
  if (sys6(SYS_pread64, fd, (long)h, sizeof(*h), 0, 0, 0) != (long)sizeof(*h))
    return 0;
  for (int i = 0; i < 4; i++)
    if (h->e_ident[i] != magic[i])
      return 0;
  if (h->e_ident[EI_CLASS] != ELFCLASS64 || h->e_phentsize != sizeof(Elf64_Phdr) ||
      h->e_phnum == 0 || h->e_phnum > 32)
    return 0;
  Elf64_Phdr ph[32];
  long len = h->e_phnum * (long)sizeof(Elf64_Phdr);
  if (sys6(SYS_pread64, fd, (long)ph, len, (long)h->e_phoff, 0, 0) != len)
    return 0;
  unsigned long end = h->e_phoff + (unsigned long)len;
  for (int i = 0; i < h->e_phnum; i++)
    if (ph[i].p_offset + ph[i].p_filesz > end)
      end = ph[i].p_offset + ph[i].p_filesz;
  if (end > (unsigned long)file_size)
    return 0;
  clear_section_table(h);
  return (long)end;
}

static long file_size(int fd)
{
  /* statx would need a struct; lseek to the end is enough */
  long size = SYS(SYS_lseek, fd, 0, 2 /* SEEK_END */);
  return size;
}

/* Copies the binary into a sealed memfd and execs it; returns only on failure. */
static void reexec_sealed(int exe, char **argv, char **envp)
{
  static const char name[] = "mascri";
  long size = file_size(exe);
  if (size <= 0)
    return;
  Elf64_Ehdr h;
  long total = loadable_size(exe, &h, size);
  int patch = total > 0;
  if (!patch)
    total = size;
  int mfd = (int)SYS(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING, 0);
  if (mfd < 0)
    return;
  long off = 0;
  while (off < total) {
    long n = sys6(SYS_sendfile, mfd, exe, (long)&off, total - off, 0, 0);
    if (n == -4 /* EINTR */)
      continue;
    if (n <= 0)
      goto out;
  }
  if (patch && sys6(SYS_pwrite64, mfd, (long)&h, sizeof(h), 0, 0, 0) != (long)sizeof(h))
    goto out;
  if (SYS(SYS_fcntl, mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0)
    goto out;
  SYS(SYS_close, exe, 0, 0);
  sys6(SYS_execveat, mfd, (long)"", (long)argv, (long)envp, AT_EMPTY_PATH, 0);
out:
  SYS(SYS_close, mfd, 0, 0);
}

long mascri_sealed_entry_main(long *sp)
{
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  if (!enters_container(argc, argv))
    return 0;
  int exe = (int)SYS(SYS_open, "/proc/self/exe", O_RDONLY | O_CLOEXEC, 0);
  if (exe < 0)
    return 0;
  long seals = SYS(SYS_fcntl, exe, F_GET_SEALS, 0);
  if (seals < 0 || (seals & REQUIRED_SEALS) != REQUIRED_SEALS)
    reexec_sealed(exe, argv, envp);
  SYS(SYS_close, exe, 0, 0);
  return 0;
}
