/* vol_store.c - local volumes: D/volumes/NAME/_data on disk, rows in the "volumes" table and the
 * containers using them in "volume_refs" (tables of this module, created on first use) */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* the label Docker (23+) puts on anonymous volumes: prune without all=true removes only those */
#define ANON_LABEL "com.docker.volume.anonymous"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS volumes(name TEXT PRIMARY KEY, driver TEXT NOT NULL DEFAULT 'local',\n"
    "  created TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '{}', options TEXT NOT NULL DEFAULT '{}',\n"
    "  anonymous INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE IF NOT EXISTS volume_refs(volume TEXT NOT NULL, container TEXT NOT NULL,\n"
    "  PRIMARY KEY(volume, container));\n";

/* conn_get: a pooled connection with this module's tables in place (IF NOT EXISTS: cheap) */
static int conn_get(struct daemon *d, struct store_conn *c, struct berth_error **err) {
  int rc = store_conn_get(d->store, c, err);
  return rc < 0 ? rc : store_exec(c->db, schema, err);
}

char *vol_data_dir(struct daemon *d, const char *name) {
  return xasprintf("%s/volumes/%s/_data", d->cfg.data_root, name);
}

static bool name_ok(const char *name) {
  return name_is_valid(name) && strlen(name) >= 2 && strlen(name) <= 255;
}

static json_t *loads_or_null(const unsigned char *text) {
  json_t *j = text ? json_loads((const char *)text, 0, NULL) : NULL;
  if (json_is_object(j) && json_object_size(j) == 0) {
    json_decref(j);
    j = NULL;
  }
  return j ? j : json_null();
}

#define VOL_COLUMNS "name, driver, created, labels, options"

static json_t *row_json(struct daemon *d, sqlite3_stmt *st) {
  const char *name = (const char *)sqlite3_column_text(st, 0);
  _cleanup_free_ char *mp = vol_data_dir(d, name);
  return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:s}", "CreatedAt", sqlite3_column_text(st, 2), "Driver",
                   sqlite3_column_text(st, 1), "Labels", loads_or_null(sqlite3_column_text(st, 3)), "Mountpoint", mp,
                   "Name", name, "Options", loads_or_null(sqlite3_column_text(st, 4)), "Scope", "local");
}

static int get_locked(struct daemon *d, sqlite3 *db, const char *name, json_t **out, struct berth_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_prep(db, "SELECT " VOL_COLUMNS " FROM volumes WHERE name = ?", &st, err, 1, name);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return berr(err, ENOENT, "get %s: no such volume", name);
  if (rc != SQLITE_ROW) return store_sqlite_err(db, rc, "volume", err);
  if (out) *out = row_json(d, st);
  return 0;
}

int vol_get(struct daemon *d, const char *name, json_t **out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = conn_get(d, &c, err);
  return r < 0 ? r : get_locked(d, c.db, name, out, err);
}

static int insert_row(sqlite3 *db, const char *name, const char *labels, const char *opts, bool anon,
                      struct berth_error **err) {
  char created[32];
  time_t now = time(NULL);
  struct tm tm;
  strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_prep(db, "INSERT INTO volumes(name, created, labels, options, anonymous) VALUES (?, ?, ?, ?, ?)", &st, err,
               4, name, created, labels, opts);
  if (r < 0) return r;
  sqlite3_bind_int(st, 5, anon);
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE ? 0 : store_sqlite_err(db, rc, "insert volume", err);
}

int vol_create(struct daemon *d, const char *name, const json_t *labels, const json_t *opts, json_t **out,
               struct berth_error **err) {
  char gen[65];
  bool anon = !name || !*name;
  if (anon) {
    id_random(gen);
    name = gen;
  } else if (!name_ok(name)) {
    return berr(err, EINVAL,
                "create %s: \"%s\" includes invalid characters for a local volume name, only "
                "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
                name, name);
  }
  if (json_object_size(opts) > 0) return berr(err, ENOTSUP, "create %s: volume driver options are not supported yet", name);
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = conn_get(d, &c, err);
  if (r < 0) return r;
  if (!anon && get_locked(d, c.db, name, out, NULL) == 0) return 0; /* Docker: creating an existing one is fine */
  _cleanup_free_ char *data = vol_data_dir(d, name);
  if ((r = mkdir_p(data, 0755, err)) < 0) return berr_prefix(err, "create volume %s", name);
  json_t *lab = json_is_object(labels) ? json_deep_copy(labels) : json_object();
  if (anon) json_object_set_new(lab, ANON_LABEL, json_string(""));
  _cleanup_free_ char *lt = json_dumps(lab, JSON_COMPACT);
  json_decref(lab);
  r = insert_row(c.db, name, lt, "{}", anon, err);
  if (r == 0) events_emit(d, "volume", "create", name, json_pack("{s:s}", "driver", "local"));
  if (r == -EEXIST) { /* a concurrent create of the same name won */
    berr_clear(err);
    r = 0;
  }
  if (r == 0 && out) r = get_locked(d, c.db, name, out, err);
  return r;
}

int vol_list(struct daemon *d, json_t **out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = conn_get(d, &c, err);
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (r == 0) r = store_prep(c.db, "SELECT " VOL_COLUMNS " FROM volumes ORDER BY name", &st, err, 0);
  if (r < 0) return r;
  json_t *list = json_array();
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) json_array_append_new(list, row_json(d, st));
  if (rc != SQLITE_DONE) {
    json_decref(list);
    return store_sqlite_err(c.db, rc, "list volumes", err);
  }
  *out = list;
  return 0;
}

/* users: ids of existing containers that reference the volume (first one into who) */
static int users(sqlite3 *db, const char *name, char who[65], struct berth_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_prep(db,
               "SELECT r.container FROM volume_refs r JOIN containers c ON c.id = r.container WHERE r.volume = ?",
               &st, err, 1, name);
  if (r < 0) return r;
  int n = 0, rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if (n++ == 0 && who) snprintf(who, 65, "%s", sqlite3_column_text(st, 0));
  return rc == SQLITE_DONE ? n : store_sqlite_err(db, rc, "volume users", err);
}

static int exec1(sqlite3 *db, const char *sql, const char *arg, struct berth_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_prep(db, sql, &st, err, 1, arg);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE ? 0 : store_sqlite_err(db, rc, sql, err);
}

/* remove_locked: row first, then the data (a crash between leaves an orphan dir, not a dangling row) */
static int remove_locked(struct daemon *d, sqlite3 *db, const char *name, struct berth_error **err) {
  char who[65] = "";
  int n = users(db, name, who, err);
  if (n < 0) return n;
  if (n > 0) return berr(err, EBUSY, "remove %s: volume is in use - [%s]", name, who);
  int r = exec1(db, "DELETE FROM volumes WHERE name = ?", name, err);
  if (r == 0) r = exec1(db, "DELETE FROM volume_refs WHERE volume = ?", name, err);
  _cleanup_free_ char *dir = xasprintf("%s/volumes/%s", d->cfg.data_root, name);
  if (r == 0) r = rm_rf(dir, err);
  /* Docker's "volume destroy" (the rows are gone with the data: a later rollback cannot bring them back) */
  if (r == 0) events_emit(d, "volume", "destroy", name, json_pack("{s:s}", "driver", "local"));
  return r;
}

int vol_remove(struct daemon *d, const char *name, bool force, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = conn_get(d, &c, err);
  if (r < 0) return r;
  if ((r = get_locked(d, c.db, name, NULL, err)) < 0) {
    if (r == -ENOENT && force) {
      berr_clear(err);
      return 0;
    }
    return r;
  }
  /* one write transaction: a container cannot start using the volume between the check and the delete */
  if ((r = store_begin(c.db, err)) < 0) return r;
  r = remove_locked(d, c.db, name, err);
  if (r == 0) return store_commit(c.db, err);
  store_rollback(c.db);
  return r;
}

/* prune_wanted: the volume's labels pass the prune filters: every `label` value matches, no
 * `label!` value does (Docker's prune filters) */
static bool prune_wanted(const char *labels_text, const json_t *with, const json_t *without) {
  _cleanup_json_ json_t *labels = json_loads(labels_text ? labels_text : "{}", 0, NULL);
  size_t i;
  json_t *v;
  json_array_foreach(with, i, v) if (!filter_label_match(labels, json_string_value(v) ?: "")) return false;
  json_array_foreach(without, i, v) if (filter_label_match(labels, json_string_value(v) ?: "")) return false;
  return true;
}

int vol_prune(struct daemon *d, bool all, const json_t *with, const json_t *without, json_t **out,
              struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = conn_get(d, &c, err);
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (r == 0)
    r = store_prep(c.db, all ? "SELECT name, labels FROM volumes" : "SELECT name, labels FROM volumes WHERE anonymous = 1",
                   &st, err, 0);
  if (r < 0) return r;
  json_t *names = json_array();
  while (sqlite3_step(st) == SQLITE_ROW)
    if (prune_wanted((const char *)sqlite3_column_text(st, 1), with, without))
      json_array_append_new(names, json_string((const char *)sqlite3_column_text(st, 0)));
  json_t *deleted = json_array();
  json_int_t space = 0;
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *name = json_string_value(v);
    _cleanup_berr_ struct berth_error *e = NULL;
    if (users(c.db, name, NULL, &e) != 0) continue;
    _cleanup_free_ char *data = vol_data_dir(d, name);
    int64_t size = fs_tree_size(data);
    if (remove_locked(d, c.db, name, &e) < 0) {
      log_warn("Prune volume %s: %s", name, berr_msg(e));
      continue;
    }
    space += size;
    json_array_append(deleted, v);
  }
  json_decref(names);
  *out = json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", space);
  return 0;
}

int vol_users(struct daemon *d, const char *name, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = conn_get(d, &c, err);
  return r < 0 ? r : users(c.db, name, NULL, err);
}

int vol_ref_add(struct daemon *d, const char *name, const char *id, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = conn_get(d, &c, err);
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (r == 0) r = store_prep(c.db, "INSERT OR IGNORE INTO volume_refs(volume, container) VALUES (?, ?)", &st, err, 2, name, id);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE ? 0 : store_sqlite_err(c.db, rc, "volume reference", err);
}

void vol_ctr_forget(struct daemon *d, const char *id, bool remove_anon) {
  _cleanup_store_conn_ struct store_conn c = {0};
  _cleanup_berr_ struct berth_error *err = NULL;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (conn_get(d, &c, &err) < 0 ||
      store_prep(c.db, "SELECT v.name FROM volume_refs r JOIN volumes v ON v.name = r.volume WHERE r.container = ? AND v.anonymous = 1",
           &st, &err, 1, id) < 0) {
    log_warn("Volumes of container %.12s: %s", id, berr_msg(err));
    return;
  }
  json_t *anon = json_array();
  while (sqlite3_step(st) == SQLITE_ROW) json_array_append_new(anon, json_string((const char *)sqlite3_column_text(st, 0)));
  if (exec1(c.db, "DELETE FROM volume_refs WHERE container = ?", id, &err) < 0)
    log_warn("Volumes of container %.12s: %s", id, berr_msg(err));
  size_t i;
  json_t *v;
  json_array_foreach(anon, i, v) {
    _cleanup_berr_ struct berth_error *e = NULL;
    if (!remove_anon) break;
    /* still used by another container (--volumes-from): kept, as Docker does */
    if (remove_locked(d, c.db, json_string_value(v), &e) < 0 && e->code != EBUSY)
      log_warn("Remove volume %s: %s", json_string_value(v), berr_msg(e));
  }
  json_decref(anon);
}
