/* "process" of a CRI container: command and args merged with the image's entrypoint and
 * cmd the way Docker and containerd do, environment, working directory, user and groups
 * resolved in the container's rootfs, capabilities, no_new_privs, oom_score_adj. */
#include <inttypes.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/user.h"
#include "sandbox/ctr-spec-internal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* command (else the image's entrypoint), then args (else, when command is unset, the
 * image's cmd): a command given in the CRI config replaces the image's cmd too. */
static char **build_args(const struct ctr_spec_ctx *c)
{
  const struct mascri_ctr_config *cfg = c->cfg;
  const struct mascri_image_info *img = c->in->image;
  bool has_command = cfg->command && cfg->command[0];
  char **args = NULL;
  if (has_command)
    for (size_t i = 0; cfg->command[i]; i++)
      mascri_strv_append(&args, cfg->command[i]);
  else
    for (size_t i = 0; img->entrypoint && img->entrypoint[i]; i++)
      mascri_strv_append(&args, img->entrypoint[i]);
  if (cfg->args && cfg->args[0])
    for (size_t i = 0; cfg->args[i]; i++)
      mascri_strv_append(&args, cfg->args[i]);
  else if (!has_command)
    for (size_t i = 0; img->cmd && img->cmd[i]; i++)
      mascri_strv_append(&args, img->cmd[i]);
  return args;
}

/* Sets KEY=value in env, replacing an earlier KEY. */
static void env_set(char ***env, const char *key, size_t klen, const char *kv)
{
  for (size_t i = 0; *env && (*env)[i]; i++)
    if (strncmp((*env)[i], key, klen) == 0 && (*env)[i][klen] == '=') {
      free((*env)[i]);
      (*env)[i] = xstrdup(kv);
      return;
    }
  mascri_strv_append(env, kv);
}

static bool env_has(char *const *env, const char *key)
{
  size_t klen = strlen(key);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
      return true;
  return false;
}

static int build_env(const struct ctr_spec_ctx *c, const char *home, char ***out,
                     mascri_error_t *err)
{
  _cleanup_strv_ char **env = NULL;
  const struct mascri_image_info *img = c->in->image;
  if (!env_has(img->env, "PATH"))
    mascri_strv_append(&env, DEFAULT_PATH);
  for (size_t i = 0; img->env && img->env[i]; i++) {
    const char *eq = strchr(img->env[i], '=');
    if (eq && eq != img->env[i])
      env_set(&env, img->env[i], (size_t)(eq - img->env[i]), img->env[i]);
  }
  if (c->in->pod->hostname && *c->in->pod->hostname) {
    _cleanup_free_ char *h = xasprintf("HOSTNAME=%s", c->in->pod->hostname);
    env_set(&env, "HOSTNAME", 8, h);
  }
  if (c->cfg->tty && !env_has(env, "TERM"))
    mascri_strv_append(&env, "TERM=xterm");
  for (size_t i = 0; i < c->cfg->envs.n; i++) {
    const struct mascri_kv *kv = &c->cfg->envs.v[i];
    if (!*kv->key || strchr(kv->key, '='))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "envs[%zu]: invalid variable name \"%s\"", i, kv->key);
    _cleanup_free_ char *s = xasprintf("%s=%s", kv->key, kv->value);
    env_set(&env, kv->key, strlen(kv->key), s);
  }
  if (!env_has(env, "HOME")) {
    _cleanup_free_ char *h = xasprintf("HOME=%s", home && *home ? home : "/");
    mascri_strv_append(&env, h);
  }
  *out = TAKE_PTR(env);
  return 0;
}

/* The user string to resolve: run_as_username or run_as_user, else the image's USER;
 * run_as_group (only with one of the first two: check_ids) replaces the group part. */
static char *user_spec(const struct ctr_spec_ctx *c)
{
  const struct mascri_ctr_security *sc = c->sc;
  _cleanup_free_ char *user = NULL;
  if (sc->run_as_username && *sc->run_as_username)
    user = xstrdup(sc->run_as_username);
  else if (sc->has_run_as_user)
    user = xasprintf("%" PRId64, sc->run_as_user);
  else if (c->in->image->user && *c->in->image->user)
    user = xstrdup(c->in->image->user);
  else
    user = xstrdup("");
  if (sc->has_run_as_group) {
    char *colon = strchr(user, ':');
    if (colon)
      *colon = '\0';
    return xasprintf("%s:%" PRId64, *user ? user : "0", sc->run_as_group);
  }
  return TAKE_PTR(user);
}

static int check_ids(const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  const struct mascri_ctr_security *sc = c->sc;
  if (sc->has_run_as_user && (sc->run_as_user < 0 || sc->run_as_user > UINT32_MAX - 1))
    return mascri_make_error_kind(
        err, MASCRI_ERR_INVALID_ARGUMENT, 0,
        "linux.security_context.run_as_user: %" PRId64 " is not a valid uid", sc->run_as_user);
  /* A group with the image's user would be a guess at intent: the CRI (and containerd,
   * CRI-O) refuse it. */
  if (sc->has_run_as_group && !sc->has_run_as_user &&
      !(sc->run_as_username && *sc->run_as_username))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.security_context.run_as_group is set without run_as_user "
                                  "or run_as_username");
  if (sc->has_run_as_group && (sc->run_as_group < 0 || sc->run_as_group > UINT32_MAX - 1))
    return mascri_make_error_kind(
        err, MASCRI_ERR_INVALID_ARGUMENT, 0,
        "linux.security_context.run_as_group: %" PRId64 " is not a valid gid", sc->run_as_group);
  for (size_t i = 0; i < sc->n_supplemental_groups; i++)
    if (sc->supplemental_groups[i] < 0 || sc->supplemental_groups[i] > UINT32_MAX - 1)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.security_context.supplemental_groups[%zu]: %" PRId64
                                    " is not a valid gid",
                                    i, sc->supplemental_groups[i]);
  return 0;
}

static void gen_gid_once(yajl_gen g, uint64_t gid, const uint64_t *seen, size_t n_seen)
{
  for (size_t i = 0; i < n_seen; i++)
    if (seen[i] == gid)
      return;
  yajl_gen_integer(g, (long long)gid);
}

static void gen_user(yajl_gen g, const struct ctr_spec_ctx *c, const struct mascri_image_user *u)
{
  mascri_json_gen_key(g, "user");
  yajl_gen_map_open(g);
  mascri_json_gen_kv_uint(g, "uid", u->uid);
  mascri_json_gen_kv_uint(g, "gid", u->gid);
  mascri_json_gen_key(g, "additionalGids");
  yajl_gen_array_open(g);
  size_t n_sup = c->sc->n_supplemental_groups;
  _cleanup_free_ uint64_t *seen = xcalloc(u->n_additional + n_sup + 1, sizeof(*seen));
  size_t n_seen = 0;
  seen[n_seen++] = u->gid;
  for (size_t i = 0; i < u->n_additional; i++) {
    gen_gid_once(g, u->additional_gids[i], seen, n_seen);
    seen[n_seen++] = u->additional_gids[i];
  }
  for (size_t i = 0; i < n_sup; i++) {
    gen_gid_once(g, (uint64_t)c->sc->supplemental_groups[i], seen, n_seen);
    seen[n_seen++] = (uint64_t)c->sc->supplemental_groups[i];
  }
  yajl_gen_array_close(g);
  yajl_gen_map_close(g);
}

static void gen_caps(yajl_gen g, const struct ctr_spec_ctx *c)
{
  mascri_json_gen_key(g, "capabilities");
  yajl_gen_map_open(g);
  mascri_json_gen_kv_strv(g, "bounding", c->caps);
  mascri_json_gen_kv_strv(g, "effective", c->caps);
  mascri_json_gen_kv_strv(g, "permitted", c->caps);
  mascri_json_gen_kv_strv(g, "ambient", c->sc->add_ambient_caps);
  mascri_json_gen_kv_strv(g, "inheritable", c->sc->add_ambient_caps);
  yajl_gen_map_close(g);
}

static int gen_body(yajl_gen g, const struct ctr_spec_ctx *c, char **args,
                    const struct mascri_image_user *u, mascri_error_t *err)
{
  _cleanup_strv_ char **env = NULL;
  if (build_env(c, u->home, &env, err) < 0)
    return -1;
  const char *cwd = c->cfg->working_dir && *c->cfg->working_dir ? c->cfg->working_dir
                    : c->in->image->working_dir && *c->in->image->working_dir
                        ? c->in->image->working_dir
                        : "/";
  if (cwd[0] != '/')
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "working_dir: \"%s\" is not an absolute path", cwd);
  mascri_json_gen_key(g, "process");
  yajl_gen_map_open(g);
  mascri_json_gen_kv_bool(g, "terminal", c->cfg->tty);
  gen_user(g, c, u);
  mascri_json_gen_kv_strv(g, "args", args);
  mascri_json_gen_kv_strv(g, "env", env);
  mascri_json_gen_kv_string(g, "cwd", cwd);
  gen_caps(g, c);
  mascri_json_gen_kv_bool(g, "noNewPrivileges", c->sc->no_new_privs);
  if (c->res && c->res->oom_score_adj)
    mascri_json_gen_kv_int(g, "oomScoreAdj", c->res->oom_score_adj);
  const struct mascri_security_profile *aa = &c->sc->apparmor;
  if (aa->set && aa->type == MASCRI_PROFILE_LOCALHOST && aa->localhost_ref && *aa->localhost_ref &&
      !c->privileged)
    mascri_json_gen_kv_string(g, "apparmorProfile", aa->localhost_ref);
  yajl_gen_map_close(g);
  return 0;
}

int ctr_spec_gen_process(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  _cleanup_strv_ char **args = build_args(c);
  if (!args || !args[0] || !*args[0])
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "no command specified: neither the container config nor "
                                  "the image %s gives one",
                                  c->in->image->id);
  if (check_ids(c, err) < 0)
    return -1;
  _cleanup_free_ char *spec = user_spec(c);
  struct mascri_image_user u = {0};
  if (mascri_image_resolve_user(c->in->rootfs_fd, spec, &u, err) < 0)
    return mascri_error_wrap(err, "user \"%s\" of the container", spec);
  int r = gen_body(g, c, args, &u, err);
  mascri_image_user_clear(&u);
  return r;
}
