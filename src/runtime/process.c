/* process.c - the container process: hostname, rlimits, console, cwd, env, user and capabilities */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int set_rlimits(json_t *rlimits, struct berth_error **err) {
  size_t i;
  json_t *v;
  json_array_foreach(rlimits, i, v) {
    const char *type = json_string_value(json_object_get(v, "type"));
    struct rlimit rl = {.rlim_cur = (rlim_t)json_integer_value(json_object_get(v, "soft")),
                        .rlim_max = (rlim_t)json_integer_value(json_object_get(v, "hard"))};
    if (setrlimit(oci_rlimit_resource(type), &rl) < 0)
      return berr_sys(err, errno, "process.rlimits[%zu]: set %s to soft %llu hard %llu", i, type,
                      (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
  }
  return 0;
}

/* linux.personality: the execution domain the process runs in (it survives execve) */
static int set_personality(json_t *pers, struct berth_error **err) {
  static const struct { const char *name; unsigned long dom; } domains[] = {{"LINUX", PER_LINUX}, {"LINUX32", PER_LINUX32}};
  if (!pers) return 0;
  const char *d = json_string_value(json_object_get(pers, "domain"));
  if (json_array_size(json_object_get(pers, "flags")))
    return berr(err, ENOTSUP, "linux.personality.flags are not supported yet");
  for (size_t i = 0; d && i < ARRAY_SIZE(domains); i++) {
    if (strcmp(d, domains[i].name) != 0) continue;
    if (personality(domains[i].dom) < 0) return berr_sys(err, errno, "linux.personality: set domain %s", d);
    return 0;
  }
  return berr(err, EINVAL, "linux.personality.domain \"%s\" is not LINUX or LINUX32", d ? d : "");
}

/* process.ioPriority: ioprio_set(2) for the process (its children inherit it) */
static int set_io_priority(json_t *io, struct berth_error **err) {
  static const struct { const char *name; int cls; } classes[] = {
      {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};
  if (!io) return 0;
  const char *cls = json_string_value(json_object_get(io, "class"));
  json_int_t prio = json_integer_value(json_object_get(io, "priority"));
  if (prio < 0 || prio > 7) return berr(err, EINVAL, "process.ioPriority.priority %lld is not 0 to 7", (long long)prio);
  for (size_t i = 0; cls && i < ARRAY_SIZE(classes); i++) {
    if (strcmp(cls, classes[i].name) != 0) continue;
    if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (classes[i].cls << 13) | (int)prio) < 0)
      return berr_sys(err, errno, "process.ioPriority: set %s %lld", cls, (long long)prio);
    return 0;
  }
  return berr(err, EINVAL, "process.ioPriority.class \"%s\" is not IOPRIO_CLASS_RT, _BE or _IDLE", cls ? cls : "");
}

int rt_setup_process_early(struct rt_container *c, struct berth_error **err) {
  json_t *proc = json_object_get(c->spec, "process");
  const char *hostname = json_string_value(json_object_get(c->spec, "hostname"));
  const char *domain = json_string_value(json_object_get(c->spec, "domainname"));
  bool uts = (c->clone_flags & CLONE_NEWUTS) != 0;
  if ((hostname && *hostname) || (domain && *domain)) {
    if (!uts) {
      json_t *nss = json_object_get(json_object_get(c->spec, "linux"), "namespaces"), *ns;
      size_t i;
      json_array_foreach(nss, i, ns) if (strcmp(json_string_value(json_object_get(ns, "type")), "uts") == 0) uts = true;
    }
    if (!uts) return berr(err, EINVAL, "cannot set the hostname without a private UTS namespace");
    if (hostname && *hostname && sethostname(hostname, strlen(hostname)) < 0)
      return berr_sys(err, errno, "set hostname \"%s\"", hostname);
    if (domain && *domain && setdomainname(domain, strlen(domain)) < 0)
      return berr_sys(err, errno, "set domain name \"%s\"", domain);
  }
  json_t *oom = json_object_get(proc, "oomScoreAdj");
  if (json_is_integer(oom)) {
    char text[32];
    int n = snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(oom));
    _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, text, (size_t)n) < 0) return berr_sys(err, errno, "process.oomScoreAdj: set %s", text);
  }
  int r = set_rlimits(json_object_get(proc, "rlimits"), err);
  if (r == 0) r = set_io_priority(json_object_get(proc, "ioPriority"), err);
  if (r == 0) r = set_personality(json_object_get(json_object_get(c->spec, "linux"), "personality"), err);
  return r;
}

static int send_fd(int sock, int fd, struct berth_error **err) {
  char data = '\0';
  struct iovec iov = {.iov_base = &data, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) return berr_sys(err, errno, "send the console to --console-socket");
  return 0;
}

/* the pty is opened inside the container (its devpts), the slave becomes the init's stdio and
 * controlling terminal, and the master goes to whoever listens on --console-socket */
int rt_setup_console(struct rt_container *c, struct berth_error **err) {
  if (c->console_fd < 0) return 0;
  json_t *proc = json_object_get(c->spec, "process");
  _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return berr_sys(err, errno, "open /dev/ptmx in the container");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) return berr_sys(err, errno, "unlock pty");
  _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) return berr_sys(err, errno, "open pty slave");
  json_t *size = json_object_get(proc, "consoleSize");
  if (size) {
    struct winsize ws = {.ws_row = (unsigned short)json_integer_value(json_object_get(size, "height")),
                         .ws_col = (unsigned short)json_integer_value(json_object_get(size, "width"))};
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  json_t *user = json_object_get(proc, "user");
  if (fchown(slave, (uid_t)json_integer_value(json_object_get(user, "uid")), (gid_t)-1) < 0)
    return berr_sys(err, errno, "chown pty slave");
  if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) return berr_sys(err, errno, "make the pty the controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) return berr_sys(err, errno, "dup2 pty slave");
  int r = send_fd(c->console_fd, master, err);
  close(c->console_fd);
  c->console_fd = -1;
  return r;
}

int rt_find_executable(const char *name, const char *path_env, char **out, struct berth_error **err) {
  struct stat st;
  if (strchr(name, '/')) {
    /* runc's wording (Go's lower-case errors): docker's clients map "no such file or directory" to 127 */
    if (stat(name, &st) < 0 && errno == ENOENT)
      return berr(err, ENOENT, "exec: \"%s\": stat %s: no such file or directory", name, name);
    if (stat(name, &st) < 0) return berr_sys(err, errno, "exec: \"%s\"", name);
    if (S_ISDIR(st.st_mode) || access(name, X_OK) < 0) return berr(err, EACCES, "exec: \"%s\": permission denied", name);
    *out = xstrdup(name);
    return 0;
  }
  _cleanup_free_ char *copy = xstrdup(path_env ? path_env : DEFAULT_PATH);
  char *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    _cleanup_free_ char *p = path_join(*dir ? dir : ".", name);
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) {
      *out = take_ptr(&p);
      return 0;
    }
  }
  return berr(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

/* HOME from the container's /etc/passwd when the spec does not set it, as runc does */
static char *home_of(uid_t uid) {
  _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
  char line[1024];
  while (f && fgets(line, sizeof(line), f)) {
    char *fields[7] = {0};
    char *save = NULL, *p = line;
    int n = 0;
    for (char *t; n < 7 && (t = strsep(&p, ":")); n++) fields[n] = t;
    if (n >= 6 && fields[2] && (uid_t)strtoul(fields[2], NULL, 10) == uid && *fields[5]) return xstrdup(fields[5]);
    (void)save;
  }
  return xstrdup("/");
}

int rt_prepare_exec(struct rt_container *c, char **path, char ***envp, struct berth_error **err) {
  json_t *proc = json_object_get(c->spec, "process"), *v;
  const char *cwd = json_string_value(json_object_get(proc, "cwd"));
  if (chdir(cwd) < 0) {
    _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int fd = rt_open_in_root(root, cwd, true, false, err);
    if (fd < 0) return berr_prefix(err, "process.cwd");
    if (fchdir(fd) < 0) return berr_sys(err, errno, "chdir to cwd \"%s\"", cwd);
  }
  char **env = NULL;
  const char *path_env = NULL;
  bool has_home = false;
  size_t i;
  json_array_foreach(json_object_get(proc, "env"), i, v) {
    const char *e = json_string_value(v);
    if (strncmp(e, "PATH=", 5) == 0) path_env = e + 5;
    if (strncmp(e, "HOME=", 5) == 0) has_home = true;
    env = strv_push(env, e);
  }
  if (!has_home) {
    _cleanup_free_ char *home = home_of((uid_t)json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")));
    env = strv_push_take(env, xasprintf("HOME=%s", home));
  }
  const char *arg0 = json_string_value(json_array_get(json_object_get(proc, "args"), 0));
  int r = rt_find_executable(arg0, path_env, path, err);
  if (r < 0) {
    strv_free(env);
    return r;
  }
  *envp = env;
  return 0;
}

static int cap_list(json_t *caps, const char *set, cap_value_t *out, int *n, struct berth_error **err) {
  size_t i;
  json_t *v;
  *n = 0;
  json_array_foreach(json_object_get(caps, set), i, v) {
    cap_value_t cv;
    if (cap_from_name(json_string_value(v), &cv) < 0)
      return berr(err, EINVAL, "unknown capability \"%s\"", json_string_value(v));
    if (cv <= (cap_value_t)cap_max_bits() - 1 && *n < 64) out[(*n)++] = cv; /* unknown to this kernel: skipped */
  }
  return 0;
}

static int apply_caps(json_t *caps, struct berth_error **err) {
  cap_value_t list[64];
  int n, r = cap_list(caps, "bounding", list, &n, err);
  if (r < 0) return r;
  for (cap_value_t cv = 0; cv < (cap_value_t)cap_max_bits(); cv++) {
    bool keep = false;
    for (int k = 0; k < n; k++) keep |= list[k] == cv;
    if (!keep && prctl(PR_CAPBSET_DROP, cv, 0, 0, 0) < 0 && errno != EINVAL)
      return berr_sys(err, errno, "drop capability %d from the bounding set", cv);
  }
  return 0;
}

/* capset refused: name a capability asked for that we do not hold ourselves (the runtime's own
 * bounding set lacks it, so no process started here can have it) */
static int caps_refused(cap_t want, int e, struct berth_error **err) {
  cap_t have = cap_get_proc();
  for (cap_value_t cv = 0; have && e == EPERM && cv < (cap_value_t)cap_max_bits(); cv++) {
    cap_flag_value_t w = CAP_CLEAR, h = CAP_CLEAR;
    cap_get_flag(want, cv, CAP_PERMITTED, &w);
    cap_get_flag(have, cv, CAP_PERMITTED, &h);
    if (w != CAP_SET || h == CAP_SET) continue;
    char *name = cap_to_name(cv);
    for (char *p = name; p && *p; p++) *p = (char)toupper((unsigned char)*p); /* OCI spells CAP_X */
    int r = berr(err, EPERM, "process.capabilities: %s is not held by the runtime (not in its bounding set), so it cannot be granted",
                 name ? name : "?");
    cap_free(name);
    cap_free(have);
    return r;
  }
  if (have) cap_free(have);
  return berr_sys(err, e, "set capabilities");
}

static int set_caps(json_t *caps, struct berth_error **err) {
  static const struct { const char *set; cap_flag_t flag; } sets[] = {
      {"effective", CAP_EFFECTIVE}, {"permitted", CAP_PERMITTED}, {"inheritable", CAP_INHERITABLE}};
  cap_t c = cap_init();
  cap_value_t list[64];
  int n, r = 0;
  for (size_t s = 0; s < ARRAY_SIZE(sets) && r == 0; s++)
    if ((r = cap_list(caps, sets[s].set, list, &n, err)) == 0 && n) cap_set_flag(c, sets[s].flag, n, list, CAP_SET);
  if (r == 0 && cap_set_proc(c) < 0) r = caps_refused(c, errno, err);
  cap_free(c);
  if (r == 0) r = cap_list(caps, "ambient", list, &n, err);
  /* the kernel raises an ambient capability only when it is also permitted and inheritable;
   * like runc and crun, one it refuses (EPERM) is left out rather than failing the container
   * (runc's own `spec` lists ambient capabilities with no inheritable set) */
  for (int k = 0; r == 0 && k < n; k++)
    if (cap_set_ambient(list[k], CAP_SET) < 0 && errno != EPERM)
      r = berr_sys(err, errno, "raise ambient capability %d", list[k]);
  return r;
}

int rt_setup_identity(struct rt_container *c, struct berth_error **err) {
  json_t *proc = json_object_get(c->spec, "process");
  json_t *user = json_object_get(proc, "user"), *caps = json_object_get(proc, "capabilities"), *v;
  uid_t uid = (uid_t)json_integer_value(json_object_get(user, "uid"));
  gid_t gid = (gid_t)json_integer_value(json_object_get(user, "gid"));
  gid_t groups[256];
  size_t i, ng = 0;
  int r = caps ? apply_caps(caps, err) : 0;
  if (r < 0) return r;
  json_array_foreach(json_object_get(user, "additionalGids"), i, v) if (ng < 256) groups[ng++] = (gid_t)json_integer_value(v);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return berr_sys(err, errno, "keep capabilities");
  if (setgroups(ng, groups) < 0 && !(c->userns && errno == EPERM)) return berr_sys(err, errno, "setgroups");
  if (setresgid(gid, gid, gid) < 0) return berr_sys(err, errno, "set gid %u", gid);
  if (setresuid(uid, uid, uid) < 0) return berr_sys(err, errno, "set uid %u", uid);
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (caps && (r = set_caps(caps, err)) < 0) return r;
  json_t *um = json_object_get(user, "umask");
  umask(json_is_integer(um) ? (mode_t)json_integer_value(um) : 022);
  return 0;
}
