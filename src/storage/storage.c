/* storage.c - driver selection, chain-id validation and the parts shared by all graph drivers */
#define LOG_TAG "storage"
#include "storage/storage_int.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static const struct storage_ops *const drivers[] = {&storage_overlay_ops, &storage_vfs_ops};

/* statfs magic -> the names Docker's `info` prints for the backing filesystem */
static const struct {
  unsigned long magic;
  const char *name;
} fs_names[] = {
    {0xEF53, "extfs"},        {0x58465342, "xfs"},   {0x9123683E, "btrfs"},    {0x01021994, "tmpfs"},
    {0x794c7630, "overlayfs"}, {0x2fc12fc1, "zfs"},  {0x6969, "nfs"},          {0xF2F52010, "f2fs"},
    {0x65735546, "fuseblk"},  {0x73717368, "squashfs"}, {0x858458f6, "ramfs"}, {0xf15f, "ecryptfs"},
    {0x61756673, "aufs"},     {0x5346414F, "afs"},   {0xFF534D42, "cifs"},     {0x6E736673, "nsfs"},
};

static void detect_backing_fs(struct storage *s) {
  struct statfs sf;
  snprintf(s->backing_fs, sizeof(s->backing_fs), "<unknown>");
  if (statfs(s->root, &sf) < 0) return;
  for (size_t i = 0; i < ARRAY_SIZE(fs_names); i++)
    if ((unsigned long)sf.f_type == fs_names[i].magic) snprintf(s->backing_fs, sizeof(s->backing_fs), "%s", fs_names[i].name);
}

static bool kernel_has_overlay(void) {
  _cleanup_free_ char *text = NULL;
  if (read_file("/proc/filesystems", &text, NULL, NULL) < 0) return false;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *tab = strrchr(line, '\t');
    if (strcmp(tab ? tab + 1 : line, "overlay") == 0) return true;
  }
  return false;
}

/* probe_overlay: mount a throwaway overlay under root: the only sure test that the backing
 * filesystem supports what overlay needs for upper dirs (d_type, xattrs, not overlay itself) */
static int probe_overlay(const char *root, struct berth_error **err) {
  if (!kernel_has_overlay()) return berr(err, ENODEV, "the kernel has no overlay filesystem");
  char dir[] = "/.probe-XXXXXX";
  _cleanup_free_ char *base = xasprintf("%s%s", root, dir);
  if (!mkdtemp(base)) return berr_sys(err, errno, "mkdtemp under \"%s\"", root);
  static const char *const subs[] = {"lower", "upper", "work", "merged"};
  int r = 0;
  for (size_t i = 0; i < ARRAY_SIZE(subs) && r == 0; i++) {
    _cleanup_free_ char *p = path_join(base, subs[i]);
    if (mkdir(p, 0700) < 0) r = berr_sys(err, errno, "mkdir \"%s\"", p);
  }
  if (r == 0) {
    _cleanup_free_ char *opts = xasprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", base, base, base);
    _cleanup_free_ char *merged = path_join(base, "merged");
    if (mount("overlay", merged, "overlay", 0, opts) < 0) r = berr_sys(err, errno, "mount overlay in \"%s\"", root);
    else umount2(merged, MNT_DETACH);
  }
  rm_rf(base, NULL);
  return r;
}

/* remove_tmp_leftovers: .tmp-* (interrupted layer extractions) and .probe-* under root */
static void remove_tmp_leftovers(const char *root) {
  _cleanup_closedir_ DIR *d = opendir(root);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strncmp(de->d_name, ".tmp-", 5) != 0 && strncmp(de->d_name, ".probe-", 7) != 0) continue;
    _cleanup_free_ char *p = path_join(root, de->d_name);
    _cleanup_berr_ struct berth_error *e = NULL;
    if (rm_rf(p, &e) < 0) log_warn("Cannot remove leftover \"%s\": %s", p, berr_msg(e));
  }
}

static int open_driver(const char *data_root, const struct storage_ops *ops, struct storage **out,
                       struct berth_error **err) {
  _cleanup_free_ char *abs = NULL;
  if (data_root[0] != '/') {
    _cleanup_free_ char *cwd = getcwd(NULL, 0);
    if (!cwd) return berr_sys(err, errno, "getcwd");
    abs = path_join(cwd, data_root);
  } else {
    abs = xstrdup(data_root);
  }
  struct storage *s = xcalloc(1, sizeof(*s));
  s->ops = ops;
  s->root = path_join(abs, ops->name);
  int r = mkdir_p(s->root, 0710, err);
  if (r == 0 && ops == &storage_overlay_ops) {
    _cleanup_free_ char *l = path_join(s->root, "l");
    r = mkdir_p(l, 0700, err);
    static const char *const params[] = {"index", "redirect_dir", "metacopy"};
    size_t used = 0;
    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
      _cleanup_free_ char *p = xasprintf("/sys/module/overlay/parameters/%s", params[i]);
      if (access(p, F_OK) == 0)
        used += (size_t)snprintf(s->overlay_opts + used, sizeof(s->overlay_opts) - used, ",%s=off", params[i]);
    }
  }
  if (r < 0) {
    storage_close(s);
    return berr_prefix(err, "storage driver %s", ops->name);
  }
  detect_backing_fs(s);
  remove_tmp_leftovers(s->root);
  *out = s;
  return 0;
}

int storage_open(const char *data_root, const char *driver, struct storage **out, struct berth_error **err) {
  if (driver && *driver) {
    const char *want = strcmp(driver, "overlay2") == 0 ? "overlay" : driver;
    for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
      if (strcmp(drivers[i]->name, want) != 0) continue;
      int r = open_driver(data_root, drivers[i], out, err);
      if (r < 0 || drivers[i] != &storage_overlay_ops) return r;
      r = probe_overlay((*out)->root, err);
      if (r < 0) {
        storage_close(*out);
        *out = NULL;
        return berr_prefix(err, "storage driver overlay is not usable");
      }
      return 0;
    }
    return berr(err, EINVAL, "unknown storage driver \"%s\" (overlay2, overlay, vfs)", driver);
  }
  struct storage *s = NULL;
  int r = open_driver(data_root, &storage_overlay_ops, &s, err);
  if (r < 0) return r;
  _cleanup_berr_ struct berth_error *why = NULL;
  if (strcmp(s->backing_fs, "overlayfs") != 0 && probe_overlay(s->root, &why) == 0) {
    *out = s;
    return 0;
  }
  log_info("Overlay is not usable on \"%s\" (%s): using the vfs storage driver", data_root,
           why ? berr_msg(why) : "the data root is on overlayfs");
  _cleanup_free_ char *links = path_join(s->root, "l");
  rmdir(links); /* both only succeed when empty: an unused overlay dir we just made */
  rmdir(s->root);
  storage_close(s);
  return open_driver(data_root, &storage_vfs_ops, out, err);
}

void storage_close(struct storage *s) {
  if (!s) return;
  free(s->root);
  free(s);
}

const char *storage_driver_name(const struct storage *s) { return s->ops->shown ? s->ops->shown : s->ops->name; }
const char *storage_backing_fs(const struct storage *s) { return s->backing_fs; }
bool storage_layer_standalone(const struct storage *s) { return s->ops == &storage_overlay_ops; }

/* chain_hex: "sha256:<64 hex>" -> the hex part, NULL when malformed (never a path) */
static const char *chain_hex(const char *chain_id) {
  if (!chain_id || strncmp(chain_id, "sha256:", 7) != 0) return NULL;
  return id_is_hex(chain_id + 7, STORAGE_HEX_LEN) ? chain_id + 7 : NULL;
}

static int chain_hexes(char *const *chain_ids, char ***out, struct berth_error **err) {
  _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
  for (size_t i = 0; chain_ids && chain_ids[i]; i++) {
    const char *h = chain_hex(chain_ids[i]);
    if (!h) return berr(err, EINVAL, "invalid layer chain id \"%s\"", chain_ids[i]);
    v = strv_push(v, h);
  }
  *out = take_ptr(&v);
  return 0;
}

int storage_layer_begin(struct storage *s, const char *parent_chain_id, char **tmp_dir, struct berth_error **err) {
  const char *ph = NULL;
  if (parent_chain_id) {
    ph = chain_hex(parent_chain_id);
    if (!ph) return berr(err, EINVAL, "invalid layer chain id \"%s\"", parent_chain_id);
    if (!storage_layer_exists(s, parent_chain_id)) return berr(err, ENOENT, "layer %s does not exist", parent_chain_id);
  }
  return s->ops->layer_begin(s, ph, tmp_dir, err);
}

int storage_layer_commit(struct storage *s, const char *tmp_dir, const char *chain_id, struct berth_error **err) {
  const char *h = chain_hex(chain_id);
  if (!h) return berr(err, EINVAL, "invalid layer chain id \"%s\"", chain_id);
  return s->ops->layer_commit(s, tmp_dir, h, err);
}

int storage_sync(struct storage *s, struct berth_error **err) {
  _cleanup_close_ int fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || syncfs(fd) < 0) return berr_sys(err, errno, "sync \"%s\"", s->root);
  return 0;
}

void storage_layer_abort(struct storage *s, const char *tmp_dir) {
  if (tmp_dir) s->ops->layer_abort(s, tmp_dir);
}

int storage_layer_exists(struct storage *s, const char *chain_id) {
  const char *h = chain_hex(chain_id);
  if (!h) return 0;
  _cleanup_free_ char *p = s->ops->layer_content(s, h);
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int storage_layer_remove(struct storage *s, const char *chain_id, struct berth_error **err) {
  const char *h = chain_hex(chain_id);
  if (!h) return berr(err, EINVAL, "invalid layer chain id \"%s\"", chain_id);
  return s->ops->layer_remove(s, h, err);
}

char *storage_layer_path(struct storage *s, const char *chain_id) {
  const char *h = chain_hex(chain_id);
  return h ? s->ops->layer_content(s, h) : NULL;
}

int storage_layer_list(struct storage *s, char ***out, struct berth_error **err) {
  _cleanup_closedir_ DIR *d = opendir(s->root);
  if (!d) return berr_sys(err, errno, "open \"%s\"", s->root);
  _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
  struct dirent *de;
  while ((de = readdir(d)))
    if (id_is_hex(de->d_name, STORAGE_HEX_LEN)) v = strv_push_take(v, xasprintf("sha256:%s", de->d_name));
  *out = take_ptr(&v);
  return 0;
}

int storage_container_create(struct storage *s, const char *ctr_dir, char *const *chain_ids, struct berth_error **err) {
  _cleanup_strv_ char **hexes = NULL;
  int r = chain_hexes(chain_ids, &hexes, err);
  if (r < 0) return r;
  r = mkdir_p(ctr_dir, 0710, err);
  if (r < 0) return r;
  _cleanup_free_ char *rootfs = path_join(ctr_dir, "rootfs");
  if (mkdir(rootfs, 0755) < 0 && errno != EEXIST) return berr_sys(err, errno, "mkdir \"%s\"", rootfs);
  return s->ops->container_create(s, ctr_dir, hexes, err);
}

int storage_container_mount(struct storage *s, const char *ctr_dir, char *const *chain_ids, struct berth_error **err) {
  _cleanup_strv_ char **hexes = NULL;
  int r = chain_hexes(chain_ids, &hexes, err);
  if (r < 0) return r;
  _cleanup_free_ char *rootfs = path_join(ctr_dir, "rootfs");
  r = storage_is_mountpoint(rootfs);
  if (r < 0) return berr_sys(err, -r, "stat \"%s\"", rootfs);
  if (r == 1) return 0;
  return s->ops->container_mount(s, ctr_dir, hexes, err);
}

int storage_container_umount(struct storage *s, const char *ctr_dir, struct berth_error **err) {
  _cleanup_free_ char *rootfs = path_join(ctr_dir, "rootfs");
  /* detach: a process still holding a file inside must not make container removal fail */
  while (umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
  }
  if (errno != EINVAL && errno != ENOENT) return berr_sys(err, errno, "unmount \"%s\"", rootfs);
  return 0;
}

int storage_container_remove(struct storage *s, const char *ctr_dir, struct berth_error **err) {
  int r = storage_container_umount(s, ctr_dir, err);
  if (r < 0) return r;
  static const char *const parts[] = {"upper", "work", "diff", "empty"};
  for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
    _cleanup_free_ char *p = path_join(ctr_dir, parts[i]);
    r = rm_rf(p, err);
    if (r < 0) return r;
  }
  _cleanup_free_ char *rootfs = path_join(ctr_dir, "rootfs");
  if (rmdir(rootfs) < 0 && errno != ENOENT) return berr_sys(err, errno, "rmdir \"%s\"", rootfs);
  return 0;
}

json_t *storage_graph_driver_json(struct storage *s, const char *ctr_dir, char *const *chain_ids) {
  _cleanup_strv_ char **hexes = NULL;
  json_t *data = NULL;
  if (chain_hexes(chain_ids, &hexes, NULL) == 0) data = s->ops->graph_data(s, ctr_dir, hexes);
  return json_pack("{s:s, s:o}", "Name", storage_driver_name(s), "Data", data ? data : json_null());
}

int storage_make_tmp(struct storage *s, char **out, struct berth_error **err) {
  char *p = xasprintf("%s/.tmp-XXXXXX", s->root);
  if (!mkdtemp(p)) {
    int e = errno;
    free(p);
    return berr_sys(err, e, "mkdtemp in \"%s\"", s->root);
  }
  *out = p;
  return 0;
}

int storage_is_mountpoint(const char *path) {
  struct statx stx;
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) return -errno;
  if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
  /* old kernels: a mount root has another device than its parent, or is its own parent's inode */
  _cleanup_free_ char *parent = xasprintf("%s/..", path);
  struct stat a, b;
  if (stat(path, &a) < 0 || stat(parent, &b) < 0) return -errno;
  return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}
