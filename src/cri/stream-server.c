/* The streaming server's thread: a listening TCP socket, an epoll loop over it, the
 * client connections and the process fds of their streams, a 1 s timer for the timeouts,
 * and an eventfd through which job threads hand results back. */
#include "common/clock.h"
#include "cri/stream-internal.h"
#include "cri/stream-server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

/* Requests waiting for their client at once (kubelet's cache allows 1000). */
#define MAX_TOKENS 1000
/* Client connections at once; more are closed at accept (each holds fds and buffers). */
#define MAX_CONNS 4096

void ss_watch_fd(struct mascri_stream_server *srv, int fd, struct ss_watch *w, uint32_t events)
{
  struct epoll_event ev = {.events = events, .data.ptr = w};
  if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void ss_unwatch_fd(struct mascri_stream_server *srv, int fd)
{
  if (fd >= 0)
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- jobs ---- */

struct job_start {
  struct mascri_stream_server *srv;
  struct ss_job *job;
};

static void *job_thread(void *arg)
{
  struct job_start *js = arg;
  js->job->run(js->job);
  struct mascri_stream_server *srv = js->srv;
  pthread_mutex_lock(&srv->jobs_lock);
  js->job->next = srv->jobs_done;
  srv->jobs_done = js->job;
  pthread_mutex_unlock(&srv->jobs_lock);
  uint64_t one = 1;
  if (write(srv->wake_fd, &one, sizeof(one)) < 0) {
    /* the counter cannot overflow in practice; the loop also drains on its timer */
  }
  free(js);
  return NULL;
}

bool ss_job_start(struct mascri_stream_server *srv, struct ss_job *j)
{
  struct job_start *js = xmalloc(sizeof(*js));
  js->srv = srv;
  js->job = j;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  int r = pthread_create(&t, &attr, job_thread, js);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    free(js);
    return false;
  }
  pthread_mutex_lock(&srv->jobs_lock);
  srv->jobs_running++;
  pthread_mutex_unlock(&srv->jobs_lock);
  return true;
}

static void run_done_jobs(struct mascri_stream_server *srv)
{
  pthread_mutex_lock(&srv->jobs_lock);
  struct ss_job *list = TAKE_PTR(srv->jobs_done);
  for (struct ss_job *j = list; j; j = j->next)
    srv->jobs_running--;
  pthread_mutex_unlock(&srv->jobs_lock);
  while (list) {
    struct ss_job *j = list;
    list = j->next;
    j->done(j);
  }
}

static void on_wake(struct ss_watch *w, uint32_t events)
{
  struct mascri_stream_server *srv =
      (void *)((char *)w - offsetof(struct mascri_stream_server, wake_w));
  uint64_t v;
  if (read(srv->wake_fd, &v, sizeof(v)) < 0) {
    /* EAGAIN: nothing pending */
  }
  run_done_jobs(srv);
}

static void on_timer(struct ss_watch *w, uint32_t events)
{
  struct mascri_stream_server *srv =
      (void *)((char *)w - offsetof(struct mascri_stream_server, timer_w));
  uint64_t v;
  if (read(srv->timer_fd, &v, sizeof(v)) < 0) {
    /* EAGAIN */
  }
  uint64_t now = mascri_clock_monotonic_ms();
  for (struct ss_conn *c = srv->conns; c; c = c->next)
    if (!c->dead)
      ss_conn_tick(c, now);
}

static void on_listen(struct ss_watch *w, uint32_t events)
{
  struct mascri_stream_server *srv =
      (void *)((char *)w - offsetof(struct mascri_stream_server, listen_w));
  for (int i = 0; i < 64; i++) {
    int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        log_warning("streaming server: accept: %s", strerror(errno));
      return;
    }
    if (srv->n_conns >= MAX_CONNS) {
      log_warning("streaming server: %d connections open, refusing another", MAX_CONNS);
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ss_conn_accept(srv, fd);
  }
}

static void bury_dead(struct mascri_stream_server *srv)
{
  while (srv->graveyard) {
    struct ss_conn *c = srv->graveyard;
    srv->graveyard = c->next;
    ss_conn_free(c);
  }
}

static void *loop(void *arg)
{
  struct mascri_stream_server *srv = arg;
  struct epoll_event evs[64];
  while (!srv->stop) {
    int n = epoll_wait(srv->epfd, evs, 64, 1000);
    if (n < 0 && errno != EINTR) {
      log_error("streaming server: epoll_wait: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      struct ss_watch *w = evs[i].data.ptr;
      w->fn(w, evs[i].events);
    }
    bury_dead(srv);
  }
  return NULL;
}

/* ---- setup ---- */

static int listen_on(struct mascri_stream_server *srv, mascri_error_t *err)
{
  struct sockaddr_storage ss = {0};
  socklen_t len;
  const char *addr = srv->cfg.address;
  struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(srv->cfg.port);
    len = sizeof(*in4);
  } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(srv->cfg.port);
    len = sizeof(*in6);
  } else {
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "streaming server: address \"%s\" is no IPv4 or IPv6 address",
                                  addr);
  }
  _cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return mascri_make_error(err, errno, "streaming server: socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&ss, len) < 0)
    return mascri_make_error(err, errno, "streaming server: bind %s:%u", addr, srv->cfg.port);
  if (listen(fd, 128) < 0)
    return mascri_make_error(err, errno, "streaming server: listen");
  struct sockaddr_storage bound;
  socklen_t blen = sizeof(bound);
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) < 0)
    return mascri_make_error(err, errno, "streaming server: getsockname");
  uint16_t port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                : ((struct sockaddr_in6 *)&bound)->sin6_port);
  /* A wildcard address is reachable on loopback from this node (where kubelet runs). */
  const char *host = addr;
  if (strcmp(addr, "0.0.0.0") == 0)
    host = "127.0.0.1";
  else if (strcmp(addr, "::") == 0)
    host = "::1";
  srv->base_url = ss.ss_family == AF_INET6 ? xasprintf("http://[%s]:%u", host, port)
                                           : xasprintf("http://%s:%u", host, port);
  srv->listen_fd = TAKE_FD(fd);
  return 0;
}

int mascri_stream_server_new(const struct mascri_stream_server_config *cfg,
                             struct mascri_containers *ctrs, struct mascri_pods *pods,
                             struct mascri_stream_server **out, mascri_error_t *err)
{
  if (cfg->tls_cert || cfg->tls_key)
    return mascri_make_error_kind(
        err, MASCRI_ERR_UNIMPLEMENTED, 0,
        "streaming server: TLS (--stream-tls-cert/--stream-tls-key) is not built; serve on "
        "loopback (the default) where kubelet reaches the streams");
  struct mascri_stream_server *srv = xmalloc0(sizeof(*srv));
  srv->cfg = *cfg;
  if (srv->cfg.address == NULL || !*srv->cfg.address)
    srv->cfg.address = "127.0.0.1";
  srv->cfg.address = xstrdup(srv->cfg.address);
  if (srv->cfg.idle_timeout_ms == 0)
    srv->cfg.idle_timeout_ms = MASCRI_STREAM_DEFAULT_IDLE_MS;
  if (srv->cfg.creation_timeout_ms == 0)
    srv->cfg.creation_timeout_ms = MASCRI_STREAM_DEFAULT_CREATION_MS;
  if (srv->cfg.token_ttl_ms == 0)
    srv->cfg.token_ttl_ms = MASCRI_STREAM_DEFAULT_TOKEN_MS;
  srv->ctrs = ctrs;
  srv->pods = pods;
  srv->epfd = srv->listen_fd = srv->wake_fd = srv->timer_fd = -1;
  pthread_mutex_init(&srv->jobs_lock, NULL);
  srv->tokens = mascri_stream_tokens_new(srv->cfg.token_ttl_ms, MAX_TOKENS);
  srv->listen_w.fn = on_listen;
  srv->wake_w.fn = on_wake;
  srv->timer_w.fn = on_timer;
  if (listen_on(srv, err) < 0)
    goto fail;
  srv->epfd = epoll_create1(EPOLL_CLOEXEC);
  srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  srv->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (srv->epfd < 0 || srv->wake_fd < 0 || srv->timer_fd < 0) {
    mascri_make_error(err, errno, "streaming server: epoll/eventfd/timerfd");
    goto fail;
  }
  struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
  timerfd_settime(srv->timer_fd, 0, &its, NULL);
  ss_watch_fd(srv, srv->listen_fd, &srv->listen_w, EPOLLIN);
  ss_watch_fd(srv, srv->wake_fd, &srv->wake_w, EPOLLIN);
  ss_watch_fd(srv, srv->timer_fd, &srv->timer_w, EPOLLIN);
  *out = srv;
  return 0;
fail:
  mascri_stream_server_free(srv);
  return -1;
}

int mascri_stream_server_start(struct mascri_stream_server *srv, mascri_error_t *err)
{
  int r = pthread_create(&srv->thread, NULL, loop, srv);
  if (r != 0)
    return mascri_make_error(err, r, "streaming server: thread");
  srv->started = true;
  log_info("streaming server on %s", srv->base_url);
  return 0;
}

void mascri_stream_server_free(struct mascri_stream_server *srv)
{
  if (srv == NULL)
    return;
  if (srv->started) {
    srv->stop = 1;
    uint64_t one = 1;
    if (write(srv->wake_fd, &one, sizeof(one)) < 0) {
      /* the loop wakes within a second anyway */
    }
    pthread_join(srv->thread, NULL);
  }
  for (struct ss_conn *c = srv->conns; c; c = c->next)
    ss_conn_close(c);
  bury_dead(srv);
  /* Job threads still running keep their job; wait for them (connects are bounded). */
  for (int i = 0; i < 1000; i++) {
    pthread_mutex_lock(&srv->jobs_lock);
    unsigned running = srv->jobs_running;
    pthread_mutex_unlock(&srv->jobs_lock);
    run_done_jobs(srv);
    if (running == 0)
      break;
    usleep(10000);
  }
  if (srv->listen_fd >= 0)
    close(srv->listen_fd);
  if (srv->wake_fd >= 0)
    close(srv->wake_fd);
  if (srv->timer_fd >= 0)
    close(srv->timer_fd);
  if (srv->epfd >= 0)
    close(srv->epfd);
  mascri_stream_tokens_free(srv->tokens);
  pthread_mutex_destroy(&srv->jobs_lock);
  free((char *)srv->cfg.address);
  free(srv->base_url);
  free(srv);
}

const char *mascri_stream_server_base_url(struct mascri_stream_server *srv)
{
  return srv->base_url;
}

int mascri_stream_server_url(struct mascri_stream_server *srv, struct mascri_stream_req *req,
                             char **url, mascri_error_t *err)
{
  static const char *const kinds[] = {"exec", "attach", "portforward"};
  const char *kind = kinds[req->kind];
  char token[MASCRI_STREAM_TOKEN_LEN + 1];
  if (mascri_stream_tokens_insert(srv->tokens, req, token, err) < 0)
    return -1;
  *url = xasprintf("%s/%s/%s", srv->base_url, kind, token);
  return 0;
}
