/* stats.c - GET /containers/{id}/stats: memory, CPU, pids and block I/O of the container's cgroups
 * (v1 or v2, found through /proc/INIT/cgroup) and its network namespace's counters, one sample
 * (stream=0) or one per second */
#include "common/fs.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* cgroup_dir: the directory of pid's cgroup for controller (v1), or its unified one ("" = v2) */
static char *cgroup_dir(pid_t pid, const char *controller) {
  _cleanup_free_ char *p = xasprintf("/proc/%d/cgroup", (int)pid);
  _cleanup_free_ char *text = NULL;
  if (read_file(p, &text, NULL, NULL) < 0) return NULL;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(l, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *ctrls = c1 + 1, *path = c2 + 1;
    /* the root cgroup holds the whole host: its numbers are not the container's */
    if (strcmp(path, "/") == 0) continue;
    if (!*controller) {
      if (strcmp(l, "0") == 0 && !*ctrls) return xasprintf("/sys/fs/cgroup%s", path);
      continue;
    }
    /* "cpu,cpuacct": match one name of a comma list */
    size_t n = strlen(controller);
    for (const char *q = ctrls; (q = strstr(q, controller)); q += n) {
      bool start = q == ctrls || q[-1] == ',';
      bool end = q[n] == '\0' || q[n] == ',';
      if (start && end) return xasprintf("/sys/fs/cgroup/%s%s", ctrls, path);
    }
  }
  return NULL;
}

static int64_t read_i64(const char *dir, const char *file) {
  if (!dir) return 0;
  _cleanup_free_ char *p = path_join(dir, file);
  _cleanup_free_ char *t = NULL;
  if (read_file(p, &t, NULL, NULL) < 0) return 0;
  if (strncmp(t, "max", 3) == 0) return INT64_MAX;
  return strtoll(t, NULL, 10);
}

/* stat_file: "key value" lines as a JSON object (memory.stat, cpu.stat) */
static json_t *stat_file(const char *dir, const char *file) {
  json_t *o = json_object();
  if (!dir) return o;
  _cleanup_free_ char *p = path_join(dir, file);
  _cleanup_free_ char *t = NULL;
  if (read_file(p, &t, NULL, NULL) < 0) return o;
  for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char key[128];
    long long v;
    if (sscanf(l, "%127s %lld", key, &v) == 2) json_object_set_new(o, key, json_integer(v));
  }
  return o;
}

/* system_cpu_ns: the host's CPU time as /proc/stat counts it, in ns (Docker's system_cpu_usage) */
static int64_t system_cpu_ns(void) {
  _cleanup_free_ char *t = NULL;
  if (read_file("/proc/stat", &t, NULL, NULL) < 0) return 0;
  long long f[8] = {0};
  if (sscanf(t, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6],
             &f[7]) < 4)
    return 0;
  int64_t jiffies = 0;
  for (int i = 0; i < 8; i++) jiffies += f[i];
  return jiffies * (1000000000LL / sysconf(_SC_CLK_TCK));
}

static json_t *memory_json(pid_t pid, bool v2) {
  _cleanup_free_ char *dir = cgroup_dir(pid, v2 ? "" : "memory");
  struct sysinfo si;
  sysinfo(&si);
  int64_t host = (int64_t)si.totalram * si.mem_unit;
  int64_t usage = read_i64(dir, v2 ? "memory.current" : "memory.usage_in_bytes");
  int64_t limit = read_i64(dir, v2 ? "memory.max" : "memory.limit_in_bytes");
  if (limit <= 0 || limit > host) limit = host;
  json_t *m = json_pack("{s:I, s:I, s:o}", "usage", (json_int_t)usage, "limit", (json_int_t)limit, "stats",
                        stat_file(dir, "memory.stat"));
  if (!v2) json_object_set_new(m, "max_usage", json_integer(read_i64(dir, "memory.max_usage_in_bytes")));
  return m;
}

/* procs_cpu_ns: CPU time of the processes in pid's pids cgroup and of the children they waited
 * for (/proc/P/stat utime, stime, cutime, cstime): v1 containers without a cpuacct cgroup of their
 * own (the runtime joins only the hierarchies it limits) */
static void procs_cpu_ns(pid_t pid, int64_t *user, int64_t *kernel) {
  _cleanup_free_ char *dir = cgroup_dir(pid, "pids");
  if (!dir) return;
  _cleanup_free_ char *p = path_join(dir, "cgroup.procs");
  _cleanup_free_ char *procs = NULL;
  if (read_file(p, &procs, NULL, NULL) < 0) return;
  int64_t tick = 1000000000LL / sysconf(_SC_CLK_TCK);
  for (char *save = NULL, *l = strtok_r(procs, " \n", &save); l; l = strtok_r(NULL, " \n", &save)) {
    _cleanup_free_ char *sp = xasprintf("/proc/%s/stat", l);
    _cleanup_free_ char *st = NULL;
    if (read_file(sp, &st, NULL, NULL) < 0) continue;
    char *e = strrchr(st, ')'); /* the command name may hold spaces and parentheses */
    unsigned long long ut, stt, cut, cst;
    static const char fields[] = "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu";
    if (!e || sscanf(e + 2, fields, &ut, &stt, &cut, &cst) != 4) continue;
    *user += (int64_t)(ut + cut) * tick;
    *kernel += (int64_t)(stt + cst) * tick;
  }
}

static json_t *cpu_json(pid_t pid, bool v2) {
  int64_t total = 0, user = 0, kernel = 0;
  if (v2) {
    _cleanup_free_ char *dir = cgroup_dir(pid, "");
    json_t *st = stat_file(dir, "cpu.stat");
    total = json_integer_value(json_object_get(st, "usage_usec")) * 1000;
    user = json_integer_value(json_object_get(st, "user_usec")) * 1000;
    kernel = json_integer_value(json_object_get(st, "system_usec")) * 1000;
    json_decref(st);
  } else {
    _cleanup_free_ char *dir = cgroup_dir(pid, "cpuacct");
    if (dir) {
      total = read_i64(dir, "cpuacct.usage");
    } else {
      procs_cpu_ns(pid, &user, &kernel);
      total = user + kernel;
    }
  }
  return json_pack("{s:{s:I, s:I, s:I}, s:I, s:i, s:{s:i, s:i, s:i}}", "cpu_usage", "total_usage", (json_int_t)total,
                   "usage_in_usermode", (json_int_t)user, "usage_in_kernelmode", (json_int_t)kernel,
                   "system_cpu_usage", (json_int_t)system_cpu_ns(), "online_cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
                   "throttling_data", "periods", 0, "throttled_periods", 0, "throttled_time", 0);
}

/* net_json: the interfaces of the container's network namespace (/proc/PID/net/dev) but lo, with
 * Docker's field names; NULL when it has none (--network none or host) */
static json_t *net_json(pid_t pid) {
  _cleanup_free_ char *p = xasprintf("/proc/%d/net/dev", (int)pid);
  _cleanup_free_ char *t = NULL;
  if (read_file(p, &t, NULL, NULL) < 0) return NULL;
  json_t *o = json_object();
  for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *colon = strchr(l, ':');
    if (!colon) continue;
    *colon = '\0';
    while (*l == ' ') l++;
    unsigned long long f[16];
    if (strcmp(l, "lo") == 0 || sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0],
                                       &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10],
                                       &f[11]) != 12)
      continue;
    json_object_set_new(o, l, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_bytes", (json_int_t)f[0],
                                        "rx_packets", (json_int_t)f[1], "rx_errors", (json_int_t)f[2], "rx_dropped",
                                        (json_int_t)f[3], "tx_bytes", (json_int_t)f[8], "tx_packets",
                                        (json_int_t)f[9], "tx_errors", (json_int_t)f[10], "tx_dropped",
                                        (json_int_t)f[11]));
  }
  if (json_object_size(o)) return o;
  json_decref(o);
  return NULL;
}

static void blkio_add(json_t *arr, unsigned maj, unsigned min, const char *op, long long v) {
  json_array_append_new(arr, json_pack("{s:i, s:i, s:s, s:I}", "major", (int)maj, "minor", (int)min, "op", op,
                                       "value", (json_int_t)v));
}

/* blkio_v1: "MAJ:MIN Read N" lines of a blkio file as Docker's entries (its "Total" lines skipped) */
static json_t *blkio_v1(const char *dir, const char *file) {
  json_t *arr = json_array();
  _cleanup_free_ char *p = dir ? path_join(dir, file) : NULL;
  _cleanup_free_ char *t = NULL;
  if (!p || read_file(p, &t, NULL, NULL) < 0) return arr;
  for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    unsigned maj, min;
    char op[16];
    long long v;
    if (sscanf(l, "%u:%u %15s %lld", &maj, &min, op, &v) == 4) blkio_add(arr, maj, min, op, v);
  }
  return arr;
}

/* blkio_v2: io.stat's "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." as Docker's two lists */
static void blkio_v2(const char *dir, json_t *bytes, json_t *ios) {
  _cleanup_free_ char *p = dir ? path_join(dir, "io.stat") : NULL;
  _cleanup_free_ char *t = NULL;
  if (!p || read_file(p, &t, NULL, NULL) < 0) return;
  for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    unsigned maj, min;
    long long rb = 0, wb = 0, ri = 0, wi = 0;
    if (sscanf(l, "%u:%u rbytes=%lld wbytes=%lld rios=%lld wios=%lld", &maj, &min, &rb, &wb, &ri, &wi) < 2) continue;
    blkio_add(bytes, maj, min, "read", rb);
    blkio_add(bytes, maj, min, "write", wb);
    blkio_add(ios, maj, min, "read", ri);
    blkio_add(ios, maj, min, "write", wi);
  }
}

static json_t *blkio_json(pid_t pid, bool v2) {
  _cleanup_free_ char *dir = cgroup_dir(pid, v2 ? "" : "blkio");
  json_t *bytes, *ios;
  if (v2) {
    bytes = json_array();
    ios = json_array();
    blkio_v2(dir, bytes, ios);
  } else {
    bytes = blkio_v1(dir, "blkio.throttle.io_service_bytes_recursive");
    ios = blkio_v1(dir, "blkio.throttle.io_serviced_recursive");
  }
  return json_pack("{s:o, s:o, s:n, s:n, s:n, s:n, s:n, s:n}", "io_service_bytes_recursive", bytes,
                   "io_serviced_recursive", ios, "io_queue_recursive", "io_service_time_recursive",
                   "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive");
}

struct sampler {
  struct daemon *d;
  char id[65];
  char *name;
  struct ctr_state *st; /* referenced: running tells when to end the stream */
  pid_t pid;
  bool stream, one_shot;
  int n;
  json_t *prev_cpu;
  char prev_read[64]; /* the time of the previous sample: Docker's preread */
};

static json_t *sample(struct sampler *s) {
  bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  char now[64];
  time_now_rfc3339nano(now, sizeof(now));
  _cleanup_free_ char *pdir = cgroup_dir(s->pid, v2 ? "" : "pids");
  json_t *cpu = cpu_json(s->pid, v2);
  json_t *pre = s->prev_cpu ? s->prev_cpu : json_pack("{s:{s:i}, s:i}", "cpu_usage", "total_usage", 0,
                                                     "system_cpu_usage", 0);
  s->prev_cpu = json_incref(cpu);
  json_t *j = json_pack("{s:s, s:s, s:{s:I}, s:o, s:i, s:{}, s:o, s:o, s:o, s:s, s:s}", "read", now, "preread",
                        s->prev_read[0] ? s->prev_read : TIME_ZERO_RFC3339, "pids_stats", "current",
                        (json_int_t)read_i64(pdir, "pids.current"), "blkio_stats", blkio_json(s->pid, v2),
                        "num_procs", 0, "storage_stats", "cpu_stats", cpu, "precpu_stats", pre, "memory_stats",
                        memory_json(s->pid, v2), "name", s->name, "id", s->id);
  json_t *net = net_json(s->pid);
  if (j && net) json_object_set_new(j, "networks", net);
  else json_decref(net);
  snprintf(s->prev_read, sizeof(s->prev_read), "%s", now);
  return j;
}

static ssize_t stats_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct sampler *s = cls;
  if (s->n > 0 && !s->stream) return MHD_CONTENT_READER_END_OF_STREAM;
  if (s->n > 0) {
    /* a sample a second while the container runs */
    struct pollfd p = {.fd = s->d->stop_efd, .events = POLLIN};
    if (poll(&p, 1, 1000) > 0) return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&s->st->mu);
    bool running = s->st->running;
    pthread_mutex_unlock(&s->st->mu);
    if (!running) return MHD_CONTENT_READER_END_OF_STREAM;
  }
  if (s->n == 0 && !s->stream && !s->one_shot) {
    /* one answer with a CPU delta in it, as Docker's: a first sample becomes precpu */
    json_decref(sample(s));
    struct pollfd p = {.fd = s->d->stop_efd, .events = POLLIN};
    if (poll(&p, 1, 1000) > 0) return MHD_CONTENT_READER_END_OF_STREAM;
  }
  s->n++;
  json_t *j = sample(s);
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  size_t n = strlen(text);
  if (n + 1 > max) n = max - 1;
  memcpy(buf, text, n);
  buf[n] = '\n';
  free(text);
  return (ssize_t)n + 1;
}

static void stats_free(void *cls) {
  struct sampler *s = cls;
  json_decref(s->prev_cpu);
  ctr_state_put(s->d->ctrs, s->st);
  free(s->name);
  free(s);
}

int h_ctr_stats(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, req_param(r, "id"), &c, err);
  if (rc < 0) return rc;
  bool up = strcmp(c->status, "running") == 0 || strcmp(c->status, "paused") == 0;
  if (!up || c->pid <= 0) {
    /* moby: a container that does not run has empty stats, its name and id only (stats -a) */
    static const char empty[] =
        "{\"read\":\"0001-01-01T00:00:00Z\",\"preread\":\"0001-01-01T00:00:00Z\",\"pids_stats\":{},"
        "\"blkio_stats\":{\"io_service_bytes_recursive\":null,\"io_serviced_recursive\":null},\"num_procs\":0,"
        "\"storage_stats\":{},\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":0,\"usage_in_kernelmode\":0,"
        "\"usage_in_usermode\":0},\"throttling_data\":{\"periods\":0,\"throttled_periods\":0,\"throttled_time\":0}},"
        "\"precpu_stats\":{\"cpu_usage\":{\"total_usage\":0,\"usage_in_kernelmode\":0,\"usage_in_usermode\":0},"
        "\"throttling_data\":{\"periods\":0,\"throttled_periods\":0,\"throttled_time\":0}},\"memory_stats\":{}}";
    out->json = json_loads(empty, 0, NULL);
    json_object_set_new(out->json, "name", json_sprintf("/%s", c->name));
    json_object_set_new(out->json, "id", json_string(c->id));
    return 0;
  }
  struct sampler *s = xcalloc(1, sizeof(*s));
  s->d = r->d;
  memcpy(s->id, c->id, sizeof(s->id));
  s->name = xasprintf("/%s", c->name);
  s->pid = c->pid;
  s->st = ctr_state_get(r->d->ctrs, c->id);
  s->stream = req_query_bool(r, "stream", true);
  /* one-shot (API 1.41, with stream=0): the sample at once, no precpu, as Docker */
  s->one_shot = !s->stream && req_query_bool(r, "one-shot", false);
  out->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stats_read, s, stats_free);
  MHD_add_response_header(out->resp, "Content-Type", "application/json");
  return 0;
}
