/* dns.h - the embedded DNS server for containers on user-defined networks: like Docker's, it
 * answers at 127.0.0.11:53 inside each container's network namespace. berthd holds one UDP
 * socket per such container (made inside its netns, no process, no nftables rule) and one
 * thread serves them all; names it does not know are forwarded to the host's nameservers. */
#pragma once
#include <netinet/in.h>
#include <stddef.h>
#include "common/error.h"

struct dns_server;

/* dns_lookup_fn: the IPv4 addresses (at most max, in out) that NAME has for the container
 * CONTAINER_ID asking: container names, aliases and links on the networks it shares with it.
 * NAME comes without the trailing dot, lower-cased. Returns the count; 0 = not a container
 * name (the query is forwarded upstream). Called on the server's thread. */
typedef size_t (*dns_lookup_fn)(void *ud, const char *container_id, const char *name, struct in_addr *out,
                                size_t max);

/* dns_server_start: start the serving thread. resolv_conf: the host's resolv.conf, read for
 * the upstream nameservers; forwarding happens from berthd's own namespace, so loopback
 * nameservers (127.0.0.53) work too. */
int dns_server_start(dns_lookup_fn fn, void *ud, const char *resolv_conf, struct dns_server **out,
                     struct berth_error **err);
/* dns_server_stop: stop the thread, close every socket, free */
void dns_server_stop(struct dns_server *s);

/* dns_socket_open: a UDP socket bound to 127.0.0.11:53 inside the network namespace bound at
 * NETNS_PATH (the thread that makes it enters the namespace and leaves again) */
int dns_socket_open(const char *netns_path, int *out_fd, struct berth_error **err);
/* dns_server_add: serve FD (from dns_socket_open; the server owns it from now on, also on
 * error) for CONTAINER_ID. Adding an id again replaces its socket. */
int dns_server_add(struct dns_server *s, const char *container_id, int fd, struct berth_error **err);
/* dns_server_remove: stop serving CONTAINER_ID and close its socket; unknown ids are ignored */
void dns_server_remove(struct dns_server *s, const char *container_id);
