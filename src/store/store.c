/* store.c - open, schema, connection pool and transactions of the metadata store */
#include "store/store.h"
#include "common/xalloc.h"
#include "store/schema.sql.h"
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STORE_POOL_MAX 8
#define STORE_SCHEMA_VERSION "1"

struct store {
  char *path;
  pthread_mutex_t mu; /* guards only the free list: held for a pointer pop/push */
  sqlite3 *free_conns[STORE_POOL_MAX];
  int n_free;
};

int store_sqlite_err(sqlite3 *db, int rc, const char *what, struct berth_error **err) {
  int code = EIO;
  int prim = rc & 0xff;
  if (prim == SQLITE_CONSTRAINT) code = EEXIST;
  else if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) code = EBUSY;
  else if (prim == SQLITE_FULL) code = ENOSPC;
  else if (prim == SQLITE_NOTFOUND) code = ENOENT;
  return berr(err, code, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int store_exec(sqlite3 *db, const char *sql, struct berth_error **err) {
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    int r = berr(err, (rc & 0xff) == SQLITE_BUSY ? EBUSY : EIO, "store: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return r;
  }
  return 0;
}

static int conn_open(const char *path, sqlite3 **out, struct berth_error **err) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    int r = berr(err, EIO, "open store \"%s\": %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return r;
  }
  sqlite3_busy_timeout(db, 10000);
  /* lookaside: SQLite gives every connection ~120 kB of small-allocation slots up front and
   * touches them all (1 MB resident for a pool of 8); 32 slots of 256 bytes are enough for
   * berth's short statements */
  sqlite3_db_config(db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 256, 32);
  /* WAL + synchronous=NORMAL: a crash loses at most the last commits, never consistency.
   * cache_size: each pooled connection would cache up to 2 MB of pages by default (16 MB for a
   * full pool); the file is in the kernel's page cache anyway, so 512 kB each is plenty */
  int r = store_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                         "PRAGMA cache_size=-512;", err);
  if (r < 0) {
    sqlite3_close(db);
    return r;
  }
  *out = db;
  return 0;
}

int store_begin(sqlite3 *db, struct berth_error **err) { return store_exec(db, "BEGIN IMMEDIATE", err); }
int store_commit(sqlite3 *db, struct berth_error **err) { return store_exec(db, "COMMIT", err); }
void store_rollback(sqlite3 *db) { sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL); }

int store_open(const char *path, struct store **out, struct berth_error **err) {
  sqlite3 *db;
  int r = conn_open(path, &db, err);
  if (r < 0) return r;
  r = store_begin(db, err);
  if (r == 0) r = store_exec(db, store_schema_v1, err);
  if (r == 0)
    r = store_exec(db, "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '" STORE_SCHEMA_VERSION "')",
                   err);
  if (r == 0) r = store_commit(db, err);
  if (r < 0) {
    store_rollback(db);
    sqlite3_close(db);
    return berr_prefix(err, "initialize store \"%s\"", path);
  }
  struct store *s = xcalloc(1, sizeof(*s));
  s->path = xstrdup(path);
  pthread_mutex_init(&s->mu, NULL);
  s->free_conns[s->n_free++] = db;
  *out = s;
  return 0;
}

void store_close(struct store *s) {
  if (!s) return;
  for (int i = 0; i < s->n_free; i++) sqlite3_close(s->free_conns[i]);
  pthread_mutex_destroy(&s->mu);
  free(s->path);
  free(s);
}

sqlite3 *store_acquire(struct store *s) {
  sqlite3 *db = NULL;
  pthread_mutex_lock(&s->mu);
  if (s->n_free > 0) db = s->free_conns[--s->n_free];
  pthread_mutex_unlock(&s->mu);
  if (db) return db;
  struct berth_error *err = NULL;
  if (conn_open(s->path, &db, &err) < 0) {
    /* the database opened at start; failing now means the disk or fd table is gone */
    berr_free(err);
    return NULL;
  }
  return db;
}

void store_release(struct store *s, sqlite3 *db) {
  if (!db) return;
  if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_lock(&s->mu);
  if (s->n_free < STORE_POOL_MAX) {
    s->free_conns[s->n_free++] = db;
    db = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  if (db) sqlite3_close(db);
}

void store_container_free(struct store_container *c) {
  if (!c) return;
  free(c->name);
  free(c->image_id);
  free(c->image_ref);
  free(c->path);
  free(c->args_json);
  free(c->config_json);
  free(c->host_config_json);
  free(c->network_json);
  free(c->status);
  free(c->error);
  free(c->started_at);
  free(c->finished_at);
  free(c);
}

int store_conn_get(struct store *s, struct store_conn *c, struct berth_error **err) {
  c->s = s;
  c->db = store_acquire(s);
  return c->db ? 0 : berr(err, EIO, "store: no database connection");
}

int store_prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct berth_error **err, int n, ...) {
  int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
  if (rc != SQLITE_OK) return store_sqlite_err(db, rc, "store: prepare", err);
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) {
    const char *v = va_arg(ap, const char *);
    if (v) sqlite3_bind_text(*st, i + 1, v, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(*st, i + 1);
  }
  va_end(ap);
  return 0;
}
