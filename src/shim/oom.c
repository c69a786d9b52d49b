/* oom.c - tells whether the kernel's OOM killer struck in the container's memory cgroup */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/xalloc.h"
#include "shim/shim.h"

/* cgroup_memory_file: the file with the "oom_kill N" counter for the cgroup of pid: v1's
 * memory.oom_control when a memory hierarchy is mounted (hybrid hosts), else v2's memory.events */
static char *cgroup_memory_file(pid_t pid) {
  char path[64], text[4096];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
  /* a stack buffer, not stdio: every heap page the shim touches stays resident per container */
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
  if (n <= 0) return NULL;
  text[n] = 0;
  char *v1 = NULL, *v2 = NULL;
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *ctl = strchr(line, ':');
    char *cg = ctl ? strchr(ctl + 1, ':') : NULL;
    if (!cg) continue;
    *cg++ = 0;
    ctl++;
    bool mem = false;
    for (char *s2 = NULL, *t = strtok_r(ctl, ",", &s2); t; t = strtok_r(NULL, ",", &s2))
      if (strcmp(t, "memory") == 0) mem = true;
    if (mem && !v1) v1 = xasprintf("/sys/fs/cgroup/memory%s/memory.oom_control", cg);
    else if (!*ctl && !v2) v2 = xasprintf("/sys/fs/cgroup%s/memory.events", cg);
  }
  if (v1) {
    free(v2);
    return v1;
  }
  return v2;
}

/* shim_oom_watch: open the counter while the container's init lives (its cgroup is known then);
 * a failure only means that OOM kills go unreported */
void shim_oom_watch(struct shim *s) {
  _cleanup_free_ char *p = cgroup_memory_file(s->init_pid);
  if (p) s->oom_fd = open(p, O_RDONLY | O_CLOEXEC);
}

/* shim_oom_killed: whether the counter is above zero (each container has a cgroup of its own) */
bool shim_oom_killed(struct shim *s) {
  char buf[1024];
  if (s->oom_fd < 0) return false;
  ssize_t n = pread(s->oom_fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return false;
  buf[n] = 0;
  char *k = strstr(buf, "oom_kill ");
  return k && strtoll(k + strlen("oom_kill "), NULL, 10) > 0;
}
