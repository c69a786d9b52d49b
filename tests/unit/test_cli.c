/* test_cli.c - unit tests of the berth CLI: flags, Go templates, units, tables, quoting, env/labels, create bodies */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cli/cli.h"
#include "cli/format/format.h"
#include "cli/tar.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* ------------------------------------------------------------------ templates */

static char *render(const char *tmpl, const char *json) {
  json_t *data = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
  struct tmpl *t = NULL;
  struct berth_error *err = NULL;
  struct buf b = {0};
  char *res;
  if (tmpl_parse(tmpl, &t, &err) < 0 || tmpl_exec(t, data, &b, &err) < 0) res = xasprintf("ERR:%s", berr_msg(err));
  else res = buf_steal(&b);
  buf_free(&b);
  berr_free(err);
  tmpl_free(t);
  json_decref(data);
  return res;
}

#define EXPECT_RENDER(tmpl, json, want)     \
  do {                                      \
    char *got_ = render(tmpl, json);        \
    assert_string_equal(got_, want);        \
    free(got_);                             \
  } while (0)

static const char *doc =
    "{\"Name\":\"/web\",\"State\":{\"Pid\":42,\"Running\":true,\"Health\":null,\"Ratio\":0.5,\"Big\":1000000.0},"
    "\"Config\":{\"Env\":[\"A=1\",\"B=2\"],\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"Cmd\":[\"sleep\",\"600\"],"
    "\"Html\":\"<a&b>\"},\"Ports\":{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]},\"Empty\":[],\"Str\":\"\"}";

static void test_tmpl_fields(void **state) {
  EXPECT_RENDER("{{.Name}}", doc, "/web");
  EXPECT_RENDER("{{ .Name }}", doc, "/web");
  EXPECT_RENDER("{{.State.Pid}}", doc, "42");
  EXPECT_RENDER("{{.State.Running}}", doc, "true");
  EXPECT_RENDER("{{.State.Health}}", doc, "<nil>");
  EXPECT_RENDER("{{.State.Nope}}", doc, "<no value>");
  EXPECT_RENDER("{{.State.Ratio}} {{.State.Big}}", doc, "0.5 1e+06");
  EXPECT_RENDER("x{{.}}y", "\"s\"", "xsy");
  EXPECT_RENDER("{{$.Name}}", doc, "/web");
  EXPECT_RENDER("plain text", doc, "plain text");
}

static void test_tmpl_print_values(void **state) {
  EXPECT_RENDER("{{.Config.Env}}", doc, "[A=1 B=2]");
  EXPECT_RENDER("{{.Config.Labels}}", doc, "map[a:1 b:2]");
  EXPECT_RENDER("{{.Ports}}", doc, "map[80/tcp:[map[HostIp:0.0.0.0 HostPort:8080]]]");
  EXPECT_RENDER("{{.Empty}}", doc, "[]");
}

static void test_tmpl_functions(void **state) {
  EXPECT_RENDER("{{json .Config.Cmd}}", doc, "[\"sleep\",\"600\"]");
  EXPECT_RENDER("{{json .Config.Html}}", doc, "\"\\u003ca\\u0026b\\u003e\"");
  EXPECT_RENDER("{{json .State.Health}}", doc, "null");
  EXPECT_RENDER("{{index .Config.Labels \"a\"}}", doc, "1");
  EXPECT_RENDER("{{index .Config.Labels \"zz\"}}", doc, "");
  EXPECT_RENDER("{{index .Config.Env 1}}", doc, "B=2");
  EXPECT_RENDER("{{(index (index .Ports \"80/tcp\") 0).HostPort}}", doc, "8080");
  EXPECT_RENDER("{{upper .Name}}|{{lower \"AbC\"}}|{{title \"hello world\"}}", doc, "/WEB|abc|Hello World");
  EXPECT_RENDER("{{.Name | upper}}", doc, "/WEB");
  EXPECT_RENDER("{{len .Config.Env}}", doc, "2");
  EXPECT_RENDER("{{join .Config.Env \",\"}}", doc, "A=1,B=2");
  EXPECT_RENDER("{{split \"a:b\" \":\"}}", doc, "[a b]");
  EXPECT_RENDER("{{println .Name}}", doc, "/web\n");
  EXPECT_RENDER("{{printf \"%s-%d\" .Name .State.Pid}}", doc, "/web-42");
  EXPECT_RENDER("{{printf \"%5s|%-4d|%q\" \"ab\" 7 \"x\"}}", doc, "   ab|7   |\"x\"");
  EXPECT_RENDER("{{eq .State.Pid 42}} {{ne .Name \"/web\"}} {{lt 1 2}} {{not .State.Running}}", doc, "true false true false");
  EXPECT_RENDER("{{and .Name .Str}}|{{or .Str .Name}}", doc, "|/web");
  EXPECT_RENDER("{{truncate .Name 2}}|{{pad \"x\" 1 2}}|", doc, "/w| x  |");
  EXPECT_RENDER("{{nosuch .Name}}", doc, "ERR:template: function \"nosuch\" not defined");
}

static void test_tmpl_control(void **state) {
  EXPECT_RENDER("{{range .Config.Env}}[{{.}}]{{end}}", doc, "[A=1][B=2]");
  EXPECT_RENDER("{{range $i, $e := .Config.Env}}{{$i}}={{$e}};{{end}}", doc, "0=A=1;1=B=2;");
  EXPECT_RENDER("{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}} {{end}}", doc, "a:1 b:2 ");
  EXPECT_RENDER("{{range .Empty}}x{{else}}none{{end}}", doc, "none");
  EXPECT_RENDER("{{if .State.Running}}up{{else}}down{{end}}", doc, "up");
  EXPECT_RENDER("{{if .Str}}a{{else if .Name}}b{{else}}c{{end}}", doc, "b");
  EXPECT_RENDER("{{if .Str}}a{{else if .Empty}}b{{else}}c{{end}}", doc, "c");
  EXPECT_RENDER("{{with .State}}{{.Pid}}{{end}}", doc, "42");
  EXPECT_RENDER("{{$x := .Name}}{{$x}}", doc, "/web");
  EXPECT_RENDER("a  {{- .Name -}}  b", doc, "a/webb");
  EXPECT_RENDER("{{/* comment */}}ok", doc, "ok");
  EXPECT_RENDER("{{range $p, $conf := .Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}", doc, "80/tcp -> 8080");
}

static void test_tmpl_errors(void **state) {
  char *r = render("{{.Name", doc);
  assert_non_null(strstr(r, "ERR:Template parsing error"));
  free(r);
  r = render("{{if .Name}}x", doc);
  assert_non_null(strstr(r, "unexpected EOF"));
  free(r);
  r = render("{{end}}", doc);
  assert_non_null(strstr(r, "ERR:"));
  free(r);
  r = render("{{.Name.X}}", doc);
  assert_non_null(strstr(r, "can't evaluate field X"));
  free(r);
}

/* ------------------------------------------------------------------ tables */

static void test_tabwriter(void **state) {
  char *s = fmt_tabwrite("CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox:latest\tweb\n", 10, 3);
  assert_string_equal(s, "CONTAINER ID   IMAGE            NAMES\n"
                         "abc            busybox:latest   web\n");
  free(s);
  s = fmt_tabwrite("a\tb\n\xe2\x80\xa6\tc\n", 1, 1); /* widths count runes, not bytes */
  assert_string_equal(s, "a b\n\xe2\x80\xa6 c\n");
  free(s);
}

static void test_render_rows_table(void **state) {
  json_t *header = json_pack("{s:s,s:s}", "ID", "CONTAINER ID", "Names", "NAMES");
  json_t *rows = json_pack("[{s:s,s:s},{s:s,s:s}]", "ID", "0123456789ab", "Names", "a", "ID", "ba9876543210", "Names",
                           "long_name");
  struct buf out = {0};
  struct berth_error *err = NULL;
  assert_int_equal(fmt_render_rows("table {{.ID}}\\t{{.Names}}", header, rows, &out, &err), 0);
  assert_string_equal(out.p, "CONTAINER ID   NAMES\n0123456789ab   a\nba9876543210   long_name\n");
  buf_reset(&out);
  assert_int_equal(fmt_render_rows("{{.ID}}: {{.Names}}", header, rows, &out, &err), 0);
  assert_string_equal(out.p, "0123456789ab: a\nba9876543210: long_name\n");
  buf_reset(&out);
  assert_int_equal(fmt_render_rows("table {{.ID}}\t{{.Nope}}", header, rows, &out, &err), 0);
  assert_string_equal(strtok(out.p, "\n"), "CONTAINER ID   ");
  buf_free(&out);
  json_decref(header);
  json_decref(rows);
}

static void test_json_indent(void **state) {
  const char *raw = "[{\"Id\":\"x\",\"A\":[],\"B\":{},\"C\":[1,2],\"S\":\"a, b: {c}\"}]";
  char *s = fmt_json_indent(raw, strlen(raw), "    ");
  assert_string_equal(s, "[\n    {\n        \"Id\": \"x\",\n        \"A\": [],\n        \"B\": {},\n        \"C\": [\n"
                         "            1,\n            2\n        ],\n        \"S\": \"a, b: {c}\"\n    }\n]");
  free(s);
  s = fmt_json_indent("[]", 2, "    ");
  assert_string_equal(s, "[]");
  free(s);
}

/* ------------------------------------------------------------------ units */

static void test_human_size(void **state) {
  char b[32];
  struct {
    double v;
    const char *want;
  } cases[] = {{0, "0B"}, {999, "999B"}, {1000, "1kB"}, {1234, "1.23kB"}, {1980000, "1.98MB"}, {5200, "5.2kB"},
               {999700, "1e+03kB"}, {1e9, "1GB"}, {123456789012.0, "123GB"}};
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    fmt_human_size(cases[i].v, 3, b, sizeof(b));
    assert_string_equal(b, cases[i].want);
  }
  fmt_human_size(1234567, 4, b, sizeof(b));
  assert_string_equal(b, "1.235MB");
}

static void test_bytes_size(void **state) {
  char b[32];
  fmt_bytes_size(2087354368.0, b, sizeof(b));
  assert_string_equal(b, "1.944GiB");
  fmt_bytes_size(1024, b, sizeof(b));
  assert_string_equal(b, "1KiB");
  fmt_bytes_size(512, b, sizeof(b));
  assert_string_equal(b, "512B");
  fmt_bytes_size(25275879424.0, b, sizeof(b));
  assert_string_equal(b, "23.54GiB");
}

static void test_ago(void **state) {
  char b[64];
  fmt_ago(1000, 1000, b, sizeof(b));
  assert_string_equal(b, "Less than a second ago");
  fmt_ago(1000, 1001, b, sizeof(b));
  assert_string_equal(b, "1 second ago");
  fmt_ago(0, 45, b, sizeof(b));
  assert_string_equal(b, "45 seconds ago");
  fmt_ago(0, 90, b, sizeof(b));
  assert_string_equal(b, "About a minute ago");
  fmt_ago(0, 7200, b, sizeof(b));
  assert_string_equal(b, "2 hours ago");
  fmt_ago(0, 86400 * 3, b, sizeof(b));
  assert_string_equal(b, "3 days ago");
}

/* ------------------------------------------------------------------ text helpers */

static void test_command_truncation(void **state) {
  char *s = cli_ellipsis("sleep 600", 20);
  assert_string_equal(s, "sleep 600");
  free(s);
  s = cli_ellipsis("/bin/sh -c 'while true; do echo hi; done'", 20);
  assert_string_equal(s, "/bin/sh -c 'while t…");
  free(s);
  s = cli_ellipsis("12345678901234567890", 20);
  assert_string_equal(s, "12345678901234567890");
  free(s);
  s = cli_ellipsis("héllo wörld with ünïcode", 10);
  assert_string_equal(s, "héllo wör…");
  free(s);
}

static void test_go_quote(void **state) {
  char *s = cli_go_quote("sleep 600");
  assert_string_equal(s, "\"sleep 600\"");
  free(s);
  s = cli_go_quote("sh -c \"echo\\x\"\n\t\x01");
  assert_string_equal(s, "\"sh -c \\\"echo\\\\x\\\"\\n\\t\\x01\"");
  free(s);
  s = cli_go_quote("/bin/sh -c 'while t…");
  assert_string_equal(s, "\"/bin/sh -c 'while t…\"");
  free(s);
}

static void test_short_id(void **state) {
  char b[13];
  cli_short_id("sha256:268c2c85a0c003a0bf9b6c8144aefd26a15832332468ebc8b956350f15d09414", b);
  assert_string_equal(b, "268c2c85a0c0");
  cli_short_id("e5f3fc78afb9b1fd708a1", b);
  assert_string_equal(b, "e5f3fc78afb9");
  cli_short_id("abc", b);
  assert_string_equal(b, "abc");
}

static void test_env_and_labels(void **state) {
  setenv("BERTH_TEST_VAR", "from-env", 1);
  unsetenv("BERTH_TEST_UNSET");
  char *e = cli_parse_env("A=b=c");
  assert_string_equal(e, "A=b=c");
  free(e);
  e = cli_parse_env("BERTH_TEST_VAR");
  assert_string_equal(e, "BERTH_TEST_VAR=from-env");
  free(e);
  e = cli_parse_env("BERTH_TEST_UNSET");
  assert_string_equal(e, "BERTH_TEST_UNSET");
  free(e);

  char path[] = "/tmp/test_cli_envXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "# comment\n\n  FOO=bar baz\nBERTH_TEST_VAR\r\nEMPTY=\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  char **env = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(cli_env_file(path, &env, &err), 0);
  assert_int_equal(strv_len(env), 3);
  assert_string_equal(env[0], "FOO=bar baz");
  assert_string_equal(env[1], "BERTH_TEST_VAR=from-env");
  assert_string_equal(env[2], "EMPTY=");
  strv_free(env);
  env = NULL;
  FILE *f = fopen(path, "w");
  fputs("BAD NAME=x\n", f);
  fclose(f);
  assert_true(cli_env_file(path, &env, &err) < 0);
  assert_non_null(strstr(berr_msg(err), "contains whitespaces"));
  berr_clear(&err);
  unlink(path);
  assert_true(cli_env_file("/nonexistent/env", &env, &err) < 0);
  berr_clear(&err);
  strv_free(env);

  char *labels[] = {"a=1", "b", "c=x=y", NULL};
  json_t *o = cli_labels_object(labels);
  assert_string_equal(json_string_value(json_object_get(o, "a")), "1");
  assert_string_equal(json_string_value(json_object_get(o, "b")), "");
  assert_string_equal(json_string_value(json_object_get(o, "c")), "x=y");
  json_decref(o);
}

/* ------------------------------------------------------------------ flags */

static const struct cli_flag tflags[] = {
    {'d', "detach", FLAG_BOOL, "", NULL},     {'i', "interactive", FLAG_BOOL, "", NULL},
    {'t', "tty", FLAG_BOOL, "", NULL},        {'e', "env", FLAG_LIST, "", "list"},
    {0, "name", FLAG_STRING, "", "string"},   {0, "rm", FLAG_BOOL, "", NULL},
    {'h', "hostname", FLAG_STRING, "", NULL},
};
static const struct cli_cmd trun = {"run", "", "", NULL, CMD_FLAGS(tflags), 1, -1, true, 125};
static const struct cli_cmd trm = {"rm", "", "", NULL, CMD_FLAGS(tflags), 1, -1, false, 1};

static int parse(const struct cli_cmd *cmd, struct cli_opts *o, struct berth_error **err, ...) {
  char *argv[32];
  int argc = 0;
  va_list ap;
  va_start(ap, err);
  for (char *a; (a = va_arg(ap, char *));) argv[argc++] = a;
  va_end(ap);
  memset(o, 0, sizeof(*o));
  return cli_parse_flags(cmd, argv, argc, o, err);
}

static void test_flags_combined(void **state) {
  struct cli_opts o;
  struct berth_error *err = NULL;
  assert_int_equal(parse(&trun, &o, &err, "-dit", "--name=web", "-eA=1", "-e", "B=2", "--env", "C=3", "-e=D=4",
                         "busybox", "sh", "-c", "--rm", NULL), 0);
  assert_true(opt_bool(&o, "detach") && opt_bool(&o, "interactive") && opt_bool(&o, "tty"));
  assert_false(opt_bool(&o, "rm")); /* after the image: the container's argument */
  assert_string_equal(opt_str(&o, "name"), "web");
  char **env = opt_list(&o, "env");
  assert_int_equal(strv_len(env), 4);
  assert_string_equal(env[0], "A=1");
  assert_string_equal(env[1], "B=2");
  assert_string_equal(env[2], "C=3");
  assert_string_equal(env[3], "D=4");
  assert_int_equal(strv_len(o.args), 4);
  assert_string_equal(o.args[0], "busybox");
  assert_string_equal(o.args[3], "--rm");
  cli_opts_free(&o);
}

static void test_flags_misc(void **state) {
  struct cli_opts o;
  struct berth_error *err = NULL;
  /* interspersed flags for commands that do not stop at the first positional */
  assert_int_equal(parse(&trm, &o, &err, "a", "--rm", "b", "--", "-c", NULL), 0);
  assert_true(opt_bool(&o, "rm"));
  assert_int_equal(strv_len(o.args), 3);
  assert_string_equal(o.args[2], "-c");
  cli_opts_free(&o);
  assert_int_equal(parse(&trm, &o, &err, "--rm=false", "--name", "x", "--name", "y", "-hhost", NULL), 0);
  assert_false(opt_bool(&o, "rm"));
  assert_true(opt_set(&o, "rm"));
  assert_string_equal(opt_str(&o, "name"), "y"); /* the last one wins */
  assert_string_equal(opt_str(&o, "hostname"), "host");
  assert_null(opt_list(&o, "env"));
  cli_opts_free(&o);
  assert_int_equal(parse(&trm, &o, &err, "--help", NULL), 0);
  assert_true(o.help);
  cli_opts_free(&o);
}

static void test_flags_errors(void **state) {
  struct cli_opts o;
  struct berth_error *err = NULL;
  assert_true(parse(&trun, &o, &err, "--bogus", "busybox", NULL) < 0);
  assert_string_equal(berr_msg(err), "unknown flag: --bogus");
  berr_clear(&err);
  cli_opts_free(&o);
  assert_true(parse(&trun, &o, &err, "-dx", NULL) < 0);
  assert_string_equal(berr_msg(err), "unknown shorthand flag: 'x' in -dx");
  berr_clear(&err);
  cli_opts_free(&o);
  assert_true(parse(&trun, &o, &err, "--name", NULL) < 0);
  assert_string_equal(berr_msg(err), "flag needs an argument: --name");
  berr_clear(&err);
  cli_opts_free(&o);
  assert_true(parse(&trun, &o, &err, "-e", NULL) < 0);
  assert_string_equal(berr_msg(err), "flag needs an argument: 'e' in -e");
  berr_clear(&err);
  cli_opts_free(&o);
  assert_true(parse(&trun, &o, &err, "--rm=maybe", NULL) < 0);
  assert_non_null(strstr(berr_msg(err), "invalid argument \"maybe\""));
  berr_clear(&err);
  cli_opts_free(&o);
}

/* ------------------------------------------------------------------ create bodies (run flags -> API) */

extern const struct cli_cmd cli_run_cmds[];
static const struct cli_cmd *run_cmd(void) {
  for (size_t i = 0; i < cli_run_ncmds; i++)
    if (strcmp(cli_run_cmds[i].name, "run") == 0) return &cli_run_cmds[i];
  return NULL;
}

static json_t *body_for(int argc, char **argv) {
  struct cli_opts o = {0};
  struct berth_error *err = NULL;
  json_t *body = NULL;
  assert_int_equal(cli_parse_flags(run_cmd(), argv, argc, &o, &err), 0);
  int r = cli_create_body(&o, true, &body, &err);
  if (r < 0) fprintf(stderr, "%s\n", berr_msg(err));
  assert_int_equal(r, 0);
  cli_opts_free(&o);
  return body;
}

static void test_create_body(void **state) {
  char *argv[] = {"-it", "--rm", "-e", "A=1", "-l", "k=v", "-p", "127.0.0.1:8080:80", "-p", "5000/udp", "-m", "512m",
                  "-v", "/src:/dst:ro", "-v", "/anon", "--restart", "no", "-h", "h1", "busybox", "sh", "-c", "x"};
  json_t *b = body_for(ARRAY_SIZE(argv), argv);
  assert_string_equal(json_string_value(json_object_get(b, "Image")), "busybox");
  assert_int_equal(json_array_size(json_object_get(b, "Cmd")), 3);
  assert_true(json_is_true(json_object_get(b, "Tty")));
  assert_true(json_is_true(json_object_get(b, "OpenStdin")));
  assert_true(json_is_true(json_object_get(b, "AttachStdin")));
  assert_true(json_is_true(json_object_get(b, "StdinOnce")));
  assert_string_equal(json_string_value(json_object_get(b, "Hostname")), "h1");
  assert_string_equal(json_string_value(json_array_get(json_object_get(b, "Env"), 0)), "A=1");
  assert_string_equal(json_string_value(json_object_get(json_object_get(b, "Labels"), "k")), "v");
  assert_non_null(json_object_get(json_object_get(b, "ExposedPorts"), "80/tcp"));
  assert_non_null(json_object_get(json_object_get(b, "ExposedPorts"), "5000/udp"));
  assert_non_null(json_object_get(json_object_get(b, "Volumes"), "/anon"));
  json_t *hc = json_object_get(b, "HostConfig");
  json_t *pb = json_array_get(json_object_get(json_object_get(hc, "PortBindings"), "80/tcp"), 0);
  assert_string_equal(json_string_value(json_object_get(pb, "HostIp")), "127.0.0.1");
  assert_string_equal(json_string_value(json_object_get(pb, "HostPort")), "8080");
  pb = json_array_get(json_object_get(json_object_get(hc, "PortBindings"), "5000/udp"), 0);
  assert_string_equal(json_string_value(json_object_get(pb, "HostPort")), "");
  assert_int_equal(json_integer_value(json_object_get(hc, "Memory")), 512LL * 1024 * 1024);
  assert_string_equal(json_string_value(json_array_get(json_object_get(hc, "Binds"), 0)), "/src:/dst:ro");
  assert_true(json_is_true(json_object_get(hc, "AutoRemove")));
  assert_string_equal(json_string_value(json_object_get(hc, "NetworkMode")), "default");
  json_decref(b);

  char *argv2[] = {"-d", "busybox"};
  b = body_for(2, argv2);
  assert_false(json_is_true(json_object_get(b, "AttachStdout")));
  assert_null(json_object_get(b, "Cmd"));
  json_decref(b);
  char *argv3[] = {"busybox"};
  b = body_for(1, argv3);
  assert_true(json_is_true(json_object_get(b, "AttachStdout")));
  assert_false(json_is_true(json_object_get(b, "AttachStdin")));
  json_decref(b);
}

static void test_create_body_errors(void **state) {
  char *argv[] = {"--rm", "--restart", "always", "busybox"};
  struct cli_opts o = {0};
  struct berth_error *err = NULL;
  json_t *body = NULL;
  assert_int_equal(cli_parse_flags(run_cmd(), argv, 4, &o, &err), 0);
  assert_true(cli_create_body(&o, true, &body, &err) < 0);
  assert_string_equal(berr_msg(err), "Conflicting options: --restart and --rm");
  berr_clear(&err);
  cli_opts_free(&o);
  char *argv2[] = {"-m", "12x", "busybox"};
  assert_int_equal(cli_parse_flags(run_cmd(), argv2, 3, &o, &err), 0);
  assert_true(cli_create_body(&o, true, &body, &err) < 0);
  berr_clear(&err);
  cli_opts_free(&o);
}

static void test_detach_keys(void **state) {
  unsigned char k[16];
  size_t n;
  struct berth_error *err = NULL;
  assert_int_equal(cli_parse_detach_keys("ctrl-p,ctrl-q", k, sizeof(k), &n, &err), 0);
  assert_int_equal(n, 2);
  assert_int_equal(k[0], 0x10);
  assert_int_equal(k[1], 0x11);
  assert_int_equal(cli_parse_detach_keys("a,ctrl-@,ctrl-[", k, sizeof(k), &n, &err), 0);
  assert_int_equal(n, 3);
  assert_int_equal(k[0], 'a');
  assert_int_equal(k[1], 0);
  assert_int_equal(k[2], 27);
  assert_true(cli_parse_detach_keys("ctrl-", k, sizeof(k), &n, &err) < 0);
  assert_string_equal(berr_msg(err), "Invalid detach keys (ctrl-) provided");
  berr_clear(&err);
  assert_true(cli_parse_detach_keys("ab", k, sizeof(k), &n, &err) < 0);
  berr_clear(&err);
}

/* ------------------------------------------------------------------ build context tar */

static void test_tar_context(void **state) {
  char dir[] = "/tmp/test_cli_ctxXXXXXX";
  assert_non_null(mkdtemp(dir));
  char cmd[4096];
  snprintf(cmd, sizeof(cmd),
           "cd %s && mkdir -p sub/deep keep && echo FROM busybox > Dockerfile && echo a > sub/a && echo b > sub/deep/b && "
           "echo k > keep/k && echo x > skip.log && ln -s Dockerfile link && "
           "mkdir -p %0120d && echo long > %0120d/f && printf 'sub\n*.log\n!sub/deep\n# c\n' > .dockerignore",
           dir, 0, 0);
  assert_int_equal(system(cmd), 0);
  char **ignore = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(tar_read_ignore(dir, &ignore, &err), 0);
  assert_int_equal(strv_len(ignore), 3);
  assert_true(tar_ignored(ignore, "sub/a"));
  assert_false(tar_ignored(ignore, "sub/deep/b"));
  assert_true(tar_ignored(ignore, "skip.log"));
  assert_false(tar_ignored(ignore, "keep/k"));
  struct buf tar = {0};
  assert_int_equal(tar_dir(&tar, dir, ignore, &err), 0);
  tar_finish(&tar);
  assert_int_equal(tar.len % 512, 0);
  char path[256];
  snprintf(path, sizeof(path), "%s.tar", dir);
  FILE *f = fopen(path, "w");
  fwrite(tar.p, 1, tar.len, f);
  fclose(f);
  snprintf(cmd, sizeof(cmd), "tar -tf %s | sort | tr '\\n' ' '", path);
  FILE *p = popen(cmd, "r");
  char list[2048] = {0};
  size_t n = fread(list, 1, sizeof(list) - 1, p);
  list[n] = 0;
  assert_int_equal(pclose(p), 0);
  assert_non_null(strstr(list, "Dockerfile "));
  assert_non_null(strstr(list, "keep/k "));
  assert_non_null(strstr(list, "sub/deep/b "));
  assert_non_null(strstr(list, "link "));
  assert_non_null(strstr(list, "0000000000/f ")); /* a long (pax) name */
  assert_null(strstr(list, "sub/a "));
  assert_null(strstr(list, "skip.log"));
  snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, path);
  assert_int_equal(system(cmd), 0);
  buf_free(&tar);
  strv_free(ignore);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tmpl_fields),       cmocka_unit_test(test_tmpl_print_values),
      cmocka_unit_test(test_tmpl_functions),    cmocka_unit_test(test_tmpl_control),
      cmocka_unit_test(test_tmpl_errors),       cmocka_unit_test(test_tabwriter),
      cmocka_unit_test(test_render_rows_table), cmocka_unit_test(test_json_indent),
      cmocka_unit_test(test_human_size),        cmocka_unit_test(test_bytes_size),
      cmocka_unit_test(test_ago),               cmocka_unit_test(test_command_truncation),
      cmocka_unit_test(test_go_quote),          cmocka_unit_test(test_short_id),
      cmocka_unit_test(test_env_and_labels),    cmocka_unit_test(test_flags_combined),
      cmocka_unit_test(test_flags_misc),        cmocka_unit_test(test_flags_errors),
      cmocka_unit_test(test_create_body),       cmocka_unit_test(test_create_body_errors),
      cmocka_unit_test(test_tar_context),       cmocka_unit_test(test_detach_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
