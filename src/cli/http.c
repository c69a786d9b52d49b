/* http.c - a small HTTP/1.1 client over the daemon's unix socket (requests, chunked bodies, upgrades).
 * Hand-written rather than libcurl: loading libcurl and its TLS stack costs ~6 ms per invocation,
 * a third of the `run --rm` budget, and attach needs the raw socket anyway. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "cli/cli.h"
#include "common/fs.h"
#include "common/xalloc.h"

#define MAX_HEAD (64 * 1024)

int cli_set_host(struct cli *cli, const char *host, struct berth_error **err) {
  const char *p;
  if (strncmp(host, "unix://", 7) == 0) p = host + 7;
  else if (host[0] == '/') p = host;
  else if (strncmp(host, "tcp://", 6) == 0 || strncmp(host, "ssh://", 6) == 0 || strncmp(host, "fd://", 5) == 0)
    return berr(err, ENOTSUP, "%.*s hosts are not supported yet: use unix:///path", (int)(strchr(host, ':') - host),
                host);
  else
    return berr(err, EINVAL, "unable to parse docker host `%s`", host);
  if (!*p) return berr(err, EINVAL, "unable to parse docker host `%s`", host);
  free(cli->host);
  free(cli->sock_path);
  cli->sock_path = p[0] == '/' ? xstrdup(p) : xasprintf("/%s", p);
  cli->host = xasprintf("unix://%s", cli->sock_path);
  return 0;
}

void cli_conn_close(struct cli_conn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  free(c->rbuf);
  free(c->content_type);
  c->rbuf = c->content_type = NULL;
}

static int conn_connect(struct cli *cli, struct cli_conn *c, struct berth_error **err) {
  memset(c, 0, sizeof(*c));
  c->fd = -1;
  c->clen = -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(cli->sock_path) >= sizeof(sa.sun_path))
    return berr(err, ENAMETOOLONG, "socket path \"%s\" is too long", cli->sock_path);
  strcpy(sa.sun_path, cli->sock_path);
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return berr_sys(err, errno, "socket");
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int e = errno;
    if (e == EACCES)
      return berr(err, e,
                  "Got permission denied while trying to connect to the berth daemon socket at %s: connect: "
                  "permission denied",
                  cli->host);
    return berr(err, e, "Cannot connect to the berth daemon at %s. Is the berth daemon running?", cli->host);
  }
  return 0;
}

static void put_head(struct buf *b, const char *method, const char *path, const char *ctype, bool upgrade) {
  buf_printf(b, "%s /v1.41%s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: berth-cli/%s\r\n", method, path,
             BERTH_VERSION);
  if (ctype) buf_printf(b, "Content-Type: %s\r\n", ctype);
  if (upgrade) buf_puts(b, "Connection: Upgrade\r\nUpgrade: tcp\r\n");
  /* registry operations carry credentials; berth has no login yet, so an empty auth ("{}") like docker */
  if (strstr(path, "/push?") || strncmp(path, "/images/create?fromImage", 24) == 0) buf_puts(b, "X-Registry-Auth: e30=\r\n");
}

int cli_conn_open(struct cli *cli, struct cli_conn *c, const char *method, const char *path, const char *ctype,
                  const void *body, size_t len, bool upgrade, struct berth_error **err) {
  int r = conn_connect(cli, c, err);
  if (r < 0) return r;
  _cleanup_buf_ struct buf b = {0};
  put_head(&b, method, path, body ? ctype : NULL, upgrade);
  buf_printf(&b, "Content-Length: %zu\r\n\r\n", body ? len : 0);
  if (body) buf_append(&b, body, len);
  r = write_all(c->fd, b.p, b.len);
  if (r < 0) return berr_sys(err, -r, "send request to %s", cli->host);
  return 0;
}

static int send_chunked(int out, int in, struct berth_error **err) {
  char data[65536];
  for (;;) {
    ssize_t n = read(in, data, sizeof(data));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return berr_sys(err, errno, "read input");
    char hdr[32];
    int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", (size_t)n);
    int r = write_all(out, hdr, (size_t)hl);
    if (r == 0 && n > 0) r = write_all(out, data, (size_t)n);
    if (r == 0) r = write_all(out, "\r\n", 2);
    if (r < 0) return berr_sys(err, -r, "send request body");
    if (n == 0) return 0;
  }
}

int cli_conn_upload_fd(struct cli *cli, struct cli_conn *c, const char *method, const char *path, const char *ctype,
                       int fd, struct berth_error **err) {
  int r = conn_connect(cli, c, err);
  if (r < 0) return r;
  struct stat st;
  bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  _cleanup_buf_ struct buf b = {0};
  put_head(&b, method, path, ctype, false);
  if (regular) buf_printf(&b, "Content-Length: %lld\r\n\r\n", (long long)st.st_size);
  else buf_puts(&b, "Transfer-Encoding: chunked\r\n\r\n");
  r = write_all(c->fd, b.p, b.len);
  if (r < 0) return berr_sys(err, -r, "send request to %s", cli->host);
  if (!regular) return send_chunked(c->fd, fd, err);
  long long left = st.st_size;
  /* a file goes to the socket without passing through our buffers (save/load of big images);
   * where the kernel can't (EINVAL), the copy loop below takes over at the same offset */
  while (left > 0) {
    ssize_t n = sendfile(c->fd, fd, NULL, left > (1 << 30) ? (size_t)1 << 30 : (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS)) break;
    if (n < 0) return berr_sys(err, errno, "send request body");
    if (n == 0) return berr(err, EIO, "input file shrank while sending it");
    left -= n;
  }
  char data[65536];
  while (left > 0) {
    ssize_t n = read(fd, data, sizeof(data));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return berr_sys(err, errno, "read input");
    if (n == 0) return berr(err, EIO, "input file shrank while sending it");
    r = write_all(c->fd, data, (size_t)n);
    if (r < 0) return berr_sys(err, -r, "send request body");
    left -= n;
  }
  return 0;
}

/* fill: read more bytes into rbuf; 0 at EOF, >0 bytes, <0 error */
static ssize_t fill(struct cli_conn *c) {
  if (c->rpos == c->rlen) c->rpos = c->rlen = 0;
  if (c->rcap - c->rlen < 4096) {
    c->rcap = c->rcap ? c->rcap * 2 : 16384;
    c->rbuf = xrealloc(c->rbuf, c->rcap);
  }
  for (;;) {
    ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    c->rlen += (size_t)n;
    return n;
  }
}

/* getline: one CRLF-terminated line (without it) into a heap string */
static int conn_getline(struct cli_conn *c, char **line) {
  for (;;) {
    char *nl = c->rbuf ? memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos) : NULL;
    if (nl) {
      size_t n = (size_t)(nl - (c->rbuf + c->rpos));
      *line = xstrndup(c->rbuf + c->rpos, n && nl[-1] == '\r' ? n - 1 : n);
      c->rpos += n + 1;
      return 0;
    }
    if (c->rlen - c->rpos > MAX_HEAD) return -E2BIG;
    ssize_t r = fill(c);
    if (r < 0) return (int)r;
    if (r == 0) return -ECONNRESET;
  }
}

static void parse_header(struct cli_conn *c, const char *line) {
  const char *colon = strchr(line, ':');
  if (!colon) return;
  size_t n = (size_t)(colon - line);
  const char *v = colon + 1;
  while (*v == ' ' || *v == '\t') v++;
  if (n == 14 && strncasecmp(line, "Content-Length", n) == 0) c->clen = strtoll(v, NULL, 10);
  else if (n == 17 && strncasecmp(line, "Transfer-Encoding", n) == 0 && strcasestr(v, "chunked")) c->chunked = true;
  else if (n == 12 && strncasecmp(line, "Content-Type", n) == 0) {
    free(c->content_type);
    c->content_type = xstrdup(v);
  }
}

int cli_conn_read_head(struct cli_conn *c, struct berth_error **err) {
  for (;;) {
    _cleanup_free_ char *status = NULL;
    int r = conn_getline(c, &status);
    if (r < 0) return berr_sys(err, -r, "read the daemon's answer");
    if (strncmp(status, "HTTP/1.", 7) != 0 || strlen(status) < 12)
      return berr(err, EPROTO, "malformed HTTP status line from the daemon: \"%s\"", status);
    c->status = atoi(status + 9);
    for (;;) {
      _cleanup_free_ char *h = NULL;
      r = conn_getline(c, &h);
      if (r < 0) return berr_sys(err, -r, "read the daemon's answer");
      if (!*h) break;
      parse_header(c, h);
    }
    if (c->status == 100) continue; /* 100 Continue: the real answer follows */
    if (c->status == 101) {
      c->upgraded = true;
      c->chunked = false;
      c->clen = -1;
    }
    if (c->status == 204 || c->status == 304) c->clen = 0;
    c->chunk_left = -1;
    return 0;
  }
}

static ssize_t take(struct cli_conn *c, char *out, size_t size) {
  size_t have = c->rlen - c->rpos;
  if (have == 0) {
    ssize_t r = fill(c);
    if (r <= 0) return r;
    have = c->rlen - c->rpos;
  }
  if (size > have) size = have;
  memcpy(out, c->rbuf + c->rpos, size);
  c->rpos += size;
  return (ssize_t)size;
}

static ssize_t read_chunked(struct cli_conn *c, char *out, size_t size, struct berth_error **err) {
  if (c->chunk_left <= 0) {
    _cleanup_free_ char *line = NULL;
    if (c->chunk_left == 0) { /* CRLF after the previous chunk */
      if (conn_getline(c, &line) < 0) return berr(err, EPROTO, "truncated chunked answer from the daemon");
      free(line);
      line = NULL;
    }
    if (conn_getline(c, &line) < 0) return berr(err, EPROTO, "truncated chunked answer from the daemon");
    c->chunk_left = strtoll(line, NULL, 16);
    if (c->chunk_left <= 0) {
      for (;;) { /* trailers up to the empty line */
        _cleanup_free_ char *t = NULL;
        if (conn_getline(c, &t) < 0 || !*t) break;
      }
      c->body_done = true;
      return 0;
    }
  }
  if ((long long)size > c->chunk_left) size = (size_t)c->chunk_left;
  ssize_t n = take(c, out, size);
  if (n <= 0) return n == 0 ? berr(err, EPROTO, "truncated chunked answer from the daemon") : berr_sys(err, (int)-n, "read");
  c->chunk_left -= n;
  return n;
}

ssize_t cli_conn_read_body(struct cli_conn *c, char *out, size_t size, struct berth_error **err) {
  if (c->body_done) return 0;
  if (c->chunked) return read_chunked(c, out, size, err);
  if (c->clen >= 0) {
    if (c->clen == 0) return c->body_done = true, 0;
    if ((long long)size > c->clen) size = (size_t)c->clen;
  }
  ssize_t n = take(c, out, size);
  if (n < 0) return berr_sys(err, (int)-n, "read the daemon's answer");
  if (n == 0) {
    c->body_done = true;
    if (c->clen > 0) return berr(err, EPROTO, "the daemon's answer ended early");
    return 0;
  }
  if (c->clen > 0) c->clen -= n;
  return n;
}

int cli_conn_slurp(struct cli_conn *c, struct buf *b, struct berth_error **err) {
  char tmp[16384];
  for (;;) {
    ssize_t n = cli_conn_read_body(c, tmp, sizeof(tmp), err);
    if (n < 0) return (int)n;
    if (n == 0) return 0;
    buf_append(b, tmp, (size_t)n);
  }
}

static int status_errno(int status) {
  switch (status) {
  case 400: return EINVAL;
  case 401:
  case 403: return EACCES;
  case 404: return ENOENT;
  case 409: return EEXIST;
  case 501: return ENOTSUP;
  default: return EIO;
  }
}

int cli_daemon_error(struct cli_conn *c, struct berth_error **err) {
  _cleanup_buf_ struct buf b = {0};
  struct berth_error *ignored = NULL;
  cli_conn_slurp(c, &b, &ignored);
  berr_free(ignored);
  const char *msg = b.p ? b.p : "";
  _cleanup_json_ json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
  if (j && json_is_string(json_object_get(j, "message"))) msg = json_string_value(json_object_get(j, "message"));
  _cleanup_free_ char *trimmed = xstrdup(msg);
  size_t n = strlen(trimmed);
  while (n && (trimmed[n - 1] == '\n' || trimmed[n - 1] == '\r')) trimmed[--n] = 0;
  if (!n) return berr(err, status_errno(c->status), "Error response from daemon: HTTP status %d", c->status);
  return berr(err, status_errno(c->status), "Error response from daemon: %s", trimmed);
}

int cli_call(struct cli *cli, const char *method, const char *path, json_t *body, json_t **out, int *status,
             struct berth_error **err) {
  _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  _cleanup_conn_ struct cli_conn c = {.fd = -1};
  int r = cli_conn_open(cli, &c, method, path, "application/json", text, text ? strlen(text) : 0, false, err);
  if (r < 0) return r;
  r = cli_conn_read_head(&c, err);
  if (r < 0) return r;
  if (status) *status = c.status;
  if (c.status >= 400) return cli_daemon_error(&c, err);
  _cleanup_buf_ struct buf b = {0};
  r = cli_conn_slurp(&c, &b, err);
  if (r < 0) return r;
  if (out) {
    *out = NULL;
    if (b.len) {
      json_error_t je;
      *out = json_loadb(b.p, b.len, 0, &je);
      if (!*out) return berr(err, EPROTO, "bad JSON from the daemon: %s", je.text);
    }
  }
  return 0;
}

char *cli_urlenc(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  struct buf b = {0};
  buf_reserve(&b, strlen(s) + 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    /* '/', ':' and '@' stay as they are: image references travel in paths ("/images/reg:5000/x:1/json"),
     * as docker's client sends them */
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~/:@", *p)) {
      buf_putc(&b, (char)*p);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      buf_append(&b, e, 3);
    }
  }
  return buf_steal(&b);
}
