#include "netns/ipam.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"

#define IPV6_RANGE_CAP (UINT64_C(1) << 20)
#define TMP_PREFIX ".tmp-"

struct mascri_ipam {
  char *dir;
  int dirfd;
  pthread_mutex_t lock; /* threads of this process; flock(dirfd) for other processes */
};

int mascri_ipam_range_init(struct mascri_ipam_range *r, const struct mascri_cidr *c,
                           mascri_error_t *err)
{
  memset(r, 0, sizeof(*r));
  r->cidr = *c;
  uint64_t size = mascri_cidr_size(c);
  char buf[MASCRI_IP_STRLEN + 4];
  if (size < 4)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "pod CIDR %s is too small",
                                  mascri_cidr_format(c, buf));
  r->first = 2;
  if (c->net.family == AF_INET)
    r->last = size - 2;
  else
    r->last = (size > IPV6_RANGE_CAP ? IPV6_RANGE_CAP : size) - 1;
  r->next = r->first;
  mascri_cidr_nth(c, 1, &r->gateway);
  return 0;
}

int mascri_ipam_open(const char *dir, struct mascri_ipam **out, mascri_error_t *err)
{
  if (mascri_mkdir_p(dir, 0700, err) < 0)
    return mascri_error_wrap(err, "IPAM directory");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open IPAM directory %s", dir);
  struct mascri_ipam *ipam = xmalloc0(sizeof(*ipam));
  ipam->dir = xstrdup(dir);
  ipam->dirfd = fd;
  pthread_mutex_init(&ipam->lock, NULL);
  *out = ipam;
  return 0;
}

void mascri_ipam_close(struct mascri_ipam *ipam)
{
  if (ipam == NULL)
    return;
  close(ipam->dirfd);
  pthread_mutex_destroy(&ipam->lock);
  free(ipam->dir);
  free(ipam);
}

static void ipam_lock(struct mascri_ipam *ipam)
{
  pthread_mutex_lock(&ipam->lock);
  while (flock(ipam->dirfd, LOCK_EX) < 0 && errno == EINTR)
    ;
}

static void ipam_unlock(struct mascri_ipam *ipam)
{
  flock(ipam->dirfd, LOCK_UN);
  pthread_mutex_unlock(&ipam->lock);
}

/* Writes owner to a fresh temp file (name in tmp) ready to be linked into place. */
static int write_temp(struct mascri_ipam *ipam, const char *owner, char *tmp, size_t tmplen,
                      mascri_error_t *err)
{
  snprintf(tmp, tmplen, TMP_PREFIX "%d-%lx", getpid(), (unsigned long)pthread_self());
  unlinkat(ipam->dirfd, tmp, 0);
  _cleanup_close_ int fd =
      openat(ipam->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return mascri_make_error(err, errno, "IPAM: create %s/%s", ipam->dir, tmp);
  /* No fsync: see the header. */
  if (mascri_write_all(fd, owner, strlen(owner), err) < 0) {
    unlinkat(ipam->dirfd, tmp, 0);
    return -1;
  }
  return 0;
}

/* Links tmp to ip's name: 0 taken, 1 already taken by someone, < 0 error. */
static int take(struct mascri_ipam *ipam, const char *tmp, const struct mascri_ip *ip,
                mascri_error_t *err)
{
  char name[MASCRI_IP_STRLEN];
  mascri_ip_format(ip, name);
  if (linkat(ipam->dirfd, tmp, ipam->dirfd, name, 0) == 0)
    return 0;
  if (errno == EEXIST)
    return 1;
  return mascri_make_error(err, errno, "IPAM: take %s/%s", ipam->dir, name);
}

static int search(struct mascri_ipam *ipam, struct mascri_ipam_range *range, const char *tmp,
                  struct mascri_ip *out, mascri_error_t *err)
{
  uint64_t count = range->last - range->first + 1;
  uint64_t off = range->next;
  for (uint64_t i = 0; i < count; i++, off++) {
    if (off < range->first || off > range->last)
      off = range->first;
    mascri_cidr_nth(&range->cidr, off, out);
    int r = take(ipam, tmp, out, err);
    if (r < 0)
      return r;
    if (r == 0) {
      range->next = off + 1;
      return 0;
    }
  }
  char buf[MASCRI_IP_STRLEN + 4];
  return mascri_make_error_kind(err, MASCRI_ERR_RESOURCE_EXHAUSTED, 0,
                                "IPAM: no free address left in %s",
                                mascri_cidr_format(&range->cidr, buf));
}

int mascri_ipam_allocate(struct mascri_ipam *ipam, struct mascri_ipam_range *range,
                         const char *owner, struct mascri_ip *out, mascri_error_t *err)
{
  char tmp[64];
  ipam_lock(ipam);
  int r = write_temp(ipam, owner, tmp, sizeof(tmp), err);
  if (r == 0) {
    r = search(ipam, range, tmp, out, err);
    unlinkat(ipam->dirfd, tmp, 0);
  }
  ipam_unlock(ipam);
  return r;
}

int mascri_ipam_reserve(struct mascri_ipam *ipam, const struct mascri_ip *ip, const char *owner,
                        mascri_error_t *err)
{
  char tmp[64];
  char name[MASCRI_IP_STRLEN];
  ipam_lock(ipam);
  int r = write_temp(ipam, owner, tmp, sizeof(tmp), err);
  if (r == 0) {
    r = take(ipam, tmp, ip, err);
    unlinkat(ipam->dirfd, tmp, 0);
    if (r == 1)
      r = mascri_make_error_kind(err, MASCRI_ERR_ALREADY_EXISTS, EEXIST,
                                 "IPAM: address %s is already in use", mascri_ip_format(ip, name));
  }
  ipam_unlock(ipam);
  return r;
}

/* Owner recorded in the file name (an address); NULL when unreadable or gone. */
static char *read_owner(struct mascri_ipam *ipam, const char *name)
{
  char *buf = NULL;
  if (mascri_read_file_at(ipam->dirfd, name, &buf, NULL, NULL) < 0)
    return NULL;
  return buf;
}

static int release_locked(struct mascri_ipam *ipam, const char *name, const char *owner,
                          mascri_error_t *err)
{
  if (owner) {
    _cleanup_free_ char *cur = read_owner(ipam, name);
    if (cur == NULL || strcmp(cur, owner) != 0)
      return 0;
  }
  if (unlinkat(ipam->dirfd, name, 0) < 0 && errno != ENOENT)
    return mascri_make_error(err, errno, "IPAM: free %s/%s", ipam->dir, name);
  return 0;
}

int mascri_ipam_release(struct mascri_ipam *ipam, const struct mascri_ip *ip, const char *owner,
                        mascri_error_t *err)
{
  char name[MASCRI_IP_STRLEN];
  mascri_ip_format(ip, name);
  ipam_lock(ipam);
  int r = release_locked(ipam, name, owner, err);
  ipam_unlock(ipam);
  return r;
}

/* Calls fn(name, owner) for each address file and removes temp files when clean_tmp. */
typedef int (*entry_fn)(struct mascri_ipam *ipam, const char *name, const char *owner, void *data,
                        mascri_error_t *err);

static int scan_locked(struct mascri_ipam *ipam, bool clean_tmp, entry_fn fn, void *data,
                       mascri_error_t *err)
{
  _cleanup_closedir_ DIR *d = mascri_opendir_at(ipam->dirfd, ".", 0);
  if (d == NULL)
    return mascri_make_error(err, errno, "IPAM: open %s", ipam->dir);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') {
      if (clean_tmp && strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
        unlinkat(ipam->dirfd, de->d_name, 0);
      continue;
    }
    struct mascri_ip ip;
    if (mascri_ip_parse(de->d_name, &ip) < 0)
      continue;
    /* An empty or unreadable file (power loss before its data reached the disk) has no
     * owner: reconcile frees it. */
    _cleanup_free_ char *owner = read_owner(ipam, de->d_name);
    if (fn(ipam, de->d_name, owner ? owner : "", data, err) < 0)
      return -1;
  }
  return 0;
}

struct release_ctx {
  const char *owner;
  const char *const *live;
  size_t count;
};

static int release_if_owner(struct mascri_ipam *ipam, const char *name, const char *owner,
                            void *data, mascri_error_t *err)
{
  struct release_ctx *ctx = data;
  if (strcmp(owner, ctx->owner) != 0)
    return 0;
  ctx->count++;
  return release_locked(ipam, name, NULL, err);
}

int mascri_ipam_release_owner(struct mascri_ipam *ipam, const char *owner, size_t *released,
                              mascri_error_t *err)
{
  struct release_ctx ctx = {.owner = owner};
  ipam_lock(ipam);
  int r = scan_locked(ipam, false, release_if_owner, &ctx, err);
  ipam_unlock(ipam);
  if (released)
    *released = ctx.count;
  return r;
}

static int release_if_dead(struct mascri_ipam *ipam, const char *name, const char *owner,
                           void *data, mascri_error_t *err)
{
  struct release_ctx *ctx = data;
  if (ctx->live && mascri_strv_contains((char *const *)ctx->live, owner))
    return 0;
  ctx->count++;
  return release_locked(ipam, name, NULL, err);
}

int mascri_ipam_reconcile(struct mascri_ipam *ipam, const char *const *live, size_t *released,
                          mascri_error_t *err)
{
  struct release_ctx ctx = {.live = live};
  ipam_lock(ipam);
  int r = scan_locked(ipam, true, release_if_dead, &ctx, err);
  ipam_unlock(ipam);
  if (released)
    *released = ctx.count;
  return r;
}

struct list_ctx {
  mascri_ipam_fn fn;
  void *data;
};

static int list_one(struct mascri_ipam *ipam, const char *name, const char *owner, void *data,
                    mascri_error_t *err)
{
  struct list_ctx *ctx = data;
  struct mascri_ip ip;
  if (mascri_ip_parse(name, &ip) == 0)
    ctx->fn(&ip, owner, ctx->data);
  return 0;
}

int mascri_ipam_list(struct mascri_ipam *ipam, mascri_ipam_fn fn, void *data, mascri_error_t *err)
{
  struct list_ctx ctx = {fn, data};
  ipam_lock(ipam);
  int r = scan_locked(ipam, false, list_one, &ctx, err);
  ipam_unlock(ipam);
  return r;
}
