/* main.c - berthd: options, startup (roots, lock, store, storage, images, restore), serving, clean stop */
#define LOG_TAG "berthd"
#include "api/api.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "image/image.h"
#include "storage/storage.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum opt_kind { OPT_STR, OPT_LIST, OPT_FLAG, OPT_BOOL /* --x, --x=false (Go's bool flags) */ };

/* Flags, declared once: getopt's table and --help come from here */
static const struct flag {
  const char *name;
  char short_name;
  const char *arg;
  const char *help;
  size_t offset; /* into struct daemon_config; SIZE_MAX for --help/--version */
  enum opt_kind kind;
} flags[] = {
    {"data-root", 0, "DIR", "Root of persistent state (default /var/lib/berth)", offsetof(struct daemon_config, data_root), OPT_STR},
    {"exec-root", 0, "DIR", "Root of runtime state (default /run/berth)", offsetof(struct daemon_config, exec_root), OPT_STR},
    {"host", 'H', "unix://PATH", "Socket to listen on, repeatable (default " BERTH_DEFAULT_HOST ")", offsetof(struct daemon_config, hosts), OPT_LIST},
    {"group", 'G', "GROUP", "Group of the API socket (default \"berth\" when it exists, else root)", offsetof(struct daemon_config, group), OPT_STR},
    {"log-level", 'l', "LEVEL", "debug, info, warn or error (default info)", offsetof(struct daemon_config, log_level), OPT_STR},
    {"pidfile", 'p', "FILE", "Pid file (default EXEC_ROOT/berthd.pid)", offsetof(struct daemon_config, pidfile), OPT_STR},
    {"storage-driver", 's', "NAME", "overlay or vfs (default: overlay when the kernel has it)", offsetof(struct daemon_config, storage_driver), OPT_STR},
    {"default-registry", 0, "HOST[:PORT]", "Registry for unqualified image names", offsetof(struct daemon_config, default_registry), OPT_STR},
    {"shim", 0, "PATH", "berth-shim executable", offsetof(struct daemon_config, shim_path), OPT_STR},
    {"oci-runtime", 0, "PATH", "OCI runtime executable (default berth-runtime)", offsetof(struct daemon_config, runtime_path), OPT_STR},
    {"add-runtime", 0, "NAME=PATH", "Another OCI runtime for --runtime NAME (repeatable)", offsetof(struct daemon_config, runtimes), OPT_LIST},
    {"bridge", 'b', "NAME", "Bridge of the default network (default berth0)", offsetof(struct daemon_config, bridge), OPT_STR},
    {"bip", 0, "CIDR", "Address of the bridge (default 172.18.0.1/16, or a free private subnet)", offsetof(struct daemon_config, bip), OPT_STR},
    {"fixed-cidr", 0, "CIDR", "Containers' addresses come from this part of the bridge's subnet", offsetof(struct daemon_config, fixed_cidr), OPT_STR},
    {"mtu", 0, "BYTES", "MTU of the bridge and the containers' interfaces (default 1500)", offsetof(struct daemon_config, mtu), OPT_STR},
    {"icc", 0, "[=true]", "Let containers on the bridge talk to each other", offsetof(struct daemon_config, icc), OPT_BOOL},
    {"ip-forward", 0, "[=true]", "Set net.ipv4.ip_forward", offsetof(struct daemon_config, ip_forward), OPT_BOOL},
    {"iptables", 0, "[=true]", "Program NAT and published ports (nftables tables of berth's own)", offsetof(struct daemon_config, iptables), OPT_BOOL},
    {"log-opt", 0, "KEY=VALUE", "Default json-file log options: max-size=20m, max-file=3 (repeatable)", offsetof(struct daemon_config, log_opts), OPT_LIST},
    {"help", 'h', NULL, "Print this help", SIZE_MAX, OPT_FLAG},
    {"version", 'v', NULL, "Print the version", SIZE_MAX, OPT_FLAG},
};

static void usage(FILE *f) {
  fprintf(f, "Usage: berthd [OPTIONS]\n\nThe berth container engine daemon (Docker Engine API %s)\n\nOptions:\n",
          BERTH_API_VERSION);
  for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
    char left[64];
    if (flags[i].short_name)
      snprintf(left, sizeof(left), "-%c, --%s %s", flags[i].short_name, flags[i].name, flags[i].arg ?: "");
    else snprintf(left, sizeof(left), "    --%s %s", flags[i].name, flags[i].arg ?: "");
    fprintf(f, "  %-34s %s\n", left, flags[i].help);
  }
}

/* parse_args: 0 run, 1 exit 0 (help/version), <0 error */
static int parse_args(int argc, char **argv, struct daemon_config *cfg, struct berth_error **err) {
  struct option lo[ARRAY_SIZE(flags) + 1] = {0};
  char so[64] = "";
  size_t sl = 0;
  for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
    int has_arg = flags[i].kind == OPT_BOOL ? optional_argument : flags[i].arg ? required_argument : no_argument;
    lo[i] = (struct option){flags[i].name, has_arg, NULL, 1000 + (int)i};
    if (flags[i].short_name) {
      so[sl++] = flags[i].short_name;
      if (flags[i].arg) so[sl++] = ':';
    }
  }
  int c;
  while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
    size_t i = ARRAY_SIZE(flags);
    if (c >= 1000) i = (size_t)(c - 1000);
    else
      for (size_t k = 0; k < ARRAY_SIZE(flags); k++)
        if (flags[k].short_name == c) i = k;
    if (i == ARRAY_SIZE(flags)) return berr(err, EINVAL, "unknown option; see berthd --help");
    if (strcmp(flags[i].name, "help") == 0) {
      usage(stdout);
      return 1;
    }
    if (strcmp(flags[i].name, "version") == 0) {
      printf("berthd version %s, API %s\n", BERTH_VERSION, BERTH_API_VERSION);
      return 1;
    }
    void *field = (char *)cfg + flags[i].offset;
    if (flags[i].kind == OPT_LIST) *(char ***)field = strv_push(*(char ***)field, optarg);
    else {
      free(*(char **)field);
      *(char **)field = xstrdup(optarg ? optarg : "true");
    }
  }
  if (optind < argc) return berr(err, EINVAL, "unexpected argument \"%s\"", argv[optind]);
  return 0;
}

/* find_helper: PATH given, else beside our executable, else in the build tree, else installed */
static char *find_helper(const char *given, const char *name, const char *build_dir, const char *installed) {
  if (given) return xstrdup(given);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    char *dir = dirname(self);
    _cleanup_free_ char *beside = xasprintf("%s/%s", dir, name);
    if (access(beside, X_OK) == 0) return take_ptr(&beside);
    _cleanup_free_ char *tree = xasprintf("%s/../%s/%s", dir, build_dir, name);
    if (access(tree, X_OK) == 0) return realpath(tree, NULL);
  }
  return xasprintf("%s/%s", installed, name);
}

/* --add-runtime NAME=PATH: a name of its own and an executable (a bare name is looked up in PATH) */
static int check_runtimes(char **rts, struct berth_error **err) {
  for (char **r = rts; r && *r; r++) {
    char *eq = strchr(*r, '=');
    if (!eq || eq == *r || !eq[1]) return berr(err, EINVAL, "--add-runtime \"%s\": want NAME=PATH", *r);
    *eq = '\0';
    bool reserved = strcmp(*r, "berth-runtime") == 0;
    bool dup = false;
    for (char **o = rts; o < r; o++) dup |= strncmp(*o, *r, strlen(*r)) == 0 && (*o)[strlen(*r)] == '=';
    *eq = '=';
    if (reserved) return berr(err, EINVAL, "--add-runtime: runtime name \"berth-runtime\" is reserved");
    if (dup) return berr(err, EINVAL, "--add-runtime \"%s\": that name is given twice", *r);
    const char *path = eq + 1;
    if (!strchr(path, '/')) {
      _cleanup_free_ char *found = NULL;
      _cleanup_free_ char *dirs = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
      char *save = NULL;
      for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        _cleanup_free_ char *p = path_join(d, path);
        if (access(p, X_OK) == 0) found = take_ptr(&p);
      }
      if (!found) return berr(err, ENOENT, "--add-runtime \"%s\": \"%s\" not found in PATH", *r, path);
      _cleanup_free_ char *name = xstrndup(*r, (size_t)(eq - *r));
      free(*r);
      *r = xasprintf("%s=%s", name, found);
    } else if (access(path, X_OK) < 0) {
      return berr_sys(err, errno, "--add-runtime \"%s\": \"%s\"", *r, path);
    }
  }
  return 0;
}

static int fill_defaults(struct daemon_config *c, struct berth_error **err) {
  if (!c->data_root) c->data_root = xstrdup("/var/lib/berth");
  if (!c->exec_root) c->exec_root = xstrdup("/run/berth");
  if (!c->hosts) c->hosts = strv_push(NULL, BERTH_DEFAULT_HOST);
  if (!c->pidfile) c->pidfile = path_join(c->exec_root, "berthd.pid");
  char *shim = find_helper(c->shim_path, "berth-shim", "shim", BERTH_LIBEXECDIR);
  char *rt = find_helper(c->runtime_path, "berth-runtime", "runtime", BERTH_BINDIR);
  free(c->shim_path);
  free(c->runtime_path);
  c->shim_path = shim;
  c->runtime_path = rt;
  int r = check_runtimes(c->runtimes, err);
  if (r < 0) return r;
  int lvl = log_parse_level(c->log_level ? c->log_level : "info");
  if (lvl < 0) return berr(err, EINVAL, "unknown log level \"%s\"", c->log_level);
  log_setup((enum log_level)lvl, NULL);
  struct ctr_log_limits ll;
  if (ctr_log_limits(NULL, c->log_opts, &ll, err) < 0) return berr_prefix(err, "--log-opt");
  for (char **h = c->hosts; *h; h++)
    if (strncmp(*h, "unix://", 7) != 0)
      return berr(err, EINVAL, "host \"%s\" is not supported: only unix:// sockets are (tcp:// is refused)", *h);
  return 0;
}

/* lock_root: flock D/berth.lock; a second daemon on the same root fails here */
static int lock_root(struct daemon *d, int *fd_out, struct berth_error **err) {
  _cleanup_free_ char *p = path_join(d->cfg.data_root, "berth.lock");
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return berr_sys(err, errno, "open \"%s\"", p);
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      return berr(err, EBUSY, "another berthd is already running on data root \"%s\" (%s is locked)",
                  d->cfg.data_root, p);
    return berr_sys(err, e, "lock \"%s\"", p);
  }
  *fd_out = fd;
  return 0;
}

/* daemon_id: a stable id kept in the store's meta table, Docker-shaped (12 groups of 4) */
static int daemon_id(struct daemon *d, struct berth_error **err) {
  sqlite3 *db = store_acquire(d->store);
  if (!db) return berr(err, EIO, "store: no connection");
  char hex[BERTH_ID_LEN + 1], id[80];
  id_random(hex);
  size_t k = 0;
  for (int g = 0; g < 12; g++) {
    for (int i = 0; i < 4; i++) id[k++] = (char)(hex[g * 4 + i] >= 'a' ? hex[g * 4 + i] - 32 : hex[g * 4 + i]);
    id[k++] = g < 11 ? ':' : '\0';
  }
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO meta(key, value) VALUES('daemon_id', ?)", -1, &st, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  }
  sqlite3_finalize(st);
  st = NULL;
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'daemon_id'", -1, &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    snprintf(d->id, sizeof(d->id), "%s", (const char *)sqlite3_column_text(st, 0));
  else rc = store_sqlite_err(db, rc, "store: daemon id", err);
  sqlite3_finalize(st);
  store_release(d->store, db);
  return rc == SQLITE_OK ? 0 : rc;
}

static int make_roots(struct daemon *d, struct berth_error **err) {
  const char *sub_data[] = {"", "containers", "tmp"};
  const char *sub_exec[] = {"", "shims", "runtime"};
  for (size_t i = 0; i < ARRAY_SIZE(sub_data); i++) {
    _cleanup_free_ char *p = path_join(d->cfg.data_root, sub_data[i]);
    int r = mkdir_p(p, 0711, err);
    if (r < 0) return r;
  }
  for (size_t i = 0; i < ARRAY_SIZE(sub_exec); i++) {
    _cleanup_free_ char *p = path_join(d->cfg.exec_root, sub_exec[i]);
    int r = mkdir_p(p, 0711, err);
    if (r < 0) return r;
  }
  return 0;
}

static int write_pidfile(const char *path, struct berth_error **err) {
  char s[32];
  int n = snprintf(s, sizeof(s), "%d\n", (int)getpid());
  return write_file_atomic(path, s, (size_t)n, 0644, 0, err);
}

/* parse_bool: Go's strconv.ParseBool, default def when the flag was not given */
static int parse_bool(const char *name, const char *v, bool def, bool *out, struct berth_error **err) {
  static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
  static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
  *out = def;
  if (!v) return 0;
  for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
    if (strcmp(v, yes[i]) == 0) return *out = true, 0;
    if (strcmp(v, no[i]) == 0) return *out = false, 0;
  }
  return berr(err, EINVAL, "invalid boolean value \"%s\" for --%s", v, name);
}

static int open_network(struct daemon *d, struct berth_error **err) {
  struct daemon_config *c = &d->cfg;
  struct net_options o = {.bridge = c->bridge, .bip = c->bip, .fixed_cidr = c->fixed_cidr};
  char *end = NULL;
  if (c->mtu) o.mtu = (int)strtol(c->mtu, &end, 10);
  if (c->mtu && (*end || o.mtu < 68)) return berr(err, EINVAL, "invalid --mtu \"%s\"", c->mtu);
  int r = parse_bool("icc", c->icc, true, &o.icc, err);
  if (r == 0) r = parse_bool("ip-forward", c->ip_forward, true, &o.ip_forward, err);
  if (r == 0) r = parse_bool("iptables", c->iptables, true, &o.iptables, err);
  if (r == 0) r = net_open(&o, c->data_root, c->exec_root, &d->net, err);
  return r < 0 ? berr_prefix(err, "Error initializing network controller") : 0;
}

/* repair_network: leftovers of containers that are not running any more (after restore) */
static void repair_network(struct daemon *d) {
  struct store_container **list = NULL;
  _cleanup_berr_ struct berth_error *err = NULL;
  if (store_container_list(d->store, &list, &err) < 0) {
    log_warn("Network repair: %s", berr_msg(err));
    return;
  }
  _cleanup_strv_ char **live = NULL;
  for (size_t i = 0; list[i]; i++)
    if (strcmp(list[i]->status, "running") == 0 || strcmp(list[i]->status, "paused") == 0)
      live = strv_push(live, list[i]->id);
  store_container_list_free(list);
  if (net_repair(d->net, live, &err) < 0) log_warn("Network repair: %s", berr_msg(err));
}

static int open_all(struct daemon *d, struct berth_error **err) {
  _cleanup_free_ char *db = path_join(d->cfg.data_root, "berth.db");
  int r = store_open(db, &d->store, err);
  if (r == 0) r = daemon_id(d, err);
  if (r == 0) r = storage_open(d->cfg.data_root, d->cfg.storage_driver, &d->storage, err);
  if (r == 0) r = image_store_open(d->cfg.data_root, d->store, d->storage, &d->images, err);
  if (r == 0) r = open_network(d, err);
  return r;
}

static int run(struct daemon *d, struct berth_error **err) {
  int lock_fd = -1;
  int r = make_roots(d, err);
  if (r == 0) r = lock_root(d, &lock_fd, err);
  if (r == 0) r = open_all(d, err);
  if (r == 0) r = write_pidfile(d->cfg.pidfile, err);
  if (r < 0) goto out;
  d->ctrs = ctr_table_new();
  d->execs = exec_table_new();
  d->stop_efd = eventfd(0, EFD_CLOEXEC);
  r = events_open(d, err);
  if (r == 0) r = monitor_start(d, err);
  if (r == 0) r = ctr_restore(d, err);
  if (r == 0) repair_network(d);
  if (r == 0) restart_after_restore(d);
  log_info("berthd %s started (data root %s, exec root %s, storage %s, shim %s, runtime %s)", BERTH_VERSION,
           d->cfg.data_root, d->cfg.exec_root, storage_driver_name(d->storage), d->cfg.shim_path,
           d->cfg.runtime_path);
  /* startup's transient peak (restore, the nftables rebuild) is freed by now: give it back */
  if (r == 0) malloc_trim(0);
  if (r == 0) r = server_run(d, err);
  if (!d->stopping) {
    /* startup failed after the monitor began: wake it so it can be joined */
    d->stopping = true;
    uint64_t one = 1;
    (void)!write(d->stop_efd, &one, sizeof(one));
  }
  monitor_stop(d);
  events_close(d);
  unlink(d->cfg.pidfile);
out:
  net_close(d->net);
  if (d->images) image_store_close(d->images);
  if (d->storage) storage_close(d->storage);
  if (d->store) store_close(d->store);
  if (lock_fd >= 0) close(lock_fd);
  return r;
}

static void config_free(struct daemon_config *c) {
  char **fields[] = {&c->data_root, &c->exec_root,        &c->group,     &c->pidfile,  &c->storage_driver,
                     &c->default_registry, &c->shim_path, &c->runtime_path, &c->log_level};
  for (size_t i = 0; i < ARRAY_SIZE(fields); i++) free(*fields[i]);
  char **net[] = {&c->bridge, &c->bip, &c->fixed_cidr, &c->mtu, &c->icc, &c->ip_forward, &c->iptables};
  for (size_t i = 0; i < ARRAY_SIZE(net); i++) free(*net[i]);
  strv_free(c->hosts);
  strv_free(c->log_opts);
  strv_free(c->runtimes);
}

/* daemon_malloc_setup: glibc gives every thread that allocates its own arena (up to 8 per CPU);
 * with a thread per HTTP connection that is ~1 MB of mostly free heaps at idle. Handlers wait on
 * I/O, not on the allocator, so one arena is enough. A fixed mmap threshold stops glibc from
 * raising it (up to 32 MB) after big frees, so large transient buffers (image layers, bodies)
 * stay mmap()ed and go back to the kernel when freed; it also fixes the trim threshold. */
static void daemon_malloc_setup(void) {
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

int main(int argc, char **argv) {
  struct daemon d = {.stop_efd = -1};
  _cleanup_berr_ struct berth_error *err = NULL;
  int r = parse_args(argc, argv, &d.cfg, &err);
  if (r == 0) r = fill_defaults(&d.cfg, &err);
  if (r < 0) {
    fprintf(stderr, "berthd: %s\n", berr_msg(err));
    config_free(&d.cfg);
    return 2;
  }
  if (r == 1) {
    config_free(&d.cfg);
    return 0;
  }
  /* signals: SIGTERM/SIGINT are taken by sigwait in server_run; every thread inherits the mask */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  umask(022);
  daemon_malloc_setup();
  r = run(&d, &err);
  if (r < 0) log_error("%s", berr_msg(err));
  ctr_table_free(d.ctrs);
  exec_table_free(d.execs);
  if (d.stop_efd >= 0) close(d.stop_efd);
  config_free(&d.cfg);
  return r < 0 ? 1 : 0;
}
