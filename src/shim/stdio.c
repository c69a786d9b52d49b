/* stdio.c - the container's stdio: pipes or the pty master from --console-socket; the attach socket */
#include "shim/shim.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* make_pipe: *ours (the read side when we_read) stays with the shim, non-blocking; *theirs goes to
 * the container as one of create's stdio fds */
static int make_pipe(int *ours, int *theirs, bool we_read, struct berth_error **err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return berr_sys(err, errno, "pipe");
  *ours = we_read ? p[0] : p[1];
  *theirs = we_read ? p[1] : p[0];
  fd_set_nonblock(*ours, 1);
  /* output pipes of 1 MiB (pages are taken only while data waits): a chatty process fills fewer,
   * larger reads and is woken less often when the shim is behind. Best effort. */
  if (we_read) (void)fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
  return 0;
}

int shim_stdio_create(struct shim *s, int child[3], struct berth_error **err) {
  int r;
  child[0] = child[1] = child[2] = -1;
  if (s->o.tty) {
    /* the container gets the pty; create's own stdio only carries the runtime's messages */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return berr_sys(err, errno, "open /dev/null");
    child[0] = child[1] = child[2] = null;
    return 0;
  }
  if (s->o.stdin_open) {
    if ((r = make_pipe(&s->in.fd, &child[0], false, err)) < 0) return r;
  } else {
    child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (child[0] < 0) return berr_sys(err, errno, "open /dev/null");
  }
  if ((r = make_pipe(&s->out[0].src.fd, &child[1], true, err)) < 0) return r;
  return make_pipe(&s->out[1].src.fd, &child[2], true, err);
}

/* listen_unix: a listening unix socket at path, mode 0600 */
static int listen_unix(const char *path, int type, struct berth_error **err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) return berr(err, ENAMETOOLONG, "socket path \"%s\" is too long", path);
  memcpy(sa.sun_path, path, strlen(path) + 1);
  _cleanup_close_ int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return berr_sys(err, errno, "socket");
  unlink(path);
  mode_t old = umask(0177);
  int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
  int e = errno;
  umask(old);
  if (r < 0) return berr_sys(err, e, "bind \"%s\"", path);
  if (listen(fd, 64) < 0) return berr_sys(err, errno, "listen \"%s\"", path);
  return take_fd(&fd);
}

/* listen_state: a SOCK_SEQPACKET listener at STATE/name, bound through /proc/self/fd when the
 * path is too long for sun_path (berthd connects the same way) */
static int listen_state(struct shim *s, const char *name, const char *path, struct berth_error **err) {
  _cleanup_free_ char *alias = NULL;
  _cleanup_close_ int dfd = -1;
  if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    dfd = open(s->o.state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return berr_sys(err, errno, "open \"%s\"", s->o.state_dir);
    path = alias = xasprintf("/proc/self/fd/%d/%s", dfd, name);
  }
  return listen_unix(path, SOCK_SEQPACKET, err);
}

int shim_attach_listen(struct shim *s, struct berth_error **err) {
  s->listen.fd = listen_state(s, "attach", s->attach_path, err);
  return s->listen.fd < 0 ? s->listen.fd : 0;
}

int shim_control_listen(struct shim *s, struct berth_error **err) {
  s->control.fd = listen_state(s, "control", s->control_path, err);
  return s->control.fd < 0 ? s->control.fd : 0;
}

int shim_console_listen(struct shim *s, struct berth_error **err) {
  /* the runtime connects by path, so this one must fit in sun_path */
  int fd = listen_unix(s->console_path, SOCK_STREAM, err);
  if (fd < 0) return berr_prefix(err, "console socket");
  s->console_fd = fd;
  return 0;
}

/* shim_console_receive: take the pty master that the runtime sent during create (SCM_RIGHTS) */
int shim_console_receive(struct shim *s, struct berth_error **err) {
  _cleanup_close_ int lfd = take_fd(&s->console_fd);
  unlink(s->console_path);
  _cleanup_close_ int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (conn < 0) return berr_sys(err, errno, "runtime did not send the terminal on the console socket");
  char name[256];
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(int))];
  } cm;
  struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof(cm.b)};
  ssize_t n;
  do n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return berr_sys(err, errno, "receive the terminal from the console socket");
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
    return berr(err, EPROTO, "console socket: the runtime sent no terminal");
  int master;
  memcpy(&master, CMSG_DATA(c), sizeof(int));
  fd_set_nonblock(master, 1);
  s->out[0].src.fd = master;
  if (s->o.stdin_open) s->in.fd = master;
  return 0;
}
