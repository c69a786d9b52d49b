/* create.c - the parent side of create: read the bundle, fork the init, sync, write the state */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    {NULL, "hooks"},           {"process", "apparmorProfile"}, {"process", "selinuxLabel"},
    {"linux", "mountLabel"},   {"linux", "intelRdt"},          {"linux", "personality"},
    {"linux", "timeOffsets"},  {"process", "ioPriority"},      {"process", "scheduler"},
};

static int check_supported(json_t *spec, struct berth_error **err) {
  for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
    json_t *obj = unsupported[i].parent ? json_object_get(spec, unsupported[i].parent) : spec;
    json_t *v = json_object_get(obj, unsupported[i].key);
    if (v && json_is_object(v) && !unsupported[i].parent) { /* hooks: {"prestart": []} asks for nothing */
      const char *k;
      json_t *a, *any = NULL;
      json_object_foreach(v, k, a) if (json_array_size(a)) any = a;
      if (!any) continue;
    }
    bool empty = !v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ||
                 ((json_is_object(v) || json_is_array(v)) && json_object_size(v) == 0 && json_array_size(v) == 0);
    if (!empty)
      return berr(err, ENOTSUP, "%s%s%s is not supported yet", unsupported[i].parent ? unsupported[i].parent : "",
                  unsupported[i].parent ? "." : "", unsupported[i].key);
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
  if (r < 0) {
    json_decref(spec);
    return berr_prefix(err, "%s", path);
  }
  *out = spec;
  return 0;
}

/* namespaces to create with clone; joined ones (with a path) are entered by the init, except
 * pid, which only takes effect for children and so is entered here before the fork */
static int plan_namespaces(struct rt_container *c, struct berth_error **err) {
  json_t *nss = json_object_get(json_object_get(c->spec, "linux"), "namespaces"), *ns;
  size_t i;
  json_array_foreach(nss, i, ns) {
    const char *type = json_string_value(json_object_get(ns, "type"));
    const char *path = json_string_value(json_object_get(ns, "path"));
    int flag = oci_namespace_clone_flag(type);
    if (flag == CLONE_NEWUSER) c->userns = true;
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
  return 0;
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
  if (c->own_pidns >= 0) { /* back to our own pid namespace for any later child */
    setns(c->own_pidns, CLONE_NEWPID);
    close(c->own_pidns);
    c->own_pidns = -1;
  }
  int r = parent_setup(c, pid, err);
  if (r == 0) {
    r = rt_sync_send(parent_fd, SYNC_GO, 0, NULL);
    if (r < 0) r = berr_sys(err, -r, "sync with the container init");
  }
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
  if (r < 0) return r;
  char created[64];
  time_now_rfc3339nano(created, sizeof(created));
  json_t *lx = json_object_get(c->spec, "linux");
  struct rt_state st = {
      .id = (char *)co->id, .pid = *pid, .start_time = rt_proc_start_time(*pid), .bundle = c->bundle,
      .rootfs = c->rootfs, .created = created,
      .cgroup_path = (char *)json_string_value(json_object_get(lx, "cgroupsPath")),
      .annotations = json_object_get(c->spec, "annotations"),
  };
  r = rt_state_save(o, &st, err);
  if (r == 0 && co->pid_file) r = write_pid_file(co->pid_file, *pid, err);
  if (r < 0) {
    kill(*pid, SIGKILL);
    while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR) {}
    if (st.cgroup_path) rt_cgroup_destroy(st.cgroup_path, NULL);
  }
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
                           .spec = spec, .sync_fd = -1, .fifo_fd = -1, .console_fd = -1, .own_pidns = -1};
  r = create_in_dir(o, co, &c, pid, err);
  if (r < 0) rm_rf(statedir, NULL);
  return r;
}
