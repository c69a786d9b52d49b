/* attach.c - POST /containers/{id}/attach: hijack the connection (101 UPGRADED) and proxy it to
 * the shim's attach socket: stdin packets one way, [stream][data] packets the other, framed as
 * stdcopy without a TTY. Attaching before start waits for start to connect us (nothing lost). */
#define LOG_TAG "berthd"
#include "api/api.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/exec_int.h"
#include "daemon/stdio_proxy.h"
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct attach {
  struct daemon *d;
  struct ctr_state *st;    /* referenced */
  struct attach_waiter *w; /* when waiting for start */
  struct stdio_proxy p;    /* p.fd: the shim's attach socket */
  char *extra;             /* bytes the client sent with the request */
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
    if (a->w->fd >= 0 && a->p.fd != a->w->fd) close(a->w->fd);
    free(a->w);
  }
  if (a->p.fd >= 0) close(a->p.fd);
  ctr_state_put(a->d->ctrs, a->st);
  free(a->extra);
  free(a);
}

/* wait_connected: for an attach made before start, wait until start hands us the socket */
static int wait_connected(struct attach *a) {
  if (a->p.fd >= 0 || !a->w) return a->p.fd;
  pthread_mutex_lock(&a->st->mu);
  while (!a->w->done && !a->d->stopping) pthread_cond_wait(&a->st->cond, &a->st->mu);
  a->p.fd = a->w->fd;
  a->w->fd = -1;
  pthread_mutex_unlock(&a->st->mu);
  return a->p.fd;
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
  if (wait_connected(a) >= 0 && proxy_run(&a->p, sock, a->extra, a->extra_len) == PROXY_DETACHED)
    events_emit(a->d, "container", "detach", a->st->id, NULL); /* as Docker, on the detach keys */
  attach_free(a);
  MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

/* on_read: output-only streaming for clients that did not ask for an upgrade */
static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct attach *a = cls;
  if (wait_connected(a) < 0) return MHD_CONTENT_READER_END_OF_STREAM;
  ssize_t n = proxy_read(&a->p, buf, max);
  return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void on_read_free(void *cls) { attach_free(cls); }

/* attach_prepare: connect now when running, else queue for the next start */
static int attach_prepare(struct req *r, const struct store_container *c, struct attach **out,
                          struct berth_error **err) {
  struct attach *a = xcalloc(1, sizeof(*a));
  a->d = r->d;
  a->p.fd = -1;
  a->p.stop_efd = r->d->stop_efd;
  a->st = ctr_state_get(r->d->ctrs, c->id);
  json_t *cfg = json_loads(c->config_json, 0, NULL);
  a->p.tty = json_is_true(json_object_get(cfg, "Tty"));
  json_decref(cfg);
  a->p.in = req_query_bool(r, "stdin", false);
  a->p.out = req_query_bool(r, "stdout", false);
  a->p.err = req_query_bool(r, "stderr", false);
  if (exec_parse_keys(req_query(r, "detachKeys"), a->p.keys, sizeof(a->p.keys), &a->p.nkeys) < 0) {
    attach_free(a);
    return berr(err, EINVAL, "Invalid detach keys (%s) provided", req_query(r, "detachKeys"));
  }
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
    a->p.fd = ctr_attach_connect(shim_dir, err);
    if (a->p.fd < 0) {
      int rc = a->p.fd;
      attach_free(a);
      return rc;
    }
  }
  *out = a;
  return 0;
}

int h_ctr_attach(struct req *r, struct reply *out, struct berth_error **err) {
  if (req_query_bool(r, "logs", false)) return berr(err, ENOTSUP, "attach with logs=1 is not supported yet");
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, req_param(r, "id"), &c, err);
  if (rc < 0) return rc;
  if (strcmp(c->status, "paused") == 0) /* Docker's answer (daemon/attach.go) */
    return berr(err, EBUSY, "container %s is paused, unpause the container before attach", req_param(r, "id"));
  struct attach *a = NULL;
  rc = attach_prepare(r, c, &a, err);
  if (rc < 0) return rc;
  events_emit(r->d, "container", "attach", c->id, NULL);
  const char *ctype = a->p.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
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
