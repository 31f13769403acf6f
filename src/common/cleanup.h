/* Cleanup attributes and ownership hand-over helpers (after systemd's src/basic). */
#ifndef MASCRI_COMMON_CLEANUP_H
#define MASCRI_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void cleanup_freep(void *p)
{
  free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

static inline void cleanup_fclosep(FILE **f)
{
  if (*f)
    fclose(*f);
}

static inline void cleanup_closedirp(DIR **d)
{
  if (*d)
    closedir(*d);
}

#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)
#define _cleanup_fclose_ _cleanup_(cleanup_fclosep)
#define _cleanup_closedir_ _cleanup_(cleanup_closedirp)

/* Hand ownership over: returns the value and leaves the variable empty. */
#define TAKE_FD(fd)                                                                                \
  ({                                                                                               \
    int take_fd_ = (fd);                                                                           \
    (fd) = -1;                                                                                     \
    take_fd_;                                                                                      \
  })

#define TAKE_PTR(p)                                                                                \
  ({                                                                                               \
    __typeof__(p) take_ptr_ = (p);                                                                 \
    (p) = NULL;                                                                                    \
    take_ptr_;                                                                                     \
  })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
