/* CVE-2019-5736: a container process must never be able to open and rewrite the runtime
 * binary through /proc/<pid>/exe. Before entering a container we re-exec ourselves from a
 * sealed memfd copy, so /proc/self/exe of every runtime process that touches a container
 * is an immutable anonymous file. */
#include <errno.h>
#include <limits.h>
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

/* The binary to copy: the lean `mascri-runtime` next to us when we are the full `mascri`
 * (it runs the same commands without loading the image commands' libraries), else
 * ourselves. */
static int open_binary(int self)
{
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
  if (n > 0) {
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash && strcmp(slash + 1, "mascri") == 0) {
      static const char *const candidates[] = {"mascri-runtime", "runtime/mascri-runtime"};
      for (size_t i = 0; i < 2; i++) {
        strcpy(slash + 1, candidates[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
          return fd;
      }
    }
  }
  return dup(self);
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
  _cleanup_close_ int self = open_binary(exe);
  if (self < 0)
    return mascri_make_error(err, errno, "open the runtime binary");
  struct stat st;
  if (fstat(self, &st) < 0)
    return mascri_make_error(err, errno, "stat /proc/self/exe");
  _cleanup_close_ int mfd = memfd_create("mascri", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return mascri_make_error(err, errno, "memfd_create");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(mfd, self, &off, (size_t)(st.st_size - off));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return mascri_make_error(err, n < 0 ? errno : EIO, "copy the runtime binary");
  }
  if (fcntl(mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0)
    return mascri_make_error(err, errno, "seal the runtime copy");
  fexecve(mfd, argv, environ);
  return mascri_make_error(err, errno, "re-exec from the sealed copy");
}
