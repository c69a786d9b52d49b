/* stdio_proxy.h - one proxy between a client's connection and a shim's attach socket, shared
 * by container attach (attach.c) and exec start (exec_start.c) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct stdio_proxy {
  int fd;                 /* the shim's attach socket (SEQPACKET, [stream][data]); -1: none */
  int stop_efd;           /* the daemon's stop eventfd: streams end when it is readable */
  bool tty;               /* raw output; else Docker's multiplexed frames */
  bool in, out, err;      /* which streams the client asked for */
  unsigned char keys[16]; /* the detach sequence (exec_parse_keys), watched for in the input */
  size_t nkeys, matched;  /* its length; how much of it the input has shown so far */
};

enum proxy_end {
  PROXY_OUTPUT_END, /* the shim closed the socket: the process's output is complete */
  PROXY_DETACHED,   /* the client typed the detach keys */
  PROXY_GONE,       /* the client left, an I/O error, or the daemon is stopping */
};

/* proxy_write_out: one piece of output of STREAM to CLIENT (dropped when not asked for) */
int proxy_write_out(struct stdio_proxy *p, int client, int stream, const char *data, size_t n);
/* proxy_run: both directions over a hijacked connection; EXTRA: input that came with the request */
enum proxy_end proxy_run(struct stdio_proxy *p, int client, const char *extra, size_t extra_len);
/* proxy_read: output only, for a response body: bytes put in BUF (at most MAX), 0 at the end of
 * the output, -1 when the daemon stops or on error */
ssize_t proxy_read(struct stdio_proxy *p, char *buf, size_t max);
