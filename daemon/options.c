/*
 * options.c: parse and validate chitchatd's options. Every error names the
 * option and the reason on one line; the daemon then exits 2 before
 * starting anything.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gossip.h"
#include "log.h"
#include "options.h"

enum {
	OPT_NODE_ID = 256, OPT_CLUSTER_ID, OPT_LISTEN, OPT_ADVERTISE, OPT_SEED,
	OPT_GENERATION, OPT_GOSSIP_INTERVAL, OPT_PHI, OPT_WINDOW, OPT_MAX_INTERVAL,
	OPT_INITIAL_INTERVAL, OPT_DEAD_GRACE, OPT_KV_GRACE, OPT_SET, OPT_LOG_LEVEL,
};

static const struct option longopts[] = {
	{ "node-id", required_argument, NULL, OPT_NODE_ID },
	{ "cluster-id", required_argument, NULL, OPT_CLUSTER_ID },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "advertise", required_argument, NULL, OPT_ADVERTISE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "generation", required_argument, NULL, OPT_GENERATION },
	{ "gossip-interval", required_argument, NULL, OPT_GOSSIP_INTERVAL },
	{ "phi-threshold", required_argument, NULL, OPT_PHI },
	{ "sampling-window-size", required_argument, NULL, OPT_WINDOW },
	{ "max-interval", required_argument, NULL, OPT_MAX_INTERVAL },
	{ "initial-interval", required_argument, NULL, OPT_INITIAL_INTERVAL },
	{ "dead-node-grace-period", required_argument, NULL, OPT_DEAD_GRACE },
	{ "marked-for-deletion-grace-period", required_argument, NULL, OPT_KV_GRACE },
	{ "set", required_argument, NULL, OPT_SET },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int
bad(const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "chitchatd: --%s %s: %s\n", opt, arg, why);
	return -1;
}

int
options_parse_duration(const char *s, uint64_t *ms)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !(v >= 0) || !isfinite(v))
		return -1;
	if (*end == '\0')
		return v == 0 ? (*ms = 0, 0) : -1;	/* a unit is required */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			double r = v * (double)units[i].mult;

			if (r > 1e15)
				return -1;
			*ms = (uint64_t)llround(r);
			return 0;
		}
	}
	return -1;
}

/* Literal address, or host:port resolved now (all addresses it has). */
static int
resolve(const char *s, struct cc_addr **out, size_t *n)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256];
	const char	*colon = strrchr(s, ':');
	struct cc_addr	 a;
	size_t		 hlen;

	if (cc_addr_parse(s, &a) == 0) {
		*out = realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = a;
		return 0;
	}
	if (colon == NULL || (hlen = (size_t)(colon - s)) == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (gossip_sockaddr_to_addr(ai->ai_addr, &a) == -1)
			continue;
		*out = realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = a;
	}
	freeaddrinfo(res);
	return 0;
}

static int
one_addr(const char *opt, const char *arg, struct cc_addr *dst)
{
	struct cc_addr	*v = NULL;
	size_t		 n = 0;

	if (resolve(arg, &v, &n) == -1 || n == 0) {
		free(v);
		return bad(opt, arg, "expected HOST:PORT (IPv6 as [addr]:port) that resolves");
	}
	*dst = v[0];
	free(v);
	return 0;
}

static int
duration(const char *opt, const char *arg, uint64_t *ms, bool nonzero)
{
	if (options_parse_duration(arg, ms) == -1)
		return bad(opt, arg, "expected a duration with a unit: 500ms, 10s, 15m, 2h");
	if (nonzero && *ms == 0)
		return bad(opt, arg, "must be greater than zero");
	return 0;
}

static int
add_initial(struct options *o, const char *arg)
{
	const char	*eq = strchr(arg, '=');
	const char	*why;
	struct initial_kv kv;

	if (eq == NULL)
		return bad("set", arg, "expected KEY=VALUE");
	kv.key = strndup(arg, (size_t)(eq - arg));
	kv.value = strdup(eq + 1);
	if (!cc_kv_is_valid(kv.key, strlen(kv.key), kv.value, strlen(kv.value), &why)) {
		free(kv.key);
		free(kv.value);
		return bad("set", arg, why);
	}
	o->initial = realloc(o->initial, (o->n_initial + 1) * sizeof(kv));
	o->initial[o->n_initial++] = kv;
	return 0;
}

static int
parse_one(struct options *o, int c, const char *arg, bool *advertise_set,
    char **node_id)
{
	const char	*name = NULL;
	char		*end;

	for (const struct option *lo = longopts; lo->name != NULL; lo++)
		if (lo->val == c)
			name = lo->name;
	switch (c) {
	case OPT_NODE_ID:
		if (*arg == '\0' || strlen(arg) > 65535)
			return bad(name, arg, "must be 1 to 65535 bytes");
		free(*node_id);
		*node_id = strdup(arg);
		return 0;
	case OPT_CLUSTER_ID:
		free(o->cluster_id);
		o->cluster_id = strdup(arg);
		return 0;
	case OPT_LISTEN:
		return one_addr(name, arg, &o->listen);
	case OPT_ADVERTISE:
		*advertise_set = true;
		return one_addr(name, arg, &o->self.addr);
	case OPT_SEED:
		if (resolve(arg, &o->seeds, &o->n_seeds) == -1)
			return bad(name, arg, "expected HOST:PORT that resolves");
		return 0;
	case OPT_GENERATION:
		errno = 0;
		o->self.generation = strtoull(arg, &end, 10);
		if (errno != 0 || *end != '\0' || *arg == '-' || *arg == '\0')
			return bad(name, arg, "expected an unsigned 64-bit integer");
		return 0;
	case OPT_GOSSIP_INTERVAL:
		return duration(name, arg, &o->cfg.gossip_interval_ms, true);
	case OPT_PHI:
		o->cfg.fd.phi_threshold = strtod(arg, &end);
		if (*end != '\0' || !(o->cfg.fd.phi_threshold > 0))
			return bad(name, arg, "expected a positive number");
		return 0;
	case OPT_WINDOW: {
		unsigned long v = strtoul(arg, &end, 10);

		if (*end != '\0' || v == 0 || v > 1000000)
			return bad(name, arg, "expected an integer from 1 to 1000000");
		o->cfg.fd.sampling_window_size = (uint32_t)v;
		return 0;
	}
	case OPT_MAX_INTERVAL:
		return duration(name, arg, &o->cfg.fd.max_interval_ms, true);
	case OPT_INITIAL_INTERVAL:
		return duration(name, arg, &o->cfg.fd.initial_interval_ms, true);
	case OPT_DEAD_GRACE:
		return duration(name, arg, &o->cfg.fd.dead_node_grace_period_ms, true);
	case OPT_KV_GRACE:
		return duration(name, arg, &o->cfg.marked_for_deletion_grace_period_ms, false);
	case OPT_SET:
		return add_initial(o, arg);
	case OPT_LOG_LEVEL:
		if ((o->log_level = log_level_parse(arg)) == -1)
			return bad(name, arg, "expected error, warn, info or debug");
		return 0;
	}
	return -1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

enum options_result
options_parse(struct options *o, int argc, char **argv)
{
	char	 host[256];
	char	*node_id = NULL;
	bool	 advertise_set = false;
	int	 c;

	memset(o, 0, sizeof(*o));
	cc_config_default(&o->cfg);
	o->log_level = CC_LOG_INFO;
	(void)cc_addr_parse("127.0.0.1:7280", &o->listen);
	o->self.generation = now_ns();
	optind = 1;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		if (c == 'h')
			return OPTIONS_HELP;
		if (c == 'V')
			return OPTIONS_VERSION;
		if (c == '?') {
			fprintf(stderr, "chitchatd: try --help\n");
			goto fail;
		}
		if (parse_one(o, c, optarg, &advertise_set, &node_id) == -1)
			goto fail;
	}
	if (optind < argc) {
		fprintf(stderr, "chitchatd: unexpected argument: %s\n", argv[optind]);
		goto fail;
	}
	if (node_id == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "chitchatd");
		host[sizeof(host) - 1] = '\0';
		node_id = strdup(host);
	}
	if (!advertise_set)
		o->self.addr = o->listen;
	o->self.node_id = node_id;
	o->self.node_id_len = strlen(node_id);
	if (!cc_utf8_is_valid(node_id, o->self.node_id_len)) {
		bad("node-id", node_id, "must be valid UTF-8");
		goto fail;
	}
	o->cfg.self = o->self;
	o->cfg.cluster_id = o->cluster_id != NULL ? o->cluster_id : "default-cluster";
	o->cfg.seeds = o->seeds;
	o->cfg.n_seeds = o->n_seeds;
	return OPTIONS_RUN;
fail:
	o->self.node_id = node_id;
	return OPTIONS_ERROR;
}

void
options_clear(struct options *o)
{
	for (size_t i = 0; i < o->n_initial; i++) {
		free(o->initial[i].key);
		free(o->initial[i].value);
	}
	free(o->initial);
	free(o->seeds);
	free(o->cluster_id);
	free(o->self.node_id);
	memset(o, 0, sizeof(*o));
}
