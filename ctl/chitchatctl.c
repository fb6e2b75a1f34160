/*
 * chitchatctl.c: entry point of chitchatctl, the chitchatd control tool.
 *
 * Parses the whole command line against the command table (commands.c)
 * before anything runs: global options may come before or after the
 * command, a command's options anywhere after it, `--` ends options and a
 * lone `-` is an argument. Then the socket path and the timeout are
 * resolved and the command's own checks run, so that every usage error
 * (exit 2) is found before connecting to the daemon. Exit codes are
 * uniform (chitchatctl.h, chitchatctl.1).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "cc_ctlproto.h"
#include "chitchatctl.h"

enum global_opt { G_NONE, G_SOCKET, G_JSON, G_TIMEOUT, G_HELP, G_VERSION };

static const struct {
	const char	*name;
	char		 letter;
	bool		 arg;
	enum global_opt	 id;
} globals[] = {
	{ "socket", 's', true, G_SOCKET },
	{ "json", 'j', false, G_JSON },
	{ "timeout", 't', true, G_TIMEOUT },
	{ "help", 'h', false, G_HELP },
	{ "version", 'V', false, G_VERSION },
};

struct parse {
	struct ctl	*ctl;
	const char	*socket;
	const char	*timeout;
	bool		 seen[sizeof(globals) / sizeof(globals[0])];
};

/* Applies one global option; returns -1 (done, exit with *rc) or 0. */
static int
apply_global(struct parse *p, size_t g, const char *value, int *rc)
{
	if (p->seen[g] && globals[g].arg) {
		*rc = ctl_usage_error(p->ctl->cmd, "--%s given twice",
		    globals[g].name);
		return -1;
	}
	p->seen[g] = true;
	switch (globals[g].id) {
	case G_SOCKET:
		p->socket = value;
		break;
	case G_JSON:
		p->ctl->json = true;
		break;
	case G_TIMEOUT:
		p->timeout = value;
		break;
	case G_HELP:
		if (p->ctl->cmd != NULL)
			ctl_command_help(stdout, p->ctl->cmd);
		else
			ctl_usage(stdout);
		*rc = CTL_EXIT_OK;
		return -1;
	case G_VERSION:
		*rc = cmd_version(p->ctl);
		return -1;
	case G_NONE:
		break;
	}
	return 0;
}

/* One "--name[=value]" at argv[*i]. */
static int
parse_long(struct parse *p, int argc, char **argv, int *i, int *rc)
{
	struct ctl		*ctl = p->ctl;
	const struct ctl_opt	*o = ctl->cmd != NULL ? ctl->cmd->opts : NULL;
	const char		*name = argv[*i] + 2, *eq = strchr(name, '=');
	const char		*value = eq != NULL ? eq + 1 : NULL;
	size_t			 len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	bool			 needs;

	for (int k = 0; o != NULL && o[k].name != NULL && k < CTL_MAX_OPTS;
	    k++) {
		if (strlen(o[k].name) != len || strncmp(o[k].name, name, len) != 0)
			continue;
		needs = o[k].arg != NULL;
		if (!needs && value != NULL) {
			*rc = ctl_usage_error(ctl->cmd, "--%s takes no value",
			    o[k].name);
			return -1;
		}
		if (needs && value == NULL) {
			if (*i + 1 >= argc) {
				*rc = ctl_usage_error(ctl->cmd, "--%s needs %s",
				    o[k].name, o[k].arg);
				return -1;
			}
			value = argv[++*i];
		}
		if (ctl->optval[k] != NULL) {
			*rc = ctl_usage_error(ctl->cmd, "--%s given twice",
			    o[k].name);
			return -1;
		}
		ctl->optval[k] = needs ? value : "";
		return 0;
	}
	for (size_t g = 0; g < sizeof(globals) / sizeof(globals[0]); g++) {
		if (strlen(globals[g].name) != len ||
		    strncmp(globals[g].name, name, len) != 0)
			continue;
		if (!globals[g].arg && value != NULL) {
			*rc = ctl_usage_error(ctl->cmd, "--%s takes no value",
			    globals[g].name);
			return -1;
		}
		if (globals[g].arg && value == NULL) {
			if (*i + 1 >= argc) {
				*rc = ctl_usage_error(ctl->cmd,
				    "--%s needs a value", globals[g].name);
				return -1;
			}
			value = argv[++*i];
		}
		return apply_global(p, g, value, rc);
	}
	*rc = ctl_usage_error(ctl->cmd, "unknown option: --%.*s", (int)len,
	    name);
	return -1;
}

/* "-x", "-xVALUE", "-x VALUE", or flags bundled as "-jh". */
static int
parse_short(struct parse *p, int argc, char **argv, int *i, int *rc)
{
	const char *s = argv[*i] + 1;

	for (; *s != '\0'; s++) {
		size_t	g;

		for (g = 0; g < sizeof(globals) / sizeof(globals[0]); g++)
			if (globals[g].letter == *s)
				break;
		if (g == sizeof(globals) / sizeof(globals[0])) {
			*rc = ctl_usage_error(p->ctl->cmd,
			    "unknown option: -%c", *s);
			return -1;
		}
		if (!globals[g].arg) {
			if (apply_global(p, g, NULL, rc) == -1)
				return -1;
			continue;
		}
		if (s[1] != '\0')
			return apply_global(p, g, s + 1, rc);
		if (*i + 1 >= argc) {
			*rc = ctl_usage_error(p->ctl->cmd, "-%c needs a value",
			    *s);
			return -1;
		}
		return apply_global(p, g, argv[++*i], rc);
	}
	return 0;
}

static int
parse_args(struct parse *p, int argc, char **argv, int *rc)
{
	struct ctl	*ctl = p->ctl;
	bool		 endopts = false;

	ctl->args = calloc((size_t)argc, sizeof(*ctl->args));
	if (ctl->args == NULL) {
		ctl_warnx("out of memory");
		*rc = CTL_EXIT_FAIL;
		return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!endopts && strcmp(a, "--") == 0) {
			endopts = true;
			continue;
		}
		if (!endopts && a[0] == '-' && a[1] == '-') {
			if (parse_long(p, argc, argv, &i, rc) == -1)
				return -1;
			continue;
		}
		if (!endopts && a[0] == '-' && a[1] != '\0') {
			if (parse_short(p, argc, argv, &i, rc) == -1)
				return -1;
			continue;
		}
		if (ctl->cmd == NULL) {
			if ((ctl->cmd = ctl_command_find(a)) == NULL) {
				*rc = ctl_usage_error(NULL,
				    "unknown command: %s", a);
				return -1;
			}
			continue;
		}
		ctl->args[ctl->nargs++] = argv[i];
	}
	return 0;
}

/* Socket path, timeout, argument counts, then the command's own checks. */
static int
validate(struct parse *p)
{
	struct ctl		*ctl = p->ctl;
	const struct ctl_command *c = ctl->cmd;
	const char		*env = getenv("CHITCHATD_SOCKET");
	struct sockaddr_un	 sun;
	const char		*nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (ctl->nargs < c->min_args)
		return ctl_usage_error(c, "%s: missing argument", c->name);
	if (c->max_args >= 0 && ctl->nargs > c->max_args)
		return ctl_usage_error(c, "%s: unexpected argument: %s",
		    c->name, ctl->args[c->max_args]);
	if (p->timeout != NULL &&
	    ctl_parse_duration(p->timeout, &ctl->timeout_ms) == -1)
		return ctl_usage_error(c, "--timeout: invalid duration: %s "
		    "(expected e.g. 500ms, 10s, 2m)", p->timeout);
	if (p->socket != NULL)
		ctl->socket = p->socket;
	else if (env != NULL && env[0] != '\0')
		ctl->socket = env;
	else
		ctl->socket = CC_CTL_DEFAULT_SOCKET;
	if (c->flags & CMD_LOCAL)
		;	/* no daemon: the socket does not matter */
	else if (ctl->socket[0] == '\0')
		return ctl_usage_error(c, "--socket: empty path");
	else if (strlen(ctl->socket) >= sizeof(sun.sun_path))
		return ctl_usage_error(c, "socket path too long (%zu bytes, "
		    "at most %zu): %s", strlen(ctl->socket),
		    sizeof(sun.sun_path) - 1, ctl->socket);
	if ((c->flags & CMD_WAITS) || ctl->timeout_ms < 0)
		ctl->request_ms = CTL_DEFAULT_TIMEOUT_MS;
	else
		ctl->request_ms = ctl->timeout_ms == 0 ? -1 : ctl->timeout_ms;
	ctl->tty = isatty(STDOUT_FILENO) == 1;
	ctl->color = ctl->tty && (nc == NULL || nc[0] == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	return c->check != NULL ? c->check(ctl) : CTL_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct ctl	ctl;
	struct parse	p;
	int		rc = CTL_EXIT_OK;
	bool		closed = false;

	memset(&ctl, 0, sizeof(ctl));
	memset(&p, 0, sizeof(p));
	ctl.timeout_ms = -1;
	p.ctl = &ctl;
	/* the socket uses MSG_NOSIGNAL; a closed stdout is EPIPE, handled */
	signal(SIGPIPE, SIG_IGN);
	if (parse_args(&p, argc, argv, &rc) == -1)
		goto out;
	if (ctl.cmd == NULL) {
		rc = ctl_usage_error(NULL, "missing command");
		goto out;
	}
	if ((rc = validate(&p)) != CTL_EXIT_OK)
		goto out;
	rc = ctl.cmd->exec(&ctl);
out:
	if (ctl_flush(&closed) != CTL_EXIT_OK && rc == CTL_EXIT_OK)
		rc = CTL_EXIT_FAIL;
	free(ctl.args);
	return rc;
}
