/*
 * check_config.c: daemon/config.c called directly: defaults, every
 * option on the command line and in the file, durations and sizes, bad
 * values (one message naming the option, or file:line), unknown names,
 * the merge rule (the command line overrides the file; a repeatable
 * option on the command line replaces the file's list), --check-config
 * output read back as a file, reload diffs; and, at engine level, the
 * --required-key liveness predicate and --max-datagram-size.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../daemon/config.h"
#include "testutil.h"

#define MAXARGS	96

/* argv from a NULL-terminated list; argv[0] is "chitchatd". */
struct args {
	int	 argc;
	char	*argv[MAXARGS];
};

static void
args_vset(struct args *a, va_list ap)
{
	const char *s;

	a->argc = 0;
	a->argv[a->argc++] = (char *)"chitchatd";
	while ((s = va_arg(ap, const char *)) != NULL) {
		ck_assert_int_lt(a->argc, MAXARGS - 1);
		a->argv[a->argc++] = (char *)s;
	}
	a->argv[a->argc] = NULL;
}

/* Loads; fails the test on error. */
static struct ccd_config *
load_ok(enum config_action *action, ...)
{
	struct args		 a;
	struct ccd_config	*c = NULL;
	enum config_action	 act;
	char			*cause = NULL;
	va_list			 ap;

	va_start(ap, action);
	args_vset(&a, ap);
	va_end(ap);
	ck_assert_msg(config_load(a.argc, a.argv, &c, &act, &cause) == 0, "unexpected error: %s",
	    cause != NULL ? cause : "?");
	if (action != NULL)
		*action = act;
	return c;
}

/* Loads expecting an error; returns the cause (caller frees). */
static char *
load_err(const char *first, ...)
{
	struct args		 a;
	struct ccd_config	*c = NULL;
	enum config_action	 act;
	char			*cause = NULL;
	va_list			 ap;

	a.argc = 0;
	a.argv[a.argc++] = (char *)"chitchatd";
	a.argv[a.argc++] = (char *)first;
	va_start(ap, first);
	{
		const char *s;

		while ((s = va_arg(ap, const char *)) != NULL)
			a.argv[a.argc++] = (char *)s;
	}
	va_end(ap);
	a.argv[a.argc] = NULL;
	ck_assert_int_eq(config_load(a.argc, a.argv, &c, &act, &cause), -1);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strchr(cause, '\n') == NULL, "multi-line cause: %s", cause);
	return cause;
}

static void
assert_prefix(const char *s, const char *prefix)
{
	ck_assert_msg(strncmp(s, prefix, strlen(prefix)) == 0, "\"%s\" does not start with \"%s\"",
	    s, prefix);
}

/* A temporary config file holding text; path in buf. */
static void
write_file(char *path, size_t len, const char *text)
{
	FILE	*f;
	int	 fd;

	snprintf(path, len, "/tmp/check_config.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- defaults and every option ------------------------------------------------- */

START_TEST(test_defaults)
{
	enum config_action	 act;
	uint64_t		 before = wall_ns();
	struct ccd_config	*c = load_ok(&act, NULL);
	char			 host[256];
	struct cc_addr		 lo;

	ck_assert_int_eq(act, CONFIG_RUN);
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	ck_assert_str_eq(c->node_id, host);
	ck_assert_str_eq(c->cluster_id, "default-cluster");
	ck_assert_str_eq(c->listen, "127.0.0.1:7280");
	ck_assert_ptr_null(c->advertise);
	ck_assert_int_eq(cc_addr_parse("127.0.0.1:7280", &lo), 0);
	ck_assert(cc_addr_is_equal(&c->listen_addr, &lo));
	ck_assert(cc_addr_is_equal(&c->advertise_addr, &lo));
	ck_assert_uint_eq(c->n_seeds, 0);
	ck_assert(!c->generation_set);
	ck_assert_uint_ge(c->generation, before);
	ck_assert_uint_le(c->generation, wall_ns());
	ck_assert_uint_eq(c->gossip_interval_ms, 1000);
	ck_assert_uint_eq(c->marked_for_deletion_grace_period_ms, 2 * 3600 * 1000);
	ck_assert(c->fd.phi_threshold == 8.0);
	ck_assert_uint_eq(c->fd.sampling_window_size, 1000);
	ck_assert_uint_eq(c->fd.max_interval_ms, 10000);
	ck_assert_uint_eq(c->fd.initial_interval_ms, 5000);
	ck_assert_uint_eq(c->fd.dead_node_grace_period_ms, 86400000);
	ck_assert_uint_eq(c->max_datagram_size, 65507);
	ck_assert_int_eq(c->encryption, GOSSIP_ENC_OFF);
	ck_assert_ptr_null(c->keyring);
	ck_assert_uint_eq(c->n_initial, 0);
	ck_assert_uint_eq(c->n_required_keys, 0);
	ck_assert_str_eq(c->control_socket, "/run/chitchatd/chitchatd.sock");
	ck_assert_uint_eq(c->control_mode, 0660);
	ck_assert_ptr_null(c->control_group);
	ck_assert_uint_eq(c->n_write_users, 0);
	ck_assert_uint_eq(c->n_write_groups, 0);
	ck_assert_ptr_null(c->control_readonly_socket);
	ck_assert_uint_eq(c->control_readonly_mode, 0666);
	ck_assert_uint_eq(c->max_line, 1024 * 1024);
	ck_assert_uint_eq(c->max_clients, 256);
	ck_assert_uint_eq(c->max_output, 4 * 1024 * 1024);
	ck_assert_int_eq(c->log_level, CC_LOG_INFO);
	ck_assert_ptr_null(c->config_file);
	config_free(c);
}
END_TEST

START_TEST(test_every_option_on_the_command_line)
{
	struct ccd_config	*c;
	struct cc_addr		 a;
	char			 gid[32];

	snprintf(gid, sizeof(gid), "%u", (unsigned)getgid());
	c = load_ok(NULL, "--node-id", "n1", "--cluster-id", "prod", "--listen",
	    "127.0.0.1:7001", "--advertise", "[::1]:7002", "--seed", "127.0.0.1:7003",
	    "--seed", "localhost:7004", "--seed", "[::1]:7005", "--generation",
	    "18446744073709551615", "--gossip-interval", "250ms", "--phi-threshold", "5.5",
	    "--sampling-window-size", "42", "--max-interval", "3s", "--initial-interval", "2m",
	    "--dead-node-grace-period", "1h", "--marked-for-deletion-grace-period", "1d",
	    "--max-datagram-size", "1400", "--set", "role=db", "--set", "empty=",
	    "--set", "eq=a=b", "--required-key", "ready", "--required-key", "role",
	    "--control-socket", "/tmp/x.sock", "--control-mode", "600", "--control-group",
	    gid, "--control-write-users", "root,4242", "--control-write-users", " 17 ",
	    "--control-write-groups", "root", "--control-readonly-socket", "/tmp/ro.sock",
	    "--control-readonly-mode", "644",
	    "--max-line", "64k", "--max-clients", "3", "--max-output", "2M",
	    "--log-level", "debug", NULL);
	ck_assert_str_eq(c->node_id, "n1");
	ck_assert_str_eq(c->cluster_id, "prod");
	ck_assert_str_eq(c->listen, "127.0.0.1:7001");
	ck_assert_str_eq(c->advertise, "[::1]:7002");
	ck_assert_int_eq(cc_addr_parse("[::1]:7002", &a), 0);
	ck_assert(cc_addr_is_equal(&c->advertise_addr, &a));
	ck_assert_uint_eq(c->n_seeds, 3);
	ck_assert_str_eq(c->seeds[0], "127.0.0.1:7003");
	ck_assert_str_eq(c->seeds[1], "localhost:7004");
	ck_assert_str_eq(c->seeds[2], "[::1]:7005");
	ck_assert(c->generation_set);
	ck_assert_uint_eq(c->generation, UINT64_MAX);
	ck_assert_uint_eq(c->gossip_interval_ms, 250);
	ck_assert(c->fd.phi_threshold == 5.5);
	ck_assert_uint_eq(c->fd.sampling_window_size, 42);
	ck_assert_uint_eq(c->fd.max_interval_ms, 3000);
	ck_assert_uint_eq(c->fd.initial_interval_ms, 120000);
	ck_assert_uint_eq(c->fd.dead_node_grace_period_ms, 3600000);
	ck_assert_uint_eq(c->marked_for_deletion_grace_period_ms, 86400000);
	ck_assert_uint_eq(c->max_datagram_size, 1400);
	ck_assert_uint_eq(c->n_initial, 3);
	ck_assert_str_eq(c->initial[0].key, "role");
	ck_assert_str_eq(c->initial[0].value, "db");
	ck_assert_str_eq(c->initial[1].key, "empty");
	ck_assert_str_eq(c->initial[1].value, "");
	ck_assert_str_eq(c->initial[2].key, "eq");
	ck_assert_str_eq(c->initial[2].value, "a=b");
	ck_assert_uint_eq(c->n_required_keys, 2);
	ck_assert_str_eq(c->required_keys[0], "ready");
	ck_assert_str_eq(c->required_keys[1], "role");
	ck_assert_str_eq(c->control_socket, "/tmp/x.sock");
	ck_assert_uint_eq(c->control_mode, 0600);
	ck_assert_str_eq(c->control_group, gid);
	ck_assert_uint_eq(c->n_write_users, 3);
	ck_assert_str_eq(c->write_users[0].name, "root");
	ck_assert_uint_eq(c->write_users[0].id, 0);
	ck_assert_str_eq(c->write_users[1].name, "4242");
	ck_assert_uint_eq(c->write_users[1].id, 4242);
	ck_assert_str_eq(c->write_users[2].name, "17");	/* spaces trimmed */
	ck_assert_uint_eq(c->write_users[2].id, 17);
	ck_assert_uint_eq(c->n_write_groups, 1);
	ck_assert_uint_eq(c->write_groups[0].id, 0);
	ck_assert_str_eq(c->control_readonly_socket, "/tmp/ro.sock");
	ck_assert_uint_eq(c->control_readonly_mode, 0644);
	ck_assert_uint_eq(c->max_line, 65536);
	ck_assert_uint_eq(c->max_clients, 3);
	ck_assert_uint_eq(c->max_output, 2 * 1024 * 1024);
	ck_assert_int_eq(c->log_level, CC_LOG_DEBUG);
	config_free(c);
}
END_TEST

START_TEST(test_equals_form_abbreviations_and_last_wins)
{
	struct ccd_config *c = load_ok(NULL, "--node-id=a", "--node-id", "b",
	    "--gossip=2s", "--control-socket", "none", "--log-level", "warning", NULL);

	ck_assert_str_eq(c->node_id, "b");
	ck_assert_uint_eq(c->gossip_interval_ms, 2000);
	ck_assert_str_eq(c->control_socket, "none");
	ck_assert_int_eq(c->log_level, CC_LOG_WARN);
	config_free(c);
	c = load_ok(NULL, "--control-socket", "", NULL);	/* "" disables too */
	ck_assert_str_eq(c->control_socket, "none");
	config_free(c);
}
END_TEST

START_TEST(test_actions)
{
	enum config_action	 act;
	struct ccd_config	*c;

	c = load_ok(&act, "--gossip-interval", "1s", "-h", NULL);
	ck_assert_int_eq(act, CONFIG_HELP);
	ck_assert_ptr_null(c);
	c = load_ok(&act, "--help", NULL);
	ck_assert_int_eq(act, CONFIG_HELP);
	c = load_ok(&act, "-V", NULL);
	ck_assert_int_eq(act, CONFIG_VERSION);
	ck_assert_ptr_null(c);
	c = load_ok(&act, "--version", NULL);
	ck_assert_int_eq(act, CONFIG_VERSION);
	c = load_ok(&act, "--check-config", "--node-id", "x", NULL);
	ck_assert_int_eq(act, CONFIG_CHECK);
	ck_assert_str_eq(c->node_id, "x");
	config_free(c);
	/* help wins over a bad value given before it is parsed */
	c = load_ok(&act, "--help", "--gossip-interval", "soon", NULL);
	ck_assert_int_eq(act, CONFIG_HELP);
}
END_TEST

START_TEST(test_wildcard_listen_needs_advertise)
{
	struct ccd_config	*c;
	struct cc_addr		 a;
	char			*cause = load_err("--listen", "0.0.0.0:7000", NULL);

	assert_prefix(cause, "--listen 0.0.0.0:7000: ");
	ck_assert_ptr_nonnull(strstr(cause, "--advertise"));
	free(cause);
	cause = load_err("--listen", "127.0.0.1:7000", "--advertise", "0.0.0.0:7000", NULL);
	assert_prefix(cause, "--advertise 0.0.0.0:7000: ");
	free(cause);
	c = load_ok(NULL, "--listen", "0.0.0.0:7000", "--advertise", "127.0.0.2:7000", NULL);
	ck_assert_int_eq(cc_addr_parse("127.0.0.2:7000", &a), 0);
	ck_assert(cc_addr_is_equal(&c->advertise_addr, &a));
	config_free(c);
	/* host names are resolved for listen and advertise */
	c = load_ok(NULL, "--listen", "localhost:7000", NULL);
	ck_assert_uint_eq(c->listen_addr.port, 7000);
	ck_assert(cc_addr_is_equal(&c->listen_addr, &c->advertise_addr));
	config_free(c);
}
END_TEST

/* ---- durations and sizes ------------------------------------------------------------ */

START_TEST(test_durations)
{
	static const struct { const char *s; uint64_t ms; } ok[] = {
		{ "500ms", 500 }, { "10s", 10000 }, { "15m", 900000 }, { "2h", 7200000 },
		{ "1d", 86400000 }, { "1.5s", 1500 }, { "0", 0 }, { "0s", 0 }, { "0.25m", 15000 },
		{ "1ms", 1 }, { "100000d", 8640000000000ULL },
	};
	static const char *bad[] = {
		"", "5", "s", "-1s", "+1s", "1.s", ".5s", "1e3s", "0x10s", "1 s", " 1s", "1s ",
		"1sec", "1S", "inf", "nan", "1y", "1.5", "100000000d",
	};
	uint64_t	ms;
	char		buf[32];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(config_parse_duration(ok[i].s, &ms) == 0, "%s rejected", ok[i].s);
		ck_assert_uint_eq(ms, ok[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_parse_duration(bad[i], &ms) == -1, "\"%s\" accepted", bad[i]);
	config_format_duration(86400000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1d");
	config_format_duration(90000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "90s");
	config_format_duration(1500, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1500ms");
	config_format_duration(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0ms");
	config_format_duration(7200000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2h");
	/* every printed form parses back to itself */
	for (uint64_t v = 1; v < 100000000000ULL; v = v * 7 + 3) {
		config_format_duration(v, buf, sizeof(buf));
		ck_assert_int_eq(config_parse_duration(buf, &ms), 0);
		ck_assert_uint_eq(ms, v);
	}
}
END_TEST

START_TEST(test_sizes)
{
	uint64_t v;

	ck_assert_int_eq(config_parse_size("65507", &v), 0);
	ck_assert_uint_eq(v, 65507);
	ck_assert_int_eq(config_parse_size("64k", &v), 0);
	ck_assert_uint_eq(v, 65536);
	ck_assert_int_eq(config_parse_size("64K", &v), 0);
	ck_assert_uint_eq(v, 65536);
	ck_assert_int_eq(config_parse_size("4M", &v), 0);
	ck_assert_uint_eq(v, 4194304);
	ck_assert_int_eq(config_parse_size("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(config_parse_size("", &v), -1);
	ck_assert_int_eq(config_parse_size("k", &v), -1);
	ck_assert_int_eq(config_parse_size("-1", &v), -1);
	ck_assert_int_eq(config_parse_size("1G", &v), -1);
	ck_assert_int_eq(config_parse_size("1.5M", &v), -1);
	ck_assert_int_eq(config_parse_size("1 k", &v), -1);
	ck_assert_int_eq(config_parse_size("99999999999999999999", &v), -1);
	ck_assert_int_eq(config_parse_size("18014398509481984M", &v), -1);	/* overflows */
}
END_TEST

/* ---- bad values: one line naming the option ---------------------------------------- */

#define LONG_PATH "0123456789012345678901234567890123456789012345678901234567890123456789" \
	"012345678901234567890123456789012345678901234567890123456789"

START_TEST(test_bad_values_name_the_option)
{
	static const struct { const char *opt, *arg, *why; } cases[] = {
		{ "--node-id", "", "UTF-8" },
		{ "--node-id", "\xff\xfe", "UTF-8" },
		{ "--cluster-id", "", "UTF-8" },
		{ "--listen", "127.0.0.1", "HOST:PORT" },
		{ "--listen", "127.0.0.1:0", "port" },
		{ "--listen", "127.0.0.1:65536", "port" },
		{ "--listen", "nosuch.invalid:7000", "cannot resolve" },
		{ "--advertise", "[::1:7000", "HOST:PORT" },
		{ "--seed", "a:b:c", "HOST:PORT" },
		{ "--seed", "host", "HOST:PORT" },
		{ "--seed", ":7000", "HOST:PORT" },
		{ "--seed", "host:x", "port" },
		{ "--seed", "bad host:7000", "HOST:PORT" },
		{ "--generation", "-1", "unsigned" },
		{ "--generation", "18446744073709551616", "unsigned" },
		{ "--generation", "12a", "unsigned" },
		{ "--gossip-interval", "soon", "duration" },
		{ "--gossip-interval", "0", "at least 1ms" },
		{ "--phi-threshold", "0", "positive" },
		{ "--phi-threshold", "-3", "positive" },
		{ "--phi-threshold", "nan", "positive" },
		{ "--phi-threshold", "8x", "positive" },
		{ "--sampling-window-size", "0", "1 to 1000000" },
		{ "--sampling-window-size", "1000001", "1 to 1000000" },
		{ "--max-interval", "0ms", "at least" },
		{ "--initial-interval", "x", "duration" },
		{ "--dead-node-grace-period", "0", "at least" },
		{ "--marked-for-deletion-grace-period", "1y", "duration" },
		{ "--max-datagram-size", "65508", "512 to 65507" },
		{ "--max-datagram-size", "511", "512 to 65507" },
		{ "--max-datagram-size", "64K1", "512 to 65507" },
		{ "--max-nodes", "0", "1 to 10000000" },
		{ "--max-nodes", "10000001", "1 to 10000000" },
		{ "--max-keys-per-node", "0", "1 to 100000000" },
		{ "--max-keys-per-node", "1k", "1 to 100000000" },
		{ "--max-state-bytes", "1023", "1024 to" },
		{ "--max-state-bytes", "1048577M", "1024 to" },
		{ "--set", "novalue", "KEY=VALUE" },
		{ "--set", "=v", "empty" },
		{ "--set", "\xc3\xa9t\xc3\xa9=v", "non-ASCII" },
		{ "--set", "k=\xff", "UTF-8" },
		{ "--required-key", "", "empty" },
		{ "--required-key", "\xff", "UTF-8" },
		{ "--control-mode", "0999", "octal" },
		{ "--control-mode", "1777", "octal" },
		{ "--control-mode", "rw", "octal" },
		{ "--control-group", "no-such-group-here", "no such group" },
		{ "--control-write-users", "no-such-user-here", "no such user: no-such-user-here" },
		{ "--control-write-users", "root,no-such-user-here", "no such user" },
		{ "--control-write-users", "root,", "separated by commas" },
		{ "--control-write-users", "", "separated by commas" },
		{ "--control-write-users", "4294967295", "no such user" },
		{ "--control-write-groups", "no-such-group-here", "no such group: no-such-group-here" },
		{ "--control-write-groups", ",root", "separated by commas" },
		{ "--control-readonly-mode", "0999", "octal" },
		{ "--control-readonly-socket", "/tmp/" LONG_PATH, "path longer" },
		{ "--max-line", "100", "256 to" },
		{ "--max-clients", "0", "1 to 65536" },
		{ "--max-clients", "65537", "1 to 65536" },
		{ "--max-output", "1k", "4096 to" },
		{ "--log-level", "loud", "error, warn, info or debug" },
	};
	char	prefix[128], *cause;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cause = load_err(cases[i].opt, cases[i].arg, NULL);
		snprintf(prefix, sizeof(prefix), "%s ", cases[i].opt);
		assert_prefix(cause, prefix);
		ck_assert_msg(strstr(cause, cases[i].why) != NULL, "%s %s: \"%s\" lacks \"%s\"",
		    cases[i].opt, cases[i].arg, cause, cases[i].why);
		free(cause);
	}
}
END_TEST

START_TEST(test_command_line_syntax_errors)
{
	char *cause;

	cause = load_err("--no-such-option", NULL);
	ck_assert_str_eq(cause, "--no-such-option: unknown or ambiguous option (try --help)");
	free(cause);
	cause = load_err("--max", "1", NULL);		/* ambiguous */
	assert_prefix(cause, "--max: unknown or ambiguous option");
	free(cause);
	cause = load_err("-x", NULL);
	ck_assert_str_eq(cause, "-x: unknown option (try --help)");
	free(cause);
	cause = load_err("--seed", NULL);
	ck_assert_str_eq(cause, "--seed: missing argument");
	free(cause);
	cause = load_err("--help=yes", NULL);
	ck_assert_str_eq(cause, "--help=yes: takes no argument");
	free(cause);
	cause = load_err("stray", NULL);
	assert_prefix(cause, "stray: unexpected argument");
	free(cause);
	cause = load_err("--config", "/nonexistent/chitchatd.conf", NULL);
	ck_assert_str_eq(cause, "--config /nonexistent/chitchatd.conf: No such file or directory");
	free(cause);
	/* long values are cut in the message */
	{
		char big[400];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		cause = load_err("--gossip-interval", big, NULL);
		ck_assert_uint_lt(strlen(cause), 200);
		ck_assert_ptr_nonnull(strstr(cause, "...: expected a duration"));
		free(cause);
	}
}
END_TEST

/* ---- the config file ------------------------------------------------------------------ */

START_TEST(test_file_every_option)
{
	char			 path[64], text[2048];
	struct ccd_config	*c;

	snprintf(text, sizeof(text),
	    "# chitchatd test configuration\n"
	    "; both comment styles\n"
	    "\n"
	    "node-id = file-node\n"
	    "cluster-id=prod\n"
	    "listen   =   127.0.0.1:7101  \n"
	    "advertise = 127.0.0.1:7102\n"
	    "seed = 127.0.0.1:7103\n"
	    "seed = localhost:7104\n"
	    "generation = 42\n"
	    "gossip-interval = 100ms\n"
	    "phi-threshold = 6\n"
	    "sampling-window-size = 100\n"
	    "max-interval = 20s\n"
	    "initial-interval = 1s\n"
	    "dead-node-grace-period = 10m\n"
	    "marked-for-deletion-grace-period = 0\n"
	    "max-datagram-size = 9000\n"
	    "set = role = db ; not a comment\n"
	    "set = zone=eu\n"
	    "required-key = ready\n"
	    "control-socket = none\n"
	    "control-mode = 0640\n"
	    "control-group = %u\n"
	    "max-line = 2k\n"
	    "max-clients = 10\n"
	    "max-output = 1M\n"
	    "log-level = error\n", (unsigned)getgid());
	write_file(path, sizeof(path), text);
	c = load_ok(NULL, "--config", path, NULL);
	ck_assert_str_eq(c->config_file, path);
	ck_assert_str_eq(c->node_id, "file-node");
	ck_assert_str_eq(c->cluster_id, "prod");
	ck_assert_str_eq(c->listen, "127.0.0.1:7101");
	ck_assert_str_eq(c->advertise, "127.0.0.1:7102");
	ck_assert_uint_eq(c->n_seeds, 2);
	ck_assert_str_eq(c->seeds[1], "localhost:7104");
	ck_assert_uint_eq(c->generation, 42);
	ck_assert_uint_eq(c->gossip_interval_ms, 100);
	ck_assert(c->fd.phi_threshold == 6);
	ck_assert_uint_eq(c->fd.sampling_window_size, 100);
	ck_assert_uint_eq(c->fd.max_interval_ms, 20000);
	ck_assert_uint_eq(c->fd.initial_interval_ms, 1000);
	ck_assert_uint_eq(c->fd.dead_node_grace_period_ms, 600000);
	ck_assert_uint_eq(c->marked_for_deletion_grace_period_ms, 0);
	ck_assert_uint_eq(c->max_datagram_size, 9000);
	ck_assert_uint_eq(c->n_initial, 2);
	/* values are verbatim after trimming: no inline comments */
	ck_assert_str_eq(c->initial[0].key, "role ");
	ck_assert_str_eq(c->initial[0].value, " db ; not a comment");
	ck_assert_str_eq(c->initial[1].key, "zone");
	ck_assert_uint_eq(c->n_required_keys, 1);
	ck_assert_str_eq(c->control_socket, "none");
	ck_assert_uint_eq(c->control_mode, 0640);
	ck_assert_uint_eq(c->max_line, 2048);
	ck_assert_uint_eq(c->max_clients, 10);
	ck_assert_uint_eq(c->max_output, 1048576);
	ck_assert_int_eq(c->log_level, CC_LOG_ERROR);
	config_free(c);
	unlink(path);
}
END_TEST

/* Each bad file: the expected start of the message, after "<path>:". */
START_TEST(test_file_errors_with_line_numbers)
{
	static const struct { const char *text, *expect; } cases[] = {
		{ "node-id = a\nbogus = 1\n", "2: bogus: unknown option" },
		{ "\n\n# c\ngossip-interval = fast\n",
		    "4: gossip-interval = fast: expected a duration" },
		{ "node-id = a\n[main]\nlisten = 127.0.0.1:1\n", "2: sections are not used" },
		{ "node-id = a\n   [main]\n", "2: sections are not used" },
		{ "node-id = a\njust some words\n", "2: expected name = value" },
		{ "config = /etc/other.conf\n", "1: config: only valid on the command line" },
		{ "check-config = 1\n", "1: check-config: only valid on the command line" },
		{ "help = 1\n", "1: help: only valid on the command line" },
		{ "seed = 127.0.0.1:1\nseed = nope\n", "2: seed = nope: expected HOST:PORT" },
		{ "set = k=v\nset = =v\n", "2: set = =v: the key must not be empty" },
		{ "listen = 0.0.0.0:7000\n", "1: listen = 0.0.0.0:7000: a wildcard" },
		{ "node-id = a\n  indented = 1\n", "2: indented: unknown option" },
		{ "node-id =\n", "1: node-id = \"\": expected 1 to 65535 bytes" },
		{ "--seed = 127.0.0.1:1\n", "1: --seed: unknown option" },
	};
	char	path[64], expect[256], *cause;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(path, sizeof(path), cases[i].text);
		cause = load_err("--config", path, NULL);
		snprintf(expect, sizeof(expect), "%s:%s", path, cases[i].expect);
		assert_prefix(cause, expect);
		free(cause);
		unlink(path);
	}
}
END_TEST

START_TEST(test_file_long_lines)
{
	char	path[64], text[1024], *cause;
	struct ccd_config *c;

	/* 198 bytes fit (the Debian libinih line buffer), 199 do not */
	snprintf(text, sizeof(text), "node-id = a\nset = k=%0*d\n", 198 - 8, 0);
	write_file(path, sizeof(path), text);
	c = load_ok(NULL, "--config", path, NULL);
	ck_assert_uint_eq(strlen(c->initial[0].value), 198 - 8);
	config_free(c);
	unlink(path);
	snprintf(text, sizeof(text), "node-id = a\nset = k=%0*d\nlog-level = debug\n", 199 - 8, 0);
	write_file(path, sizeof(path), text);
	cause = load_err("--config", path, NULL);
	ck_assert_ptr_nonnull(strstr(cause, ":2: line longer than 198 bytes"));
	free(cause);
	unlink(path);
	/* a last line without a newline is fine */
	write_file(path, sizeof(path), "node-id = a\nlog-level = debug");
	c = load_ok(NULL, "--config", path, NULL);
	ck_assert_int_eq(c->log_level, CC_LOG_DEBUG);
	config_free(c);
	unlink(path);
}
END_TEST

START_TEST(test_command_line_overrides_file)
{
	char			 path[64];
	struct ccd_config	*c;

	write_file(path, sizeof(path),
	    "node-id = from-file\n"
	    "gossip-interval = 2s\n"
	    "seed = 127.0.0.1:7201\n"
	    "seed = 127.0.0.1:7202\n"
	    "set = a=1\n"
	    "set = b=2\n"
	    "required-key = r1\n"
	    "log-level = debug\n");
	/* scalars: the command line wins, wherever it appears */
	c = load_ok(NULL, "--node-id", "from-cli", "--config", path, NULL);
	ck_assert_str_eq(c->node_id, "from-cli");
	ck_assert_uint_eq(c->gossip_interval_ms, 2000);		/* file, not overridden */
	ck_assert_int_eq(c->log_level, CC_LOG_DEBUG);
	/* repeatables not given on the command line: the file's, accumulated */
	ck_assert_uint_eq(c->n_seeds, 2);
	ck_assert_uint_eq(c->n_initial, 2);
	ck_assert_uint_eq(c->n_required_keys, 1);
	config_free(c);
	/* a repeatable given on the command line replaces the file's list */
	c = load_ok(NULL, "--config", path, "--seed", "127.0.0.1:7301", "--seed",
	    "127.0.0.1:7302", "--seed", "127.0.0.1:7303", "--set", "c=3", NULL);
	ck_assert_uint_eq(c->n_seeds, 3);
	ck_assert_str_eq(c->seeds[0], "127.0.0.1:7301");
	ck_assert_str_eq(c->seeds[2], "127.0.0.1:7303");
	ck_assert_uint_eq(c->n_initial, 1);
	ck_assert_str_eq(c->initial[0].key, "c");
	ck_assert_uint_eq(c->n_required_keys, 1);		/* untouched */
	ck_assert_str_eq(c->required_keys[0], "r1");
	config_free(c);
	/* an error on the command line names the option, not the file */
	{
		char *cause = load_err("--config", path, "--gossip-interval", "x", NULL);

		assert_prefix(cause, "--gossip-interval x: ");
		free(cause);
	}
	unlink(path);
}
END_TEST

START_TEST(test_check_config_output_reads_back)
{
	char			 path[64], *out1 = NULL, *out2 = NULL;
	size_t			 len1 = 0, len2 = 0;
	struct ccd_config	*c;
	FILE			*f;
	char			*line, *save;

	c = load_ok(NULL, "--node-id", "rt", "--seed", "127.0.0.1:7401", "--seed",
	    "localhost:7402", "--set", "k=v", "--set", "x=padded ", "--gossip-interval", "1.5s",
	    "--phi-threshold", "0.1", "--max-line", "3000", "--required-key", "ready", NULL);
	f = open_memstream(&out1, &len1);
	config_print(c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out1, "\nnode-id = rt\n"));
	ck_assert_ptr_nonnull(strstr(out1, "\nseed = localhost:7402\n"));
	ck_assert_ptr_nonnull(strstr(out1, "\ngossip-interval = 1500ms\n"));
	ck_assert_ptr_nonnull(strstr(out1, "\ncontrol-mode = 0660\n"));
	ck_assert_ptr_nonnull(strstr(out1, "\nmax-output = 4M\n"));
	ck_assert_ptr_nonnull(strstr(out1, "\n# set: a value not representable"));
	config_free(c);
	/* every non-comment line is `name = value` and reads back the same */
	write_file(path, sizeof(path), out1);
	c = load_ok(NULL, "--config", path, NULL);
	f = open_memstream(&out2, &len2);
	config_print(c, f);
	fclose(f);
	config_free(c);
	/* equal but for the comments ("# config = ...", the unrepresentable value) */
	for (line = strtok_r(out1, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		ck_assert_msg(strstr(line, " = ") != NULL, "bad line: %s", line);
		ck_assert_msg(strstr(out2, line) != NULL, "lost in the round trip: %s", line);
	}
	free(out1);
	free(out2);
	unlink(path);
}
END_TEST

/* control-write-users/-groups: lists, file and command line, errors, output, diff. */
START_TEST(test_access_options)
{
	char			 path[64], *out = NULL, *cause;
	size_t			 len = 0;
	struct ccd_config	*c, *d;
	FILE			*f;

	write_file(path, sizeof(path),
	    "control-write-users = root\n"
	    "control-write-users = 7, 8\n"
	    "control-write-groups = 0\n"
	    "control-readonly-socket = /tmp/watch.sock\n");
	/* the file's lines accumulate, in order */
	c = load_ok(NULL, "--config", path, NULL);
	ck_assert_uint_eq(c->n_write_users, 3);
	ck_assert_uint_eq(c->write_users[0].id, 0);
	ck_assert_uint_eq(c->write_users[2].id, 8);
	ck_assert_str_eq(c->write_users[2].name, "8");
	ck_assert_uint_eq(c->n_write_groups, 1);
	/* --check-config prints one entry a line, which reads back */
	f = open_memstream(&out, &len);
	config_print(c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "\ncontrol-write-users = root\ncontrol-write-users = 7\n"
	    "control-write-users = 8\ncontrol-write-groups = 0\n"
	    "control-readonly-socket = /tmp/watch.sock\ncontrol-readonly-mode = 0666\n"));
	free(out);
	/* the command line replaces the file's list */
	d = load_ok(NULL, "--config", path, "--control-write-users", "9", NULL);
	ck_assert_uint_eq(d->n_write_users, 1);
	ck_assert_uint_eq(d->write_users[0].id, 9);
	ck_assert_uint_eq(d->n_write_groups, 1);		/* untouched */
	ck_assert(config_access_is_equal(c, c));
	ck_assert(!config_access_is_equal(c, d));
	config_free(d);
	/* the same ids under other names still differ: the log says what changed */
	d = load_ok(NULL, "--config", path, "--control-write-users", "0,7,8", NULL);
	ck_assert(!config_access_is_equal(c, d));
	config_free(d);
	config_free(c);
	/* defaults print as comments */
	c = load_ok(NULL, NULL);
	out = NULL;
	f = open_memstream(&out, &len);
	config_print(c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "\n# control-write-users = (none)\n"
	    "# control-write-groups = (none)\n# control-readonly-socket = (none)\n"));
	free(out);
	config_free(c);
	/* "none" is no read-only socket; the same path as the main one is refused */
	c = load_ok(NULL, "--control-readonly-socket", "none", NULL);
	ck_assert_ptr_null(c->control_readonly_socket);
	config_free(c);
	cause = load_err("--control-socket", "/tmp/a.sock", "--control-readonly-socket",
	    "/tmp/a.sock", NULL);
	ck_assert_str_eq(cause, "--control-readonly-socket /tmp/a.sock: must differ from "
	    "control-socket");
	free(cause);
	c = load_ok(NULL, "--control-socket", "none", "--control-readonly-socket", "none", NULL);
	config_free(c);
	unlink(path);
	/* an unknown name in the file: file:line and the option */
	write_file(path, sizeof(path), "node-id = x\ncontrol-write-groups = no-such-group-here\n");
	cause = load_err("--config", path, NULL);
	ck_assert_ptr_nonnull(strstr(cause, ":2: control-write-groups = no-such-group-here: "
	    "no such group: no-such-group-here"));
	free(cause);
	unlink(path);
}
END_TEST

/* ---- reload support --------------------------------------------------------------------- */

struct names {
	char	buf[512];
};

static void
collect(void *arg, const char *name)
{
	struct names *n = arg;

	strncat(n->buf, name, sizeof(n->buf) - strlen(n->buf) - 2);
	strncat(n->buf, " ", sizeof(n->buf) - strlen(n->buf) - 1);
}

START_TEST(test_diff_for_reload)
{
	struct ccd_config	*a, *b;
	struct names		 n;

	a = load_ok(NULL, "--seed", "127.0.0.1:1", NULL);
	b = load_ok(NULL, "--seed", "127.0.0.1:1", NULL);
	memset(&n, 0, sizeof(n));
	config_diff(a, b, collect, &n);
	ck_assert_str_eq(n.buf, "");		/* default generations differ: ignored */
	ck_assert(config_seeds_are_equal(a, b));
	config_free(b);
	b = load_ok(NULL, "--seed", "127.0.0.1:2", "--log-level", "debug", "--listen",
	    "127.0.0.1:7999", "--set", "k=v", "--generation", "5", "--max-clients", "9", NULL);
	ck_assert(!config_seeds_are_equal(a, b));
	memset(&n, 0, sizeof(n));
	config_diff(a, b, collect, &n);
	ck_assert_str_eq(n.buf, "listen seed generation set max-clients log-level ");
	config_free(b);
	b = load_ok(NULL, "--seed", "127.0.0.1:1", "--control-write-users", "0",
	    "--control-write-groups", "0", "--control-readonly-socket", "/tmp/w.sock",
	    "--control-readonly-mode", "0600", NULL);
	memset(&n, 0, sizeof(n));
	config_diff(a, b, collect, &n);
	ck_assert_str_eq(n.buf, "control-write-users control-write-groups "
	    "control-readonly-socket control-readonly-mode ");
	config_free(a);
	config_free(b);
}
END_TEST

/* ---- engine level: --required-key and --max-datagram-size ------------------------------- */

static size_t	last_published;
static int	n_live_events;

static void
count_live(struct test_env *env, const struct cc_event *ev)
{
	(void)env;
	if (ev->type == CC_EVENT_LIVE_NODES) {
		last_published = ev->n_live;
		n_live_events++;
	}
}

START_TEST(test_required_key_is_the_liveness_predicate)
{
	struct ccd_config	*c = load_ok(NULL, "--node-id", "rk", "--required-key", "ready",
				    "--required-key", "zone", "--gossip-interval", "50ms", NULL);
	struct test_engine	 t;
	struct cc_config	 ecfg;

	config_engine(c, &ecfg);
	ck_assert_ptr_nonnull(ecfg.liveness_predicate);
	memset(&t, 0, sizeof(t));
	test_engine_start(&t, &ecfg, 1);
	t.env.on_event = count_live;
	n_live_events = 0;
	last_published = 99;
	cc_engine_tick(t.e);
	ck_assert_int_eq(n_live_events, 1);
	ck_assert_uint_eq(last_published, 0);	/* self lacks both keys: not published */
	ck_assert_int_eq(cc_engine_set(t.e, "ready", 5, "1", 1), 0);
	t.env.now_ms += 50;
	cc_engine_tick(t.e);
	ck_assert_uint_eq(last_published, 0);	/* still lacks zone */
	ck_assert_int_eq(cc_engine_set(t.e, "zone", 4, "eu", 2), 0);
	t.env.now_ms += 50;
	cc_engine_tick(t.e);
	ck_assert_uint_eq(last_published, 1);	/* carries every required key */
	ck_assert_int_eq(cc_engine_delete(t.e, "zone", 4), 0);
	t.env.now_ms += 50;
	cc_engine_tick(t.e);
	ck_assert_uint_eq(last_published, 0);	/* deleted: not visible */
	/* the predicate reads visible keys only */
	ck_assert(!config_has_required_keys(cc_engine_self_node(t.e), c));
	test_engine_free(&t);
	config_free(c);
	/* no required key: no predicate, unless the leave extension needs one */
	c = load_ok(NULL, "--extensions", "force-leave", NULL);
	config_engine(c, &ecfg);
	ck_assert_ptr_null(ecfg.liveness_predicate);
	config_free(c);
	c = load_ok(NULL, NULL);
	config_engine(c, &ecfg);
	ck_assert_ptr_eq(ecfg.liveness_predicate, config_node_is_eligible);
	ck_assert_ptr_eq(ecfg.predicate_arg, c);
	config_free(c);
}
END_TEST

/* The SYN-ACK that `a` sends in reply to a SYN from empty `b`. */
static size_t
syn_ack_len(size_t max_datagram)
{
	struct test_engine	a, b;
	struct cc_config	cfg;
	struct cc_id		id;
	struct test_dgram	d;
	char			key[32], value[200];
	size_t			len;

	test_config(&cfg, &id, 7501);
	cfg.max_datagram = max_datagram;
	memset(&a, 0, sizeof(a));
	test_engine_start(&a, &cfg, 3);
	cc_id_clear(&id);
	test_engine_init(&b, 7502, 4);
	for (int i = 0; i < 300; i++) {
		/* incompressible, so that zstd cannot fit everything anyway */
		for (size_t j = 0; j < sizeof(value); j++)
			value[j] = (char)('!' + test_rand_u32(&b.env) % 90);
		snprintf(key, sizeof(key), "key-%03d", i);
		ck_assert_int_eq(cc_engine_set(a.e, key, strlen(key), value, sizeof(value)), 0);
	}
	ck_assert_int_eq(cc_engine_gossip(b.e, &a.env.self), 0);
	ck_assert(test_env_pop(&b.env, &d));
	ck_assert_int_eq(cc_engine_recv(a.e, &b.env.self, d.buf, d.len), 0);
	test_dgram_free(&d);
	ck_assert(test_env_pop(&a.env, &d));
	len = d.len;
	{
		struct cc_msg m;

		test_decode(&d, &m);
		ck_assert_int_eq(m.type, CC_MSG_SYN_ACK);
		ck_assert_uint_gt(m.delta.n, 0);	/* a partial delta, not an empty one */
		cc_msg_clear(&m);
	}
	test_dgram_free(&d);
	test_engine_free(&a);
	test_engine_free(&b);
	return len;
}

START_TEST(test_max_datagram_size_bounds_deltas)
{
	ck_assert_uint_le(syn_ack_len(1024), 1024);
	ck_assert_uint_le(syn_ack_len(512), 512);
	ck_assert_uint_gt(syn_ack_len(0), 4096);	/* 0: the 65,507 default */
	ck_assert_uint_le(syn_ack_len(0), 65507);
}
END_TEST

/* ---- the shipped example configuration --------------------------------------------- */

/* <repo>/<rel>, found by walking up from this binary. */
static void
repo_file(const char *rel, char *path, size_t len)
{
	char	dir[512];
	ssize_t	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	char	*p;

	ck_assert_int_gt(n, 0);
	dir[n] = '\0';
	while ((p = strrchr(dir, '/')) != NULL) {
		*p = '\0';
		snprintf(path, len, "%s/%s", dir, rel);
		if (access(path, R_OK) == 0)
			return;
	}
	ck_abort_msg("no %s found", rel);
}

static void
example_path(char *path, size_t len)
{
	repo_file("etc/chitchatd.conf", path, len);
}

static char *
read_all(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s;
	long	 n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* Every option --check-config prints is documented in both man pages. */
START_TEST(test_man_pages_document_every_option)
{
	char			 path[600], *printed = NULL, *man8, *man5, *line, *save, want[128];
	size_t			 len = 0;
	struct ccd_config	*c = load_ok(NULL, NULL);
	FILE			*f = open_memstream(&printed, &len);
	int			 n = 0;

	config_print(c, f);
	fclose(f);
	config_free(c);
	repo_file("docs/chitchatd.8", path, sizeof(path));
	man8 = read_all(path);
	repo_file("docs/chitchatd.conf.5", path, sizeof(path));
	man5 = read_all(path);
	for (line = strtok_r(printed, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		const char *start = line[0] == '#' ? line + 2 : line, *eq = strstr(start, " = ");

		if (eq == NULL || strncmp(start, "config ", 7) == 0 || strchr(start, ' ') < eq)
			continue;
		snprintf(want, sizeof(want), "\n.It Fl -%.*s", (int)(eq - start), start);
		ck_assert_msg(strstr(man8, want) != NULL, "chitchatd.8 lacks %s", want + 1);
		snprintf(want, sizeof(want), "\n.It Cm %.*s Ta ", (int)(eq - start), start);
		ck_assert_msg(strstr(man5, want) != NULL, "chitchatd.conf.5 lacks %s", want + 1);
		n++;
	}
	ck_assert_int_eq(n, 35);
	free(printed);
	free(man8);
	free(man5);
}
END_TEST

START_TEST(test_example_config_lists_every_option_with_its_default)
{
	char			 path[600], *printed = NULL, *example, *line, *save, want[256];
	size_t			 len = 0;
	struct ccd_config	*c;
	FILE			*f;
	long			 n;

	example_path(path, sizeof(path));
	/* as shipped (all commented out) it parses, to the defaults */
	c = load_ok(NULL, "--config", path, NULL);
	ck_assert_uint_eq(c->gossip_interval_ms, 1000);
	config_free(c);
	c = load_ok(NULL, NULL);
	f = open_memstream(&printed, &len);
	config_print(c, f);
	fclose(f);
	config_free(c);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	example = calloc(1, (size_t)n + 2);
	example[0] = '\n';
	ck_assert_uint_eq(fread(example + 1, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	/* each option of --check-config's output is in the example, commented */
	for (line = strtok_r(printed, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char	 name[64];
		bool	 comment = line[0] == '#';
		const char *start = comment ? line + 2 : line, *eq = strstr(start, " = ");

		if (eq == NULL || (comment && strstr(eq, " = (") != eq))
			continue;		/* the header, "# config = ..." */
		snprintf(name, sizeof(name), "%.*s", (int)(eq - start), start);
		if (strcmp(name, "config") == 0)
			continue;
		if (comment || strcmp(name, "node-id") == 0 || strcmp(name, "generation") == 0 ||
		    strcmp(name, "advertise") == 0)
			snprintf(want, sizeof(want), "\n#%s = ", name);	/* an example value */
		else
			snprintf(want, sizeof(want), "\n#%s\n", line);		/* the default */
		ck_assert_msg(strstr(example, want) != NULL, "etc/chitchatd.conf lacks \"%s\"",
		    want + 1);
	}
	free(printed);
	free(example);
}
END_TEST

/* The hostile-peer limits: defaults, values, and into the engine's config. */
START_TEST(test_limits_options)
{
	struct ccd_config	*c = load_ok(NULL, NULL);
	struct cc_config	 e;

	ck_assert_uint_eq(c->max_nodes, 10000);
	ck_assert_uint_eq(c->max_keys_per_node, 100000);
	ck_assert_uint_eq(c->max_state_bytes, 256ULL * 1024 * 1024);
	config_free(c);
	c = load_ok(NULL, "--max-nodes", "50", "--max-keys-per-node", "7",
	    "--max-state-bytes", "64k", NULL);
	ck_assert_uint_eq(c->max_nodes, 50);
	ck_assert_uint_eq(c->max_keys_per_node, 7);
	ck_assert_uint_eq(c->max_state_bytes, 65536);
	config_engine(c, &e);
	ck_assert_uint_eq(e.max_nodes, 50);
	ck_assert_uint_eq(e.max_keys_per_node, 7);
	ck_assert_uint_eq(e.max_state_bytes, 65536);
	config_free(c);
}
END_TEST

START_TEST(test_leave_on_terminate)
{
	struct ccd_config	*c = load_ok(NULL, NULL);
	char			 path[64], *cause;

	ck_assert(c->leave_on_terminate);
	config_free(c);
	c = load_ok(NULL, "--leave-on-terminate", "no", NULL);
	ck_assert(!c->leave_on_terminate);
	config_free(c);
	write_file(path, sizeof(path), "leave-on-terminate = no\n");
	c = load_ok(NULL, "--config", path, NULL);
	ck_assert(!c->leave_on_terminate);
	config_free(c);
	c = load_ok(NULL, "--config", path, "--leave-on-terminate", "yes", NULL);
	ck_assert(c->leave_on_terminate);
	config_free(c);
	unlink(path);
	cause = load_err("--leave-on-terminate", "maybe", NULL);
	assert_prefix(cause, "--leave-on-terminate maybe: expected yes or no");
	free(cause);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("cli");
	TCase	*tf = tcase_create("file");
	TCase	*te = tcase_create("engine");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_option_on_the_command_line);
	tcase_add_test(tc, test_equals_form_abbreviations_and_last_wins);
	tcase_add_test(tc, test_actions);
	tcase_add_test(tc, test_wildcard_listen_needs_advertise);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_bad_values_name_the_option);
	tcase_add_test(tc, test_command_line_syntax_errors);
	suite_add_tcase(s, tc);
	tcase_add_test(tf, test_file_every_option);
	tcase_add_test(tf, test_file_errors_with_line_numbers);
	tcase_add_test(tf, test_file_long_lines);
	tcase_add_test(tf, test_command_line_overrides_file);
	tcase_add_test(tf, test_check_config_output_reads_back);
	tcase_add_test(tf, test_diff_for_reload);
	tcase_add_test(tf, test_access_options);
	tcase_add_test(tf, test_example_config_lists_every_option_with_its_default);
	tcase_add_test(tf, test_man_pages_document_every_option);
	suite_add_tcase(s, tf);
	tcase_add_test(te, test_required_key_is_the_liveness_predicate);
	tcase_add_test(te, test_max_datagram_size_bounds_deltas);
	tcase_add_test(te, test_limits_options);
	tcase_add_test(te, test_leave_on_terminate);
	suite_add_tcase(s, te);
	return s;
}

CC_TEST_MAIN(config_suite)
