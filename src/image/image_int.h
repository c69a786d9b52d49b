/* image_int.h - what the image module's files share: the store struct, layer extraction,
 * --change parsing, digests. Not for other modules (they use image.h). */
#pragma once
#include <archive.h>
#include <jansson.h>
#include <stdint.h>
#include "image/image.h"

struct image_store {
  char *root;  /* data root */
  char *blobs; /* root/blobs/sha256 */
  char *tmp;   /* root/tmp */
  struct store *st;
  struct storage *drv;
};

/* How a layer's whiteouts (".wh.NAME", ".wh..wh..opq") are stored: as overlay expects them
 * (char device 0/0, trusted.overlay.opaque=y) or applied by deleting from a full copy (vfs). */
enum layer_whiteout { LAYER_WHITEOUT_OVERLAY, LAYER_WHITEOUT_DELETE };

/* layer_apply_tar: extract every entry of the tar being read by a into the directory dirfd and
 * never anything outside it: paths are resolved with openat2(RESOLVE_IN_ROOT) so "..", absolute
 * paths and symlinks stay inside; hard link targets must exist inside. *size (optional) gets
 * the bytes of regular file content. */
int layer_apply_tar(int dirfd, struct archive *a, enum layer_whiteout wh, int64_t *size, struct berth_error **err);

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
