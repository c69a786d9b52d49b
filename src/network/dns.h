/* dns.h - the embedded DNS server for containers on user-defined networks: like Docker's, it
 * answers at 127.0.0.11:53 (UDP and TCP) inside each container's network namespace. berthd
 * holds the sockets of each such container (made inside its netns, no process, no nftables
 * rule) and one thread serves them all; names it does not know are forwarded to the host's
 * nameservers. Limitation: the sockets bind 127.0.0.11:53 itself (Docker DNATs to a random
 * port), so a server in the container binding 0.0.0.0:53 needs SO_REUSEADDR (dnsmasq, bind and
 * unbound set it). */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"

struct dns_server;

/* dns_lookup_fn: the IPv4 addresses (at most max, in out) that NAME has for the container
 * CONTAINER_ID asking: container names, aliases and links on the networks it shares with it.
 * NAME comes without the trailing dot, lower-cased. Returns the count; 0 = not a container
 * name (the query is forwarded upstream). Called on the server's thread. */
typedef size_t (*dns_lookup_fn)(void *ud, const char *container_id, const char *name, struct in_addr *out,
                                size_t max);
/* dns_reverse_fn: optional, for PTR queries (x.x.x.x.in-addr.arpa): write the name (no trailing
 * dot, NUL-terminated, at most size bytes) that ADDR has for CONTAINER_ID; returns true when
 * ADDR is a container's address. Called on the server's thread with the same ud. */
typedef bool (*dns_reverse_fn)(void *ud, const char *container_id, struct in_addr addr, char *name, size_t size);

/* dns_server_start: start the serving thread. resolv_conf: the host's resolv.conf (NULL: none),
 * read for the upstream nameservers (at most 3, like glibc; read again when the file changes,
 * looked at every 5 s at most) and "options timeout:N" (the
 * time given to each nameserver before the next one is tried; the whole forward gives up with
 * SERVFAIL after 5 s). Forwarding happens from berthd's own namespace, so loopback nameservers
 * (127.0.0.53) work too. Beside glibc's syntax a nameserver may carry a port, for tests:
 * "nameserver 127.0.0.1:5353" or "nameserver [::1]:5353". */
int dns_server_start(dns_lookup_fn fn, void *ud, const char *resolv_conf, struct dns_server **out,
                     struct berth_error **err);
/* dns_server_set_reverse: answer PTR queries for containers' addresses with FN (NULL: forward
 * every PTR query). Safe to call at any time from any thread. */
void dns_server_set_reverse(struct dns_server *s, dns_reverse_fn fn);
/* dns_server_stop: stop the thread, close every socket, free; NULL is fine */
void dns_server_stop(struct dns_server *s);

/* dns_socket_open: a UDP socket bound to 127.0.0.11:53 inside the network namespace bound at
 * NETNS_PATH (the thread that makes it enters the namespace and leaves again); lo must be up */
int dns_socket_open(const char *netns_path, int *out_fd, struct berth_error **err);
/* dns_socket_open2: the UDP socket and a listening TCP socket on 127.0.0.11:53, both made by one
 * short-lived thread (cheaper than dns_socket_open + dns_server_add, which needs a second one) */
int dns_socket_open2(const char *netns_path, int *udp_fd, int *tcp_fd, struct berth_error **err);
/* dns_server_add: serve FD (the UDP socket from dns_socket_open; the server owns it from now
 * on, also on error) for CONTAINER_ID, and TCP too: the listening socket is made here in the
 * UDP socket's namespace (found with SIOCGSKNS). Adding an id again replaces its sockets. */
int dns_server_add(struct dns_server *s, const char *container_id, int fd, struct berth_error **err);
/* dns_server_add2: the same with both sockets from dns_socket_open2 (tcp_fd -1: UDP only); the
 * server owns both from now on, also on error */
int dns_server_add2(struct dns_server *s, const char *container_id, int udp_fd, int tcp_fd,
                    struct berth_error **err);
/* dns_server_remove: stop serving CONTAINER_ID and close its sockets (done when it returns, so
 * 127.0.0.11:53 is free again in that namespace); unknown ids are ignored. It waits for the
 * server's thread: never call it holding a lock that the lookup callback takes. Adds are applied
 * in order by the server's thread, just after dns_server_add returns. */
void dns_server_remove(struct dns_server *s, const char *container_id);

/* ---------- the packet layer, exposed for the unit tests and the fuzzer ---------- */

#define DNS_QUERY_MAX 512 /* longest query accepted for forwarding (EDNS options included) */
#define DNS_TTL 600       /* Docker's TTL for container names */

/* A domain name as read from a message: WIRE is uncompressed (original case), TEXT is
 * lower-cased and dotted without the trailing dot ("" for the root); PLAIN is false when a
 * label holds a dot, a space or a byte outside printable ASCII (never looked up locally) */
struct dns_name {
  uint8_t wire[255];
  uint8_t wire_len;
  bool plain;
  char text[256];
};

/* A parsed query: the one question plus what the answer needs */
struct dns_question {
  uint16_t id;
  uint16_t flags;
  uint16_t qtype;
  uint16_t qclass;
  uint16_t udp_size; /* the client's UDP payload size: 512 without EDNS, else its OPT's (>= 512) */
  bool edns;
  struct dns_name name;
};

/* dns_name_read: the name at *OFF in MSG (LEN bytes), following compression pointers (only
 * backwards, so no loop); *OFF moves past it. 0, or -EINVAL for a malformed name (truncated,
 * label over 63, name over 255, pointer forwards or into itself, reserved label types) */
int dns_name_read(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out);
/* dns_parse_query: 0, or -EINVAL for anything that is not a well-formed query with one
 * question (responses included): such packets are dropped unanswered */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *q);
/* dns_build_response: the response to Q with RCODE and A records (TTL 600) for ADDRS, written
 * to OUT (at least LIMIT bytes, LIMIT >= 512); records that would pass LIMIT are left out and
 * TC is set. No OPT record even for EDNS queries (a plain response, like Docker's). Returns
 * the length. */
size_t dns_build_response(const struct dns_question *q, unsigned rcode, const struct in_addr *addrs, size_t n,
                          size_t limit, uint8_t *out);
/* dns_truncate_reply: fit a (forwarded) reply into LIMIT bytes: unchanged when it fits, else
 * cut after the question with TC set and no records. The new length, 0 when malformed. */
size_t dns_truncate_reply(uint8_t *msg, size_t len, size_t limit);
/* dns_ptr_addr: the IPv4 address of an "d.c.b.a.in-addr.arpa" name (lower-case text); false
 * for other names */
bool dns_ptr_addr(const char *name, struct in_addr *out);
