/* The server's event loop: the listening unix socket, one nghttp2 session per connection
 * (h2.c), a signalfd for SIGTERM/SIGINT, an eventfd through which workers and publishers
 * hand finished calls and streamed messages back, and deadlines as epoll timeouts.
 * Only the loop thread touches connections and streams; workers touch their call's req,
 * resp and err, and the completion list under done_lock. */
#include "common/clock.h"
#include "cri/server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sd-listen.h"
#include "common/xalloc.h"
#include "cri/server-internal.h"

#define DEFAULT_MAX_MSG (16u << 20)
/* Responses may be larger than requests: an ExecSync answer carries up to 16 MiB of stdout
 * and 16 MiB of stderr (the CRI's cap per stream) plus framing. */
#define DEFAULT_MAX_SEND_MSG ((32u << 20) + (64u << 10))
#define DEFAULT_MAX_WORKERS 64
#define DEFAULT_FAST_WORKERS 4
#define DEFAULT_SHUTDOWN_WAIT_MS 10000
#define LISTEN_BACKLOG 128
#define MAX_EVENTS 64
#define CANCEL_WAIT_MS 3000
#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_IDLE_TIMEOUT_MS 300000
#define DEFAULT_PREFACE_TIMEOUT_MS 10000
#define DEFAULT_REQUEST_STALL_MS 60000
/* At the fd limit the pending connection stays in the backlog and the level-triggered
 * listener would wake the loop at once, forever: accepting pauses this long instead. */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_LOG_INTERVAL_MS 10000
#define TRIM_AFTER_BYTES (1u << 20)

static void wake_loop(struct mascri_server *srv)
{
  uint64_t one = 1;
  while (write(srv->event_fd, &one, sizeof(one)) < 0 && errno == EINTR)
    ;
}

/* Under done_lock. */
static void done_push(struct mascri_server *srv, struct call *call)
{
  call->done_next = srv->done_head;
  srv->done_head = call;
}

/* Under done_lock. */
static void done_remove(struct mascri_server *srv, struct call *call)
{
  for (struct call **p = &srv->done_head; *p; p = &(*p)->done_next) {
    if (*p == call) {
      *p = call->done_next;
      call->done_next = NULL;
      return;
    }
  }
}

static void run_call(void *data)
{
  struct call *call = data;
  struct mascri_server *srv = call->srv;
  ProtobufCMessage *resp = NULL;
  if (call->cancel == 0)
    call->method->fn(srv->ctx, call->req, &resp, &call->cancel, &call->err);
  else
    mascri_make_error_kind(&call->err, MASCRI_ERR_CANCELLED, 0, "call cancelled before it ran");
  if (call->err != NULL && resp != NULL) {
    protobuf_c_message_free_unpacked(resp, NULL);
    resp = NULL;
  }
  call->resp = resp;
  pthread_mutex_lock(&srv->done_lock);
  call->worker_done = true;
  done_push(srv, call);
  pthread_mutex_unlock(&srv->done_lock);
  wake_loop(srv);
}

void server_dispatch(struct call *call)
{
  struct mascri_server *srv = call->srv;
  if (call->method->flags & MASCRI_RPC_STREAM) {
    pthread_mutex_lock(&srv->done_lock);
    call->sub_next = srv->subs;
    srv->subs = call;
    call->subscribed = true;
    pthread_mutex_unlock(&srv->done_lock);
    h2_call_start_stream(call);
    return;
  }
  call->state = CALL_RUNNING;
  call->in_worker = true;
  srv->n_running++;
  mascri_pool_submit((call->method->flags & MASCRI_RPC_FAST) ? srv->fast : srv->slow, run_call,
                     call);
}

void server_unsubscribe(struct call *call)
{
  struct mascri_server *srv = call->srv;
  pthread_mutex_lock(&srv->done_lock);
  if (call->subscribed) {
    for (struct call **p = &srv->subs; *p; p = &(*p)->sub_next) {
      if (*p == call) {
        *p = call->sub_next;
        break;
      }
    }
    call->sub_next = NULL;
    call->subscribed = false;
  }
  if (call->pending_queued) {
    done_remove(srv, call);
    call->pending_queued = false;
  }
  free(call->pending);
  call->pending = NULL;
  call->pending_len = 0;
  pthread_mutex_unlock(&srv->done_lock);
}

void mascri_server_publish(struct mascri_server *srv, const ProtobufCMessage *msg)
{
  size_t n = protobuf_c_message_get_packed_size(msg);
  _cleanup_free_ uint8_t *frame = xmalloc(n + MASCRI_GRPC_FRAME_HEADER);
  mascri_grpc_frame_header(frame, false, (uint32_t)n);
  protobuf_c_message_pack(msg, frame + MASCRI_GRPC_FRAME_HEADER);
  n += MASCRI_GRPC_FRAME_HEADER;

  bool queued = false;
  pthread_mutex_lock(&srv->done_lock);
  for (struct call *call = srv->subs; call; call = call->sub_next) {
    call->pending = xrealloc(call->pending, call->pending_len + n);
    memcpy(call->pending + call->pending_len, frame, n);
    call->pending_len += n;
    if (!call->pending_queued) {
      call->pending_queued = true;
      done_push(srv, call);
    }
    queued = true;
  }
  pthread_mutex_unlock(&srv->done_lock);
  if (queued)
    wake_loop(srv);
}

void mascri_server_stop(struct mascri_server *srv)
{
  srv->stop_requested = 1;
  wake_loop(srv);
}

/* Loop side of the eventfd: hands finished calls and published bytes to h2.c. */
static void drain_completions(struct mascri_server *srv)
{
  uint64_t count;
  while (read(srv->event_fd, &count, sizeof(count)) < 0 && errno == EINTR)
    ;
  for (;;) {
    pthread_mutex_lock(&srv->done_lock);
    struct call *call = srv->done_head;
    if (call == NULL) {
      pthread_mutex_unlock(&srv->done_lock);
      return;
    }
    srv->done_head = call->done_next;
    call->done_next = NULL;
    bool finished = call->worker_done;
    call->worker_done = false;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (!finished && call->pending_queued) {
      bytes = TAKE_PTR(call->pending);
      len = call->pending_len;
      call->pending_len = 0;
      call->pending_queued = false;
    }
    pthread_mutex_unlock(&srv->done_lock);
    if (finished) {
      srv->n_running--;
      h2_call_completed(call);
    } else if (bytes) {
      h2_call_pending(call, bytes, len);
    }
  }
}

static void conn_close(struct mascri_server *srv, struct conn *c)
{
  epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  size_t held = c->buffered;
  h2_conn_free(c);
  srv->n_conns--;
  /* large request buffers come from the heap once glibc has raised its mmap threshold:
   * hand them back, or a burst of big bodies keeps mascrid's RSS at its peak */
  if (held >= TRIM_AFTER_BYTES)
    malloc_trim(0);
}

static void listener_arm(struct mascri_server *srv, bool on)
{
  if (srv->listen_fd < 0 || srv->listen_armed == on)
    return;
  struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = &srv->listen_fd};
  if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listen_fd, &ev) == 0)
    srv->listen_armed = on;
}

/* One warning per ACCEPT_LOG_INTERVAL_MS, saying how many were left out. */
static void accept_warning(struct mascri_server *srv, const char *why)
{
  int64_t now = mascri_clock_monotonic_ms();
  if (now < srv->accept_log_next) {
    srv->accept_log_suppressed++;
    return;
  }
  if (srv->accept_log_suppressed)
    log_warning("%s (%u more like it in the last %u s)", why, srv->accept_log_suppressed,
                ACCEPT_LOG_INTERVAL_MS / 1000);
  else
    log_warning("%s", why);
  srv->accept_log_suppressed = 0;
  srv->accept_log_next = now + ACCEPT_LOG_INTERVAL_MS;
}

/* The listener is polled only while connections may be taken: below max_conns and not in
 * an fd-limit pause. */
static void listener_update(struct mascri_server *srv, int64_t now)
{
  if (srv->listen_resume && now >= srv->listen_resume)
    srv->listen_resume = 0;
  listener_arm(srv, !srv->stopping && srv->listen_resume == 0 && srv->n_conns < srv->cfg.max_conns);
}

static void accept_conns(struct mascri_server *srv)
{
  for (;;) {
    if (srv->n_conns >= srv->cfg.max_conns) {
      _cleanup_free_ char *m = xasprintf("%zu connections open (the limit): new ones wait until "
                                         "one closes",
                                         srv->n_conns);
      accept_warning(srv, m);
      listener_update(srv, mascri_clock_monotonic_ms());
      return;
    }
    int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;
      int e = errno;
      _cleanup_free_ char *m = xasprintf("accept on %s: %s; not accepting for %d ms",
                                         srv->socket_path, strerror(e), ACCEPT_PAUSE_MS);
      accept_warning(srv, m);
      srv->listen_resume = mascri_clock_monotonic_ms() + ACCEPT_PAUSE_MS;
      listener_update(srv, mascri_clock_monotonic_ms());
      return;
    }
    _cleanup_error_ mascri_error_t err = NULL;
    struct conn *c = h2_conn_new(srv, fd, &err);
    if (c == NULL) {
      mascri_log_error_release(MASCRI_LOG_WARNING, &err, "new connection");
      close(fd);
      continue;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
      log_warning("epoll_ctl: %s", strerror(errno));
      h2_conn_free(c);
      continue;
    }
    c->next = srv->conns;
    if (srv->conns)
      srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    log_debug("connection %d accepted", fd);
  }
}

/* Closes connections that never spoke HTTP/2 or sat idle; returns the next expiry. */
static int64_t expire_conns(struct mascri_server *srv, int64_t now)
{
  int64_t next = 0;
  struct conn *c_next;
  for (struct conn *c = srv->conns; c; c = c_next) {
    c_next = c->next;
    int64_t at = h2_conn_expiry(c, now);
    if (at == 1) {
      log_debug("connection %d closed: %s", c->fd,
                c->got_frame ? "idle" : "no HTTP/2 preface in time");
      conn_close(srv, c);
    } else if (at != 0 && (next == 0 || at < next)) {
      next = at;
    }
  }
  return next;
}

static void flush_all(struct mascri_server *srv)
{
  struct conn *next;
  for (struct conn *c = srv->conns; c; c = next) {
    next = c->next;
    if (h2_conn_flush(c) < 0) {
      log_debug("connection %d closed", c->fd);
      conn_close(srv, c);
    }
  }
}

static int next_timeout(struct mascri_server *srv, int64_t stop_at)
{
  int64_t now = mascri_clock_monotonic_ms(), next = stop_at;
  for (struct conn *c = srv->conns; c; c = c->next) {
    int64_t d = h2_conn_check_deadlines(c, now);
    if (d != 0 && (next == 0 || d < next))
      next = d;
  }
  int64_t e = expire_conns(srv, now);
  if (e != 0 && (next == 0 || e < next))
    next = e;
  listener_update(srv, now);
  if (srv->listen_resume && (next == 0 || srv->listen_resume < next))
    next = srv->listen_resume;
  if (next == 0)
    return -1;
  return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void begin_shutdown(struct mascri_server *srv)
{
  if (srv->stopping)
    return;
  srv->stopping = true;
  log_info("shutting down: %zu call(s) running", srv->n_running);
  if (srv->listen_fd >= 0) {
    srv->listen_armed = false;
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->listen_fd, NULL);
    close(srv->listen_fd);
    srv->listen_fd = -1;
    if (!srv->socket_activated)
      unlink(srv->socket_path);
  }
  for (struct conn *c = srv->conns; c; c = c->next)
    h2_conn_shutdown(c);
}

static void handle_signal(struct mascri_server *srv)
{
  struct signalfd_siginfo si;
  if (read(srv->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
    log_info("received signal %s", strsignal((int)si.ssi_signo));
  begin_shutdown(srv);
}

/* At shutdown: done when no call runs and no connection has bytes left to send. */
static bool drained(struct mascri_server *srv)
{
  if (srv->n_running > 0)
    return false;
  for (struct conn *c = srv->conns; c; c = c->next)
    if (nghttp2_session_want_write(c->session))
      return false;
  return true;
}

static void handle_event(struct mascri_server *srv, const struct epoll_event *ev)
{
  void *p = ev->data.ptr;
  if (p == &srv->listen_fd) {
    accept_conns(srv);
  } else if (p == &srv->signal_fd) {
    handle_signal(srv);
  } else if (p == &srv->event_fd) {
    drain_completions(srv);
    if (srv->stop_requested)
      begin_shutdown(srv);
  } else {
    struct conn *c = p;
    if (h2_conn_on_readable(c) < 0 || h2_conn_flush(c) < 0)
      conn_close(srv, c);
  }
}

static void cancel_all(struct mascri_server *srv)
{
  for (struct conn *c = srv->conns; c; c = c->next)
    for (struct call *call = c->calls; call; call = call->next)
      call->cancel = 1;
}

int mascri_server_run(struct mascri_server *srv, void (*ready)(void *ctx), mascri_error_t *err)
{
  if (ready)
    ready(srv->ctx);
  log_info("listening on %s%s", srv->socket_path,
           srv->socket_activated ? " (socket passed by systemd)" : "");
  int64_t stop_at = 0;
  struct epoll_event evs[MAX_EVENTS];
  for (;;) {
    if (srv->stopping && stop_at == 0)
      stop_at = mascri_clock_monotonic_ms() + srv->cfg.shutdown_wait_ms;
    /* Answers the calls whose deadline passed, then sends what every session has. Sending
     * closes streams (a response's last frame, a reset) and so frees calls: a connection
     * may just have become idle, and the timers are taken again. */
    int timeout;
    do {
      srv->streams_closed = false;
      timeout = next_timeout(srv, stop_at);
      flush_all(srv);
    } while (srv->streams_closed);
    if (srv->stopping) {
      if (drained(srv))
        break;
      if (mascri_clock_monotonic_ms() >= stop_at) {
        cancel_all(srv);
        break;
      }
    }
    int n = epoll_wait(srv->epfd, evs, MAX_EVENTS, timeout);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return mascri_make_error(err, errno, "epoll_wait");
    }
    for (int i = 0; i < n; i++)
      handle_event(srv, &evs[i]);
  }
  if (srv->n_running > 0)
    log_warning("%zu call(s) still running at shutdown", srv->n_running);
  return 0;
}

static int listen_unix(struct mascri_server *srv, mascri_error_t *err)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(srv->socket_path) >= sizeof(addr.sun_path))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "socket path too long: %s",
                                  srv->socket_path);
  strcpy(addr.sun_path, srv->socket_path);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return mascri_make_error(err, errno, "socket");
  struct stat st;
  /* The caller holds the instance lock: a socket left here belongs to a dead daemon. */
  if (lstat(srv->socket_path, &st) == 0 && S_ISSOCK(st.st_mode))
    unlink(srv->socket_path);
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    return mascri_make_error(err, errno, "bind %s", srv->socket_path);
  if (chmod(srv->socket_path, srv->cfg.socket_mode) < 0)
    return mascri_make_error(err, errno, "chmod %s", srv->socket_path);
  if (srv->cfg.socket_gid != (gid_t)-1 &&
      chown(srv->socket_path, (uid_t)-1, srv->cfg.socket_gid) < 0)
    return mascri_make_error(err, errno, "chown %s", srv->socket_path);
  if (listen(fd, LISTEN_BACKLOG) < 0)
    return mascri_make_error(err, errno, "listen on %s", srv->socket_path);
  srv->listen_fd = TAKE_FD(fd);
  return 0;
}

/* Socket activation: systemd bound and listens (mascri.socket); a restart of mascrid loses no
 * connection attempt, they wait in the backlog. */
static int adopt_inherited(struct mascri_server *srv, mascri_error_t *err)
{
  int fd = srv->cfg.inherited_fd;
  int r = mascri_sd_is_listening_unix(fd);
  if (r < 0)
    return mascri_make_error(err, -r, "socket activation: fd %d", fd);
  if (r == 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "socket activation: fd %d is not a listening unix stream "
                                  "socket (ListenStream= in mascri.socket)",
                                  fd);
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return mascri_make_error(err, errno, "socket activation: fd %d", fd);
  struct sockaddr_un addr = {0};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0 &&
      len > offsetof(struct sockaddr_un, sun_path) && addr.sun_path[0] &&
      strncmp(addr.sun_path, srv->socket_path, sizeof(addr.sun_path)) != 0)
    log_warning("socket activation: the passed socket is %.*s, not %s (--socket)",
                (int)sizeof(addr.sun_path), addr.sun_path, srv->socket_path);
  srv->listen_fd = fd;
  srv->socket_activated = true;
  return 0;
}

static int add_fd(struct mascri_server *srv, int fd, void *tag, mascri_error_t *err)
{
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
  if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    return mascri_make_error(err, errno, "epoll_ctl");
  return 0;
}

static void apply_defaults(struct mascri_server_config *cfg)
{
  if (cfg->socket_mode == 0)
    cfg->socket_mode = 0660;
  if (cfg->max_recv_msg == 0)
    cfg->max_recv_msg = DEFAULT_MAX_MSG;
  if (cfg->max_send_msg == 0)
    cfg->max_send_msg = DEFAULT_MAX_SEND_MSG;
  if (cfg->max_workers == 0)
    cfg->max_workers = DEFAULT_MAX_WORKERS;
  if (cfg->fast_workers == 0)
    cfg->fast_workers = DEFAULT_FAST_WORKERS;
  if (cfg->shutdown_wait_ms == 0)
    cfg->shutdown_wait_ms = DEFAULT_SHUTDOWN_WAIT_MS;
  if (cfg->max_conn_buffer == 0)
    cfg->max_conn_buffer = 4 * (cfg->max_recv_msg + MASCRI_GRPC_FRAME_HEADER);
  if (cfg->max_total_buffer == 0)
    cfg->max_total_buffer = 16 * (cfg->max_recv_msg + MASCRI_GRPC_FRAME_HEADER);
  if (cfg->max_conns == 0)
    cfg->max_conns = DEFAULT_MAX_CONNS;
  if (cfg->idle_timeout_ms == 0)
    cfg->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
  if (cfg->preface_timeout_ms == 0)
    cfg->preface_timeout_ms = DEFAULT_PREFACE_TIMEOUT_MS;
  if (cfg->request_stall_ms == 0)
    cfg->request_stall_ms = DEFAULT_REQUEST_STALL_MS;
}

static int open_fds(struct mascri_server *srv, mascri_error_t *err)
{
  srv->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (srv->epfd < 0)
    return mascri_make_error(err, errno, "epoll_create1");
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  srv->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (srv->signal_fd < 0)
    return mascri_make_error(err, errno, "signalfd");
  srv->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (srv->event_fd < 0)
    return mascri_make_error(err, errno, "eventfd");
  if ((srv->cfg.inherited_fd > 0 ? adopt_inherited(srv, err) : listen_unix(srv, err)) < 0)
    return -1;
  srv->listen_armed = true;
  if (add_fd(srv, srv->listen_fd, &srv->listen_fd, err) < 0 ||
      add_fd(srv, srv->signal_fd, &srv->signal_fd, err) < 0 ||
      add_fd(srv, srv->event_fd, &srv->event_fd, err) < 0)
    return -1;
  return 0;
}

int mascri_server_new(const struct mascri_server_config *config, mascri_rpc_lookup_fn lookup,
                      void *ctx, struct mascri_server **out, mascri_error_t *err)
{
  struct mascri_server *srv = xmalloc0(sizeof(*srv));
  srv->cfg = *config;
  apply_defaults(&srv->cfg);
  srv->socket_path = xstrdup(config->socket_path);
  srv->cfg.socket_path = srv->socket_path;
  srv->lookup = lookup;
  srv->ctx = ctx;
  srv->epfd = srv->listen_fd = srv->signal_fd = srv->event_fd = -1;
  pthread_mutex_init(&srv->done_lock, NULL);
  if (open_fds(srv, err) < 0) {
    mascri_server_free(srv);
    return -1;
  }
  srv->fast = mascri_pool_new("cri-fast", srv->cfg.fast_workers);
  srv->slow = mascri_pool_new("cri-slow", srv->cfg.max_workers);
  *out = srv;
  return 0;
}

/* A job the pool dropped at shutdown: nobody answers it any more. */
static void drop_call(void *data)
{
  struct call *call = data;
  call->in_worker = false;
  call->srv->n_running--;
  if (call->conn == NULL)
    call_free(call);
}

unsigned mascri_server_free(struct mascri_server *srv)
{
  if (srv == NULL)
    return 0;
  begin_shutdown(srv);
  while (srv->conns)
    conn_close(srv, srv->conns);
  /* run() already gave in-flight calls their time and cancelled the rest: these only
   * get a moment to notice. */
  unsigned left = 0;
  if (srv->fast)
    left += mascri_pool_free(srv->fast, CANCEL_WAIT_MS, drop_call);
  if (srv->slow)
    left += mascri_pool_free(srv->slow, left ? 0 : CANCEL_WAIT_MS, drop_call);
  if (left == 0) {
    /* Calls whose worker finished after the loop stopped. */
    pthread_mutex_lock(&srv->done_lock);
    while (srv->done_head) {
      struct call *call = srv->done_head;
      srv->done_head = call->done_next;
      call->in_worker = false;
      call_free(call);
    }
    pthread_mutex_unlock(&srv->done_lock);
  }
  if (srv->epfd >= 0)
    close(srv->epfd);
  if (srv->signal_fd >= 0)
    close(srv->signal_fd);
  if (srv->event_fd >= 0)
    close(srv->event_fd);
  if (left > 0) {
    /* Workers still use srv and their calls: leave them; the process is exiting. */
    log_warning("%u worker(s) still busy at exit", left);
    return left;
  }
  pthread_mutex_destroy(&srv->done_lock);
  free(srv->socket_path);
  free(srv);
  return 0;
}
