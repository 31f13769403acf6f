#include "netns/bridge.h"

#include <errno.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "common/xalloc.h"
#include "netns/link.h"

static int bridge_create(struct mascri_nl *nl, const char *name, unsigned mtu, mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  struct nlmsghdr *nlh =
      mascri_nl_request(nl, buf, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  if (mtu)
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, linkinfo);
  _cleanup_free_ char *what = xasprintf("create bridge %s", name);
  return mascri_nl_talk(nl, nlh, NULL, NULL, what, err);
}

int mascri_bridge_ensure(struct mascri_nl *nl, const char *name, unsigned mtu, int *index,
                         mascri_error_t *err)
{
  mascri_error_t e = NULL;
  if (bridge_create(nl, name, mtu, &e) < 0) {
    if (e->errnum != EEXIST) {
      mascri_error_move(err, &e);
      return mascri_error_retcode(err);
    }
    mascri_error_release(&e);
  }
  if (mascri_link_index(nl, name, index, err) < 0)
    return -1;
  struct mascri_link_change c = {.up = true, .mtu = mtu};
  return mascri_link_change(nl, *index, &c, err);
}

int mascri_bridge_port_hairpin(struct mascri_nl *nl, int port_index, mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  struct nlmsghdr *nlh = mascri_nl_link_request(nl, buf, RTM_SETLINK, AF_BRIDGE, port_index, NULL);
  struct nlattr *protinfo = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
  mnl_attr_nest_end(nlh, protinfo);
  _cleanup_free_ char *what = xasprintf("set hairpin mode on bridge port %d", port_index);
  return mascri_nl_talk(nl, nlh, NULL, NULL, what, err);
}
