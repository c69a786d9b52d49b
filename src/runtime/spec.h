/* spec.h - OCI runtime config.json: Docker's default spec and validation (jansson only, no syscalls) */
#pragma once
#include <jansson.h>
#include "common/error.h"

#define OCI_VERSION "1.0.2"

/* oci_spec_default: a new config.json object with Docker's defaults for a container
 * (process, root "rootfs", mounts, namespaces, masked and read-only paths); caller owns it */
json_t *oci_spec_default(void);

/* oci_spec_validate: check that spec is a config.json this runtime can run: types, absolute
 * paths, known namespace types and rlimits, well-formed capability names; 0 or -EINVAL with a
 * sentence naming the offending field */
int oci_spec_validate(json_t *spec, struct berth_error **err);

/* oci_rlimit_resource: "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 if unknown */
int oci_rlimit_resource(const char *name);

/* oci_namespace_clone_flag: "pid" -> CLONE_NEWPID ...; 0 if unknown */
int oci_namespace_clone_flag(const char *type);

static inline void cleanup_jsonp(json_t **j) {
  if (*j) json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(cleanup_jsonp)))
