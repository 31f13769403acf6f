/* `mascri image rm|tag|prune`, and `rootfs` (create|mount|umount|rm|image) for tests and
 * debugging of container root filesystems. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "common/xalloc.h"
#include "image/user.h"
#include "image/cli/image-cli-internal.h"

int image_cmd_rm(struct image_cli *c, int argc, char **argv)
{
  int status = 0;
  if (argc < 1) {
    fprintf(stderr, "usage: mascri image rm [-f] NAME...\n");
    return 2;
  }
  for (int i = 0; i < argc; i++) {
    mascri_error_t err = NULL;
    if (mascri_image_remove(c->store, argv[i], c->force ? MASCRI_IMAGE_REMOVE_FORCE : 0, &err) < 0)
      status = image_cli_fail(&err);
    else if (!c->quiet)
      printf("removed %s\n", argv[i]);
  }
  return status;
}

int image_cmd_tag(struct image_cli *c, int argc, char **argv)
{
  mascri_error_t err = NULL;
  if (argc != 2) {
    fprintf(stderr, "usage: mascri image tag NAME NEWREF\n");
    return 2;
  }
  if (mascri_image_tag(c->store, argv[0], argv[1], &err) < 0)
    return image_cli_fail(&err);
  return 0;
}

int image_cmd_prune(struct image_cli *c, int argc, char **argv)
{
  mascri_error_t err = NULL;
  uint64_t freed = 0;
  if (mascri_image_prune(c->store, &freed, &err) < 0)
    return image_cli_fail(&err);
  if (!c->quiet)
    printf("reclaimed %.1f MB\n", freed / 1e6);
  return 0;
}

/* Resolves USER inside the mounted rootfs of container id: "uid gid [groups...]". */
static int print_user(struct image_cli *c, const char *id, const char *user, mascri_error_t *err)
{
  _cleanup_free_ char *mp = xasprintf("%s/rootfs/%s/merged", mascri_image_store_root(c->store), id);
  _cleanup_close_ int fd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct mascri_image_user u;
  if (fd < 0)
    return mascri_make_error(err, errno, "open %s", mp);
  if (mascri_image_resolve_user(fd, user, &u, err) < 0)
    return -1;
  printf("%u %u", u.uid, u.gid);
  for (size_t i = 0; i < u.n_additional; i++)
    printf(" %u", u.additional_gids[i]);
  printf("\n");
  mascri_image_user_clear(&u);
  return 0;
}

int image_cmd_rootfs(struct image_cli *c, int argc, char **argv)
{
  mascri_error_t err = NULL;
  int r;
  if (argc >= 3 && strcmp(argv[0], "create") == 0) {
    r = mascri_image_rootfs_create(c->store, argv[1], argv[2], &err);
  } else if (argc >= 2 && strcmp(argv[0], "mount") == 0) {
    _cleanup_free_ char *mp = NULL;
    r = mascri_image_rootfs_mount(c->store, argv[1], argc > 2 ? argv[2] : NULL, &mp, &err);
    if (r == 0)
      printf("%s\n", mp);
  } else if (argc == 2 && strcmp(argv[0], "umount") == 0) {
    r = mascri_image_rootfs_unmount(c->store, argv[1], &err);
  } else if (argc == 2 && strcmp(argv[0], "rm") == 0) {
    r = mascri_image_rootfs_remove(c->store, argv[1], &err);
  } else if (argc == 2 && strcmp(argv[0], "image") == 0) {
    _cleanup_free_ char *id = mascri_image_rootfs_image(c->store, argv[1], &err);
    r = id ? 0 : -1;
    if (id)
      printf("%s\n", id);
  } else if (argc == 3 && strcmp(argv[0], "user") == 0) {
    r = print_user(c, argv[1], argv[2], &err);
  } else {
    fprintf(stderr, "usage: mascri image rootfs create ID IMAGE | mount ID [TARGET] | "
                    "umount ID | rm ID | image ID | user ID USER\n");
    return 2;
  }
  return r < 0 ? image_cli_fail(&err) : 0;
}
