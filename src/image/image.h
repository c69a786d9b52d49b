/* image.h - images: content store, import, lookup by reference or id, listing and inspect JSON.
 * The daemon's image handlers and container create call only this header (and storage.h). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/error.h"
#include "store/store.h"
#include "storage/storage.h"

struct image_store;

/* image_store_open: content store under data_root (blobs/, tmp/) over the metadata store and a
 * storage driver (layers). Removes leftovers of interrupted imports (tmp/). */
int image_store_open(const char *data_root, struct store *st, struct storage *drv, struct image_store **out,
                     struct berth_error **err);
void image_store_close(struct image_store *is);

/* A resolved image: what container create needs. */
struct image {
  char *id;          /* "sha256:<64 hex>" (config digest) */
  json_t *config;    /* the full image config JSON (OCI/Docker image config: .config.Env, .config.Cmd ...) */
  char **chain_ids;  /* layer chain ids "sha256:<hex>", bottom first, NULL-terminated */
};
void image_free(struct image *img);
static inline void cleanup_imagep(struct image **p) { image_free(*p); }
#define _cleanup_image_ __attribute__((cleanup(cleanup_imagep)))

/* image_get: resolve NAME = "repo[:tag]" (tag defaults to latest; "docker.io/library/" and
 * "library/" prefixes are equivalent to none), "repo@sha256:<hex>" (a digest the image was loaded
 * or pulled with, or the image's own id), "sha256:<hex>", a full hex id or a unique id prefix.
 * ENOENT with "No such image: NAME" when unknown. */
int image_get(struct image_store *is, const char *name, struct image **out, struct berth_error **err);

/* image_import: a rootfs tarball (plain, gzip, bzip2, xz or zstd) read from fd becomes a one-layer
 * image; repo_tag may be NULL (untagged) else "repo[:tag]"; message goes to the history comment;
 * changes are Dockerfile instructions (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD,
 * STOPSIGNAL, USER, VOLUME, WORKDIR, with $VAR/${VAR} expanded from the config's Env as a
 * Dockerfile does) applied to the config. *out_id = "sha256:<hex>". Nothing is registered unless whole. */
int image_import(struct image_store *is, int fd, const char *repo_tag, const char *message, char *const *changes,
                 char **out_id, struct berth_error **err);

/* image_list_json: GET /images/json (all: include intermediate images) as Docker answers it:
 * [{"Id","ParentId","RepoTags","RepoDigests","Created","Size","VirtualSize","SharedSize","Labels","Containers"}] */
int image_list_json(struct image_store *is, int all, json_t **out, struct berth_error **err);
/* image_inspect_json: GET /images/{name}/json (Id, RepoTags, RepoDigests, Parent, Comment, Created,
 * Container, ContainerConfig, DockerVersion, Author, Config, Architecture, Os, Size, VirtualSize,
 * GraphDriver, RootFS, Metadata) */
int image_inspect_json(struct image_store *is, const char *name, json_t **out, struct berth_error **err);
/* image_tag: POST /images/{name}/tag?repo=&tag= */
int image_tag(struct image_store *is, const char *name, const char *repo, const char *tag, struct berth_error **err);
/* image_count: number of images (for /info) */
int image_count(struct image_store *is, int64_t *out, struct berth_error **err);

/* reference_normalize: "busybox" -> "busybox:latest", "docker.io/library/x:1" -> "x:1",
 * "localhost:5000/a/b" -> "localhost:5000/a/b:latest", "docker.io/library/x@sha256:<hex>" ->
 * "x@sha256:<hex>" (a digest reference: no tag); EINVAL with Docker's message on a bad
 * reference ("invalid reference format"). Result is heap-allocated. */
int reference_normalize(const char *ref, char **out, struct berth_error **err);

/* Added by the image module. image_resolve: NAME (as image_get takes it) -> full id "sha256:<hex>"
 * (heap), without loading the image; ENOENT "No such image: NAME" */
int image_resolve(struct image_store *is, const char *name, char **id, struct berth_error **err);
/* image_remove: DELETE /images/{name}?force= as Docker does it: a tag name untags (and deletes the
 * image when that was its last tag and no container uses it), an id deletes the image, its
 * unused layers and blobs. *out = [{"Untagged": "repo:tag"}, {"Deleted": "sha256:..."}...].
 * EBUSY "conflict: unable to delete ..." when containers or other tags need it (force overrides
 * all but a running container). Parents of built images are not pruned yet. */
int image_remove(struct image_store *is, const char *name, int force, json_t **out, struct berth_error **err);

/* image_container_changes: GET /containers/{id}/changes for the container whose directory is
 * ctr_dir over image layers chain_ids: [{"Path": "/etc", "Kind": 0|1|2}] (modified, added,
 * deleted), sorted by path. Works mounted or not. */
int image_container_changes(struct image_store *is, const char *ctr_dir, char *const *chain_ids, json_t **out,
                            struct berth_error **err);

/* image_export_dir: GET /containers/{id}/export: the tree under dir (the container's mounted
 * rootfs) as an uncompressed tar written to out_fd */
int image_export_dir(const char *dir, int out_fd, struct berth_error **err);

/* image_commit: POST /commit (and the builder's steps): a new image = the parent image plus
 * one layer holding what the container in ctr_dir changed (no new layer when ctr_dir is NULL:
 * a metadata-only step, history "empty_layer"). */
struct image_commit_opts {
  const char *parent_id;    /* the container's image id ("sha256:..."), NULL for scratch */
  const char *ctr_dir;      /* the container's directory (upper/ or diff/ inside), or NULL */
  const char *container_id; /* recorded as "container", may be NULL */
  json_t *config;           /* the container's Config (Engine API shape); NULL: the parent's */
  char *const *changes;     /* Dockerfile instructions applied to config (commit --change) */
  const char *comment;      /* commit -m */
  const char *author;       /* commit -a */
  const char *created_by;   /* history; NULL: the container's Cmd joined by spaces */
  const char *repo_tag;     /* "repo[:tag]" or NULL */
};
int image_commit(struct image_store *is, const struct image_commit_opts *o, char **out_id, struct berth_error **err);

/* image_save: GET /images/get?names=...: the images as a `docker save` tar (manifest.json,
 * <id>.json configs, <layer>/layer.tar, repositories) written to out_fd. A name saves with that
 * tag, an id untagged. */
int image_save(struct image_store *is, char *const *names, int out_fd, struct berth_error **err);
/* image_load: POST /images/load: a `docker save` archive (Docker's or OCI layout, any
 * compression, manifest.json before or after the layers) read once from in_fd: layers are
 * digested, kept and (overlay) extracted as they stream by; every layer's digest is checked
 * against its config; nothing is registered before the whole archive is read. An unlinked
 * regular file (the daemon's spooled upload) has what was read punched out. Images get
 * RepoDigests "repo@<manifest digest>" when an OCI index names their manifest. *out = the lines
 * Docker prints: ["Loaded image: repo:tag", ...] or ["Loaded image ID: sha256:..."] */
int image_load(struct image_store *is, int in_fd, json_t **out, struct berth_error **err);

/* image_history_json: GET /images/{name}/history: [{"Id","Created","CreatedBy","Tags","Size",
 * "Comment"}] newest first; entries of layers no local image owns have Id "<missing>" */
int image_history_json(struct image_store *is, const char *name, json_t **out, struct berth_error **err);

/* image_list_json_filtered: image_list_json with the decoded filters= JSON of the API
 * ({"dangling":["true"], "reference":["busy*"], "label":["k=v"], "before":["img"], "since":[..]},
 * the older {"key":{"value":true}} form too); EINVAL for an unknown filter. NULL = none. */
int image_list_json_filtered(struct image_store *is, int all, json_t *filters, json_t **out, struct berth_error **err);
/* image_prune: POST /images/prune: dangling images (all: every image) no container uses;
 * *out = {"ImagesDeleted": [...] or null, "SpaceReclaimed": N}. */
int image_prune(struct image_store *is, int all, json_t **out, struct berth_error **err);

/* The filters of container, image and system prune, from the decoded filters= JSON: until= (a
 * Unix time, RFC 3339 time, date or a duration before now: created before it), label=k[=v],
 * label!=k[=v] and, for images, dangling=true|false (false: tagged images too, prune -a).
 * EINVAL "invalid filter 'x'" for any other key. */
struct image_prune_filter {
  int64_t until_ns; /* 0: none */
  char **labels, **not_labels;
  int dangling;     /* -1 unset (dangling only), 0 false (all), 1 true */
};
int image_prune_filter_parse(json_t *filters, bool images, struct image_prune_filter *f, struct berth_error **err);
void image_prune_filter_clear(struct image_prune_filter *f);
/* image_prune_filter_match: created_ns and labels (an object or NULL) pass until/label/label! */
bool image_prune_filter_match(const struct image_prune_filter *f, int64_t created_ns, json_t *labels);
/* image_prune_filtered: image_prune under the filter */
int image_prune_filtered(struct image_store *is, const struct image_prune_filter *f, json_t **out,
                         struct berth_error **err);
