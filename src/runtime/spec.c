/* spec.c - Docker's default OCI config.json and the checks the runtime makes before it forks */
#include "runtime/spec.h"
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include "common/xalloc.h"

/* Docker's default capability set (moby oci/caps/defaults.go) */
static const char *const default_caps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE",     "CAP_FSETID",     "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",          "CAP_SETUID",     "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",   "CAP_AUDIT_WRITE",
};

/* moby oci/defaults.go: paths hidden from containers and paths made read-only */
static const char *const masked_paths[] = {
    "/proc/asound",     "/proc/acpi",        "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static const struct {
  const char *dest, *type, *source, *opts;
} default_mounts[] = {
    {"/proc", "proc", "proc", "nosuid,noexec,nodev"},
    {"/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"},
    {"/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"},
    {"/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"},
    {"/sys/fs/cgroup", "cgroup", "cgroup", "ro,nosuid,noexec,nodev"},
    {"/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"},
    {"/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=64m"},
};

static const struct {
  const char *type;
  int flag;
} ns_types[] = {
    {"pid", CLONE_NEWPID},   {"network", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC},
    {"uts", CLONE_NEWUTS},   {"mount", CLONE_NEWNS},    {"user", CLONE_NEWUSER},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

static const struct {
  const char *name;
  int res;
} rlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

int oci_rlimit_resource(const char *name) {
  for (size_t i = 0; i < ARRAY_SIZE(rlimits); i++)
    if (strcmp(name, rlimits[i].name) == 0) return rlimits[i].res;
  return -1;
}

int oci_namespace_clone_flag(const char *type) {
  for (size_t i = 0; i < ARRAY_SIZE(ns_types); i++)
    if (strcmp(type, ns_types[i].type) == 0) return ns_types[i].flag;
  return 0;
}

static json_t *str_array(const char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *split_opts(const char *opts) {
  json_t *a = json_array();
  _cleanup_free_ char *copy = xstrdup(opts);
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
    json_array_append_new(a, json_string(t));
  return a;
}

static json_t *default_process(void) {
  json_t *caps = json_object();
  const char *sets[] = {"bounding", "effective", "permitted"};
  for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
    json_object_set_new(caps, sets[i], str_array(default_caps, ARRAY_SIZE(default_caps)));
  return json_pack("{s:b, s:{s:i, s:i}, s:[s], s:[s], s:s, s:o, s:b}", "terminal", 0, "user", "uid", 0,
                   "gid", 0, "args", "sh", "env",
                   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "cwd", "/",
                   "capabilities", caps, "noNewPrivileges", 0);
}

static json_t *default_linux(void) {
  static const char *const nss[] = {"pid", "network", "ipc", "uts", "mount"};
  json_t *ns = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(nss); i++) json_array_append_new(ns, json_pack("{s:s}", "type", nss[i]));
  return json_pack("{s:{s:[{s:b, s:s}]}, s:o, s:o, s:o}", "resources", "devices", "allow", 0, "access",
                   "rwm", "namespaces", ns, "maskedPaths", str_array(masked_paths, ARRAY_SIZE(masked_paths)),
                   "readonlyPaths", str_array(readonly_paths, ARRAY_SIZE(readonly_paths)));
}

json_t *oci_spec_default(void) {
  json_t *mounts = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++)
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", default_mounts[i].dest,
                                            "type", default_mounts[i].type, "source",
                                            default_mounts[i].source, "options",
                                            split_opts(default_mounts[i].opts)));
  return json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", OCI_VERSION, "process",
                   default_process(), "root", "path", "rootfs", "readonly", 0, "hostname", "berth",
                   "mounts", mounts, "linux", default_linux());
}

/* ---- validation: each check names the field, so the user knows what to fix ---- */

static int check_string_array(json_t *a, const char *field, bool nonempty, struct berth_error **err) {
  if (!a) return nonempty ? berr(err, EINVAL, "%s is required", field) : 0;
  if (!json_is_array(a)) return berr(err, EINVAL, "%s must be an array of strings", field);
  if (nonempty && json_array_size(a) == 0) return berr(err, EINVAL, "%s must not be empty", field);
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) if (!json_is_string(v))
      return berr(err, EINVAL, "%s[%zu] must be a string", field, i);
  return 0;
}

static int check_caps(json_t *caps, struct berth_error **err) {
  static const char *const sets[] = {"bounding", "effective", "permitted", "inheritable", "ambient"};
  if (!caps) return 0;
  if (!json_is_object(caps)) return berr(err, EINVAL, "process.capabilities must be an object");
  for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
    json_t *a = json_object_get(caps, sets[s]), *v;
    _cleanup_free_ char *field = xasprintf("process.capabilities.%s", sets[s]);
    int r = check_string_array(a, field, false, err);
    if (r < 0) return r;
    size_t i;
    json_array_foreach(a, i, v) {
      const char *n = json_string_value(v);
      if (strncmp(n, "CAP_", 4) != 0 || strlen(n) < 5 || strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") != strlen(n))
        return berr(err, EINVAL, "%s: unknown capability \"%s\"", field, n);
    }
  }
  return 0;
}

static int check_rlimits(json_t *rl, struct berth_error **err) {
  size_t i;
  json_t *v;
  if (!rl) return 0;
  if (!json_is_array(rl)) return berr(err, EINVAL, "process.rlimits must be an array");
  json_array_foreach(rl, i, v) {
    const char *type = json_string_value(json_object_get(v, "type"));
    if (!type || oci_rlimit_resource(type) < 0)
      return berr(err, EINVAL, "process.rlimits[%zu]: unknown rlimit type \"%s\"", i, type ? type : "");
    if (!json_is_integer(json_object_get(v, "hard")) || !json_is_integer(json_object_get(v, "soft")))
      return berr(err, EINVAL, "process.rlimits[%zu]: soft and hard must be integers", i);
  }
  return 0;
}

static int check_process(json_t *p, struct berth_error **err) {
  if (!json_is_object(p)) return berr(err, EINVAL, "process is required and must be an object");
  int r = check_string_array(json_object_get(p, "args"), "process.args", true, err);
  if (r == 0) r = check_string_array(json_object_get(p, "env"), "process.env", false, err);
  if (r < 0) return r;
  const char *cwd = json_string_value(json_object_get(p, "cwd"));
  if (!cwd || cwd[0] != '/') return berr(err, EINVAL, "process.cwd must be an absolute path");
  json_t *user = json_object_get(p, "user");
  if (user && (!json_is_object(user) || !json_is_integer(json_object_get(user, "uid")) ||
               !json_is_integer(json_object_get(user, "gid"))))
    return berr(err, EINVAL, "process.user must have integer uid and gid");
  r = check_caps(json_object_get(p, "capabilities"), err);
  if (r == 0) r = check_rlimits(json_object_get(p, "rlimits"), err);
  return r;
}

static int check_mounts(json_t *mounts, struct berth_error **err) {
  size_t i;
  json_t *m;
  if (!mounts) return 0;
  if (!json_is_array(mounts)) return berr(err, EINVAL, "mounts must be an array");
  json_array_foreach(mounts, i, m) {
    const char *dest = json_string_value(json_object_get(m, "destination"));
    if (!dest || dest[0] != '/') return berr(err, EINVAL, "mounts[%zu].destination must be an absolute path", i);
    json_t *type = json_object_get(m, "type"), *src = json_object_get(m, "source");
    if ((type && !json_is_string(type)) || (src && !json_is_string(src)))
      return berr(err, EINVAL, "mounts[%zu] (\"%s\"): type and source must be strings", i, dest);
    _cleanup_free_ char *field = xasprintf("mounts[%zu].options", i);
    int r = check_string_array(json_object_get(m, "options"), field, false, err);
    if (r < 0) return r;
  }
  return 0;
}

static int check_namespaces(json_t *nss, struct berth_error **err) {
  size_t i;
  json_t *ns;
  int seen = 0;
  if (!nss) return 0;
  if (!json_is_array(nss)) return berr(err, EINVAL, "linux.namespaces must be an array");
  json_array_foreach(nss, i, ns) {
    const char *type = json_string_value(json_object_get(ns, "type"));
    int flag = type ? oci_namespace_clone_flag(type) : 0;
    if (!flag) return berr(err, EINVAL, "linux.namespaces[%zu]: unknown namespace type \"%s\"", i, type ? type : "");
    if (seen & flag) return berr(err, EINVAL, "linux.namespaces: \"%s\" is listed twice", type);
    seen |= flag;
    json_t *path = json_object_get(ns, "path");
    if (path && (!json_is_string(path) || (json_string_length(path) && json_string_value(path)[0] != '/')))
      return berr(err, EINVAL, "linux.namespaces[%zu] (\"%s\"): path must be an absolute path", i, type);
  }
  return 0;
}

static int check_linux(json_t *lx, struct berth_error **err) {
  if (!lx) return 0;
  if (!json_is_object(lx)) return berr(err, EINVAL, "linux must be an object");
  int r = check_namespaces(json_object_get(lx, "namespaces"), err);
  if (r == 0) r = check_string_array(json_object_get(lx, "maskedPaths"), "linux.maskedPaths", false, err);
  if (r == 0) r = check_string_array(json_object_get(lx, "readonlyPaths"), "linux.readonlyPaths", false, err);
  json_t *cg = json_object_get(lx, "cgroupsPath");
  if (r == 0 && cg && !json_is_string(cg)) r = berr(err, EINVAL, "linux.cgroupsPath must be a string");
  return r;
}

/* hooks: {"prestart": [{"path": "/abs", "args": [...], "env": [...], "timeout": N}], ...} */
static int check_hooks(json_t *hooks, struct berth_error **err) {
  static const char *const kinds[] = {"prestart",       "createRuntime", "createContainer",
                                      "startContainer", "poststart",     "poststop"};
  if (!hooks) return 0;
  if (!json_is_object(hooks)) return berr(err, EINVAL, "hooks must be an object");
  const char *kind;
  json_t *list;
  json_object_foreach(hooks, kind, list) {
    bool known = false;
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) known |= strcmp(kind, kinds[k]) == 0;
    if (!known) return berr(err, EINVAL, "hooks: unknown hook kind \"%s\"", kind);
    if (!json_is_array(list)) return berr(err, EINVAL, "hooks.%s must be an array", kind);
    size_t i;
    json_t *h;
    json_array_foreach(list, i, h) {
      const char *path = json_string_value(json_object_get(h, "path"));
      if (!path || path[0] != '/') return berr(err, EINVAL, "hooks.%s[%zu].path must be an absolute path", kind, i);
      _cleanup_free_ char *args = xasprintf("hooks.%s[%zu].args", kind, i);
      _cleanup_free_ char *env = xasprintf("hooks.%s[%zu].env", kind, i);
      int r = check_string_array(json_object_get(h, "args"), args, false, err);
      if (r == 0) r = check_string_array(json_object_get(h, "env"), env, false, err);
      if (r < 0) return r;
      json_t *to = json_object_get(h, "timeout");
      if (to && (!json_is_integer(to) || json_integer_value(to) <= 0))
        return berr(err, EINVAL, "hooks.%s[%zu].timeout must be a positive integer", kind, i);
    }
  }
  return 0;
}

int oci_spec_validate(json_t *spec, struct berth_error **err) {
  if (!json_is_object(spec)) return berr(err, EINVAL, "config.json must hold a JSON object");
  const char *ver = json_string_value(json_object_get(spec, "ociVersion"));
  if (!ver) return berr(err, EINVAL, "ociVersion is required");
  if (strncmp(ver, "1.", 2) != 0) return berr(err, EINVAL, "ociVersion \"%s\" is not supported (want 1.x)", ver);
  json_t *root = json_object_get(spec, "root");
  const char *rp = json_string_value(json_object_get(root, "path"));
  if (!rp || !*rp) return berr(err, EINVAL, "root.path is required");
  json_t *ro = json_object_get(root, "readonly");
  if (ro && !json_is_boolean(ro)) return berr(err, EINVAL, "root.readonly must be a boolean");
  json_t *hn = json_object_get(spec, "hostname");
  if (hn && !json_is_string(hn)) return berr(err, EINVAL, "hostname must be a string");
  int r = check_process(json_object_get(spec, "process"), err);
  if (r == 0) r = check_mounts(json_object_get(spec, "mounts"), err);
  if (r == 0) r = check_linux(json_object_get(spec, "linux"), err);
  if (r == 0) r = check_hooks(json_object_get(spec, "hooks"), err);
  return r;
}
