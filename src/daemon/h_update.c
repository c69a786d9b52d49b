/* h_update.c - POST /containers/{id}/update: new resource limits and restart policy with Docker's
 * rules (moby container.UpdateContainer), applied to a running container through the OCI
 * runtime's `update --resources FILE ID`, then stored in HostConfig */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "daemon/ctr_security.h"
#include "daemon/daemon.h"
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define RUNTIME_OUTPUT_MAX 4096

/* integer fields taken when non-zero (moby: a zero leaves the current value) */
static const char *const int_fields[] = {"CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "Memory", "MemorySwap",
                                         "MemoryReservation", "BlkioWeight", "CpuRealtimePeriod",
                                         "CpuRealtimeRuntime"};
static const char *const str_fields[] = {"CpusetCpus", "CpusetMems"};

static json_int_t int_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* check_cpu_conflicts: once --cpus is set, period/quota cannot be, and the other way round */
static int check_cpu_conflicts(const json_t *cur, const json_t *up, struct berth_error **err) {
  static const struct {
    const char *want, *have, *msg;
  } t[] = {{"NanoCpus", "CpuPeriod", "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"},
           {"NanoCpus", "CpuQuota", "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"},
           {"CpuPeriod", "NanoCpus", "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"},
           {"CpuQuota", "NanoCpus", "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"}};
  for (size_t i = 0; i < ARRAY_SIZE(t); i++)
    if (int_of(up, t[i].want) > 0 && int_of(cur, t[i].have) > 0) return berr(err, EINVAL, "%s", t[i].msg);
  return 0;
}

static bool blkio_weight_supported(void) {
  return access("/sys/fs/cgroup/blkio/blkio.weight", F_OK) == 0 ||
         access("/sys/fs/cgroup/blkio/blkio.bfq.weight", F_OK) == 0 || access("/sys/fs/cgroup/io.weight", F_OK) == 0;
}

/* merge_resources: the update's resources over hc (moby's rules); warnings for what is dropped */
static int merge_resources(json_t *hc, const json_t *up, bool running, bool blkio_ok, json_t *warnings,
                           struct berth_error **err) {
  if (int_of(up, "KernelMemory") != 0)
    return berr(err, EINVAL, running ? "Can not update kernel memory to a running container, please stop it first."
                                     : "Kernel memory limits are not supported: the kernel no longer accounts kernel memory separately");
  int r = check_cpu_conflicts(hc, up, err);
  if (r < 0) return r;
  json_int_t mem = int_of(up, "Memory");
  if (mem != 0 && int_of(hc, "MemorySwap") > 0 && mem > int_of(hc, "MemorySwap") && int_of(up, "MemorySwap") == 0)
    return berr(err, EINVAL, "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
  json_int_t bw = int_of(up, "BlkioWeight");
  if (bw != 0 && (bw < 10 || bw > 1000)) return berr(err, EINVAL, "Range of blkio weight is from 10 to 1000");
  for (size_t i = 0; i < ARRAY_SIZE(int_fields); i++)
    if (int_of(up, int_fields[i]) != 0) json_object_set(hc, int_fields[i], json_object_get(up, int_fields[i]));
  for (size_t i = 0; i < ARRAY_SIZE(str_fields); i++) {
    const char *s = json_string_value(json_object_get(up, str_fields[i]));
    if (s && *s) json_object_set_new(hc, str_fields[i], json_string(s));
  }
  json_t *pl = json_object_get(up, "PidsLimit");
  if (json_is_integer(pl)) /* 0 and -1 both mean unlimited: stored as null like Docker */
    json_object_set_new(hc, "PidsLimit", json_integer_value(pl) > 0 ? json_incref(pl) : json_null());
  if (bw != 0 && !blkio_ok) {
    json_array_append_new(warnings, json_string("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."));
    json_object_set_new(hc, "BlkioWeight", json_integer(0));
  }
  return 0;
}

/* merge_restart: a new restart policy, refused with AutoRemove as Docker does */
static int merge_restart(json_t *hc, const json_t *up, struct berth_error **err) {
  json_t *rp = json_object_get(up, "RestartPolicy");
  const char *name = json_string_value(json_object_get(rp, "Name"));
  if (!name || !*name) return 0;
  struct restart_policy p;
  int r = restart_policy_parse(name, (int)int_of(rp, "MaximumRetryCount"), &p, err);
  if (r < 0) return r;
  if (json_is_true(json_object_get(hc, "AutoRemove")) && p.kind != RESTART_NO)
    return berr(err, EINVAL, "Restart policy cannot be updated because AutoRemove is enabled for the container");
  json_object_set_new(hc, "RestartPolicy",
                      json_pack("{s:s, s:I}", "Name", name, "MaximumRetryCount", (json_int_t)p.max_retry));
  return 0;
}

int ctr_update_merge(json_t *hc, const json_t *up, bool running, bool blkio_ok, json_t *warnings,
                     struct berth_error **err) {
  int r = merge_resources(hc, up, running, blkio_ok, warnings, err);
  if (r == 0) r = merge_restart(hc, up, err);
  if (r == 0) r = ctr_security_adapt(hc, err);
  return r;
}

static void set_int(json_t *o, const char *k, json_int_t v) { json_object_set_new(o, k, json_integer(v)); }

static json_t *sub(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!v) json_object_set_new(o, k, v = json_object());
  return v;
}

/* oci_resources: the OCI LinuxResources of hc, as the runtime's update takes them */
static json_t *oci_resources(const json_t *hc) {
  json_t *res = json_object();
  json_int_t mem = int_of(hc, "Memory"), swap = int_of(hc, "MemorySwap"), resv = int_of(hc, "MemoryReservation");
  if (mem > 0) set_int(sub(res, "memory"), "limit", mem);
  if (mem > 0 && swap != 0) set_int(sub(res, "memory"), "swap", swap);
  if (resv > 0) set_int(sub(res, "memory"), "reservation", resv);
  json_int_t nano = int_of(hc, "NanoCpus"), period = int_of(hc, "CpuPeriod"), quota = int_of(hc, "CpuQuota");
  if (nano > 0) { /* --cpus: moby's 100 ms period and the matching quota */
    period = 100000;
    quota = nano * period / 1000000000LL;
  }
  if (int_of(hc, "CpuShares") > 0) set_int(sub(res, "cpu"), "shares", int_of(hc, "CpuShares"));
  if (period > 0) set_int(sub(res, "cpu"), "period", period);
  if (quota != 0) set_int(sub(res, "cpu"), "quota", quota);
  for (size_t i = 0; i < ARRAY_SIZE(str_fields); i++) {
    const char *s = json_string_value(json_object_get(hc, str_fields[i]));
    if (s && *s) json_object_set_new(sub(res, "cpu"), i == 0 ? "cpus" : "mems", json_string(s));
  }
  json_t *pl = json_object_get(hc, "PidsLimit");
  set_int(sub(res, "pids"), "limit", json_integer_value(pl) > 0 ? json_integer_value(pl) : -1);
  if (int_of(hc, "BlkioWeight") > 0) set_int(sub(res, "blockIO"), "weight", int_of(hc, "BlkioWeight"));
  return res;
}

/* run_update: RUNTIME --root E/runtime update --resources FILE ID; its stderr becomes the error */
static int run_update(struct daemon *d, const char *id, const json_t *res, struct berth_error **err) {
  _cleanup_free_ char *shim = ctr_shim_dir(d, id);
  _cleanup_free_ char *file = path_join(shim, "resources.json");
  _cleanup_free_ char *text = json_dumps(res, JSON_COMPACT);
  int r = write_file_atomic(file, text, strlen(text), 0600, 0, err);
  if (r < 0) return r;
  _cleanup_free_ char *root = path_join(d->cfg.exec_root, "runtime");
  char *argv[] = {(char *)ctr_runtime_of(d, id), "--root", root, "update", "--resources", file, (char *)id, NULL};
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    int e = errno;
    unlink(file); /* no runtime will read it */
    return berr_sys(err, e, "pipe");
  }
  _cleanup_close_ int rd = pipefd[0], wr = pipefd[1];
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr, 1);
  posix_spawn_file_actions_adddup2(&fa, wr, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    unlink(file);
    return berr_sys(err, rc, "run \"%s\"", argv[0]);
  }
  close(take_fd(&wr));
  _cleanup_free_ char *out = NULL;
  size_t len = 0;
  read_all(rd, &out, &len, RUNTIME_OUTPUT_MAX);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  unlink(file);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' ')) out[--len] = '\0';
  const char *msg = out && *out ? out : "the OCI runtime's update failed";
  if (strncmp(msg, "error: ", 7) == 0) msg += 7;
  return berr(err, EIO, "%s", msg);
}

static int update_locked(struct daemon *d, struct ctr_state *st, const struct store_container *c, const json_t *body,
                         json_t *warnings, struct berth_error **err) {
  if (strcmp(c->status, "removing") == 0 || strcmp(c->status, "dead") == 0)
    return berr(err, EBUSY, "container is marked for removal and cannot be \"update\"");
  _cleanup_json_ json_t *hc = json_loads(c->host_config_json, 0, NULL);
  if (!hc) hc = json_object();
  pthread_mutex_lock(&st->mu);
  bool running = st->running;
  pthread_mutex_unlock(&st->mu);
  int r = ctr_update_merge(hc, body, running, blkio_weight_supported(), warnings, err);
  if (r == 0 && running) {
    _cleanup_json_ json_t *res = oci_resources(hc);
    r = run_update(d, c->id, res, err);
  }
  if (r < 0) return r;
  _cleanup_free_ char *text = json_dumps(hc, JSON_COMPACT);
  _cleanup_store_conn_ struct store_conn cn = {0};
  _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
  if ((r = store_conn_get(d->store, &cn, err)) < 0) return r;
  if ((r = store_prep(cn.db, "UPDATE containers SET host_config = ? WHERE id = ?", &stmt, err, 2, text, c->id)) < 0)
    return r;
  int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? 0 : store_sqlite_err(cn.db, rc, "update the container's HostConfig", err);
}

int h_ctr_update(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *body = NULL;
  int rc = req_body_json(r, &body, err);
  if (rc < 0) return rc;
  if (!json_is_object(body)) return berr(err, EINVAL, "invalid JSON: the body must be an object");
  _cleanup_store_container_ struct store_container *c = NULL;
  if ((rc = store_container_find(r->d->store, req_param(r, "id"), &c, err)) < 0) return rc;
  struct ctr_state *st = ctr_state_get(r->d->ctrs, c->id);
  ctr_lifecycle_begin(st); /* no start or stop in between: the limits reach the cgroup that runs */
  _cleanup_store_container_ struct store_container *now = NULL;
  _cleanup_json_ json_t *warnings = json_array();
  rc = store_container_get(r->d->store, c->id, &now, err);
  if (rc == 0) rc = update_locked(r->d, st, now, body, warnings, err);
  ctr_lifecycle_end(st);
  ctr_state_put(r->d->ctrs, st);
  if (rc < 0) return berr_prefix(err, "Cannot update container %s", c->id);
  events_emit(r->d, "container", "update", c->id, NULL);
  out->json = json_pack("{s:O}", "Warnings", warnings);
  return 0;
}
