/* storage.h - graph drivers behind one interface: overlay (default) and vfs (copying fallback).
 * Layers are keyed by chain id; containers get a writable layer on top of an image's chain. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include "common/error.h"

struct storage;

/* storage_open: driver "overlay2" (or its alias "overlay"), "vfs" or NULL (overlay when the kernel has it, else vfs, and say so
 * in the log) under data_root (data_root/overlay or data_root/vfs). */
int storage_open(const char *data_root, const char *driver, struct storage **out, struct berth_error **err);
void storage_close(struct storage *s);
const char *storage_driver_name(const struct storage *s);  /* the name info and inspect show: "overlay2" | "vfs" */
const char *storage_backing_fs(const struct storage *s);   /* e.g. "extfs", "xfs", "tmpfs" */

/* Layers. storage_layer_dir: directory to extract a new layer into (a temporary one, made ready for
 * the driver); storage_layer_commit moves it into place as chain_id (atomic: rename); abort removes it. */
int storage_layer_begin(struct storage *s, const char *parent_chain_id, char **tmp_dir, struct berth_error **err);
int storage_layer_commit(struct storage *s, const char *tmp_dir, const char *chain_id, struct berth_error **err);
void storage_layer_abort(struct storage *s, const char *tmp_dir);
/* storage_sync: committed layers' contents on disk (syncfs of the driver's filesystem): called
 * once before the store records new layers, not per layer */
int storage_sync(struct storage *s, struct berth_error **err);
int storage_layer_exists(struct storage *s, const char *chain_id);
/* storage_layer_standalone: a layer's directory holds only its own changes (overlay), so it can be
 * extracted before its parent is known (begin with parent NULL); vfs layers copy their parent */
bool storage_layer_standalone(const struct storage *s);
int storage_layer_remove(struct storage *s, const char *chain_id, struct berth_error **err);

/* Containers. storage_container_create: writable layer for container_id over the layers
 * chain_ids (bottom first, NULL-terminated) in ctr_dir (upper/, work/ for overlay).
 * storage_container_mount: mount the container's root at ctr_dir/rootfs (idempotent).
 * storage_container_umount: unmount it (not mounted is fine). storage_container_remove: delete
 * the writable layer. */
int storage_container_create(struct storage *s, const char *ctr_dir, char *const *chain_ids, struct berth_error **err);
int storage_container_mount(struct storage *s, const char *ctr_dir, char *const *chain_ids, struct berth_error **err);
int storage_container_umount(struct storage *s, const char *ctr_dir, struct berth_error **err);
int storage_container_remove(struct storage *s, const char *ctr_dir, struct berth_error **err);

/* Added by the image module. storage_layer_path: the layer's content directory (heap; NULL for a
 * malformed chain id). storage_layer_list: chain ids of all committed layers (for startup GC).
 * storage_graph_driver_json: inspect's GraphDriver {"Name", "Data"} for an image (ctr_dir NULL)
 * or a container (ctr_dir set). */
char *storage_layer_path(struct storage *s, const char *chain_id);
int storage_layer_list(struct storage *s, char ***out, struct berth_error **err);
json_t *storage_graph_driver_json(struct storage *s, const char *ctr_dir, char *const *chain_ids);
