/* CVE-2019-5736: a container process must never be able to open and rewrite the runtime
 * binary through /proc/<pid>/exe. Before entering a container we re-exec ourselves from a
 * sealed memfd copy, so /proc/self/exe of every runtime process that touches a container
 * is an immutable anonymous file. */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/runtime.h"

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

/* How much of the binary to copy: its headers and every segment the kernel loads, without
 * what only debuggers read (the debug info is a third of a debug build). *ehdr is set to
 * the ELF header to write over the copy's, with the section table dropped (it may lie
 * beyond the end). 0 (copy it all) when the file is not an ELF64 we can read. */
static off_t loadable_size(int fd, off_t file_size, Elf64_Ehdr *ehdr)
{
  if (pread(fd, ehdr, sizeof(*ehdr), 0) != (ssize_t)sizeof(*ehdr) ||
      memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 || ehdr->e_ident[EI_CLASS] != ELFCLASS64 ||
      ehdr->e_phentsize != sizeof(Elf64_Phdr) || ehdr->e_phnum == 0 || ehdr->e_phnum > 64)
    return 0;
  Elf64_Phdr ph[64];
  size_t len = ehdr->e_phnum * sizeof(Elf64_Phdr);
  if (pread(fd, ph, len, (off_t)ehdr->e_phoff) != (ssize_t)len)
    return 0;
  uint64_t end = ehdr->e_phoff + len;
  for (size_t i = 0; i < ehdr->e_phnum; i++)
    if (ph[i].p_offset + ph[i].p_filesz > end)
      end = ph[i].p_offset + ph[i].p_filesz;
  if (end > (uint64_t)file_size)
    return 0;
  ehdr->e_shoff = 0;
  ehdr->e_shnum = 0;
  ehdr->e_shstrndx = SHN_UNDEF;
  return (off_t)end;
}

/* A sealed memfd holding the loadable part of the binary open as exe. */
static int sealed_copy(int exe, mascri_error_t *err)
{
  struct stat st;
  if (fstat(exe, &st) < 0)
    return mascri_make_error(err, errno, "stat /proc/self/exe");
  Elf64_Ehdr ehdr;
  off_t size = loadable_size(exe, st.st_size, &ehdr);
  _cleanup_close_ int mfd = memfd_create("mascri", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return mascri_make_error(err, errno, "memfd_create");
  off_t total = size > 0 ? size : st.st_size, off = 0;
  while (off < total) {
    ssize_t n = sendfile(mfd, exe, &off, (size_t)(total - off));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return mascri_make_error(err, n < 0 ? errno : EIO, "copy the runtime binary");
  }
  if (size > 0 && pwrite(mfd, &ehdr, sizeof(ehdr), 0) != (ssize_t)sizeof(ehdr))
    return mascri_make_error(err, errno, "copy the runtime binary");
  if (fcntl(mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0)
    return mascri_make_error(err, errno, "seal the runtime copy");
  return TAKE_FD(mfd);
}

int mascri_runtime_ensure_sealed_exe(int argc, char **argv, mascri_error_t *err)
{
  (void)argc;
  _cleanup_close_ int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0)
    return mascri_make_error(err, errno, "open /proc/self/exe");
  int seals = fcntl(exe, F_GET_SEALS);
  if (seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS)
    return 0;
  _cleanup_close_ int mfd = sealed_copy(exe, err);
  if (mfd < 0)
    return -1;
  fexecve(mfd, argv, environ);
  return mascri_make_error(err, errno, "re-exec from the sealed copy");
}
