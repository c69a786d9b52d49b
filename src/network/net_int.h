/* net_int.h - internals of the network module shared by its files and its unit tests */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/buf.h"
#include "network/network.h"

#ifndef _cleanup_json_
static inline void net_cleanup_jsonp(json_t **j) { json_decref(*j); }
#define _cleanup_json_ __attribute__((cleanup(net_cleanup_jsonp)))
#endif

/* ---------- addresses (addr.c) ---------- */

/* An IPv4 prefix; addr in host byte order, may have host bits set (a gateway "172.18.0.1/16") */
struct cidr {
  uint32_t addr;
  int prefix;
};
static inline uint32_t cidr_mask(int prefix) { return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix); }
static inline uint32_t cidr_net(const struct cidr *c) { return c->addr & cidr_mask(c->prefix); }
int cidr_parse(const char *s, struct cidr *out, struct berth_error **err);
bool cidr_overlap(const struct cidr *a, const struct cidr *b);
bool cidr_contains(const struct cidr *c, uint32_t ip);
int ip_parse(const char *s, uint32_t *out);
void ip_str(uint32_t ip, char out[16]);
/* mac_from_ip: Docker's 02:42 followed by the four bytes of the address */
void mac_from_ip(uint32_t ip, uint8_t mac[6]);
void mac_str(const uint8_t mac[6], char out[18]);
int mac_parse(const char *s, uint8_t mac[6]);

/* ---------- IPAM (ipam.c): a bitmap over the allocation range ---------- */

struct ipam {
  struct cidr range;  /* where container addresses come from */
  uint32_t first;     /* first address of the range (network address) */
  uint32_t size;      /* number of addresses in the range */
  uint32_t next;      /* rotating start of the search, so released addresses are not reused at once */
  uint8_t *bits;
  uint32_t reserved[3]; /* network, broadcast (of the subnet) and gateway: never handed out */
};
int ipam_init(struct ipam *p, const struct cidr *subnet, const struct cidr *range, uint32_t gateway,
              struct berth_error **err);
void ipam_free(struct ipam *p);
/* ipam_alloc: want 0 = the next free address; otherwise exactly want (EEXIST when taken) */
int ipam_alloc(struct ipam *p, uint32_t want, uint32_t *out, struct berth_error **err);
void ipam_release(struct ipam *p, uint32_t ip);
bool ipam_used(const struct ipam *p, uint32_t ip);

/* ---------- published ports (ports.c) ---------- */

enum { PROTO_TCP, PROTO_UDP, PROTO_SCTP };
struct port_map {
  int proto;
  uint32_t host_ip;    /* 0 = every address */
  uint16_t host_lo;    /* HostPort asked for: lo..hi ("8080" is 8080..8080, "" is 0..0: an ephemeral port) */
  uint16_t host_hi;
  uint16_t host_port;  /* the host port in use, once allocated */
  uint16_t ctr_port;
  bool exposed_only;   /* exposed, not published: "80/tcp": null in Ports */
};
const char *proto_name(int proto);
/* ports_parse: PortBindings plus (with publish_all) every exposed port on an ephemeral port */
int ports_parse(const json_t *bindings, const json_t *exposed, bool publish_all, struct port_map **out,
                size_t *count, struct berth_error **err);
/* ports_json: the NetworkSettings.Ports object */
json_t *ports_json(const struct port_map *p, size_t n);

/* ---------- files (etcfiles.c) ---------- */

struct etc_info {
  const char *ip;      /* container address or NULL (none/host) */
  const char *hostname;
  const char *domainname;
  const struct net_link *links;
  size_t nlinks;
  const json_t *extra_hosts;
};
char *hosts_text(const struct etc_info *e);
/* hosts_refresh: an existing hosts file with our own lines (the container's name, links) given
 * the current addresses, everything else kept as the user left it */
char *hosts_refresh(const char *old, const struct etc_info *e);
/* resolv_text: host_resolv (the host's resolv.conf text, may be NULL) filtered, or the --dns* values */
char *resolv_text(const char *host_resolv, const json_t *dns, const json_t *search, const json_t *options);

/* ---------- netlink (netlink.c) ---------- */

struct mnl_socket;
struct nl {
  struct mnl_socket *s;
  uint32_t portid;
  uint32_t seq;
};
int nl_open(struct nl *nl, struct berth_error **err);
void nl_close(struct nl *nl);
static inline void cleanup_nlp(struct nl *nl) { nl_close(nl); }
#define _cleanup_nl_ __attribute__((cleanup(cleanup_nlp)))
/* nl_link_index: ifindex of name; -ENODEV when there is none */
int nl_link_index(struct nl *nl, const char *name, int *index, struct berth_error **err);
int nl_bridge_create(struct nl *nl, const char *name, int mtu, struct berth_error **err);
int nl_link_up(struct nl *nl, int index, struct berth_error **err);
/* nl_addr_add: an IPv4 address with its broadcast; an existing one is fine */
int nl_addr_add(struct nl *nl, int index, const struct cidr *c, struct berth_error **err);
/* nl_addr_first: the first IPv4 address of a link; -ENOENT when it has none */
int nl_addr_first(struct nl *nl, int index, struct cidr *out, struct berth_error **err);
/* nl_route_overlap: is some route of the main table (other than on link skip_index) inside or around c */
int nl_route_overlap(struct nl *nl, const struct cidr *c, int skip_index, bool *overlap, struct berth_error **err);
/* nl_veth_create: host end NAME in the bridge master, up; the peer eth0 in the netns of netns_fd */
int nl_veth_create(struct nl *nl, const char *name, int master, int mtu, int netns_fd, const uint8_t mac[6],
                   uint32_t group, struct berth_error **err);
/* nl_veth_create_peer: the same with the peer named PEER (eth1... for a second network) */
int nl_veth_create_peer(struct nl *nl, const char *name, const char *peer, int master, int mtu, int netns_fd,
                        const uint8_t mac[6], uint32_t group, struct berth_error **err);
/* nl_bridge_create_alias: a bridge whose ifalias marks it as ours ("berth:OWNER:NETID") */
int nl_set_alias(struct nl *nl, int index, const char *alias, struct berth_error **err);
/* nl_links_alias_prefix: names of the links whose ifalias starts with prefix (NULL-terminated) */
int nl_links_alias_prefix(struct nl *nl, const char *prefix, char ***names, struct berth_error **err);
int nl_link_del(struct nl *nl, const char *name, struct berth_error **err);
int nl_route_default(struct nl *nl, int index, uint32_t gw, struct berth_error **err);
/* nl_diag_ports: fn(data, local port) for every socket of family/proto whose state is in states
 * (a bit per TCP state), through sock_diag: the kernel walks only what the states ask for */
int nl_diag_ports(int family, int proto, uint32_t states, void (*fn)(void *data, unsigned port), void *data,
                  struct berth_error **err);
/* nl_bridge_ports: names of the links whose master is index (NULL-terminated) */
int nl_bridge_ports(struct nl *nl, int master, char ***names, struct berth_error **err);

/* ---------- namespaces (netns.c) ---------- */

/* netns_create: a new network namespace bound at path, lo up, and a netlink socket inside it */
int netns_create(const char *path, struct nl *inner, struct berth_error **err);
/* netns_enter_nl: a netlink socket inside the namespace bound at path */
int netns_enter_nl(const char *path, struct nl *inner, struct berth_error **err);
/* netns_remove: unmount and unlink; missing is fine */
int netns_remove(const char *path, struct berth_error **err);

/* ---------- nftables (nft.c) ---------- */

struct nft_ctx;
struct network;
/* nft_table_script: the whole table (our chains, maps), ready for one transaction */
char *nft_table_script(const char *table, const char *bridge, const struct cidr *subnet, bool icc, uint32_t group);
/* NET_IFGROUP: the interface group of the veths of the bridge with that index ("bt" + index) */
#define NET_IFGROUP(bridge_index) (0x62740000u | ((uint32_t)(bridge_index)&0xffffu))
int nft_run(struct network *n, const char *script, struct berth_error **err);
/* nft_link_elements: "add|delete element" lines of the --icc=false link set ("A . B . tcp . 80") */
void nft_link_elements(struct buf *b, const char *verb, const char *table, char *const *elems);
/* nft_elements: "add|delete element" lines for ports of a container at ip */
void nft_elements(struct buf *b, const char *verb, const char *table, uint32_t ip, const struct port_map *p,
                  size_t n);

/* net_write_sysctl: write value to a /proc/sys file (bridge.c) */
int net_write_sysctl(const char *path, const char *value, struct berth_error **err);
/* net_veth_hairpin: hairpin mode on the bridge port of a container's host veth (endpoint.c) */
void net_veth_hairpin(const char *veth);

/* ---------- user-defined networks (usernet.c, uendpoint.c) ---------- */

/* A container's endpoint on a user-defined network */
struct uep {
  struct uep *next;
  char ctr[65];
  char name[128];  /* the container's name */
  char epid[65];
  char veth[16];   /* host end */
  char ifname[16]; /* in the container: eth0, eth1... */
  char mac[18];
  uint32_t ip;
  bool static_ip;
  char **aliases;  /* network-scoped aliases (strv) */
  char **links;    /* legacy links "alias=name" (DNS answers them on this network) */
  struct port_map *ports; /* published ports (only on the container's first network) */
  size_t nports;
  bool done;
};

struct unet {
  struct unet *next;
  char id[65];
  char *name;
  char *bridge;
  char created[64];
  struct cidr subnet; /* the gateway's address and the prefix */
  struct cidr range;  /* --ip-range (the subnet when none) */
  bool has_range, internal, attachable;
  bool auto_subnet; /* picked from the pool: no --ip (Docker's rule) */
  int mtu;
  int bridge_index;
  json_t *options, *labels;
  struct ipam ipam;
  struct uep *eps;
};

struct dns_server;
struct ctr_net;
/* unet_load_all: networks of DATA_ROOT/network/networks/, their bridges made or adopted */
int unet_load_all(struct network *n, struct berth_error **err);
void unet_free(struct unet *u);
/* unet_save: the network's state file (n->mu not held) */
int unet_save(struct network *n, struct unet *u, struct berth_error **err);
/* unet_nft: our chains for user networks (masquerade, isolation, internal), inside the table */
void unet_nft(struct network *n, struct buf *b);
/* unet_find: by name, full id, or unique id prefix; n->mu held */
struct unet *unet_find(struct network *n, const char *ref);
json_t *unet_json(struct network *n, struct unet *u, bool containers);
/* uep_repair: endpoints of containers not in live dropped, DNS sockets of live ones opened */
void uep_repair(struct network *n, char *const *live);
void uep_free(struct uep *e);
/* uep_setup_user: a container whose NetworkMode is a user network: netns, eth0 there, the
 * other networks of req->endpoints as eth1..., DNS */
int uep_setup_user(struct network *n, const char *id, const struct net_request *req, json_t **settings,
                   struct berth_error **err);
/* uep_setup_extras: the user networks of req->endpoints for a container already set up
 * (default bridge): Networks of settings gets them */
int uep_setup_extras(struct network *n, const char *id, const struct net_request *req, json_t *settings,
                     struct berth_error **err);
void uep_teardown(struct network *n, const char *id);
void unet_dns_start(struct network *n);
/* unet_drop_unused_bridges: the bridges of networks without endpoints (made again at start) */
void unet_drop_unused_bridges(struct network *n);
/* net_settings_json: NetworkSettings; net: the predefined network's entry or NULL; c: the
 * default bridge endpoint or NULL */
json_t *net_settings_json(struct network *n, const char *id, const struct net_request *req, const char *net,
                          const struct ctr_net *c, const char *mac, const char *sandbox_key);

/* ---------- the network (network.c) ---------- */

struct ctr_net {
  struct ctr_net *next;
  char id[65];
  uint32_t ip;
  char veth[16];
  char name[128];        /* the container's name, mac and endpoint id: for network inspect */
  char mac[18];
  char epid[65];
  struct port_map *ports;
  size_t nports;
  bool done;  /* setup completed (a half-made one belongs to a setup still running) */
  char **link_elems; /* --icc=false: elements of the links set opening its links' ports */
};

struct network {
  char *bridge;
  char *table;        /* our nftables table: berth_BRIDGE (ip family) */
  struct cidr subnet; /* the bridge's address and prefix: gateway = subnet.addr */
  struct cidr range;
  int mtu;
  bool icc, iptables;
  int bridge_index;
  int lock_fd;        /* abstract socket "@berth-bridge/NAME": one berthd per bridge */
  bool auto_bridge;   /* picked because the default one belongs to another berthd: removed when unused */
  char network_id[65]; /* ids of the predefined networks bridge, host, none (kept in the state) */
  char host_id[65];
  char none_id[65];
  char created[64];
  char *state_path;   /* DATA_ROOT/network/BRIDGE.json */
  char *netns_dir;    /* EXEC_ROOT/netns */
  pthread_mutex_t mu; /* ipam, ctrs: held for allocations only, never across I/O */
  struct ipam ipam;
  struct ctr_net *ctrs;
  uint8_t port_used[3][8192]; /* per protocol, a bit per host port some container of ours publishes */
  pthread_mutex_t write_mu; /* orders the state file's writes */
  pthread_mutex_t nft_mu;   /* libnftables contexts are not thread-safe */
  struct nft_ctx *nft;
  char *data_dir;       /* DATA_ROOT/network */
  struct unet *unets;   /* user-defined networks (n->mu) */
  pthread_mutex_t unet_mu; /* orders creation and removal of networks (held across I/O) */
  struct dns_server *dns; /* embedded DNS for containers on user networks, or NULL */
};

/* net_state_save: write the state file (containers whose setup is done) */
int net_state_save(struct network *n, struct berth_error **err);
/* net_nft_rebuild: our tables afresh with the published ports of every container, one transaction */
int net_nft_rebuild(struct network *n, struct berth_error **err);

/* ---------- host port allocation (portalloc.c), n->mu held ---------- */

/* ports_alloc: fixed host ports checked (ours, then the host's sockets), ranges and ephemeral
 * ones chosen; EADDRINUSE with Docker's message */
int ports_alloc(struct network *n, const char *name, const char *epid, struct port_map *v, size_t cnt,
                struct berth_error **err);
void ports_index_add(struct network *n, const struct port_map *v, size_t cnt);
void ports_index_rebuild(struct network *n);
