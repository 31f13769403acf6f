#include "netns/addr.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "common/xalloc.h"

int mascri_addr_add(struct mascri_nl *nl, int index, const struct mascri_ip *ip, int prefix,
                    mascri_error_t *err)
{
  char buf[MASCRI_NL_BUFSIZE];
  struct nlmsghdr *nlh =
      mascri_nl_request(nl, buf, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
  ifa->ifa_family = (unsigned char)ip->family;
  ifa->ifa_prefixlen = (unsigned char)prefix;
  ifa->ifa_index = (unsigned)index;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  size_t len = (size_t)mascri_ip_len(ip);
  mnl_attr_put(nlh, IFA_LOCAL, len, ip->b);
  mnl_attr_put(nlh, IFA_ADDRESS, len, ip->b);
  if (ip->family == AF_INET && prefix < 31) {
    /* Broadcast: the network's last address. */
    struct mascri_cidr net;
    struct mascri_ip brd;
    mascri_cidr_from_ip(ip, prefix, &net);
    mascri_cidr_nth(&net, mascri_cidr_size(&net) - 1, &brd);
    mnl_attr_put(nlh, IFA_BROADCAST, len, brd.b);
  } else if (ip->family == AF_INET6) {
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
    ifa->ifa_flags = IFA_F_NODAD;
  }
  char ipbuf[MASCRI_IP_STRLEN];
  _cleanup_free_ char *what =
      xasprintf("add address %s/%d to link %d", mascri_ip_format(ip, ipbuf), prefix, index);
  return mascri_nl_talk(nl, nlh, NULL, NULL, what, err);
}
