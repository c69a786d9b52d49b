/* image_int.h - what the image module's files share: the store struct, layer extraction,
 * --change parsing, digests. Not for other modules (they use image.h). */
#pragma once
#include <archive.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "image/image.h"

struct image_store {
  char *root;  /* data root */
  char *blobs; /* root/blobs/sha256 */
  char *tmp;   /* root/tmp */
  struct store *st;
  struct storage *drv;
  /* held while layers are committed and registered, and while images and their layers are
   * removed: an import reusing a layer never races its removal (lookups do not take it) */
  pthread_mutex_t lock;
};

/* How a layer's whiteouts (".wh.NAME", ".wh..wh..opq") are stored: as overlay expects them
 * (char device 0/0, trusted.overlay.opaque=y) or applied by deleting from a full copy (vfs). */
enum layer_whiteout { LAYER_WHITEOUT_OVERLAY, LAYER_WHITEOUT_DELETE };

/* layer_apply_tar: extract every entry of the tar being read by a into the directory dirfd and
 * never anything outside it: paths are resolved with openat2(RESOLVE_IN_ROOT) so "..", absolute
 * paths and symlinks stay inside; hard link targets must exist inside. *size (optional) gets
 * the bytes of regular file content. */
int layer_apply_tar(int dirfd, struct archive *a, enum layer_whiteout wh, int64_t *size, struct berth_error **err);

/* image_tag_ref: reference_normalize for a name that becomes a tag (load, commit, import, tag):
 * a digest reference is refused with Docker's message */
int image_tag_ref(const char *ref, char **out, struct berth_error **err);

/* image_default_config: the zero container config Docker writes for an import (Cmd null ...) */
json_t *image_default_config(void);
/* image_apply_changes: apply Dockerfile instructions to a container config object; EINVAL with a
 * message naming the bad instruction */
int image_apply_changes(json_t *config, char *const *changes, struct berth_error **err);
int image_apply_change(json_t *config, const char *change, int *cmd_set, struct berth_error **err);

/* image_sha256_hex: lowercase hex digest of data into out[65] */
void image_sha256_hex(const void *data, size_t n, char out[65]);
/* image_chain_id: chain(1) = diff(1); chain(n) = sha256(chain(n-1) + " " + diff(n)); "sha256:<hex>"
 * strings in and out (out is at least 72 bytes) */
void image_chain_id(const char *parent_chain, const char *diff_id, char out[72]);
/* image_go_arch: this machine's architecture in Go's names (amd64, arm64 ...) */
const char *image_go_arch(void);

/* One entry of a container's changes (`docker diff`, and what commit puts in the new layer). */
enum layer_change_kind { LAYER_CHANGE_MODIFIED = 0, LAYER_CHANGE_ADDED = 1, LAYER_CHANGE_DELETED = 2 };
struct layer_change {
  char *path; /* "/etc/group" */
  enum layer_change_kind kind;
  bool opaque; /* a directory whose lower contents are all hidden */
};
void layer_changes_free(struct layer_change *v, size_t n);
/* layer_changes: what the container in ctr_dir changed over its image (layers chain_ids),
 * sorted by path; *new_root = the directory holding the changed content (heap) */
int layer_changes(struct image_store *is, const char *ctr_dir, char *const *chain_ids, struct layer_change **out,
                  size_t *n, char **new_root, struct berth_error **err);

/* tar_write_tree: every entry under rootfd (sorted, hard links kept) as tar members without a
 * leading "/"; tar_write_changes: the given changes, deletions as ".wh." members */
int tar_write_tree(struct archive *a, int rootfd, struct berth_error **err);
int tar_write_changes(struct archive *a, int rootfd, const struct layer_change *changes, size_t n,
                      struct berth_error **err);

/* ---------- shared by import, commit and load (blob.c) ---------- */

/* A file under tmp/ that is removed unless renamed into place. */
struct image_tmp {
  char *path;
  int fd;
};
int image_tmp_make(struct image_store *is, const char *prefix, struct image_tmp *t, struct berth_error **err);
void image_tmp_drop(struct image_tmp *t);
#define _cleanup_image_tmp_ __attribute__((cleanup(image_tmp_drop)))

void image_archive_read_freep(struct archive **a);
void image_archive_write_freep(struct archive **a);
#define _cleanup_archive_read_ __attribute__((cleanup(image_archive_read_freep)))
#define _cleanup_archive_write_ __attribute__((cleanup(image_archive_write_freep)))

/* image_layer_known: the layer is committed and registered (so an image can use it as it is) */
bool image_layer_known(struct image_store *is, const char *chain_id, int64_t *size);
/* image_extract_layer: the plain tar at tar_path applied over parent_chain (NULL: base layer)
 * into a new uncommitted storage layer *tmp_dir */
int image_extract_layer(struct image_store *is, const char *tar_path, const char *parent_chain, char **tmp_dir,
                        int64_t *size, struct berth_error **err);
/* image_decompress: the stream on fd (plain or any compression libarchive knows) into t, and the
 * sha256 of the plain bytes (a layer's diff id) into hex */
int image_decompress(int fd, struct image_tmp *t, char hex[65], struct berth_error **err);
/* image_filter_values: one filter key's values, as the API sends them ({"key": ["v"]}) or in the
 * older form ({"key": {"v": true}}), as a string vector */
char **image_filter_values(json_t *v);
/* image_hex: n bytes as 2n lower-case hex digits and a NUL into out */
void image_hex(const uint8_t *md, size_t n, char *out);
/* image_digest_file: sha256 hex of a whole file */
int image_digest_file(const char *path, char hex[65], struct berth_error **err);

/* image_keep_layer: commit the uncommitted layer tmp_dir (if any) as chain and keep its tar
 * (if any) as the blob of diff, under the store lock */
int image_keep_layer(struct image_store *is, const char *tmp_dir, const char *chain, struct image_tmp *tar,
                     const char *diff, struct berth_error **err);

/* What image_register makes whole, under the store lock: the new layer (if any) committed, its
 * tar kept as a blob, the config written as a blob, and the store rows in one transaction. */
struct image_reg {
  const char *tmp_layer_dir; /* uncommitted layer to commit as new_chain, or NULL */
  const char *new_chain;
  struct image_tmp *layer_tar; /* the new layer's tar, kept as blobs/sha256/<new_diff hex>, or NULL */
  const char *new_diff;
  const char *config_text;
  const struct store_layer_rec *layers; /* all the image's layers, bottom first */
  size_t n_layers;
  int64_t size;
  const char *parent;
  const char *tag;
  char *const *extra_tags; /* more normalized tags, or NULL */
};
int image_register(struct image_store *is, const struct image_reg *reg, char **out_id, struct berth_error **err);

/* image_summary_json: one ImageSummary of /images/json (si->tags as RepoTags; labels: the
 * config's Labels object or NULL) */
json_t *image_summary_json(struct store_image *si, json_t *labels);

/* image_load_record: resolve NAME and load its store row and parsed config (the caller frees both);
 * EIO when the stored config is not JSON */
int image_load_record(struct image_store *is, const char *name, struct store_image **si, json_t **config,
               struct berth_error **err);
