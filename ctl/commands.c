/*
 * commands.c: the chitchatctl command table, the usage and help derived
 * from it, the commands that need nothing but the table (help, version),
 * and small parsing helpers (durations, integers).
 *
 * One flat table, in the spirit of tmux's cmd_table[]: each row holds a
 * command's positional synopsis, its argument counts, its options and
 * their help. The parser (chitchatctl.c), the usage lines, `help COMMAND`
 * and the bash completion (chitchatctl.bash-completion, checked against
 * this table by tests/unit/check_ctl.c) all follow it.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc_ctlproto.h"
#include "chitchatctl.h"

static const struct ctl_opt members_opts[] = {
	{ "all", NULL, "every node state held: live, dead, scheduled and left" },
	{ "dead", NULL, "dead nodes only (scheduled ones included)" },
	{ "left", NULL, "nodes that announced their leave, until removed" },
	{ NULL, NULL, NULL },
};

static const struct ctl_opt get_opts[] = {
	{ "node", "ID", "read another node's key (default: this node)" },
	{ NULL, NULL, NULL },
};

static const struct ctl_opt set_opts[] = {
	{ "ttl", "DURATION", "delete the key after DURATION (500ms, 30s, 2h; "
	    "at most 365d): every node sees it expire" },
	{ "mark-ttl", NULL, "mark the key for deletion after the daemon's "
	    "marked-for-deletion grace period (chitchat's TTL)" },
	{ NULL, NULL, NULL },
};

static const struct ctl_opt del_opts[] = {
	{ "mark-ttl", NULL, "keep the key visible until the grace period has "
	    "passed, then remove it without a tombstone" },
	{ NULL, NULL, NULL },
};

static const struct ctl_opt keys_opts[] = {
	{ "node", "ID", "another node's keys (default: this node)" },
	{ "all", NULL, "the keys of every node" },
	{ "deleted", NULL, "deleted keys (tombstones) too" },
	{ NULL, NULL, NULL },
};

static const struct ctl_opt watch_opts[] = {
	{ "exec", "CMD", "run CMD with /bin/sh -c for each event, one at a "
	    "time, instead of printing it" },
	{ "no-snapshot", NULL, "changes only: skip the current state at start" },
	{ NULL, NULL, NULL },
};

static const struct ctl_opt wait_opts[] = {
	{ "members", "N", "until N nodes, this one included, are live "
	    "(and carry every required key)" },
	{ "key", "KEY[=VALUE]", "until KEY is set (to VALUE)" },
	{ "node", "ID", "KEY of that node (default: this node)" },
	{ "all", NULL, "KEY of any node" },
	{ NULL, NULL, NULL },
};

static const struct ctl_opt force_leave_opts[] = {
	{ "generation", "N", "that generation of NODE (default: its dead state "
	    "with the highest generation)" },
	{ NULL, NULL, NULL },
};

static const struct ctl_opt wire_opts[] = {
	{ "raw", NULL, "raw bytes instead of hexadecimal text" },
	{ "pretty", NULL, "decode: indented JSON" },
	{ "type", "TYPE", "decode: one primitive of the codec, not a datagram" },
	{ "keyring", "FILE", "decode: open a sealed datagram with this keyring first" },
	{ NULL, NULL, NULL },
};

const struct ctl_command ctl_commands[] = {
	{ "info", NULL, "", "show this node and the cluster's counts",
	    0, 0, 0, NULL, NULL, cmd_info },
	{ "members", NULL, "", "list the nodes (live ones by default)",
	    0, 0, 0, members_opts, cmd_members_check, cmd_members },
	{ "get", NULL, "KEY", "print the value of KEY",
	    1, 1, 0, get_opts, cmd_get_check, cmd_get },
	{ "set", NULL, "KEY VALUE|-",
	    "set one of this node's keys (- reads the value from stdin)",
	    2, 2, CMD_MUTATES, set_opts, cmd_set_check, cmd_set },
	{ "del", "delete", "KEY", "delete one of this node's keys",
	    1, 1, CMD_MUTATES, del_opts, cmd_del_check, cmd_del },
	{ "keys", NULL, "[PREFIX]", "list keys and values under PREFIX",
	    0, 1, 0, keys_opts, cmd_keys_check, cmd_keys },
	{ "watch", NULL, "keys [PREFIX] | members",
	    "print key or member changes as they happen, until interrupted",
	    1, 2, CMD_STREAMS, watch_opts, cmd_watch_check, cmd_watch },
	{ "wait", NULL, "",
	    "block until --members N or --key KEY[=VALUE] holds (--timeout)",
	    0, 0, CMD_WAITS, wait_opts, cmd_wait_check, cmd_wait },
	{ "metrics", NULL, "", "print the daemon's metrics (Prometheus text)",
	    0, 0, 0, NULL, NULL, cmd_metrics },
	{ "keyring", NULL, "list|install KEY|use KEY|remove KEY|generate",
	    "list or change the gossip encryption keys (KEY: base64, a key id "
	    "for use and remove, or - for stdin)",
	    1, 2, CMD_MUTATES, NULL, cmd_keyring_check, cmd_keyring },
	{ "keygen", NULL, "", "print a new random encryption key (needs no daemon)",
	    0, 0, CMD_LOCAL, NULL, NULL, cmd_keygen },
	{ "leave", NULL, "",
	    "announce this node's leave to the cluster, then wait until the daemon exits",
	    0, 0, CMD_MUTATES, NULL, NULL, cmd_leave },
	{ "force-leave", NULL, "NODE",
	    "remove a dead node from the cluster now, on every chitchatd node",
	    1, 1, CMD_MUTATES, force_leave_opts, cmd_force_leave_check, cmd_force_leave },
	{ "wire", NULL, "decode|encode",
	    "decode or encode one gossip datagram (stdin -> stdout)",
	    1, 1, CMD_LOCAL, wire_opts, cmd_wire_check, cmd_wire },
	{ "version", NULL, "", "print the version",
	    0, 0, CMD_LOCAL, NULL, NULL, cmd_version },
	{ "help", NULL, "[COMMAND]", "print this help, or one command's",
	    0, 1, CMD_LOCAL, NULL, NULL, cmd_help },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL },
};

static const char global_usage[] =
    "usage: chitchatctl [-jhV] [-s PATH] [-t DURATION] COMMAND [ARGUMENT ...]\n";

static const char global_options[] =
    "global options (before or after the command):\n"
    "  -s, --socket PATH     the daemon's control socket (default: "
    "$CHITCHATD_SOCKET,\n"
    "                        else " CC_CTL_DEFAULT_SOCKET ")\n"
    "  -j, --json            JSON output: one object (one per line for watch)\n"
    "  -t, --timeout DUR     limit for each request (default 10s); for wait,\n"
    "                        for the condition (default: none; exit 5)\n"
    "  -h, --help            this help\n"
    "  -V, --version         print the version\n";

const struct ctl_command *
ctl_command_find(const char *name)
{
	const struct ctl_command *c;

	for (c = ctl_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0 ||
		    (c->alias != NULL && strcmp(c->alias, name) == 0))
			return c;
	return NULL;
}

static void
print_synopsis(FILE *f, const struct ctl_command *c)
{
	const struct ctl_opt *o;

	fprintf(f, "%s", c->name);
	if (c->args[0] != '\0')
		fprintf(f, " %s", c->args);
	for (o = c->opts; o != NULL && o->name != NULL; o++)
		if (o->arg != NULL)
			fprintf(f, " [--%s %s]", o->name, o->arg);
		else
			fprintf(f, " [--%s]", o->name);
}

void
ctl_usage(FILE *f)
{
	const struct ctl_command *c;

	fprintf(f, "%scommands:\n", global_usage);
	for (c = ctl_commands; c->name != NULL; c++) {
		fprintf(f, "  ");
		print_synopsis(f, c);
		fprintf(f, "\n      %s\n", c->help);
	}
	fprintf(f, "%s", global_options);
	fprintf(f, "exit status: 0 ok, 1 failed, 2 usage, 3 daemon unreachable, "
	    "4 not found,\n5 wait timed out. See chitchatctl(1).\n");
}

void
ctl_command_usage(FILE *f, const struct ctl_command *c)
{
	fprintf(f, "usage: chitchatctl ");
	print_synopsis(f, c);
	fprintf(f, "\n");
}

void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
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
		ctl_command_usage(stderr, c);
	else
		fprintf(stderr, "%sTry 'chitchatctl help'.\n", global_usage);
	return CTL_EXIT_USAGE;
}

const char *
ctl_opt(const struct ctl *ctl, const char *name)
{
	const struct ctl_opt *o = ctl->cmd->opts;

	for (int i = 0; o != NULL && o[i].name != NULL; i++)
		if (strcmp(o[i].name, name) == 0)
			return ctl->optval[i];
	return NULL;
}

bool
ctl_has(const struct ctl *ctl, const char *name)
{
	return ctl_opt(ctl, name) != NULL;
}

int
ctl_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char	*unit;
		double		 ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
		{ "d", 86400e3 },
	};
	char	*end;
	double	 v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || !isfinite(v) || v < 0)
		return -1;
	if (*end == '\0') {
		if (v != 0)
			return -1;	/* a unit is required, as for chitchatd */
		*ms = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			v *= units[i].ms;
			if (v > 366.0 * 86400e3)
				return -1;
			*ms = (int64_t)ceil(v);
			return 0;
		}
	return -1;
}

int
ctl_parse_int(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int64_t
ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ctl_command_help(FILE *f, const struct ctl_command *c)
{
	const struct ctl_opt *o;

	ctl_command_usage(f, c);
	fprintf(f, "%s%s%s.\n", c->help,
	    c->alias != NULL ? "; also called " : "",
	    c->alias != NULL ? c->alias : "");
	for (o = c->opts; o != NULL && o->name != NULL; o++) {
		char flag[64];

		snprintf(flag, sizeof(flag), "--%s%s%s", o->name,
		    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
		fprintf(f, "  %-22s %s\n", flag, o->help);
	}
	fprintf(f, "%s", global_options);
}

int
cmd_help(struct ctl *ctl)
{
	const struct ctl_command *c;

	if (ctl->nargs == 0) {
		ctl_usage(stdout);
		return CTL_EXIT_OK;
	}
	if ((c = ctl_command_find(ctl->args[0])) == NULL)
		return ctl_usage_error(ctl->cmd, "help: unknown command: %s",
		    ctl->args[0]);
	ctl_command_help(stdout, c);
	return CTL_EXIT_OK;
}

int
cmd_version(struct ctl *ctl)
{
	if (ctl->json) {
		json_t *j = ctl_xjson(json_pack("{s:s,s:i}", "version",
		    CTL_VERSION, "protocol", CC_CTL_PROTOCOL));

		ctl_print_json(j);
		json_decref(j);
	} else
		printf("chitchatctl %s\n", CTL_VERSION);
	return CTL_EXIT_OK;
}
