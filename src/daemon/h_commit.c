/* h_commit.c - a container's filesystem: commit to an image, list changes, export as a tar
 * streamed while it is written */
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "image/image.h"
#include "storage/storage.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <pthread.h>
#include <microhttpd.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static enum MHD_Result collect_changes(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  char ***v = cls;
  if (strcmp(key, "changes") == 0 && value && *value) *v = strv_push(*v, value);
  return MHD_YES;
}

/* commit_freeze: pause or unpause id through the pause handlers (the runtime's cgroup freezer) */
static int commit_freeze(struct req *r, const char *id, bool pause, struct berth_error **err) {
  struct req pr = {.d = r->d, .nparams = 1, .param_names = {(char *)"id"}, .params = {(char *)id}};
  struct reply rep = {0};
  int rc = (pause ? h_ctr_pause : h_ctr_unpause)(&pr, &rep, err);
  json_decref(rep.json);
  buf_free(&rep.body);
  return rc;
}

/* wants_pause: ?pause= is true unless given as 0/false (the API's default is true) */
static bool wants_pause(struct req *r) {
  const char *p = req_query(r, "pause");
  return !p || !(strcmp(p, "0") == 0 || strcasecmp(p, "false") == 0);
}

int h_commit(struct req *r, struct reply *out, struct berth_error **err) {
  const char *ref = req_query(r, "container");
  if (!ref || !*ref) return berr(err, EINVAL, "container= must be given");
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, ref, &c, err);
  if (rc < 0) return rc;
  _cleanup_json_ json_t *body = NULL;
  rc = req_body_json(r, &body, err);
  if (rc < 0) return rc;
  _cleanup_json_ json_t *cfg = json_loads(c->config_json, 0, NULL);
  /* a Config in the body (commit --change comes as changes=) overrides the container's */
  if (json_is_object(body) && json_object_size(body) > 0) json_object_update(cfg, body);
  _cleanup_strv_ char **changes = NULL;
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_changes, &changes);
  const char *repo = req_query(r, "repo"), *tag = req_query(r, "tag");
  _cleanup_free_ char *repo_tag = NULL;
  if (repo && *repo) repo_tag = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
  _cleanup_free_ char *dir = ctr_dir(r->d, c->id);
  struct image_commit_opts o = {.parent_id = c->image_id,
                                .ctr_dir = dir,
                                .container_id = c->id,
                                .config = cfg,
                                .changes = changes,
                                .comment = req_query(r, "comment"),
                                .author = req_query(r, "author"),
                                .repo_tag = repo_tag};
  _cleanup_free_ char *id = NULL;
  /* commit -p (the default): the processes stand still while their files are read */
  bool paused = wants_pause(r) && strcmp(c->status, "running") == 0;
  if (paused && (rc = commit_freeze(r, c->id, true, err)) < 0) return rc;
  rc = image_commit(r->d->images, &o, &id, err);
  _cleanup_berr_ struct berth_error *uerr = NULL;
  if (paused && commit_freeze(r, c->id, false, rc < 0 ? &uerr : err) < 0 && rc == 0) rc = -EIO;
  if (rc < 0) return rc;
  /* Docker's container "commit" event names the comment and the new image */
  events_emit(r->d, "container", "commit", c->id,
              json_pack("{s:s, s:s, s:s}", "comment", o.comment ? o.comment : "", "imageID", id, "imageRef",
                        repo_tag ? repo_tag : ""));
  out->status = 201;
  out->json = json_pack("{s:s}", "Id", id);
  return 0;
}

int h_ctr_changes(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, req_param(r, "id"), &c, err);
  if (rc < 0) return rc;
  _cleanup_image_ struct image *img = NULL;
  rc = image_get(r->d->images, c->image_id, &img, err);
  if (rc < 0) return rc;
  _cleanup_free_ char *dir = ctr_dir(r->d, c->id);
  return image_container_changes(r->d->images, dir, img->chain_ids, &out->json, err);
}

/* An export in flight: the container's turn is held and its rootfs mounted until the thread has
 * written the whole tar into the pipe the response reads (docker streams export too: an error
 * past this point truncates the stream) */
struct export_job {
  struct daemon *d;
  struct ctr_state *st;
  char *dir;
  bool running;
  int fd;
};

static void *export_thread(void *arg) {
  struct export_job *j = arg;
  _cleanup_berr_ struct berth_error *e = NULL;
  _cleanup_free_ char *rootfs = path_join(j->dir, "rootfs");
  if (image_export_dir(rootfs, j->fd, &e) < 0)
    log_msg(LOG_LVL_WARN, "berthd", "Export of \"%s\": %s", j->dir, berr_msg(e));
  close(j->fd);
  if (!j->running) storage_container_umount(j->d->storage, j->dir, NULL);
  ctr_lifecycle_end(j->st);
  ctr_state_put(j->d->ctrs, j->st);
  free(j->dir);
  free(j);
  return NULL;
}

/* export_start: mount the rootfs (for the time of the export when the container is stopped) and
 * start the thread writing it into a pipe; *rfd = the pipe's read end */
static int export_start(struct daemon *d, struct ctr_state *st, const struct store_container *c, int *rfd,
                        struct berth_error **err) {
  _cleanup_image_ struct image *img = NULL;
  int rc = image_get(d->images, c->image_id, &img, err);
  if (rc < 0) return rc;
  _cleanup_free_ char *dir = ctr_dir(d, c->id);
  pthread_mutex_lock(&st->mu);
  bool running = st->running;
  pthread_mutex_unlock(&st->mu);
  rc = storage_container_mount(d->storage, dir, img->chain_ids, err);
  if (rc < 0) return rc;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) rc = berr_sys(err, errno, "pipe");
  struct export_job *j = rc == 0 ? xcalloc(1, sizeof(*j)) : NULL;
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (j) *j = (struct export_job){d, st, take_ptr(&dir), running, p[1]};
  int te = j ? pthread_create(&th, &attr, export_thread, j) : 0;
  pthread_attr_destroy(&attr);
  if (j && te == 0) {
    *rfd = p[0];
    return 0;
  }
  if (j) {
    rc = berr_sys(err, te, "start the export thread");
    close(p[0]);
    close(p[1]);
    dir = j->dir;
    free(j);
  }
  if (!running) storage_container_umount(d->storage, dir, NULL);
  return rc;
}

/* The response reads the pipe in big blocks (a pipe response would go by the connection's 32 kB
 * buffer: thousands more reads and sends for a big rootfs) */
#define EXPORT_BLOCK (1 << 20)

static ssize_t pipe_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  int fd = (int)(intptr_t)cls;
  for (;;) {
    ssize_t n = read(fd, buf, max);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
  }
}

static void pipe_close(void *cls) { close((int)(intptr_t)cls); }

int h_ctr_export(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, req_param(r, "id"), &c, err);
  if (rc < 0) return rc;
  struct ctr_state *st = ctr_state_get(r->d->ctrs, c->id);
  ctr_lifecycle_begin(st); /* no start or remove while the rootfs is read */
  int fd = -1;
  rc = export_start(r->d, st, c, &fd, err);
  if (rc < 0) { /* else the thread gives the turn and the state back */
    ctr_lifecycle_end(st);
    ctr_state_put(r->d->ctrs, st);
    return rc;
  }
  fcntl(fd, F_SETPIPE_SZ, EXPORT_BLOCK); /* the writer runs a block ahead (best effort) */
  out->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, EXPORT_BLOCK, pipe_read, (void *)(intptr_t)fd,
                                                pipe_close);
  MHD_add_response_header(out->resp, "Content-Type", "application/x-tar");
  return 0;
}
