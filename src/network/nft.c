/* nft.c - our own nftables tables through libnftables (a library, not nft(8)): masquerade for
 * the bridge's subnet, published ports as map elements (one rule however many ports), DNAT of
 * locally generated traffic (127.0.0.1:PORT from the host) and hairpin NAT */
#include "common/buf.h"
#include "common/xalloc.h"
#include "network/net_int.h"
#include <errno.h>
#include <nftables/libnftables.h>
#include <string.h>

/* Three maps per protocol: "pubh_P" maps (host address . host port) to (container address .
 * container port) for ports published on one address, "puba_P" (host port) to the same for
 * ports published on every address; both are hashes, so adding an element never makes
 * libnftables fetch the others. "pubr_P" maps (host address . port range) to a container address
 * with the port unchanged, so -p 8000-8999:8000-8999 is one element (an interval map, where
 * "every address" is the range 0.0.0.0/0). */
char *nft_table_script(const char *table, const char *bridge, const struct cidr *subnet, bool icc, uint32_t group) {
  char net[16];
  ip_str(cidr_net(subnet), net);
  struct buf b = {0};
  /* add + delete + define in one transaction: a leftover table from a crash is replaced whole */
  buf_printf(&b, "add table ip %s\ndelete table ip %s\n", table, table);
  buf_printf(&b, "table ip %s {\n", table);
  static const char *const protos[] = {"tcp", "udp", "sctp"};
  for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
    buf_printf(&b,
               "  map pubh_%s { type ipv4_addr . inet_service : ipv4_addr . inet_service; }\n"
               "  map puba_%s { type inet_service : ipv4_addr . inet_service; }\n"
               "  map pubr_%s { type ipv4_addr . inet_service : ipv4_addr; flags interval; }\n",
               protos[i], protos[i], protos[i]);
  }
  buf_puts(&b, "  chain pub {\n");
  for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
    buf_printf(&b,
               "    dnat ip to ip daddr . %s dport map @pubh_%s\n"
               "    dnat ip to %s dport map @puba_%s\n"
               "    dnat ip to ip daddr . %s dport map @pubr_%s\n",
               protos[i], protos[i], protos[i], protos[i], protos[i], protos[i]);
  buf_puts(&b, "  }\n");
  buf_puts(&b,
           "  chain prerouting { type nat hook prerouting priority dstnat; policy accept; "
           "fib daddr type local jump pub; }\n"
           "  chain output { type nat hook output priority -100; policy accept; fib daddr type local jump pub; }\n");
  /* masquerade: outbound traffic of the containers; 127.0.0.1 sources DNATed into the bridge
   * (route_localnet lets them out); hairpin: a container reaching a published port of the
   * bridge gets the gateway as source so the answer comes back through the NAT */
  buf_printf(&b,
             "  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
             "    ip saddr %s/%d oifname != \"%s\" masquerade\n"
             "    oifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n"
             "    oifname \"%s\" ct status dnat ip saddr %s/%d masquerade\n  }\n",
             net, subnet->prefix, bridge, bridge, bridge, net, subnet->prefix);
  buf_puts(&b, "}\n");
  /* --icc=false: no IP traffic between two ports of the bridge (Docker drops it in FORWARD).
   * Our veths carry the interface group of their bridge (nft_meta_bridge's ibrname is not in
   * every kernel) */
  buf_printf(&b, "add table bridge %s\ndelete table bridge %s\n", table, table);
  if (!icc)
    /* links: Docker opens exactly the linked container's exposed ports between the two; the
     * set holds (source . linked container . protocol . port), answers match it reversed */
    buf_printf(&b,
               "table bridge %s {\n  set links { type ipv4_addr . ipv4_addr . inet_proto . inet_service; }\n"
               "  chain forward { type filter hook forward priority 0; policy accept;\n"
               "    meta iifgroup %u meta oifgroup %u ip saddr . ip daddr . meta l4proto . th dport @links accept\n"
               "    meta iifgroup %u meta oifgroup %u ip daddr . ip saddr . meta l4proto . th sport @links accept\n"
               "    meta iifgroup %u meta oifgroup %u ether type ip drop\n  }\n}\n",
               table, group, group, group, group, group, group);
  return buf_steal(&b);
}

void nft_elements(struct buf *b, const char *verb, const char *table, uint32_t ip, const struct port_map *p,
                  size_t n) {
  char cip[16], hip[16];
  ip_str(ip, cip);
  for (size_t i = 0; i < n; i++) {
    if (p[i].exposed_only || !p[i].host_port) continue;
    const char *proto = proto_name(p[i].proto);
    if (p[i].host_ip)
      ip_str(p[i].host_ip, hip);
    else
      strcpy(hip, "0.0.0.0/0");
    /* a run of ports published on the same numbers is one range element */
    size_t j = i;
    while (j + 1 < n && p[j + 1].proto == p[i].proto && p[j + 1].host_ip == p[i].host_ip && !p[j + 1].exposed_only &&
           p[j].host_port == p[j].ctr_port && p[j + 1].host_port == p[j + 1].ctr_port &&
           p[j + 1].host_port == p[j].host_port + 1)
      j++;
    if (j > i)
      buf_printf(b, "%s element ip %s pubr_%s { %s . %u-%u : %s }\n", verb, table, proto, hip, p[i].host_port,
                 p[j].host_port, cip);
    else if (p[i].host_ip)
      buf_printf(b, "%s element ip %s pubh_%s { %s . %u : %s . %u }\n", verb, table, proto, hip, p[i].host_port,
                 cip, p[i].ctr_port);
    else
      buf_printf(b, "%s element ip %s puba_%s { %u : %s . %u }\n", verb, table, proto, p[i].host_port, cip,
                 p[i].ctr_port);
    i = j;
  }
}

int nft_run(struct network *n, const char *script, struct berth_error **err) {
  pthread_mutex_lock(&n->nft_mu);
  if (!n->nft) {
    n->nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (n->nft) {
      nft_ctx_buffer_output(n->nft);
      nft_ctx_buffer_error(n->nft);
    }
  }
  int r = 0;
  if (!n->nft) {
    r = berr(err, ENOMEM, "nftables: cannot create a context");
  } else if (nft_run_cmd_from_buffer(n->nft, script) != 0) {
    const char *e = nft_ctx_get_error_buffer(n->nft);
    size_t len = e ? strcspn(e, "\n") : 0;
    r = berr(err, EIO, "nftables: %.*s", (int)len, len ? e : "command failed");
  }
  pthread_mutex_unlock(&n->nft_mu);
  return r;
}

void nft_link_elements(struct buf *b, const char *verb, const char *table, char *const *elems) {
  for (char *const *p = elems; p && *p; p++) buf_printf(b, "%s element bridge %s links { %s }\n", verb, table, *p);
}
