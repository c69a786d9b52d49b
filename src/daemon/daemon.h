/* daemon.h - berthd's internal interfaces: daemon state, requests and replies, route table,
 * per-container runtime state, monitor, and the handlers (one file per resource). */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/buf.h"
#include "common/error.h"
#include "runtime/spec.h" /* also _cleanup_json_ */
#include "store/store.h"

struct MHD_Connection;
struct MHD_Response;

struct daemon_config {
  char *data_root;
  char *exec_root;
  char **hosts; /* "unix:///path" */
  char *group;
  char *pidfile;
  char *storage_driver;
  char *default_registry;
  char *shim_path;
  char *runtime_path;
  char *log_level;
};

struct ctr_table;
struct monitor;

struct daemon {
  struct daemon_config cfg;
  struct store *store;
  struct storage *storage;
  struct image_store *images;
  struct ctr_table *ctrs;
  struct monitor *mon;
  char id[80];  /* stable daemon id (store meta) */
  int stop_efd; /* eventfd, readable once the daemon is stopping: long waits end */
  volatile bool stopping;
};

/* ---------- per-container runtime state (ctr_state.c) ---------- */

/* An attach request on a container that is not running yet: start connects it to the shim's
 * attach socket before it lets the process run, so no output is lost. */
struct attach_waiter {
  struct attach_waiter *next;
  int fd;    /* connected attach socket, or -1 */
  bool done; /* start happened (fd may still be -1 when it failed) or the container went away */
};

struct ctr_state {
  char id[65];
  pthread_mutex_t mu; /* guards every field below; never held across blocking I/O */
  pthread_cond_t cond;
  int refs;           /* guarded by the table lock */
  bool busy;          /* a start/stop/kill/remove is in progress: lifecycle operations take turns */
  bool running;
  bool removed;
  int shim_pidfd;     /* -1 when no shim */
  pid_t shim_pid;
  bool shim_is_child; /* spawned by this berthd: the monitor reaps it */
  int init_pidfd;     /* the container's init, for signals (-1 when unknown) */
  uint64_t exits;     /* number of exits seen, for wait?condition=next-exit */
  int exit_code;
  struct attach_waiter *waiters;
};

struct ctr_table *ctr_table_new(void);
void ctr_table_free(struct ctr_table *t);
/* ctr_state_get: the state of id (made on first use), with a reference; ctr_state_put drops it */
struct ctr_state *ctr_state_get(struct ctr_table *t, const char *id);
void ctr_state_put(struct ctr_table *t, struct ctr_state *s);
/* ctr_state_wake_all: broadcast every condition (daemon stopping) */
void ctr_table_wake_all(struct ctr_table *t);
/* ctr_lifecycle_begin/end: take/give the per-container turn (busy flag) */
void ctr_lifecycle_begin(struct ctr_state *s);
void ctr_lifecycle_end(struct ctr_state *s);

/* ---------- monitor (monitor.c) ---------- */

int monitor_start(struct daemon *d, struct berth_error **err);
void monitor_stop(struct daemon *d);
/* monitor_watch: watch s->shim_pidfd; on exit the store, mounts and waiters are updated */
int monitor_watch(struct daemon *d, struct ctr_state *s, struct berth_error **err);

/* ---------- requests and replies (server.c) ---------- */

#define DAEMON_MAX_PARAMS 4
#define DAEMON_MAX_JSON_BODY (1 << 20)

struct req {
  struct daemon *d;
  struct MHD_Connection *conn;
  char *method;
  char *path;         /* without the /v1.NN prefix */
  char *version;      /* the API version asked for, or NULL */
  const struct route *route;
  int nparams;
  char *param_names[DAEMON_MAX_PARAMS];
  char *params[DAEMON_MAX_PARAMS];
  struct buf body;
  bool body_too_big;
  int body_fd;        /* streamed bodies: a temp file under D/tmp */
  char *body_path;
  int early_status;   /* 0, or an error found before the body (unknown route, bad version) */
  char *early_msg;
};

struct reply {
  int status;               /* default 200 */
  json_t *json;             /* body as JSON (owned), or */
  struct buf body;          /* a raw body */
  const char *content_type;
  struct MHD_Response *resp; /* or a ready response (upgrade, streaming) */
};

typedef int (*handler_fn)(struct req *r, struct reply *out, struct berth_error **err);

enum route_flags { ROUTE_STREAM_BODY = 1 }; /* body goes to a temp file, unbounded */

struct route {
  const char *method;
  const char *pattern; /* "/containers/{id}/start"; "{name*}" matches one or more segments */
  handler_fn fn;
  int flags;
};

/* route_find: match method+path; 0 and *out set, -ENOENT no path matches, -EINVAL (405) path
 * matches but not the method. Params are stored into r (names and values). */
int route_find(const char *method, const char *path, struct req *r, const struct route **out);
/* route_split_version: "/v1.41/x" -> version "1.41", rest "/x"; no prefix -> version NULL.
 * Returns 0, or -EINVAL with a Docker message in *err for versions out of range. */
int route_split_version(const char *url, char **version, char **rest, struct berth_error **err);
void req_clear_params(struct req *r);

const char *req_param(struct req *r, const char *name);
const char *req_query(struct req *r, const char *name);
/* req_query_bool: Docker's boolean query values: 1/true/True... (absent = def) */
bool req_query_bool(struct req *r, const char *name, bool def);
/* req_body_json: the JSON body (an empty body is an empty object); EINVAL on malformed JSON */
int req_body_json(struct req *r, json_t **out, struct berth_error **err);
/* req_header: a request header */
const char *req_header(struct req *r, const char *name);

/* server_run: serve until SIGTERM/SIGINT; 0 or negative errno */
int server_run(struct daemon *d, struct berth_error **err);

/* ---------- container helpers (ctr_config.c: pure, unit-tested) ---------- */

/* The parsed create request, merged with the image config like Docker does */
struct ctr_create {
  json_t *config;      /* Config as inspect shows it */
  json_t *host_config; /* HostConfig with Docker's defaults */
  char *path;          /* Path */
  json_t *args;        /* Args */
};
void ctr_create_clear(struct ctr_create *c);
/* ctr_create_parse: body of POST /containers/create; image_config is the image's "config"
 * object (may be NULL); short_id the default hostname */
int ctr_create_parse(const json_t *body, const json_t *image_config, const char *short_id, struct ctr_create *out,
                     struct berth_error **err);
/* ctr_status_text: ps "Status" column: "Up 5 seconds", "Exited (0) 3 seconds ago", "Created" */
void ctr_status_text(const struct store_container *c, int64_t now_ns, char *buf, size_t size);
/* ctr_inspect_json: GET /containers/{id}/json */
json_t *ctr_inspect_json(struct daemon *d, const struct store_container *c);
/* ctr_summary_json: one entry of GET /containers/json */
json_t *ctr_summary_json(const struct store_container *c, int64_t now_ns);
/* ctr_dir / ctr_shim_dir: D/containers/ID and E/shims/ID (heap) */
char *ctr_dir(struct daemon *d, const char *id);
char *ctr_shim_dir(struct daemon *d, const char *id);
char *ctr_log_path(struct daemon *d, const char *id);
/* ctr_signal_parse: "SIGKILL", "KILL", "9" -> 9; -EINVAL when unknown */
int ctr_signal_parse(const char *s);

/* ---------- the OCI bundle (ctr_spec.c) ---------- */

/* ctr_write_etc_files: DIR/hostname (always), DIR/hosts and DIR/resolv.conf (when missing) */
int ctr_write_etc_files(const char *dir, const json_t *cfg, struct berth_error **err);
/* ctr_build_spec: config.json of the container whose directory is dir (rootfs mounted there) */
int ctr_build_spec(const struct store_container *c, const json_t *cfg, const json_t *hc, const char *dir,
                   json_t **out, struct berth_error **err);
/* ctr_attach_connect: a client connection to the shim's attach socket (shim_dir/attach) */
int ctr_attach_connect(const char *shim_dir, struct berth_error **err);

/* ---------- container operations (ctr_ops.c, ctr_start.c) ---------- */

int ctr_start(struct daemon *d, const char *ref, struct berth_error **err);
int ctr_stop(struct daemon *d, const char *ref, int timeout_s, bool restart, struct berth_error **err);
int ctr_kill(struct daemon *d, const char *ref, int sig, struct berth_error **err);
int ctr_remove(struct daemon *d, const char *ref, bool force, struct berth_error **err);
/* ctr_remove_files: writable layer, dirs and the row of a stopped container */
int ctr_remove_files(struct daemon *d, const char *id, struct berth_error **err);
/* ctr_handle_exit: the monitor saw the shim of s exit (or restore found it dead) */
void ctr_handle_exit(struct daemon *d, struct ctr_state *s);
/* ctr_restore: reconcile the store with the shims alive at startup */
int ctr_restore(struct daemon *d, struct berth_error **err);

/* ---------- handlers ---------- */

int h_not_yet(struct req *r, struct reply *out, struct berth_error **err);
int h_ping(struct req *r, struct reply *out, struct berth_error **err);
int h_version(struct req *r, struct reply *out, struct berth_error **err);
int h_info(struct req *r, struct reply *out, struct berth_error **err);
int h_images_create(struct req *r, struct reply *out, struct berth_error **err);
int h_images_list(struct req *r, struct reply *out, struct berth_error **err);
int h_image_inspect(struct req *r, struct reply *out, struct berth_error **err);
int h_image_tag(struct req *r, struct reply *out, struct berth_error **err);
int h_image_remove(struct req *r, struct reply *out, struct berth_error **err);
int h_image_history(struct req *r, struct reply *out, struct berth_error **err);
int h_images_prune(struct req *r, struct reply *out, struct berth_error **err);
int h_images_save(struct req *r, struct reply *out, struct berth_error **err);
int h_images_load(struct req *r, struct reply *out, struct berth_error **err);
int h_commit(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_changes(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_export(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_create(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_list(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_inspect(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_start(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_stop(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_restart(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_kill(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_wait(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_delete(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_logs(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_rename(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_stats(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_attach(struct req *r, struct reply *out, struct berth_error **err);

