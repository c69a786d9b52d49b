/* logfile.c - the json-file log's writes and its rotation (--log-max-size/--log-max-file):
 * NAME -> NAME.1 -> ... -> NAME.(N-1), Docker's scheme, so that logs stay bounded on disk */
#include "shim/shim.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* rotate: shift the numbered files up, the live file to NAME.1, and open a new live file;
 * with one file, the log is truncated instead (Docker's max-file=1) */
static void rotate(struct shim *s) {
  const char *name = s->o.log_path;
  if (s->log_max_file <= 1) {
    if (ftruncate(s->log_fd, 0) == 0) s->log_size = 0;
    return;
  }
  for (int i = s->log_max_file - 1; i >= 1; i--) {
    _cleanup_free_ char *from = i == 1 ? xstrdup(name) : xasprintf("%s.%d", name, i - 1);
    _cleanup_free_ char *to = xasprintf("%s.%d", name, i);
    rename(from, to); /* a missing older file is fine */
  }
  int fd = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return; /* keep writing to the renamed file rather than losing output */
  close(s->log_fd);
  s->log_fd = fd;
  s->log_size = 0;
}

void shim_log_open_size(struct shim *s) {
  struct stat st;
  s->log_size = s->log_fd >= 0 && fstat(s->log_fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

void shim_log_write(struct shim *s, const char *p, size_t n) {
  if (s->log_fd < 0 || n == 0) return;
  /* rotate before a write that would pass max-size (one bigger than max-size gets a file of its own) */
  if (s->log_max_size > 0 && s->log_size > 0 && s->log_size + (int64_t)n > s->log_max_size) rotate(s);
  if (write_all(s->log_fd, p, n) == 0) s->log_size += (int64_t)n;
}
