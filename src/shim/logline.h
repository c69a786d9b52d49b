/* logline.h - Docker's json-file log lines from a stream of output chunks */
#pragma once
#include <stddef.h>
#include "common/buf.h"

/* Docker's log copier (daemon/logger/copier.go) buffers 16 KiB per stream: a line that does not
 * fit is written in 16 KiB pieces, each a "partial" entry without the final "\n" */
#define LOGLINE_MAX 16384

struct logline_stream {
  const char *name; /* "stdout" or "stderr" */
  char *pending;    /* LOGLINE_MAX bytes, the caller's: kept apart so that idle streams touch no page */
  size_t len;       /* bytes of an unfinished line held in pending */
};

/* logline_encode: append one entry {"log":...,"stream":...,"time":...} and "\n" to out;
 * newline adds the "\n" that ends a complete line to the log text */
void logline_encode(struct buf *out, const char *stream, const char *data, size_t n, int newline,
                    const char *time);
/* logline_feed: split data into lines; complete ones are encoded into out, the rest is kept */
void logline_feed(struct logline_stream *s, const char *data, size_t n, const char *time, struct buf *out);
/* logline_flush: at end of stream, encode a kept partial line (without "\n") */
void logline_flush(struct logline_stream *s, const char *time, struct buf *out);
