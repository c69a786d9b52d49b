/* sync.c - named sync stages over a SOCK_SEQPACKET pair: errors in the init cross the fork */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "runtime/runtime.h"

struct sync_packet {
  int32_t stage;
  int32_t code;
  char msg[2048];
};

static const char *stage_name(int s) {
  static const char *const names[] = {"?", "go", "ready", "error", "hooks", "hooks done"};
  return s >= 0 && s < (int)(sizeof(names) / sizeof(names[0])) ? names[s] : "?";
}

int rt_sync_send(int fd, enum rt_sync_stage stage, int code, const char *msg) {
  struct sync_packet p = {.stage = stage, .code = code};
  if (msg) snprintf(p.msg, sizeof(p.msg), "%s", msg);
  size_t n = offsetof(struct sync_packet, msg) + strlen(p.msg) + 1;
  for (;;) {
    if (send(fd, &p, n, MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

int rt_sync_wait(int fd, enum rt_sync_stage stage, struct berth_error **err) {
  return rt_sync_recv(fd, stage, NULL, err);
}

int rt_sync_recv(int fd, enum rt_sync_stage stage, int *code, struct berth_error **err) {
  struct sync_packet p;
  ssize_t n;
  memset(&p, 0, sizeof(p));
  do n = recv(fd, &p, sizeof(p) - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return berr_sys(err, errno, "wait for stage \"%s\"", stage_name(stage));
  if (n == 0) return berr(err, ECHILD, "container init exited before stage \"%s\"", stage_name(stage));
  p.msg[sizeof(p.msg) - 1] = '\0';
  if (p.stage == SYNC_ERROR) return berr(err, p.code ? p.code : EIO, "%s", p.msg);
  if (p.stage != (int32_t)stage)
    return berr(err, EPROTO, "sync: expected stage \"%s\", got \"%s\"", stage_name(stage), stage_name(p.stage));
  if (code) *code = p.code;
  return 0;
}
