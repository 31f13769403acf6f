/* `mascri image import FILE|-` and `mascri image save -o FILE NAME...`. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "image/cli/image-cli-internal.h"

int image_cmd_import(struct image_cli *c, int argc, char **argv)
{
  mascri_error_t err = NULL;
  if (argc != 1) {
    fprintf(stderr, "usage: mascri image import FILE|-\n");
    return 2;
  }
  _cleanup_close_ int fd =
      strcmp(argv[0], "-") == 0 ? dup(STDIN_FILENO) : open(argv[0], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror(argv[0]);
    return 1;
  }
  _cleanup_strv_ char **ids = NULL;
  if (mascri_image_import(c->store, fd, &ids, &err) < 0)
    return image_cli_fail(&err);
  for (char **i = ids; *i; i++)
    printf("%s\n", *i);
  return 0;
}

int image_cmd_save(struct image_cli *c, int argc, char **argv)
{
  mascri_error_t err = NULL;
  if (argc < 1) {
    fprintf(stderr, "usage: mascri image save -o FILE NAME...\n");
    return 2;
  }
  int fd = STDOUT_FILENO;
  _cleanup_close_ int ofd = -1;
  if (c->output && strcmp(c->output, "-") != 0) {
    ofd = open(c->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ofd < 0) {
      perror(c->output);
      return 1;
    }
    fd = ofd;
  } else if (isatty(STDOUT_FILENO)) {
    fprintf(stderr, "mascri image save: refusing to write a tarball to a terminal (use -o)\n");
    return 2;
  }
  if (mascri_image_save(c->store, (const char *const *)argv, fd, &err) < 0) {
    if (ofd >= 0)
      unlink(c->output);
    return image_cli_fail(&err);
  }
  return 0;
}
