/* test_dns.c - unit tests of the embedded DNS server: the packet layer (names, compression,
 * malformed input, responses, truncation, EDNS, PTR names) and, as root, a live server serving a
 * private network namespace over UDP and TCP and forwarding to fake upstream servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "network/dns.h"

/* ---------- building test packets ---------- */

static size_t put_name(uint8_t *p, const char *name) {
  size_t o = 0;
  while (*name) {
    size_t l = strcspn(name, ".");
    p[o++] = (uint8_t)l;
    memcpy(p + o, name, l);
    o += l;
    name += l;
    if (*name == '.') name++;
  }
  p[o++] = 0;
  return o;
}

/* query: a standard query (RD set) for NAME/TYPE; edns > 0 adds an OPT record with that size */
static size_t query(uint8_t *p, uint16_t id, const char *name, uint16_t type, uint16_t edns) {
  uint8_t h[12] = {id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0};
  memcpy(p, h, 12);
  size_t o = 12 + put_name(p + 12, name);
  uint8_t t[4] = {type >> 8, type & 0xff, 0, 1};
  memcpy(p + o, t, 4);
  o += 4;
  if (edns) {
    uint8_t opt[11] = {0, 0, 41, edns >> 8, edns & 0xff, 0, 0, 0, 0, 0, 0};
    memcpy(p + o, opt, 11);
    o += 11;
  }
  return o;
}

static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* ---------- the packet layer ---------- */

static void test_name_compression(void **state) {
  uint8_t m[64] = {0};
  size_t o = 12 + put_name(m + 12, "Example.COM"); /* 12..24 */
  size_t www = o;
  memcpy(m + o, "\3www\xc0\x0c", 6);
  o += 6;
  size_t two = o; /* a pointer to a name that itself ends in a pointer */
  memcpy(m + o, "\1a\xc0", 3);
  m[o + 3] = (uint8_t)www;
  o += 4;
  struct dns_name n;
  size_t off = www;
  assert_int_equal(dns_name_read(m, o, &off, &n), 0);
  assert_string_equal(n.text, "www.example.com");
  assert_int_equal(off, www + 6);
  assert_int_equal(n.wire_len, 17);
  assert_memory_equal(n.wire, "\3www\7Example\3COM", 17);
  assert_true(n.plain);
  off = two;
  assert_int_equal(dns_name_read(m, o, &off, &n), 0);
  assert_string_equal(n.text, "a.www.example.com");
  assert_int_equal(off, two + 4);
  /* the root */
  uint8_t root[13] = {0};
  off = 12;
  assert_int_equal(dns_name_read(root, 13, &off, &n), 0);
  assert_string_equal(n.text, "");
  assert_int_equal(off, 13);
}

static void test_name_malformed(void **state) {
  struct dns_name n;
  uint8_t m[600] = {0};
  size_t off;
  /* a pointer to itself, and two pointers to each other */
  memcpy(m + 12, "\xc0\x0c", 2);
  off = 12;
  assert_int_equal(dns_name_read(m, 14, &off, &n), -EINVAL);
  memcpy(m + 12, "\1a\xc0\x10\1b\xc0\x0c", 8);
  off = 16;
  assert_int_equal(dns_name_read(m, 20, &off, &n), -EINVAL);
  /* a forward pointer */
  memcpy(m + 12, "\xc0\x20", 2);
  off = 12;
  assert_int_equal(dns_name_read(m, 64, &off, &n), -EINVAL);
  /* a label of 64 (its top bits say "extended label type") and the reserved 0x80 type */
  m[12] = 64;
  off = 12;
  assert_int_equal(dns_name_read(m, 200, &off, &n), -EINVAL);
  m[12] = 0x80;
  off = 12;
  assert_int_equal(dns_name_read(m, 200, &off, &n), -EINVAL);
  /* a label running past the end; a name without its terminating zero; a cut pointer */
  memcpy(m + 12, "\5ab", 3);
  off = 12;
  assert_int_equal(dns_name_read(m, 15, &off, &n), -EINVAL);
  memcpy(m + 12, "\2ab", 3);
  off = 12;
  assert_int_equal(dns_name_read(m, 15, &off, &n), -EINVAL);
  m[12] = 0xc0;
  off = 12;
  assert_int_equal(dns_name_read(m, 13, &off, &n), -EINVAL);
  /* 63-byte labels: four make 256 wire bytes, one too many; three plus a 61 make 255 */
  size_t o = 12;
  for (int i = 0; i < 4; i++) {
    m[o++] = 63;
    memset(m + o, 'x', 63);
    o += 63;
  }
  m[o++] = 0;
  off = 12;
  assert_int_equal(dns_name_read(m, o, &off, &n), -EINVAL);
  m[12 + 3 * 64] = 61;
  m[12 + 3 * 64 + 62] = 0;
  off = 12;
  assert_int_equal(dns_name_read(m, o, &off, &n), 0);
  assert_int_equal(n.wire_len, 255);
  assert_int_equal(strlen(n.text), 253);
  /* odd bytes: parsed but not plain (never looked up) */
  memcpy(m + 12, "\3a.b\1\0\0", 7);
  off = 12;
  assert_int_equal(dns_name_read(m, 19, &off, &n), 0);
  assert_false(n.plain);
}

static void test_parse_query(void **state) {
  uint8_t m[600];
  struct dns_question q;
  size_t n = query(m, 0x1234, "Web.Example", 1, 0);
  assert_int_equal(dns_parse_query(m, n, &q), 0);
  assert_int_equal(q.id, 0x1234);
  assert_int_equal(q.qtype, 1);
  assert_int_equal(q.qclass, 1);
  assert_string_equal(q.name.text, "web.example");
  assert_false(q.edns);
  assert_int_equal(q.udp_size, 512);
  n = query(m, 1, "web", 28, 4096);
  assert_int_equal(dns_parse_query(m, n, &q), 0);
  assert_true(q.edns);
  assert_int_equal(q.udp_size, 4096);
  n = query(m, 1, "web", 1, 100); /* a size under 512 means 512 */
  assert_int_equal(dns_parse_query(m, n, &q), 0);
  assert_int_equal(q.udp_size, 512);
  /* truncated header, truncated question, truncated OPT */
  assert_int_equal(dns_parse_query(m, 11, &q), -EINVAL);
  n = query(m, 1, "web", 1, 0);
  assert_int_equal(dns_parse_query(m, n - 1, &q), -EINVAL);
  n = query(m, 1, "web", 1, 4096);
  assert_int_equal(dns_parse_query(m, n - 1, &q), -EINVAL);
  /* a response, no question, two questions */
  n = query(m, 1, "web", 1, 0);
  m[2] |= 0x80;
  assert_int_equal(dns_parse_query(m, n, &q), -EINVAL);
  m[2] &= 0x7f;
  m[5] = 0;
  assert_int_equal(dns_parse_query(m, n, &q), -EINVAL);
  m[5] = 2;
  assert_int_equal(dns_parse_query(m, n, &q), -EINVAL);
  /* two OPT records; additional records claimed but missing */
  n = query(m, 1, "web", 1, 4096);
  memcpy(m + n, m + n - 11, 11);
  m[11] = 2;
  assert_int_equal(dns_parse_query(m, n + 11, &q), -EINVAL);
  m[11] = 9;
  assert_int_equal(dns_parse_query(m, n, &q), -EINVAL);
  /* a compressed question pointing into the header is read, but strictly backwards only */
  uint8_t c[18] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1};
  assert_int_equal(dns_parse_query(c, sizeof(c), &q), -EINVAL);
}

static void test_build_response(void **state) {
  uint8_t m[600], out[4096];
  struct dns_question q;
  size_t n = query(m, 0xbeef, "WEB", 1, 0);
  assert_int_equal(dns_parse_query(m, n, &q), 0);
  struct in_addr a[2] = {{htonl(0x0a000002)}, {htonl(0x0a000003)}};
  size_t r = dns_build_response(&q, 0, a, 2, 512, out);
  static const uint8_t want[] = {
      0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,         /* QR RD RA, 1 question, 2 answers */
      3, 'W', 'E', 'B', 0, 0, 1, 0, 1,                        /* the question as asked */
      0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 2, 0x58, 0, 4, 10, 0, 0, 2, /* web A 600 10.0.0.2 */
      0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 2, 0x58, 0, 4, 10, 0, 0, 3,
  };
  assert_int_equal(r, sizeof(want));
  assert_memory_equal(out, want, sizeof(want));
  /* SERVFAIL, no records */
  r = dns_build_response(&q, 2, NULL, 0, 512, out);
  assert_int_equal(r, 21);
  assert_int_equal(g16(out + 2), 0x8182);
  assert_int_equal(g16(out + 6), 0);
  /* more addresses than 512 bytes hold: cut, TC set */
  struct in_addr many[40];
  for (int i = 0; i < 40; i++) many[i].s_addr = htonl(0x0a000000u + (unsigned)i);
  r = dns_build_response(&q, 0, many, 40, 512, out);
  assert_true(r <= 512);
  assert_int_equal(g16(out + 6), (512 - 21) / 16);
  assert_true(g16(out + 2) & 0x0200);
  r = dns_build_response(&q, 0, many, 40, 4096, out);
  assert_int_equal(g16(out + 6), 40);
  assert_false(g16(out + 2) & 0x0200);
}

static void test_truncate_reply(void **state) {
  uint8_t m[1024];
  size_t n = query(m, 7, "big.example", 16, 0);
  m[2] |= 0x80;
  memset(m + n, 0xaa, 700); /* records we do not need to read */
  m[7] = 9;
  assert_int_equal(dns_truncate_reply(m, n + 700, 1024), n + 700);
  assert_int_equal(dns_truncate_reply(m, n + 700, 512), n);
  assert_true(g16(m + 2) & 0x0200);
  assert_int_equal(g16(m + 6), 0);
  assert_int_equal(dns_truncate_reply(m, 5, 512), 0);
  m[5] = 3; /* three questions: not something we can cut safely */
  assert_int_equal(dns_truncate_reply(m, 600, 512), 0);
}

static void test_ptr_addr(void **state) {
  struct in_addr a;
  assert_true(dns_ptr_addr("2.0.18.172.in-addr.arpa", &a));
  assert_int_equal(ntohl(a.s_addr), 0xac120002);
  assert_false(dns_ptr_addr("2.0.18.in-addr.arpa", &a));
  assert_false(dns_ptr_addr("256.0.18.172.in-addr.arpa", &a));
  assert_false(dns_ptr_addr("02.0.18.172.in-addr.arpa", &a));
  assert_false(dns_ptr_addr("-1.0.18.172.in-addr.arpa", &a));
  assert_false(dns_ptr_addr("2.0.18.172.in-addr.arpa.x", &a));
  assert_false(dns_ptr_addr("web", &a));
}

/* ---------- live: a namespace, a server, fake upstreams ---------- */

/* the test's containers: "c1" knows web (two addresses), db, and many (32 addresses) */
static size_t lookup(void *ud, const char *id, const char *name, struct in_addr *out, size_t max) {
  if (strcmp(id, "c1") != 0) return 0;
  if (strcmp(name, "web") == 0 && max >= 2) {
    out[0].s_addr = htonl(0x0a000002);
    out[1].s_addr = htonl(0x0a000003);
    return 2;
  }
  if (strcmp(name, "db") == 0) {
    out[0].s_addr = htonl(0x0a000004);
    return 1;
  }
  if (strcmp(name, "many") != 0) return 0;
  for (size_t i = 0; i < max; i++) out[i].s_addr = htonl(0x0a010000u + (uint32_t)i);
  return max;
}

static bool reverse(void *ud, const char *id, struct in_addr a, char *name, size_t size) {
  if (strcmp(id, "c1") != 0 || ntohl(a.s_addr) != 0x0a000002) return false;
  snprintf(name, size, "web.mynet");
  return true;
}

/* a fake upstream on 127.0.0.1, UDP and TCP on one port: ROLE 1 refuses everything but
 * first.example and stays silent for hop.example; role 2 answers up.example and hop.example, is
 * silent for slow.example, NXDOMAIN otherwise */
struct upstream {
  int fd, tfd, role;
  _Atomic int tcp_queries;
  int stop[2];
  pthread_t t;
  uint16_t port;
};

/* answer: the fake's answer to M in OUT (its length), 0 for silence */
static size_t answer(int role, const uint8_t *m, size_t n, uint8_t *out, size_t size) {
  struct dns_question q;
  if (dns_parse_query(m, n, &q) < 0) return 0;
  uint8_t ip[4] = {0};
  unsigned rcode = 3;
  const char *nm = q.name.text;
  if (role == 1 && strcmp(nm, "hop.example") == 0) return 0;
  if (role == 1) rcode = strcmp(nm, "first.example") == 0 ? 0 : 5;
  if (role == 1 && rcode == 0) memcpy(ip, "\5\6\7\10", 4);
  if (role == 2 && strcmp(nm, "slow.example") == 0) return 0;
  if (role == 2 && strcmp(nm, "up.example") == 0) rcode = 0, memcpy(ip, "\1\2\3\4", 4);
  if (role == 2 && strcmp(nm, "hop.example") == 0) rcode = 0, memcpy(ip, "\11\11\11\11", 4);
  struct in_addr a;
  memcpy(&a.s_addr, ip, 4);
  return dns_build_response(&q, rcode, &a, rcode == 0, size, out);
}

/* upstream_tcp: one connection, queries until EOF */
static void upstream_tcp(struct upstream *u) {
  int c = accept4(u->tfd, NULL, NULL, SOCK_CLOEXEC);
  uint8_t m[1024], out[1024];
  while (c >= 0 && read(c, m, 2) == 2) {
    size_t len = g16(m);
    if (len > sizeof(m) || read(c, m, len) != (ssize_t)len) break;
    size_t r = answer(u->role, m, len, out + 2, sizeof(out) - 2);
    u->tcp_queries++;
    if (!r) continue;
    out[0] = (uint8_t)(r >> 8);
    out[1] = (uint8_t)r;
    if (write(c, out, r + 2) != (ssize_t)r + 2) break;
  }
  if (c >= 0) close(c);
}

static void *upstream_serve(void *arg) {
  struct upstream *u = arg;
  struct pollfd p[3] = {{.fd = u->fd, .events = POLLIN}, {.fd = u->tfd, .events = POLLIN},
                        {.fd = u->stop[0], .events = POLLIN}};
  uint8_t m[1024], out[1024];
  while (poll(p, 3, -1) > 0 && !(p[2].revents & POLLIN)) {
    if (p[1].revents & POLLIN) upstream_tcp(u);
    if (!(p[0].revents & POLLIN)) continue;
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(u->fd, m, sizeof(m), 0, (struct sockaddr *)&from, &fl);
    size_t r = n > 0 ? answer(u->role, m, (size_t)n, out, sizeof(out)) : 0;
    if (r) sendto(u->fd, out, r, 0, (struct sockaddr *)&from, fl);
  }
  return NULL;
}

/* upstream_start: on 127.0.0.1, or on ::1 with V6 (false when the host has no IPv6) */
static bool upstream_start(struct upstream *u, int role, bool v6) {
  u->role = role;
  u->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  u->tfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
  } a = {0};
  socklen_t l = v6 ? sizeof(a.in6) : sizeof(a.in);
  if (v6) {
    a.in6.sin6_family = AF_INET6;
    a.in6.sin6_addr = in6addr_loopback;
  } else {
    a.in.sin_family = AF_INET;
    a.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  if (bind(u->fd, &a.sa, l) < 0 && v6) {
    close(u->fd);
    close(u->tfd);
    return false;
  }
  assert_int_equal(getsockname(u->fd, &a.sa, &l), 0);
  assert_int_equal(bind(u->tfd, &a.sa, l), 0);
  assert_int_equal(listen(u->tfd, 8), 0);
  u->port = ntohs(v6 ? a.in6.sin6_port : a.in.sin_port);
  assert_int_equal(pipe(u->stop), 0);
  assert_int_equal(pthread_create(&u->t, NULL, upstream_serve, u), 0);
  return true;
}

static void upstream_stop(struct upstream *u) {
  assert_int_equal(write(u->stop[1], "x", 1), 1);
  pthread_join(u->t, NULL);
  close(u->fd);
  close(u->tfd);
  close(u->stop[0]);
  close(u->stop[1]);
}

/* the namespace: made by a thread that binds it at PATH, sets lo up and makes the client sockets
 * (sockets stay in the namespace they were made in) */
struct ns_job {
  const char *path;
  int udp, udp2, tcp[3];
  int rc;
};

static void *ns_thread(void *arg) {
  struct ns_job *j = arg;
  struct ifreq ifr = {0};
  if (unshare(CLONE_NEWNET) < 0 || mount("/proc/thread-self/ns/net", j->path, NULL, MS_BIND, NULL) < 0) {
    j->rc = -errno;
    return NULL;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP;
  j->rc = ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
  close(s);
  j->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  j->udp2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  for (int i = 0; i < 3; i++) j->tcp[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  return NULL;
}

static const struct sockaddr_in dns_addr = {.sin_family = AF_INET, .sin_port = 0x3500 /* htons(53) */,
                                            .sin_addr.s_addr = 0x0b00007f /* 127.0.0.11 */};

/* ask: send over UDP, wait up to MS for the answer; its length or -1 */
static ssize_t ask(int fd, const uint8_t *q, size_t n, uint8_t *ans, size_t size, int ms) {
  if (sendto(fd, q, n, 0, (const struct sockaddr *)&dns_addr, sizeof(dns_addr)) != (ssize_t)n) return -1;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, ms) != 1) return -1;
  return recv(fd, ans, size, 0);
}

static ssize_t ask_tcp(int fd, const uint8_t *q, size_t n, uint8_t *ans, size_t size) {
  uint8_t buf[600] = {n >> 8, n & 0xff};
  memcpy(buf + 2, q, n);
  if (write(fd, buf, n + 2) != (ssize_t)(n + 2)) return -1;
  size_t got = 0;
  while (got < 2 || got < 2 + (size_t)g16(ans)) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 3000) != 1) return -1;
    ssize_t r = read(fd, ans + got, size - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* answer_ip: the address in the first A record of a response whose question is N bytes */
static uint32_t answer_ip(const uint8_t *a, size_t qlen) {
  const uint8_t *ip = a + qlen + 12;
  return (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
}

static void live_udp(int fd) {
  uint8_t q[600], a[4096];
  size_t n = query(q, 0x4242, "WeB", 1, 0);
  ssize_t r = ask(fd, q, n, a, sizeof(a), 2000);
  assert_int_equal(r, (ssize_t)n + 32);
  assert_int_equal(g16(a), 0x4242);
  assert_int_equal(g16(a + 2), 0x8180);
  assert_int_equal(g16(a + 6), 2);
  assert_memory_equal(a + 12, "\3WeB", 4); /* the question as asked */
  assert_int_equal(answer_ip(a, n), 0x0a000002);
  n = query(q, 2, "web", 28, 0); /* AAAA: NOERROR, nothing */
  r = ask(fd, q, n, a, sizeof(a), 2000);
  assert_int_equal(r, (ssize_t)n);
  assert_int_equal(g16(a + 2) & 0xf, 0);
  assert_int_equal(g16(a + 6), 0);
  n = query(q, 3, "many", 1, 0); /* 32 addresses: 524 bytes, over 512 without EDNS */
  r = ask(fd, q, n, a, sizeof(a), 2000);
  assert_true(r > 0 && r <= 512);
  assert_true(g16(a + 2) & 0x0200);
  n = query(q, 4, "many", 1, 1232); /* with EDNS: all, no OPT in the answer */
  r = ask(fd, q, n, a, sizeof(a), 2000);
  assert_int_equal(r, (ssize_t)(n - 11 + 32 * 16));
  assert_int_equal(g16(a + 6), 32);
  assert_int_equal(g16(a + 10), 0);
  n = query(q, 5, "2.0.0.10.in-addr.arpa", 12, 0);
  r = ask(fd, q, n, a, sizeof(a), 2000);
  assert_int_equal(g16(a + 6), 1);
  assert_memory_equal(a + n + 12, "\3web\5mynet\0", 11);
  /* garbage is dropped, and the server still answers afterwards */
  assert_int_equal(ask(fd, (const uint8_t *)"\1\2\3", 3, a, sizeof(a), 200), -1);
  n = query(q, 6, "db", 1, 0);
  q[12] = 0xc0;
  q[13] = 0x0c;
  assert_int_equal(ask(fd, q, n, a, sizeof(a), 200), -1);
  n = query(q, 7, "db", 1, 0);
  r = ask(fd, q, n, a, sizeof(a), 2000);
  assert_int_equal(answer_ip(a, n), 0x0a000004);
}

static void live_forward(int fd) {
  uint8_t q[600], a[4096];
  size_t n = query(q, 0x1111, "up.example", 1, 0); /* refused by the first, answered by the second */
  ssize_t r = ask(fd, q, n, a, sizeof(a), 2000);
  assert_int_equal(r, (ssize_t)n + 16);
  assert_int_equal(g16(a), 0x1111);
  assert_int_equal(answer_ip(a, n), 0x01020304);
  n = query(q, 0x2222, "first.example", 1, 0);
  r = ask(fd, q, n, a, sizeof(a), 2000);
  assert_int_equal(answer_ip(a, n), 0x05060708);
  n = query(q, 0x3333, "nope.example", 1, 0);
  r = ask(fd, q, n, a, sizeof(a), 2000);
  assert_int_equal(g16(a + 2) & 0xf, 3);
  double t0 = now_s(); /* the first is silent: after its 1 s the second answers */
  n = query(q, 0x4444, "hop.example", 1, 0);
  r = ask(fd, q, n, a, sizeof(a), 3000);
  assert_int_equal(answer_ip(a, n), 0x09090909);
  assert_true(now_s() - t0 >= 0.9);
  t0 = now_s(); /* nobody answers: SERVFAIL after 5 s */
  n = query(q, 0x5555, "slow.example", 1, 0);
  r = ask(fd, q, n, a, sizeof(a), 7000);
  assert_int_equal(r, (ssize_t)n);
  assert_int_equal(g16(a), 0x5555);
  assert_int_equal(g16(a + 2) & 0xf, 2);
  assert_true(now_s() - t0 >= 4.5);
}

static void live_tcp(int fd, struct upstream *u1, struct upstream *u2) {
  uint8_t q[600], a[4096];
  assert_int_equal(connect(fd, (const struct sockaddr *)&dns_addr, sizeof(dns_addr)), 0);
  size_t n = query(q, 0x7777, "db", 1, 0);
  ssize_t r = ask_tcp(fd, q, n, a, sizeof(a));
  assert_int_equal(r, (ssize_t)(2 + n + 16));
  assert_int_equal(g16(a + 2), 0x7777);
  assert_int_equal(answer_ip(a + 2, n), 0x0a000004);
  n = query(q, 0x7778, "many", 1, 0); /* TCP: no 512-byte limit */
  r = ask_tcp(fd, q, n, a, sizeof(a));
  assert_int_equal(g16(a + 8), 32);
  n = query(q, 0x7779, "up.example", 1, 0); /* forwarded over TCP: refused by one, answered by two */
  r = ask_tcp(fd, q, n, a, sizeof(a));
  assert_int_equal(r, (ssize_t)(2 + n + 16));
  assert_int_equal(g16(a + 2), 0x7779);
  assert_int_equal(answer_ip(a + 2, n), 0x01020304);
  n = query(q, 0x777a, "first.example", 1, 0);
  r = ask_tcp(fd, q, n, a, sizeof(a));
  assert_int_equal(answer_ip(a + 2, n), 0x05060708);
  assert_int_equal(u1->tcp_queries, 2);
  assert_int_equal(u2->tcp_queries, 1);
}

/* a length prefix over what a query may be: the server hangs up */
static void live_tcp_bad(int fd) {
  assert_int_equal(connect(fd, (const struct sockaddr *)&dns_addr, sizeof(dns_addr)), 0);
  assert_int_equal(write(fd, "\xff\xff", 2), 2);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, 2000), 1);
  char c;
  assert_true(read(fd, &c, 1) <= 0);
}

/* live_teardown: the namespace and files of test_live, also when an assertion cut it short */
static int live_teardown(void **state) {
  char *dir = *state;
  if (!dir) return 0;
  _cleanup_free_ char *ns = xasprintf("%s/ns", dir);
  umount2(ns, MNT_DETACH);
  rm_rf(dir, NULL);
  free(dir);
  *state = NULL;
  return 0;
}

static void test_live(void **state) {
  if (geteuid() != 0) skip();
  char tmp[] = "/tmp/test_dns.XXXXXX";
  assert_non_null(mkdtemp(tmp));
  *state = xstrdup(tmp);
  _cleanup_free_ char *nspath = xasprintf("%s/ns", tmp), *resolv = xasprintf("%s/resolv.conf", tmp);
  close(open(nspath, O_CREAT | O_RDONLY, 0444));
  struct ns_job j = {.path = nspath};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, ns_thread, &j), 0);
  pthread_join(t, NULL);
  if (j.rc < 0) skip();
  struct upstream u1 = {0}, u2 = {0};
  upstream_start(&u1, 1, false);
  upstream_start(&u2, 2, false);
  _cleanup_free_ char *conf = xasprintf("# test\nnameserver 127.0.0.1:%u\nnameserver 127.0.0.1:%u ; x\n"
                                        "search example\noptions ndots:1 timeout:1\n", u1.port, u2.port);
  assert_int_equal(write_file_atomic(resolv, conf, strlen(conf), 0644, 0, NULL), 0);

  struct dns_server *s = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  assert_int_equal(dns_server_start(lookup, NULL, resolv, &s, &e), 0);
  dns_server_set_reverse(s, reverse);
  int fd = -1;
  assert_int_equal(dns_socket_open(nspath, &fd, &e), 0);
  assert_int_equal(dns_server_add(s, "c1", fd, &e), 0); /* makes the TCP socket itself */
  live_udp(j.udp);
  live_tcp(j.tcp[0], &u1, &u2);
  live_tcp_bad(j.tcp[2]);
  live_forward(j.udp);

  /* resolv.conf changes (live_forward took over 5 s, so the server looks again): only the second */
  free(conf);
  conf = xasprintf("nameserver 127.0.0.1:%u\n", u2.port);
  assert_int_equal(write_file_atomic(resolv, conf, strlen(conf), 0644, 0, NULL), 0);
  uint8_t q[600], a[600];
  size_t n = query(q, 8, "hop.example", 1, 0);
  double t0 = now_s();
  assert_true(ask(j.udp, q, n, a, sizeof(a), 2000) > 0);
  assert_int_equal(answer_ip(a, n), 0x09090909);
  assert_true(now_s() - t0 < 0.5);

  /* replaced by sockets from dns_socket_open2, then removed: no more answers */
  int udp = -1, tcp = -1;
  dns_server_remove(s, "c1");
  assert_int_equal(dns_socket_open2(nspath, &udp, &tcp, &e), 0);
  assert_int_equal(dns_server_add2(s, "c1", udp, tcp, &e), 0);
  n = query(q, 9, "db", 1, 0);
  assert_int_equal(ask(j.udp2, q, n, a, sizeof(a), 2000), (ssize_t)n + 16);
  dns_server_remove(s, "c1");
  usleep(100000);
  assert_int_equal(ask(j.udp2, q, n, a, sizeof(a), 300), -1);
  assert_int_not_equal(connect(j.tcp[1], (const struct sockaddr *)&dns_addr, sizeof(dns_addr)), 0);
  /* a namespace path that is not one */
  assert_int_not_equal(dns_socket_open(resolv, &fd, &e), 0);
  assert_non_null(strstr(berr_msg(e), "enter the network namespace"));

  dns_server_stop(s);
  upstream_stop(&u1);
  upstream_stop(&u2);

  /* no nameserver at all: unknown names get SERVFAIL at once */
  assert_int_equal(dns_server_start(lookup, NULL, NULL, &s, &e), 0);
  assert_int_equal(dns_socket_open2(nspath, &udp, &tcp, &e), 0);
  assert_int_equal(dns_server_add2(s, "c1", udp, tcp, &e), 0);
  n = query(q, 10, "up.example", 1, 0);
  t0 = now_s();
  assert_int_equal(ask(j.udp2, q, n, a, sizeof(a), 2000), (ssize_t)n);
  assert_int_equal(g16(a + 2) & 0xf, 2);
  assert_true(now_s() - t0 < 0.5);
  dns_server_stop(s);

  /* an IPv6 nameserver with a port, in brackets */
  struct upstream u6 = {0};
  if (upstream_start(&u6, 2, true)) {
    free(conf);
    conf = xasprintf("nameserver [::1]:%u\n", u6.port);
    assert_int_equal(write_file_atomic(resolv, conf, strlen(conf), 0644, 0, NULL), 0);
    assert_int_equal(dns_server_start(lookup, NULL, resolv, &s, &e), 0);
    assert_int_equal(dns_socket_open2(nspath, &udp, &tcp, &e), 0);
    assert_int_equal(dns_server_add2(s, "c1", udp, tcp, &e), 0);
    n = query(q, 11, "up.example", 1, 0);
    assert_true(ask(j.udp2, q, n, a, sizeof(a), 2000) > 0);
    assert_int_equal(answer_ip(a, n), 0x01020304);
    dns_server_stop(s);
    upstream_stop(&u6);
  }
  close(j.udp);
  close(j.udp2);
  close(j.tcp[0]);
  close(j.tcp[1]);
  close(j.tcp[2]);
}

/* a missing resolv.conf is no error (no upstream); stopping with requests queued is fine */
static void test_no_upstream(void **state) {
  struct dns_server *s = NULL;
  assert_int_equal(dns_server_start(lookup, NULL, "/nonexistent/resolv.conf", &s, NULL), 0);
  dns_server_stop(s);
  assert_int_equal(dns_server_start(lookup, NULL, NULL, &s, NULL), 0);
  dns_server_remove(s, "unknown");
  dns_server_set_reverse(s, reverse);
  dns_server_stop(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_name_compression), cmocka_unit_test(test_name_malformed),
      cmocka_unit_test(test_parse_query),      cmocka_unit_test(test_build_response),
      cmocka_unit_test(test_truncate_reply),   cmocka_unit_test(test_ptr_addr),
      cmocka_unit_test_teardown(test_live, live_teardown), cmocka_unit_test(test_no_upstream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
