/* fs.h - file helpers: EINTR-safe I/O, atomic writes, mkdir -p, rm -rf without following links */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "common/error.h"

/* write_all / read_all: loop over partial writes and EINTR; 0 or -errno */
int write_all(int fd, const void *data, size_t n);
/* read_all: read up to EOF (at most max bytes, 0 = no limit) into a NUL-terminated heap buffer */
int read_all(int fd, char **out, size_t *len, size_t max);
/* read_file: whole file at path (relative to dirfd, AT_FDCWD for cwd) */
int read_file_at(int dirfd, const char *path, char **out, size_t *len, struct berth_error **err);
static inline int read_file(const char *path, char **out, size_t *len, struct berth_error **err) {
  return read_file_at(-100 /* AT_FDCWD */, path, out, len, err);
}
/* write_file_atomic: write to a temporary name, fsync, rename over path (and fsync the dir if sync) */
int write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, int sync,
                      struct berth_error **err);
/* mkdir_p: create path and parents with mode; existing directories are fine */
int mkdir_p(const char *path, mode_t mode, struct berth_error **err);
/* rm_rf: remove path recursively; never follows symlinks, stays on one filesystem; ENOENT is success */
int rm_rf(const char *path, struct berth_error **err);
/* path_join: "a" + "/" + "b" (heap) */
char *path_join(const char *a, const char *b);
/* fd_set_cloexec / fd_set_nonblock: 0 or -errno */
int fd_set_cloexec(int fd, int on);
int fd_set_nonblock(int fd, int on);

/* fs_tree_size: bytes of the regular files and symlinks below path, not following links
 * (directories and device nodes, such as overlay whiteouts, count nothing: Docker's SizeRw);
 * 0 when path cannot be read */
int64_t fs_tree_size(const char *path);
