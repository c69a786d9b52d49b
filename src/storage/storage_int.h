/* storage_int.h - what the storage drivers share inside the module: the driver vtable and state */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include "storage/storage.h"

#define STORAGE_HEX_LEN 64

/* One graph driver. Layer arguments are the 64-hex part of a chain id (validated by storage.c). */
struct storage_ops {
  const char *name;  /* its directory under the data root, and what --storage-driver takes */
  const char *shown; /* the name Docker shows in info and inspect ("overlay2"), NULL: name */
  int (*layer_begin)(struct storage *s, const char *parent_hex, char **tmp_dir, struct berth_error **err);
  int (*layer_commit)(struct storage *s, const char *tmp_dir, const char *hex, struct berth_error **err);
  void (*layer_abort)(struct storage *s, const char *tmp_dir);
  int (*layer_remove)(struct storage *s, const char *hex, struct berth_error **err);
  /* the layer's content directory (heap) */
  char *(*layer_content)(struct storage *s, const char *hex);
  int (*container_create)(struct storage *s, const char *ctr_dir, char *const *hexes, struct berth_error **err);
  int (*container_mount)(struct storage *s, const char *ctr_dir, char *const *hexes, struct berth_error **err);
  json_t *(*graph_data)(struct storage *s, const char *ctr_dir, char *const *hexes);
};

struct storage {
  const struct storage_ops *ops;
  char *root;          /* data_root/overlay or data_root/vfs, absolute */
  char backing_fs[24];
  /* overlay: ",index=off,redirect_dir=off,metacopy=off" as far as the kernel knows them: layers
   * are shared by many mounts (index), and commit reads the upper dir as a full diff, which a
   * redirected dir or a metadata-only copy-up would not be */
  char overlay_opts[64];
};

extern const struct storage_ops storage_overlay_ops;
extern const struct storage_ops storage_vfs_ops;

/* storage_make_tmp: a fresh directory root/.tmp-<random> (heap path) */
int storage_make_tmp(struct storage *s, char **out, struct berth_error **err);
/* storage_is_mountpoint: 1 when path is the root of a mount, 0 when not, negative errno */
int storage_is_mountpoint(const char *path);
/* storage_copy_tree: copy the contents of directory src into existing directory dst, keeping
 * owners, modes, times, xattrs, device nodes and hard links; never follows symlinks */
int storage_copy_tree(const char *src, const char *dst, struct berth_error **err);
