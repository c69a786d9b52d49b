/* reference.c - Docker image references: parse, validate and reduce to the familiar "repo:tag"
 * form the tag table is keyed by (grammar: distribution/reference's reference.go) */
#include "image/image_int.h"
#include "common/ids.h"
#include "common/xalloc.h"
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* path component: [a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )* */
static bool path_component_ok(const char *s, size_t n) {
  size_t i = 0;
  if (n == 0 || !is_lower_alnum(s[0])) return false;
  while (i < n) {
    while (i < n && is_lower_alnum(s[i])) i++;
    if (i == n) return true;
    size_t sep = i;
    if (s[i] == '.') i++;
    else if (s[i] == '_') i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
    else
      while (i < n && s[i] == '-') i++;
    if (i == sep || i == n || !is_lower_alnum(s[i])) return false;
  }
  return true;
}

/* domain: label ( "." label )* [ ":" port ], label = [a-zA-Z0-9] ( [a-zA-Z0-9-]* [a-zA-Z0-9] )? */
static bool domain_ok(const char *s, size_t n) {
  const char *colon = memchr(s, ':', n);
  size_t host_n = colon ? (size_t)(colon - s) : n;
  if (colon) {
    size_t pn = n - host_n - 1;
    if (pn == 0) return false;
    for (size_t i = host_n + 1; i < n; i++)
      if (!isdigit((unsigned char)s[i])) return false;
  }
  size_t start = 0;
  for (size_t i = 0; i <= host_n; i++) {
    if (i < host_n && s[i] != '.') {
      if (!isalnum((unsigned char)s[i]) && s[i] != '-') return false;
      continue;
    }
    if (i == start || s[start] == '-' || s[i - 1] == '-') return false;
    start = i + 1;
  }
  return true;
}

static bool tag_ok(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > TAG_MAX_LEN) return false;
  if (!(isalnum((unsigned char)t[0]) || t[0] == '_')) return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-')) return false;
  return true;
}

/* has_domain: Docker's splitDockerDomain rule for "is the first component a registry host" */
static bool has_domain(const char *name, size_t first_len) {
  if (first_len == strlen(name)) return false;
  if (first_len == 9 && strncmp(name, "localhost", 9) == 0) return true;
  for (size_t i = 0; i < first_len; i++)
    if (name[i] == '.' || name[i] == ':' || isupper((unsigned char)name[i])) return true;
  return false;
}

static int bad(struct berth_error **err, const char *why) {
  return berr(err, EINVAL, "invalid reference format%s%s", why ? ": " : "", why ? why : "");
}

static int check_path(const char *path, struct berth_error **err) {
  for (const char *p = path;;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (!path_component_ok(p, n)) {
      for (size_t i = 0; i < n; i++)
        if (isupper((unsigned char)p[i])) return bad(err, "repository name must be lowercase");
      return bad(err, NULL);
    }
    if (!slash) return 0;
    p = slash + 1;
  }
}

/* digest_ref: "name[:tag]@sha256:<hex>" -> "familiar-name@sha256:<hex>" (a tag beside a digest
 * is ignored for lookups, as Docker's reference store keys canonical references by name and digest) */
static int digest_ref(const char *ref, const char *at, char **out, struct berth_error **err) {
  const char *dg = at + 1;
  if (strncmp(dg, "sha256:", 7) != 0 || !id_is_hex(dg + 7, 64)) return bad(err, NULL);
  _cleanup_free_ char *name = xstrndup(ref, (size_t)(at - ref));
  _cleanup_free_ char *norm = NULL;
  if (strchr(name, '@')) return bad(err, NULL);
  int r = reference_normalize(name, &norm, err);
  if (r < 0) return r;
  *strrchr(norm, ':') = '\0'; /* normalize always adds a tag */
  *out = xasprintf("%s@%s", norm, dg);
  return 0;
}

int reference_normalize(const char *ref, char **out, struct berth_error **err) {
  if (!ref || !*ref) return bad(err, NULL);
  if (id_is_hex(ref, 64))
    return berr(err, EINVAL, "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", ref);
  const char *at = strchr(ref, '@');
  if (at) return digest_ref(ref, at, out, err);
  _cleanup_free_ char *name = xstrdup(ref);
  const char *tag = "latest";
  char *last_slash = strrchr(name, '/');
  char *colon = strrchr(last_slash ? last_slash : name, ':');
  if (colon) {
    *colon = '\0';
    tag = colon + 1;
    if (!tag_ok(tag)) return bad(err, NULL);
  }
  if (strlen(name) > NAME_MAX_LEN) return bad(err, "repository name must not be more than 255 characters");
  const char *slash = strchr(name, '/');
  size_t first_len = slash ? (size_t)(slash - name) : strlen(name);
  const char *path = name;
  const char *domain = NULL;
  size_t domain_len = 0;
  if (has_domain(name, first_len)) {
    if (!domain_ok(name, first_len)) return bad(err, NULL);
    domain = name;
    domain_len = first_len;
    path = name + first_len + 1;
  }
  int r = check_path(path, err);
  if (r < 0) return r;
  bool hub = !domain || (domain_len == 9 && strncmp(domain, "docker.io", 9) == 0) ||
             (domain_len == 15 && strncmp(domain, "index.docker.io", 15) == 0);
  if (hub) {
    /* "docker.io/library/x" and "library/x" are "x"; other hub repos drop only the domain */
    if (strncmp(path, "library/", 8) == 0 && !strchr(path + 8, '/')) path += 8;
    *out = xasprintf("%s:%s", path, tag);
  } else {
    *out = xasprintf("%.*s/%s:%s", (int)domain_len, domain, path, tag);
  }
  return 0;
}

int image_tag_ref(const char *ref, char **out, struct berth_error **err) {
  if (ref && strchr(ref, '@')) return berr(err, EINVAL, "refusing to create a tag with a digest reference");
  return reference_normalize(ref, out, err);
}
