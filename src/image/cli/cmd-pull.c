/* `mascri image pull REF`: a progress line per layer on a terminal, plain lines otherwise. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "image/cli/image-cli-internal.h"
#include "image/pull-status.h"

struct progress {
  pthread_mutex_t lock;
  bool tty;
  unsigned n_layers;
  unsigned done;
  uint64_t bytes;
};

static void short_digest(const char *d, char out[20])
{
  const char *c = d ? strchr(d, ':') : NULL;
  snprintf(out, 20, "%.12s", c ? c + 1 : (d ? d : "?"));
}

static void on_progress(void *data, const struct mascri_pull_progress *p)
{
  struct progress *pr = data;
  char sd[20];
  short_digest(p->digest, sd);
  pthread_mutex_lock(&pr->lock);
  switch (p->event) {
  case MASCRI_PULL_RESOLVED:
    pr->n_layers = p->n_layers;
    printf("resolved: %u layer%s\n", p->n_layers, p->n_layers == 1 ? "" : "s");
    break;
  case MASCRI_PULL_LAYER_EXISTS:
  case MASCRI_PULL_LAYER_DONE:
    pr->done++;
    if (pr->tty)
      printf("\r\033[K");
    printf("%s: %s (%u/%u)\n", sd,
           p->event == MASCRI_PULL_LAYER_EXISTS ? "already present" : "done", pr->done,
           pr->n_layers);
    break;
  case MASCRI_PULL_LAYER_PROGRESS:
    if (pr->tty)
      printf("\r\033[K%s: %.1f / %.1f MB", sd, p->done / 1e6, p->total / 1e6);
    break;
  case MASCRI_PULL_LAYER_RETRY:
    printf("%s%s: retrying\n", pr->tty ? "\r\033[K" : "", sd);
    break;
  case MASCRI_PULL_DONE:
    break;
  }
  fflush(stdout);
  pthread_mutex_unlock(&pr->lock);
}

struct pull_job {
  struct image_cli *c;
  const struct mascri_pull_options *o;
  const char *ref;
  char *id;
  mascri_error_t err;
};

static void *pull_thread(void *arg)
{
  struct pull_job *j = arg;
  mascri_image_pull(j->c->store, j->ref, j->o, &j->id, &j->err);
  return NULL;
}

struct canceller {
  sigset_t set;
  volatile int cancel;
  int signo;
};

/* SIGINT/SIGTERM (blocked in every thread) cancel the pulls cleanly; SIGUSR1 ends the watch. */
static void *watch_signals(void *arg)
{
  struct canceller *k = arg;
  int sig = 0;
  while (sigwait(&k->set, &sig) == 0 && sig != SIGUSR1) {
    k->signo = sig;
    k->cancel = 1;
  }
  return NULL;
}

static const char *auth_field(yajl_val doc, const char *key, bool *bad)
{
  yajl_val v = mascri_json_get(doc, key);
  if (v && !YAJL_IS_STRING(v))
    *bad = true;
  return v && YAJL_IS_STRING(v) && YAJL_GET_STRING(v)[0] ? YAJL_GET_STRING(v) : NULL;
}

/* --auth-stdin: {"username", "password", "auth", "identity_token", "registry_token"} (any
 * may be missing) replace what the command line gave. */
static int read_auth(struct image_cli *c, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  bool bad = false;
  if (mascri_read_all(STDIN_FILENO, &buf, &len, err) < 0 ||
      mascri_json_parse(buf, len, "credentials on stdin", &c->auth_doc, err) < 0)
    return mascri_error_wrap(err, "--auth-stdin");
  yajl_val d = c->auth_doc;
  c->auth = (struct mascri_registry_auth){
      .username = auth_field(d, "username", &bad),
      .password = auth_field(d, "password", &bad),
      .auth = auth_field(d, "auth", &bad),
      .identity_token = auth_field(d, "identity_token", &bad),
      .registry_token = auth_field(d, "registry_token", &bad),
  };
  if (bad || !YAJL_IS_OBJECT(d))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "--auth-stdin: expected a JSON object of strings");
  return 0;
}

static void report_ok(struct image_cli *c, const char *id)
{
  if (c->sync_fd < 0) {
    printf("%s\n", id);
    return;
  }
  _cleanup_free_ char *line = mascri_pull_status_ok(id);
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_write_all(c->sync_fd, line, strlen(line), &err) < 0)
    fprintf(stderr, "mascri image: status: %s\n", mascri_error_message(&err));
}

/* Several references are pulled at once, in threads sharing the store (layers they have in
 * common are fetched once); ids are printed in the order given. */
int image_cmd_pull(struct image_cli *c, int argc, char **argv)
{
  if (argc < 1 || (c->sync_fd >= 0 && argc != 1)) {
    fprintf(stderr, "usage: mascri image pull REF... (one REF with --sync-fd)\n");
    return 2;
  }
  mascri_error_t aerr = NULL;
  if (c->auth_stdin && read_auth(c, &aerr) < 0)
    return image_cli_fail_sync(c, &aerr);
  if (c->sync_fd >= 0)
    c->quiet = true;
  struct progress pr = {.tty = isatty(STDOUT_FILENO)};
  pthread_mutex_init(&pr.lock, NULL);
  struct canceller k = {0};
  sigemptyset(&k.set);
  sigaddset(&k.set, SIGINT);
  sigaddset(&k.set, SIGTERM);
  sigaddset(&k.set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &k.set, NULL);
  pthread_t watcher;
  bool watching = pthread_create(&watcher, NULL, watch_signals, &k) == 0;
  struct mascri_pull_options o = {
      .auth = &c->auth,
      .config = &c->config,
      .progress = c->quiet ? NULL : on_progress,
      .progress_data = &pr,
      .platform = c->platform,
      .cancel = &k.cancel,
  };
  struct pull_job *jobs = xcalloc(argc, sizeof(*jobs));
  pthread_t *th = xcalloc(argc, sizeof(*th));
  int status = 0;
  for (int i = 0; i < argc; i++) {
    jobs[i] = (struct pull_job){.c = c, .o = &o, .ref = argv[i]};
    if (argc == 1 || pthread_create(&th[i], NULL, pull_thread, &jobs[i]) != 0) {
      th[i] = 0;
      pull_thread(&jobs[i]);
    }
  }
  /* Every pull ends before the first id is printed: the ids come last, after all progress. */
  for (int i = 0; i < argc; i++)
    if (th[i])
      pthread_join(th[i], NULL);
  for (int i = 0; i < argc; i++) {
    if (jobs[i].id)
      report_ok(c, jobs[i].id);
    else
      status = image_cli_fail_sync(c, &jobs[i].err);
    free(jobs[i].id);
  }
  free(jobs);
  free(th);
  pthread_mutex_destroy(&pr.lock);
  if (watching) {
    pthread_kill(watcher, SIGUSR1);
    pthread_join(watcher, NULL);
  }
  pthread_sigmask(SIG_UNBLOCK, &k.set, NULL);
  return k.cancel ? 128 + k.signo : status;
}
