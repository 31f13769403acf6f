#include "image/pull-layer.h"

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/store-internal.h"
#include "image/unpack.h"

#define MAX_ATTEMPTS 4
#define PROGRESS_STEP (1u << 20)

struct download {
  struct pull_layers *p;
  const struct pull_layer_job *job;
  int fd; /* write end; closed when the download ends */
  mascri_digester_t *digest;
  uint64_t bytes;
  uint64_t reported;
  bool delivered;
  bool too_long;
  bool cancelled;
  int result;
  mascri_error_t err;
};

static void report(struct pull_layers *p, enum mascri_pull_event ev, const char *digest,
                   uint64_t done, uint64_t total)
{
  if (!p->opts || !p->opts->progress)
    return;
  struct mascri_pull_progress pr = {ev, digest, done, total, (unsigned)p->n_jobs};
  p->opts->progress(p->opts->progress_data, &pr);
}

static bool is_cancelled(const struct pull_layers *p)
{
  return p->opts && p->opts->cancel && *p->opts->cancel;
}

static int sink(void *data, const void *buf, size_t len)
{
  struct download *d = data;
  const char *b = buf;
  if (is_cancelled(d->p)) {
    d->cancelled = true;
    return -1;
  }
  mascri_digester_update(d->digest, buf, len);
  d->bytes += len;
  if (d->bytes > (uint64_t)d->job->desc->size) {
    d->too_long = true; /* more than the manifest said: refuse early */
    return -1;
  }
  while (len > 0) {
    ssize_t n = send(d->fd, b, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    b += n, len -= n;
  }
  if (d->bytes - d->reported >= PROGRESS_STEP) {
    d->reported = d->bytes;
    report(d->p, MASCRI_PULL_LAYER_PROGRESS, d->job->desc->digest, d->bytes, d->job->desc->size);
  }
  return 0;
}

/* A transfer cut in the middle is resumed where it stopped (Range), so the unpacker on the
 * other end of the socket just sees a pause. */
static void *download_main(void *arg)
{
  struct download *d = arg;
  for (int attempt = 0;; attempt++) {
    bool delivered = false;
    mascri_error_release(&d->err);
    d->result = mascri_registry_stream_blob(d->p->client, d->job->desc->digest, d->bytes, sink, d,
                                            &delivered, &d->err);
    d->delivered = d->delivered || delivered;
    if (d->result < 0 && mascri_error_kind(&d->err) == MASCRI_ERR_CANCELLED)
      d->cancelled = true;
    if (d->result == 0 || d->too_long || d->bytes == 0 || attempt + 1 >= MAX_ATTEMPTS ||
        mascri_error_kind(&d->err) != MASCRI_ERR_UNAVAILABLE)
      break;
    log_warning("%s; resuming at byte %llu", mascri_error_message(&d->err),
                (unsigned long long)d->bytes);
    report(d->p, MASCRI_PULL_LAYER_RETRY, d->job->desc->digest, d->bytes, d->job->desc->size);
    struct timespec ts = {0, (250L << attempt) * 1000000L};
    nanosleep(&ts, NULL);
  }
  shutdown(d->fd, SHUT_WR);
  return NULL;
}

/* After both sides finished. Integrity first: content that does not match its digest is
 * reported as such even when it also failed to unpack. */
static int verify_download(struct download *d, mascri_error_t *err)
{
  const struct mascri_descriptor *desc = d->job->desc;
  if (d->cancelled) {
    mascri_error_release(&d->err);
    return mascri_make_error_kind(err, MASCRI_ERR_CANCELLED, 0, "layer %s: pull cancelled",
                                  desc->digest);
  }
  if (d->too_long)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "layer %s: digest mismatch (more than the %lld bytes announced)",
                                  desc->digest, (long long)desc->size);
  if (d->result < 0) {
    mascri_error_move(err, &d->err);
    return mascri_error_wrap(err, "layer %s", desc->digest);
  }
  _cleanup_free_ char *got = mascri_digester_finish(d->digest);
  if (strcmp(got, desc->digest) != 0 || d->bytes != (uint64_t)desc->size)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "layer %s: digest mismatch (received %s, %llu bytes)",
                                  desc->digest, got, (unsigned long long)d->bytes);
  return 0;
}

static int verify(struct download *d, int unpack_result, mascri_error_t *uerr,
                  const struct mascri_unpack_stats *st, mascri_error_t *err)
{
  bool transport_failed = d->result < 0 && mascri_error_kind(&d->err) == MASCRI_ERR_UNAVAILABLE;
  /* the download stopped because the unpacker gave up: the unpacker's reason counts */
  if (unpack_result < 0 && d->result < 0 && !transport_failed && !d->too_long && !d->cancelled) {
    mascri_error_move(err, uerr);
    return mascri_error_wrap(err, "layer %s", d->job->desc->digest);
  }
  if (verify_download(d, err) < 0)
    return -1;
  if (unpack_result < 0) {
    mascri_error_move(err, uerr);
    return mascri_error_wrap(err, "layer %s", d->job->desc->digest);
  }
  if (strcmp(st->diff_id, d->job->diff_id) != 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "layer %s: uncompressed digest %s does not match the config's "
                                  "diff ID %s",
                                  d->job->desc->digest, st->diff_id, d->job->diff_id);
  return 0;
}

static int fetch_once(struct pull_layers *p, const struct pull_layer_job *job, mascri_error_t *err)
{
  int sv[2];
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int diff_fd = -1;
  if (layer_tmp_create(p->store, &tmp, &diff_fd, err) < 0)
    return -1;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    layer_tmp_discard(p->store, tmp);
    return mascri_make_error(err, errno, "socketpair");
  }
  struct download d = {.p = p, .job = job, .fd = sv[1], .digest = mascri_digester_new()};
  pthread_t th;
  struct mascri_unpack_stats st = {.max_bytes = p->store->layer_max_bytes,
                                   .max_entries = p->store->layer_max_entries};
  int r = pthread_create(&th, NULL, download_main, &d);
  if (r != 0) {
    close(sv[0]);
    close(sv[1]);
    mascri_digester_free(d.digest);
    layer_tmp_discard(p->store, tmp);
    return mascri_make_error(err, r, "start download thread");
  }
  _cleanup_error_ mascri_error_t uerr = NULL;
  int ur = mascri_layer_unpack(sv[0], diff_fd, &st, &uerr);
  shutdown(sv[0], SHUT_RDWR); /* the unpacker drained the stream: this only unblocks */
  pthread_join(th, NULL);
  close(sv[0]);
  close(sv[1]);
  r = verify(&d, ur, &uerr, &st, err);
  if (r == 0)
    r = layer_commit(p->store, tmp, diff_fd, job->chain_id, job->diff_id, st.bytes, st.entries,
                     err);
  if (r < 0)
    layer_tmp_discard(p->store, tmp);
  mascri_error_release(&d.err);
  mascri_digester_free(d.digest);
  free(st.diff_id);
  return r;
}

static int fetch_layer(struct pull_layers *p, const struct pull_layer_job *job, mascri_error_t *err)
{
  if (layer_begin(p->store, job->chain_id) == 0) {
    report(p, MASCRI_PULL_LAYER_EXISTS, job->desc->digest, job->desc->size, job->desc->size);
    return 0;
  }
  int r = -1;
  for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    mascri_error_release(err);
    r = fetch_once(p, job, err);
    if (r == 0 || mascri_error_kind(err) != MASCRI_ERR_UNAVAILABLE)
      break;
    log_warning("%s (attempt %d of %d)", mascri_error_message(err), attempt + 1, MAX_ATTEMPTS);
    report(p, MASCRI_PULL_LAYER_RETRY, job->desc->digest, 0, job->desc->size);
    struct timespec ts = {0, (250L << attempt) * 1000000L};
    if (attempt + 1 < MAX_ATTEMPTS)
      nanosleep(&ts, NULL);
  }
  layer_end(p->store, job->chain_id);
  if (r == 0)
    report(p, MASCRI_PULL_LAYER_DONE, job->desc->digest, job->desc->size, job->desc->size);
  return r;
}

struct workers {
  struct pull_layers *p;
  pthread_mutex_t lock;
  size_t next;
  mascri_error_t err; /* the first failure */
};

static void *worker_main(void *arg)
{
  struct workers *w = arg;
  for (;;) {
    pthread_mutex_lock(&w->lock);
    size_t i = w->err ? w->p->n_jobs : w->next++;
    pthread_mutex_unlock(&w->lock);
    if (i >= w->p->n_jobs)
      return NULL;
    if (is_cancelled(w->p)) {
      pthread_mutex_lock(&w->lock);
      if (!w->err)
        mascri_make_error_kind(&w->err, MASCRI_ERR_CANCELLED, 0, "pull cancelled");
      pthread_mutex_unlock(&w->lock);
      return NULL;
    }
    mascri_error_t e = NULL;
    if (fetch_layer(w->p, &w->p->jobs[i], &e) < 0) {
      pthread_mutex_lock(&w->lock);
      if (!w->err)
        mascri_error_move(&w->err, &e);
      pthread_mutex_unlock(&w->lock);
    }
    mascri_error_release(&e);
  }
}

int mascri_pull_layers(struct pull_layers *p, mascri_error_t *err)
{
  struct workers w = {.p = p};
  unsigned n = p->parallel ? p->parallel : 4;
  if (n > p->n_jobs)
    n = (unsigned)p->n_jobs;
  pthread_t *th = xcalloc(n ? n : 1, sizeof(*th));
  unsigned started = 0;
  pthread_mutex_init(&w.lock, NULL);
  for (; started < n; started++)
    if (pthread_create(&th[started], NULL, worker_main, &w) != 0)
      break;
  if (started == 0 && n > 0)
    worker_main(&w);
  for (unsigned i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  free(th);
  pthread_mutex_destroy(&w.lock);
  if (w.err) {
    mascri_error_move(err, &w.err);
    return -1;
  }
  return 0;
}
