/*
 * commands.c: the chitchatctl command table, and the commands that need
 * nothing but the table (help, version).
 *
 * One flat table, in the spirit of tmux's cmd_table[]: usage text and
 * argument-count checks are derived from it, so a new command is a row
 * here plus its exec function in its own file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chitchatctl.h"

const struct ctl_command ctl_commands[] = {
	{ "help", "", "print this help", 0, 0, CMD_LOCAL, cmd_help },
	{ "version", "", "print the version", 0, 0, CMD_LOCAL, cmd_version },
	{ "wire", "decode [--raw] [--pretty] [--type TYPE] | encode [--raw]",
	    "decode or encode one gossip datagram (stdin -> stdout)",
	    1, 4, CMD_LOCAL, cmd_wire },
	{ NULL, NULL, NULL, 0, 0, 0, NULL },
};

const struct ctl_command *
ctl_command_find(const char *name)
{
	const struct ctl_command *c;

	for (c = ctl_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void
ctl_usage(FILE *f)
{
	const struct ctl_command *c;

	fprintf(f, "usage: chitchatctl [-hV] command [argument ...]\n"
	    "commands:\n");
	for (c = ctl_commands; c->name != NULL; c++)
		fprintf(f, "  %s%s%s\n      %s\n", c->name,
		    c->usage[0] != '\0' ? " " : "", c->usage, c->help);
}

void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "chitchatctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

int
ctl_usage_error(const struct ctl_command *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "chitchatctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (c != NULL)
		fprintf(stderr, "usage: chitchatctl %s%s%s\n", c->name,
		    c->usage[0] != '\0' ? " " : "", c->usage);
	else
		ctl_usage(stderr);
	return CTL_EXIT_USAGE;
}

int
cmd_help(struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	(void)argc;
	(void)argv;
	ctl_usage(stdout);
	return CTL_EXIT_OK;
}

int
cmd_version(struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	(void)argc;
	(void)argv;
	printf("chitchatctl %s\n", CTL_VERSION);
	return CTL_EXIT_OK;
}
