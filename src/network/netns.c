/* netns.c - bind-mounted network namespaces: made in a short-lived thread (unshare changes
 * only the calling thread's namespace, so the daemon's own threads never move) */
#include "common/xalloc.h"
#include "network/net_int.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

struct netns_job {
  const char *path;
  struct nl *inner;
  struct berth_error *err;
  int rc;
};

/* netns_thread: unshare, bind the namespace at path, open a netlink socket inside it (a socket
 * stays in the namespace it was made in, so the caller configures the namespace through it
 * after this thread is gone), and set lo up */
static void *netns_thread(void *arg) {
  struct netns_job *j = arg;
  if (unshare(CLONE_NEWNET) < 0) {
    j->rc = berr_sys(&j->err, errno, "unshare the network namespace");
    return NULL;
  }
  if (mount("/proc/thread-self/ns/net", j->path, NULL, MS_BIND, NULL) < 0) {
    j->rc = berr_sys(&j->err, errno, "bind the network namespace at \"%s\"", j->path);
    return NULL;
  }
  j->rc = nl_open(j->inner, &j->err);
  if (j->rc == 0) j->rc = nl_link_up(j->inner, 1 /* lo is always 1 in a new namespace */, &j->err);
  return NULL;
}

int netns_create(const char *path, struct nl *inner, struct berth_error **err) {
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return berr_sys(err, errno, "create \"%s\"", path);
  close(fd);
  struct netns_job j = {.path = path, .inner = inner};
  pthread_t t;
  int r = pthread_create(&t, NULL, netns_thread, &j);
  if (r != 0) {
    unlink(path);
    return berr_sys(err, r, "start a thread");
  }
  pthread_join(t, NULL);
  if (j.rc < 0) {
    nl_close(inner);
    netns_remove(path, NULL);
    if (err && !*err) {
      *err = j.err;
      return j.rc;
    }
    berr_free(j.err);
    return j.rc;
  }
  return 0;
}

int netns_remove(const char *path, struct berth_error **err) {
  if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return berr_sys(err, errno, "unmount \"%s\"", path);
  if (unlink(path) < 0 && errno != ENOENT) return berr_sys(err, errno, "remove \"%s\"", path);
  return 0;
}

struct enter_job {
  const char *path;
  struct nl *inner;
  struct berth_error *err;
  int rc;
};

/* enter_thread: setns changes only this short-lived thread; the socket it opens stays inside */
static void *enter_thread(void *arg) {
  struct enter_job *j = arg;
  int fd = open(j->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    j->rc = berr_sys(&j->err, errno, "open \"%s\"", j->path);
    return NULL;
  }
  if (setns(fd, CLONE_NEWNET) < 0) j->rc = berr_sys(&j->err, errno, "enter the network namespace \"%s\"", j->path);
  close(fd);
  if (j->rc == 0) j->rc = nl_open(j->inner, &j->err);
  return NULL;
}

int netns_enter_nl(const char *path, struct nl *inner, struct berth_error **err) {
  struct enter_job j = {.path = path, .inner = inner};
  pthread_t t;
  int r = pthread_create(&t, NULL, enter_thread, &j);
  if (r != 0) return berr_sys(err, r, "start a thread");
  pthread_join(t, NULL);
  if (j.rc < 0) {
    if (err && !*err) *err = j.err;
    else berr_free(j.err);
  }
  return j.rc;
}
