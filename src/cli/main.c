/* main.c - berth: global options, the command table, usage texts and docker's exit statuses */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "api/api.h"

struct group {
  const struct cli_cmd *cmds;
  const size_t *n;
};

static const struct group groups[] = {
    {cli_system_cmds, &cli_system_ncmds},   {cli_image_cmds, &cli_image_ncmds},
    {cli_container_cmds, &cli_container_ncmds}, {cli_run_cmds, &cli_run_ncmds},
    {cli_inspect_cmds, &cli_inspect_ncmds},     {cli_exec_cmds, &cli_exec_ncmds},
    {cli_stats_cmds, &cli_stats_ncmds},         {cli_build_cmds, &cli_build_ncmds},
    {cli_netvol_cmds, &cli_netvol_ncmds},       {cli_events_cmds, &cli_events_ncmds},
    {cli_prune_cmds, &cli_prune_ncmds},
};

/* management commands: "berth container ls" is "berth ps" ... */
static const struct {
  const char *mgmt, *sub, *cmd;
} aliases[] = {
    {"container", "ls", "ps"},          {"container", "list", "ps"},         {"container", "ps", "ps"},
    {"container", "rm", "rm"},          {"container", "remove", "rm"},       {"container", "inspect", "container-inspect"},
    {"container", "run", "run"},        {"container", "create", "create"},   {"container", "start", "start"},
    {"container", "stop", "stop"},      {"container", "kill", "kill"},       {"container", "restart", "restart"},
    {"container", "logs", "logs"},      {"container", "wait", "wait"},       {"container", "attach", "attach"},
    {"container", "exec", "exec"},      {"container", "port", "port"},       {"container", "rename", "rename"},
    {"container", "pause", "pause"},    {"container", "unpause", "unpause"}, {"container", "top", "top"},
    {"image", "ls", "images"},          {"image", "list", "images"},         {"image", "rm", "rmi"},
    {"image", "remove", "rmi"},         {"image", "inspect", "image-inspect"}, {"image", "tag", "tag"},
    {"image", "import", "import"},      {"image", "pull", "pull"},           {"image", "history", "history"},
    {"container", "commit", "commit"},  {"container", "diff", "diff"},       {"container", "export", "export"},
    {"container", "stats", "stats"},    {"image", "push", "push"},           {"image", "build", "build"},
    {"image", "save", "save"},          {"image", "load", "load"},
    {"network", "ls", "network-ls"},    {"network", "list", "network-ls"},  {"network", "create", "network-create"},
    {"network", "rm", "network-rm"},    {"network", "remove", "network-rm"}, {"network", "inspect", "network-inspect"},
    {"network", "connect", "network-connect"}, {"network", "disconnect", "network-disconnect"},
    {"network", "prune", "network-prune"},
    {"volume", "ls", "volume-ls"},      {"volume", "list", "volume-ls"},    {"volume", "create", "volume-create"},
    {"volume", "rm", "volume-rm"},      {"volume", "remove", "volume-rm"},  {"volume", "inspect", "volume-inspect"},
    {"volume", "prune", "volume-prune"},
    {"container", "prune", "container-prune"}, {"image", "prune", "image-prune"},
    {"system", "prune", "system-prune"}, {"system", "df", "system-df"},
    {"system", "events", "events"},     {"system", "info", "info"},         {"system", "version", "version"},
};

static const struct cli_cmd *find_cmd(const char *name) {
  for (size_t g = 0; g < ARRAY_SIZE(groups); g++)
    for (size_t i = 0; i < *groups[g].n; i++)
      if (strcmp(groups[g].cmds[i].name, name) == 0) return &groups[g].cmds[i];
  return NULL;
}

static void flag_left(const struct cli_flag *fl, char *out, size_t n) {
  const char *type = fl->kind == FLAG_BOOL ? "" : (fl->type ? fl->type : "string");
  if (fl->short_name)
    snprintf(out, n, "  -%c, --%s%s%s", fl->short_name, fl->long_name, *type ? " " : "", type);
  else
    snprintf(out, n, "      --%s%s%s", fl->long_name, *type ? " " : "", type);
}

static void print_flags(const struct cli_cmd *cmd, FILE *f) {
  size_t width = 0;
  char left[128];
  for (size_t i = 0; i < cmd->nflags; i++) {
    flag_left(&cmd->flags[i], left, sizeof(left));
    if (strlen(left) > width) width = strlen(left);
  }
  for (size_t i = 0; i < cmd->nflags; i++) {
    flag_left(&cmd->flags[i], left, sizeof(left));
    fprintf(f, "%-*s   %s\n", (int)width, left, cmd->flags[i].help);
  }
}

/* shown: the name users type: "network-ls" is "network ls" (heap) */
static char *shown(const char *name) {
  char *s = xstrdup(name);
  for (char *p = s; *p; p++)
    if (*p == '-') *p = ' ';
  return s;
}

void cli_print_usage(const struct cli_cmd *cmd, FILE *f) {
  _cleanup_free_ char *name = shown(cmd->name);
  fprintf(f, "\nUsage:  berth %s %s\n\n%s\n", name, cmd->usage, cmd->desc);
  if (cmd->nflags) {
    fprintf(f, "\nOptions:\n");
    print_flags(cmd, f);
  }
}

static void print_main_usage(FILE *f) {
  fprintf(f, "\nUsage:  berth [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\n"
             "Options:\n"
             "  -D, --debug              Enable debug mode\n"
             "  -H, --host string        Daemon socket to connect to (unix:///path)\n"
             "  -l, --log-level string   Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\")\n"
             "                           (default \"info\")\n"
             "  -v, --version            Print version information and quit\n\n"
             "Management Commands:\n  container   Manage containers\n  image       Manage images\n"
             "  network     Manage networks\n  system      Manage Docker\n  volume      Manage volumes\n\nCommands:\n");
  for (size_t g = 0; g < ARRAY_SIZE(groups); g++)
    for (size_t i = 0; i < *groups[g].n; i++)
      if (!strchr(groups[g].cmds[i].name, '-'))
        fprintf(f, "  %-11s %s\n", groups[g].cmds[i].name, groups[g].cmds[i].desc);
  fprintf(f, "\nRun 'berth COMMAND --help' for more information on a command.\n");
}

/* arg_count_error: cobra's wording for a wrong number of positionals */
static void arg_count_error(const struct cli_cmd *cmd, size_t n) {
  _cleanup_free_ char *name = shown(cmd->name);
  if (cmd->min_args == 1 && cmd->max_args == 1)
    fprintf(stderr, "\"berth %s\" requires exactly 1 argument.\n", name);
  else if (cmd->max_args == 0)
    fprintf(stderr, "\"berth %s\" accepts no arguments.\n", name);
  else if ((int)n < cmd->min_args)
    fprintf(stderr, "\"berth %s\" requires at least %d argument%s.\n", name, cmd->min_args, cmd->min_args == 1 ? "" : "s");
  else
    fprintf(stderr, "\"berth %s\" requires at most %d argument%s.\n", name, cmd->max_args, cmd->max_args == 1 ? "" : "s");
  fprintf(stderr, "See 'berth %s --help'.\n\nUsage:  berth %s %s\n\n%s\n", name, name, cmd->usage, cmd->desc);
}

static int global_value(char **argv, int argc, int *i, const char *lng, char shrt, const char **val) {
  const char *a = argv[*i];
  size_t n = strlen(lng);
  if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, lng, n) == 0) {
    if (a[2 + n] == '=') return *val = a + 3 + n, 1;
    if (a[2 + n] != 0) return 0;
  } else if (!(a[0] == '-' && a[1] == shrt)) {
    return 0;
  } else if (a[2]) {
    return *val = a[2] == '=' ? a + 3 : a + 2, 1;
  }
  if (*i + 1 >= argc) return -1;
  *val = argv[++*i];
  return 1;
}

/* parse_globals: options before the command; returns the index of the command or argc */
static int parse_globals(struct cli *cli, int argc, char **argv, const char **host, int *exit_now) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i], *v = NULL;
    int r;
    if ((r = global_value(argv, argc, &i, "host", 'H', &v)) != 0) {
      if (r < 0) return fprintf(stderr, "flag needs an argument: %s\nSee 'berth --help'.\n", a), *exit_now = 125, i;
      *host = v;
    } else if ((r = global_value(argv, argc, &i, "log-level", 'l', &v)) != 0) {
      if (r < 0 || log_parse_level(v) < 0)
        return fprintf(stderr, "Unable to parse logging level: %s\n", v ? v : ""), *exit_now = 1, i;
      log_setup((enum log_level)log_parse_level(v), NULL);
    } else if (strcmp(a, "-D") == 0 || strcmp(a, "--debug") == 0) {
      log_setup(LOG_LVL_DEBUG, NULL);
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      printf("Berth version %s, build berth\n", BERTH_VERSION);
      return *exit_now = 0, i;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      print_main_usage(stdout);
      return *exit_now = 0, i;
    } else {
      fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", a);
      return *exit_now = 125, i;
    }
  }
  return i;
}

static const struct {
  const char *name, *desc;
} mgmts[] = {{"container", "Manage containers"}, {"image", "Manage images"}, {"network", "Manage networks"},
              {"system", "Manage Docker"},        {"volume", "Manage volumes"}};

/* mgmt_usage: "berth container" alone lists its subcommands; an unknown one is an error, as in docker */
static int mgmt_usage(const char *mgmt, const char *desc, const char *bad) {
  if (bad && strcmp(bad, "--help") != 0 && strcmp(bad, "-h") != 0) {
    fprintf(stderr, "berth: '%s %s' is not a berth command.\nSee 'berth %s --help'\n", mgmt, bad, mgmt);
    return 1;
  }
  printf("\nUsage:  berth %s COMMAND\n\n%s\n\nCommands:\n", mgmt, desc);
  for (size_t k = 0; k < ARRAY_SIZE(aliases); k++) {
    const struct cli_cmd *c = strcmp(aliases[k].mgmt, mgmt) == 0 ? find_cmd(aliases[k].cmd) : NULL;
    if (c) printf("  %-10s %s\n", aliases[k].sub, c->desc);
  }
  printf("\nRun 'berth %s COMMAND --help' for more information on a command.\n", mgmt);
  return 0;
}

/* resolve: the command for argv[*i] (with "container ls" style management forms) */
static const struct cli_cmd *resolve(int argc, char **argv, int *i) {
  const char *name = argv[*i];
  for (size_t k = 0; k < ARRAY_SIZE(aliases); k++) {
    if (strcmp(aliases[k].mgmt, name) == 0 && *i + 1 < argc && strcmp(aliases[k].sub, argv[*i + 1]) == 0) {
      ++*i;
      return find_cmd(aliases[k].cmd);
    }
  }
  if (strchr(name, '-')) return NULL; /* internal names like container-inspect */
  return find_cmd(name);
}

static int run_cmd(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv) {
  struct cli_opts o = {0};
  _cleanup_berr_ struct berth_error *err = NULL;
  int status = 0;
  if (cli_parse_flags(cmd, argv, argc, &o, &err) < 0) {
    _cleanup_free_ char *name = shown(cmd->name);
    fprintf(stderr, "%s\nSee 'berth %s --help'.\n", berr_msg(err), name);
    status = 125;
  } else if (o.help) {
    cli_print_usage(cmd, stdout);
  } else if ((int)strv_len(o.args) < cmd->min_args || (cmd->max_args >= 0 && (int)strv_len(o.args) > cmd->max_args)) {
    arg_count_error(cmd, strv_len(o.args));
    status = 1;
  } else {
    cli->cmd_name = cmd->name;
    int r = cmd->fn(cli, &o, &err);
    if (r < 0 && err) fprintf(stderr, "%s\n", berr_msg(err));
    if (cli->exit_status_set) status = cli->exit_status;
    else if (r < 0) status = cmd->error_exit ? cmd->error_exit : 1;
  }
  cli_opts_free(&o);
  return status;
}

int main(int argc, char **argv) {
  struct cli cli = {0};
  const char *host = NULL;
  int exit_now = -1;
  log_setup(LOG_LVL_INFO, NULL);
  /* a daemon that hangs up while we send (stdin of an exited container, an upload it refused) is an
   * error to report, not a reason to die */
  signal(SIGPIPE, SIG_IGN);
  int i = parse_globals(&cli, argc, argv, &host, &exit_now);
  if (exit_now >= 0) return exit_now;
  if (i >= argc) {
    print_main_usage(stdout);
    return 0;
  }
  if (!host || !*host) host = getenv("BERTH_HOST");
  if (!host || !*host) host = getenv("DOCKER_HOST");
  if (!host || !*host) host = BERTH_DEFAULT_HOST;
  _cleanup_berr_ struct berth_error *err = NULL;
  if (cli_set_host(&cli, host, &err) < 0) {
    fprintf(stderr, "%s\n", berr_msg(err));
    return 1;
  }
  const struct cli_cmd *cmd = resolve(argc, argv, &i);
  int status;
  for (size_t k = 0; !cmd && k < ARRAY_SIZE(mgmts); k++)
    if (strcmp(argv[i], mgmts[k].name) == 0) return mgmt_usage(mgmts[k].name, mgmts[k].desc, i + 1 < argc ? argv[i + 1] : NULL);
  if (!cmd) {
    fprintf(stderr, "berth: '%s' is not a berth command.\nSee 'berth --help'\n", argv[i]);
    status = 1;
  } else {
    status = run_cmd(&cli, cmd, argc - i - 1, argv + i + 1);
  }
  fflush(stdout);
  free(cli.host);
  free(cli.sock_path);
  return status;
}
