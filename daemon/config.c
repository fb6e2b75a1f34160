/*
 * config.c: chitchatd's configuration, from the command line and from a
 * config file that uses the same names.
 *
 * One table lists every option; getopt_long's table, the --help text, the
 * config file's names and --check-config's output are all derived from it,
 * so the two syntaxes cannot drift apart. The file is parsed by libinih
 * (flat `name = value` lines, `#` or `;` comments at the start of a line,
 * no sections). The layers are applied in order: defaults, the file, the
 * command line. A scalar given on the command line overrides the file's; a
 * repeatable option (seed, set, required-key) given on the command line
 * replaces all of the file's occurrences, so an operator can override a
 * list without editing the file. Every error is one line that names the
 * option (and file:line for the file), and nothing has been started yet.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "gossip.h"
#include "keyring.h"
#include "log.h"
#include "xmalloc.h"

/* Longest line libinih (Debian's build: INI_MAX_LINE 200) reads whole. */
#define CONFIG_MAX_LINE		198

enum opt_id {
	O_NODE_ID, O_CLUSTER_ID, O_LISTEN, O_ADVERTISE, O_SEED, O_GENERATION,
	O_GOSSIP_INTERVAL, O_PHI, O_WINDOW, O_MAX_INTERVAL, O_INITIAL_INTERVAL,
	O_DEAD_GRACE, O_KV_GRACE, O_MAX_DATAGRAM, O_MAX_NODES, O_MAX_KEYS,
	O_MAX_STATE_BYTES, O_ENCRYPTION, O_KEYRING, O_SET, O_REQUIRED_KEY,
	O_CONTROL_SOCKET, O_CONTROL_MODE, O_CONTROL_GROUP, O_WRITE_USERS, O_WRITE_GROUPS,
	O_RO_SOCKET, O_RO_MODE, O_MAX_LINE,
	O_MAX_CLIENTS, O_MAX_OUTPUT, O_LOG_LEVEL, O_EXTENSIONS, O_LEAVE_ON_TERMINATE,
	O_STATE_DIR,
	O_N_SETTINGS,		/* the options above may appear in the file */
	O_CONFIG = O_N_SETTINGS, O_CHECK_CONFIG, O_HELP, O_VERSION,
	O_N_OPTS,
};

struct opt {
	const char	*name;
	const char	*arg;		/* NULL: takes no argument */
	bool		 repeat;
	const char	*help;
};

static const struct opt opts[O_N_OPTS] = {
	[O_NODE_ID] = { "node-id", "ID", false, "node name (default: the host name)" },
	[O_CLUSTER_ID] = { "cluster-id", "ID", false,
	    "cluster name, must match the peers' (default: default-cluster)" },
	[O_LISTEN] = { "listen", "HOST:PORT", false, "UDP address to bind (default: 127.0.0.1:7280)" },
	[O_ADVERTISE] = { "advertise", "HOST:PORT", false,
	    "gossip address told to peers (default: the listen address)" },
	[O_SEED] = { "seed", "HOST:PORT", true, "seed node, repeatable; host names are re-resolved every 60s" },
	[O_GENERATION] = { "generation", "N", false, "generation id (default: start time in ns)" },
	[O_GOSSIP_INTERVAL] = { "gossip-interval", "DURATION", false, "period of gossip rounds (default: 1s)" },
	[O_PHI] = { "phi-threshold", "X", false, "failure detector phi threshold (default: 8)" },
	[O_WINDOW] = { "sampling-window-size", "N", false,
	    "heartbeat intervals kept per node (default: 1000)" },
	[O_MAX_INTERVAL] = { "max-interval", "DURATION", false,
	    "longest heartbeat interval sampled (default: 10s)" },
	[O_INITIAL_INTERVAL] = { "initial-interval", "DURATION", false,
	    "prior heartbeat interval (default: 5s)" },
	[O_DEAD_GRACE] = { "dead-node-grace-period", "DURATION", false,
	    "dead nodes are forgotten after it (default: 1d)" },
	[O_KV_GRACE] = { "marked-for-deletion-grace-period", "DURATION", false,
	    "deleted keys are purged after it (default: 2h)" },
	[O_MAX_DATAGRAM] = { "max-datagram-size", "BYTES", false,
	    "delta budget of the datagrams sent, 512 to 65507 (default: 65507)" },
	[O_MAX_NODES] = { "max-nodes", "N", false,
	    "node states held at most, self included; more from peers are refused (default: 10000)" },
	[O_MAX_KEYS] = { "max-keys-per-node", "N", false,
	    "keys held at most per remote node, tombstones included (default: 100000)" },
	[O_MAX_STATE_BYTES] = { "max-state-bytes", "BYTES", false,
	    "key and value bytes held at most for all remote nodes (default: 256M)" },
	[O_ENCRYPTION] = { "encryption", "MODE", false,
	    "gossip encryption: off, upshift (accept plaintext too) or on (default: off)" },
	[O_KEYRING] = { "keyring", "FILE", false,
	    "keys of gossip encryption, mode 0600; needed unless encryption is off" },
	[O_SET] = { "set", "KEY=VALUE", true, "initial key of this node, repeatable" },
	[O_REQUIRED_KEY] = { "required-key", "KEY", true,
	    "a node counts as live only once it carries KEY, repeatable" },
	[O_CONTROL_SOCKET] = { "control-socket", "PATH", false,
	    "control socket, or none (default: " CCD_DEFAULT_SOCKET ")" },
	[O_CONTROL_MODE] = { "control-mode", "MODE", false, "control socket mode, octal (default: 0660)" },
	[O_CONTROL_GROUP] = { "control-group", "GROUP", false,
	    "control socket group (default: the daemon's group)" },
	[O_WRITE_USERS] = { "control-write-users", "USER[,USER]", true,
	    "only these users, root and the daemon's user may call write methods, "
	    "repeatable (default: anyone)" },
	[O_WRITE_GROUPS] = { "control-write-groups", "GROUP[,GROUP]", true,
	    "members of these groups may call write methods too, repeatable (default: none)" },
	[O_RO_SOCKET] = { "control-readonly-socket", "PATH", false,
	    "a second control socket, where write methods are refused (default: none)" },
	[O_RO_MODE] = { "control-readonly-mode", "MODE", false,
	    "read-only socket mode, octal (default: 0666)" },
	[O_MAX_LINE] = { "max-line", "BYTES", false, "longest control request line (default: 1M)" },
	[O_MAX_CLIENTS] = { "max-clients", "N", false, "control clients at once (default: 256)" },
	[O_MAX_OUTPUT] = { "max-output", "BYTES", false,
	    "output queued per control client before it is closed (default: 4M)" },
	[O_LOG_LEVEL] = { "log-level", "LEVEL", false, "error, warn, info or debug (default: info)" },
	[O_EXTENSIONS] = { "extensions", "LIST", false,
	    "chitchatd extensions to run: all, none or a comma list (default: all)" },
	[O_LEAVE_ON_TERMINATE] = { "leave-on-terminate", "yes|no", false,
	    "on SIGTERM/SIGINT, announce the leave and gossip two more intervals first "
	    "(extension leave; default: yes)" },
	[O_STATE_DIR] = { "state-directory", "DIR", false,
	    "where state kept across restarts lives; \"none\": nowhere (default: none)" },
	[O_CONFIG] = { "config", "FILE", false, "read options from FILE first" },
	[O_CHECK_CONFIG] = { "check-config", NULL, false,
	    "print the effective configuration and exit" },
	[O_HELP] = { "help", NULL, false, "this text" },
	[O_VERSION] = { "version", NULL, false, "print the version and exit" },
};

/* Where a value comes from, for error messages. */
struct origin {
	const char	*file;		/* NULL: command line */
	int		 line;
};

struct load {
	struct ccd_config	*cfg;
	struct origin		 at[O_N_OPTS];	/* where each option was last set */
	bool			 cli_seen[O_N_OPTS];
	const char		*file;		/* the file being parsed */
	int			 line;		/* its current line */
	FILE			*fp;
	char			*cause;		/* first error */
};

/* ---- small helpers --------------------------------------------------------------- */

static void
replace_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s == NULL ? NULL : xstrdup(s);
}

static char *
vformat(const char *fmt, va_list ap)
{
	char	*s;

	if (vasprintf(&s, fmt, ap) == -1)
		fatalx("config: out of memory");
	return s;
}

static char * __attribute__((format(printf, 1, 2)))
format(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	return s;
}

/* Records the first error, with its origin. */
static void __attribute__((format(printf, 4, 5)))
fail(struct load *l, enum opt_id id, const char *value, const char *fmt, ...)
{
	const struct origin	*o = &l->at[id];
	va_list			 ap;
	char			*why;
	/* long values are cut in messages, which must stay one readable line */
	int			 vlen = value != NULL && strlen(value) > 80 ? 80 : INT32_MAX;
	const char		*dots = vlen == 80 ? "..." : "";

	if (l->cause != NULL)
		return;
	if (value != NULL && *value == '\0')
		value = "\"\"";
	va_start(ap, fmt);
	why = vformat(fmt, ap);
	va_end(ap);
	if (o->file != NULL && value != NULL)
		l->cause = format("%s:%d: %s = %.*s%s: %s", o->file, o->line,
		    opts[id].name, vlen, value, dots, why);
	else if (o->file != NULL)
		l->cause = format("%s:%d: %s: %s", o->file, o->line, opts[id].name, why);
	else if (value != NULL)
		l->cause = format("--%s %.*s%s: %s", opts[id].name, vlen, value, dots, why);
	else
		l->cause = format("--%s: %s", opts[id].name, why);
	free(why);
}

static bool
is_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Decimal digits only, no sign, no spaces, within max. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char			*end;
	unsigned long long	 r;

	if (!is_digits(s))
		return -1;
	errno = 0;
	r = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || r > max)
		return -1;
	*v = r;
	return 0;
}

int
config_parse_duration(const char *s, uint64_t *ms)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	const char	*p = s;
	double		 v, r;

	/* digits, an optional fraction, then a unit: no sign, exponent or hex */
	while (isdigit((unsigned char)*p))
		p++;
	if (p == s)
		goto bad;
	if (*p == '.') {
		const char *frac = ++p;

		while (isdigit((unsigned char)*p))
			p++;
		if (p == frac)
			goto bad;
	}
	v = strtod(s, NULL);
	if (*p == '\0') {
		if (v != 0)
			goto bad;	/* a unit is required, except for 0 */
		*ms = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		r = v * (double)units[i].mult;
		if (!isfinite(r) || r > 1e15) {
			errno = ERANGE;
			return -1;
		}
		/* r is finite, >= 0 and <= 1e15: rounding by hand keeps libm out
		 * of the daemon (its mapping cost ~300 KB of RSS for llround) */
		*ms = (uint64_t)(r + 0.5);
		return 0;
	}
bad:
	errno = EINVAL;
	return -1;
}

void
config_format_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms != 0 && ms % units[i].mult == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(ms / units[i].mult),
			    units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%llums", (unsigned long long)ms);
}

int
config_parse_size(const char *s, uint64_t *bytes)
{
	size_t		 n = strlen(s);
	uint64_t	 mult = 1, v;
	char		 digits[32];

	if (n == 0 || n >= sizeof(digits))
		goto bad;
	if (s[n - 1] == 'k' || s[n - 1] == 'K')
		mult = 1024;
	else if (s[n - 1] == 'M')
		mult = 1024 * 1024;
	if (mult != 1)
		n--;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (parse_u64(digits, UINT64_MAX / mult, &v) == -1)
		goto bad;
	*bytes = v * mult;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

static void
format_size(uint64_t v, char *buf, size_t len)
{
	if (v != 0 && v % (1024 * 1024) == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(v / (1024 * 1024)));
	else if (v != 0 && v % 1024 == 0)
		snprintf(buf, len, "%lluk", (unsigned long long)(v / 1024));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/*
 * Splits "host:port" / "[v6]:port". On success *host is allocated (no
 * brackets) and *port is 1..65535; else *why says what is wrong.
 */
static int
split_host_port(const char *s, char **host, uint16_t *port, const char **why)
{
	const char	*colon, *h = s, *hend;
	uint64_t	 p;

	*why = "expected HOST:PORT (IPv6 as [addr]:port)";
	if (*s == '[') {
		if ((hend = strchr(s, ']')) == NULL || hend[1] != ':')
			return -1;
		h = s + 1;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
		hend = colon;
	}
	if (hend == h)
		return -1;
	for (const char *c = h; c < hend; c++)
		if (isspace((unsigned char)*c) || *c == '[' || *c == ']' || *c == '/')
			return -1;
	if (parse_u64(colon + 1, 65535, &p) == -1 || p == 0) {
		*why = "the port must be a number from 1 to 65535";
		return -1;
	}
	*host = xstrndup(h, (size_t)(hend - h));
	*port = (uint16_t)p;
	return 0;
}

/* Resolves HOST:PORT now (literals need no lookup): the first address. */
static int
resolve_one(const char *s, struct cc_addr *a, char **why)
{
	struct addrinfo	 hints, *res = NULL;
	const char	*w;
	char		*host, sport[8];
	uint16_t	 port;
	int		 rc;

	if (split_host_port(s, &host, &port, &w) == -1) {
		*why = xstrdup(w);
		return -1;
	}
	if (cc_addr_parse(s, a) == 0) {
		free(host);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(sport, sizeof(sport), "%u", (unsigned)port);
	rc = getaddrinfo(host, sport, &hints, &res);
	if (rc != 0 || res == NULL || gossip_sockaddr_to_addr(res->ai_addr, a) == -1) {
		*why = format("cannot resolve %s: %s", host,
		    rc != 0 ? gai_strerror(rc) : "no usable address");
		if (res != NULL)
			freeaddrinfo(res);
		free(host);
		return -1;
	}
	freeaddrinfo(res);
	free(host);
	return 0;
}

static bool
addr_is_unspecified(const struct cc_addr *a)
{
	size_t n = a->family == CC_AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++)
		if (a->ip[i] != 0)
			return false;
	return true;
}

static bool
key_is_valid(struct load *l, enum opt_id id, const char *arg, const char *key,
    size_t key_len, const char *value)
{
	const char *why;

	if (key_len == 0) {
		fail(l, id, arg, "the key must not be empty");
		return false;
	}
	if (!cc_kv_is_valid(key, key_len, value, strlen(value), &why)) {
		fail(l, id, arg, "%s", why);
		return false;
	}
	if (id == O_SET && cc_ctl_key_is_reserved(key, key_len)) {
		fail(l, id, arg, "keys under \"%s\" are reserved for chitchatd",
		    CC_RESERVED_PREFIX);
		return false;
	}
	return true;
}

/* The names accepted by `extensions`, one bit each (ccd.h CCD_EXT_*). */
static const struct {
	const char	*name;
	unsigned	 bit;
} extension_names[] = {
	{ "leave",		CCD_EXT_LEAVE },
	{ "force-leave",	CCD_EXT_FORCE_LEAVE },
	{ "key-ttl",		CCD_EXT_KEY_TTL },
	{ "peer-cache",		CCD_EXT_PEER_CACHE },
	{ "catchup",		CCD_EXT_CATCHUP },
};

/* "all", "none" or a comma list of extension names. -1 + *bad (borrowed) otherwise. */
static int
parse_extensions(const char *arg, unsigned *out, char *bad, size_t badlen)
{
	const char	*p = arg, *end;
	unsigned	 bits = 0;

	if (strcmp(arg, "all") == 0) {
		*out = CCD_EXT_ALL;
		return 0;
	}
	if (strcmp(arg, "none") == 0) {
		*out = 0;
		return 0;
	}
	for (; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		size_t	i, n;

		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		for (i = 0; i < sizeof(extension_names) / sizeof(extension_names[0]); i++)
			if (strlen(extension_names[i].name) == n &&
			    memcmp(extension_names[i].name, p, n) == 0)
				break;
		if (i == sizeof(extension_names) / sizeof(extension_names[0])) {
			snprintf(bad, badlen, "%.*s", (int)n, p);
			return -1;
		}
		bits |= extension_names[i].bit;
	}
	*out = bits;
	return 0;
}

/* The canonical text of an extension set (the form parse_extensions reads back). */
static void
format_extensions(unsigned bits, char *buf, size_t len)
{
	size_t used = 0;

	if (bits == CCD_EXT_ALL) {
		snprintf(buf, len, "all");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(extension_names) / sizeof(extension_names[0]); i++)
		if ((bits & extension_names[i].bit) != 0 && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			    used > 0 ? "," : "", extension_names[i].name);
	if (used == 0)
		snprintf(buf, len, "none");
}

/* ---- one option -------------------------------------------------------------------- */

static int
set_duration(struct load *l, enum opt_id id, const char *arg, uint64_t *dst, bool nonzero)
{
	uint64_t ms;

	if (config_parse_duration(arg, &ms) == -1) {
		fail(l, id, arg, errno == ERANGE ? "duration too large" :
		    "expected a duration with a unit: 500ms, 10s, 15m, 2h, 1d");
		return -1;
	}
	if (nonzero && ms == 0) {
		fail(l, id, arg, "must be at least 1ms");
		return -1;
	}
	*dst = ms;
	return 0;
}

static int
set_size(struct load *l, enum opt_id id, const char *arg, size_t *dst, uint64_t min,
    uint64_t max)
{
	uint64_t v;

	if (config_parse_size(arg, &v) == -1 || v < min || v > max) {
		fail(l, id, arg, "expected a size from %llu to %llu bytes (suffix k or M allowed)",
		    (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*dst = (size_t)v;
	return 0;
}

static int
set_mode(struct load *l, enum opt_id id, const char *arg, mode_t *dst)
{
	char		*end;
	uint64_t	 v;

	for (const char *p = arg; *p != '\0'; p++)
		if (*p < '0' || *p > '7')
			goto bad;
	errno = 0;
	v = strtoull(arg, &end, 8);
	if (*arg == '\0' || errno != 0 || v > 0777)
		goto bad;
	*dst = (mode_t)v;
	return 0;
bad:
	fail(l, id, arg, "expected an octal mode from 0 to 0777, such as 0660");
	return -1;
}

/*
 * A user or group name, else a number (an id without a name is allowed,
 * as for control-group): resolved now, at start and at each reload, so a
 * typo is a configuration error rather than a silently empty list.
 */
static int
resolve_ident(enum opt_id id, const char *name, id_t *out)
{
	struct passwd	*pw;
	struct group	*gr;
	uint64_t	 v;

	if (id == O_WRITE_USERS && (pw = getpwnam(name)) != NULL) {
		*out = pw->pw_uid;
		return 0;
	}
	if (id == O_WRITE_GROUPS && (gr = getgrnam(name)) != NULL) {
		*out = gr->gr_gid;
		return 0;
	}
	/* (id_t)-1 means "no change" to chown(2) and setuid(2): never an id */
	if (parse_u64(name, UINT32_MAX - 1, &v) == 0) {
		*out = (id_t)v;
		return 0;
	}
	return -1;
}

/* "alice,bob, 1001": each entry appended to the list, resolved. */
static int
add_idents(struct load *l, enum opt_id id, const char *arg, struct ccd_ident **list,
    size_t *n)
{
	const char	*what = id == O_WRITE_USERS ? "user" : "group";
	const char	*p = arg, *comma, *b, *e;
	char		*name;
	id_t		 v;

	do {
		comma = strchr(p, ',');
		e = comma != NULL ? comma : p + strlen(p);
		for (b = p; b < e && isspace((unsigned char)*b); b++)
			;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (e == b) {
			fail(l, id, arg, "expected %s names or numbers separated by commas", what);
			return -1;
		}
		name = xstrndup(b, (size_t)(e - b));
		if (resolve_ident(id, name, &v) == -1) {
			fail(l, id, arg, "no such %s: %s", what, name);
			free(name);
			return -1;
		}
		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		(*list)[*n].name = name;
		(*list)[(*n)++].id = v;
		p = comma != NULL ? comma + 1 : NULL;
	} while (p != NULL);
	return 0;
}

static int
set_option(struct load *l, enum opt_id id, const char *arg)
{
	struct ccd_config	*c = l->cfg;
	char			*host, *end;
	const char		*why;
	const char		*eq;
	uint16_t		 port;
	uint64_t		 v;
	double			 d;
	int			 rc;

	switch (id) {
	case O_NODE_ID:
		if (*arg == '\0' || strlen(arg) > 65535 || !cc_utf8_is_valid(arg, strlen(arg))) {
			fail(l, id, arg, "expected 1 to 65535 bytes of UTF-8");
			return -1;
		}
		replace_str(&c->node_id, arg);
		return 0;
	case O_CLUSTER_ID:
		if (*arg == '\0' || strlen(arg) > 65535 || !cc_utf8_is_valid(arg, strlen(arg))) {
			fail(l, id, arg, "expected 1 to 65535 bytes of UTF-8");
			return -1;
		}
		replace_str(&c->cluster_id, arg);
		return 0;
	case O_LISTEN:
	case O_ADVERTISE:
		if (split_host_port(arg, &host, &port, &why) == -1) {
			fail(l, id, arg, "%s", why);
			return -1;
		}
		free(host);
		replace_str(id == O_LISTEN ? &c->listen : &c->advertise, arg);
		return 0;
	case O_SEED:
		if (split_host_port(arg, &host, &port, &why) == -1) {
			fail(l, id, arg, "%s", why);
			return -1;
		}
		free(host);
		c->seeds = xreallocarray(c->seeds, c->n_seeds + 1, sizeof(*c->seeds));
		c->seeds[c->n_seeds++] = xstrdup(arg);
		return 0;
	case O_GENERATION:
		if (parse_u64(arg, UINT64_MAX, &c->generation) == -1) {
			fail(l, id, arg, "expected an unsigned 64-bit integer");
			return -1;
		}
		c->generation_set = true;
		return 0;
	case O_GOSSIP_INTERVAL:
		return set_duration(l, id, arg, &c->gossip_interval_ms, true);
	case O_PHI:
		errno = 0;
		d = strtod(arg, &end);
		if (errno != 0 || end == arg || *end != '\0' || isspace((unsigned char)*arg) ||
		    !isfinite(d) || !(d > 0)) {
			fail(l, id, arg, "expected a positive number");
			return -1;
		}
		c->fd.phi_threshold = d;
		return 0;
	case O_WINDOW:
		if (parse_u64(arg, 1000000, &v) == -1 || v == 0) {
			fail(l, id, arg, "expected an integer from 1 to 1000000");
			return -1;
		}
		c->fd.sampling_window_size = (uint32_t)v;
		return 0;
	case O_MAX_INTERVAL:
		return set_duration(l, id, arg, &c->fd.max_interval_ms, true);
	case O_INITIAL_INTERVAL:
		return set_duration(l, id, arg, &c->fd.initial_interval_ms, true);
	case O_DEAD_GRACE:
		return set_duration(l, id, arg, &c->fd.dead_node_grace_period_ms, true);
	case O_KV_GRACE:
		return set_duration(l, id, arg, &c->marked_for_deletion_grace_period_ms, false);
	case O_MAX_DATAGRAM:
		return set_size(l, id, arg, &c->max_datagram_size, 512, CC_MAX_DATAGRAM);
	case O_MAX_NODES:
		if (parse_u64(arg, 10000000, &v) == -1 || v == 0) {
			fail(l, id, arg, "expected an integer from 1 to 10000000");
			return -1;
		}
		c->max_nodes = (size_t)v;
		return 0;
	case O_MAX_KEYS:
		if (parse_u64(arg, 100000000, &v) == -1 || v == 0) {
			fail(l, id, arg, "expected an integer from 1 to 100000000");
			return -1;
		}
		c->max_keys_per_node = (size_t)v;
		return 0;
	case O_MAX_STATE_BYTES:
		if (config_parse_size(arg, &v) == -1 || v < 1024 || v > (1ULL << 40)) {
			fail(l, id, arg, "expected a size from 1024 to %llu bytes (suffix k or M allowed)",
			    1ULL << 40);
			return -1;
		}
		c->max_state_bytes = v;
		return 0;
	case O_ENCRYPTION:
		if ((rc = gossip_encryption_parse(arg)) == -1) {
			fail(l, id, arg, "expected off, upshift or on");
			return -1;
		}
		c->encryption = (enum gossip_encryption)rc;
		return 0;
	case O_KEYRING:
		if (*arg == '\0') {
			fail(l, id, arg, "expected the path of the keyring file");
			return -1;
		}
		replace_str(&c->keyring, arg);
		return 0;
	case O_SET:
		if ((eq = strchr(arg, '=')) == NULL) {
			fail(l, id, arg, "expected KEY=VALUE");
			return -1;
		}
		if (!key_is_valid(l, id, arg, arg, (size_t)(eq - arg), eq + 1))
			return -1;
		c->initial = xreallocarray(c->initial, c->n_initial + 1, sizeof(*c->initial));
		c->initial[c->n_initial].key = xstrndup(arg, (size_t)(eq - arg));
		c->initial[c->n_initial++].value = xstrdup(eq + 1);
		return 0;
	case O_REQUIRED_KEY:
		if (!key_is_valid(l, id, arg, arg, strlen(arg), ""))
			return -1;
		c->required_keys = xreallocarray(c->required_keys, c->n_required_keys + 1,
		    sizeof(*c->required_keys));
		c->required_keys[c->n_required_keys++] = xstrdup(arg);
		return 0;
	case O_CONTROL_SOCKET:
		if (strlen(arg) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
			fail(l, id, arg, "path longer than %zu bytes",
			    sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
			return -1;
		}
		replace_str(&c->control_socket, *arg == '\0' ? "none" : arg);
		return 0;
	case O_CONTROL_MODE:
		return set_mode(l, id, arg, &c->control_mode);
	case O_RO_MODE:
		return set_mode(l, id, arg, &c->control_readonly_mode);
	case O_RO_SOCKET:
		if (strlen(arg) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
			fail(l, id, arg, "path longer than %zu bytes",
			    sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
			return -1;
		}
		replace_str(&c->control_readonly_socket,
		    *arg == '\0' || strcmp(arg, "none") == 0 ? NULL : arg);
		return 0;
	case O_WRITE_USERS:
		return add_idents(l, id, arg, &c->write_users, &c->n_write_users);
	case O_WRITE_GROUPS:
		return add_idents(l, id, arg, &c->write_groups, &c->n_write_groups);
	case O_CONTROL_GROUP:
		if (*arg == '\0') {
			fail(l, id, arg, "expected a group name or number");
			return -1;
		}
		if (!is_digits(arg) && getgrnam(arg) == NULL) {
			fail(l, id, arg, "no such group");
			return -1;
		}
		replace_str(&c->control_group, arg);
		return 0;
	case O_MAX_LINE:
		return set_size(l, id, arg, &c->max_line, 256, 1024 * 1024 * 1024);
	case O_MAX_CLIENTS:
		if (parse_u64(arg, 65536, &v) == -1 || v == 0) {
			fail(l, id, arg, "expected an integer from 1 to 65536");
			return -1;
		}
		c->max_clients = (size_t)v;
		return 0;
	case O_MAX_OUTPUT:
		return set_size(l, id, arg, &c->max_output, 4096, 1024 * 1024 * 1024);
	case O_LOG_LEVEL:
		if ((c->log_level = log_level_parse(arg)) == -1) {
			fail(l, id, arg, "expected error, warn, info or debug");
			return -1;
		}
		return 0;
	case O_EXTENSIONS: {
		char bad[64];

		if (parse_extensions(arg, &c->extensions, bad, sizeof(bad)) == -1) {
			fail(l, id, arg, "unknown extension \"%s\" (expected all, none, or "
			    "leave, force-leave, key-ttl, peer-cache, catchup)", bad);
			return -1;
		}
		return 0;
	}
	case O_LEAVE_ON_TERMINATE:
		if (strcmp(arg, "yes") == 0)
			c->leave_on_terminate = true;
		else if (strcmp(arg, "no") == 0)
			c->leave_on_terminate = false;
		else {
			fail(l, id, arg, "expected yes or no");
			return -1;
		}
		return 0;
	case O_STATE_DIR:
		if (*arg == '\0' || (strcmp(arg, "none") != 0 && arg[0] != '/')) {
			fail(l, id, arg, "expected an absolute directory path or \"none\"");
			return -1;
		}
		replace_str(&c->state_directory, arg);
		return 0;
	case O_CONFIG:
		replace_str(&c->config_file, arg);
		return 0;
	default:
		break;
	}
	fail(l, id, arg, "internal error: unhandled option");
	return -1;
}

static void
clear_idents(struct ccd_ident **list, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*list)[i].name);
	free(*list);
	*list = NULL;
	*n = 0;
}

/* Empties a repeatable option's list (the command line replaces the file's). */
static void
clear_list(struct ccd_config *c, enum opt_id id)
{
	switch (id) {
	case O_SEED:
		for (size_t i = 0; i < c->n_seeds; i++)
			free(c->seeds[i]);
		free(c->seeds);
		c->seeds = NULL;
		c->n_seeds = 0;
		break;
	case O_SET:
		for (size_t i = 0; i < c->n_initial; i++) {
			free(c->initial[i].key);
			free(c->initial[i].value);
		}
		free(c->initial);
		c->initial = NULL;
		c->n_initial = 0;
		break;
	case O_REQUIRED_KEY:
		for (size_t i = 0; i < c->n_required_keys; i++)
			free(c->required_keys[i]);
		free(c->required_keys);
		c->required_keys = NULL;
		c->n_required_keys = 0;
		break;
	case O_WRITE_USERS:
		clear_idents(&c->write_users, &c->n_write_users);
		break;
	case O_WRITE_GROUPS:
		clear_idents(&c->write_groups, &c->n_write_groups);
		break;
	default:
		break;
	}
}

/* ---- the config file (libinih) ------------------------------------------------------ */

/*
 * fgets-style reader for ini_parse_stream: counts lines (inih's own count
 * is not passed to handlers in Debian's build), refuses lines inih would
 * split, and refuses sections, which chitchatd does not use.
 */
static char *
file_reader(char *str, int num, void *arg)
{
	struct load	*l = arg;
	size_t		 n;
	const char	*p;
	int		 c;

	if (l->cause != NULL || fgets(str, num, l->fp) == NULL)
		return NULL;
	l->line++;
	n = strlen(str);
	if (n > 0 && str[n - 1] != '\n' && !feof(l->fp)) {
		if ((c = getc(l->fp)) != EOF) {
			l->cause = format("%s:%d: line longer than %d bytes"
			    " (give long values on the command line)", l->file, l->line,
			    CONFIG_MAX_LINE);
			return NULL;
		}
	}
	for (p = str; isspace((unsigned char)*p); p++)
		;
	if (*p == '[') {
		l->cause = format("%s:%d: sections are not used: write name = value lines",
		    l->file, l->line);
		return NULL;
	}
	return str;
}

static int
file_handler(void *arg, const char *section, const char *name, const char *value)
{
	struct load	*l = arg;
	int		 id;

	(void)section;		/* sections are refused by file_reader */
	if (l->cause != NULL)
		return 0;
	for (id = 0; id < O_N_OPTS; id++)
		if (strcmp(opts[id].name, name) == 0)
			break;
	if (id >= O_N_SETTINGS) {
		l->cause = format("%s:%d: %s: %s", l->file, l->line, name,
		    id < O_N_OPTS ? "only valid on the command line" : "unknown option");
		return 0;
	}
	l->at[id].file = l->file;
	l->at[id].line = l->line;
	return set_option(l, (enum opt_id)id, value) == 0;
}

static int
load_file(struct load *l, const char *path)
{
	int rc;

	if ((l->fp = fopen(path, "re")) == NULL) {
		l->cause = format("--config %s: %s", path, strerror(errno));
		return -1;
	}
	l->file = path;
	l->line = 0;
	ini_allow_multiline = false;		/* an indented line is its own line */
	ini_allow_inline_comments = false;	/* values are taken verbatim */
	ini_allow_no_value = false;
	ini_stop_on_first_error = true;
	rc = ini_parse_stream(file_reader, l, file_handler, l);
	if (rc != 0 && l->cause == NULL) {
		if (rc == -2)
			fatalx("config: out of memory");
		l->cause = format("%s:%d: expected name = value", path, l->line);
	}
	if (rc == 0 && l->cause == NULL && ferror(l->fp))
		l->cause = format("--config %s: read error", path);
	fclose(l->fp);
	l->fp = NULL;
	return l->cause == NULL ? 0 : -1;
}

/* ---- the command line ------------------------------------------------------------- */

static void
build_longopts(struct option *lo)
{
	for (int i = 0; i < O_N_OPTS; i++) {
		lo[i].name = opts[i].name;
		lo[i].has_arg = opts[i].arg != NULL ? required_argument : no_argument;
		lo[i].flag = NULL;
		lo[i].val = 256 + i;
	}
	memset(&lo[O_N_OPTS], 0, sizeof(lo[O_N_OPTS]));
}

/*
 * First pass: --config, --check-config, -h and -V, and syntax errors.
 * getopt_long's own messages are off (one line per error, ours).
 */
static int
scan_cli(struct load *l, int argc, char **argv, const struct option *lo,
    enum config_action *action, char **config)
{
	int c;

	*action = CONFIG_RUN;
	opterr = 0;
	optind = 0;	/* full re-initialisation (glibc), config_load may run twice */
	while ((c = getopt_long(argc, argv, ":hV", lo, NULL)) != -1) {
		if (c == 'h' || c == 256 + O_HELP) {
			*action = CONFIG_HELP;
			return 0;
		}
		if (c == 'V' || c == 256 + O_VERSION) {
			*action = CONFIG_VERSION;
			return 0;
		}
		if (c == ':' || c == '?') {
			const char *bad = argv[optind - 1];

			if (c == ':')
				l->cause = format("%s: missing argument", bad);
			else if (optopt >= 256)
				l->cause = format("%s: takes no argument", bad);
			else if (optopt != 0)
				l->cause = format("-%c: unknown option (try --help)", optopt);
			else
				l->cause = format("%s: unknown or ambiguous option (try --help)", bad);
			return -1;
		}
		if (c == 256 + O_CHECK_CONFIG)
			*action = CONFIG_CHECK;
		else if (c == 256 + O_CONFIG)
			*config = optarg;
	}
	if (optind < argc) {
		l->cause = format("%s: unexpected argument (options start with --)",
		    argv[optind]);
		return -1;
	}
	return 0;
}

static int
apply_cli(struct load *l, int argc, char **argv, const struct option *lo)
{
	int c, id;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":hV", lo, NULL)) != -1) {
		id = c - 256;
		if (id < 0 || id >= O_N_SETTINGS)
			continue;
		l->at[id].file = NULL;
		l->at[id].line = 0;
		if (opts[id].repeat && !l->cli_seen[id])
			clear_list(l->cfg, (enum opt_id)id);
		l->cli_seen[id] = true;
		if (set_option(l, (enum opt_id)id, optarg) == -1)
			return -1;
	}
	return 0;
}

/* ---- defaults and final checks ------------------------------------------------------ */

static void
set_defaults(struct ccd_config *c)
{
	struct cc_fd_config fd;

	memset(c, 0, sizeof(*c));
	cc_fd_config_default(&fd);
	c->cluster_id = xstrdup(CCD_DEFAULT_CLUSTER);
	c->listen = xstrdup(CCD_DEFAULT_LISTEN);
	c->gossip_interval_ms = 1000;
	c->marked_for_deletion_grace_period_ms = 2ULL * 3600 * 1000;
	c->fd = fd;
	c->max_datagram_size = CC_MAX_DATAGRAM;
	c->max_nodes = CC_DEFAULT_MAX_NODES;
	c->max_keys_per_node = CC_DEFAULT_MAX_KEYS_PER_NODE;
	c->max_state_bytes = CC_DEFAULT_MAX_STATE_BYTES;
	c->control_socket = xstrdup(CCD_DEFAULT_SOCKET);
	c->control_mode = 0660;
	c->control_readonly_mode = 0666;
	c->max_line = CCD_DEFAULT_MAX_LINE;
	c->max_clients = CCD_DEFAULT_MAX_CLIENTS;
	c->max_output = CCD_DEFAULT_MAX_OUTPUT;
	c->log_level = CC_LOG_INFO;
	c->extensions = CCD_EXT_ALL;
	c->leave_on_terminate = true;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Encryption needs a keyring, read now so that a bad one is a config error. */
static int
finish_encryption(struct load *l)
{
	struct ccd_config	*c = l->cfg;
	char			*why = NULL;

	if (c->encryption == GOSSIP_ENC_OFF)
		return 0;
	if (c->keyring == NULL) {
		fail(l, O_ENCRYPTION, gossip_encryption_name(c->encryption),
		    "needs a keyring (--keyring FILE; chitchatctl keygen makes a key)");
		return -1;
	}
	if ((c->keys = calloc(1, sizeof(*c->keys))) == NULL)
		fatalx("config: out of memory");
	if (keyring_load(c->keyring, c->keys, &why) == -1) {
		fail(l, O_KEYRING, c->keyring, "%s", why != NULL ? why : "cannot be read");
		free(why);
		return -1;
	}
	return 0;
}

static int
finish(struct load *l)
{
	struct ccd_config	*c = l->cfg;
	char			 host[256];
	char			*why = NULL;

	if (c->node_id == NULL) {
		if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
			snprintf(host, sizeof(host), "chitchatd");
		host[sizeof(host) - 1] = '\0';
		c->node_id = xstrdup(host);
	}
	if (!c->generation_set)
		c->generation = now_ns();
	if (c->control_readonly_socket != NULL && strcmp(c->control_socket, "none") != 0 &&
	    strcmp(c->control_readonly_socket, c->control_socket) == 0) {
		fail(l, O_RO_SOCKET, c->control_readonly_socket,
		    "must differ from control-socket");
		return -1;
	}
	if (resolve_one(c->listen, &c->listen_addr, &why) == -1) {
		fail(l, O_LISTEN, c->listen, "%s", why);
		free(why);
		return -1;
	}
	if (c->advertise != NULL) {
		if (resolve_one(c->advertise, &c->advertise_addr, &why) == -1) {
			fail(l, O_ADVERTISE, c->advertise, "%s", why);
			free(why);
			return -1;
		}
		if (addr_is_unspecified(&c->advertise_addr)) {
			fail(l, O_ADVERTISE, c->advertise,
			    "peers cannot reach a wildcard address: give this host's address");
			return -1;
		}
	} else {
		c->advertise_addr = c->listen_addr;
		if (addr_is_unspecified(&c->listen_addr)) {
			fail(l, O_LISTEN, c->listen, "a wildcard listen address needs --advertise "
			    "(the address peers use to reach this node)");
			return -1;
		}
	}
	return finish_encryption(l);
}

int
config_load(int argc, char **argv, struct ccd_config **cfgp, enum config_action *action,
    char **cause)
{
	struct option	 lo[O_N_OPTS + 1];
	struct load	 l;
	char		*file = NULL;

	*cfgp = NULL;
	*cause = NULL;
	memset(&l, 0, sizeof(l));
	build_longopts(lo);
	if (scan_cli(&l, argc, argv, lo, action, &file) == -1)
		goto fail;
	if (*action == CONFIG_HELP || *action == CONFIG_VERSION)
		return 0;
	if ((l.cfg = calloc(1, sizeof(*l.cfg))) == NULL)
		fatalx("config: out of memory");
	set_defaults(l.cfg);
	if (file != NULL) {
		l.cfg->config_file = xstrdup(file);
		if (load_file(&l, file) == -1)
			goto fail;
	}
	if (apply_cli(&l, argc, argv, lo) == -1 || finish(&l) == -1)
		goto fail;
	*cfgp = l.cfg;
	return 0;
fail:
	config_free(l.cfg);
	*cause = l.cause != NULL ? l.cause : xstrdup("invalid configuration");
	return -1;
}

void
config_free(struct ccd_config *c)
{
	if (c == NULL)
		return;
	clear_list(c, O_SEED);
	clear_list(c, O_SET);
	clear_list(c, O_REQUIRED_KEY);
	clear_list(c, O_WRITE_USERS);
	clear_list(c, O_WRITE_GROUPS);
	free(c->node_id);
	free(c->cluster_id);
	free(c->listen);
	free(c->advertise);
	free(c->control_socket);
	free(c->control_group);
	free(c->control_readonly_socket);
	free(c->config_file);
	free(c->state_directory);
	free(c->keyring);
	if (c->keys != NULL) {
		cc_keyring_clear(c->keys);
		free(c->keys);
	}
	free(c);
}

/* ---- output -------------------------------------------------------------------------- */

void
config_usage(FILE *f)
{
	char left[64];

	fprintf(f, "usage: chitchatd [--config FILE] [options]\n"
	    "Each option NAME can also be given in the config file as `NAME = value`.\n"
	    "DURATION: 500ms, 10s, 15m, 2h, 1d. BYTES: 1500, 64k, 1M.\n");
	for (int i = 0; i < O_N_OPTS; i++) {
		snprintf(left, sizeof(left), "%s--%s%s%s",
		    i == O_HELP ? "-h, " : i == O_VERSION ? "-V, " : "",
		    opts[i].name, opts[i].arg != NULL ? " " : "",
		    opts[i].arg != NULL ? opts[i].arg : "");
		if (strlen(left) > 32)
			fprintf(f, "  %s\n  %-32s %s\n", left, "", opts[i].help);
		else
			fprintf(f, "  %-32s %s\n", left, opts[i].help);
	}
}

/* Whether inih would read the value back unchanged (no trimming, one line). */
static bool
is_file_safe(const char *v)
{
	size_t n = strlen(v);

	if (strpbrk(v, "\r\n") != NULL)
		return false;
	return n == 0 || (!isspace((unsigned char)v[0]) && !isspace((unsigned char)v[n - 1]));
}

static void
print_kv(FILE *f, enum opt_id id, const char *value)
{
	if (is_file_safe(value) && strlen(opts[id].name) + 3 + strlen(value) <= CONFIG_MAX_LINE)
		fprintf(f, "%s = %s\n", opts[id].name, value);
	else
		fprintf(f, "# %s: a value not representable in the file (command line only)\n",
		    opts[id].name);
}

static void
print_idents(FILE *f, enum opt_id id, const struct ccd_ident *list, size_t n)
{
	if (n == 0)
		fprintf(f, "# %s = (none)\n", opts[id].name);
	for (size_t i = 0; i < n; i++)
		print_kv(f, id, list[i].name);
}

void
config_print(const struct ccd_config *c, FILE *f)
{
	char	buf[64];
	char	*kv;

	fprintf(f, "# chitchatd %s: effective configuration\n", CHITCHATD_VERSION);
	if (c->config_file != NULL)
		fprintf(f, "# config = %s\n", c->config_file);
	print_kv(f, O_NODE_ID, c->node_id);
	print_kv(f, O_CLUSTER_ID, c->cluster_id);
	print_kv(f, O_LISTEN, c->listen);
	print_kv(f, O_ADVERTISE, c->advertise != NULL ? c->advertise : c->listen);
	if (c->n_seeds == 0)
		fprintf(f, "# seed = (none)\n");
	for (size_t i = 0; i < c->n_seeds; i++)
		print_kv(f, O_SEED, c->seeds[i]);
	fprintf(f, "generation = %llu\n", (unsigned long long)c->generation);
	config_format_duration(c->gossip_interval_ms, buf, sizeof(buf));
	fprintf(f, "gossip-interval = %s\n", buf);
	snprintf(buf, sizeof(buf), "%g", c->fd.phi_threshold);
	if (strtod(buf, NULL) != c->fd.phi_threshold)
		snprintf(buf, sizeof(buf), "%.17g", c->fd.phi_threshold);
	fprintf(f, "phi-threshold = %s\n", buf);
	fprintf(f, "sampling-window-size = %u\n", (unsigned)c->fd.sampling_window_size);
	config_format_duration(c->fd.max_interval_ms, buf, sizeof(buf));
	fprintf(f, "max-interval = %s\n", buf);
	config_format_duration(c->fd.initial_interval_ms, buf, sizeof(buf));
	fprintf(f, "initial-interval = %s\n", buf);
	config_format_duration(c->fd.dead_node_grace_period_ms, buf, sizeof(buf));
	fprintf(f, "dead-node-grace-period = %s\n", buf);
	config_format_duration(c->marked_for_deletion_grace_period_ms, buf, sizeof(buf));
	fprintf(f, "marked-for-deletion-grace-period = %s\n", buf);
	fprintf(f, "max-datagram-size = %zu\n", c->max_datagram_size);
	fprintf(f, "max-nodes = %zu\n", c->max_nodes);
	fprintf(f, "max-keys-per-node = %zu\n", c->max_keys_per_node);
	format_size(c->max_state_bytes, buf, sizeof(buf));
	fprintf(f, "max-state-bytes = %s\n", buf);
	fprintf(f, "encryption = %s\n", gossip_encryption_name(c->encryption));
	if (c->keyring == NULL)
		fprintf(f, "# keyring = (none)\n");
	else
		print_kv(f, O_KEYRING, c->keyring);
	if (c->n_initial == 0)
		fprintf(f, "# set = (none)\n");
	for (size_t i = 0; i < c->n_initial; i++) {
		kv = format("%s=%s", c->initial[i].key, c->initial[i].value);
		print_kv(f, O_SET, kv);
		free(kv);
	}
	if (c->n_required_keys == 0)
		fprintf(f, "# required-key = (none)\n");
	for (size_t i = 0; i < c->n_required_keys; i++)
		print_kv(f, O_REQUIRED_KEY, c->required_keys[i]);
	print_kv(f, O_CONTROL_SOCKET, c->control_socket);
	fprintf(f, "control-mode = %04o\n", (unsigned)c->control_mode);
	if (c->control_group == NULL)
		fprintf(f, "# control-group = (the daemon's group)\n");
	else
		print_kv(f, O_CONTROL_GROUP, c->control_group);
	print_idents(f, O_WRITE_USERS, c->write_users, c->n_write_users);
	print_idents(f, O_WRITE_GROUPS, c->write_groups, c->n_write_groups);
	if (c->control_readonly_socket == NULL)
		fprintf(f, "# control-readonly-socket = (none)\n");
	else
		print_kv(f, O_RO_SOCKET, c->control_readonly_socket);
	fprintf(f, "control-readonly-mode = %04o\n", (unsigned)c->control_readonly_mode);
	format_size(c->max_line, buf, sizeof(buf));
	fprintf(f, "max-line = %s\n", buf);
	fprintf(f, "max-clients = %zu\n", c->max_clients);
	format_size(c->max_output, buf, sizeof(buf));
	fprintf(f, "max-output = %s\n", buf);
	fprintf(f, "log-level = %s\n", log_level_name(c->log_level));
	format_extensions(c->extensions, buf, sizeof(buf));
	fprintf(f, "extensions = %s\n", buf);
	fprintf(f, "leave-on-terminate = %s\n", c->leave_on_terminate ? "yes" : "no");
	if (c->state_directory == NULL)
		fprintf(f, "# state-directory = (none)\n");
	else
		print_kv(f, O_STATE_DIR, c->state_directory);
}

/* ---- reload and engine support -------------------------------------------------------- */

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool
idents_are_equal(const struct ccd_ident *a, size_t na, const struct ccd_ident *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].id != b[i].id || strcmp(a[i].name, b[i].name) != 0)
			return false;
	return true;
}

bool
config_access_is_equal(const struct ccd_config *a, const struct ccd_config *b)
{
	return idents_are_equal(a->write_users, a->n_write_users, b->write_users,
	    b->n_write_users) && idents_are_equal(a->write_groups, a->n_write_groups,
	    b->write_groups, b->n_write_groups);
}

bool
config_seeds_are_equal(const struct ccd_config *a, const struct ccd_config *b)
{
	if (a->n_seeds != b->n_seeds)
		return false;
	for (size_t i = 0; i < a->n_seeds; i++)
		if (strcmp(a->seeds[i], b->seeds[i]) != 0)
			return false;
	return true;
}

void
config_diff(const struct ccd_config *a, const struct ccd_config *b,
    void (*fn)(void *, const char *), void *arg)
{
	bool kv_differs = a->n_initial != b->n_initial;
	bool rk_differs = a->n_required_keys != b->n_required_keys;

	for (size_t i = 0; !kv_differs && i < a->n_initial; i++)
		kv_differs = strcmp(a->initial[i].key, b->initial[i].key) != 0 ||
		    strcmp(a->initial[i].value, b->initial[i].value) != 0;
	for (size_t i = 0; !rk_differs && i < a->n_required_keys; i++)
		rk_differs = strcmp(a->required_keys[i], b->required_keys[i]) != 0;
#define DIFF(cond, id)	do { if (cond) fn(arg, opts[id].name); } while (0)
	DIFF(str_differs(a->node_id, b->node_id), O_NODE_ID);
	DIFF(str_differs(a->cluster_id, b->cluster_id), O_CLUSTER_ID);
	DIFF(str_differs(a->listen, b->listen), O_LISTEN);
	DIFF(str_differs(a->advertise, b->advertise), O_ADVERTISE);
	DIFF(!config_seeds_are_equal(a, b), O_SEED);
	DIFF(b->generation_set && a->generation != b->generation, O_GENERATION);
	DIFF(a->gossip_interval_ms != b->gossip_interval_ms, O_GOSSIP_INTERVAL);
	DIFF(a->fd.phi_threshold != b->fd.phi_threshold, O_PHI);
	DIFF(a->fd.sampling_window_size != b->fd.sampling_window_size, O_WINDOW);
	DIFF(a->fd.max_interval_ms != b->fd.max_interval_ms, O_MAX_INTERVAL);
	DIFF(a->fd.initial_interval_ms != b->fd.initial_interval_ms, O_INITIAL_INTERVAL);
	DIFF(a->fd.dead_node_grace_period_ms != b->fd.dead_node_grace_period_ms, O_DEAD_GRACE);
	DIFF(a->marked_for_deletion_grace_period_ms != b->marked_for_deletion_grace_period_ms,
	    O_KV_GRACE);
	DIFF(a->max_datagram_size != b->max_datagram_size, O_MAX_DATAGRAM);
	DIFF(a->max_nodes != b->max_nodes, O_MAX_NODES);
	DIFF(a->max_keys_per_node != b->max_keys_per_node, O_MAX_KEYS);
	DIFF(a->max_state_bytes != b->max_state_bytes, O_MAX_STATE_BYTES);
	DIFF(a->encryption != b->encryption, O_ENCRYPTION);
	DIFF(str_differs(a->keyring, b->keyring), O_KEYRING);
	DIFF(kv_differs, O_SET);
	DIFF(rk_differs, O_REQUIRED_KEY);
	DIFF(str_differs(a->control_socket, b->control_socket), O_CONTROL_SOCKET);
	DIFF(a->control_mode != b->control_mode, O_CONTROL_MODE);
	DIFF(str_differs(a->control_group, b->control_group), O_CONTROL_GROUP);
	DIFF(!idents_are_equal(a->write_users, a->n_write_users, b->write_users,
	    b->n_write_users), O_WRITE_USERS);
	DIFF(!idents_are_equal(a->write_groups, a->n_write_groups, b->write_groups,
	    b->n_write_groups), O_WRITE_GROUPS);
	DIFF(str_differs(a->control_readonly_socket, b->control_readonly_socket), O_RO_SOCKET);
	DIFF(a->control_readonly_mode != b->control_readonly_mode, O_RO_MODE);
	DIFF(a->max_line != b->max_line, O_MAX_LINE);
	DIFF(a->max_clients != b->max_clients, O_MAX_CLIENTS);
	DIFF(a->max_output != b->max_output, O_MAX_OUTPUT);
	DIFF(a->log_level != b->log_level, O_LOG_LEVEL);
	DIFF(a->extensions != b->extensions, O_EXTENSIONS);
	DIFF(a->leave_on_terminate != b->leave_on_terminate, O_LEAVE_ON_TERMINATE);
	DIFF(str_differs(a->state_directory, b->state_directory), O_STATE_DIR);
#undef DIFF
}

bool
config_has_required_keys(const struct cc_node *n, void *arg)
{
	const struct ccd_config *c = arg;

	for (size_t i = 0; i < c->n_required_keys; i++)
		if (cc_node_get(n, c->required_keys[i], strlen(c->required_keys[i])) == NULL)
			return false;
	return true;
}

bool
config_node_is_eligible(const struct cc_node *n, void *arg)
{
	const struct ccd_config *c = arg;

	/* a node announcing its leave is out at once, whatever its heartbeat does */
	return config_has_required_keys(n, arg) && !ccd_node_is_leaving(c, n);
}

void
config_engine(const struct ccd_config *c, struct cc_config *e)
{
	cc_config_default(e);
	e->self.node_id = c->node_id;
	e->self.node_id_len = strlen(c->node_id);
	e->self.generation = c->generation;
	e->self.addr = c->advertise_addr;
	e->cluster_id = c->cluster_id;
	e->gossip_interval_ms = c->gossip_interval_ms;
	e->marked_for_deletion_grace_period_ms = c->marked_for_deletion_grace_period_ms;
	e->fd = c->fd;
	/* a sealed datagram, 42 bytes longer, must still fit max-datagram-size */
	e->max_datagram = c->encryption != GOSSIP_ENC_OFF ?
	    c->max_datagram_size - CC_SEAL_OVERHEAD : c->max_datagram_size;
	e->max_nodes = c->max_nodes;
	e->max_keys_per_node = c->max_keys_per_node;
	e->max_state_bytes = c->max_state_bytes;
	e->seeds = NULL;
	e->n_seeds = 0;
	if (c->n_required_keys > 0 || (c->extensions & CCD_EXT_LEAVE) != 0) {
		e->liveness_predicate = config_node_is_eligible;
		e->predicate_arg = (void *)(uintptr_t)c;
	}
}
