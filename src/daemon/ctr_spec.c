/* ctr_spec.c - the OCI bundle of a container: config.json from the runtime's default spec and the
 * container's Config/HostConfig, and the hostname, hosts and resolv.conf files bound into it */
#include "common/fs.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "daemon/ctr_security.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"
#include "runtime/spec.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char hosts_text[] = "127.0.0.1\tlocalhost\n"
                                 "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                 "fe00::0\tip6-localnet\n"
                                 "ff00::0\tip6-mcastprefix\n"
                                 "ff02::1\tip6-allnodes\n"
                                 "ff02::2\tip6-allrouters\n";

/* resolv_conf_text: the host's resolv.conf without loopback resolvers (they mean nothing in the
 * container's network namespace); Docker's public fallback when none is left */
static char *resolv_conf_text(void) {
  _cleanup_free_ char *host = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  struct buf b = {0};
  bool have_ns = false;
  if (read_file("/etc/resolv.conf", &host, NULL, &e) == 0) {
    for (char *save = NULL, *l = strtok_r(host, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
      if (strncmp(l, "nameserver", 10) == 0) {
        const char *a = l + 10 + strspn(l + 10, " \t");
        if (strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0) continue;
        have_ns = true;
      }
      buf_puts(&b, l);
      buf_putc(&b, '\n');
    }
  }
  if (!have_ns) buf_puts(&b, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  return buf_steal(&b);
}

static int write_if_missing(const char *dir, const char *name, const char *text, struct berth_error **err) {
  _cleanup_free_ char *p = path_join(dir, name);
  if (access(p, F_OK) == 0) return 0;
  return write_file_atomic(p, text, strlen(text), 0644, 0, err);
}

int ctr_write_etc_files(const char *dir, const json_t *cfg, struct berth_error **err) {
  const char *host = json_string_value(json_object_get(cfg, "Hostname"));
  _cleanup_free_ char *hn = xasprintf("%s\n", host ? host : "");
  _cleanup_free_ char *hp = path_join(dir, "hostname");
  int r = write_file_atomic(hp, hn, strlen(hn), 0644, 0, err);
  if (r == 0) r = write_if_missing(dir, "hosts", hosts_text, err);
  if (r == 0) {
    _cleanup_free_ char *rc = resolv_conf_text();
    r = write_if_missing(dir, "resolv.conf", rc, err);
  }
  return r;
}

/* read_in_root: a file of the container's rootfs, resolved inside it (never following links out) */
static char *read_in_root(const char *rootfs, const char *path) {
  _cleanup_close_ int dfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return NULL;
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
  _cleanup_close_ int fd = sys_openat2(dfd, path, &how);
  if (fd < 0) return NULL;
  char *text = NULL;
  if (read_all(fd, &text, NULL, 1 << 20) < 0) return NULL;
  return text;
}

/* db_lookup: in a passwd/group style text, the entry whose field 0 is name (or field 2 is the
 * number); returns field 2 (id) and, for passwd, field 3 (primary gid) */
static int db_lookup(const char *text, const char *name, long *id, long *gid) {
  if (!text) return -ENOENT;
  _cleanup_free_ char *copy = xstrdup(text);
  for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *f[4] = {0};
    char *p = l;
    for (int i = 0; i < 4 && p; i++) {
      f[i] = p;
      p = strchr(p, ':');
      if (p) *p++ = '\0';
    }
    if (!f[2] || strcmp(f[0], name) != 0) continue;
    *id = strtol(f[2], NULL, 10);
    if (gid) *gid = f[3] ? strtol(f[3], NULL, 10) : 0;
    return 0;
  }
  return -ENOENT;
}

static bool parse_num(const char *s, long *out) {
  char *end;
  if (!*s) return false;
  *out = strtol(s, &end, 10);
  return *end == '\0';
}

/* resolve_user: Docker's User "name|uid[:group|gid]" against the image's /etc/passwd and /etc/group */
static int resolve_user(const char *rootfs, const char *user, long *uid, long *gid, struct berth_error **err) {
  *uid = *gid = 0;
  if (!user || !*user) return 0;
  _cleanup_free_ char *u = xstrdup(user);
  char *g = strchr(u, ':');
  if (g) *g++ = '\0';
  _cleanup_free_ char *passwd = read_in_root(rootfs, "/etc/passwd");
  if (!parse_num(u, uid)) {
    if (db_lookup(passwd, u, uid, gid) < 0)
      return berr(err, EINVAL, "unable to find user %s: no matching entries in passwd file", u);
  } else {
    /* a numeric uid keeps the gid of its passwd entry when there is one */
    _cleanup_free_ char *copy = passwd ? xstrdup(passwd) : NULL;
    for (char *save = NULL, *l = copy ? strtok_r(copy, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
      long a = -1, b = 0;
      if (sscanf(l, "%*[^:]:%*[^:]:%ld:%ld", &a, &b) == 2 && a == *uid) {
        *gid = b;
        break;
      }
    }
  }
  if (g && *g && !parse_num(g, gid)) {
    _cleanup_free_ char *group = read_in_root(rootfs, "/etc/group");
    if (db_lookup(group, g, gid, NULL) < 0)
      return berr(err, EINVAL, "unable to find group %s: no matching entries in group file", g);
  }
  return 0;
}

static json_t *process_env(const json_t *cfg) {
  json_t *env = json_array();
  bool have_path = false;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(cfg, "Env"), i, v) {
    if (strncmp(json_string_value(v), "PATH=", 5) == 0) have_path = true;
    json_array_append(env, v);
  }
  if (!have_path) json_array_insert_new(env, 0, json_string(DEFAULT_PATH));
  const char *host = json_string_value(json_object_get(cfg, "Hostname"));
  json_array_append_new(env, json_sprintf("HOSTNAME=%s", host ? host : ""));
  if (json_is_true(json_object_get(cfg, "Tty"))) json_array_append_new(env, json_string("TERM=xterm"));
  return env;
}

static void add_bind(json_t *mounts, const char *dir, const char *name, const char *dest) {
  _cleanup_free_ char *src = path_join(dir, name);
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination", dest, "type", "bind", "source",
                                          src, "options", "rbind", "rprivate"));
}

static json_t *obj(json_t *parent, const char *key) {
  json_t *o = json_object_get(parent, key);
  if (!json_is_object(o)) {
    o = json_object();
    json_object_set_new(parent, key, o);
  }
  return o;
}

/* Docker's default device cgroup rules on top of the spec's deny-all: mknod of any device, and
 * the standard character devices (null, zero, full, random, urandom, tty, console, ptmx, pts, tun) */
static const struct {
  char type;
  int major, minor; /* -1: any */
  const char *access;
} default_devices[] = {
    {'c', -1, -1, "m"},  {'b', -1, -1, "m"},  {'c', 1, 3, "rwm"}, {'c', 1, 8, "rwm"}, {'c', 1, 7, "rwm"},
    {'c', 5, 0, "rwm"},  {'c', 1, 5, "rwm"},  {'c', 1, 9, "rwm"}, {'c', 5, 1, "rwm"}, {'c', 136, -1, "rwm"},
    {'c', 5, 2, "rwm"},  {'c', 10, 200, "rwm"},
};

static void add_device_rules(json_t *resources) {
  json_t *devs = json_object_get(resources, "devices");
  if (!json_is_array(devs)) {
    devs = json_pack("[{s:b, s:s}]", "allow", 0, "access", "rwm");
    json_object_set_new(resources, "devices", devs);
  }
  for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
    char type[2] = {default_devices[i].type, '\0'};
    json_t *rule = json_pack("{s:b, s:s, s:s}", "allow", 1, "type", type, "access", default_devices[i].access);
    if (default_devices[i].major >= 0) json_object_set_new(rule, "major", json_integer(default_devices[i].major));
    if (default_devices[i].minor >= 0) json_object_set_new(rule, "minor", json_integer(default_devices[i].minor));
    json_array_append_new(devs, rule);
  }
}

int ctr_build_spec(const struct store_container *c, const json_t *cfg, const json_t *hc, const char *dir,
                   json_t **out, struct berth_error **err) {
  _cleanup_free_ char *rootfs = path_join(dir, "rootfs");
  long uid, gid;
  int r = resolve_user(rootfs, json_string_value(json_object_get(cfg, "User")), &uid, &gid, err);
  if (r < 0) return r;
  json_t *spec = oci_spec_default();
  if (!spec) return berr(err, EIO, "the runtime's default spec is missing");
  json_t *proc = obj(spec, "process");
  json_object_set_new(proc, "terminal", json_boolean(json_is_true(json_object_get(cfg, "Tty"))));
  /* HostConfig.ConsoleSize [h, w]: the pty has the client's size before the process runs */
  json_t *cs = json_object_get(hc, "ConsoleSize");
  json_int_t h = json_integer_value(json_array_get(cs, 0)), w = json_integer_value(json_array_get(cs, 1));
  if (json_is_true(json_object_get(cfg, "Tty")) && h > 0 && w > 0 && h < 65536 && w < 65536)
    json_object_set_new(proc, "consoleSize", json_pack("{s:I, s:I}", "height", h, "width", w));
  json_t *args = json_loads(c->args_json, 0, NULL);
  if (!json_is_array(args)) {
    json_decref(args);
    args = json_array();
  }
  json_array_insert_new(args, 0, json_string(c->path));
  json_object_set_new(proc, "args", args);
  json_object_set_new(proc, "env", process_env(cfg));
  const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
  json_object_set_new(proc, "cwd", json_string(wd && *wd ? wd : "/"));
  json_t *user = obj(proc, "user");
  json_object_set_new(user, "uid", json_integer(uid));
  json_object_set_new(user, "gid", json_integer(gid));
  json_t *root = obj(spec, "root");
  json_object_set_new(root, "path", json_string(rootfs));
  json_object_set_new(root, "readonly", json_boolean(json_is_true(json_object_get(hc, "ReadonlyRootfs"))));
  json_object_set(spec, "hostname", json_object_get(cfg, "Hostname"));
  const char *dom = json_string_value(json_object_get(cfg, "Domainname"));
  if (dom && *dom) json_object_set_new(spec, "domainname", json_string(dom));
  json_t *mounts = json_object_get(spec, "mounts");
  if (!json_is_array(mounts)) {
    mounts = json_array();
    json_object_set_new(spec, "mounts", mounts);
  }
  add_bind(mounts, dir, "hostname", "/etc/hostname");
  add_bind(mounts, dir, "hosts", "/etc/hosts");
  add_bind(mounts, dir, "resolv.conf", "/etc/resolv.conf");
  /* a cgroup of its own, like Docker's /docker/ID: limits, stats and the host's view need it;
   * --cgroup-parent P gives P/ID (Docker's cgroupfs driver; a relative P is taken from the root) */
  const char *parent = json_string_value(json_object_get(hc, "CgroupParent"));
  _cleanup_free_ char *cg = parent && *parent ? xasprintf("%s%s/%s", parent[0] == '/' ? "" : "/", parent, c->id)
                                              : xasprintf("/berth/%s", c->id);
  json_object_set_new(obj(spec, "linux"), "cgroupsPath", json_string(cg));
  add_device_rules(obj(obj(spec, "linux"), "resources"));
  /* capabilities, seccomp, devices, tmpfs, rlimits, cgroup limits, --init (ctr_sec_spec.c) */
  if ((r = vol_spec_apply(spec, dir, err)) < 0 || (r = ctr_security_apply(spec, hc, rootfs, err)) < 0) {
    json_decref(spec);
    return r;
  }
  *out = spec;
  return 0;
}

int ctr_resolve_user(const char *rootfs, const char *user, long *uid, long *gid, struct berth_error **err) {
  return resolve_user(rootfs, user, uid, gid, err);
}
