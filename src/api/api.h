/* api.h - Docker Engine API facts shared by the CLI and the daemon: versions, the multiplexed
 * stream framing of attach/logs without a TTY, and error-code to HTTP-status mapping. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"

#define BERTH_API_VERSION "1.41"     /* what we speak (../shared/reference/docker-engine-api-v1.41.yaml) */
#define BERTH_API_MIN_VERSION "1.12" /* the oldest a client may ask for */
#define BERTH_DEFAULT_HOST "unix:///run/berth/berth.sock"

/* stdcopy framing: 8-byte header {stream, 0, 0, 0, size (big endian u32)} then size bytes */
enum api_stream { API_STREAM_STDIN = 0, API_STREAM_STDOUT = 1, API_STREAM_STDERR = 2, API_STREAM_SYSTEMERR = 3 };
#define API_FRAME_HEADER 8
void api_frame_header(uint8_t hdr[API_FRAME_HEADER], enum api_stream s, uint32_t len);
/* api_frame_append: header + payload appended to b */
void api_frame_append(struct buf *b, enum api_stream s, const void *data, size_t len);

/* api_deframer: incremental decoder of a multiplexed stream */
struct api_deframer {
  uint8_t hdr[API_FRAME_HEADER];
  size_t hdr_have;
  uint32_t remaining;
  enum api_stream cur;
};
/* api_deframe: feed n bytes; calls out(stream, data, len, ctx) for each payload piece.
 * Returns 0, or -EPROTO on a header with an unknown stream id. */
int api_deframe(struct api_deframer *d, const void *data, size_t n,
                void (*out)(enum api_stream s, const char *data, size_t len, void *ctx), void *ctx);

/* api_http_status: errno-style code of a berth_error -> HTTP status as Docker answers
 * (ENOENT 404, EEXIST/EBUSY 409, EINVAL 400, ENOTSUP 501, else 500) */
int api_http_status(int code);

/* api_version_cmp: compare "1.41"-style versions: <0, 0, >0 */
int api_version_cmp(const char *a, const char *b);
