/* syscalls.h - the one syscall-shim header: wrappers for calls glibc 2.36 lacks or hides */
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static inline int sys_pidfd_open(pid_t pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static inline int sys_pidfd_send_signal(int pidfd, int sig, void *info, unsigned int flags) {
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags);
}
static inline int sys_openat2(int dirfd, const char *path, struct open_how *how) {
  return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}
static inline int sys_pivot_root(const char *new_root, const char *put_old) {
  return (int)syscall(SYS_pivot_root, new_root, put_old);
}
