/* The remotecommand protocol (Exec and Attach) over SPDY streams or WebSocket channels:
 * waits for the streams the request expects (creation timeout), starts the process (or
 * attaches), pumps stdin/stdout/stderr with backpressure, applies resize messages, and
 * ends with the status on the error stream: v4+ a JSON metav1.Status (Success, or Failure
 * with reason NonZeroExitCode and the code in details.causes), v1-v3 the error text. */
#include "common/clock.h"
#include "cri/stream-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/stream.h"

#define IO_CHUNK (32 * 1024)
/* Stdin bytes queued towards the process before the client is no longer read. */
#define STDIN_HIGH (256 * 1024)
/* After the process exited, how long output still open (held by a background child) is
 * drained before the status is sent anyway. */
#define DRAIN_MS 2000
#define MAX_RESIZE_BUF 4096

struct exec_s;

struct fd_watch {
  struct ss_watch w;
  struct exec_s *s;
  int ch;
  int fd;
  bool eof;
};

struct exec_s {
  struct ss_conn *c;
  int version;
  bool want[SS_NCHAN], have[SS_NCHAN];
  bool started, finished;
  bool starting, orphan; /* a start job runs; the connection went away meanwhile */
  uint64_t deadline_ms;
  struct mascri_stream_proc *proc;
  struct fd_watch out, err, in, done;
  struct mascri_buf stdin_buf;
  bool stdin_fin, stdin_closed;
  bool exited;
  int exit_code;
  uint64_t exit_ms;
  struct mascri_buf resize_buf;
  int pending_w, pending_h;
};

static struct exec_s *exec_of(struct ss_conn *c)
{
  return c->proto_data;
}

/* ---- status ---- */

static char *status_json(const char *status, const char *message, const char *reason, int exit_code,
                         int http_code)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_key(g, "metadata");
  yajl_gen_map_open(g);
  yajl_gen_map_close(g);
  mascri_json_gen_kv_string(g, "status", status);
  if (message)
    mascri_json_gen_kv_string(g, "message", message);
  if (reason)
    mascri_json_gen_kv_string(g, "reason", reason);
  if (reason) {
    mascri_json_gen_key(g, "details");
    yajl_gen_map_open(g);
    mascri_json_gen_key(g, "causes");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    if (exit_code >= 0) {
      char code[16];
      snprintf(code, sizeof(code), "%d", exit_code);
      mascri_json_gen_kv_string(g, "reason", "ExitCode");
      mascri_json_gen_kv_string(g, "message", code);
    } else {
      mascri_json_gen_kv_string(g, "message", message);
    }
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
  }
  if (http_code)
    mascri_json_gen_kv_int(g, "code", http_code);
  yajl_gen_map_close(g);
  const unsigned char *buf;
  size_t len;
  yajl_gen_get_buf(g, &buf, &len);
  return xstrndup((const char *)buf, len);
}

/* Writes the outcome on the error stream: an error message, or the exit code. */
static void write_status(struct exec_s *s, const char *error, int exit_code)
{
  _cleanup_free_ char *msg = NULL;
  if (error) {
    msg =
        s->version >= 4 ? status_json("Failure", error, "InternalError", -1, 500) : xstrdup(error);
  } else if (exit_code > 0) {
    _cleanup_free_ char *text = xasprintf(
        "command terminated with non-zero exit code: error executing command, exit code %d",
        exit_code);
    msg = s->version >= 4 ? status_json("Failure", text, "NonZeroExitCode", exit_code, 0)
                          : TAKE_PTR(text);
  } else if (s->version >= 4) {
    msg = status_json("Success", NULL, NULL, -1, 0);
  }
  if (msg && s->have[SS_ERROR])
    ss_send(s->c, SS_ERROR, (const uint8_t *)msg, strlen(msg));
}

/* ---- fds ---- */

static void unwatch(struct exec_s *s, struct fd_watch *f)
{
  if (f->fd >= 0) {
    ss_unwatch_fd(s->c->srv, f->fd);
    f->fd = -1;
  }
}

static void finish(struct exec_s *s, const char *error)
{
  if (s->finished)
    return;
  s->finished = true;
  unwatch(s, &s->out);
  unwatch(s, &s->err);
  unwatch(s, &s->in);
  unwatch(s, &s->done);
  int code = s->exited ? s->exit_code : 0;
  if (s->c->req->kind == MASCRI_STREAM_ATTACH)
    code = 0; /* attach ends without an exit status of its own */
  write_status(s, error, code);
  for (int ch = 0; ch < SS_NCHAN; ch++)
    if (s->have[ch])
      ss_close_chan(s->c, ch);
  ss_finish(s->c);
}

static void check_done(struct exec_s *s)
{
  if (!s->exited || s->finished)
    return;
  bool outputs_done = s->out.fd < 0 && s->err.fd < 0;
  if (outputs_done || mascri_clock_monotonic_ms() - s->exit_ms >= DRAIN_MS)
    finish(s, NULL);
}

static void set_interest(struct exec_s *s, struct fd_watch *f, uint32_t ev)
{
  if (f->fd >= 0)
    ss_watch_fd(s->c->srv, f->fd, &f->w, ev);
}

/* Output of the process towards the client, as far as the transport takes it. */
static void pump_output(struct exec_s *s, struct fd_watch *f)
{
  uint8_t buf[IO_CHUNK];
  while (f->fd >= 0 && !s->c->dead) {
    size_t room = ss_writable(s->c, f->ch);
    if (room == 0) {
      set_interest(s, f, 0); /* resumed by on_writable */
      return;
    }
    size_t want = room < sizeof(buf) ? room : sizeof(buf);
    ssize_t n = read(f->fd, buf, want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      set_interest(s, f, EPOLLIN);
      return;
    }
    if (n <= 0) { /* EOF, or EIO from a pty whose other side closed */
      unwatch(s, f);
      ss_close_chan(s->c, f->ch);
      check_done(s);
      return;
    }
    ss_send(s->c, f->ch, buf, (size_t)n);
    if (!ss_room(s->c))
      continue; /* ss_writable answers 0 next: the fd goes silent */
  }
}

static void flush_stdin(struct exec_s *s)
{
  struct mascri_buf *b = &s->stdin_buf;
  while (s->in.fd >= 0 && mascri_buf_size(b) > 0) {
    ssize_t n = write(s->in.fd, mascri_buf_head(b), mascri_buf_size(b));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      set_interest(s, &s->in, EPOLLOUT);
      return;
    }
    if (n < 0) { /* the process closed its stdin: the rest is dropped */
      ss_consumed(s->c, SS_STDIN, mascri_buf_size(b));
      mascri_buf_consume(b, mascri_buf_size(b));
      unwatch(s, &s->in);
      s->stdin_closed = true;
      break;
    }
    mascri_buf_consume(b, (size_t)n);
    ss_consumed(s->c, SS_STDIN, (size_t)n);
  }
  if (s->in.fd >= 0)
    set_interest(s, &s->in, 0);
  if (mascri_buf_size(b) < STDIN_HIGH)
    ss_pause_read(s->c, false);
  if (mascri_buf_size(b) == 0 && s->stdin_fin && !s->stdin_closed && s->proc) {
    unwatch(s, &s->in);
    mascri_stream_proc_close_stdin(s->proc);
    s->stdin_closed = true;
  }
}

static void on_fd(struct ss_watch *w, uint32_t events)
{
  struct fd_watch *f = (struct fd_watch *)w;
  struct exec_s *s = f->s;
  if (s->c->dead || s->finished)
    return;
  if (f == &s->in) {
    flush_stdin(s);
  } else if (f == &s->done) {
    int code;
    if (mascri_stream_proc_result(s->proc, &code) == 1) {
      unwatch(s, &s->done);
      s->exited = true;
      s->exit_code = code;
      s->exit_ms = mascri_clock_monotonic_ms();
      /* Output written just before the exit is still in the pipes: read it first. */
      pump_output(s, &s->out);
      pump_output(s, &s->err);
      check_done(s);
    }
  } else {
    pump_output(s, f);
  }
  ss_flush(s->c);
}

/* ---- start ---- */

static void apply_resize(struct exec_s *s)
{
  if (s->proc == NULL || s->pending_w < 0)
    return;
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_stream_proc_resize(s->proc, (unsigned short)s->pending_w, (unsigned short)s->pending_h,
                                &err) < 0)
    log_debug("streaming: resize: %s", mascri_error_message(&err));
  s->pending_w = -1;
}

static void watch_init(struct exec_s *s, struct fd_watch *f, int ch, int fd, uint32_t ev)
{
  f->w.fn = on_fd;
  f->s = s;
  f->ch = ch;
  f->fd = fd;
  if (fd >= 0)
    ss_watch_fd(s->c->srv, fd, &f->w, ev);
}

/* Starting the process (or attaching) may take a while (a fork into the container's
 * namespaces, the monitor's socket): it runs on a job thread, never on the loop. */
struct start_job {
  struct ss_job base;
  struct exec_s *s;
  struct mascri_containers *ctrs;
  mascri_stream_kind_t kind;
  char *id;
  char **cmd;
  struct mascri_stream_opts o;
  struct mascri_stream_proc *proc;
  int rc;
  mascri_error_t err;
};

static void start_run(struct ss_job *j)
{
  struct start_job *sj = (struct start_job *)j;
  sj->rc =
      sj->kind == MASCRI_STREAM_EXEC
          ? mascri_containers_exec_stream(sj->ctrs, sj->id, sj->cmd, &sj->o, &sj->proc, &sj->err)
          : mascri_containers_attach(sj->ctrs, sj->id, &sj->o, &sj->proc, &sj->err);
}

static void start_done(struct ss_job *j)
{
  struct start_job *sj = (struct start_job *)j;
  struct exec_s *s = sj->s;
  s->starting = false;
  if (s->orphan) { /* the client went away meanwhile */
    if (sj->proc)
      mascri_stream_proc_free(sj->proc);
    free(s);
  } else if (sj->rc < 0) {
    log_info("streaming: %s %s: %s", sj->kind == MASCRI_STREAM_EXEC ? "exec in" : "attach to",
             sj->id, mascri_error_message(&sj->err));
    finish(s, mascri_error_message(&sj->err));
    ss_flush(s->c);
  } else {
    struct mascri_stream_req *r = s->c->req;
    s->proc = sj->proc;
    watch_init(s, &s->out, SS_STDOUT, s->proc->stdout_fd, EPOLLIN);
    watch_init(s, &s->err, SS_STDERR, r->tty ? -1 : s->proc->stderr_fd, EPOLLIN);
    watch_init(s, &s->in, SS_STDIN, r->in ? s->proc->stdin_fd : -1, 0);
    watch_init(s, &s->done, -1, s->proc->done_fd, EPOLLIN);
    apply_resize(s);
    flush_stdin(s);
    ss_flush(s->c);
  }
  mascri_error_release(&sj->err);
  free(sj->id);
  mascri_strv_free(sj->cmd);
  free(sj);
}

static void start(struct exec_s *s)
{
  struct mascri_stream_req *r = s->c->req;
  struct start_job *sj = xmalloc0(sizeof(*sj));
  sj->base.run = start_run;
  sj->base.done = start_done;
  sj->s = s;
  sj->ctrs = s->c->srv->ctrs;
  sj->kind = r->kind;
  sj->id = xstrdup(r->id);
  sj->cmd = r->cmd ? mascri_strv_dup(r->cmd) : NULL;
  sj->o = (struct mascri_stream_opts){.tty = r->tty, .in = r->in, .out = r->out, .err = r->err};
  s->started = true;
  s->starting = true;
  if (!ss_job_start(s->c->srv, &sj->base)) {
    s->starting = false;
    free(sj->id);
    mascri_strv_free(sj->cmd);
    free(sj);
    finish(s, "cannot start a thread for the stream");
  }
}

static bool all_streams_here(struct exec_s *s)
{
  for (int ch = 0; ch < SS_NCHAN; ch++)
    if (s->want[ch] && !s->have[ch])
      return false;
  return true;
}

void ss_exec_begin(struct ss_conn *c, int version)
{
  struct exec_s *s = xmalloc0(sizeof(*s));
  struct mascri_stream_req *r = c->req;
  s->c = c;
  s->version = version;
  s->pending_w = -1;
  s->out.fd = s->err.fd = s->in.fd = s->done.fd = -1;
  s->want[SS_ERROR] = true;
  s->want[SS_STDIN] = r->in;
  s->want[SS_STDOUT] = r->out;
  s->want[SS_STDERR] = r->err && !r->tty;
  s->want[SS_RESIZE] = r->tty && version >= 3;
  s->deadline_ms = mascri_clock_monotonic_ms() + c->srv->cfg.creation_timeout_ms;
  c->proto = &ss_exec_proto;
  c->proto_data = s;
  if (c->ws) {
    /* WebSocket channels exist from the start. */
    for (int ch = 0; ch < SS_NCHAN; ch++)
      s->have[ch] = s->want[ch] || ch == SS_RESIZE;
    start(s);
  }
}

/* ---- protocol callbacks ---- */

static int exec_spdy_stream(struct ss_conn *c, uint32_t id, const struct mascri_spdy_headers *h)
{
  static const char *const types[SS_NCHAN] = {"stdin", "stdout", "stderr", "error", "resize"};
  struct exec_s *s = exec_of(c);
  const char *type = mascri_spdy_headers_get(h, "streamtype");
  for (int ch = 0; type && ch < SS_NCHAN; ch++) {
    if (strcmp(type, types[ch]) != 0)
      continue;
    if (s->have[ch])
      return -1; /* a second stream of a type */
    s->have[ch] = true;
    ss_bind_chan(c, ch, id);
    return ch;
  }
  return -1;
}

static void exec_opened(struct ss_conn *c, int ch)
{
  struct exec_s *s = exec_of(c);
  if (!s->started && all_streams_here(s))
    start(s);
}

static void parse_resizes(struct exec_s *s)
{
  struct mascri_buf *b = &s->resize_buf;
  for (;;) {
    const char *p = (const char *)mascri_buf_head(b);
    const char *end = memchr(p, '}', mascri_buf_size(b));
    if (end == NULL)
      break;
    size_t n = (size_t)(end - p) + 1;
    _cleanup_json_ yajl_val v = NULL;
    _cleanup_error_ mascri_error_t err = NULL;
    int64_t w, h;
    if (mascri_json_parse(p, n, "resize", &v, &err) == 0 &&
        mascri_json_get_int64(v, "Width", &w) == 1 && mascri_json_get_int64(v, "Height", &h) == 1 &&
        w >= 0 && w <= 65535 && h >= 0 && h <= 65535) {
      s->pending_w = (int)w;
      s->pending_h = (int)h;
      apply_resize(s);
    }
    mascri_buf_consume(b, n);
  }
  if (mascri_buf_size(b) > MAX_RESIZE_BUF)
    mascri_buf_consume(b, mascri_buf_size(b));
}

static void exec_data(struct ss_conn *c, int ch, const uint8_t *p, size_t n)
{
  struct exec_s *s = exec_of(c);
  if (ch == SS_STDIN && !s->stdin_closed && !s->stdin_fin && !s->finished) {
    mascri_buf_append(&s->stdin_buf, p, n);
    if (mascri_buf_size(&s->stdin_buf) >= STDIN_HIGH)
      ss_pause_read(c, true);
    if (s->proc)
      flush_stdin(s);
    return;
  }
  ss_consumed(c, ch, n);
  if (ch == SS_RESIZE) {
    mascri_buf_append(&s->resize_buf, p, n);
    parse_resizes(s);
  }
}

static void exec_fin(struct ss_conn *c, int ch, bool reset)
{
  struct exec_s *s = exec_of(c);
  if (ch == SS_STDIN) {
    s->stdin_fin = true;
    if (s->proc)
      flush_stdin(s);
  }
  /* A client resetting its output streams is gone: the connection's end frees all. */
  if (reset && (ch == SS_STDOUT || ch == SS_ERROR))
    ss_conn_close(c);
}

static void exec_writable(struct ss_conn *c)
{
  struct exec_s *s = exec_of(c);
  if (!s->started || s->finished)
    return;
  pump_output(s, &s->out);
  pump_output(s, &s->err);
}

static void exec_tick(struct ss_conn *c, uint64_t now)
{
  struct exec_s *s = exec_of(c);
  if (!s->started && now >= s->deadline_ms) {
    finish(s, "timed out waiting for client to create streams");
    return;
  }
  check_done(s);
}

static void exec_free(struct ss_conn *c)
{
  struct exec_s *s = exec_of(c);
  if (s == NULL)
    return;
  unwatch(s, &s->out);
  unwatch(s, &s->err);
  unwatch(s, &s->in);
  unwatch(s, &s->done);
  if (s->proc)
    mascri_stream_proc_free(s->proc);
  mascri_buf_free(&s->stdin_buf);
  mascri_buf_free(&s->resize_buf);
  c->proto_data = NULL;
  if (s->starting) {
    s->orphan = true; /* start_done frees it */
    return;
  }
  free(s);
}

const struct ss_proto ss_exec_proto = {
    .spdy_stream = exec_spdy_stream,
    .opened = exec_opened,
    .data = exec_data,
    .fin = exec_fin,
    .writable = exec_writable,
    .tick = exec_tick,
    .free = exec_free,
};
