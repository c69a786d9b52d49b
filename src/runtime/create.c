/* create.c - the parent side of create: read the bundle, fork the init, sync, write the state */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

/* fields this runtime cannot honour yet: refusing is better than running less confined */
static const struct {
  const char *parent, *key;
} unsupported[] = {
    {"linux", "intelRdt"}, {"process", "scheduler"},
};

static int check_supported(json_t *spec, struct berth_error **err) {
  for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
    json_t *obj = unsupported[i].parent ? json_object_get(spec, unsupported[i].parent) : spec;
    json_t *v = json_object_get(obj, unsupported[i].key);
    bool empty = !v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ||
                 ((json_is_object(v) || json_is_array(v)) && json_object_size(v) == 0 && json_array_size(v) == 0);
    if (!empty)
      return berr(err, ENOTSUP, "%s%s%s is not supported yet", unsupported[i].parent ? unsupported[i].parent : "",
                  unsupported[i].parent ? "." : "", unsupported[i].key);
  }
  return 0;
}

/* names libcap does not know are refused before anything is made (the spec: a value that cannot
 * be mapped to a kernel interface is an error); known names this kernel lacks are skipped later */
static int check_cap_names(json_t *caps, struct berth_error **err) {
  const char *set;
  json_t *list, *v;
  json_object_foreach(caps, set, list) {
    size_t i;
    cap_value_t cv;
    json_array_foreach(list, i, v) if (cap_from_name(json_string_value(v), &cv) < 0)
      return berr(err, EINVAL, "process.capabilities.%s: unknown capability \"%s\"", set, json_string_value(v));
  }
  return 0;
}

static int load_config(const char *bundle, json_t **out, struct berth_error **err) {
  _cleanup_free_ char *path = path_join(bundle, "config.json");
  json_error_t jerr;
  json_t *spec = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!spec) {
    if (access(path, F_OK) < 0) return berr_sys(err, errno, "open \"%s\"", path);
    return berr(err, EINVAL, "parse \"%s\": %s (line %d)", path, jerr.text, jerr.line);
  }
  int r = oci_spec_validate(spec, err);
  if (r == 0) r = check_supported(spec, err);
  if (r == 0) r = rt_lsm_check(spec, err);
  if (r == 0) r = check_cap_names(json_object_get(json_object_get(spec, "process"), "capabilities"), err);
  if (r < 0) {
    json_decref(spec);
    return berr_prefix(err, "%s", path);
  }
  *out = spec;
  return 0;
}

/* a time namespace applies to children: made (with its offsets) or joined here, before the fork */
static int plan_timens(struct rt_container *c, const char *path, struct berth_error **err) {
  if ((c->own_timens = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC)) < 0)
    return berr_sys(err, errno, "open /proc/self/ns/time");
  if (path && *path) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return berr_sys(err, errno, "open time namespace \"%s\"", path);
    if (setns(fd, CLONE_NEWTIME) < 0) return berr_sys(err, errno, "join time namespace \"%s\"", path);
    return 0;
  }
  if (unshare(CLONE_NEWTIME) < 0) return berr_sys(err, errno, "unshare the time namespace");
  static const char *const clocks[] = {"monotonic", "boottime"};
  json_t *offs = json_object_get(json_object_get(c->spec, "linux"), "timeOffsets");
  for (size_t i = 0; i < ARRAY_SIZE(clocks); i++) {
    json_t *o = json_object_get(offs, clocks[i]);
    if (!o) continue;
    char text[96];
    int n = snprintf(text, sizeof(text), "%s %lld %lld\n", clocks[i], (long long)json_integer_value(json_object_get(o, "secs")),
                     (long long)json_integer_value(json_object_get(o, "nanosecs")));
    _cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, (size_t)n) != n) return berr_sys(err, errno, "linux.timeOffsets: set %s", clocks[i]);
  }
  return 0;
}

static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* a mount namespace joined by path is set up like a new one, except the runtime's own (or none at
 * all): then the mounts are made in the host's namespace and undone by delete */
static int plan_mntns(struct rt_container *c, bool listed, const char *path, struct berth_error **err) {
  json_t *lx = json_object_get(c->spec, "linux");
  if (!listed || (path && *path && same_file(path, "/proc/self/ns/mnt"))) c->mnt_mode = RT_MNT_HOST;
  else c->mnt_mode = path && *path ? RT_MNT_JOINED : RT_MNT_NEW;
  if (c->mnt_mode != RT_MNT_HOST) return 0;
  if (json_array_size(json_object_get(lx, "maskedPaths")) || json_array_size(json_object_get(lx, "readonlyPaths")))
    return berr(err, EINVAL, "linux.maskedPaths and linux.readonlyPaths need a private mount namespace");
  if (json_is_true(json_object_get(json_object_get(c->spec, "root"), "readonly")))
    return berr(err, EINVAL, "root.readonly needs a private mount namespace");
  return 0;
}

/* namespaces to create with clone; joined ones (with a path) are entered by the init, except
 * pid and time, which only take effect for children and so are entered here before the fork */
static int plan_namespaces(struct rt_container *c, struct berth_error **err) {
  json_t *nss = json_object_get(json_object_get(c->spec, "linux"), "namespaces"), *ns;
  const char *mnt_path = NULL;
  bool mnt_listed = false, time_listed = false;
  size_t i;
  json_array_foreach(nss, i, ns) {
    const char *type = json_string_value(json_object_get(ns, "type"));
    const char *path = json_string_value(json_object_get(ns, "path"));
    int flag = oci_namespace_clone_flag(type), r;
    if (flag == CLONE_NEWUSER) c->userns = true;
    if (flag == CLONE_NEWNS) mnt_listed = true, mnt_path = path;
    if (flag == CLONE_NEWTIME) {
      time_listed = true;
      if ((r = plan_timens(c, path, err)) < 0) return r;
      continue;
    }
    if (!path || !*path) {
      c->clone_flags |= flag;
      continue;
    }
    if (flag != CLONE_NEWPID) continue;
    if ((c->own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0)
      return berr_sys(err, errno, "open /proc/self/ns/pid");
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return berr_sys(err, errno, "open pid namespace \"%s\"", path);
    if (setns(fd, CLONE_NEWPID) < 0) return berr_sys(err, errno, "join pid namespace \"%s\"", path);
  }
  if (!time_listed && json_object_size(json_object_get(json_object_get(c->spec, "linux"), "timeOffsets")))
    return berr(err, EINVAL, "linux.timeOffsets needs a time namespace in linux.namespaces");
  return plan_mntns(c, mnt_listed, mnt_path, err);
}

static int write_idmap(pid_t pid, const char *file, json_t *maps, struct berth_error **err) {
  char path[64];
  char line[128];
  char text[4096] = "";
  size_t i, len = 0;
  json_t *m;
  json_array_foreach(maps, i, m) {
    int n = snprintf(line, sizeof(line), "%lld %lld %lld\n",
                     (long long)json_integer_value(json_object_get(m, "containerID")),
                     (long long)json_integer_value(json_object_get(m, "hostID")),
                     (long long)json_integer_value(json_object_get(m, "size")));
    if (len + (size_t)n >= sizeof(text)) return berr(err, E2BIG, "too many %s entries", file);
    memcpy(text + len, line, (size_t)n + 1);
    len += (size_t)n;
  }
  if (len == 0) return berr(err, EINVAL, "a user namespace needs linux.uidMappings and linux.gidMappings");
  snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write_all(fd, text, len) < 0) return berr_sys(err, errno, "write %s", file);
  return 0;
}

/* after the fork, before the init goes on: id maps and cgroups, which need the parent's rights */
static int parent_setup(struct rt_container *c, pid_t pid, struct berth_error **err) {
  json_t *lx = json_object_get(c->spec, "linux");
  int r = 0;
  if (c->userns && (c->clone_flags & CLONE_NEWUSER)) {
    r = write_idmap(pid, "uid_map", json_object_get(lx, "uidMappings"), err);
    if (r == 0) r = write_idmap(pid, "gid_map", json_object_get(lx, "gidMappings"), err);
    if (r < 0) return r;
  }
  const char *cg = json_string_value(json_object_get(lx, "cgroupsPath"));
  if (cg && *cg) r = rt_cgroup_create(cg, lx, err);
  return r;
}

/* back to our own pid and time namespaces for any later child (hooks among them) */
static void restore_namespaces(struct rt_container *c) {
  if (c->own_pidns >= 0) {
    setns(c->own_pidns, CLONE_NEWPID);
    close(c->own_pidns);
    c->own_pidns = -1;
  }
  if (c->own_timens >= 0) {
    setns(c->own_timens, CLONE_NEWTIME);
    close(c->own_timens);
    c->own_timens = -1;
  }
}

/* the init's mounts are made: prestart (deprecated, same time) and createRuntime run here, in
 * the runtime's namespaces, while the init waits */
static int run_prestart_hooks(struct rt_container *c, int sync_fd, struct berth_error **err) {
  json_t *hooks = json_object_get(c->spec, "hooks");
  if (!rt_hooks_any(hooks, "prestart") && !rt_hooks_any(hooks, "createRuntime")) return 0;
  int r = rt_sync_wait(sync_fd, SYNC_HOOKS, err);
  if (r < 0) return r;
  _cleanup_json_ json_t *st = rt_hook_state(c->id, c->pid, "created", c->bundle, json_object_get(c->spec, "annotations"));
  r = rt_hooks_run(hooks, "prestart", st, false, err);
  if (r == 0) {
    json_object_set_new(st, "status", json_string("creating"));
    r = rt_hooks_run(hooks, "createRuntime", st, false, err);
  }
  if (r == 0 && (r = rt_sync_send(sync_fd, SYNC_HOOKS_DONE, 0, NULL)) < 0)
    r = berr_sys(err, -r, "sync with the container init");
  return r;
}

static int spawn_init(struct rt_container *c, pid_t *out, struct berth_error **err) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return berr_sys(err, errno, "socketpair");
  _cleanup_close_ int parent_fd = sv[0];
  /* a raw clone with no stack behaves like fork, with the new namespaces made atomically */
  /* a new cgroup namespace is made by the init once it is in its cgroup (setup_all), so that the
   * namespace's root is the container's cgroup, not the one create runs in */
  unsigned long flags = (unsigned long)c->clone_flags & ~(unsigned long)CLONE_NEWCGROUP;
  pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
  if (pid < 0) {
    close(sv[1]);
    return berr_sys(err, errno, "clone the container init");
  }
  if (pid == 0) {
    close(sv[0]);
    c->sync_fd = sv[1];
    rt_init_main(c);
  }
  close(sv[1]);
  restore_namespaces(c);
  c->pid = pid;
  int r = parent_setup(c, pid, err);
  if (r == 0) {
    r = rt_sync_send(parent_fd, SYNC_GO, (int)pid, NULL);
    if (r < 0) r = berr_sys(err, -r, "sync with the container init");
  }
  if (r == 0) r = run_prestart_hooks(c, parent_fd, err);
  if (r == 0) r = rt_sync_wait(parent_fd, SYNC_READY, err);
  if (r < 0) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return r;
  }
  *out = pid;
  return 0;
}

int rt_connect_console(const char *path, struct berth_error **err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) return berr(err, ENAMETOOLONG, "console socket path \"%s\" is too long", path);
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return berr_sys(err, errno, "socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int e = errno;
    close(fd);
    return berr_sys(err, e, "connect to console socket \"%s\"", path);
  }
  return fd;
}

static int write_pid_file(const char *path, pid_t pid, struct berth_error **err) {
  char text[32];
  int n = snprintf(text, sizeof(text), "%d", (int)pid);
  return write_file_atomic(path, text, (size_t)n, 0644, 0, err);
}

/* a failed create leaves no process, cgroup or mount behind (the caller removes the state dir) */
static void undo_create(struct rt_container *c, pid_t pid) {
  if (pid > 0) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  }
  restore_namespaces(c);
  if (c->mnt_mode == RT_MNT_HOST) rt_umount_under(c->rootfs, NULL);
  const char *cg = json_string_value(json_object_get(json_object_get(c->spec, "linux"), "cgroupsPath"));
  if (cg && *cg) rt_cgroup_destroy(cg, NULL);
}

/* everything after the state directory exists; on failure the caller removes it */
static int create_in_dir(const struct rt_opts *o, const struct rt_create_opts *co, struct rt_container *c,
                         pid_t *pid, struct berth_error **err) {
  _cleanup_free_ char *fifo = path_join(c->statedir, "exec.fifo");
  if (mkfifo(fifo, 0622) < 0 || chmod(fifo, 0622) < 0) return berr_sys(err, errno, "mkfifo \"%s\"", fifo);
  _cleanup_close_ int fifo_fd = open(fifo, O_PATH | O_CLOEXEC);
  if (fifo_fd < 0) return berr_sys(err, errno, "open \"%s\"", fifo);
  c->fifo_fd = fifo_fd;
  bool terminal = json_is_true(json_object_get(json_object_get(c->spec, "process"), "terminal"));
  _cleanup_close_ int console = -1;
  if (terminal && !co->console_socket)
    return berr(err, EINVAL, "process.terminal needs --console-socket (a terminal cannot be held by the runtime)");
  if (terminal && (console = rt_connect_console(co->console_socket, err)) < 0) return console;
  c->console_fd = console;
  int r = plan_namespaces(c, err);
  json_t *sc = json_object_get(json_object_get(c->spec, "linux"), "seccomp");
  _cleanup_free_ char *cache = path_join(o->root, ".seccomp");
  if (r == 0 && sc) r = rt_seccomp_prepare(sc, cache, &c->seccomp, err);
  if (r == 0) r = spawn_init(c, pid, err);
  rt_seccomp_free(take_ptr(&c->seccomp));
  if (r < 0) {
    undo_create(c, 0);
    return r;
  }
  char created[64];
  time_now_rfc3339nano(created, sizeof(created));
  json_t *lx = json_object_get(c->spec, "linux");
  struct rt_state st = {
      .id = (char *)co->id, .pid = *pid, .start_time = rt_proc_start_time(*pid), .bundle = c->bundle,
      .rootfs = c->rootfs, .created = created,
      .cgroup_path = (char *)json_string_value(json_object_get(lx, "cgroupsPath")),
      .annotations = json_object_get(c->spec, "annotations"), .hooks = json_object_get(c->spec, "hooks"),
      .host_mounts = c->mnt_mode == RT_MNT_HOST,
  };
  r = rt_state_save(o, &st, err);
  if (r == 0 && co->pid_file) r = write_pid_file(co->pid_file, *pid, err);
  if (r < 0) undo_create(c, *pid);
  return r;
}

int rt_create(const struct rt_opts *o, const struct rt_create_opts *co, pid_t *pid, struct berth_error **err) {
  int r = rt_valid_id(co->id, err);
  if (r < 0) return r;
  _cleanup_free_ char *bundle = realpath(co->bundle ? co->bundle : ".", NULL);
  if (!bundle) return berr_sys(err, errno, "bundle \"%s\"", co->bundle ? co->bundle : ".");
  _cleanup_json_ json_t *spec = NULL;
  r = load_config(bundle, &spec, err);
  if (r < 0) return r;
  const char *rp = json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
  _cleanup_free_ char *joined = rp[0] == '/' ? xstrdup(rp) : path_join(bundle, rp);
  _cleanup_free_ char *rootfs = realpath(joined, NULL);
  if (!rootfs) return berr_sys(err, errno, "root.path \"%s\"", joined);
  r = mkdir_p(o->root, 0711, err);
  if (r < 0) return r;
  _cleanup_free_ char *statedir = rt_statedir(o, co->id);
  if (mkdir(statedir, 0711) < 0) {
    if (errno == EEXIST) return berr(err, EEXIST, "container \"%s\" already exists", co->id);
    return berr_sys(err, errno, "mkdir \"%s\"", statedir);
  }
  struct rt_container c = {.id = co->id, .bundle = bundle, .rootfs = rootfs, .statedir = statedir,
                           .spec = spec, .sync_fd = -1, .fifo_fd = -1, .console_fd = -1, .own_pidns = -1,
                           .own_timens = -1};
  r = create_in_dir(o, co, &c, pid, err);
  if (r < 0) rm_rf(statedir, NULL);
  return r;
}
