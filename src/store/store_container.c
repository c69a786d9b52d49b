/* store_container.c - container rows of the metadata store: insert, lookups, state changes */
#include "store/store.h"
#include "common/xalloc.h"
#include <errno.h>
#include <string.h>

#define CTR_COLUMNS                                                                                     \
  "id, name, image_id, image_ref, created_ns, path, args, config, host_config, network, status, pid, " \
  "exit_code, error, started_at, finished_at, restart_count, oom_killed"

static char *col_text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return xstrdup(t ? (const char *)t : "");
}

static struct store_container *row_to_container(sqlite3_stmt *st) {
  struct store_container *c = xcalloc(1, sizeof(*c));
  const unsigned char *id = sqlite3_column_text(st, 0);
  snprintf(c->id, sizeof(c->id), "%s", id ? (const char *)id : "");
  c->name = col_text(st, 1);
  c->image_id = col_text(st, 2);
  c->image_ref = col_text(st, 3);
  c->created_ns = sqlite3_column_int64(st, 4);
  c->path = col_text(st, 5);
  c->args_json = col_text(st, 6);
  c->config_json = col_text(st, 7);
  c->host_config_json = col_text(st, 8);
  c->network_json = col_text(st, 9);
  c->status = col_text(st, 10);
  c->pid = sqlite3_column_int(st, 11);
  c->exit_code = sqlite3_column_int(st, 12);
  c->error = col_text(st, 13);
  c->started_at = col_text(st, 14);
  c->finished_at = col_text(st, 15);
  c->restart_count = sqlite3_column_int(st, 16);
  c->oom_killed = sqlite3_column_int(st, 17) != 0;
  return c;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v) { sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT); }

/* query_one: run a statement expected to yield at most one row; 1 found, 0 none, <0 error */
static int query_one(sqlite3 *db, sqlite3_stmt *st, struct store_container **out, struct berth_error **err) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return 0;
  if (rc != SQLITE_ROW) return store_sqlite_err(db, rc, "store: query container", err);
  *out = row_to_container(st);
  return 1;
}

static int name_owner(sqlite3 *db, const char *name, char id[65]) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT id FROM containers WHERE name = ?", -1, &st, NULL) != SQLITE_OK) return 0;
  bind_text(st, 1, name);
  if (sqlite3_step(st) != SQLITE_ROW) return 0;
  snprintf(id, 65, "%s", (const char *)sqlite3_column_text(st, 0));
  return 1;
}

int store_container_insert(struct store *s, const struct store_container *c, char conflict_id[65],
                           struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn cn = {0};
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_conn_get(s, &cn, err);
  if (r < 0) return r;
  r = store_prep(cn.db,
              "INSERT INTO containers(id, name, image_id, image_ref, created_ns, path, args, config, host_config, "
              "network) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              &st, err, 0);
  if (r < 0) return r;
  bind_text(st, 1, c->id);
  bind_text(st, 2, c->name);
  bind_text(st, 3, c->image_id);
  bind_text(st, 4, c->image_ref);
  sqlite3_bind_int64(st, 5, c->created_ns);
  bind_text(st, 6, c->path);
  bind_text(st, 7, c->args_json ? c->args_json : "[]");
  bind_text(st, 8, c->config_json ? c->config_json : "{}");
  bind_text(st, 9, c->host_config_json ? c->host_config_json : "{}");
  bind_text(st, 10, c->network_json ? c->network_json : "{}");
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return 0;
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    char owner[65] = "";
    if (name_owner(cn.db, c->name, owner)) {
      if (conflict_id) memcpy(conflict_id, owner, 65);
      return berr(err, EEXIST, "name \"%s\" is in use by container \"%s\"", c->name, owner);
    }
  }
  return store_sqlite_err(cn.db, rc, "store: insert container", err);
}

int store_container_get(struct store *s, const char *id, struct store_container **out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn cn = {0};
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_conn_get(s, &cn, err);
  if (r < 0) return r;
  r = store_prep(cn.db, "SELECT " CTR_COLUMNS " FROM containers WHERE id = ?", &st, err, 0);
  if (r < 0) return r;
  bind_text(st, 1, id);
  r = query_one(cn.db, st, out, err);
  if (r < 0) return r;
  if (r == 0) return berr(err, ENOENT, "No such container: %s", id);
  return 0;
}

/* find_prefix: unique id prefix; 1 found, 0 none or ambiguous */
static int find_prefix(sqlite3 *db, const char *ref, struct store_container **out, struct berth_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  /* the prefix is hex (checked by the caller), so it holds no LIKE wildcards */
  int r = store_prep(db, "SELECT " CTR_COLUMNS " FROM containers WHERE id LIKE ? || '%' LIMIT 2", &st, err, 0);
  if (r < 0) return r;
  bind_text(st, 1, ref);
  r = query_one(db, st, out, err);
  if (r <= 0) return r;
  if (sqlite3_step(st) == SQLITE_ROW) {
    store_container_free(*out);
    *out = NULL;
    return 0;
  }
  return 1;
}

static bool is_hex(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return false;
  return true;
}

int store_container_find(struct store *s, const char *ref, struct store_container **out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn cn = {0};
  int r = store_conn_get(s, &cn, err);
  if (r < 0) return r;
  const char *name = ref[0] == '/' ? ref + 1 : ref;
  static const char *const queries[] = {
      "SELECT " CTR_COLUMNS " FROM containers WHERE id = ?",
      "SELECT " CTR_COLUMNS " FROM containers WHERE name = ?",
  };
  for (size_t i = 0; i < ARRAY_SIZE(queries); i++) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    r = store_prep(cn.db, queries[i], &st, err, 0);
    if (r < 0) return r;
    bind_text(st, 1, i == 0 ? ref : name);
    r = query_one(cn.db, st, out, err);
    if (r != 0) return r < 0 ? r : 0;
  }
  if (is_hex(ref)) {
    r = find_prefix(cn.db, ref, out, err);
    if (r != 0) return r < 0 ? r : 0;
  }
  return berr(err, ENOENT, "No such container: %s", ref);
}

int store_container_list(struct store *s, struct store_container ***out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn cn = {0};
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_conn_get(s, &cn, err);
  if (r < 0) return r;
  r = store_prep(cn.db, "SELECT " CTR_COLUMNS " FROM containers ORDER BY created_ns DESC, id", &st, err, 0);
  if (r < 0) return r;
  size_t n = 0, cap = 8;
  struct store_container **v = xcalloc(cap + 1, sizeof(*v));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      cap *= 2;
      v = xrealloc(v, (cap + 1) * sizeof(*v));
    }
    v[n++] = row_to_container(st);
    v[n] = NULL;
  }
  if (rc != SQLITE_DONE) {
    store_container_list_free(v);
    return store_sqlite_err(cn.db, rc, "store: list containers", err);
  }
  *out = v;
  return 0;
}

void store_container_list_free(struct store_container **list) {
  if (!list) return;
  for (size_t i = 0; list[i]; i++) store_container_free(list[i]);
  free(list);
}

/* update: run an UPDATE/DELETE with text/int parameters given as a format ("t" text, "i" int) */
static int update(struct store *s, const char *sql, const char *what, const char *fmt, const void *const *vals,
                  struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn cn = {0};
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_conn_get(s, &cn, err);
  if (r < 0) return r;
  r = store_prep(cn.db, sql, &st, err, 0);
  if (r < 0) return r;
  for (int i = 0; fmt[i]; i++) {
    if (fmt[i] == 't') bind_text(st, i + 1, vals[i]);
    else sqlite3_bind_int(st, i + 1, *(const int *)vals[i]);
  }
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE) return store_sqlite_err(cn.db, rc, what, err);
  return 0;
}

int store_container_set_running(struct store *s, const char *id, int pid, const char *started_at,
                                struct berth_error **err) {
  const void *vals[] = {&pid, started_at, id};
  return update(s,
                "UPDATE containers SET status = 'running', pid = ?, started_at = ?, exit_code = 0, error = '' "
                "WHERE id = ?",
                "store: container running", "itt", vals, err);
}

int store_container_set_exited(struct store *s, const char *id, int exit_code, const char *finished_at,
                               const char *error, struct berth_error **err) {
  const void *vals[] = {&exit_code, finished_at, error ? error : "", id};
  return update(s,
                "UPDATE containers SET status = 'exited', pid = 0, exit_code = ?, finished_at = ?, error = ? "
                "WHERE id = ?",
                "store: container exited", "itt" "t", vals, err);
}

int store_container_set_status(struct store *s, const char *id, const char *status, struct berth_error **err) {
  const void *vals[] = {status, id};
  return update(s, "UPDATE containers SET status = ? WHERE id = ?", "store: container status", "tt", vals, err);
}

int store_container_delete(struct store *s, const char *id, struct berth_error **err) {
  const void *vals[] = {id};
  return update(s, "DELETE FROM containers WHERE id = ?", "store: delete container", "t", vals, err);
}

int store_container_rename(struct store *s, const char *id, const char *name, char conflict_id[65],
                           struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn cn = {0};
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_conn_get(s, &cn, err);
  if (r == 0) r = store_prep(cn.db, "UPDATE containers SET name = ? WHERE id = ?", &st, err, 0);
  if (r < 0) return r;
  bind_text(st, 1, name);
  bind_text(st, 2, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return 0;
  char owner[65] = "";
  if ((rc & 0xff) == SQLITE_CONSTRAINT && name_owner(cn.db, name, owner)) {
    if (conflict_id) memcpy(conflict_id, owner, 65);
    return berr(err, EEXIST, "name \"%s\" is in use by container \"%s\"", name, owner);
  }
  return store_sqlite_err(cn.db, rc, "store: rename container", err);
}
