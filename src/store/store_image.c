/* store_image.c - queries on images, tags and layers (the image module's side of the store) */
#include "store/store.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *col_text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? xstrdup((const char *)t) : NULL;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* run: step a write statement to completion */
static int run(sqlite3 *db, sqlite3_stmt *st, const char *what, struct berth_error **err) {
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE ? 0 : store_sqlite_err(db, rc, what, err);
}

static int insert_layer(sqlite3 *db, const struct store_layer_rec *l, int64_t now, struct berth_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_prep(db, "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, created_ns) VALUES(?,?,?,?,?)",
               &st, err, 3, l->chain_id, l->diff_id, l->parent);
  if (r < 0) return r;
  sqlite3_bind_int64(st, 4, l->size);
  sqlite3_bind_int64(st, 5, now);
  return run(db, st, "insert layer", err);
}

static int set_tag(sqlite3 *db, const char *ref, const char *image_id, struct berth_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_prep(db, "INSERT OR REPLACE INTO tags(ref, image_id, created_ns) VALUES(?,?,?)", &st, err, 2, ref,
               image_id);
  if (r < 0) return r;
  sqlite3_bind_int64(st, 3, now_ns());
  return run(db, st, "set tag", err);
}

static int register_rows(sqlite3 *db, const struct store_image_new *img, struct berth_error **err) {
  int64_t now = now_ns();
  for (size_t i = 0; i < img->n_layers; i++) {
    int r = insert_layer(db, &img->layers[i], now, err);
    if (r < 0) return r;
  }
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  const char *top = img->n_layers ? img->layers[img->n_layers - 1].chain_id : NULL;
  int r = store_prep(db, "INSERT OR IGNORE INTO images(id, config, created_ns, size, parent, top_layer) VALUES(?,?,?,?,?,?)",
               &st, err, 2, img->id, img->config);
  if (r < 0) return r;
  sqlite3_bind_int64(st, 3, img->created_ns);
  sqlite3_bind_int64(st, 4, img->size);
  if (img->parent) sqlite3_bind_text(st, 5, img->parent, -1, SQLITE_TRANSIENT);
  if (top) sqlite3_bind_text(st, 6, top, -1, SQLITE_TRANSIENT);
  r = run(db, st, "insert image", err);
  if (r < 0) return r;
  for (size_t i = 0; i < img->n_layers; i++) {
    _cleanup_stmt_ sqlite3_stmt *il = NULL;
    r = store_prep(db, "INSERT OR IGNORE INTO image_layers(image_id, idx, chain_id) VALUES(?,?,?)", &il, err, 1, img->id);
    if (r < 0) return r;
    sqlite3_bind_int64(il, 2, (int64_t)i);
    sqlite3_bind_text(il, 3, img->layers[i].chain_id, -1, SQLITE_TRANSIENT);
    r = run(db, il, "insert image layer", err);
    if (r < 0) return r;
  }
  return img->tag ? set_tag(db, img->tag, img->id, err) : 0;
}

int store_image_register(struct store *s, const struct store_image_new *img, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  r = store_begin(c.db, err);
  if (r < 0) return r;
  r = register_rows(c.db, img, err);
  if (r == 0) r = store_commit(c.db, err);
  if (r < 0) store_rollback(c.db);
  return r;
}

void store_image_free(struct store_image *img) {
  if (!img) return;
  free(img->id);
  free(img->config);
  free(img->parent);
  strv_free(img->chain_ids);
  strv_free(img->tags);
  strv_free(img->digests);
  free(img->labels);
  free(img);
}

void store_image_list_free(struct store_image **v) {
  for (size_t i = 0; v && v[i]; i++) store_image_free(v[i]);
  free(v);
}

/* column_list: one text column of a query with one parameter, as a vector */
static int column_list(sqlite3 *db, const char *sql, const char *arg, char ***out, struct berth_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_prep(db, sql, &st, err, arg ? 1 : 0, arg);
  if (r < 0) return r;
  _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) v = strv_push(v, (const char *)sqlite3_column_text(st, 0));
  if (rc != SQLITE_DONE) return store_sqlite_err(db, rc, "query", err);
  *out = take_ptr(&v);
  return 0;
}

/* split_digests: the tags table keeps digest references ("repo@sha256:...") beside tags, as
 * Docker's reference store does; they move to img->digests */
static void split_digests(struct store_image *img) {
  img->digests = xcalloc(1, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; img->tags[i]; i++) {
    if (strchr(img->tags[i], '@')) img->digests = strv_push_take(img->digests, img->tags[i]);
    else img->tags[k++] = img->tags[i];
  }
  img->tags[k] = NULL;
}

/* fill_row: an image row without its layers and tags */
static struct store_image *fill_row(sqlite3_stmt *st) {
  struct store_image *img = xcalloc(1, sizeof(*img));
  img->id = col_text(st, 0);
  img->config = col_text(st, 1);
  img->created_ns = sqlite3_column_int64(st, 2);
  img->size = sqlite3_column_int64(st, 3);
  img->parent = col_text(st, 4);
  img->last_tag_ns = sqlite3_column_int64(st, 5);
  img->labels = col_text(st, 6);
  return img;
}

static int fill_image(sqlite3 *db, sqlite3_stmt *st, struct store_image **out, struct berth_error **err) {
  struct store_image *img = fill_row(st);
  int r = column_list(db, "SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx", img->id,
                      &img->chain_ids, err);
  if (r == 0) r = column_list(db, "SELECT ref FROM tags WHERE image_id = ? ORDER BY ref", img->id, &img->tags, err);
  if (r == 0) split_digests(img);
  if (r < 0) {
    store_image_free(img);
    return r;
  }
  *out = img;
  return 0;
}

/* labels: config.Labels as JSON text, so that listings need not parse every config */
#define IMAGE_COLUMNS \
  "SELECT id, config, created_ns, size, parent, (SELECT max(created_ns) FROM tags WHERE image_id = images.id), " \
  "json_extract(config, '$.config.Labels') FROM images"

int store_image_get(struct store *s, const char *id, struct store_image **out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  r = store_prep(c.db, IMAGE_COLUMNS " WHERE id = ?", &st, err, 1, id);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return berr(err, ENOENT, "No such image: %s", id);
  if (rc != SQLITE_ROW) return store_sqlite_err(c.db, rc, "get image", err);
  return fill_image(c.db, st, out, err);
}

/* by_id: the image of v (n, sorted copy idx by id) with this id, NULL when none */
static int cmp_image_id(const void *a, const void *b) {
  return strcmp((*(struct store_image *const *)a)->id, (*(struct store_image *const *)b)->id);
}

static struct store_image *by_id(struct store_image **idx, size_t n, const char *id) {
  struct store_image key = {.id = (char *)id}, *kp = &key;
  struct store_image **hit = bsearch(&kp, idx, n, sizeof(*idx), cmp_image_id);
  return hit ? *hit : NULL;
}

/* attach: (image_id, text) rows of sql appended to the vector field of each image */
static int attach(sqlite3 *db, const char *sql, struct store_image **idx, size_t n, size_t field,
                  struct berth_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_prep(db, sql, &st, err, 0);
  if (r < 0) return r;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct store_image *img = by_id(idx, n, (const char *)sqlite3_column_text(st, 0));
    if (!img) continue;
    char ***v = (char ***)((char *)img + field);
    *v = strv_push(*v, (const char *)sqlite3_column_text(st, 1));
  }
  return rc == SQLITE_DONE ? 0 : store_sqlite_err(db, rc, "list images", err);
}

/* store_image_list: three queries however many images (rows, then all layers, then all tags) */
int store_image_list(struct store *s, struct store_image ***out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  r = store_prep(c.db, IMAGE_COLUMNS " ORDER BY created_ns DESC, id", &st, err, 0);
  if (r < 0) return r;
  size_t n = 0;
  struct store_image **v = xcalloc(1, sizeof(*v));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    v = xrealloc(v, (n + 2) * sizeof(*v));
    v[n++] = fill_row(st);
    v[n] = NULL;
    v[n - 1]->chain_ids = xcalloc(1, sizeof(char *));
    v[n - 1]->tags = xcalloc(1, sizeof(char *));
  }
  if (rc != SQLITE_DONE) r = store_sqlite_err(c.db, rc, "list images", err);
  _cleanup_free_ struct store_image **idx = xmalloc((n + 1) * sizeof(*idx));
  memcpy(idx, v, n * sizeof(*idx));
  qsort(idx, n, sizeof(*idx), cmp_image_id);
  if (r == 0)
    r = attach(c.db, "SELECT image_id, chain_id FROM image_layers ORDER BY image_id, idx", idx, n,
               offsetof(struct store_image, chain_ids), err);
  if (r == 0)
    r = attach(c.db, "SELECT image_id, ref FROM tags ORDER BY image_id, ref", idx, n,
               offsetof(struct store_image, tags), err);
  for (size_t i = 0; r == 0 && i < n; i++) split_digests(v[i]);
  if (r < 0) {
    store_image_list_free(v);
    return r;
  }
  *out = v;
  return 0;
}

int store_image_find_prefix(struct store *s, const char *hex_prefix, char **image_id, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  _cleanup_free_ char *lo = xasprintf("sha256:%s", hex_prefix);
  _cleanup_free_ char *hi = xasprintf("sha256:%sg", hex_prefix); /* 'g' sorts after every hex digit */
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  r = store_prep(c.db, "SELECT id FROM images WHERE id >= ? AND id < ? LIMIT 2", &st, err, 2, lo, hi);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return berr(err, ENOENT, "No such image: %s", hex_prefix);
  if (rc != SQLITE_ROW) return store_sqlite_err(c.db, rc, "find image", err);
  _cleanup_free_ char *id = col_text(st, 0);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return berr(err, EEXIST, "image id prefix %s is ambiguous", hex_prefix);
  *image_id = take_ptr(&id);
  return 0;
}

static int count_query(struct store *s, const char *sql, const char *arg, int64_t *out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  r = store_prep(c.db, sql, &st, err, arg ? 1 : 0, arg);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) return store_sqlite_err(c.db, rc, "count", err);
  *out = sqlite3_column_int64(st, 0);
  return 0;
}

int store_image_count(struct store *s, int64_t *out, struct berth_error **err) {
  return count_query(s, "SELECT count(*) FROM images", NULL, out, err);
}

int store_image_children(struct store *s, const char *id, int64_t *out, struct berth_error **err) {
  return count_query(s, "SELECT count(*) FROM images WHERE parent = ?", id, out, err);
}

int store_tag_lookup(struct store *s, const char *ref, char **image_id, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  r = store_prep(c.db, "SELECT image_id FROM tags WHERE ref = ?", &st, err, 1, ref);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return berr(err, ENOENT, "No such image: %s", ref);
  if (rc != SQLITE_ROW) return store_sqlite_err(c.db, rc, "look up tag", err);
  *image_id = col_text(st, 0);
  return 0;
}

/* write1: one write statement with text parameters in its own implicit transaction;
 * want_change makes "no row changed" an ENOENT */
static int write1(struct store *s, const char *sql, const char *what, int want_change, struct berth_error **err,
                  const char *a, const char *b) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  r = store_prep(c.db, sql, &st, err, b ? 2 : 1, a, b);
  if (r < 0) return r;
  r = run(c.db, st, what, err);
  if (r == 0 && want_change && sqlite3_changes(c.db) == 0) return berr(err, ENOENT, "%s: %s not found", what, a);
  return r;
}

int store_tag_set(struct store *s, const char *ref, const char *image_id, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  return set_tag(c.db, ref, image_id, err);
}

int store_tag_delete(struct store *s, const char *ref, struct berth_error **err) {
  return write1(s, "DELETE FROM tags WHERE ref = ?", "delete tag", 1, err, ref, NULL);
}

int store_image_delete(struct store *s, const char *id, struct berth_error **err) {
  /* tags and image_layers go with it: ON DELETE CASCADE (foreign_keys is on) */
  return write1(s, "DELETE FROM images WHERE id = ?", "delete image", 1, err, id, NULL);
}

int store_layer_get(struct store *s, const char *chain_id, int64_t *size, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  r = store_prep(c.db, "SELECT size FROM layers WHERE chain_id = ?", &st, err, 1, chain_id);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return berr(err, ENOENT, "no such layer: %s", chain_id);
  if (rc != SQLITE_ROW) return store_sqlite_err(c.db, rc, "get layer", err);
  *size = sqlite3_column_int64(st, 0);
  return 0;
}

int store_layer_ids(struct store *s, char ***out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  return column_list(c.db, "SELECT chain_id FROM layers", NULL, out, err);
}

int store_blob_refs(struct store *s, char ***out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  /* UNION sorts and removes duplicates: callers bsearch with strcmp (ids are ASCII) */
  return column_list(c.db, "SELECT id FROM images UNION SELECT diff_id FROM layers ORDER BY 1", NULL, out, err);
}

int store_layer_unused(struct store *s, char ***out, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  return column_list(c.db,
                     "SELECT chain_id FROM layers l WHERE NOT EXISTS (SELECT 1 FROM image_layers il WHERE "
                     "il.chain_id = l.chain_id) AND NOT EXISTS (SELECT 1 FROM layers c WHERE c.parent = l.chain_id)",
                     NULL, out, err);
}

int store_layer_delete(struct store *s, const char *chain_id, struct berth_error **err) {
  return write1(s, "DELETE FROM layers WHERE chain_id = ?", "delete layer", 0, err, chain_id, NULL);
}

int store_image_users(struct store *s, const char *id, char **running, char **stopped, struct berth_error **err) {
  *running = *stopped = NULL;
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  r = store_prep(c.db, "SELECT id, status IN ('running', 'paused', 'restarting') FROM containers WHERE image_id = ?", &st,
           err, 1, id);
  if (r < 0) return r;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    char **slot = sqlite3_column_int(st, 1) ? running : stopped;
    if (!*slot) *slot = col_text(st, 0);
  }
  if (rc != SQLITE_DONE) {
    free(*running);
    free(*stopped);
    *running = *stopped = NULL;
    return store_sqlite_err(c.db, rc, "containers of image", err);
  }
  return 0;
}

int store_diff_id_used(struct store *s, const char *diff_id, struct berth_error **err) {
  int64_t n = 0;
  int r = count_query(s, "SELECT count(*) FROM layers WHERE diff_id = ?", diff_id, &n, err);
  return r < 0 ? r : n > 0;
}

int store_layer_diff_id(struct store *s, const char *chain_id, char **diff_id, struct berth_error **err) {
  _cleanup_store_conn_ struct store_conn c = {0};
  int r = store_conn_get(s, &c, err);
  if (r < 0) return r;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  r = store_prep(c.db, "SELECT diff_id FROM layers WHERE chain_id = ?", &st, err, 1, chain_id);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return berr(err, ENOENT, "no such layer: %s", chain_id);
  if (rc != SQLITE_ROW) return store_sqlite_err(c.db, rc, "get layer", err);
  *diff_id = col_text(st, 0);
  return 0;
}
