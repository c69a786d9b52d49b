/* store.h - the metadata store: one SQLite database (WAL) holding images, tags, layers and
 * containers. The store is the truth; every change is a transaction. Connections come from a
 * small pool so request threads never share one (no global lock on the run path).
 *
 * Query files by concern: store.c (open, schema, pool, transactions), store_image.c (images,
 * tags, layers: owned by the image module's work), store_container.c (containers). */
#pragma once
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/error.h"

struct store;

/* store_open: open (creating and migrating) the database at path */
int store_open(const char *path, struct store **out, struct berth_error **err);
void store_close(struct store *s);

/* store_acquire/store_release: a connection for this thread's use, back to the pool after */
sqlite3 *store_acquire(struct store *s);
void store_release(struct store *s, sqlite3 *db);

/* transactions: BEGIN IMMEDIATE (writers) / COMMIT / ROLLBACK; 0 or negative errno */
int store_begin(sqlite3 *db, struct berth_error **err);
int store_commit(sqlite3 *db, struct berth_error **err);
void store_rollback(sqlite3 *db);
/* store_exec: run SQL without results */
int store_exec(sqlite3 *db, const char *sql, struct berth_error **err);
/* store_sqlite_err: turn the connection's last SQLite error into a berth_error (EEXIST for
 * constraint violations, EBUSY for busy, EIO otherwise) */
int store_sqlite_err(sqlite3 *db, int rc, const char *what, struct berth_error **err);

/* ---------- helpers for query files (store_*.c, and modules with tables of their own) ---------- */

static inline void store_stmt_finalizep(sqlite3_stmt **st) {
  if (*st) sqlite3_finalize(*st);
}
#define _cleanup_stmt_ __attribute__((cleanup(store_stmt_finalizep)))

/* A pooled connection, back to the pool at scope exit (declare it _cleanup_store_conn_) */
struct store_conn {
  struct store *s;
  sqlite3 *db;
};
static inline void store_conn_releasep(struct store_conn *c) {
  if (c->db) store_release(c->s, c->db);
}
#define _cleanup_store_conn_ __attribute__((cleanup(store_conn_releasep)))
/* store_conn_get: a pooled connection into *c; EIO when none can be had */
int store_conn_get(struct store *s, struct store_conn *c, struct berth_error **err);
/* store_prep: prepare SQL and bind N text parameters in order (NULL binds SQL NULL) */
int store_prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct berth_error **err, int n, ...);

/* ---------- containers (store_container.c) ---------- */

/* A container row. Config, HostConfig and NetworkSettings are kept as the Engine API JSON
 * texts (the shape inspect returns), so there is one mapping to maintain, in the daemon. */
struct store_container {
  char id[65];
  char *name;         /* without the leading '/' */
  char *image_id;     /* "sha256:<hex>" */
  char *image_ref;    /* what the user asked for, e.g. "busybox" (Config.Image) */
  int64_t created_ns; /* wall clock, ns since the epoch */
  char *path;         /* Path: the executable */
  char *args_json;    /* Args: JSON array */
  char *config_json;
  char *host_config_json;
  char *network_json; /* NetworkSettings, "{}" until networking fills it */
  char *status;       /* created|running|paused|restarting|removing|exited|dead */
  int pid;
  int exit_code;
  char *error;
  char *started_at;   /* RFC 3339, TIME_ZERO_RFC3339 when never */
  char *finished_at;
  int restart_count;
  bool oom_killed;
};
void store_container_free(struct store_container *c);
static inline void cleanup_store_containerp(struct store_container **c) { store_container_free(*c); }
#define _cleanup_store_container_ __attribute__((cleanup(cleanup_store_containerp)))

/* store_container_insert: add a new row (status "created"); EEXIST "name" when c->name is taken
 * (*conflict_id, when given, receives the id of the container holding it) */
int store_container_insert(struct store *s, const struct store_container *c, char conflict_id[65],
                           struct berth_error **err);
/* store_container_get: by full id; ENOENT "No such container: ID" */
int store_container_get(struct store *s, const char *id, struct store_container **out, struct berth_error **err);
/* store_container_find: full id, then exact name (with or without '/'), then unique id prefix, as
 * Docker resolves; ENOENT "No such container: REF" when none or ambiguous */
int store_container_find(struct store *s, const char *ref, struct store_container **out, struct berth_error **err);
/* store_container_list: every container, newest first; *out is NULL-terminated */
int store_container_list(struct store *s, struct store_container ***out, struct berth_error **err);
void store_container_list_free(struct store_container **list);
/* store_container_set_running: status running, pid, started_at; exit code and error cleared */
int store_container_set_running(struct store *s, const char *id, int pid, const char *started_at,
                                struct berth_error **err);
/* store_container_set_exited: status exited, pid 0, exit_code, finished_at, error ("" for none) */
int store_container_set_exited(struct store *s, const char *id, int exit_code, const char *finished_at,
                               const char *error, struct berth_error **err);
/* store_container_set_status: just the status column (e.g. "removing", "dead") */
int store_container_set_status(struct store *s, const char *id, const char *status, struct berth_error **err);
/* store_container_rename: new name; EEXIST when taken (*conflict_id receives the holder) */
int store_container_rename(struct store *s, const char *id, const char *name, char conflict_id[65],
                           struct berth_error **err);
/* store_container_delete: remove the row; missing is not an error */
int store_container_delete(struct store *s, const char *id, struct berth_error **err);
#include "store/store_image.h"
