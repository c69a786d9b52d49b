/* store_image.h - images, tags and layers in the metadata store (queries used by src/image) */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"

struct store;

/* A layer row: chain_id "sha256:<hex>" keys it, diff_id is the digest of its uncompressed tar,
 * parent the chain below (NULL for a base layer), size the bytes of its extracted content. */
struct store_layer_rec {
  const char *chain_id;
  const char *diff_id;
  const char *parent;
  int64_t size;
};

/* An image to register: its layers (bottom first) are inserted unless present, the image and its
 * layer list, and the tag (moved from any other image) - all in one transaction. */
struct store_image_new {
  const char *id;     /* "sha256:<hex>" of the config */
  const char *config; /* the config JSON as stored in the blob */
  int64_t created_ns;
  int64_t size;       /* sum of the layers' sizes */
  const char *parent; /* parent image id or NULL */
  const struct store_layer_rec *layers;
  size_t n_layers;
  const char *tag;    /* normalized "repo:tag" or NULL */
};
int store_image_register(struct store *s, const struct store_image_new *img, struct berth_error **err);

/* An image row with its layers (bottom first) and tags (sorted), NULL-terminated vectors. */
struct store_image {
  char *id;
  char *config;
  int64_t created_ns;
  int64_t size;
  char *parent;      /* NULL when none */
  char **chain_ids;
  char **tags;       /* "repo:tag" */
  char **digests;    /* "repo@sha256:<hex>" (RepoDigests), kept in the tags table too */
  char *labels;      /* the config's config.Labels as JSON text, NULL when none */
  int64_t last_tag_ns; /* newest tag's time, 0 when untagged */
};
void store_image_free(struct store_image *img);
void store_image_list_free(struct store_image **v);

/* store_image_get: by full id "sha256:<hex>"; ENOENT when absent */
int store_image_get(struct store *s, const char *id, struct store_image **out, struct berth_error **err);
/* store_image_list: all images, newest first, NULL-terminated */
int store_image_list(struct store *s, struct store_image ***out, struct berth_error **err);
/* store_image_find_prefix: the one image whose id starts with "sha256:" + hex_prefix; ENOENT when
 * none, EEXIST when more than one (ambiguous) */
int store_image_find_prefix(struct store *s, const char *hex_prefix, char **image_id, struct berth_error **err);
int store_image_count(struct store *s, int64_t *out, struct berth_error **err);
/* store_image_children: number of images whose parent is id */
int store_image_children(struct store *s, const char *id, int64_t *out, struct berth_error **err);

/* tags: normalized "repo:tag", or digest references "repo@sha256:<hex>" */
int store_tag_lookup(struct store *s, const char *ref, char **image_id, struct berth_error **err);
/* store_tag_set: point ref at image_id (moving it from another image) */
int store_tag_set(struct store *s, const char *ref, const char *image_id, struct berth_error **err);
/* store_tag_delete: ENOENT when the tag does not exist */
int store_tag_delete(struct store *s, const char *ref, struct berth_error **err);
/* store_image_delete: the image row, its layer list and tags (layers rows stay: see
 * store_layer_unused); ENOENT when absent */
int store_image_delete(struct store *s, const char *id, struct berth_error **err);

/* layers */
/* store_layer_get: size of a known layer; ENOENT when absent */
int store_layer_get(struct store *s, const char *chain_id, int64_t *size, struct berth_error **err);
/* store_layer_ids: every layer row's chain id (NULL-terminated) */
int store_layer_ids(struct store *s, char ***out, struct berth_error **err);
/* store_blob_refs: every digest a blob may be kept for (image ids, layer diff ids), sorted */
int store_blob_refs(struct store *s, char ***out, struct berth_error **err);
/* store_layer_unused: chain ids that no image uses and no other layer has as parent */
int store_layer_unused(struct store *s, char ***out, struct berth_error **err);
/* store_layer_delete: remove a layer row (missing is fine) */
int store_layer_delete(struct store *s, const char *chain_id, struct berth_error **err);

/* store_image_users: a container using image id that is running (or paused/restarting) and one
 * that is not (heap ids, NULL when none): what `rmi` must refuse or be forced over */
int store_image_users(struct store *s, const char *id, char **running, char **stopped, struct berth_error **err);
/* store_diff_id_used: 1 when some layer row still has this diff id (its tar blob is needed) */
int store_diff_id_used(struct store *s, const char *diff_id, struct berth_error **err);
/* store_layer_diff_id: the diff id of a layer (heap); ENOENT when absent */
int store_layer_diff_id(struct store *s, const char *chain_id, char **diff_id, struct berth_error **err);
