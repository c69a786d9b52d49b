/* inspect.c - inspect, container inspect, image inspect: indented JSON arrays or -f templates */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/format/format.h"
#include "common/xalloc.h"

/* get_raw: GET path, the body kept byte for byte (docker indents the daemon's JSON as it came) */
static int get_raw(struct cli *cli, const char *path, struct buf *body, struct berth_error **err) {
  _cleanup_conn_ struct cli_conn c = {.fd = -1};
  int r = cli_conn_open(cli, &c, "GET", path, NULL, NULL, 0, false, err);
  if (r == 0) r = cli_conn_read_head(&c, err);
  if (r < 0) return r;
  if (c.status >= 400) return cli_daemon_error(&c, err);
  return cli_conn_slurp(&c, body, err);
}

struct kind {
  const char *type, *fmt, *word;
};
static const struct kind kinds[] = {
    {"container", "/containers/%s/json%s", "container"},
    {"image", "/images/%s/json", "image"},
    {"network", "/networks/%s", "network"},
    {"volume", "/volumes/%s", "volume"},
};

/* find: the object NAME of type (NULL: container, then image, network, volume, like docker) */
static int find(struct cli *cli, const char *type, const char *name, bool size, struct buf *body, struct berth_error **err) {
  _cleanup_free_ char *enc = cli_urlenc(name);
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    if (type && strcmp(type, kinds[i].type) != 0) continue;
    _cleanup_free_ char *path = xasprintf(kinds[i].fmt, enc, size ? "?size=1" : "");
    buf_reset(body);
    int r = get_raw(cli, path, body, err);
    if (r != -ENOENT) return r;
    berr_clear(err);
    if (type) return berr(err, ENOENT, "Error: No such %s: %s", kinds[i].word, name);
  }
  return berr(err, ENOENT, "Error: No such object: %s", name);
}

static int inspect(struct cli *cli, struct cli_opts *o, const char *type, struct berth_error **err) {
  const char *format = opt_str(o, "format");
  _cleanup_tmpl_ struct tmpl *t = NULL;
  if (format && *format) {
    int r = tmpl_parse(format, &t, err);
    if (r < 0) return r;
  }
  _cleanup_buf_ struct buf all = {0}, errs = {0}, out = {0};
  buf_putc(&all, '[');
  size_t found = 0;
  for (size_t i = 0; o->args[i]; i++) {
    _cleanup_buf_ struct buf body = {0};
    _cleanup_berr_ struct berth_error *one = NULL;
    if (find(cli, type, o->args[i], opt_bool(o, "size"), &body, &one) < 0) {
      buf_printf(&errs, "%s%s", errs.len ? "\n" : "", berr_msg(one));
      if (one && one->code != ENOENT) break; /* the daemon is gone: docker stops too */
      continue;
    }
    if (t) {
      json_error_t je;
      _cleanup_json_ json_t *v = json_loadb(body.p ? body.p : "", body.len, 0, &je);
      if (!v) return berr(err, EPROTO, "bad JSON from the daemon: %s", je.text);
      int r = tmpl_exec(t, v, &out, err);
      if (r < 0) return berr_prefix(err, "Template parsing error");
      buf_putc(&out, '\n');
    } else {
      if (found) buf_putc(&all, ',');
      if (body.p) buf_append(&all, body.p, body.len);
    }
    found++;
  }
  buf_putc(&all, ']');
  if (t) {
    if (out.p) fputs(out.p, stdout);
  } else {
    _cleanup_free_ char *ind = fmt_json_indent(all.p, all.len, "    ");
    printf("%s\n", ind);
  }
  fflush(stdout);
  if (errs.len) return berr(err, ENOENT, "%s", errs.p);
  return 0;
}

static int cmd_inspect(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  const char *type = opt_str(o, "type");
  if (type && !*type) type = NULL;
  if (type) {
    bool ok = false;
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) ok |= strcmp(kinds[i].type, type) == 0;
    if (!ok) return berr(err, EINVAL, "\"%s\" is not a valid value for --type", type);
  }
  return inspect(cli, o, type, err);
}

static int cmd_container_inspect(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return inspect(cli, o, "container", err);
}

static int cmd_image_inspect(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return inspect(cli, o, "image", err);
}

static int cmd_network_inspect(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return inspect(cli, o, "network", err);
}

static int cmd_volume_inspect(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return inspect(cli, o, "volume", err);
}

static const struct cli_flag inspect_flags[] = {
    {'f', "format", FLAG_STRING, "Format the output using the given Go template", "string"},
    {'s', "size", FLAG_BOOL, "Display total file sizes if the type is container", NULL},
    {0, "type", FLAG_STRING, "Return JSON for specified type", "string"},
};
static const struct cli_flag container_inspect_flags[] = {
    {'f', "format", FLAG_STRING, "Format the output using the given Go template", "string"},
    {'s', "size", FLAG_BOOL, "Display total file sizes", NULL},
};
static const struct cli_flag image_inspect_flags[] = {
    {'f', "format", FLAG_STRING, "Format the output using the given Go template", "string"},
};

const struct cli_cmd cli_inspect_cmds[] = {
    {"inspect", "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Docker objects", cmd_inspect,
     CMD_FLAGS(inspect_flags), 1, -1, false, 1},
    {"container-inspect", "[OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers",
     cmd_container_inspect, CMD_FLAGS(container_inspect_flags), 1, -1, false, 1},
    {"image-inspect", "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
     cmd_image_inspect, CMD_FLAGS(image_inspect_flags), 1, -1, false, 1},
    {"network-inspect", "[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks",
     cmd_network_inspect, CMD_FLAGS(image_inspect_flags), 1, -1, false, 1},
    {"volume-inspect", "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
     cmd_volume_inspect, CMD_FLAGS(image_inspect_flags), 1, -1, false, 1},
};
const size_t cli_inspect_ncmds = ARRAY_SIZE(cli_inspect_cmds);
