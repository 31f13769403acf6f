#include "netns/nl.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/xalloc.h"

static int nl_bind(struct mnl_socket *sock, mascri_error_t *err)
{
  if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0)
    return mascri_make_error(err, errno, "netlink: bind");
  return 0;
}

static struct mascri_nl *nl_wrap(struct mnl_socket *sock)
{
  struct mascri_nl *nl = xmalloc0(sizeof(*nl));
  nl->sock = sock;
  nl->portid = mnl_socket_get_portid(sock);
  nl->seq = (unsigned)time(NULL);
  return nl;
}

int mascri_nl_open(struct mascri_nl **out, mascri_error_t *err)
{
  struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (sock == NULL)
    return mascri_make_error(err, errno, "netlink: open socket");
  if (nl_bind(sock, err) < 0) {
    mnl_socket_close(sock);
    return -1;
  }
  *out = nl_wrap(sock);
  return 0;
}

struct netns_open {
  int nsfd;
  struct mnl_socket *sock;
  int errnum;
  const char *step;
};

static void *netns_open_thread(void *arg)
{
  struct netns_open *o = arg;
  if (setns(o->nsfd, CLONE_NEWNET) < 0) {
    o->errnum = errno;
    o->step = "join network namespace";
    return NULL;
  }
  o->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (o->sock == NULL) {
    o->errnum = errno;
    o->step = "open socket in network namespace";
  }
  /* The thread ends here; its namespace membership goes with it, the socket stays. */
  return NULL;
}

int mascri_nl_open_in_netns(int nsfd, struct mascri_nl **out, mascri_error_t *err)
{
  struct netns_open o = {.nsfd = nsfd};
  pthread_t th;
  int r = pthread_create(&th, NULL, netns_open_thread, &o);
  if (r != 0)
    return mascri_make_error(err, r, "netlink: start netns thread");
  pthread_join(th, NULL);
  if (o.sock == NULL)
    return mascri_make_error(err, o.errnum, "netlink: %s", o.step);
  if (nl_bind(o.sock, err) < 0) {
    mnl_socket_close(o.sock);
    return -1;
  }
  *out = nl_wrap(o.sock);
  return 0;
}

void mascri_nl_close(struct mascri_nl *nl)
{
  if (nl == NULL)
    return;
  mnl_socket_close(nl->sock);
  free(nl);
}

struct nlmsghdr *mascri_nl_request(struct mascri_nl *nl, void *buf, uint16_t type, uint16_t flags)
{
  memset(buf, 0, MASCRI_NL_BUFSIZE);
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = ++nl->seq;
  return nlh;
}

int mascri_nl_talk(struct mascri_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
                   const char *what, mascri_error_t *err)
{
  if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
    return mascri_make_error(err, errno, "netlink: %s: send", what);
  _cleanup_free_ char *buf = xmalloc(MASCRI_NL_BUFSIZE);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl->sock, buf, MASCRI_NL_BUFSIZE);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return mascri_make_error(err, errno, "netlink: %s: receive", what);
    }
    int r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, nl->portid, cb, data);
    if (r < 0)
      return mascri_make_error(err, errno, "netlink: %s", what);
    if (r == MNL_CB_STOP)
      return 0;
  }
}

struct nlmsghdr *mascri_nl_link_request(struct mascri_nl *nl, void *buf, uint16_t type,
                                        unsigned char family, int index, struct ifinfomsg **ifm)
{
  struct nlmsghdr *nlh = mascri_nl_request(nl, buf, type, NLM_F_ACK);
  struct ifinfomsg *m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
  m->ifi_family = family;
  m->ifi_index = index;
  if (ifm)
    *ifm = m;
  return nlh;
}
