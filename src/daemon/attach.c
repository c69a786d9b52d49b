/* attach.c - POST /containers/{id}/attach: hijack the connection (101 UPGRADED) and proxy it to
 * the shim's attach socket: stdin packets one way, [stream][data] packets the other, framed as
 * stdcopy without a TTY. Attaching before start waits for start to connect us (nothing lost). */
#define LOG_TAG "berthd"
#include "api/api.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define PACKET_MAX (64 * 1024 + 1)
#define DETACH_1 0x10 /* Ctrl-P */
#define DETACH_2 0x11 /* Ctrl-Q */

struct attach {
  struct daemon *d;
  struct ctr_state *st; /* referenced */
  struct attach_waiter *w; /* when waiting for start */
  int fd;                  /* the shim's attach socket */
  bool tty, want_in, want_out, want_err;
  bool held_detach; /* a Ctrl-P was read and not yet forwarded */
  char *extra;      /* bytes the client sent with the request */
  size_t extra_len;
};

static void attach_free(struct attach *a) {
  if (!a) return;
  if (a->w) {
    pthread_mutex_lock(&a->st->mu);
    for (struct attach_waiter **pp = &a->st->waiters; *pp; pp = &(*pp)->next) {
      if (*pp == a->w) {
        *pp = a->w->next;
        break;
      }
    }
    pthread_mutex_unlock(&a->st->mu);
    if (a->w->fd >= 0 && a->fd != a->w->fd) close(a->w->fd);
    free(a->w);
  }
  if (a->fd >= 0) close(a->fd);
  ctr_state_put(a->d->ctrs, a->st);
  free(a->extra);
  free(a);
}

/* wait_connected: for an attach made before start, wait until start hands us the socket */
static int wait_connected(struct attach *a) {
  if (a->fd >= 0 || !a->w) return a->fd;
  pthread_mutex_lock(&a->st->mu);
  while (!a->w->done && !a->d->stopping) pthread_cond_wait(&a->st->cond, &a->st->mu);
  a->fd = a->w->fd;
  a->w->fd = -1;
  pthread_mutex_unlock(&a->st->mu);
  return a->fd;
}

/* send_stdin: forward client bytes, watching for the detach keys (Ctrl-P Ctrl-Q); 1 = detach */
static int send_stdin(struct attach *a, const char *p, size_t n) {
  char out[32 * 1024 + 1];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (a->held_detach) {
      a->held_detach = false;
      if (c == DETACH_2) return 1;
      out[k++] = DETACH_1;
    }
    if (c == DETACH_1) {
      a->held_detach = true;
      continue;
    }
    out[k++] = c;
    if (k >= sizeof(out) - 1) {
      if (send(a->fd, out, k, MSG_NOSIGNAL) < 0) return -errno;
      k = 0;
    }
  }
  if (k > 0 && send(a->fd, out, k, MSG_NOSIGNAL) < 0) return -errno;
  return 0;
}

/* forward_output: one packet from the shim to the client; <0 when the client is gone */
static int forward_output(struct attach *a, int client, const char *pkt, size_t n) {
  if (n < 1) return 0;
  int stream = pkt[0];
  if ((stream == API_STREAM_STDOUT && !a->want_out) || (stream == API_STREAM_STDERR && !a->want_err)) return 0;
  if (a->tty) return write_all(client, pkt + 1, n - 1);
  uint8_t hdr[API_FRAME_HEADER];
  api_frame_header(hdr, (enum api_stream)stream, (uint32_t)(n - 1));
  int r = write_all(client, hdr, sizeof(hdr));
  return r < 0 ? r : write_all(client, pkt + 1, n - 1);
}

/* proxy: until the container's output ends, the client leaves or detaches */
static void proxy(struct attach *a, int client) {
  _cleanup_free_ char *pkt = xmalloc(PACKET_MAX);
  bool client_open = true;
  if (a->extra_len && a->want_in && send_stdin(a, a->extra, a->extra_len) != 0) return;
  for (;;) {
    struct pollfd p[3] = {{.fd = a->fd, .events = POLLIN},
                          {.fd = a->d->stop_efd, .events = POLLIN},
                          {.fd = client_open ? client : -1, .events = POLLIN}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    if (p[0].revents) {
      ssize_t n = recv(a->fd, pkt, PACKET_MAX, 0);
      if (n <= 0) return; /* the shim closed: the container's output is complete */
      if (forward_output(a, client, pkt, (size_t)n) < 0) return;
    }
    if (p[2].revents) {
      ssize_t n = read(client, pkt, 32 * 1024);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        /* the client closed its write side: end stdin (the shim closes it with --stdin-once) */
        client_open = false;
        if (a->want_in) shutdown(a->fd, SHUT_WR);
        if (n < 0) return;
        continue;
      }
      if (!a->want_in) continue;
      int r = send_stdin(a, pkt, (size_t)n);
      if (r == 1) return; /* detached */
      if (r < 0 && r != -EPIPE) return;
    }
  }
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
  struct attach *a = cls;
  /* thread-per-connection: blocking here blocks only this client */
  fd_set_nonblock(sock, 0);
  if (extra_in_size) {
    a->extra = xmalloc(extra_in_size);
    memcpy(a->extra, extra_in, extra_in_size);
    a->extra_len = extra_in_size;
  }
  if (wait_connected(a) >= 0) proxy(a, sock);
  attach_free(a);
  MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

/* on_read: output-only streaming for clients that did not ask for an upgrade */
static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct attach *a = cls;
  if (wait_connected(a) < 0) return MHD_CONTENT_READER_END_OF_STREAM;
  char pkt[16 * 1024];
  for (;;) {
    struct pollfd p[2] = {{.fd = a->fd, .events = POLLIN}, {.fd = a->d->stop_efd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (p[1].revents) return MHD_CONTENT_READER_END_OF_STREAM;
    if (!p[0].revents) continue;
    size_t room = max > API_FRAME_HEADER + 1 ? max - API_FRAME_HEADER : 1;
    ssize_t n = recv(a->fd, pkt, room < sizeof(pkt) ? room : sizeof(pkt), 0);
    if (n <= 0) return MHD_CONTENT_READER_END_OF_STREAM;
    int stream = pkt[0];
    if ((stream == API_STREAM_STDOUT && !a->want_out) || (stream == API_STREAM_STDERR && !a->want_err) || n < 2)
      continue;
    if (a->tty) {
      memcpy(buf, pkt + 1, n - 1);
      return n - 1;
    }
    api_frame_header((uint8_t *)buf, (enum api_stream)stream, (uint32_t)(n - 1));
    memcpy(buf + API_FRAME_HEADER, pkt + 1, n - 1);
    return API_FRAME_HEADER + n - 1;
  }
}

static void on_read_free(void *cls) { attach_free(cls); }

/* attach_prepare: connect now when running, else queue for the next start */
static int attach_prepare(struct req *r, const struct store_container *c, struct attach **out,
                          struct berth_error **err) {
  struct attach *a = xcalloc(1, sizeof(*a));
  a->d = r->d;
  a->fd = -1;
  a->st = ctr_state_get(r->d->ctrs, c->id);
  json_t *cfg = json_loads(c->config_json, 0, NULL);
  a->tty = json_is_true(json_object_get(cfg, "Tty"));
  json_decref(cfg);
  a->want_in = req_query_bool(r, "stdin", false);
  a->want_out = req_query_bool(r, "stdout", false);
  a->want_err = req_query_bool(r, "stderr", false);
  _cleanup_free_ char *shim_dir = ctr_shim_dir(r->d, c->id);
  pthread_mutex_lock(&a->st->mu);
  bool running = a->st->running;
  if (!running) {
    a->w = xcalloc(1, sizeof(*a->w));
    a->w->fd = -1;
    a->w->next = a->st->waiters;
    a->st->waiters = a->w;
  }
  pthread_mutex_unlock(&a->st->mu);
  if (running) {
    a->fd = ctr_attach_connect(shim_dir, err);
    if (a->fd < 0) {
      int rc = a->fd;
      attach_free(a);
      return rc;
    }
  }
  *out = a;
  return 0;
}

int h_ctr_attach(struct req *r, struct reply *out, struct berth_error **err) {
  if (req_query_bool(r, "logs", false)) return berr(err, ENOTSUP, "attach with logs=1 is not supported yet");
  const char *dk = req_query(r, "detachKeys");
  if (dk && *dk && strcasecmp(dk, "ctrl-p,ctrl-q") != 0)
    return berr(err, ENOTSUP, "detach keys other than ctrl-p,ctrl-q are not supported yet");
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, req_param(r, "id"), &c, err);
  if (rc < 0) return rc;
  if (strcmp(c->status, "paused") == 0) /* Docker's answer (daemon/attach.go) */
    return berr(err, EBUSY, "container %s is paused, unpause the container before attach", req_param(r, "id"));
  struct attach *a = NULL;
  rc = attach_prepare(r, c, &a, err);
  if (rc < 0) return rc;
  events_emit(r->d, "container", "attach", c->id, NULL);
  const char *ctype = a->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  const char *up = req_header(r, "Upgrade");
  if (up && *up) {
    out->resp = MHD_create_response_for_upgrade(on_upgrade, a);
    MHD_add_response_header(out->resp, "Upgrade", "tcp");
    out->status = MHD_HTTP_SWITCHING_PROTOCOLS;
  } else {
    out->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, on_read, a, on_read_free);
  }
  MHD_add_response_header(out->resp, "Content-Type", ctype);
  return 0;
}
