/* Unix socket addresses for paths that may not fit sun_path (108 bytes): a socket in a deep
 * directory is reached through /proc/self/fd/<dirfd>/<name>, which bind() and connect()
 * resolve like any path. */
#ifndef MASCRI_COMMON_UNIX_ADDR_H
#define MASCRI_COMMON_UNIX_ADDR_H

#include <sys/un.h>

#include "common/error.h"

/* The address of dir/name in *addr. When that path does not fit, *dirfd is dir opened
 * O_PATH (the caller closes it after bind() or connect()) and the address goes through it;
 * else *dirfd is -1. Errors: dir cannot be opened, or name itself is too long. */
int mascri_unix_addr(const char *dir, const char *name, struct sockaddr_un *addr, int *dirfd,
                     mascri_error_t *err);

#endif
