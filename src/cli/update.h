/* update.h - `berth update` (update.c), listed in container.c's command table */
#pragma once
#include "cli/cli.h"

/* the flags of update: docker's resource flags and --restart */
#define CLI_UPDATE_NFLAGS 13
extern const struct cli_flag cli_update_flags[CLI_UPDATE_NFLAGS];
/* cli_cmd_update: POST /containers/NAME/update for each container */
int cli_cmd_update(struct cli *cli, struct cli_opts *o, struct berth_error **err);
