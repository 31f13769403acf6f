#include "netns/route.h"

#include <linux/rtnetlink.h>

#include "common/xalloc.h"

int mascri_route_add_default(struct mascri_nl *nl, const struct mascri_ip *gw, int index,
                             mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  struct nlmsghdr *nlh =
      mascri_nl_request(nl, buf, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
  rtm->rtm_family = (unsigned char)gw->family;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put(nlh, RTA_GATEWAY, (size_t)mascri_ip_len(gw), gw->b);
  mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
  char ipbuf[MASCRI_IP_STRLEN];
  _cleanup_free_ char *what = xasprintf("add default route via %s", mascri_ip_format(gw, ipbuf));
  return mascri_nl_talk(nl, nlh, NULL, NULL, what, err);
}
