/* server.c - the HTTP server: libmicrohttpd on unix sockets we bind ourselves, a thread per
 * connection (so wait, attach and logs block only their own client), request bodies, dispatch
 * through the route table, JSON replies and Docker's error shape */
#define LOG_TAG "berthd"
#include "api/api.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define SERVER_HEADER "Berth/" BERTH_VERSION " (linux)"
#define MAX_HOSTS 8

const char *req_query(struct req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *req_header(struct req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_param(struct req *r, const char *name) {
  for (int i = 0; i < r->nparams; i++)
    if (strcmp(r->param_names[i], name) == 0) return r->params[i];
  return NULL;
}

bool req_query_bool(struct req *r, const char *name, bool def) {
  const char *v = req_query(r, name);
  if (!v) return def;
  /* Docker: "", "0", "no", "false", "none" (any case) are false, everything else true */
  static const char *const no[] = {"", "0", "no", "false", "none"};
  for (size_t i = 0; i < ARRAY_SIZE(no); i++)
    if (strcasecmp(v, no[i]) == 0) return false;
  return true;
}

int req_body_json(struct req *r, json_t **out, struct berth_error **err) {
  if (r->body_too_big) return berr(err, E2BIG, "request body is larger than %d bytes", DAEMON_MAX_JSON_BODY);
  if (r->body.len == 0) {
    *out = json_object();
    return 0;
  }
  json_error_t je;
  json_t *j = json_loadb(r->body.p, r->body.len, JSON_DECODE_ANY, &je);
  if (!j) return berr(err, EINVAL, "invalid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
  /* Go clients encode an absent config as "null" (docker 20.10's commit does): Docker decodes
   * that as an empty one */
  if (json_is_null(j)) {
    json_decref(j);
    j = json_object();
  }
  if (!json_is_object(j) && !json_is_array(j)) {
    json_decref(j);
    return berr(err, EINVAL, "invalid JSON: the body must be an object");
  }
  *out = j;
  return 0;
}

static void add_common_headers(struct MHD_Response *resp) {
  MHD_add_response_header(resp, "Api-Version", BERTH_API_VERSION);
  MHD_add_response_header(resp, "Docker-Experimental", "false");
  MHD_add_response_header(resp, "Ostype", "linux");
  MHD_add_response_header(resp, "Server", SERVER_HEADER);
}

static enum MHD_Result queue_buffer(struct MHD_Connection *conn, int status, const char *ctype, char *data,
                                    size_t len) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
  if (ctype) MHD_add_response_header(resp, "Content-Type", ctype);
  add_common_headers(resp);
  enum MHD_Result ret = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result queue_error(struct MHD_Connection *conn, int status, const char *msg) {
  if (status == 304) return queue_buffer(conn, status, NULL, NULL, 0);
  struct buf b = {0};
  buf_puts(&b, "{\"message\":");
  buf_json_string(&b, msg, strlen(msg));
  buf_puts(&b, "}\n");
  size_t len = b.len;
  return queue_buffer(conn, status, "application/json", buf_steal(&b), len);
}

static enum MHD_Result queue_reply(struct MHD_Connection *conn, struct reply *rep) {
  if (rep->resp) {
    add_common_headers(rep->resp);
    enum MHD_Result ret = MHD_queue_response(conn, rep->status, rep->resp);
    MHD_destroy_response(rep->resp);
    rep->resp = NULL;
    return ret;
  }
  if (rep->json) {
    char *s = json_dumps(rep->json, JSON_COMPACT);
    size_t n = strlen(s);
    char *body = xmalloc(n + 2);
    memcpy(body, s, n);
    body[n] = '\n';
    body[n + 1] = '\0';
    free(s);
    return queue_buffer(conn, rep->status, "application/json", body, n + 1);
  }
  size_t len = rep->body.len;
  return queue_buffer(conn, rep->status, rep->content_type, buf_steal(&rep->body), len);
}

static void req_free(struct req *r) {
  if (!r) return;
  req_clear_params(r);
  free(r->method);
  free(r->path);
  free(r->version);
  free(r->early_msg);
  free(r->body_path);
  buf_free(&r->body);
  if (r->body_fd >= 0) close(r->body_fd);
  free(r);
}

/* req_begin: the first call for a request: route it, and ready the body sink */
static struct req *req_begin(struct daemon *d, struct MHD_Connection *conn, const char *url, const char *method) {
  struct req *r = xcalloc(1, sizeof(*r));
  _cleanup_berr_ struct berth_error *err = NULL;
  r->d = d;
  r->conn = conn;
  r->body_fd = -1;
  r->method = xstrdup(method);
  if (route_split_version(url, &r->version, &r->path, &err) < 0) {
    r->early_status = 400;
    r->early_msg = xstrdup(berr_msg(err));
    return r;
  }
  int rc = route_find(method, r->path, r, &r->route);
  if (rc == -ENOENT) {
    r->early_status = 404;
    r->early_msg = xstrdup("page not found");
  } else if (rc < 0) {
    r->early_status = 405;
    r->early_msg = xstrdup("method not allowed");
  } else if (r->route->flags & ROUTE_STREAM_BODY) {
    /* O_TMPFILE: an upload that is never finished leaves nothing behind */
    _cleanup_free_ char *tmp = path_join(d->cfg.data_root, "tmp");
    r->body_fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (r->body_fd < 0) {
      r->early_status = 500;
      r->early_msg = xasprintf("create upload file in \"%s\": %s", tmp, strerror(errno));
    }
  }
  return r;
}

static void req_feed(struct req *r, const char *data, size_t n) {
  if (r->early_status) return;
  if (r->body_fd >= 0) {
    int rc = write_all(r->body_fd, data, n);
    if (rc < 0) {
      r->early_status = 500;
      r->early_msg = xasprintf("write upload: %s", strerror(-rc));
    }
    return;
  }
  if (r->body.len + n > DAEMON_MAX_JSON_BODY) r->body_too_big = true;
  else buf_append(&r->body, data, n);
}

static enum MHD_Result dispatch(struct req *r) {
  if (r->early_status) return queue_error(r->conn, r->early_status, r->early_msg);
  if (r->body_fd >= 0) lseek(r->body_fd, 0, SEEK_SET);
  struct reply rep = {.status = 200};
  _cleanup_berr_ struct berth_error *err = NULL;
  int rc = r->route->fn(r, &rep, &err);
  if (rc < 0) {
    json_decref(rep.json);
    buf_free(&rep.body);
    if (rep.resp) MHD_destroy_response(rep.resp);
    int status = api_http_status(err ? err->code : -rc);
    if (status >= 500) log_warn("%s %s: %s", r->method, r->path, berr_msg(err));
    else log_debug("%s %s: %s", r->method, r->path, berr_msg(err));
    return queue_error(r->conn, status, berr_msg(err));
  }
  enum MHD_Result ret = queue_reply(r->conn, &rep);
  json_decref(rep.json);
  buf_free(&rep.body);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  struct daemon *d = cls;
  struct req *r = *con_cls;
  if (!r) {
    *con_cls = req_begin(d, conn, url, method);
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    req_feed(r, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  log_debug("%s %s", method, url);
  return dispatch(r);
}

/* heavy_request: POSTs that leave megabytes of freed small blocks in the heap (pulls, imports,
 * loads, builds, commits); the idle daemon should not keep them */
static bool heavy_request(const struct req *r) {
  static const char *const paths[] = {"/images/create", "/images/load", "/build", "/commit"};
  if (!r || !r->path || r->early_status || strcmp(r->method, "POST") != 0) return false;
  for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
    if (strcmp(r->path, paths[i]) == 0) return true;
  return false;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
  bool trim = heavy_request(*con_cls);
  req_free(*con_cls);
  *con_cls = NULL;
  /* the reply is sent: the client does not wait for this */
  if (trim) malloc_trim(0);
}

static gid_t socket_group(const char *group) {
  if (!group) {
    struct group *g = getgrnam("berth");
    return g ? g->gr_gid : 0;
  }
  struct group *g = getgrnam(group);
  if (g) return g->gr_gid;
  char *end;
  long n = strtol(group, &end, 10);
  return *end == '\0' ? (gid_t)n : (gid_t)-1;
}

/* listen_unix: bind host ("unix:///path") with mode 0660 and the socket group */
static int listen_unix(struct daemon *d, const char *host, struct berth_error **err) {
  if (strncmp(host, "unix://", 7) != 0)
    return berr(err, EINVAL, "host \"%s\" is not supported: only unix:// sockets are (tcp:// would expose root "
                             "to the network)", host);
  const char *path = host + 7;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) return berr(err, ENAMETOOLONG, "socket path \"%s\" is too long", path);
  strcpy(sa.sun_path, path);
  gid_t gid = socket_group(d->cfg.group);
  if (gid == (gid_t)-1) return berr(err, EINVAL, "group \"%s\" does not exist", d->cfg.group);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return berr_sys(err, errno, "socket");
  /* we hold the data root's lock, so a socket file left here is a dead daemon's */
  unlink(path);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) return berr_sys(err, errno, "bind \"%s\"", path);
  if (chmod(path, 0660) < 0 || chown(path, 0, gid) < 0) return berr_sys(err, errno, "chmod/chown \"%s\"", path);
  if (listen(fd, 128) < 0) return berr_sys(err, errno, "listen \"%s\"", path);
  return take_fd(&fd);
}

/* mhd_log: libmicrohttpd's messages go through our logger; most are clients that went away
 * (docker run -d drops its wait request), so they are debug, not stderr noise */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  if (log_get_level() < LOG_LVL_DEBUG) return;
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = strlen(msg);
  while (n > 0 && msg[n - 1] == '\n') msg[--n] = '\0';
  log_debug("HTTP: %s", msg);
}

struct listener {
  struct MHD_Daemon *mhd;
  const char *path;
};

static int start_listener(struct daemon *d, const char *host, struct listener *l, struct berth_error **err) {
  int fd = listen_unix(d, host, err);
  if (fd < 0) return fd;
  l->path = host + 7;
  l->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                                MHD_USE_ITC | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG,
                            0, NULL, NULL, on_request, d, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, d, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                            NULL,
                            /* the read buffer bounds each upload piece: 32 kB by default, ~6600 calls
                             * per 100 MB of `load`; the pool is mmapped, only used pages count */
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(1024 * 1024),
                            MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)(64 * 1024), MHD_OPTION_END);
  if (!l->mhd) {
    close(fd);
    unlink(l->path);
    return berr(err, EIO, "start the HTTP server on \"%s\"", l->path);
  }
  log_info("API listening on %s", l->path);
  return 0;
}

/* stop_listeners: stop accepting, remove the sockets, end long waits, then finish requests */
static void stop_listeners(struct daemon *d, struct listener *ls, int n) {
  for (int i = 0; i < n; i++) {
    MHD_socket fd = MHD_quiesce_daemon(ls[i].mhd);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    unlink(ls[i].path);
  }
  d->stopping = true;
  uint64_t one = 1;
  (void)!write(d->stop_efd, &one, sizeof(one));
  ctr_table_wake_all(d->ctrs);
  for (int i = 0; i < n; i++) MHD_stop_daemon(ls[i].mhd);
}

int server_run(struct daemon *d, struct berth_error **err) {
  struct listener ls[MAX_HOSTS] = {0};
  int n = 0, r = 0;
  for (char **h = d->cfg.hosts; *h && n < MAX_HOSTS; h++) {
    r = start_listener(d, *h, &ls[n], err);
    if (r < 0) break;
    n++;
  }
  if (r == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    log_info("Received %s, shutting down (containers keep running)", sig == SIGINT ? "SIGINT" : "SIGTERM");
  }
  stop_listeners(d, ls, n);
  return r;
}
