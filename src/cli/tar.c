/* tar.c - the build context as a POSIX (pax) tar in memory: a directory walk that honours .dockerignore */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "cli/tar.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* octal: a NUL-terminated, zero-padded octal field (values past its width keep their low digits) */
static void octal(char *field, size_t size, unsigned long long v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof(tmp), "%0*llo", (int)size - 1, v);
  memcpy(field, tmp + n - (int)(size - 1), size - 1);
  field[size - 1] = 0;
}

static void pax_record(struct buf *b, const char *key, const char *val) {
  size_t n = strlen(key) + strlen(val) + 3; /* " " "=" "\n" */
  size_t digits = 1;
  for (size_t t = n + 1; t >= 10; t /= 10) digits++;
  size_t total = n + digits;
  if (snprintf(NULL, 0, "%zu", total) > (int)digits) total++;
  buf_printf(b, "%zu %s=%s\n", total, key, val);
}

static void header(struct buf *out, const char *name, const struct stat *st, char type, const char *link,
                   unsigned long long size);

static void pad(struct buf *out, size_t n) {
  static const char zeros[512];
  if (n % 512) buf_append(out, zeros, 512 - n % 512);
}

/* header: one ustar header; names too long for it go first in a pax 'x' record */
static void header(struct buf *out, const char *name, const struct stat *st, char type, const char *link,
                   unsigned long long size) {
  bool long_name = strlen(name) > 99, long_link = link && strlen(link) > 99;
  if (long_name || long_link) {
    struct buf pax = {0};
    if (long_name) pax_record(&pax, "path", name);
    if (long_link) pax_record(&pax, "linkpath", link);
    struct stat pst = {.st_mode = 0644, .st_mtime = st->st_mtime};
    header(out, "PaxHeaders/x", &pst, 'x', NULL, pax.len);
    buf_append(out, pax.p, pax.len);
    pad(out, pax.len);
    buf_free(&pax);
  }
  char h[512] = {0};
  snprintf(h, 100, "%s", name);
  octal(h + 100, 8, st->st_mode & 07777);
  octal(h + 108, 8, st->st_uid);
  octal(h + 116, 8, st->st_gid);
  octal(h + 124, 12, size);
  octal(h + 136, 12, (unsigned long long)(st->st_mtime > 0 ? st->st_mtime : 0));
  h[156] = type;
  if (link) snprintf(h + 157, 100, "%s", link);
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  if (type == '3' || type == '4') {
    octal(h + 329, 8, major(st->st_rdev));
    octal(h + 337, 8, minor(st->st_rdev));
  }
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; i++) sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  buf_append(out, h, 512);
}

int tar_add_file_data(struct buf *out, const char *name, const void *data, size_t len, mode_t mode) {
  struct stat st = {.st_mode = mode, .st_mtime = 0};
  header(out, name, &st, '0', NULL, len);
  buf_append(out, data, len);
  pad(out, len);
  return 0;
}

void tar_finish(struct buf *out) {
  static const char zeros[1024];
  buf_append(out, zeros, sizeof(zeros));
}

/* ------------------------------------------------------------------ .dockerignore */

static char *clean_pattern(const char *p) {
  while (*p == '/') p++;
  while (p[0] == '.' && p[1] == '/') p += 2;
  char *s = xstrdup(p);
  size_t n = strlen(s);
  while (n > 1 && s[n - 1] == '/') s[--n] = 0;
  return s;
}

int tar_read_ignore(const char *dir, char ***patterns, struct berth_error **err) {
  _cleanup_free_ char *path = path_join(dir, ".dockerignore");
  _cleanup_free_ char *data = NULL;
  size_t len;
  struct berth_error *e = NULL;
  if (read_file(path, &data, &len, &e) < 0) {
    int code = e ? e->code : EIO;
    berr_free(e);
    return code == ENOENT ? 0 : berr(err, code, "read %s", path);
  }
  char *save = NULL;
  for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = 0;
    while (*line == ' ' || *line == '\t') line++;
    if (!*line || *line == '#') continue;
    bool neg = *line == '!';
    _cleanup_free_ char *c = clean_pattern(neg ? line + 1 : line);
    *patterns = strv_push_take(*patterns, xasprintf("%s%s", neg ? "!" : "", c));
  }
  return 0;
}

/* match_one: a pattern against a path or any of its parent directories; "**" matches any depth */
static bool match_one(const char *pat, const char *path) {
  _cleanup_free_ char *p = xstrdup(path);
  for (;;) {
    if (fnmatch(pat, p, FNM_PATHNAME) == 0) return true;
    if (strstr(pat, "**")) { /* a double star crosses directories, and a leading one may match nothing */
      if (fnmatch(pat, p, 0) == 0) return true;
      _cleanup_free_ char *q = xstrdup(pat);
      for (char *s; (s = strstr(q, "**/"));) memmove(s, s + 3, strlen(s + 3) + 1);
      if (fnmatch(q, p, 0) == 0) return true;
    }
    char *slash = strrchr(p, '/');
    if (!slash) return false;
    *slash = 0;
  }
}

bool tar_ignored(char **patterns, const char *rel) {
  bool ignored = false;
  for (size_t i = 0; patterns && patterns[i]; i++) {
    const char *pat = patterns[i];
    bool neg = *pat == '!';
    if (match_one(neg ? pat + 1 : pat, rel)) ignored = !neg;
  }
  return ignored;
}

/* ------------------------------------------------------------------ the walk */

static int add_path(struct buf *out, const char *root, const char *rel, char **ignore, struct berth_error **err);

static int add_dir(struct buf *out, const char *root, const char *rel, char **ignore, struct berth_error **err) {
  _cleanup_free_ char *full = *rel ? path_join(root, rel) : xstrdup(root);
  _cleanup_closedir_ DIR *d = opendir(full);
  if (!d) return berr_sys(err, errno, "open directory \"%s\"", full);
  _cleanup_strv_ char **names = NULL;
  for (struct dirent *de; (de = readdir(d));) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    names = strv_push(names, de->d_name);
  }
  size_t n = strv_len(names);
  if (n) qsort(names, n, sizeof(char *), (int (*)(const void *, const void *))strcmp); /* stable archives */
  for (size_t i = 0; i < n; i++) {
    _cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
    int r = add_path(out, root, child, ignore, err);
    if (r < 0) return r;
  }
  return 0;
}

static int add_regular(struct buf *out, const char *full, const char *rel, const struct stat *st, struct berth_error **err) {
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  int r = read_file(full, &data, &len, err);
  if (r < 0) return r;
  header(out, rel, st, '0', NULL, len);
  buf_append(out, data, len);
  pad(out, len);
  return 0;
}

static int add_path(struct buf *out, const char *root, const char *rel, char **ignore, struct berth_error **err) {
  bool skip = tar_ignored(ignore, rel);
  _cleanup_free_ char *full = path_join(root, rel);
  struct stat st;
  if (lstat(full, &st) < 0) return berr_sys(err, errno, "stat \"%s\"", full);
  if (skip && !S_ISDIR(st.st_mode)) return 0;
  if (S_ISDIR(st.st_mode)) {
    if (!skip) {
      _cleanup_free_ char *name = xasprintf("%s/", rel);
      header(out, name, &st, '5', NULL, 0);
    }
    /* an ignored directory may still hold "!exceptions" */
    bool has_exception = false;
    for (size_t i = 0; ignore && ignore[i]; i++) has_exception |= ignore[i][0] == '!';
    if (skip && !has_exception) return 0;
    return add_dir(out, root, rel, ignore, err);
  }
  if (S_ISREG(st.st_mode)) return add_regular(out, full, rel, &st, err);
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(full, target, sizeof(target) - 1);
    if (n < 0) return berr_sys(err, errno, "readlink \"%s\"", full);
    target[n] = 0;
    header(out, rel, &st, '2', target, 0);
    return 0;
  }
  return 0; /* sockets, fifos and devices are not sent, as docker's archiver skips sockets */
}

int tar_dir(struct buf *out, const char *root, char **ignore, struct berth_error **err) {
  return add_dir(out, root, "", ignore, err);
}
