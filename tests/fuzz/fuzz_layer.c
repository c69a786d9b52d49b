/* fuzz_layer.c - libFuzzer target for the layer tar reader: each input is extracted with
 * layer_apply_tar into a fresh directory; anything appearing beside that directory is an escape */
#include "common/fs.h"
#include "common/xalloc.h"
#include "image/image_int.h"
#include <archive.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the one scratch directory of this process: BASE/root is extracted into, BASE holds nothing else */
static char base[] = "/tmp/fuzz_layer.XXXXXX";

static void cleanup_base(void) { rm_rf(base, NULL); }

static const char *scratch(void) {
  static bool made;
  if (!made) {
    if (!mkdtemp(base)) abort();
    atexit(cleanup_base);
    made = true;
  }
  return base;
}

/* escaped: BASE holds something besides "root": an entry was written outside the layer */
static bool escaped(const char *b) {
  _cleanup_closedir_ DIR *d = opendir(b);
  if (!d) abort();
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "root")) {
      fprintf(stderr, "escape: %s/%s\n", b, de->d_name);
      return true;
    }
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *b = scratch();
  _cleanup_free_ char *root = xasprintf("%s/root", b);
  if (mkdir(root, 0755) < 0 && errno != EEXIST) abort();
  int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) abort();
  struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, data, size) == ARCHIVE_OK) {
    struct berth_error *err = NULL;
    int64_t bytes = 0;
    /* overlay's whiteouts need mknod and trusted.* xattrs: root only */
    layer_apply_tar(dfd, a, getuid() == 0 ? LAYER_WHITEOUT_OVERLAY : LAYER_WHITEOUT_DELETE, &bytes, &err);
    berr_free(err);
  }
  archive_read_free(a);
  close(dfd);
  if (escaped(b)) abort();
  if (rm_rf(root, NULL) < 0) abort();
  return 0;
}
