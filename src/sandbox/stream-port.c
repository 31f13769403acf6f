/* PortForward's connect (stream.h): a TCP socket made and connected inside the pod's
 * network namespace by a short-lived thread that enters it (setns affects only the calling
 * thread); the socket keeps that namespace after the thread ends. Like CRI-O, localhost:
 * 127.0.0.1, then ::1 when IPv4 is refused or unreachable (a server bound to ::1 only). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/stream-internal.h"

struct port_job {
  const char *netns_path;
  uint16_t port;
  int timeout_ms;
  int fd;
  mascri_error_t err;
};

/* One non-blocking connect, waited for up to timeout_ms; the socket or -errno. */
static int connect_to(int family, uint16_t port, int timeout_ms)
{
  struct sockaddr_storage ss = {0};
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*a);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    *a = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = htons(port)};
    a->sin6_addr = in6addr_loopback;
    len = sizeof(*a);
  }
  _cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
    if (errno != EINPROGRESS)
      return -errno;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int r;
    do
      r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r == 0)
      return -ETIMEDOUT;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
      return -errno;
    if (soerr)
      return -soerr;
  }
  return TAKE_FD(fd);
}

static void *port_thread(void *data)
{
  struct port_job *j = data;
  if (j->netns_path) {
    _cleanup_close_ int ns = open(j->netns_path, O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
      mascri_make_error(&j->err, errno, "enter the network namespace %s", j->netns_path);
      return NULL;
    }
  }
  int fd = connect_to(AF_INET, j->port, j->timeout_ms);
  if (fd == -ECONNREFUSED || fd == -ENETUNREACH || fd == -EADDRNOTAVAIL) {
    int fd6 = connect_to(AF_INET6, j->port, j->timeout_ms);
    if (fd6 >= 0)
      fd = fd6; /* else IPv4's error is the one to report */
  }
  if (fd < 0) {
    mascri_make_error_kind(&j->err, fd == -ETIMEDOUT ? MASCRI_ERR_DEADLINE : MASCRI_ERR_UNAVAILABLE,
                           -fd, "connect to localhost:%u", (unsigned)j->port);
    return NULL;
  }
  j->fd = fd;
  return NULL;
}

int mascri_netns_tcp_connect(const char *netns_path, uint16_t port, int timeout_ms,
                             mascri_error_t *err)
{
  if (port == 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "port 0");
  struct port_job j = {.netns_path = netns_path, .port = port, .timeout_ms = timeout_ms, .fd = -1};
  pthread_t t;
  int r = pthread_create(&t, NULL, port_thread, &j);
  if (r)
    return mascri_make_error(err, r, "start the connect thread");
  pthread_join(t, NULL);
  if (j.fd < 0) {
    mascri_error_move(err, &j.err);
    return mascri_error_retcode(err);
  }
  return j.fd;
}

int mascri_pods_port_connect(struct mascri_pods *pods, const char *pod_id, uint16_t port,
                             mascri_error_t *err)
{
  struct mascri_pod_info *info = NULL;
  if (mascri_pods_get(pods, pod_id, &info, err) < 0)
    return -1;
  int fd;
  _cleanup_free_ char *netns = mascri_pod_path(info, MASCRI_POD_NETNS);
  if (!info->ready)
    fd = mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                "pod sandbox %s is not ready", info->id);
  else if ((fd = mascri_netns_tcp_connect(netns, port, MASCRI_STREAM_CONNECT_TIMEOUT_MS, err)) < 0)
    mascri_error_wrap(err, "port forward in pod %s", info->id);
  mascri_pod_info_free(info);
  return fd;
}
