/* h_networks.c - /networks: the predefined networks (bridge, host, none); user-defined networks
 * are refused with a clear message until they exist */
#include "daemon/daemon.h"
#include "network/network.h"
#include <errno.h>
#include <string.h>

int h_networks_list(struct req *r, struct reply *out, struct berth_error **err) {
  out->json = net_networks_json(r->d->net);
  return 0;
}

int h_network_inspect(struct req *r, struct reply *out, struct berth_error **err) {
  return net_network_inspect(r->d->net, req_param(r, "id"), &out->json, err);
}

/* h_network_remove: Docker answers 403 for the predefined ones; anything else does not exist */
int h_network_remove(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *n = NULL;
  int rc = net_network_inspect(r->d->net, req_param(r, "id"), &n, err);
  if (rc < 0) return rc;
  return berr(err, EPERM, "%s is a pre-defined network and cannot be removed",
              json_string_value(json_object_get(n, "Name")));
}

int h_networks_unsupported(struct req *r, struct reply *out, struct berth_error **err) {
  return berr(err, ENOTSUP, "user-defined networks are not supported yet (%s %s)", r->method, r->path);
}
