/* state.c - ROOT/ID/state.json and the created/running/stopped status derived from the kernel */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

char *rt_statedir(const struct rt_opts *o, const char *id) { return path_join(o->root, id); }

int rt_valid_id(const char *id, struct berth_error **err) {
  /* the id names a directory under --root: no separators; dot names are the runtime's own */
  if (!id || !*id) return berr(err, EINVAL, "container id is required");
  if (strlen(id) > 1024 || strchr(id, '/') || id[0] == '.')
    return berr(err, EINVAL, "invalid container id \"%s\"", id);
  return 0;
}

int rt_state_save(const struct rt_opts *o, const struct rt_state *st, struct berth_error **err) {
  _cleanup_json_ json_t *j = json_pack("{s:s, s:i, s:I, s:s, s:s, s:s}", "id", st->id, "pid", (int)st->pid,
                                       "start_time", (json_int_t)st->start_time, "bundle", st->bundle,
                                       "rootfs", st->rootfs, "created", st->created);
  if (st->cgroup_path) json_object_set_new(j, "cgroup_path", json_string(st->cgroup_path));
  if (st->annotations) json_object_set(j, "annotations", st->annotations);
  if (json_object_size(st->hooks)) json_object_set(j, "hooks", st->hooks);
  if (st->host_mounts) json_object_set_new(j, "host_mounts", json_true());
  _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
  _cleanup_free_ char *dir = rt_statedir(o, st->id);
  _cleanup_free_ char *path = path_join(dir, "state.json");
  return write_file_atomic(path, text, strlen(text), 0600, 0, err);
}

int rt_state_load(const struct rt_opts *o, const char *id, struct rt_state *st, struct berth_error **err) {
  memset(st, 0, sizeof(*st));
  int r = rt_valid_id(id, err);
  if (r < 0) return r;
  _cleanup_free_ char *dir = rt_statedir(o, id);
  _cleanup_free_ char *path = path_join(dir, "state.json");
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_load_file(path, 0, &jerr);
  if (!j) {
    if (access(dir, F_OK) < 0) return berr(err, ENOENT, "container \"%s\" does not exist", id);
    if (access(path, F_OK) < 0) return berr(err, EBUSY, "container \"%s\" is still being created", id);
    return berr(err, EIO, "read state of container \"%s\": %s", id, jerr.text);
  }
  st->id = xstrdup(id);
  st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
  st->start_time = (uint64_t)json_integer_value(json_object_get(j, "start_time"));
  const char *s;
  st->bundle = xstrdup((s = json_string_value(json_object_get(j, "bundle"))) ? s : "");
  st->rootfs = xstrdup((s = json_string_value(json_object_get(j, "rootfs"))) ? s : "");
  st->created = xstrdup((s = json_string_value(json_object_get(j, "created"))) ? s : "");
  if ((s = json_string_value(json_object_get(j, "cgroup_path")))) st->cgroup_path = xstrdup(s);
  json_t *a = json_object_get(j, "annotations");
  if (a) st->annotations = json_incref(a);
  json_t *h = json_object_get(j, "hooks");
  if (h) st->hooks = json_incref(h);
  st->host_mounts = json_is_true(json_object_get(j, "host_mounts"));
  return 0;
}

void rt_state_clear(struct rt_state *st) {
  free(st->id);
  free(st->bundle);
  free(st->rootfs);
  free(st->created);
  free(st->cgroup_path);
  if (st->annotations) json_decref(st->annotations);
  if (st->hooks) json_decref(st->hooks);
  memset(st, 0, sizeof(*st));
}

uint64_t rt_proc_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n <= 0) return 0;
  buf[n] = '\0';
  /* comm may hold spaces and parens: the fields start after the last ')' */
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ') return 0;
  p += 2;
  if (*p == 'Z' || *p == 'X') return 0; /* a zombie has stopped */
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p) return 0;
    p++;
  }
  return strtoull(p, NULL, 10);
}

enum rt_status rt_state_status(const struct rt_opts *o, const struct rt_state *st) {
  if (st->pid <= 0) return RT_STOPPED;
  uint64_t t = rt_proc_start_time(st->pid);
  if (t == 0 || t != st->start_time) return RT_STOPPED;
  /* start removes the fifo after the init has passed it: present = not started yet */
  _cleanup_free_ char *dir = rt_statedir(o, st->id);
  _cleanup_free_ char *fifo = path_join(dir, "exec.fifo");
  if (access(fifo, F_OK) == 0) return RT_CREATED;
  _cleanup_free_ char *mark = path_join(dir, RT_PAUSED_MARK);
  return access(mark, F_OK) == 0 ? RT_PAUSED : RT_RUNNING;
}

const char *rt_status_name(enum rt_status s) {
  static const char *const names[] = {"creating", "created", "running", "stopped", "paused"};
  return names[s];
}

json_t *rt_state_json(const struct rt_state *st, enum rt_status s) {
  json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "ociVersion", OCI_VERSION, "id", st->id,
                        "pid", s == RT_STOPPED ? 0 : (int)st->pid, "status", rt_status_name(s), "bundle",
                        st->bundle, "rootfs", st->rootfs, "created", st->created);
  json_object_set_new(j, "annotations", st->annotations ? json_incref(st->annotations) : json_object());
  json_object_set_new(j, "owner", json_string(""));
  return j;
}
