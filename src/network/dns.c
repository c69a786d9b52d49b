/* dns.c - the embedded DNS server: one epoll thread answers container names at 127.0.0.11:53
 * (UDP and TCP) in every served container's netns and forwards other names, asynchronously,
 * to the host's nameservers. Containers are untrusted: every packet is parsed with bounds. */
#define LOG_TAG "dns"
#include "network/dns.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C
#endif

enum {
  HDR = 12,
  T_A = 1,
  T_PTR = 12,
  T_OPT = 41,
  C_IN = 1,
  F_QR = 0x8000,
  F_OPCODE = 0x7800,
  F_TC = 0x0200,
  F_RD = 0x0100,
  F_RA = 0x0080,
  RC_SERVFAIL = 2,
  RC_NOTIMP = 4,
  RC_REFUSED = 5,
  UDP_MAX = 4096,      /* the largest UDP answer we send, whatever the client's EDNS size */
  MAX_UPSTREAMS = 3,   /* glibc's MAXNS */
  MAX_PENDING = 256,   /* forwards in flight */
  MAX_PENDING_CTR = 64, /* ... and per container, so one cannot starve the others */
  MAX_CONNS = 64,      /* TCP clients, all containers together */
  MAX_CONNS_CTR = 8,   /* ... and per container, so one cannot starve the others */
  MAX_ADDRS = 32,
  TCP_IDLE_MS = 10000,
  FWD_TOTAL_MS = 5000, /* a forward gives up with SERVFAIL after this */
  FWD_TRY_MS = 2000,   /* default time per nameserver ("options timeout:N" changes it) */
  CONN_OUT_MAX = 256 * 1024,
  RESOLV_CHECK_MS = 5000,
};

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* ---------- packet layer ---------- */

static void name_add_label(struct dns_name *n, const uint8_t *l, uint8_t len) {
  size_t tl = strlen(n->text);
  if (n->wire_len > 0) n->text[tl++] = '.';
  n->wire[n->wire_len++] = len;
  memcpy(n->wire + n->wire_len, l, len);
  n->wire_len += len;
  for (uint8_t i = 0; i < len; i++) {
    uint8_t c = l[i];
    if (c <= ' ' || c >= 0x7f || c == '.') n->plain = false;
    n->text[tl++] = (char)tolower(c);
  }
  n->text[tl] = '\0';
}

int dns_name_read(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out) {
  size_t pos = *off, end = 0, limit = *off;
  bool jumped = false;
  out->wire_len = 0;
  out->plain = true;
  out->text[0] = '\0';
  for (;;) {
    if (pos >= len) return -EINVAL;
    uint8_t l = msg[pos];
    if ((l & 0xc0) == 0xc0) {
      if (pos + 1 >= len) return -EINVAL;
      size_t target = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
      /* only strictly backwards, each jump before the last one: no loop can form */
      if (target >= limit) return -EINVAL;
      if (!jumped) end = pos + 2;
      jumped = true;
      pos = limit = target;
      continue;
    }
    if (l & 0xc0) return -EINVAL; /* 0x40, 0x80: extended/reserved label types */
    if ((size_t)out->wire_len + 1 + l > 255) return -EINVAL;
    if (l == 0) {
      out->wire[out->wire_len++] = 0;
      *off = jumped ? end : pos + 1;
      return 0;
    }
    if (pos + 1 + l > len) return -EINVAL;
    name_add_label(out, msg + pos + 1, l);
    pos += 1 + (size_t)l;
  }
}

/* skip_records: walk COUNT resource records from *off; note an OPT record's payload size */
static int skip_records(const uint8_t *msg, size_t len, size_t *off, unsigned count, bool additional,
                        struct dns_question *q) {
  struct dns_name scratch;
  for (unsigned i = 0; i < count; i++) {
    if (dns_name_read(msg, len, off, &scratch) < 0 || *off + 10 > len) return -EINVAL;
    uint16_t type = get16(msg + *off), cls = get16(msg + *off + 2), rdlen = get16(msg + *off + 8);
    if (*off + 10 + rdlen > len) return -EINVAL;
    if (q && additional && type == T_OPT) {
      if (q->edns || scratch.wire_len != 1) return -EINVAL; /* one OPT, owned by the root */
      q->edns = true;
      q->udp_size = cls < 512 ? 512 : cls;
    }
    *off += 10 + (size_t)rdlen;
  }
  return 0;
}

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *q) {
  if (len < HDR || len > 65535) return -EINVAL;
  q->id = get16(msg);
  q->flags = get16(msg + 2);
  if ((q->flags & F_QR) || get16(msg + 4) != 1) return -EINVAL;
  size_t off = HDR;
  if (dns_name_read(msg, len, &off, &q->name) < 0 || off + 4 > len) return -EINVAL;
  q->qtype = get16(msg + off);
  q->qclass = get16(msg + off + 2);
  off += 4;
  q->edns = false;
  q->udp_size = 512;
  unsigned an = get16(msg + 6), ns = get16(msg + 8), ar = get16(msg + 10);
  if (skip_records(msg, len, &off, an + ns, false, q) < 0) return -EINVAL;
  return skip_records(msg, len, &off, ar, true, q);
}

/* response_head: header and question; returns the offset after the question */
static size_t response_head(const struct dns_question *q, unsigned rcode, uint8_t *out) {
  put16(out, q->id);
  put16(out + 2, (uint16_t)(F_QR | (q->flags & (F_OPCODE | F_RD)) | F_RA | (rcode & 0xf)));
  put16(out + 4, 1);
  memset(out + 6, 0, 6);
  size_t off = HDR;
  memcpy(out + off, q->name.wire, q->name.wire_len);
  off += q->name.wire_len;
  put16(out + off, q->qtype);
  put16(out + off + 2, q->qclass);
  return off + 4;
}

/* record_head: an answer owned by the question's name (pointer to offset 12) */
static size_t record_head(uint8_t *p, uint16_t type, uint16_t rdlen) {
  put16(p, 0xc000 | HDR);
  put16(p + 2, type);
  put16(p + 4, C_IN);
  put16(p + 6, 0);
  put16(p + 8, DNS_TTL);
  put16(p + 10, rdlen);
  return 12;
}

size_t dns_build_response(const struct dns_question *q, unsigned rcode, const struct in_addr *addrs, size_t n,
                          size_t limit, uint8_t *out) {
  size_t off = response_head(q, rcode, out);
  uint16_t an = 0;
  for (size_t i = 0; i < n; i++) {
    if (off + 16 > limit) {
      put16(out + 2, get16(out + 2) | F_TC);
      break;
    }
    off += record_head(out + off, T_A, 4);
    memcpy(out + off, &addrs[i].s_addr, 4);
    off += 4;
    an++;
  }
  put16(out + 6, an);
  return off;
}

/* build_ptr: the response to a PTR question with one record pointing at NAME (dotted text) */
static size_t build_ptr(const struct dns_question *q, const char *name, uint8_t *out) {
  size_t off = response_head(q, 0, out), rd = off + 12, w = rd;
  for (const char *p = name; *p;) {
    size_t l = strcspn(p, ".");
    if (l == 0 || l > 63 || w - rd + l + 2 > 255) return response_head(q, RC_SERVFAIL, out);
    out[w++] = (uint8_t)l;
    memcpy(out + w, p, l);
    w += l;
    p += l;
    if (*p == '.') p++;
  }
  out[w++] = 0;
  record_head(out + off, T_PTR, (uint16_t)(w - rd));
  put16(out + 6, 1);
  return w;
}

size_t dns_truncate_reply(uint8_t *msg, size_t len, size_t limit) {
  if (len < HDR) return 0;
  if (len <= limit) return len;
  unsigned qd = get16(msg + 4);
  if (qd > 1) return 0;
  size_t off = HDR;
  struct dns_name scratch;
  if (qd == 1 && (dns_name_read(msg, len, &off, &scratch) < 0 || (off += 4) > len)) return 0;
  put16(msg + 2, get16(msg + 2) | F_TC);
  memset(msg + 6, 0, 6);
  return off;
}

/* ptr_octet: one decimal octet ending at '.', no sign, no leading zero beyond "0" */
static const char *ptr_octet(const char *p, unsigned *out) {
  unsigned v = 0;
  const char *start = p;
  while (*p >= '0' && *p <= '9' && p - start < 3) v = v * 10 + (unsigned)(*p++ - '0');
  if (p == start || *p != '.' || v > 255 || (p - start > 1 && *start == '0')) return NULL;
  *out = v;
  return p + 1;
}

bool dns_ptr_addr(const char *name, struct in_addr *out) {
  unsigned b[4];
  const char *p = name;
  for (int i = 3; i >= 0; i--)
    if (!(p = ptr_octet(p, &b[i]))) return false;
  if (strcmp(p, "in-addr.arpa") != 0) return false;
  out->s_addr = htonl(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
  return true;
}

/* ---------- the server's state: everything below the mutex belongs to the serving thread ---------- */

struct upstream {
  struct sockaddr_storage sa;
  socklen_t len;
};

/* a served container: its sockets and id (slots are reused; GEN tells incarnations apart) */
struct ctr {
  char *id;
  int udp, tcp;
  uint32_t gen;
  unsigned nconns, npending;
};

/* who asked: a container's UDP socket (and the client's address) or a TCP connection */
struct client {
  bool tcp;
  uint32_t idx, gen;
  struct sockaddr_in addr;
};

struct conn {
  bool used;
  int fd;
  uint32_t gen;
  uint32_t ctr, ctr_gen;
  int64_t deadline;
  size_t inlen;
  struct buf out;
  uint8_t in[2 + DNS_QUERY_MAX];
};

/* a forward in flight: the query as sent (with our id) to ups[ns]; over TCP when the client
 * asked over TCP (like Docker: the answer may need more than UDP carries) */
struct pending {
  bool used;
  uint16_t up_id, client_id;
  unsigned ns;
  size_t limit; /* the most the client takes */
  struct client cl;
  uint32_t ctr, ctr_gen; /* the container asking */
  int64_t try_deadline, deadline;
  uint32_t gen;
  int tfd;       /* the TCP connection to ups[ns], or -1 */
  bool tsent;    /* the query went out on it */
  uint8_t *tbuf; /* the reply read so far (length prefix first), allocated on demand */
  size_t tlen;
  size_t qlen;
  uint8_t q[2 + DNS_QUERY_MAX]; /* TCP's length prefix, then the query */
};

enum cmd_op { CMD_ADD, CMD_REMOVE, CMD_REVERSE, CMD_STOP };
struct cmd {
  struct cmd *next;
  enum cmd_op op;
  char *id;
  int udp, tcp;
  dns_reverse_fn rfn;
};

struct dns_server {
  dns_lookup_fn fn;
  dns_reverse_fn rfn;
  void *ud;
  int ep, wake;
  pthread_t thread;
  bool quit;
  pthread_mutex_t lock; /* guards cmds, stopped and the sequence numbers: all other threads touch */
  pthread_cond_t applied_cond;
  struct cmd *cmds, **cmds_tail;
  bool stopped;
  uint64_t posted, applied; /* commands queued and applied so far, for dns_server_remove's wait */
  struct upstream ups[MAX_UPSTREAMS];
  unsigned nups;
  int up_fd[2]; /* AF_INET, AF_INET6 */
  int64_t try_ms;
  char *resolv_path;
  struct stat resolv_st;  /* what resolv_path was when read */
  int64_t resolv_checked; /* when it was last looked at */
  struct ctr *ctrs;
  size_t nctrs;
  unsigned npending, nconns_used;
  struct pending *pend; /* MAX_PENDING, touched only as used */
  struct conn *conns;   /* MAX_CONNS */
  uint8_t rnd[64];
  size_t rnd_left;
  uint8_t tx[2 + UDP_MAX];
  uint8_t rx[2 + 65536];
};

enum tok_kind { TOK_WAKE = 1, TOK_UP4, TOK_UP6, TOK_UDP, TOK_TCP, TOK_CONN, TOK_UPTCP };
static uint64_t tok(unsigned kind, uint32_t idx, uint32_t gen) {
  return (uint64_t)kind << 56 | (uint64_t)(idx & 0xffffff) << 32 | gen;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ep_add(struct dns_server *s, int fd, uint32_t events, uint64_t token) {
  struct epoll_event ev = {.events = events, .data.u64 = token};
  return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* ---------- resolv.conf ---------- */

static int parse_port(const char *p, uint16_t *port) {
  char *end;
  unsigned long v = strtoul(p, &end, 10);
  if (*p < '0' || *p > '9' || *end || v == 0 || v > 65535) return -EINVAL;
  *port = (uint16_t)v;
  return 0;
}

static int parse_v6(char *host, uint16_t port, struct upstream *u) {
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)&u->sa;
  char *scope = strchr(host, '%');
  if (scope) *scope++ = '\0';
  if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return -EINVAL;
  if (scope && !(a->sin6_scope_id = if_nametoindex(scope))) a->sin6_scope_id = (uint32_t)strtoul(scope, NULL, 10);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  u->len = sizeof(*a);
  return 0;
}

/* parse_nameserver: "1.2.3.4", "1.2.3.4:5353", "fe80::1%eth0", "[::1]:5353" */
static int parse_nameserver(char *s, struct upstream *u) {
  uint16_t port = 53;
  memset(u, 0, sizeof(*u));
  if (s[0] == '[') {
    char *close = strchr(s, ']');
    if (!close || (close[1] && (close[1] != ':' || parse_port(close + 2, &port) < 0))) return -EINVAL;
    *close = '\0';
    return parse_v6(s + 1, port, u);
  }
  char *colon = strchr(s, ':');
  if (colon && !strchr(colon + 1, ':')) { /* one colon: IPv4 with a port */
    if (parse_port(colon + 1, &port) < 0) return -EINVAL;
    *colon = '\0';
  }
  struct sockaddr_in *a = (struct sockaddr_in *)&u->sa;
  if (inet_pton(AF_INET, s, &a->sin_addr) == 1) {
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    u->len = sizeof(*a);
    return 0;
  }
  return colon ? -EINVAL : parse_v6(s, port, u);
}

static void parse_resolv_line(struct dns_server *s, char *line) {
  char *save = NULL, *key = strtok_r(line, " \t\r", &save);
  if (!key) return;
  if (strcmp(key, "nameserver") == 0) {
    char *v = strtok_r(NULL, " \t\r", &save);
    if (v && s->nups < MAX_UPSTREAMS && parse_nameserver(v, &s->ups[s->nups]) == 0) s->nups++;
    else if (v && s->nups < MAX_UPSTREAMS) log_warn("Ignoring nameserver \"%s\" in resolv.conf", v);
    return;
  }
  if (strcmp(key, "options") != 0) return;
  for (char *o; (o = strtok_r(NULL, " \t\r", &save));) {
    if (strncmp(o, "timeout:", 8) != 0) continue;
    long t = strtol(o + 8, NULL, 10);
    s->try_ms = t < 1 ? 1000 : t > 5 ? FWD_TOTAL_MS : t * 1000;
  }
}

/* resolv_changed: has the file changed since it was last read (remembering what it is now) */
static bool resolv_changed(struct dns_server *s) {
  struct stat st;
  if (stat(s->resolv_path, &st) < 0) memset(&st, 0, sizeof(st));
  bool changed = st.st_ino != s->resolv_st.st_ino || st.st_dev != s->resolv_st.st_dev ||
                 st.st_size != s->resolv_st.st_size || st.st_mtim.tv_sec != s->resolv_st.st_mtim.tv_sec ||
                 st.st_mtim.tv_nsec != s->resolv_st.st_mtim.tv_nsec;
  s->resolv_st = st;
  return changed;
}

static void read_resolv(struct dns_server *s) {
  _cleanup_free_ char *text = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  s->nups = 0;
  s->try_ms = FWD_TRY_MS;
  if (!s->resolv_path) return;
  resolv_changed(s);
  if (read_file(s->resolv_path, &text, NULL, &e) < 0) {
    log_warn("No upstream nameservers for the embedded DNS: %s", berr_msg(e));
    return;
  }
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *hash = strpbrk(line, "#;");
    if (hash) *hash = '\0';
    parse_resolv_line(s, line);
  }
}

/* open_upstream_sockets: one unconnected UDP socket per family in use, in berthd's namespace */
static int open_upstream_sockets(struct dns_server *s, struct berth_error **err) {
  static const int fams[2] = {AF_INET, AF_INET6};
  for (int f = 0; f < 2; f++) {
    if (s->up_fd[f] >= 0) close(s->up_fd[f]);
    s->up_fd[f] = -1;
    bool want = false;
    for (unsigned i = 0; i < s->nups; i++) want |= s->ups[i].sa.ss_family == fams[f];
    if (!want) continue;
    s->up_fd[f] = socket(fams[f], SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->up_fd[f] < 0) return berr_sys(err, errno, "create the upstream DNS socket");
    int r = ep_add(s, s->up_fd[f], EPOLLIN, tok(f == 0 ? TOK_UP4 : TOK_UP6, 0, 0));
    if (r < 0) return berr_sys(err, -r, "watch the upstream DNS socket");
  }
  return 0;
}

/* ---------- containers and TCP connections (serving thread only) ---------- */

static struct ctr *ctr_get(struct dns_server *s, uint32_t idx, uint32_t gen) {
  if (idx >= s->nctrs || !s->ctrs[idx].id || s->ctrs[idx].gen != gen) return NULL;
  return &s->ctrs[idx];
}

static struct conn *conn_get(struct dns_server *s, uint32_t idx, uint32_t gen) {
  if (idx >= MAX_CONNS || !s->conns[idx].used || s->conns[idx].gen != gen) return NULL;
  return &s->conns[idx];
}

static void conn_close(struct dns_server *s, struct conn *c) {
  struct ctr *ct = ctr_get(s, c->ctr, c->ctr_gen);
  if (ct) ct->nconns--;
  close(c->fd); /* closing drops it from the epoll set */
  buf_free(&c->out);
  c->used = false;
  c->gen++;
  s->nconns_used--;
}

/* conn_write: send a length-prefixed message (MSG points 2 bytes after writable headroom) */
static void conn_write(struct dns_server *s, struct conn *c, uint8_t *msg, size_t len) {
  uint8_t *p = msg - 2;
  size_t n = len + 2, done = 0;
  put16(p, (uint16_t)len);
  if (c->out.len == 0) {
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN) {
      conn_close(s, c);
      return;
    }
    done = w < 0 ? 0 : (size_t)w;
  }
  if (done == n) return;
  if (c->out.len + n - done > CONN_OUT_MAX) { /* the client does not read its answers */
    conn_close(s, c);
    return;
  }
  buf_append(&c->out, p + done, n - done);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = tok(TOK_CONN, (uint32_t)(c - s->conns), c->gen)};
  epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_flush(struct dns_server *s, struct conn *c) {
  while (c->out.len > 0) {
    ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EAGAIN) return;
    if (w <= 0) {
      conn_close(s, c);
      return;
    }
    memmove(c->out.p, c->out.p + w, c->out.len - (size_t)w);
    c->out.len -= (size_t)w;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tok(TOK_CONN, (uint32_t)(c - s->conns), c->gen)};
  epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* deliver: MSG (with 2 bytes of headroom before it) to whoever asked, cut to what it takes */
static void deliver(struct dns_server *s, const struct client *cl, uint8_t *msg, size_t len, size_t limit) {
  if (cl->tcp) {
    struct conn *c = conn_get(s, cl->idx, cl->gen);
    if (c) conn_write(s, c, msg, len);
    return;
  }
  struct ctr *ct = ctr_get(s, cl->idx, cl->gen);
  if (!ct || !(len = dns_truncate_reply(msg, len, limit))) return;
  sendto(ct->udp, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&cl->addr, sizeof(cl->addr));
}

/* client_ctr: the container asking (NULL once gone) */
static struct ctr *client_ctr(struct dns_server *s, const struct client *cl) {
  if (!cl->tcp) return ctr_get(s, cl->idx, cl->gen);
  struct conn *c = conn_get(s, cl->idx, cl->gen);
  return c ? ctr_get(s, c->ctr, c->ctr_gen) : NULL;
}

/* ---------- forwarding ---------- */

static uint16_t random16(struct dns_server *s) {
  if (s->rnd_left < 2) {
    if (getrandom(s->rnd, sizeof(s->rnd), 0) != (ssize_t)sizeof(s->rnd)) /* never short for 64 bytes */
      for (size_t i = 0; i < sizeof(s->rnd); i++) s->rnd[i] ^= (uint8_t)(now_ms() >> (i % 8));
    s->rnd_left = sizeof(s->rnd);
  }
  s->rnd_left -= 2;
  return get16(s->rnd + s->rnd_left);
}

static uint16_t unused_id(struct dns_server *s) {
  for (;;) {
    uint16_t id = random16(s);
    bool taken = false;
    for (unsigned i = 0; i < MAX_PENDING && !taken; i++) taken = s->pend[i].used && s->pend[i].up_id == id;
    if (!taken) return id;
  }
}

static void pending_close_tcp(struct pending *p) {
  if (p->tfd >= 0) close(p->tfd);
  p->tfd = -1;
  p->tsent = false;
  free(p->tbuf);
  p->tbuf = NULL;
  p->tlen = 0;
  p->gen++; /* events of the old connection are stale now */
}

static void pending_free(struct dns_server *s, struct pending *p) {
  struct ctr *ct = ctr_get(s, p->ctr, p->ctr_gen);
  if (ct) ct->npending--;
  pending_close_tcp(p);
  p->used = false;
  s->npending--;
}

/* pending_fail: answer SERVFAIL from the stored query, done with the forward */
static void pending_fail(struct dns_server *s, struct pending *p) {
  struct dns_question q;
  put16(p->q + 2, p->client_id);
  if (dns_parse_query(p->q + 2, p->qlen, &q) == 0) {
    size_t n = dns_build_response(&q, RC_SERVFAIL, NULL, 0, UDP_MAX, s->tx + 2);
    deliver(s, &p->cl, s->tx + 2, n, p->limit);
  }
  pending_free(s, p);
}

/* tcp_connect: start connecting to U; the query goes out once connected (on_uptcp) */
static int tcp_connect(struct dns_server *s, struct pending *p, const struct upstream *u) {
  pending_close_tcp(p);
  p->tfd = socket(u->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->tfd < 0) return -errno;
  if (connect(p->tfd, (const struct sockaddr *)&u->sa, u->len) < 0 && errno != EINPROGRESS) return -errno;
  return ep_add(s, p->tfd, EPOLLOUT, tok(TOK_UPTCP, (uint32_t)(p - s->pend), p->gen));
}

/* pending_send: send to ups[p->ns] or the next nameserver that takes it; SERVFAIL past the last */
static void pending_send(struct dns_server *s, struct pending *p, int64_t now) {
  for (; p->ns < s->nups; p->ns++) {
    const struct upstream *u = &s->ups[p->ns];
    p->up_id = unused_id(s);
    put16(p->q + 2, p->up_id);
    int fd = s->up_fd[u->sa.ss_family == AF_INET ? 0 : 1];
    if (p->cl.tcp ? tcp_connect(s, p, u) == 0
                  : sendto(fd, p->q + 2, p->qlen, MSG_DONTWAIT, (const struct sockaddr *)&u->sa, u->len) ==
                        (ssize_t)p->qlen) {
      /* the last nameserver gets the rest of the time */
      p->try_deadline = p->ns + 1 < s->nups ? now + s->try_ms : p->deadline;
      return;
    }
    log_debug("Forward to nameserver %u failed: %s", p->ns, strerror(errno));
  }
  pending_fail(s, p);
}

/* maybe_reload: the host's resolv.conf changes (DHCP, VPNs): look again every few seconds, and
 * apply a change when no forward is in flight (they hold indexes into ups) */
static void maybe_reload(struct dns_server *s) {
  int64_t now = now_ms();
  if (!s->resolv_path || s->npending || now - s->resolv_checked < RESOLV_CHECK_MS) return;
  s->resolv_checked = now;
  if (!resolv_changed(s)) return;
  log_info("Reading \"%s\" again for the embedded DNS's nameservers", s->resolv_path);
  _cleanup_berr_ struct berth_error *e = NULL;
  read_resolv(s);
  if (open_upstream_sockets(s, &e) < 0) {
    log_warn("Embedded DNS: %s", berr_msg(e));
    s->nups = 0;
  }
}

static void forward(struct dns_server *s, const struct client *cl, const struct dns_question *q, const uint8_t *msg,
                    size_t len, size_t limit) {
  struct pending *p = NULL;
  struct ctr *ct = client_ctr(s, cl);
  maybe_reload(s);
  for (unsigned i = 0; i < MAX_PENDING && !p; i++)
    if (!s->pend[i].used) p = &s->pend[i];
  if (!ct) return;
  if (!s->nups || !p || ct->npending >= MAX_PENDING_CTR || len > DNS_QUERY_MAX) { /* nowhere to ask, or overloaded */
    size_t n = dns_build_response(q, RC_SERVFAIL, NULL, 0, limit, s->tx + 2);
    deliver(s, cl, s->tx + 2, n, limit);
    return;
  }
  int64_t now = now_ms();
  *p = (struct pending){.used = true, .client_id = q->id, .limit = limit, .cl = *cl, .deadline = now + FWD_TOTAL_MS,
                        .ctr = (uint32_t)(ct - s->ctrs), .ctr_gen = ct->gen, .gen = p->gen, .tfd = -1, .qlen = len};
  ct->npending++;
  put16(p->q, (uint16_t)len);
  memcpy(p->q + 2, msg, len);
  s->npending++;
  pending_send(s, p, now);
}

static bool same_addr(const struct sockaddr_storage *a, const struct upstream *u) {
  if (a->ss_family != u->sa.ss_family) return false;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)&u->sa;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)&u->sa;
  return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static bool same_name(const struct dns_name *a, const struct dns_name *b) {
  if (a->wire_len != b->wire_len) return false;
  for (size_t i = 0; i < a->wire_len; i++) /* lengths are < 'A', so tolower leaves them alone */
    if (tolower(a->wire[i]) != tolower(b->wire[i])) return false;
  return true;
}

/* reply_matches: REPLY answers P's question (off-path spoofing must also guess the question) */
static bool reply_matches(const struct pending *p, const uint8_t *reply, size_t len) {
  struct dns_question q;
  struct dns_name rn;
  size_t off = HDR;
  if (len < HDR || !(get16(reply + 2) & F_QR) || get16(reply + 4) != 1) return false;
  if (dns_parse_query(p->q + 2, p->qlen, &q) < 0) return false;
  if (dns_name_read(reply, len, &off, &rn) < 0 || off + 4 > len) return false;
  return same_name(&rn, &q.name) && get16(reply + off) == q.qtype && get16(reply + off + 2) == q.qclass;
}

/* upstream_reply: REPLY (2 bytes of headroom before it) came from P's current nameserver;
 * false when it is not an answer to P's query */
static bool upstream_reply(struct dns_server *s, struct pending *p, uint8_t *reply, size_t n) {
  if (n < HDR || get16(reply) != p->up_id || !reply_matches(p, reply, n)) return false;
  unsigned rcode = get16(reply + 2) & 0xf;
  if ((rcode == RC_SERVFAIL || rcode == RC_REFUSED) && p->ns + 1 < s->nups) {
    p->ns++; /* like Docker: a failing nameserver is no answer, try the next */
    pending_send(s, p, now_ms());
    return true;
  }
  put16(reply, p->client_id);
  deliver(s, &p->cl, reply, n, p->limit);
  pending_free(s, p);
  return true;
}

static void on_upstream(struct dns_server *s, int fd) {
  for (int k = 0; k < 64; k++) {
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(fd, s->rx + 2, sizeof(s->rx) - 2, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    if (n < 0) return;
    if (n < HDR) continue;
    uint16_t id = get16(s->rx + 2);
    struct pending *p = NULL;
    for (unsigned i = 0; i < MAX_PENDING && !p; i++)
      if (s->pend[i].used && s->pend[i].up_id == id) p = &s->pend[i];
    if (p && !p->cl.tcp && same_addr(&from, &s->ups[p->ns])) upstream_reply(s, p, s->rx + 2, (size_t)n);
  }
}

/* on_uptcp: P's TCP connection upstream: send the query once connected, then read the reply */
static void on_uptcp(struct dns_server *s, uint32_t idx, uint32_t gen, uint32_t events) {
  if (idx >= MAX_PENDING || !s->pend[idx].used || s->pend[idx].gen != gen) return;
  struct pending *p = &s->pend[idx];
  int soerr = 0;
  socklen_t sl = sizeof(soerr);
  if (!p->tsent) {
    if (getsockopt(p->tfd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr ||
        send(p->tfd, p->q, p->qlen + 2, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)p->qlen + 2)
      goto next;
    p->tsent = true;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tok(TOK_UPTCP, idx, gen)};
    epoll_ctl(s->ep, EPOLL_CTL_MOD, p->tfd, &ev);
    return;
  }
  if (!p->tbuf) p->tbuf = xmalloc(2 + 65535);
  size_t want = p->tlen < 2 ? 2 : 2 + (size_t)get16(p->tbuf);
  ssize_t n = recv(p->tfd, p->tbuf + p->tlen, want - p->tlen, MSG_DONTWAIT);
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0) goto next;
  p->tlen += (size_t)n;
  if (p->tlen < 2 || p->tlen < 2 + (size_t)get16(p->tbuf)) return; /* more to come: epoll says when */
  if (upstream_reply(s, p, p->tbuf + 2, p->tlen - 2)) return;
next:
  p->ns++; /* refused, reset or nonsense: the next nameserver */
  pending_send(s, p, now_ms());
}

/* expire: move timed-out forwards on (or fail them), close idle TCP clients; the next wait in ms */
static int expire(struct dns_server *s) {
  int64_t now = now_ms(), next = INT64_MAX;
  for (unsigned i = 0; i < MAX_PENDING && s->npending; i++) {
    struct pending *p = &s->pend[i];
    if (!p->used) continue;
    if (now >= p->deadline) {
      pending_fail(s, p);
      continue;
    }
    if (now >= p->try_deadline) {
      p->ns++;
      pending_send(s, p, now);
      if (!p->used) continue;
    }
    next = p->try_deadline < next ? p->try_deadline : next;
    next = p->deadline < next ? p->deadline : next;
  }
  for (unsigned i = 0; i < MAX_CONNS && s->nconns_used; i++) {
    struct conn *c = &s->conns[i];
    if (c->used && now >= c->deadline) conn_close(s, c);
    else if (c->used && c->deadline < next) next = c->deadline;
  }
  return next == INT64_MAX ? -1 : (int)(next - now);
}

/* ---------- queries ---------- */

/* answer_local: true when the container knows the name (or address, for PTR) and answered */
static bool answer_local(struct dns_server *s, const struct client *cl, const struct dns_question *q,
                         size_t limit) {
  struct ctr *ct = client_ctr(s, cl);
  if (!ct || !q->name.plain || q->qclass != C_IN) return false;
  const char *id = ct->id;
  struct in_addr addr;
  char name[256];
  if (q->qtype == T_PTR && s->rfn && dns_ptr_addr(q->name.text, &addr)) {
    if (!s->rfn(s->ud, id, addr, name, sizeof(name))) return false;
    name[sizeof(name) - 1] = '\0';
    size_t n = build_ptr(q, name, s->tx + 2);
    deliver(s, cl, s->tx + 2, n, limit);
    return true;
  }
  struct in_addr addrs[MAX_ADDRS];
  size_t k = s->fn(s->ud, id, q->name.text, addrs, MAX_ADDRS);
  if (k == 0) return false;
  /* Docker: a container name has only IPv4 addresses; AAAA and other types get NOERROR, empty */
  size_t n = dns_build_response(q, 0, addrs, q->qtype == T_A ? (k > MAX_ADDRS ? MAX_ADDRS : k) : 0, limit, s->tx + 2);
  deliver(s, cl, s->tx + 2, n, limit);
  return true;
}

static void handle_query(struct dns_server *s, const struct client *cl, const uint8_t *msg, size_t len) {
  struct dns_question q;
  if (dns_parse_query(msg, len, &q) < 0) return; /* malformed: dropped */
  size_t limit = cl->tcp ? UDP_MAX : q.udp_size > UDP_MAX ? UDP_MAX : q.udp_size;
  if (q.flags & F_OPCODE) {
    size_t n = dns_build_response(&q, RC_NOTIMP, NULL, 0, limit, s->tx + 2);
    deliver(s, cl, s->tx + 2, n, limit);
    return;
  }
  if (!answer_local(s, cl, &q, limit)) forward(s, cl, &q, msg, len, cl->tcp ? 65535 : limit);
}

static void on_udp(struct dns_server *s, uint32_t idx, uint32_t gen) {
  for (int k = 0; k < 64; k++) { /* bounded: one busy container must not starve the others */
    struct ctr *ct = ctr_get(s, idx, gen);
    if (!ct) return;
    struct client cl = {.idx = idx, .gen = gen};
    socklen_t fl = sizeof(cl.addr);
    ssize_t n = recvfrom(ct->udp, s->rx, sizeof(s->rx), MSG_DONTWAIT, (struct sockaddr *)&cl.addr, &fl);
    if (n < 0) return;
    if (fl == sizeof(cl.addr) && cl.addr.sin_family == AF_INET) handle_query(s, &cl, s->rx, (size_t)n);
  }
}

static void on_accept(struct dns_server *s, uint32_t idx, uint32_t gen) {
  struct ctr *ct = ctr_get(s, idx, gen);
  if (!ct) return;
  for (;;) {
    _cleanup_close_ int fd = accept4(ct->tcp, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    struct conn *c = NULL;
    for (unsigned i = 0; i < MAX_CONNS && !c; i++)
      if (!s->conns[i].used) c = &s->conns[i];
    if (!c || ct->nconns >= MAX_CONNS_CTR) continue; /* full: the client sees the connection close */
    if (ep_add(s, fd, EPOLLIN, tok(TOK_CONN, (uint32_t)(c - s->conns), c->gen)) < 0) continue;
    c->used = true;
    c->fd = take_fd(&fd);
    c->ctr = idx;
    c->ctr_gen = gen;
    c->inlen = 0;
    c->deadline = now_ms() + TCP_IDLE_MS;
    ct->nconns++;
    s->nconns_used++;
  }
}

/* on_conn_read: read what is there; answer every whole length-prefixed query */
static void on_conn_read(struct dns_server *s, uint32_t idx, uint32_t gen) {
  for (;;) {
    struct conn *c = conn_get(s, idx, gen);
    if (!c) return;
    size_t want = 2;
    if (c->inlen >= 2 && ((want = 2 + (size_t)get16(c->in)) == 2 || want > sizeof(c->in))) {
      conn_close(s, c); /* an empty or oversized query */
      return;
    }
    ssize_t n = recv(c->fd, c->in + c->inlen, want - c->inlen, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      conn_close(s, c);
      return;
    }
    c->inlen += (size_t)n;
    c->deadline = now_ms() + TCP_IDLE_MS;
    if (c->inlen < 2 || c->inlen < 2 + (size_t)get16(c->in)) continue;
    struct client cl = {.tcp = true, .idx = idx, .gen = gen};
    size_t len = c->inlen - 2;
    c->inlen = 0;
    memcpy(s->rx, c->in + 2, len); /* the answer may close c */
    handle_query(s, &cl, s->rx, len);
  }
}

/* ---------- commands from other threads, applied by the serving thread ---------- */

static void ctr_close(struct dns_server *s, struct ctr *ct) {
  uint32_t idx = (uint32_t)(ct - s->ctrs);
  for (unsigned i = 0; i < MAX_CONNS; i++)
    if (s->conns[i].used && s->conns[i].ctr == idx && s->conns[i].ctr_gen == ct->gen) conn_close(s, &s->conns[i]);
  if (ct->udp >= 0) close(ct->udp);
  if (ct->tcp >= 0) close(ct->tcp);
  free(ct->id);
  ct->id = NULL;
  ct->udp = ct->tcp = -1;
  ct->nconns = ct->npending = 0;
  ct->gen++;
}

static struct ctr *ctr_find(struct dns_server *s, const char *id) {
  for (size_t i = 0; i < s->nctrs; i++)
    if (s->ctrs[i].id && strcmp(s->ctrs[i].id, id) == 0) return &s->ctrs[i];
  return NULL;
}

static void apply_add(struct dns_server *s, struct cmd *c) {
  struct ctr *ct = ctr_find(s, c->id);
  if (ct) ctr_close(s, ct);
  for (size_t i = 0; i < s->nctrs && !ct; i++)
    if (!s->ctrs[i].id) ct = &s->ctrs[i];
  if (!ct) {
    size_t n = s->nctrs ? s->nctrs * 2 : 16;
    s->ctrs = xrealloc(s->ctrs, n * sizeof(*s->ctrs));
    memset(s->ctrs + s->nctrs, 0, (n - s->nctrs) * sizeof(*s->ctrs));
    ct = &s->ctrs[s->nctrs];
    s->nctrs = n;
  }
  uint32_t idx = (uint32_t)(ct - s->ctrs);
  ct->id = take_ptr(&c->id);
  ct->udp = take_fd(&c->udp);
  ct->tcp = take_fd(&c->tcp);
  int r = ep_add(s, ct->udp, EPOLLIN, tok(TOK_UDP, idx, ct->gen));
  if (r == 0 && ct->tcp >= 0) r = ep_add(s, ct->tcp, EPOLLIN, tok(TOK_TCP, idx, ct->gen));
  if (r < 0) {
    log_warn("Embedded DNS for container \"%s\" unavailable: epoll_ctl: %s", ct->id, strerror(-r));
    ctr_close(s, ct);
  }
}

static void cmd_free(struct cmd *c) {
  if (c->udp >= 0) close(c->udp);
  if (c->tcp >= 0) close(c->tcp);
  free(c->id);
  free(c);
}

static void apply_cmd(struct dns_server *s, struct cmd *c) {
  struct ctr *ct;
  switch (c->op) {
  case CMD_ADD: apply_add(s, c); break;
  case CMD_REMOVE:
    if ((ct = ctr_find(s, c->id))) ctr_close(s, ct);
    break;
  case CMD_REVERSE: s->rfn = c->rfn; break;
  case CMD_STOP: s->quit = true; break;
  }
  cmd_free(c);
}

static void on_wake(struct dns_server *s) {
  uint64_t v;
  if (read(s->wake, &v, sizeof(v)) < 0 && errno != EAGAIN) log_debug("Read the wake eventfd: %s", strerror(errno));
  pthread_mutex_lock(&s->lock);
  struct cmd *list = s->cmds;
  uint64_t seq = s->posted;
  s->cmds = NULL;
  s->cmds_tail = &s->cmds;
  pthread_mutex_unlock(&s->lock);
  while (list) {
    struct cmd *next = list->next;
    apply_cmd(s, list);
    list = next;
  }
  pthread_mutex_lock(&s->lock);
  s->applied = seq;
  pthread_cond_broadcast(&s->applied_cond);
  pthread_mutex_unlock(&s->lock);
}

/* post: queue C for the serving thread (and with WAIT, wait until it is applied, unless called
 * from that thread, from a lookup callback); false (C freed, fds closed) once the server stops */
static bool post(struct dns_server *s, struct cmd *c, bool wait) {
  pthread_mutex_lock(&s->lock);
  bool ok = !s->stopped;
  uint64_t seq = 0;
  if (ok) {
    *s->cmds_tail = c;
    s->cmds_tail = &c->next;
    seq = ++s->posted;
    if (c->op == CMD_STOP) s->stopped = true;
  }
  pthread_mutex_unlock(&s->lock);
  if (!ok) {
    cmd_free(c);
    return false;
  }
  uint64_t one = 1;
  if (write(s->wake, &one, sizeof(one)) < 0) log_debug("Write the wake eventfd: %s", strerror(errno));
  if (!wait || pthread_equal(pthread_self(), s->thread)) return true;
  pthread_mutex_lock(&s->lock);
  while (s->applied < seq) pthread_cond_wait(&s->applied_cond, &s->lock);
  pthread_mutex_unlock(&s->lock);
  return true;
}

static struct cmd *cmd_new(enum cmd_op op, const char *id) {
  struct cmd *c = xcalloc(1, sizeof(*c));
  c->op = op;
  c->id = id ? xstrdup(id) : NULL;
  c->udp = c->tcp = -1;
  return c;
}

/* ---------- the serving thread ---------- */

static void dispatch(struct dns_server *s, const struct epoll_event *ev) {
  unsigned kind = (unsigned)(ev->data.u64 >> 56);
  uint32_t idx = (uint32_t)(ev->data.u64 >> 32) & 0xffffff, gen = (uint32_t)ev->data.u64;
  struct conn *c;
  switch (kind) {
  case TOK_WAKE: on_wake(s); break;
  case TOK_UP4: on_upstream(s, s->up_fd[0]); break;
  case TOK_UP6: on_upstream(s, s->up_fd[1]); break;
  case TOK_UDP: on_udp(s, idx, gen); break;
  case TOK_TCP: on_accept(s, idx, gen); break;
  case TOK_UPTCP: on_uptcp(s, idx, gen, ev->events); break;
  case TOK_CONN:
    if ((c = conn_get(s, idx, gen)) && (ev->events & EPOLLOUT)) conn_flush(s, c);
    if ((c = conn_get(s, idx, gen)) && (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_conn_read(s, idx, gen);
    break;
  }
}

static void *serve(void *arg) {
  struct dns_server *s = arg;
  struct epoll_event evs[32];
  int timeout = -1;
  while (!s->quit) {
    int n = epoll_wait(s->ep, evs, 32, timeout);
    if (n < 0 && errno != EINTR) {
      log_error("Embedded DNS stopped: epoll_wait: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n; i++) dispatch(s, &evs[i]);
    timeout = expire(s);
  }
  pthread_mutex_lock(&s->lock); /* nothing is applied from now on: release every waiter */
  s->stopped = true;
  s->applied = UINT64_MAX;
  pthread_cond_broadcast(&s->applied_cond);
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static void server_free(struct dns_server *s) {
  for (size_t i = 0; i < s->nctrs; i++)
    if (s->ctrs[i].id) ctr_close(s, &s->ctrs[i]);
  for (struct cmd *c = s->cmds, *next; c; c = next) {
    next = c->next;
    cmd_free(c);
  }
  for (unsigned i = 0; i < MAX_PENDING; i++)
    if (s->pend[i].used) pending_close_tcp(&s->pend[i]);
  for (int f = 0; f < 2; f++)
    if (s->up_fd[f] >= 0) close(s->up_fd[f]);
  if (s->wake >= 0) close(s->wake);
  if (s->ep >= 0) close(s->ep);
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->applied_cond);
  free(s->resolv_path);
  free(s->ctrs);
  free(s->pend);
  free(s->conns);
  free(s);
}

int dns_server_start(dns_lookup_fn fn, void *ud, const char *resolv_conf, struct dns_server **out,
                     struct berth_error **err) {
  struct dns_server *s = xcalloc(1, sizeof(*s));
  s->fn = fn;
  s->ud = ud;
  s->up_fd[0] = s->up_fd[1] = -1;
  s->try_ms = FWD_TRY_MS;
  s->cmds_tail = &s->cmds;
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->applied_cond, NULL);
  s->pend = xcalloc(MAX_PENDING, sizeof(*s->pend));
  s->conns = xcalloc(MAX_CONNS, sizeof(*s->conns));
  s->ep = epoll_create1(EPOLL_CLOEXEC);
  s->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int r;
  if (s->ep < 0 || s->wake < 0) r = berr_sys(err, errno, "create the embedded DNS server's epoll");
  else if ((r = ep_add(s, s->wake, EPOLLIN, tok(TOK_WAKE, 0, 0))) < 0) r = berr_sys(err, -r, "watch an eventfd");
  if (r == 0) {
    s->resolv_path = resolv_conf ? xstrdup(resolv_conf) : NULL;
    s->resolv_checked = now_ms();
    read_resolv(s);
    r = open_upstream_sockets(s, err);
  }
  if (r == 0 && (r = -pthread_create(&s->thread, NULL, serve, s)) < 0)
    r = berr_sys(err, -r, "start the embedded DNS server's thread");
  if (r < 0) {
    server_free(s);
    return r;
  }
  *out = s;
  return 0;
}

void dns_server_stop(struct dns_server *s) {
  if (!s) return;
  post(s, cmd_new(CMD_STOP, NULL), false);
  pthread_join(s->thread, NULL);
  server_free(s);
}

void dns_server_set_reverse(struct dns_server *s, dns_reverse_fn fn) {
  struct cmd *c = cmd_new(CMD_REVERSE, NULL);
  c->rfn = fn;
  post(s, c, false);
}

void dns_server_remove(struct dns_server *s, const char *container_id) {
  post(s, cmd_new(CMD_REMOVE, container_id), true);
}

int dns_server_add2(struct dns_server *s, const char *container_id, int udp_fd, int tcp_fd,
                    struct berth_error **err) {
  struct cmd *c = cmd_new(CMD_ADD, container_id);
  c->udp = udp_fd;
  c->tcp = tcp_fd;
  if (udp_fd < 0) {
    cmd_free(c);
    return berr(err, EBADF, "embedded DNS for \"%s\": no UDP socket", container_id);
  }
  if (!post(s, c, false)) return berr(err, ESHUTDOWN, "the embedded DNS server is stopped");
  return 0;
}

/* ---------- sockets inside a container's namespace ---------- */

static int bind_dns(int type, int *out, struct berth_error **err) {
  _cleanup_close_ int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
  if (fd < 0) return berr_sys(err, errno, "create a %s socket", proto);
  int one = 1;
  /* so a DNS server in the container can still bind 0.0.0.0:53 (with SO_REUSEADDR itself) */
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
    return berr_sys(err, errno, "set SO_REUSEADDR on the %s socket", proto);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(0x7f00000b)};
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) return berr_sys(err, errno, "bind %s 127.0.0.11:53", proto);
  if (type == SOCK_STREAM && listen(fd, 64) < 0) return berr_sys(err, errno, "listen on tcp 127.0.0.11:53");
  *out = take_fd(&fd);
  return 0;
}

struct sock_job {
  int nsfd;
  int *udp, *tcp; /* NULL: not wanted */
  struct berth_error *err;
  int rc;
};

/* sock_thread: setns changes only this thread, which ends right after: the sockets stay in the
 * namespace they were made in */
static void *sock_thread(void *arg) {
  struct sock_job *j = arg;
  if (setns(j->nsfd, CLONE_NEWNET) < 0) {
    j->rc = berr_sys(&j->err, errno, "enter the network namespace");
    return NULL;
  }
  if (j->udp) j->rc = bind_dns(SOCK_DGRAM, j->udp, &j->err);
  if (j->rc == 0 && j->tcp) j->rc = bind_dns(SOCK_STREAM, j->tcp, &j->err);
  if (j->rc < 0 && j->udp && *j->udp >= 0) close(take_fd(j->udp));
  return NULL;
}

static int open_in_ns(int nsfd, int *udp, int *tcp, struct berth_error **err) {
  struct sock_job j = {.nsfd = nsfd, .udp = udp, .tcp = tcp};
  if (udp) *udp = -1;
  if (tcp) *tcp = -1;
  pthread_t t;
  int r = pthread_create(&t, NULL, sock_thread, &j);
  if (r != 0) return berr_sys(err, r, "start a thread");
  pthread_join(t, NULL);
  if (j.rc < 0 && err && !*err) {
    *err = j.err;
    return j.rc;
  }
  berr_free(j.err);
  return j.rc;
}

int dns_socket_open2(const char *netns_path, int *udp_fd, int *tcp_fd, struct berth_error **err) {
  _cleanup_close_ int nsfd = open(netns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) return berr_sys(err, errno, "open \"%s\"", netns_path);
  int r = open_in_ns(nsfd, udp_fd, tcp_fd, err);
  return r < 0 ? berr_prefix(err, "embedded DNS in \"%s\"", netns_path) : 0;
}

int dns_socket_open(const char *netns_path, int *out_fd, struct berth_error **err) {
  return dns_socket_open2(netns_path, out_fd, NULL, err);
}

int dns_server_add(struct dns_server *s, const char *container_id, int fd, struct berth_error **err) {
  _cleanup_close_ int udp = fd, nsfd = fd >= 0 ? ioctl(fd, SIOCGSKNS) : -1;
  int tcp = -1;
  if (fd >= 0 && (nsfd < 0 || open_in_ns(nsfd, NULL, &tcp, err) < 0)) {
    if (nsfd < 0) berr_sys(err, errno, "find the namespace of the DNS socket");
    return berr_prefix(err, "embedded DNS over TCP for \"%s\"", container_id);
  }
  return dns_server_add2(s, container_id, take_fd(&udp), tcp, err);
}
