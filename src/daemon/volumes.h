/* volumes.h - volumes (D/volumes/NAME/_data, table "volumes") and a container's mounts: -v binds,
 * named and anonymous volumes, image VOLUMEs, --volumes-from; the OCI mounts and inspect's Mounts */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include "common/error.h"

struct daemon;

/* ---------- the volume store (vol_store.c) ---------- */

/* vol_create: make volume name (NULL: an anonymous one, 64 hex) with its directory and row; an
 * existing name is returned as it is. *out (optional) gets the volume's inspect JSON. */
int vol_create(struct daemon *d, const char *name, const json_t *labels, const json_t *opts, json_t **out,
               struct berth_error **err);
/* vol_get: inspect JSON of a volume; ENOENT "get NAME: no such volume" */
int vol_get(struct daemon *d, const char *name, json_t **out, struct berth_error **err);
/* vol_list: every volume, as inspect JSON */
int vol_list(struct daemon *d, json_t **out, struct berth_error **err);
/* vol_remove: delete a volume and its data; EBUSY (409) while a container uses it; with force a
 * missing volume is fine */
int vol_remove(struct daemon *d, const char *name, bool force, struct berth_error **err);
/* vol_prune: remove unused volumes (anonymous ones only unless all) whose labels match every
 * value of WITH and none of WITHOUT (arrays of "KEY" or "KEY=VALUE", may be NULL);
 * *out {VolumesDeleted, SpaceReclaimed} */
int vol_prune(struct daemon *d, bool all, const json_t *with, const json_t *without, json_t **out,
              struct berth_error **err);
/* vol_users: how many existing containers use the volume (0: dangling) */
int vol_users(struct daemon *d, const char *name, struct berth_error **err);
/* vol_ref_add: container id uses volume name */
int vol_ref_add(struct daemon *d, const char *name, const char *id, struct berth_error **err);
/* vol_ctr_forget: the container id is gone: drop its references; with remove_anon also remove the
 * anonymous volumes it used that no other container uses (rm -v, --rm) */
void vol_ctr_forget(struct daemon *d, const char *id, bool remove_anon);
/* vol_data_dir: D/volumes/NAME/_data (heap) */
char *vol_data_dir(struct daemon *d, const char *name);

/* ---------- a container's mounts (vol_mounts.c) ---------- */

/* One parsed -v "SRC:DST[:MODE]" (pure, unit-tested). src NULL: anonymous volume. */
struct vol_bind {
  char *src;
  char *dst;
  char *mode; /* as given, "" when none */
  bool is_volume;
  bool rw;
  const char *propagation; /* "rprivate", "rshared"...: binds only */
  bool nocopy;
};
void vol_bind_clear(struct vol_bind *b);
int vol_bind_parse(const char *spec, struct vol_bind *out, struct berth_error **err);

/* vol_ctr_setup: at create, the container's Mounts from HostConfig.Binds, VolumesFrom and
 * Config.Volumes (volumes made, host dirs created, references kept), saved as dir/mounts.json */
int vol_ctr_setup(struct daemon *d, const char *id, const json_t *cfg, const json_t *hc, const char *dir,
                  struct berth_error **err);
/* vol_mounts_json: inspect's Mounts of the container whose directory is dir (new reference) */
json_t *vol_mounts_json(const char *dir);
/* vol_spec_apply: the container's mounts into the OCI spec (a user bind replaces berth's own
 * /etc/hosts, /etc/hostname, /etc/resolv.conf); new volumes get the image's content first */
int vol_spec_apply(json_t *spec, const char *dir, struct berth_error **err);

/* ---------- handlers (h_volumes.c) ---------- */

struct req;
struct reply;
int h_volumes_list(struct req *r, struct reply *out, struct berth_error **err);
int h_volumes_create(struct req *r, struct reply *out, struct berth_error **err);
int h_volume_inspect(struct req *r, struct reply *out, struct berth_error **err);
int h_volume_remove(struct req *r, struct reply *out, struct berth_error **err);
int h_volumes_prune(struct req *r, struct reply *out, struct berth_error **err);
/* h_ctr_delete_volumes: DELETE /containers/{id} removed container id: its volume references go,
 * and with v=1 its anonymous volumes */
void h_ctr_delete_volumes(struct req *r, const char *id);
