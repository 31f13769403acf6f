#include "netns/link.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "common/xalloc.h"

static int index_cb(const struct nlmsghdr *nlh, void *data)
{
  struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
  *(int *)data = ifm->ifi_index;
  return MNL_CB_OK;
}

int mascri_link_index(struct mascri_nl *nl, const char *name, int *index, mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  /* With NLM_F_ACK the kernel sends the link, then the ack. */
  struct nlmsghdr *nlh = mascri_nl_request(nl, buf, RTM_GETLINK, NLM_F_ACK);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  _cleanup_free_ char *what = xasprintf("get link %s", name);
  *index = 0;
  if (mascri_nl_talk(nl, nlh, index_cb, index, what, err) < 0) {
    if ((*err)->errnum == ENODEV)
      (*err)->kind = MASCRI_ERR_NOT_FOUND;
    return mascri_error_retcode(err);
  }
  if (*index <= 0)
    return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, ENODEV, "netlink: %s", what);
  return 0;
}

int mascri_link_change(struct mascri_nl *nl, int index, const struct mascri_link_change *c,
                       mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  struct ifinfomsg *ifm = NULL;
  struct nlmsghdr *nlh = mascri_nl_link_request(nl, buf, RTM_NEWLINK, AF_UNSPEC, index, &ifm);
  if (c->up) {
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
  }
  if (c->mtu)
    mnl_attr_put_u32(nlh, IFLA_MTU, c->mtu);
  if (c->master)
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)c->master);
  if (c->name)
    mnl_attr_put_strz(nlh, IFLA_IFNAME, c->name);
  _cleanup_free_ char *what = xasprintf("change link %d", index);
  return mascri_nl_talk(nl, nlh, NULL, NULL, what, err);
}

int mascri_link_no_ipv6_linklocal(struct mascri_nl *nl, int index, mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  struct nlmsghdr *nlh = mascri_nl_link_request(nl, buf, RTM_NEWLINK, AF_UNSPEC, index, NULL);
  struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
  struct nlattr *inet6 = mnl_attr_nest_start(nlh, AF_INET6);
  mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
  mnl_attr_nest_end(nlh, inet6);
  mnl_attr_nest_end(nlh, spec);
  _cleanup_free_ char *what = xasprintf("link %d: IPv6 link-local address generation off", index);
  if (mascri_nl_talk(nl, nlh, NULL, NULL, what, err) == 0)
    return 0;
  if ((*err)->errnum != EAFNOSUPPORT && (*err)->errnum != EOPNOTSUPP)
    return -1;
  mascri_error_release(err);
  return 0;
}

int mascri_link_delete(struct mascri_nl *nl, const char *name, bool *deleted, mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  struct nlmsghdr *nlh = mascri_nl_request(nl, buf, RTM_DELLINK, NLM_F_ACK);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  _cleanup_free_ char *what = xasprintf("delete link %s", name);
  mascri_error_t e = NULL;
  if (deleted)
    *deleted = false;
  if (mascri_nl_talk(nl, nlh, NULL, NULL, what, &e) < 0) {
    if (e->errnum == ENODEV) {
      mascri_error_release(&e);
      return 0;
    }
    mascri_error_move(err, &e);
    return mascri_error_retcode(err);
  }
  if (deleted)
    *deleted = true;
  return 0;
}

struct list_ctx {
  mascri_link_fn fn;
  void *data;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
  const struct nlattr **tb = data;
  int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
    return MNL_CB_OK;
  tb[type] = attr;
  return MNL_CB_OK;
}

static int link_list_cb(const struct nlmsghdr *nlh, void *data)
{
  struct list_ctx *ctx = data;
  struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
  const struct nlattr *tb[IFLA_MAX + 1] = {NULL};
  mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb);
  if (tb[IFLA_IFNAME] == NULL)
    return MNL_CB_OK;
  struct mascri_link_info info = {
      .name = mnl_attr_get_str(tb[IFLA_IFNAME]),
      .index = ifm->ifi_index,
      .master = tb[IFLA_MASTER] ? (int)mnl_attr_get_u32(tb[IFLA_MASTER]) : 0,
      .mtu = tb[IFLA_MTU] ? mnl_attr_get_u32(tb[IFLA_MTU]) : 0,
      .up = (ifm->ifi_flags & IFF_UP) != 0,
  };
  ctx->fn(&info, ctx->data);
  return MNL_CB_OK;
}

int mascri_link_list(struct mascri_nl *nl, mascri_link_fn fn, void *data, mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  struct nlmsghdr *nlh = mascri_nl_request(nl, buf, RTM_GETLINK, NLM_F_DUMP);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  struct list_ctx ctx = {fn, data};
  return mascri_nl_talk(nl, nlh, link_list_cb, &ctx, "list links", err);
}
