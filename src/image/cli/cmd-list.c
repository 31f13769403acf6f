/* `mascri image ls` and `mascri image inspect`. */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "image/cli/image-cli-internal.h"
#include "image/info-json.h"

static void human_size(uint64_t b, char out[32])
{
  if (b >= 1000 * 1000)
    snprintf(out, 32, "%.1fMB", b / 1e6);
  else
    snprintf(out, 32, "%.1fkB", b / 1e3);
}

static void print_row(const struct mascri_image_info *i)
{
  char size[32];
  human_size(i->size, size);
  const char *hex = strchr(i->id, ':') ? strchr(i->id, ':') + 1 : i->id;
  if (!i->repo_tags[0]) {
    printf("%-60s %-16s %-13.13s %s\n", "<none>", "<none>", hex, size);
    return;
  }
  for (char **t = i->repo_tags; *t; t++) {
    const char *colon = strrchr(*t, ':');
    _cleanup_free_ char *repo = xstrndup(*t, colon - *t);
    printf("%-60s %-16s %-13.13s %s\n", repo, colon + 1, hex, size);
  }
}

int image_cmd_list(struct image_cli *c, int argc, char **argv)
{
  struct mascri_image_info **list = NULL;
  size_t n = 0;
  mascri_error_t err = NULL;
  if (mascri_image_list(c->store, &list, &n, &err) < 0)
    return image_cli_fail(&err);
  if (!c->quiet)
    printf("%-60s %-16s %-13s %s\n", "IMAGE", "TAG", "IMAGE ID", "SIZE");
  for (size_t i = 0; i < n; i++) {
    if (c->quiet)
      printf("%s\n", list[i]->id);
    else
      print_row(list[i]);
  }
  mascri_image_info_list_free(list, n);
  return 0;
}

static void gen_info(yajl_gen g, const struct mascri_image_info *i)
{
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "id", i->id);
  mascri_json_gen_kv_strv(g, "repoTags", i->repo_tags);
  mascri_json_gen_kv_strv(g, "repoDigests", i->repo_digests);
  mascri_json_gen_kv_uint(g, "size", i->size);
  mascri_image_info_gen_config(g, i);
  mascri_json_gen_kv_strv(g, "layers", i->layers);
  yajl_gen_map_close(g);
}

int image_cmd_inspect(struct image_cli *c, int argc, char **argv)
{
  if (argc < 1) {
    fprintf(stderr, "usage: mascri image inspect NAME...\n");
    return 2;
  }
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(true);
  yajl_gen_array_open(g);
  for (int k = 0; k < argc; k++) {
    struct mascri_image_info *i = NULL;
    mascri_error_t err = NULL;
    if (mascri_image_lookup(c->store, argv[k], &i, &err) < 0)
      return image_cli_fail(&err);
    gen_info(g, i);
    mascri_image_info_free(i);
  }
  yajl_gen_array_close(g);
  size_t len;
  _cleanup_free_ char *out = mascri_json_gen_take(g, &len);
  fwrite(out, 1, len, stdout);
  putchar('\n');
  return 0;
}

int image_cmd_fsinfo(struct image_cli *c, int argc, char **argv)
{
  struct mascri_image_fs_usage u;
  mascri_error_t err = NULL;
  if (mascri_image_fs_usage(c->store, &u, &err) < 0)
    return image_cli_fail(&err);
  printf("%s %llu %llu\n", u.mountpoint, (unsigned long long)u.used_bytes,
         (unsigned long long)u.inodes_used);
  mascri_image_fs_usage_clear(&u);
  return 0;
}
