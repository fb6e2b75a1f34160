/*
 * chitchatctl.c: entry point of chitchatctl, the chitchatd control tool.
 *
 * Parses the global options, finds the command in the table
 * (commands.c), checks its argument count, and runs it. Everything is
 * validated before any command runs, and exit codes are uniform: 0 ok,
 * 1 operation failed, 2 usage, 3 cannot connect.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "chitchatctl.h"

int
main(int argc, char **argv)
{
	const struct ctl_command	*cmd;
	struct ctl			 ctl = { "chitchatctl", 0 };
	int				 ch, nargs;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	while ((ch = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			return cmd_version(&ctl, 0, NULL);
		default:
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return ctl_usage_error(NULL, "missing command");
	if ((cmd = ctl_command_find(argv[0])) == NULL)
		return ctl_usage_error(NULL, "unknown command: %s", argv[0]);
	nargs = argc - 1;
	if (nargs < cmd->min_args ||
	    (cmd->max_args >= 0 && nargs > cmd->max_args))
		return ctl_usage_error(cmd, "%s: wrong number of arguments",
		    cmd->name);
	return cmd->exec(&ctl, argc, argv);
}
