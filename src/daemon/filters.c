/* filters.c - the pieces of Docker's `filters` query parameter that every list endpoint shares */
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include <string.h>

json_t *filter_values(json_t *vals) {
  if (json_is_array(vals)) return json_incref(vals);
  json_t *list = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(vals, k, v) json_array_append_new(list, json_string(k));
  return list;
}

bool filter_label_match(const json_t *labels, const char *want) {
  const char *eq = strchr(want, '=');
  _cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
  const char *have = json_string_value(json_object_get(labels, key));
  return have && (!eq || strcmp(have, eq + 1) == 0);
}
