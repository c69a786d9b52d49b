/* tar.h - a small tar writer for build contexts (pax long names), and .dockerignore matching */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "common/buf.h"
#include "common/error.h"

/* tar_dir: append every entry under root (sorted, symlinks not followed) not excluded by ignore */
int tar_dir(struct buf *out, const char *root, char **ignore, struct berth_error **err);
/* tar_add_file_data: append one regular file with the given content */
int tar_add_file_data(struct buf *out, const char *name, const void *data, size_t len, mode_t mode);
/* tar_finish: the two zero blocks that end an archive */
void tar_finish(struct buf *out);
/* tar_read_ignore: the patterns of DIR/.dockerignore (none when it is missing) */
int tar_read_ignore(const char *dir, char ***patterns, struct berth_error **err);
/* tar_ignored: docker's rules: the last matching pattern wins, "!" re-includes, a match covers children */
bool tar_ignored(char **patterns, const char *rel);
