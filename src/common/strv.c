/* strv.c - NULL-terminated string vectors */
#include "common/strv.h"
#include "common/xalloc.h"

size_t strv_len(char *const *v) {
  size_t n = 0;
  while (v && v[n]) n++;
  return n;
}

char **strv_push_take(char **v, char *s) {
  size_t n = strv_len(v);
  v = xrealloc(v, (n + 2) * sizeof(char *));
  v[n] = s;
  v[n + 1] = NULL;
  return v;
}

char **strv_push(char **v, const char *s) { return strv_push_take(v, xstrdup(s)); }

void strv_free(char **v) {
  if (!v) return;
  for (size_t i = 0; v[i]; i++) free(v[i]);
  free(v);
}
