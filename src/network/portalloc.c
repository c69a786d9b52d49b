/* portalloc.c - choosing and checking host ports: bitmaps of what our containers publish and
 * what the host's sockets hold, so a thousand ports cost two file reads, not 4000 syscalls */
#include "common/fs.h"
#include "common/xalloc.h"
#include "network/net_int.h"
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

typedef uint8_t portbits[3][8192];

static bool bit(const portbits b, int proto, unsigned port) { return b[proto][port / 8] & (1u << (port % 8)); }
static void set_bit(portbits b, int proto, unsigned port) { b[proto][port / 8] |= (uint8_t)(1u << (port % 8)); }

void ports_index_add(struct network *n, const struct port_map *v, size_t cnt) {
  for (size_t i = 0; i < cnt; i++)
    if (!v[i].exposed_only && v[i].host_port) set_bit(n->port_used, v[i].proto, v[i].host_port);
}

void ports_index_rebuild(struct network *n) {
  memset(n->port_used, 0, sizeof(n->port_used));
  for (struct ctr_net *c = n->ctrs; c; c = c->next) ports_index_add(n, c->ports, c->nports);
  for (struct unet *u = n->unets; u; u = u->next)
    for (struct uep *e = u->eps; e; e = e->next) ports_index_add(n, e->ports, e->nports);
}

static bool port_clash(const struct port_map *a, const struct port_map *b) {
  return a->proto == b->proto && a->host_port == b->host_port &&
         (a->host_ip == 0 || b->host_ip == 0 || a->host_ip == b->host_ip);
}

/* taken_by_ours: another container's port (exact check only where the bitmap says maybe) */
static bool taken_by_ours(struct network *n, const struct port_map *m) {
  if (!bit(n->port_used, m->proto, m->host_port)) return false;
  for (struct ctr_net *c = n->ctrs; c; c = c->next)
    for (size_t i = 0; i < c->nports; i++)
      if (!c->ports[i].exposed_only && port_clash(&c->ports[i], m)) return true;
  for (struct unet *u = n->unets; u; u = u->next)
    for (struct uep *e = u->eps; e; e = e->next)
      for (size_t i = 0; i < e->nports; i++)
        if (!e->ports[i].exposed_only && port_clash(&e->ports[i], m)) return true;
  return false;
}

/* taken_by_mine: an earlier port of this same request */
static bool taken_by_mine(const portbits mine, const struct port_map *m, const struct port_map *v, size_t upto) {
  if (!bit(mine, m->proto, m->host_port)) return false;
  for (size_t i = 0; i < upto; i++)
    if (!v[i].exposed_only && port_clash(&v[i], m)) return true;
  return false;
}

struct scan_target {
  portbits *b;
  int proto;
};

static void mark(void *data, unsigned port) {
  struct scan_target *t = data;
  if (port < 65536) set_bit(*t->b, t->proto, port);
}

/* scan_host: every local port some socket of the host holds (listening TCP, bound UDP) through
 * sock_diag (/proc/net/tcp walks the whole established hash: 10 ms on a big host); a coarse
 * filter, the exact check is a bind() on the ports it names. Only the protocols asked for. */
static void scan_host(portbits b, const struct port_map *v, size_t cnt) {
  bool want[2] = {false, false};
  for (size_t i = 0; i < cnt; i++)
    if (!v[i].exposed_only && v[i].proto != PROTO_SCTP) want[v[i].proto] = true;
  static const struct {
    int family, proto, ours;
    uint32_t states;
  } q[] = {{AF_INET, IPPROTO_TCP, PROTO_TCP, 1u << 10 /* TCP_LISTEN */},
           {AF_INET6, IPPROTO_TCP, PROTO_TCP, 1u << 10},
           {AF_INET, IPPROTO_UDP, PROTO_UDP, ~0u},
           {AF_INET6, IPPROTO_UDP, PROTO_UDP, ~0u}};
  for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
    if (!want[q[i].ours]) continue;
    struct scan_target t = {.b = (portbits *)b, .proto = q[i].ours};
    if (nl_diag_ports(q[i].family, q[i].proto, q[i].states, mark, &t, NULL) < 0) {
      /* no sock_diag: every port is a maybe, checked by bind() */
      memset(b[q[i].ours], 0xff, sizeof(b[q[i].ours]));
    }
  }
}

/* host_can_bind: no host process holds the port (nothing proxies for us, but a listener of the
 * host would silently lose its traffic to the container: refuse like Docker's proxy would) */
static bool host_can_bind(const portbits host, const struct port_map *m) {
  if (m->proto == PROTO_SCTP || !bit(host, m->proto, m->host_port)) return true;
  int type = m->proto == PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
  _cleanup_close_ int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sa = {
      .sin_family = AF_INET, .sin_port = htons(m->host_port), .sin_addr.s_addr = htonl(m->host_ip)};
  return bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

static void ephemeral_range(unsigned *lo, unsigned *hi) {
  *lo = 32768;
  *hi = 60999;
  _cleanup_free_ char *t = NULL;
  if (read_file("/proc/sys/net/ipv4/ip_local_port_range", &t, NULL, NULL) == 0) sscanf(t, "%u %u", lo, hi);
  if (*lo < 1024 || *hi > 65535 || *hi < *lo) *lo = 32768, *hi = 60999;
}

/* Docker's words: "... on endpoint NAME (ENDPOINT ID): ..." */
static int taken_error(const char *name, const char *epid, const struct port_map *m, bool by_host,
                       struct berth_error **err) {
  char ip[16];
  ip_str(m->host_ip, ip);
  if (by_host)
    return berr(err, EADDRINUSE,
                "driver failed programming external connectivity on endpoint %s (%s): Error starting userland proxy: "
                "listen %s4 %s:%u: bind: address already in use",
                name, epid, proto_name(m->proto), ip, m->host_port);
  return berr(err, EADDRINUSE,
              "driver failed programming external connectivity on endpoint %s (%s): Bind for %s:%u failed: port is "
              "already allocated",
              name, epid, ip, m->host_port);
}

/* pick: a free port of lo..hi, from a random start like Docker's allocator */
static bool pick(struct network *n, const portbits mine, const portbits host, struct port_map *m,
                 const struct port_map *v, size_t upto, unsigned lo, unsigned hi) {
  unsigned span = hi - lo + 1, start = 0;
  getrandom(&start, sizeof(start), 0);
  for (unsigned k = 0; k < span; k++) {
    m->host_port = (uint16_t)(lo + (start + k) % span);
    if (!taken_by_ours(n, m) && !taken_by_mine(mine, m, v, upto) && host_can_bind(host, m)) return true;
  }
  m->host_port = 0;
  return false;
}

int ports_alloc(struct network *n, const char *name, const char *epid, struct port_map *v, size_t cnt,
                struct berth_error **err) {
  bool any = false;
  for (size_t i = 0; i < cnt && !any; i++) any = !v[i].exposed_only;
  if (!any) return 0;
  portbits *mine = xcalloc(1, sizeof(portbits)), *host = xcalloc(1, sizeof(portbits));
  scan_host(*host, v, cnt);
  unsigned elo, ehi;
  ephemeral_range(&elo, &ehi);
  int r = 0;
  for (size_t i = 0; i < cnt && r == 0; i++) {
    struct port_map *m = &v[i];
    if (m->exposed_only) continue;
    if (m->host_lo && m->host_lo == m->host_hi) {
      m->host_port = m->host_lo;
      if (taken_by_ours(n, m) || taken_by_mine(*mine, m, v, i)) r = taken_error(name, epid, m, false, err);
      else if (!host_can_bind(*host, m)) r = taken_error(name, epid, m, true, err);
    } else {
      unsigned lo = m->host_lo ? m->host_lo : elo, hi = m->host_lo ? m->host_hi : ehi;
      if (!pick(n, *mine, *host, m, v, i, lo, hi))
        r = berr(err, EADDRINUSE, "no free host port in %u-%u for %u/%s", lo, hi, m->ctr_port, proto_name(m->proto));
    }
    if (r == 0) set_bit(*mine, m->proto, m->host_port);
  }
  free(mine);
  free(host);
  return r;
}
