/* netlink.c - rtnetlink through libmnl: bridge, veth, addresses, routes (never ip(8)) */
#include "common/strv.h"
#include "common/xalloc.h"
#include "network/net_int.h"
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#define NL_BUF 32768

int nl_open(struct nl *nl, struct berth_error **err) {
  nl->s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!nl->s) return berr_sys(err, errno, "open a netlink socket");
  if (mnl_socket_bind(nl->s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(nl->s);
    nl->s = NULL;
    return berr_sys(err, e, "bind a netlink socket");
  }
  nl->portid = mnl_socket_get_portid(nl->s);
  nl->seq = (uint32_t)time(NULL);
  return 0;
}

void nl_close(struct nl *nl) {
  if (nl->s) mnl_socket_close(nl->s);
  nl->s = NULL;
}

static struct nlmsghdr *msg_start(struct nl *nl, char *buf, uint16_t type, uint16_t flags) {
  struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | flags;
  h->nlmsg_seq = ++nl->seq;
  return h;
}

/* talk: send one request and read its answers (a dump's parts, or the ACK); -errno of the
 * kernel's answer, with no message set: callers word the error */
static int talk(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data) {
  if (mnl_socket_sendto(nl->s, h, h->nlmsg_len) < 0) return -errno;
  _cleanup_free_ char *buf = xmalloc(NL_BUF);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl->s, buf, NL_BUF);
    if (n < 0) return -errno;
    int r = mnl_cb_run(buf, (size_t)n, h->nlmsg_seq, nl->portid, cb, data);
    if (r < 0) return -errno;
    if (r == MNL_CB_STOP) return 0;
  }
}

struct index_query {
  int index;
};

static int link_index_cb(const struct nlmsghdr *h, void *data) {
  const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(h);
  ((struct index_query *)data)->index = ifm->ifi_index;
  return MNL_CB_OK;
}

int nl_link_index(struct nl *nl, const char *name, int *index, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_GETLINK, NLM_F_ACK);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  struct index_query q = {0};
  int r = talk(nl, h, link_index_cb, &q);
  if (r == -ENODEV || (r == 0 && q.index == 0)) return -ENODEV;
  if (r < 0) return berr_sys(err, -r, "netlink: find link \"%s\"", name);
  *index = q.index;
  return 0;
}

int nl_bridge_create(struct nl *nl, const char *name, int mtu, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  if (mtu > 0) mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
  struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
  mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(h, li);
  int r = talk(nl, h, NULL, NULL);
  if (r < 0 && r != -EEXIST) return berr_sys(err, -r, "netlink: create bridge \"%s\"", name);
  return 0;
}

int nl_link_up(struct nl *nl, int index, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWLINK, NLM_F_ACK);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = index;
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  int r = talk(nl, h, NULL, NULL);
  if (r < 0) return berr_sys(err, -r, "netlink: set link %d up", index);
  return 0;
}

int nl_addr_add(struct nl *nl, int index, const struct cidr *c, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char)c->prefix;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (unsigned)index;
  uint32_t a = htonl(c->addr);
  mnl_attr_put_u32(h, IFA_LOCAL, a);
  mnl_attr_put_u32(h, IFA_ADDRESS, a);
  if (c->prefix < 31) mnl_attr_put_u32(h, IFA_BROADCAST, htonl(c->addr | ~cidr_mask(c->prefix)));
  int r = talk(nl, h, NULL, NULL);
  if (r < 0 && r != -EEXIST) {
    char s[16];
    ip_str(c->addr, s);
    return berr_sys(err, -r, "netlink: add address %s/%d", s, c->prefix);
  }
  return 0;
}

struct addr_query {
  int index;
  bool found;
  struct cidr c;
};

static int addr_cb(const struct nlmsghdr *h, void *data) {
  struct addr_query *q = data;
  const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
  if (q->found || ifa->ifa_family != AF_INET || (int)ifa->ifa_index != q->index) return MNL_CB_OK;
  const struct nlattr *a;
  mnl_attr_for_each(a, h, sizeof(*ifa)) {
    if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == 4) {
      q->c.addr = ntohl(mnl_attr_get_u32(a));
      q->c.prefix = ifa->ifa_prefixlen;
      q->found = true;
    }
  }
  return MNL_CB_OK;
}

int nl_addr_first(struct nl *nl, int index, struct cidr *out, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_GETADDR, NLM_F_DUMP);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
  ifa->ifa_family = AF_INET;
  struct addr_query q = {.index = index};
  int r = talk(nl, h, addr_cb, &q);
  if (r < 0) return berr_sys(err, -r, "netlink: list addresses");
  if (!q.found) return -ENOENT;
  *out = q.c;
  return 0;
}

struct route_query {
  const struct cidr *c;
  int skip;
  bool overlap;
};

static int route_cb(const struct nlmsghdr *h, void *data) {
  struct route_query *q = data;
  const struct rtmsg *rt = mnl_nlmsg_get_payload(h);
  if (rt->rtm_family != AF_INET || rt->rtm_table != RT_TABLE_MAIN || rt->rtm_dst_len == 0) return MNL_CB_OK;
  struct cidr dst = {.prefix = rt->rtm_dst_len};
  int oif = 0;
  const struct nlattr *a;
  mnl_attr_for_each(a, h, sizeof(*rt)) {
    if (mnl_attr_get_type(a) == RTA_DST) dst.addr = ntohl(mnl_attr_get_u32(a));
    if (mnl_attr_get_type(a) == RTA_OIF) oif = (int)mnl_attr_get_u32(a);
  }
  if (oif != q->skip && cidr_overlap(&dst, q->c)) q->overlap = true;
  return MNL_CB_OK;
}

int nl_route_overlap(struct nl *nl, const struct cidr *c, int skip_index, bool *overlap, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_GETROUTE, NLM_F_DUMP);
  struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
  rt->rtm_family = AF_INET;
  struct route_query q = {.c = c, .skip = skip_index};
  int r = talk(nl, h, route_cb, &q);
  if (r < 0) return berr_sys(err, -r, "netlink: list routes");
  *overlap = q.overlap;
  return 0;
}

int nl_veth_create(struct nl *nl, const char *name, int master, int mtu, int netns_fd, const uint8_t mac[6],
                   uint32_t group, struct berth_error **err) {
  return nl_veth_create_peer(nl, name, "eth0", master, mtu, netns_fd, mac, group, err);
}

int nl_veth_create_peer(struct nl *nl, const char *name, const char *peer_name, int master, int mtu, int netns_fd,
                        const uint8_t mac[6], uint32_t group, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  if (mtu > 0) mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
  mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
  mnl_attr_put_u32(h, IFLA_GROUP, group);
  struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
  mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
  struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
  /* the peer's attributes follow an ifinfomsg of its own: made in the netns as eth0 (it cannot
   * be made up here: veth_open fails with ENOTCONN before the pair is linked) */
  struct ifinfomsg *pm = (struct ifinfomsg *)((char *)h + h->nlmsg_len);
  memset(pm, 0, NLMSG_ALIGN(sizeof(*pm)));
  pm->ifi_family = AF_UNSPEC;
  h->nlmsg_len += NLMSG_ALIGN(sizeof(*pm));
  mnl_attr_put_strz(h, IFLA_IFNAME, peer_name);
  mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)netns_fd);
  mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
  if (mtu > 0) mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
  mnl_attr_nest_end(h, peer);
  mnl_attr_nest_end(h, data);
  mnl_attr_nest_end(h, li);
  int r = talk(nl, h, NULL, NULL);
  if (r < 0) return berr_sys(err, -r, "netlink: create veth pair \"%s\"", name);
  return 0;
}

int nl_link_del(struct nl *nl, const char *name, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_DELLINK, NLM_F_ACK);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  int r = talk(nl, h, NULL, NULL);
  if (r < 0 && r != -ENODEV) return berr_sys(err, -r, "netlink: delete link \"%s\"", name);
  return 0;
}

int nl_route_default(struct nl *nl, int index, uint32_t gw, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(h, RTA_GATEWAY, htonl(gw));
  mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
  int r = talk(nl, h, NULL, NULL);
  if (r < 0 && r != -EEXIST) return berr_sys(err, -r, "netlink: add the default route");
  return 0;
}

/* link_query: one RTM_GETLINK dump that collects names, either the ports of a bridge
 * (prefix NULL) or the links whose alias starts with prefix */
struct link_query {
  int master;
  const char *prefix;
  char **names;
};

static int link_names_cb(const struct nlmsghdr *h, void *data) {
  struct link_query *q = data;
  const char *name = NULL, *alias = NULL;
  int master = 0;
  const struct nlattr *a;
  mnl_attr_for_each(a, h, sizeof(struct ifinfomsg)) {
    if (mnl_attr_get_type(a) == IFLA_IFNAME) name = mnl_attr_get_str(a);
    if (mnl_attr_get_type(a) == IFLA_MASTER) master = (int)mnl_attr_get_u32(a);
    if (mnl_attr_get_type(a) == IFLA_IFALIAS) alias = mnl_attr_get_str(a);
  }
  bool match = q->prefix ? alias && strncmp(alias, q->prefix, strlen(q->prefix)) == 0 : master == q->master;
  if (name && match) q->names = strv_push(q->names, name);
  return MNL_CB_OK;
}

static int link_names(struct nl *nl, struct link_query *q, char ***names, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_GETLINK, NLM_F_DUMP);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  int r = talk(nl, h, link_names_cb, q);
  if (r < 0) {
    strv_free(q->names);
    return berr_sys(err, -r, "netlink: list links");
  }
  *names = q->names;
  return 0;
}

int nl_bridge_ports(struct nl *nl, int master, char ***names, struct berth_error **err) {
  struct link_query q = {.master = master};
  return link_names(nl, &q, names, err);
}

struct diag_query {
  void (*fn)(void *data, unsigned port);
  void *data;
};

static int diag_cb(const struct nlmsghdr *h, void *data) {
  struct diag_query *q = data;
  const struct inet_diag_msg *m = mnl_nlmsg_get_payload(h);
  q->fn(q->data, ntohs(m->id.idiag_sport));
  return MNL_CB_OK;
}

int nl_diag_ports(int family, int proto, uint32_t states, void (*fn)(void *data, unsigned port), void *data,
                  struct berth_error **err) {
  struct nl nl = {0};
  nl.s = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
  if (!nl.s || mnl_socket_bind(nl.s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    nl_close(&nl);
    return berr_sys(err, e, "open a sock_diag socket");
  }
  nl.portid = mnl_socket_get_portid(nl.s);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(&nl, buf, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP);
  struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(h, sizeof(*req));
  req->sdiag_family = (uint8_t)family;
  req->sdiag_protocol = (uint8_t)proto;
  req->idiag_states = states;
  struct diag_query q = {.fn = fn, .data = data};
  int r = talk(&nl, h, diag_cb, &q);
  nl_close(&nl);
  if (r < 0) return berr_sys(err, -r, "sock_diag: list sockets");
  return 0;
}

int nl_set_alias(struct nl *nl, int index, const char *alias, struct berth_error **err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = msg_start(nl, buf, RTM_NEWLINK, NLM_F_ACK);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = index;
  mnl_attr_put_strz(h, IFLA_IFALIAS, alias);
  int r = talk(nl, h, NULL, NULL);
  if (r < 0) return berr_sys(err, -r, "netlink: set the alias of link %d", index);
  return 0;
}

int nl_links_alias_prefix(struct nl *nl, const char *prefix, char ***names, struct berth_error **err) {
  struct link_query q = {.prefix = prefix};
  return link_names(nl, &q, names, err);
}
