#include "netns/veth.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "common/xalloc.h"

int mascri_veth_create(struct mascri_nl *nl, const char *host_name, const char *peer_name, int nsfd,
                       unsigned mtu, int master, mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  struct nlmsghdr *nlh =
      mascri_nl_request(nl, buf, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name);
  if (mtu)
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  if (master > 0)
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);

  struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  struct nlattr *infodata = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  /* The peer's attributes follow its own ifinfomsg. */
  struct ifinfomsg *pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
  pifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
  if (mtu)
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, infodata);
  mnl_attr_nest_end(nlh, linkinfo);

  _cleanup_free_ char *what = xasprintf("create veth %s", host_name);
  int r = mascri_nl_talk(nl, nlh, NULL, NULL, what, err);
  /* the bridge numbers its ports in 10 bits: 1023 at most, so as many pods a bridge */
  if (r == -EXFULL && master > 0)
    return mascri_make_error_kind(err, MASCRI_ERR_RESOURCE_EXHAUSTED, 0,
                                  "create veth %s: the pod bridge has no free port (the kernel "
                                  "allows 1023 ports a bridge, one a pod)",
                                  host_name);
  return r;
}
