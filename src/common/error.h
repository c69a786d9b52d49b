/* error.h - the one error convention: return a negative errno, fill a berth_error */
#pragma once
#include <stdarg.h>

struct berth_error {
  int code;  /* positive errno-style code; maps to HTTP status in the daemon */
  char *msg; /* human sentence, no final period */
};

/* berr: set *err (if err and *err is NULL) to code/message; returns -code (or -EIO when code is 0).
 * Usage: return berr(err, errno, "open \"%s\"", path); */
int berr(struct berth_error **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* berr_sys: like berr, appending ": strerror(code)" to the message */
int berr_sys(struct berth_error **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* berr_prefix: prepend "CONTEXT: " to an existing error message; returns -(*err)->code or -EIO */
int berr_prefix(struct berth_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void berr_free(struct berth_error *err);
/* berr_clear: free *err and set it to NULL */
void berr_clear(struct berth_error **err);
static inline const char *berr_msg(const struct berth_error *e) { return e && e->msg ? e->msg : "unknown error"; }

static inline void cleanup_berrp(struct berth_error **p) { berr_clear(p); }
#define _cleanup_berr_ __attribute__((cleanup(cleanup_berrp)))
