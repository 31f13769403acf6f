/* Shared pieces of the `mascri image` subcommands. */
#ifndef MASCRI_IMAGE_CLI_INTERNAL_H
#define MASCRI_IMAGE_CLI_INTERNAL_H

#include <stdbool.h>

#include "common/json.h"
#include "image/image.h"

struct image_cli {
  const char *root;
  bool quiet;
  bool force;
  bool json;
  const char *output;
  const char *platform;
  struct mascri_registry_auth auth;
  struct mascri_registry_config config;
  struct mascri_registry_host *hosts;
  const char *registries_config;
  struct mascri_registry_config *file_config;
  size_t n_cli_hosts_owned; /* hosts[0..n) have mirrors arrays allocated by the CLI */
  mascri_image_store_t *store;
  int sync_fd;       /* --sync-fd: mascrid's status pipe (pull), -1 when not given */
  bool auth_stdin;   /* --auth-stdin: credentials as JSON on stdin, never in argv */
  yajl_val auth_doc; /* what they were read from (the auth strings point into it) */
  uint64_t max_layer_bytes, max_layer_entries; /* 0: the store's defaults */
};

/* Each returns the exit status; argv holds the operands only. */
int image_cmd_pull(struct image_cli *c, int argc, char **argv);
int image_cmd_list(struct image_cli *c, int argc, char **argv);
int image_cmd_fsinfo(struct image_cli *c, int argc, char **argv);
int image_cmd_inspect(struct image_cli *c, int argc, char **argv);
int image_cmd_rm(struct image_cli *c, int argc, char **argv);
int image_cmd_tag(struct image_cli *c, int argc, char **argv);
int image_cmd_prune(struct image_cli *c, int argc, char **argv);
int image_cmd_import(struct image_cli *c, int argc, char **argv);
int image_cmd_save(struct image_cli *c, int argc, char **argv);
int image_cmd_rootfs(struct image_cli *c, int argc, char **argv);

/* Prints "mascri image: <message>" to stderr, releases err, returns 1. With --sync-fd the
 * error goes to mascrid as a status line (image/pull-status.h) too. */
int image_cli_fail(mascri_error_t *err);
int image_cli_fail_sync(struct image_cli *c, mascri_error_t *err);

#endif
