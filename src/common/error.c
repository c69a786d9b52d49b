/* error.c - berth_error construction and context prefixes */
#include "common/error.h"
#include "common/xalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_error(struct berth_error **err, int code, char *msg) {
  if (code < 0) code = -code;
  if (code == 0) code = EIO;
  if (err && !*err) {
    *err = xmalloc(sizeof(**err));
    (*err)->code = code;
    (*err)->msg = msg;
  } else {
    free(msg);
  }
  return -code;
}

int berr(struct berth_error **err, int code, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  char *msg;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0) abort();
  va_end(ap);
  errno = saved;
  return set_error(err, code, msg);
}

int berr_sys(struct berth_error **err, int code, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  char *head, *msg;
  va_start(ap, fmt);
  if (vasprintf(&head, fmt, ap) < 0) abort();
  va_end(ap);
  msg = xasprintf("%s: %s", head, strerror(code < 0 ? -code : code));
  free(head);
  errno = saved;
  return set_error(err, code, msg);
}

int berr_prefix(struct berth_error **err, const char *fmt, ...) {
  va_list ap;
  char *head;
  if (!err || !*err) return -EIO;
  va_start(ap, fmt);
  if (vasprintf(&head, fmt, ap) < 0) abort();
  va_end(ap);
  char *msg = xasprintf("%s: %s", head, (*err)->msg ? (*err)->msg : "");
  free(head);
  free((*err)->msg);
  (*err)->msg = msg;
  return -(*err)->code;
}

void berr_free(struct berth_error *err) {
  if (!err) return;
  free(err->msg);
  free(err);
}

void berr_clear(struct berth_error **err) {
  if (!err) return;
  berr_free(*err);
  *err = NULL;
}
