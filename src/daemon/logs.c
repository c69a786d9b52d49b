/* logs.c - GET /containers/{id}/logs from the json-file log: stream choice, timestamps, tail,
 * stdcopy framing without a TTY (raw with one), and follow while the container runs (until --until) */
#include "api/api.h"
#include "common/fs.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct log_opts {
  bool out, err, timestamps, tty;
  long tail;                  /* -1: all */
  int64_t since_ns, until_ns; /* 0: no bound */
};

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static long hex4(const char *p, const char *end) {
  if (end - p < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

static void put_utf8(struct buf *out, long cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  else
    u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)), u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)),
    u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  buf_append(out, u, n);
}

/* unescape: a JSON string's body from p (after its opening quote) into out; the position after
 * the closing quote, or NULL when the text is not one berth-shim writes */
static const char *unescape(const char *p, const char *end, struct buf *out) {
  static const char simple[][2] = {{'"', '"'}, {'\\', '\\'}, {'/', '/'}, {'b', '\b'}, {'f', '\f'}, {'n', '\n'}, {'r', '\r'}, {'t', '\t'}};
  while (p < end) {
    const char *q = p;
    while (q < end && *q != '"' && *q != '\\') q++;
    buf_append(out, p, (size_t)(q - p));
    if (q >= end) return NULL;
    if (*q == '"') return q + 1;
    if (q + 1 >= end) return NULL;
    char c = q[1];
    p = q + 2;
    bool done = false;
    for (size_t i = 0; i < ARRAY_SIZE(simple) && !done; i++)
      if (simple[i][0] == c) buf_putc(out, simple[i][1]), done = true;
    if (done) continue;
    if (c != 'u') return NULL;
    long cp = hex4(p, end);
    if (cp < 0) return NULL;
    p += 4;
    if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
      long lo = hex4(p + 2, end);
      if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00), p += 6;
    }
    put_utf8(out, cp);
  }
  return NULL;
}

/* in_window_ts: the entry's time t within since/until (entries without a time pass) */
static bool in_window_ts(const struct log_opts *o, const char *t) {
  if (!o->since_ns && !o->until_ns) return true;
  struct timespec ts;
  if (time_parse_rfc3339(t, &ts) < 0) return true;
  int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  return ns >= o->since_ns && (!o->until_ns || ns <= o->until_ns);
}

/* in_window: the same for a decoded json-file entry */
static bool in_window(const struct log_opts *o, const json_t *j) {
  return in_window_ts(o, json_string_value(json_object_get(j, "time")) ?: "");
}

/* emit_fast: the shim's own line shape {"log":"..","stream":"stdout","time":".."} decoded without
 * building a JSON tree (reading logs back is dominated by this); -1 when the line has another shape */
static int emit_fast(const struct log_opts *o, const char *line, size_t len, struct buf *b) {
  static const char head[] = "{\"log\":\"", mid[] = ",\"stream\":\"", tm[] = "\",\"time\":\"";
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  const char *end = line + len;
  if (len < sizeof(head) || memcmp(line, head, sizeof(head) - 1) != 0) return -1;
  struct buf text = {0};
  const char *p = unescape(line + sizeof(head) - 1, end, &text);
  int r = -1;
  if (p && (size_t)(end - p) > sizeof(mid) + 6 + sizeof(tm) && memcmp(p, mid, sizeof(mid) - 1) == 0) {
    p += sizeof(mid) - 1;
    enum api_stream s = memcmp(p, "stderr", 6) == 0 ? API_STREAM_STDERR : API_STREAM_STDOUT;
    const char *t = p + 6;
    if ((memcmp(p, "stdout", 6) == 0 || memcmp(p, "stderr", 6) == 0) && memcmp(t, tm, sizeof(tm) - 1) == 0) {
      t += sizeof(tm) - 1;
      const char *te = memchr(t, '"', (size_t)(end - t));
      char ts[64];
      if (te && te - t < (ptrdiff_t)sizeof(ts) && te + 2 == end && te[1] == '}') {
        memcpy(ts, t, (size_t)(te - t));
        ts[te - t] = '\0';
        bool want = ((s == API_STREAM_STDOUT && o->out) || (s == API_STREAM_STDERR && o->err)) && in_window_ts(o, ts);
        if (want) {
          struct buf msg = {0};
          if (o->timestamps) buf_printf(&msg, "%s ", ts);
          buf_append(&msg, text.p ? text.p : "", text.len);
          if (o->tty) buf_append(b, msg.p, msg.len);
          else api_frame_append(b, s, msg.p, msg.len);
          buf_free(&msg);
        }
        r = want;
      }
    }
  }
  buf_free(&text);
  return r;
}

/* emit: one json-file line in the reply's shape; false when it is not for us */
static bool emit(const struct log_opts *o, const char *line, size_t len, struct buf *b) {
  int fast = emit_fast(o, line, len, b);
  if (fast >= 0) return fast;
  json_t *j = json_loadb(line, len, 0, NULL);
  if (!j) return false;
  const char *stream = json_string_value(json_object_get(j, "stream"));
  json_t *logv = json_object_get(j, "log");
  const char *text = json_string_value(logv);
  enum api_stream s = stream && strcmp(stream, "stderr") == 0 ? API_STREAM_STDERR : API_STREAM_STDOUT;
  bool want = text && ((s == API_STREAM_STDOUT && o->out) || (s == API_STREAM_STDERR && o->err)) && in_window(o, j);
  if (want) {
    struct buf msg = {0};
    if (o->timestamps) {
      buf_puts(&msg, json_string_value(json_object_get(j, "time")) ?: "");
      buf_putc(&msg, ' ');
    }
    buf_append(&msg, text, json_string_length(logv));
    if (o->tty) buf_append(b, msg.p, msg.len);
    else api_frame_append(b, s, msg.p, msg.len);
    buf_free(&msg);
  }
  json_decref(j);
  return want;
}

/* render: the lines of text (a whole log) in the reply's shape, the last o->tail wanted ones */
static void render(const struct log_opts *o, const char *text, size_t len, struct buf *b) {
  /* walk backwards for tail: count wanted lines from the end without decoding all of them twice */
  size_t start = 0;
  if (o->tail >= 0) {
    long seen = 0;
    size_t end = len;
    start = len;
    while (end > 0 && seen < o->tail) {
      size_t s = end - 1;
      while (s > 0 && text[s - 1] != '\n') s--;
      struct buf probe = {0};
      if (emit(o, text + s, end - s, &probe)) seen++;
      buf_free(&probe);
      start = s;
      end = s;
    }
    if (o->tail == 0) start = len;
  }
  for (size_t p = start; p < len;) {
    const char *nl = memchr(text + p, '\n', len - p);
    size_t e = nl ? (size_t)(nl - text) : len;
    if (e > p) emit(o, text + p, e - p, b);
    p = e + 1;
  }
}

struct follow {
  struct daemon *d;
  struct ctr_state *st;
  struct log_opts o;
  int fd;
  char *path;         /* the live log: reopened when the shim rotates it */
  struct buf pending; /* rendered bytes not yet sent */
  struct buf partial; /* a log line not yet complete */
  size_t sent;
};

static bool ctr_running(struct follow *f) {
  pthread_mutex_lock(&f->st->mu);
  bool r = f->st->running;
  pthread_mutex_unlock(&f->st->mu);
  return r;
}

/* follow_fill: read what the log gained; lines complete go to pending */
static int follow_fill(struct follow *f) {
  char chunk[16 * 1024];
  ssize_t n = read(f->fd, chunk, sizeof(chunk));
  if (n <= 0) return (int)n;
  buf_append(&f->partial, chunk, (size_t)n);
  char *last = memrchr(f->partial.p, '\n', f->partial.len);
  if (!last) return (int)n;
  size_t upto = (size_t)(last - f->partial.p) + 1;
  struct log_opts all = f->o;
  all.tail = -1;
  render(&all, f->partial.p, upto, &f->pending);
  memmove(f->partial.p, f->partial.p + upto, f->partial.len - upto);
  f->partial.len -= upto;
  f->partial.p[f->partial.len] = '\0';
  return (int)n;
}

/* rotated: the file we read was renamed away (and is read to its end): go on with the new one */
static bool rotated(struct follow *f) {
  struct stat a, b;
  if (!f->path || fstat(f->fd, &a) < 0 || stat(f->path, &b) < 0) return false;
  if (a.st_ino == b.st_ino && a.st_dev == b.st_dev) return false;
  int fd = open(f->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  close(f->fd);
  f->fd = fd;
  return true;
}

static ssize_t follow_read(void *cls, uint64_t pos, char *out, size_t max) {
  struct follow *f = cls;
  for (;;) {
    if (f->sent < f->pending.len) {
      size_t n = f->pending.len - f->sent;
      if (n > max) n = max;
      memcpy(out, f->pending.p + f->sent, n);
      f->sent += n;
      if (f->sent == f->pending.len) {
        buf_reset(&f->pending);
        f->sent = 0;
      }
      return (ssize_t)n;
    }
    if (f->d->stopping) return MHD_CONTENT_READER_END_OF_STREAM;
    /* --until with --follow: the stream ends at that time, as Docker's (its lines are all sent) */
    bool past_until = f->o.until_ns && time_now_ns() > f->o.until_ns;
    bool running = ctr_running(f) && !past_until;
    int n = follow_fill(f);
    if (n < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0 && rotated(f)) continue;
    if (n == 0 && !running) return MHD_CONTENT_READER_END_OF_STREAM;
    /* the shim appends; wait a little for more (or for the exit) */
    if (n == 0) poll(&(struct pollfd){.fd = f->d->stop_efd, .events = POLLIN}, 1, 100);
  }
}

static void follow_free(void *cls) {
  struct follow *f = cls;
  ctr_state_put(f->d->ctrs, f->st);
  if (f->fd >= 0) close(f->fd);
  free(f->path);
  buf_free(&f->pending);
  buf_free(&f->partial);
  free(f);
}

/* read_rotated: the log's rotated files, oldest first (NAME.N ... NAME.1), then NAME itself */
static int read_rotated(const char *path, char **text, size_t *len, struct berth_error **err) {
  struct buf all = {0};
  int n = 0;
  for (;;) {
    _cleanup_free_ char *p = xasprintf("%s.%d", path, n + 1);
    if (access(p, F_OK) != 0) break;
    n++;
  }
  for (int i = n; i >= 1; i--) {
    _cleanup_free_ char *p = xasprintf("%s.%d", path, i);
    _cleanup_free_ char *t = NULL;
    size_t l = 0;
    _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read_all(fd, &t, &l, 0) < 0) continue; /* rotated away meanwhile */
    buf_append(&all, t, l);
  }
  *text = all.p;
  *len = all.len;
  (void)err;
  return 0;
}

static int parse_opts(struct req *r, const struct store_container *c, struct log_opts *o, struct berth_error **err) {
  o->out = req_query_bool(r, "stdout", false);
  o->err = req_query_bool(r, "stderr", false);
  o->timestamps = req_query_bool(r, "timestamps", false);
  if (!o->out && !o->err) return berr(err, EINVAL, "Bad parameters: you must choose at least one stream");
  const char *tail = req_query(r, "tail");
  o->tail = -1;
  if (tail && *tail && strcmp(tail, "all") != 0) {
    char *end;
    o->tail = strtol(tail, &end, 10);
    if (*end || o->tail < 0) o->tail = -1;
  }
  int rc = events_parse_time(req_query(r, "since"), &o->since_ns, err);
  if (rc == 0) rc = events_parse_time(req_query(r, "until"), &o->until_ns, err);
  if (rc < 0) return rc;
  json_t *cfg = json_loads(c->config_json, 0, NULL);
  json_t *hc = json_loads(c->host_config_json, 0, NULL);
  o->tty = json_is_true(json_object_get(cfg, "Tty"));
  const char *drv = json_string_value(json_object_get(json_object_get(hc, "LogConfig"), "Type"));
  bool none = drv && strcmp(drv, "none") == 0;
  json_decref(cfg);
  json_decref(hc);
  if (none)
    return berr(err, ENOTSUP, "configured logging driver does not support reading");
  return 0;
}

int h_ctr_logs(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, req_param(r, "id"), &c, err);
  if (rc < 0) return rc;
  struct log_opts o;
  rc = parse_opts(r, c, &o, err);
  if (rc < 0) return rc;
  _cleanup_free_ char *path = ctr_log_path(r->d, c->id);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) return berr_sys(err, errno, "open \"%s\"", path);
  _cleanup_free_ char *text = NULL, *cur = NULL, *old = NULL;
  size_t len = 0, cur_len = 0, old_len = 0;
  if (fd >= 0 && (rc = read_all(fd, &cur, &cur_len, 0)) < 0) return berr_sys(err, -rc, "read \"%s\"", path);
  read_rotated(path, &old, &old_len, err);
  if (old_len) {
    /* whole lines of the older files, then the live one: one text to render and tail */
    struct buf b = {.p = take_ptr(&old), .len = old_len, .cap = old_len};
    if (cur_len) buf_append(&b, cur, cur_len);
    text = b.p;
    len = b.len;
  } else {
    text = take_ptr(&cur);
    len = cur_len;
  }
  size_t live_len = cur_len;
  /* only whole lines now; a follower picks up the rest */
  size_t whole = len;
  while (whole > 0 && text[whole - 1] != '\n') whole--;
  struct buf body = {0};
  if (text) render(&o, text, whole, &body);
  const char *ctype = o.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  if (!req_query_bool(r, "follow", false)) {
    if (text && whole < len) {
      struct log_opts all = o;
      all.tail = -1;
      render(&all, text + whole, len - whole, &body);
    }
    out->body = body;
    out->content_type = ctype;
    return 0;
  }
  struct follow *f = xcalloc(1, sizeof(*f));
  f->d = r->d;
  f->st = ctr_state_get(r->d->ctrs, c->id);
  f->o = o;
  f->pending = body;
  if (text && whole < len) buf_append(&f->partial, text + whole, len - whole);
  f->fd = fd >= 0 ? take_fd(&fd) : open(path, O_RDONLY | O_CLOEXEC | O_CREAT, 0640);
  if (f->fd >= 0) lseek(f->fd, (off_t)live_len, SEEK_SET);
  f->path = take_ptr(&path);
  out->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, follow_read, f, follow_free);
  MHD_add_response_header(out->resp, "Content-Type", ctype);
  return 0;
}
