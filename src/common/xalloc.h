/* xalloc.h - allocation that aborts on failure, and cleanup attributes for owned locals */
#pragma once
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}
static inline void cleanup_fclosep(FILE **f) {
  if (*f) {
    int saved = errno;
    fclose(*f);
    errno = saved;
  }
}
static inline void cleanup_closedirp(DIR **d) {
  if (*d) {
    int saved = errno;
    closedir(*d);
    errno = saved;
  }
}
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_closedirp)))

/* take_ptr / take_fd: hand ownership out of a cleanup-managed local */
static inline void *take_ptr_impl(void **p) {
  void *v = *p;
  *p = NULL;
  return v;
}
#define take_ptr(p) take_ptr_impl((void **)(p))
static inline int take_fd(int *fd) {
  int v = *fd;
  *fd = -1;
  return v;
}
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
