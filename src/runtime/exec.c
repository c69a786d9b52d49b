/* exec.c - exec: run another process inside a running container's namespaces and cgroups */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

/* the init's namespaces we are not already in; user first, as it owns the others */
static const struct {
  const char *name;
  int flag;
} exec_ns[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}, {"mnt", CLONE_NEWNS},
};

struct ns_fds {
  int fd[ARRAY_SIZE(exec_ns)];
  int own_pid; /* our active pid namespace, to go back to once the child is forked */
};

static bool same_ns(pid_t pid, const char *name) {
  char a[64], b[64], la[64] = "", lb[64] = "";
  snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, name);
  snprintf(b, sizeof(b), "/proc/self/ns/%s", name);
  return readlink(a, la, sizeof(la) - 1) > 0 && readlink(b, lb, sizeof(lb) - 1) > 0 && strcmp(la, lb) == 0;
}

static int open_ns(pid_t pid, struct ns_fds *n, bool *userns, struct berth_error **err) {
  for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++) {
    n->fd[i] = -1;
    if (same_ns(pid, exec_ns[i].name)) continue;
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, exec_ns[i].name);
    n->fd[i] = open(p, O_RDONLY | O_CLOEXEC);
    if (n->fd[i] < 0 && errno != ENOENT) return berr_sys(err, errno, "open %s", p);
    if (n->fd[i] >= 0 && exec_ns[i].flag == CLONE_NEWUSER) *userns = true;
  }
  /* the pid namespace applies to children: enter it here, before the fork */
  if (same_ns(pid, "pid")) return 0;
  if ((n->own_pid = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0) return berr_sys(err, errno, "open /proc/self/ns/pid");
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)pid);
  _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWPID) < 0) return berr_sys(err, errno, "join the pid namespace of %d", (int)pid);
  return 0;
}

static int child_setup(struct rt_container *c, struct ns_fds *n, char **path, char ***envp, struct berth_error **err) {
  int r = rt_sync_wait(c->sync_fd, SYNC_GO, err);
  if (r == 0 && c->cgroup_path) r = rt_cgroup_join_self(c->cgroup_path, err);
  if (r < 0) return r;
  for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++)
    if (n->fd[i] >= 0 && setns(n->fd[i], exec_ns[i].flag) < 0)
      return berr_sys(err, errno, "join the container's %s namespace", exec_ns[i].name);
  if (c->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
    return berr_sys(err, errno, "become root in the user namespace");
  if ((r = rt_setup_process_early(c, err)) < 0 || (r = rt_setup_console(c, err)) < 0) return r;
  if ((r = rt_prepare_exec(c, path, envp, err)) < 0) return r;
  if ((r = rt_lsm_apply(json_object_get(c->spec, "process"), err)) < 0) return r;
  bool nnp = json_is_true(json_object_get(json_object_get(c->spec, "process"), "noNewPrivileges"));
  if (c->seccomp && !nnp && (r = rt_seccomp_load(c->seccomp, err)) < 0) return r;
  if ((r = rt_setup_identity(c, err)) < 0) return r;
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return berr_sys(err, errno, "set no_new_privs");
  if (c->seccomp && nnp) r = rt_seccomp_load(c->seccomp, err);
  return r;
}

/* the exec'd process: errors go home over the sync socket; a successful exec closes it (CLOEXEC) */
__attribute__((noreturn)) static void exec_child(struct rt_container *c, struct ns_fds *n) {
  struct berth_error *err = NULL;
  char *path = NULL, **envp = NULL, **argv = NULL;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  umask(0);
  if (child_setup(c, n, &path, &envp, &err) < 0) {
    rt_sync_send(c->sync_fd, SYNC_ERROR, err ? err->code : EIO, berr_msg(err));
    _exit(1);
  }
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(json_object_get(c->spec, "process"), "args"), i, a)
      argv = strv_push(argv, json_string_value(a));
  execve(path, argv, envp);
  int e = errno;
  _cleanup_free_ char *msg = xasprintf("exec \"%s\": %s", path, strerror(e));
  rt_sync_send(c->sync_fd, SYNC_ERROR, e, msg);
  _exit(127);
}

/* wait for exec: EOF means the child's exec closed its end; an SYNC_ERROR packet is its failure */
static int wait_exec(int fd, struct berth_error **err) {
  int r = rt_sync_wait(fd, SYNC_READY, err);
  if (r == -ECHILD) { /* EOF: the exec succeeded */
    berr_clear(err);
    return 0;
  }
  return r;
}

static int spawn_exec(struct rt_container *c, struct ns_fds *n, pid_t *out,
                      struct berth_error **err) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return berr_sys(err, errno, "socketpair");
  _cleanup_close_ int parent_fd = sv[0];
  pid_t pid = fork();
  if (pid < 0) {
    close(sv[1]);
    return berr_sys(err, errno, "fork");
  }
  if (pid == 0) {
    close(sv[0]);
    c->sync_fd = sv[1];
    exec_child(c, n);
  }
  close(sv[1]);
  /* later children of ours (none now, but a sanitizer's tracer thread) stay in our pid namespace */
  if (n->own_pid >= 0) setns(n->own_pid, CLONE_NEWPID);
  int r = rt_sync_send(parent_fd, SYNC_GO, 0, NULL);
  if (r < 0) r = berr_sys(err, -r, "sync with the exec process");
  if (r == 0) r = wait_exec(parent_fd, err);
  if (r < 0) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return r;
  }
  *out = pid;
  return 0;
}

/* runc's --cap: bounding, effective, permitted; ambient too when the process has inheritable caps */
static void add_caps(json_t *p, char **caps) {
  static const char *const sets[] = {"bounding", "effective", "permitted", "ambient"};
  if (!caps || !*caps) return;
  json_t *c = json_object_get(p, "capabilities");
  if (!c) json_object_set_new(p, "capabilities", c = json_object());
  bool ambient = json_array_size(json_object_get(c, "inheritable")) > 0;
  for (size_t s = 0; s < ARRAY_SIZE(sets) - (ambient ? 0 : 1); s++) {
    json_t *a = json_object_get(c, sets[s]);
    if (!a) json_object_set_new(c, sets[s], a = json_array());
    for (char **k = caps; *k; k++) json_array_append_new(a, json_string(*k));
  }
}

/* process.json as given, or the container's process with args, env, cwd, user and tty replaced */
static json_t *exec_process(json_t *config, const struct rt_exec_opts *x, struct berth_error **err) {
  if (x->process_file) {
    json_error_t jerr;
    json_t *p = json_load_file(x->process_file, 0, &jerr);
    if (!p) berr(err, EINVAL, "load \"%s\": %s", x->process_file, jerr.text);
    return p;
  }
  json_t *p = json_deep_copy(json_object_get(config, "process"));
  if (!p) p = json_object();
  json_t *args = json_array(), *env = json_object_get(p, "env");
  for (char **a = x->args; a && *a; a++) json_array_append_new(args, json_string(*a));
  json_object_set_new(p, "args", args);
  if (!env) json_object_set_new(p, "env", env = json_array());
  for (char **e = x->env; e && *e; e++) json_array_append_new(env, json_string(*e));
  if (x->cwd) json_object_set_new(p, "cwd", json_string(x->cwd));
  json_object_set_new(p, "terminal", json_boolean(x->tty));
  add_caps(p, x->caps);
  if (x->user) {
    unsigned uid = 0, gid = 0;
    int k = sscanf(x->user, "%u:%u", &uid, &gid);
    if (k < 1) {
      json_decref(p);
      berr(err, EINVAL, "--user \"%s\": want UID[:GID]", x->user);
      return NULL;
    }
    json_object_set_new(p, "user", json_pack("{s:i, s:i}", "uid", (int)uid, "gid", k == 2 ? (int)gid : 0));
  }
  return p;
}

static int load_bundle_config(const char *bundle, json_t **out, struct berth_error **err) {
  _cleanup_free_ char *path = path_join(bundle, "config.json");
  json_error_t jerr;
  *out = json_load_file(path, 0, &jerr);
  if (!*out) return berr(err, EIO, "load \"%s\": %s", path, jerr.text);
  return 0;
}

int rt_exec(const struct rt_opts *o, const struct rt_exec_opts *x, pid_t *pid, struct berth_error **err) {
  struct rt_state st;
  int r = rt_state_load(o, x->id, &st, err);
  if (r < 0) return r;
  _cleanup_json_ json_t *config = NULL, *spec = json_object();
  struct ns_fds n = {.own_pid = -1};
  for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++) n.fd[i] = -1;
  struct rt_container c = {.id = x->id, .sync_fd = -1, .fifo_fd = -1, .console_fd = -1, .spec = spec,
                           .cgroup_path = st.cgroup_path, .own_pidns = -1, .own_timens = -1};
  if (rt_state_status(o, &st) != RT_RUNNING) r = berr(err, EINVAL, "cannot exec in a container that is not running");
  if (r == 0) r = load_bundle_config(st.bundle, &config, err);
  json_t *proc = r == 0 ? exec_process(config, x, err) : NULL;
  if (r == 0 && !proc) r = -EINVAL;
  if (r == 0) {
    json_object_set_new(spec, "process", proc);
    json_t *sp = json_pack("{s:s, s:{s:s}, s:o}", "ociVersion", OCI_VERSION, "root", "path", "/", "process", json_incref(proc));
    r = oci_spec_validate(sp, err);
    json_decref(sp);
  }
  json_t *sc = json_object_get(json_object_get(config, "linux"), "seccomp");
  _cleanup_free_ char *cache = path_join(o->root, ".seccomp");
  if (r == 0 && sc) r = rt_seccomp_prepare(sc, cache, &c.seccomp, err);
  bool tty = json_is_true(json_object_get(proc, "terminal"));
  if (r == 0 && tty && !x->console_socket) r = berr(err, EINVAL, "a terminal needs --console-socket");
  if (r == 0 && tty && (c.console_fd = rt_connect_console(x->console_socket, err)) < 0) r = c.console_fd;
  if (r == 0) r = open_ns(st.pid, &n, &c.userns, err);
  if (r == 0) r = spawn_exec(&c, &n, pid, err);
  for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++)
    if (n.fd[i] >= 0) close(n.fd[i]);
  if (n.own_pid >= 0) close(n.own_pid);
  if (c.console_fd >= 0) close(c.console_fd);
  rt_seccomp_free(c.seccomp);
  rt_state_clear(&st);
  if (r == 0 && x->pid_file) {
    char text[32];
    int len = snprintf(text, sizeof(text), "%d", (int)*pid);
    r = write_file_atomic(x->pid_file, text, (size_t)len, 0644, 0, err);
  }
  return r;
}
