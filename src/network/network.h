/* network.h - container networking: the default bridge, per-container netns + veth, IPAM,
 * nftables NAT and published ports, links, and the hosts/resolv.conf/hostname files */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "common/error.h"

struct net_options {
  const char *bridge;     /* default "berth0" */
  const char *bip;        /* bridge address as CIDR (172.18.0.1/16); NULL: adopt or pick a free one */
  const char *fixed_cidr; /* containers' addresses come from this subnet (NULL: the whole bridge subnet) */
  int mtu;                /* 0: 1500 */
  bool icc;               /* containers on the bridge may talk to each other (Docker's default true) */
  bool ip_forward;        /* set net.ipv4.ip_forward=1 */
  bool iptables;          /* program NAT and published ports (our own nftables tables) */
};

struct network;

/* net_open: create or adopt the bridge, its address, sysctls and our nftables tables.
 * State (leases, ports, veths) is kept in DATA_ROOT/network/, netns files in EXEC_ROOT/netns/. */
int net_open(const struct net_options *o, const char *data_root, const char *exec_root, struct network **out,
             struct berth_error **err);
void net_close(struct network *n);
/* net_repair: drop every veth, netns file, lease and published port whose container is not in
 * live_ids (NULL-terminated full ids of containers whose process still runs) */
int net_repair(struct network *n, char *const *live_ids, struct berth_error **err);

/* A legacy --link: the linked container as the daemon knows it */
struct net_link {
  const char *name;            /* the linked container's name, without '/' */
  const char *alias;           /* alias inside this container (name when none given) */
  const char *ip;              /* its IPAddress */
  const char *hostname;        /* its Config.Hostname (Docker lists it in /etc/hosts), or NULL */
  const json_t *exposed_ports; /* its Config.ExposedPorts ({"5432/tcp": {}}) or NULL */
  const json_t *env;           /* its Config.Env, or NULL */
};

struct net_request {
  const char *name;           /* this container's name, without '/' */
  const char *mode;           /* HostConfig.NetworkMode: ""/default/bridge, none, host, container:X */
  const char *hostname;       /* Config.Hostname */
  const char *domainname;     /* Config.Domainname */
  const json_t *dns;          /* HostConfig.Dns, DnsSearch, DnsOptions, ExtraHosts: string arrays */
  const json_t *dns_search;
  const json_t *dns_options;
  const json_t *extra_hosts;  /* "name:ip" */
  const struct net_link *links;
  size_t nlinks;
  const json_t *port_bindings; /* HostConfig.PortBindings */
  bool publish_all;            /* HostConfig.PublishAllPorts */
  const json_t *exposed_ports; /* Config.ExposedPorts */
  const char *mac_address;     /* Config.MacAddress, or NULL */
  const char *ip;              /* a static address asked for (refused on the default bridge, like Docker) */
  /* the user-defined networks it is on besides its mode's: {"NAME": {"Aliases":[...],
   * "IPAMConfig":{"IPv4Address":"..."}}} (NetworkingConfig.EndpointsConfig or the stored
   * Networks); the mode's own network takes its entry from here too */
  const json_t *endpoints;
};

/* net_mode_check: validate a NetworkMode value ("container:" needs a name); 0 or EINVAL/ENOTSUP */
int net_mode_check(const char *mode, struct berth_error **err);
/* net_mode_is: mode (as above) is "bridge" (or default), "none", "host" or "container" */
bool net_mode_is(const char *mode, const char *what);
/* net_mode_container: the NAME|ID of container:NAME, or NULL */
const char *net_mode_container(const char *mode);

/* net_container_setup: the container's network for bridge and none modes (a bind-mounted netns,
 * for bridge also a veth on the bridge, an address, routes, published ports), nothing for
 * host/container modes. *settings receives NetworkSettings as Docker's inspect shows it.
 * Everything is undone on failure. */
int net_container_setup(struct network *n, const char *id, const struct net_request *req, json_t **settings,
                        struct berth_error **err);
/* net_container_teardown: remove published ports, veth, netns file and lease; idempotent.
 * settings (may be NULL) is what setup returned. */
int net_container_teardown(struct network *n, const char *id, const json_t *settings, struct berth_error **err);
/* net_settings_stopped: NetworkSettings of a stopped container, as Docker shows it: the same
 * networks with addresses, ports, sandbox and endpoint cleared (new reference) */
json_t *net_settings_stopped(const json_t *settings);
/* net_ports_summary: the "Ports" of GET /containers/json from NetworkSettings.Ports:
 * [{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}, {"PrivatePort":443,"Type":"tcp"}] */
json_t *net_ports_summary(const json_t *settings);
/* net_netns_path: EXEC_ROOT/netns/ID (heap): the path setup binds the namespace at (SandboxKey) */
char *net_netns_path(struct network *n, const char *id);

/* net_container_files: DIR/hostname, DIR/hosts and DIR/resolv.conf, each written only when
 * missing (edits inside the container are kept until rm). settings: what setup returned. */
int net_container_files(struct network *n, const char *dir, const struct net_request *req, const json_t *settings,
                        struct berth_error **err);
/* net_link_env: the environment variables Docker gives for legacy links (ALIAS_NAME,
 * ALIAS_PORT, ALIAS_PORT_5432_TCP..., ALIAS_ENV_X) appended to the string vector *env */
void net_link_env(const struct net_link *l, const char *self_name, char ***env);

/* net_networks_json: GET /networks: the predefined networks bridge, host and none */
json_t *net_networks_json(struct network *n);
/* net_network_inspect: GET /networks/{id} by name, id or id prefix; ENOENT "network X not found" */
int net_network_inspect(struct network *n, const char *ref, json_t **out, struct berth_error **err);
/* net_bridge_name: the bridge in use (for info and messages) */
const char *net_bridge_name(struct network *n);

/* ---------- user-defined networks (usernet.c, uendpoint.c) ---------- */

struct net_create {
  const char *name;
  const char *driver;    /* "" or "bridge"; others are refused */
  bool internal, attachable, enable_ipv6;
  const json_t *ipam;    /* {"Driver":"default", "Config":[{"Subnet","Gateway","IPRange"}]} */
  const json_t *options; /* com.docker.network.bridge.name, com.docker.network.driver.mtu... */
  const json_t *labels;
};
/* net_create: a bridge network of its own; *out is {"Id", "Warning"}. EEXIST for a taken name,
 * EPERM for a predefined name or an overlapping subnet, ENOTSUP for other drivers */
int net_create(struct network *n, const struct net_create *c, json_t **out, struct berth_error **err);
/* net_remove: by name, id or id prefix. EPERM for predefined ones and ones with endpoints,
 * -ENOENT (no message) when unknown. *name (heap) and id receive what was removed */
int net_remove(struct network *n, const char *ref, char **name, char id[65], struct berth_error **err);
/* net_resolve: name and id of the network ref names; predefined: bridge/host/none. ENOENT */
int net_resolve(struct network *n, const char *ref, char **name, char id[65], bool *predefined,
                struct berth_error **err);
/* net_mode_user: NetworkMode names a user-defined network (not bridge/none/host/container:) */
bool net_mode_user(const char *mode);

/* net_container_connect: attach a running container (its namespace is SandboxKey of settings)
 * to the user network ref: a new veth ethN, address, DNS. settings gets Networks[NAME]. */
int net_container_connect(struct network *n, const char *id, const char *ctr_name, const char *ref,
                          const json_t *epcfg, const struct net_link *links, size_t nlinks, json_t *settings,
                          struct berth_error **err);
/* net_container_disconnect: the reverse (veth deleted, address released); settings updated */
int net_container_disconnect(struct network *n, const char *id, const char *ref, json_t *settings,
                             struct berth_error **err);
/* net_endpoint_stopped: a Networks entry for a container that is not running (no addresses);
 * *name (heap) is the network's name */
int net_endpoint_stopped(struct network *n, const char *ref, const json_t *epcfg, const char *short_id, char **name,
                         json_t **entry, struct berth_error **err);
/* net_settings_created: NetworkSettings of a created container: its networks, no addresses
 * (n NULL: without looking the networks up, names as given and no ids) */
json_t *net_settings_created(struct network *n, const char *mode, const json_t *endpoints, const char *short_id);
/* net_resolv_user: does this container use the embedded DNS (it is on a user network)? */
bool net_uses_dns(const struct net_request *req);
