/*
 * chitchatctl.h: shared declarations of the chitchatctl tool: exit codes,
 * the command table entry, and the helpers every command uses.
 *
 * Commands live in one flat table (ctl/commands.c), from which the usage
 * text and the argument-count checks are derived, so adding a command is
 * one table row plus its exec function.
 */
#ifndef CHITCHATCTL_H
#define CHITCHATCTL_H

#include <stdio.h>

#include "cc_version.h"

#define CTL_VERSION	CHITCHATD_VERSION

/* Exit codes (documented in chitchatctl.8). */
#define CTL_EXIT_OK		0
#define CTL_EXIT_FAIL		1	/* operation failed, not found, refused */
#define CTL_EXIT_USAGE		2
#define CTL_EXIT_CONNECT	3	/* cannot connect, protocol mismatch */

/* Command flags. */
#define CMD_LOCAL	0x01	/* runs without connecting to the daemon */
#define CMD_MUTATES	0x02	/* changes daemon state */
#define CMD_STREAMS	0x04	/* prints records until interrupted */

/* Global options and state, shared by every command. */
struct ctl {
	const char	*progname;
	int		 pretty;	/* reserved for output formats */
};

struct ctl_command {
	const char	*name;
	const char	*usage;		/* argument synopsis, may be "" */
	const char	*help;		/* one line */
	int		 min_args;	/* arguments after the name */
	int		 max_args;	/* -1: no limit */
	int		 flags;		/* CMD_* */
	/* argv[0] is the command name. Returns a CTL_EXIT_* code. */
	int		(*exec)(struct ctl *, int argc, char **argv);
};

/* Terminated by an entry whose name is NULL. */
extern const struct ctl_command ctl_commands[];

const struct ctl_command *ctl_command_find(const char *);
void	ctl_usage(FILE *);
/* Prints "progname: <message>" and the command's usage; returns 2. */
int	ctl_usage_error(const struct ctl_command *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prints "chitchatctl: <message>" on one line of stderr. */
void	ctl_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Command implementations. */
int	cmd_help(struct ctl *, int, char **);
int	cmd_version(struct ctl *, int, char **);
int	cmd_wire(struct ctl *, int, char **);

#endif /* CHITCHATCTL_H */
