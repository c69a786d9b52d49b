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
#include "network/network.h"
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
  char **runtimes; /* --add-runtime NAME=PATH (repeatable): OCI runtimes HostConfig.Runtime may name */
  char *log_level;
  /* networking (Docker's names): bridge, its CIDR, the containers' part of it, mtu, booleans */
  char *bridge;
  char *bip;
  char *fixed_cidr;
  char *mtu;
  char *icc;
  char *ip_forward;
  char *iptables;
  char **log_opts; /* --log-opt max-size=20m ...: defaults of every container's json-file log */
};

struct ctr_table;
struct exec_table;
struct monitor;
struct events;
struct health;

struct daemon {
  struct daemon_config cfg;
  struct store *store;
  struct storage *storage;
  struct image_store *images;
  struct ctr_table *ctrs;
  struct monitor *mon;
  struct exec_table *execs; /* exec instances, in memory only (exec.c) */
  struct network *net;
  struct events *events; /* ring and listeners of GET /events (events.c) */
  struct health *health; /* health checks: table and scheduler thread (ctr_health.c, health.h) */
  bool restored;         /* startup restore is over: restart policies apply (restart.c) */
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
  bool restart_auto;        /* the next start is a restart policy's (restart.c): the count stays */
  int64_t restart_delay_ms; /* Docker's backoff: the last delay, doubled for the next */
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
/* ctr_runtime_path: the executable of OCI runtime NAME (NULL, "" or "berth-runtime": the default
 * --oci-runtime; others from --add-runtime); NULL when unknown */
const char *ctr_runtime_path(const struct daemon_config *cfg, const char *name);
/* ctr_runtime_of: the runtime executable of container ID (for exec, pause, update, health probes);
 * the default when the container or its runtime name is unknown; points into d->cfg */
const char *ctr_runtime_of(struct daemon *d, const char *id);
/* ctr_runtime_check: HostConfig.Runtime names a known runtime, else Docker's 400 message */
int ctr_runtime_check(const struct daemon_config *cfg, const json_t *host_config, struct berth_error **err);
#include "common/signals.h" /* signal_parse: StopSignal, kill and stop's signal names */

/* ctr_size_rw: bytes in a container's writable layer (ps -s, system df, container prune; h_prune.c) */
int64_t ctr_size_rw(struct daemon *d, const char *id);

/* ---------- the filters query parameter (filters.c) ---------- */

/* filter_values: {"k":["v"]} or the older {"k":{"v":true}} form of one key's values, as a list
 * of strings (new reference) */
json_t *filter_values(json_t *vals);
/* filter_label_match: labels ({"k":"v"}) has "KEY" (any value) or "KEY=VALUE" */
bool filter_label_match(const json_t *labels, const char *want);

/* ---------- the OCI bundle (ctr_spec.c) ---------- */

/* ctr_write_etc_files: DIR/hostname (always), DIR/hosts and DIR/resolv.conf (when missing) */
int ctr_write_etc_files(const char *dir, const json_t *cfg, struct berth_error **err);
/* ctr_build_spec: config.json of the container whose directory is dir (rootfs mounted there) */
int ctr_build_spec(const struct store_container *c, const json_t *cfg, const json_t *hc, const char *dir,
                   json_t **out, struct berth_error **err);
/* shim_spawn: start berth-shim (argv) with fds 0-2 on /dev/null and fd 3 the sync socket
 * (docs/internals.md); fills its pid, a pidfd and our end of the sync socket */
int shim_spawn(char **argv, pid_t *pid, int *pidfd, int *sync_fd, struct berth_error **err);
/* ctr_attach_connect: a client connection to the shim's attach socket (shim_dir/attach) */
int ctr_attach_connect(const char *shim_dir, struct berth_error **err);

/* ---------- networking of a container (ctr_net.c) ---------- */

/* ctr_net_setup: netns, veth, address, published ports (NetworkSettings saved in the store),
 * hostname/hosts/resolv.conf in dir, and spec's network namespace and link variables */
int ctr_net_setup(struct daemon *d, const struct store_container *c, const json_t *cfg, const json_t *hc,
                  const char *dir, json_t *spec, struct berth_error **err);
/* ctr_net_teardown: undo it (idempotent); with keep_row the store shows the stopped state */
void ctr_net_teardown(struct daemon *d, const char *id, bool keep_row);
/* ctr_net_connect: POST /networks/{ref}/connect (connect) or /disconnect, running or not */
int ctr_net_connect(struct daemon *d, const char *ref, const char *ctr_ref, const json_t *epcfg, bool connect,
                    bool force, struct berth_error **err);

/* ---------- container operations (ctr_ops.c, ctr_start.c) ---------- */

int ctr_start(struct daemon *d, const char *ref, struct berth_error **err);
int ctr_stop(struct daemon *d, const char *ref, int timeout_s, bool restart, struct berth_error **err);
int ctr_kill(struct daemon *d, const char *ref, int sig, struct berth_error **err);
int ctr_remove(struct daemon *d, const char *ref, bool force, struct berth_error **err);
/* ctr_remove_files: writable layer, dirs and the row of a stopped container */
int ctr_remove_files(struct daemon *d, const char *id, struct berth_error **err);
/* ctr_maybe_autoremove: remove id (in a thread of its own) when its HostConfig has AutoRemove */
void ctr_maybe_autoremove(struct daemon *d, const char *id);
/* ctr_handle_exit: the monitor saw the shim of s exit (or restore found it dead) */
void ctr_handle_exit(struct daemon *d, struct ctr_state *s);
/* ctr_set_oom_killed: record State.OOMKilled (set by an exit, cleared by a start) */
void ctr_set_oom_killed(struct daemon *d, const char *id, bool oom);
/* ctr_restore: reconcile the store with the shims alive at startup */
int ctr_restore(struct daemon *d, struct berth_error **err);

/* ---------- handlers ---------- */

int h_not_yet(struct req *r, struct reply *out, struct berth_error **err);
/* h_build_prune: berth keeps no build cache, so there is never anything to remove */
int h_build_prune(struct req *r, struct reply *out, struct berth_error **err);
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
int h_ctrs_prune(struct req *r, struct reply *out, struct berth_error **err);
int h_system_df(struct req *r, struct reply *out, struct berth_error **err);
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
/* ctr_update_merge: an update body over HostConfig hc with Docker's rules and messages (pure);
 * blkio_ok: the kernel takes a blkio weight (else it is dropped with a warning in warnings) */
int ctr_update_merge(json_t *hc, const json_t *up, bool running, bool blkio_ok, json_t *warnings,
                     struct berth_error **err);
/* h_ctr_update: POST /containers/{id}/update (h_update.c) */
int h_ctr_update(struct req *r, struct reply *out, struct berth_error **err);


/* ---------- restart policies (restart.c) ---------- */

enum restart_kind { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS, RESTART_UNLESS_STOPPED };
struct restart_policy {
  enum restart_kind kind;
  int max_retry; /* on-failure's MaximumRetryCount; 0: no limit */
};
/* restart_policy_parse: HostConfig.RestartPolicy's Name ("" = no) and MaximumRetryCount; -EINVAL */
int restart_policy_parse(const char *name, int max_retry, struct restart_policy *out, struct berth_error **err);
/* restart_decide: Docker's restart manager, pure. At an exit (daemon_start false) a manual
 * stop/kill cancels every policy; at daemon start "always" comes back even so. *delay_ms holds the
 * last delay and receives the next: 100 ms, doubled, at most 1 min, reset after 10 s of running. */
bool restart_decide(const struct restart_policy *p, int exit_code, int restart_count, bool manual_stop,
                    bool daemon_start, int64_t ran_ms, int64_t *delay_ms);
/* restart_after_exit: apply the policy after ctr_handle_exit recorded an exit; true when a
 * restart is scheduled (the container is "restarting") */
bool restart_after_exit(struct daemon *d, struct ctr_state *st);
/* restart_note_manual_stop: the user stopped or killed id: no restart (kept on disk for unless-stopped) */
void restart_note_manual_stop(struct daemon *d, const char *id);
/* restart_on_start: called by ctr_start: a user's start resets the count and the manual stop */
void restart_on_start(struct daemon *d, struct ctr_state *st);
/* restart_after_restore: startup is over: start the always/unless-stopped containers that are down */
void restart_after_restore(struct daemon *d);
/* restart_cancel: a stop of a container waiting to restart: it stays exited (true when it was waiting) */
bool restart_cancel(struct daemon *d, const char *id);

/* ---------- events (events.c) ---------- */

int events_open(struct daemon *d, struct berth_error **err);
void events_close(struct daemon *d);
/* events_emit: record and broadcast one event; attrs (stolen, may be NULL) are Actor.Attributes;
 * container events get name and image (and labels) from the store when attrs lack them */
void events_emit(struct daemon *d, const char *type, const char *action, const char *id, json_t *attrs);
/* events_parse_time: since/until values: unix seconds[.frac], RFC 3339, or Go durations before now
 * ("10m"); "" and "0" are 0 (no bound) */
int events_parse_time(const char *s, int64_t *ns, struct berth_error **err);
/* events_match: does ev pass filters ({"container":["x"], "event":[...], "label":["k=v"] ...})? */
bool events_match(const json_t *filters, const json_t *ev);
/* events_volume_mounts: Docker's volume "mount" (start) or "unmount" (stop) event for each named or
 * anonymous volume of container id */
void events_volume_mounts(struct daemon *d, const char *id, bool mount);
int h_events(struct req *r, struct reply *out, struct berth_error **err);
int h_networks_list(struct req *r, struct reply *out, struct berth_error **err);
int h_network_inspect(struct req *r, struct reply *out, struct berth_error **err);
int h_network_remove(struct req *r, struct reply *out, struct berth_error **err);
int h_network_create(struct req *r, struct reply *out, struct berth_error **err);
int h_network_connect(struct req *r, struct reply *out, struct berth_error **err);
int h_network_disconnect(struct req *r, struct reply *out, struct berth_error **err);
int h_networks_prune(struct req *r, struct reply *out, struct berth_error **err);

/* ---------- json-file log options (logopts.c) ---------- */

struct ctr_log_limits {
  int64_t max_size; /* bytes; 0: no rotation */
  int max_file;
};
/* ctr_log_parse_size: "10m" -> 10485760 (Docker's units); "-1" -> 0 (no limit); -EINVAL */
int ctr_log_parse_size(const char *s, int64_t *out);
/* ctr_log_limits: HostConfig.LogConfig.Config over the daemon's --log-opt list (may be NULL) */
int ctr_log_limits(const json_t *hc, char **daemon_opts, struct ctr_log_limits *out, struct berth_error **err);

/* ---------- exec, pause/unpause, resize, top (exec.c, exec_start.c, ctr_pause.c) ---------- */

struct exec_table *exec_table_new(void);
void exec_table_free(struct exec_table *t);
/* exec_ids_json: inspect's ExecIDs: the container's running (or not yet started) execs, or null */
json_t *exec_ids_json(struct daemon *d, const char *ctr_id);
/* ctr_resolve_user: Docker's User "name|uid[:group|gid]" against rootfs's passwd and group (ctr_spec.c) */
int ctr_resolve_user(const char *rootfs, const char *user, long *uid, long *gid, struct berth_error **err);
/* ctr_pause_thaw_locked: after signalling st, unpause it if it is paused so the signal acts (st->mu
 * held on entry and exit, dropped meanwhile) */
void ctr_pause_thaw_locked(struct daemon *d, struct ctr_state *st);
/* ctr_pause_set: pause (true) or unpause a running container, with Docker's 409s (for commit --pause) */
int ctr_pause_set(struct daemon *d, const char *ref, bool pause, struct berth_error **err);
int h_exec_create(struct req *r, struct reply *out, struct berth_error **err);
int h_exec_start(struct req *r, struct reply *out, struct berth_error **err);
int h_exec_inspect(struct req *r, struct reply *out, struct berth_error **err);
int h_exec_resize(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_resize(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_pause(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_unpause(struct req *r, struct reply *out, struct berth_error **err);
int h_ctr_top(struct req *r, struct reply *out, struct berth_error **err);
