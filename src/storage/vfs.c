/* vfs.c - the vfs graph driver: every layer is a full copy of its parent plus its own changes;
 * a container's root is one more copy, bind-mounted at ctr_dir/rootfs. Slow and big, works on
 * any filesystem: the fallback when overlay cannot be used */
#include "storage/storage_int.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char *vfs_content(struct storage *s, const char *hex) { return path_join(s->root, hex); }

static int vfs_begin(struct storage *s, const char *parent_hex, char **tmp_dir, struct berth_error **err) {
  _cleanup_free_ char *tmp = NULL;
  int r = storage_make_tmp(s, &tmp, err);
  if (r < 0) return r;
  chmod(tmp, 0755);
  if (parent_hex) {
    _cleanup_free_ char *parent = vfs_content(s, parent_hex);
    r = storage_copy_tree(parent, tmp, err);
    if (r < 0) {
      rm_rf(tmp, NULL);
      return r;
    }
  }
  *tmp_dir = take_ptr(&tmp);
  return 0;
}

static bool is_ours(struct storage *s, const char *tmp_dir) {
  size_t rl = strlen(s->root);
  return strncmp(tmp_dir, s->root, rl) == 0 && strncmp(tmp_dir + rl, "/.tmp-", 6) == 0 &&
         !strchr(tmp_dir + rl + 1, '/');
}

static int vfs_commit(struct storage *s, const char *tmp_dir, const char *hex, struct berth_error **err) {
  if (!is_ours(s, tmp_dir)) return berr(err, EINVAL, "\"%s\" is not a layer being extracted", tmp_dir);
  _cleanup_free_ char *dst = vfs_content(s, hex);
  /* no sync here: see ov_commit (storage_sync comes before the store knows the layer) */
  if (rename(tmp_dir, dst) < 0) {
    if (errno != EEXIST && errno != ENOTEMPTY) return berr_sys(err, errno, "rename \"%s\" to \"%s\"", tmp_dir, dst);
    rm_rf(tmp_dir, NULL);
  }
  return 0;
}

static void vfs_abort(struct storage *s, const char *tmp_dir) {
  if (is_ours(s, tmp_dir)) rm_rf(tmp_dir, NULL);
}

static int vfs_remove(struct storage *s, const char *hex, struct berth_error **err) {
  _cleanup_free_ char *dir = vfs_content(s, hex);
  return rm_rf(dir, err);
}

static int vfs_container_create(struct storage *s, const char *ctr_dir, char *const *hexes, struct berth_error **err) {
  _cleanup_free_ char *diff = path_join(ctr_dir, "diff");
  struct stat st;
  if (stat(diff, &st) == 0) return 0; /* made before: a create retried after a crash keeps it */
  _cleanup_free_ char *tmp = path_join(ctr_dir, "diff.tmp");
  rm_rf(tmp, NULL);
  if (mkdir(tmp, 0755) < 0) return berr_sys(err, errno, "mkdir \"%s\"", tmp);
  size_t n = 0;
  while (hexes[n]) n++;
  if (n > 0) {
    _cleanup_free_ char *top = vfs_content(s, hexes[n - 1]);
    int r = storage_copy_tree(top, tmp, err);
    if (r < 0) {
      rm_rf(tmp, NULL);
      return r;
    }
  }
  if (rename(tmp, diff) < 0) return berr_sys(err, errno, "rename \"%s\"", tmp);
  return 0;
}

static int vfs_container_mount(struct storage *s, const char *ctr_dir, char *const *hexes, struct berth_error **err) {
  _cleanup_free_ char *diff = path_join(ctr_dir, "diff");
  _cleanup_free_ char *rootfs = path_join(ctr_dir, "rootfs");
  if (mount(diff, rootfs, NULL, MS_BIND, NULL) < 0) return berr_sys(err, errno, "bind mount \"%s\"", diff);
  return 0;
}

static json_t *vfs_graph_data(struct storage *s, const char *ctr_dir, char *const *hexes) {
  size_t n = 0;
  while (hexes[n]) n++;
  if (ctr_dir) return json_pack("{s:s++}", "Dir", ctr_dir, "/", "diff");
  if (n == 0) return NULL;
  return json_pack("{s:s++}", "Dir", s->root, "/", hexes[n - 1]);
}

const struct storage_ops storage_vfs_ops = {
    .name = "vfs",
    .layer_begin = vfs_begin,
    .layer_commit = vfs_commit,
    .layer_abort = vfs_abort,
    .layer_remove = vfs_remove,
    .layer_content = vfs_content,
    .container_create = vfs_container_create,
    .container_mount = vfs_container_mount,
    .graph_data = vfs_graph_data,
};
