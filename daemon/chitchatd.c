/*
 * chitchatd.c: main: configuration, startup order, signals, systemd.
 *
 * Startup follows chitchat's (PROTOCOL.md §8.1) with one difference: host
 * names among the seeds are resolved asynchronously (seeds.c), so startup
 * never waits for DNS. Then: bind the UDP socket (failure: exit 1), create
 * the engine with heartbeat 1 and apply the initial keys in order, push
 * the seeds, open the control socket (failure: exit 1), start the loop
 * with the first round at once, and tell systemd READY=1. Invalid
 * configuration prints one line naming the option and exits 2 before
 * anything is started.
 *
 * SIGTERM/SIGINT stop the loop; everything is then closed and freed, the
 * control sockets unlinked, and the exit status is 0. With the leave
 * extension and leave-on-terminate (the default), the node first announces
 * its leave and keeps gossiping for two intervals (leave.c), so chitchatd
 * peers report it "left" at once instead of dead after phi; a second
 * signal during that wait exits at once. SIGHUP re-reads the config file
 * and applies what can change at run time (log level, seeds, limits, the
 * control write allow-lists, encryption between upshift and on, the
 * keyring file, leave-on-terminate), logging each change and naming the
 * options that need a restart.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "cc_seal.h"
#include "catchup.h"
#include "ccd.h"
#include "config.h"
#include "control.h"
#include "expiry.h"
#include "gossip.h"
#include "leave.h"
#include "log.h"
#include "notify.h"
#include "peercache.h"
#include "seeds.h"

#define HOUSEKEEPING_MS		5000		/* STATUS= refresh */
#define SUMMARY_MS		60000		/* per-datagram problems summary */

struct daemon {
	struct ccd		 ccd;
	int			 argc;		/* kept for SIGHUP */
	char			**argv;
	struct event		*signals[3];
	struct event		*housekeeping;
	struct event		*watchdog;
	struct gossip_problems	 last_problems;
	uint64_t		 last_summary_ms;
	size_t			 last_live, last_dead;
	bool			 status_sent;
	bool			 control_opened;
};

static void
on_libevent_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	case EVENT_LOG_WARN:
		log_warnx("libevent: %s", msg);
		break;
	default:
		log_msg(CC_LOG_ERROR, "libevent: %s", msg);
		break;
	}
}

static void
on_evdns_log(int is_warning, const char *msg)
{
	log_msg(is_warning ? CC_LOG_WARN : CC_LOG_DEBUG, "dns: %s", msg);
}

static void
send_status(struct daemon *d, bool force)
{
	size_t live = cc_engine_num_live(d->ccd.engine);
	size_t dead = cc_engine_num_dead(d->ccd.engine);

	if (!force && d->status_sent && live == d->last_live && dead == d->last_dead)
		return;
	d->last_live = live;
	d->last_dead = dead;
	d->status_sent = true;
	if (notify_send("STATUS=%zu live node%s (self included), %zu dead", live,
	    live == 1 ? "" : "s", dead) == -1)
		log_debug("sd_notify: %s", strerror(errno));
}

/* ---- SIGHUP ---------------------------------------------------------------------- */

/* "a, b, c" or "(none)", cut to fit */
static void
join_seeds(const struct ccd_config *c, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "(none)");
	for (size_t i = 0; i < c->n_seeds && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "", c->seeds[i]);

		used += n > 0 ? (size_t)n : 0;
	}
}

struct restart_list {
	char	buf[512];
	size_t	used;
};

static void
collect_restart(void *arg, const char *name)
{
	struct restart_list	*r = arg;
	int			 n;

	if (strcmp(name, "log-level") == 0 || strcmp(name, "seed") == 0 ||
	    strcmp(name, "max-nodes") == 0 || strcmp(name, "max-keys-per-node") == 0 ||
	    strcmp(name, "max-state-bytes") == 0 || strcmp(name, "control-write-users") == 0 ||
	    strcmp(name, "control-write-groups") == 0 || strcmp(name, "leave-on-terminate") == 0 ||
	    r->used >= sizeof(r->buf))
		return;
	n = snprintf(r->buf + r->used, sizeof(r->buf) - r->used, "%s%s",
	    r->used > 0 ? ", " : "", name);
	r->used += n > 0 ? (size_t)n : 0;
}

/* "alice, 1001" or "(none)", cut to fit */
static void
join_idents(const struct ccd_ident *list, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "(none)");
	for (size_t i = 0; i < n && used < len; i++) {
		int k = snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "", list[i].name);

		used += k > 0 ? (size_t)k : 0;
	}
}

/*
 * The write allow-lists apply at once, to connected clients too: access
 * is decided per call (from the credentials read at accept), so a user
 * removed from the list loses write access without reconnecting.
 */
static void
reload_access(struct ccd_config *cur, struct ccd_config *next)
{
	struct ccd_ident	*tl;
	size_t			 tn;
	char			 was[200], now[200];

	join_idents(cur->write_users, cur->n_write_users, was, sizeof(was));
	join_idents(next->write_users, next->n_write_users, now, sizeof(now));
	log_info("control-write-users: %s -> %s", was, now);
	join_idents(cur->write_groups, cur->n_write_groups, was, sizeof(was));
	join_idents(next->write_groups, next->n_write_groups, now, sizeof(now));
	log_info("control-write-groups: %s -> %s", was, now);
	tl = cur->write_users;
	tn = cur->n_write_users;
	cur->write_users = next->write_users;
	cur->n_write_users = next->n_write_users;
	next->write_users = tl;
	next->n_write_users = tn;
	tl = cur->write_groups;
	tn = cur->n_write_groups;
	cur->write_groups = next->write_groups;
	cur->n_write_groups = next->n_write_groups;
	next->write_groups = tl;
	next->n_write_groups = tn;
}

/* "3 keys, primary 0123456789abcdef" */
static void
describe_keyring(const struct cc_keyring *kr, char *buf, size_t len)
{
	char id[CC_KEY_ID_LEN + 1] = "-";

	if (kr->n > 0)
		cc_key_id(kr->keys[0], id);
	snprintf(buf, len, "%zu key%s, primary %s", kr->n, kr->n == 1 ? "" : "s", id);
}

/*
 * Between upshift and on, the mode changes at once, and the keyring file
 * is read again (with its path, if that changed). To or from off needs a
 * restart: the datagram budgets allow for the 42 bytes of sealing only
 * when the engine starts with encryption, so cur keeps its mode and
 * config_diff() names the option.
 */
static void
reload_encryption(struct daemon *d, struct ccd_config *cur, struct ccd_config *next)
{
	struct gossip	*g = &d->ccd.gossip;
	char		 was[80], now[80];
	char		*tmp;

	if (cur->encryption == GOSSIP_ENC_OFF || next->encryption == GOSSIP_ENC_OFF) {
		if (cur->encryption == GOSSIP_ENC_OFF && next->encryption == GOSSIP_ENC_OFF) {
			tmp = cur->keyring;	/* unused while off: nothing to restart for */
			cur->keyring = next->keyring;
			next->keyring = tmp;
		}
		return;
	}
	if (next->encryption != cur->encryption) {
		log_info("encryption: %s -> %s", gossip_encryption_name(cur->encryption),
		    gossip_encryption_name(next->encryption));
		cur->encryption = next->encryption;
	}
	if (strcmp(cur->keyring, next->keyring) != 0) {
		log_info("keyring: %s -> %s", cur->keyring, next->keyring);
		tmp = cur->keyring;
		cur->keyring = next->keyring;
		next->keyring = tmp;
	}
	if (!cc_keyring_is_equal(&g->keyring, next->keys)) {
		describe_keyring(&g->keyring, was, sizeof(was));
		describe_keyring(next->keys, now, sizeof(now));
		log_info("keyring %s: %s -> %s", cur->keyring, was, now);
	}
	gossip_set_encryption(g, cur->encryption, next->keys);
}

static void
reload(struct daemon *d)
{
	struct ccd_config	*cur = d->ccd.cfg, *next = NULL;
	enum config_action	 action;
	struct restart_list	 restart;
	struct timespec		 ts;
	char			*cause = NULL, old_seeds[400], new_seeds[400];
	int			 old_level;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	(void)notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	if (cur->config_file == NULL)
		log_info("SIGHUP: no config file to re-read%s", cur->n_seeds > 0 ?
		    "; resolving the seed host names again" : "");
	else
		log_info("SIGHUP: re-reading %s", cur->config_file);
	if (config_load(d->argc, d->argv, &next, &action, &cause) == -1) {
		log_warnx("reload: %s; the running configuration is unchanged", cause);
		free(cause);
		seeds_refresh(d->ccd.seeds);
		goto done;
	}
	if (next->log_level != cur->log_level) {
		old_level = cur->log_level;
		/* said at the more verbose of the two levels, so that it shows */
		log_set_level(next->log_level > old_level ? next->log_level : old_level);
		log_info("log level: %s -> %s", log_level_name(old_level),
		    log_level_name(next->log_level));
		log_set_level(next->log_level);
		cur->log_level = next->log_level;
	}
	if (!config_seeds_are_equal(cur, next)) {
		join_seeds(cur, old_seeds, sizeof(old_seeds));
		join_seeds(next, new_seeds, sizeof(new_seeds));
		log_info("seeds: %s -> %s", old_seeds, new_seeds);
		if (seeds_set(d->ccd.seeds, next->seeds, next->n_seeds, &cause) == -1) {
			log_warnx("reload: %s; seeds unchanged", cause != NULL ? cause : "seeds");
			free(cause);
		} else {
			/* the running config takes the new list */
			char	**tmp = cur->seeds;
			size_t	  n = cur->n_seeds;

			cur->seeds = next->seeds;
			cur->n_seeds = next->n_seeds;
			next->seeds = tmp;
			next->n_seeds = n;
		}
	} else
		seeds_refresh(d->ccd.seeds);
	if (next->max_nodes != cur->max_nodes || next->max_keys_per_node != cur->max_keys_per_node ||
	    next->max_state_bytes != cur->max_state_bytes) {
		log_info("limits: max-nodes %zu -> %zu, max-keys-per-node %zu -> %zu, "
		    "max-state-bytes %llu -> %llu", cur->max_nodes, next->max_nodes,
		    cur->max_keys_per_node, next->max_keys_per_node,
		    (unsigned long long)cur->max_state_bytes,
		    (unsigned long long)next->max_state_bytes);
		cc_engine_set_limits(d->ccd.engine, next->max_nodes, next->max_keys_per_node,
		    next->max_state_bytes);
		cur->max_nodes = next->max_nodes;
		cur->max_keys_per_node = next->max_keys_per_node;
		cur->max_state_bytes = next->max_state_bytes;
	}
	if (!config_access_is_equal(cur, next))
		reload_access(cur, next);
	reload_encryption(d, cur, next);
	if (next->leave_on_terminate != cur->leave_on_terminate) {
		log_info("leave-on-terminate: %s -> %s", cur->leave_on_terminate ? "yes" : "no",
		    next->leave_on_terminate ? "yes" : "no");
		cur->leave_on_terminate = next->leave_on_terminate;
	}
	memset(&restart, 0, sizeof(restart));
	config_diff(cur, next, collect_restart, &restart);
	if (restart.used > 0)
		log_warnx("reload: changed options need a restart to take effect: %s", restart.buf);
	config_free(next);
done:
	if (notify_send("READY=1") == -1)
		log_debug("sd_notify: %s", strerror(errno));
	send_status(d, true);
}

/* ---- events ----------------------------------------------------------------------- */

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;
	const char	*name;
	uint64_t	 wait;

	(void)what;
	if (sig == SIGHUP) {
		reload(d);
		return;
	}
	name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
	if (d->ccd.leaving) {
		log_info("%s while leaving: shutting down now", name);
		event_base_loopbreak(d->ccd.base);
		return;
	}
	if (d->ccd.cfg->leave_on_terminate && CCD_HAS_EXT(&d->ccd, CCD_EXT_LEAVE)) {
		/* leave.c logs what it does and breaks the loop after the wait */
		if (leave_start(&d->ccd, name, &wait) == 0)
			return;
		log_warnx("%s: cannot announce the leave: %s", name, strerror(errno));
	}
	log_info("%s: shutting down", name);
	event_base_loopbreak(d->ccd.base);
}

static void
on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	uint64_t	 now = ccd_now_ms();
	char		 line[1024];

	(void)fd;
	(void)what;
	send_status(d, false);
	if (now - d->last_summary_ms >= SUMMARY_MS) {
		d->last_summary_ms = now;
		if (gossip_summary(&d->ccd.gossip, &d->last_problems, line, sizeof(line)))
			log_warnx("gossip, last %us: %s", SUMMARY_MS / 1000, line);
	}
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	(void)notify_send("WATCHDOG=1");
}

static struct event *
add_timer(struct event_base *base, uint64_t period_us, event_callback_fn fn, void *arg)
{
	struct timeval	 tv = { (time_t)(period_us / 1000000),
			    (suseconds_t)(period_us % 1000000) };
	struct event	*ev = event_new(base, -1, EV_PERSIST, fn, arg);

	if (ev == NULL || event_add(ev, &tv) == -1)
		fatalx("cannot create a timer");
	return ev;
}

/* ---- startup and shutdown ---------------------------------------------------------- */

static void
shutdown_all(struct daemon *d)
{
	struct ccd *ccd = &d->ccd;

	for (int i = 0; i < 3; i++)
		if (d->signals[i] != NULL)
			event_free(d->signals[i]);
	if (d->housekeeping != NULL)
		event_free(d->housekeeping);
	if (d->watchdog != NULL)
		event_free(d->watchdog);
	leave_free(ccd);
	if (d->control_opened)
		control_close(ccd);
	/* the peers seen live until now, for the next start */
	peercache_close(ccd->peercache);
	ccd->peercache = NULL;
	expiry_free(ccd->expiry);	/* pending expiries die with this generation */
	ccd->expiry = NULL;
	catchup_free(ccd->catchup);
	ccd->catchup = NULL;
	gossip_close(&ccd->gossip);
	seeds_free(ccd->seeds);		/* last: runs one pass of the loop */
	cc_engine_free(ccd->engine);
	if (ccd->base != NULL)
		event_base_free(ccd->base);
	ccd->seeds = NULL;
	ccd->engine = NULL;
	ccd->base = NULL;
}

static int
run(struct daemon *d)
{
	static const int	 sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	struct ccd		*ccd = &d->ccd;
	struct ccd_config	*cfg = ccd->cfg;
	struct cc_config	 ecfg;
	struct cc_env		 env;
	char			*cause = NULL, addr[CC_ADDR_STRLEN], adv[CC_ADDR_STRLEN];
	uint64_t		 wd;

	signal(SIGPIPE, SIG_IGN);
	event_set_log_callback(on_libevent_log);
	evdns_set_log_fn(on_evdns_log);
	if ((ccd->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	ccd->start_ms = ccd_now_ms();
	ccd->gossip.fd = -1;
	if (gossip_open(&ccd->gossip, ccd->base, &cfg->listen_addr, &cause) == -1) {
		log_msg(CC_LOG_ERROR, "%s", cause);
		goto fail;
	}
	ccd->gossip.on_event = ccd_on_engine_event;
	ccd->gossip.event_arg = ccd;
	gossip_env(&ccd->gossip, &env);
	if (cfg->keys != NULL) {
		/* the running keyring lives in the gossip layer only */
		gossip_set_encryption(&ccd->gossip, cfg->encryption, cfg->keys);
		cc_keyring_clear(cfg->keys);
		free(cfg->keys);
		cfg->keys = NULL;
	}
	config_engine(cfg, &ecfg);
	if ((ccd->engine = cc_engine_new(&ecfg, &env)) == NULL) {
		log_msg(CC_LOG_ERROR, "cannot create the engine: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_initial; i++) {
		const struct ccd_kv *kv = &cfg->initial[i];

		if (cc_engine_set(ccd->engine, kv->key, strlen(kv->key), kv->value,
		    strlen(kv->value)) == -1) {
			log_msg(CC_LOG_ERROR, "--set %s: %s", kv->key, strerror(errno));
			goto fail;
		}
	}
	if (CCD_HAS_EXT(ccd, CCD_EXT_KEY_TTL) && (ccd->expiry = expiry_new(ccd)) == NULL)
		fatalx("cannot create the expiry timer");
	/* TCP on the gossip port number, ready before a datagram can reset */
	if ((ccd->catchup = catchup_new(ccd)) == NULL) {
		log_msg(CC_LOG_ERROR, "catch-up: %s", strerror(errno));
		goto fail;
	}
	ccd->seeds = seeds_new(ccd, NULL);
	if (seeds_set(ccd->seeds, cfg->seeds, cfg->n_seeds, &cause) == -1) {
		log_msg(CC_LOG_ERROR, "%s", cause != NULL ? cause : "bad seed");
		goto fail;
	}
	/* the peers of the last run: extra seeds, kept across DNS refreshes */
	if ((ccd->peercache = peercache_open(ccd)) != NULL) {
		const struct cc_addr	*cached;
		size_t			 n = peercache_loaded(ccd->peercache, &cached);

		seeds_set_extra(ccd->seeds, cached, n);
	}
	if (control_open(ccd, &cause) == -1) {
		log_msg(CC_LOG_ERROR, "control socket: %s", cause != NULL ? cause :
		    "cannot open");
		goto fail;
	}
	d->control_opened = true;
	for (int i = 0; i < 3; i++) {
		d->signals[i] = evsignal_new(ccd->base, sigs[i], on_signal, d);
		if (d->signals[i] == NULL || event_add(d->signals[i], NULL) == -1)
			fatalx("cannot handle signal %d", sigs[i]);
	}
	d->last_summary_ms = ccd_now_ms();
	d->housekeeping = add_timer(ccd->base, HOUSEKEEPING_MS * 1000ULL, on_housekeeping, d);
	if ((wd = notify_watchdog_usec()) > 0)
		d->watchdog = add_timer(ccd->base, wd / 2, on_watchdog, d);
	cc_addr_format(&cfg->listen_addr, addr, sizeof(addr));
	cc_addr_format(&cfg->advertise_addr, adv, sizeof(adv));
	log_info("chitchatd %s: node %s, generation %llu, cluster %s, udp %s (advertised %s), "
	    "%zu seed(s), control socket %s", CHITCHATD_VERSION, cfg->node_id,
	    (unsigned long long)cfg->generation, cfg->cluster_id, addr, adv, cfg->n_seeds,
	    cfg->control_socket);
	if (cfg->encryption != GOSSIP_ENC_OFF) {
		char keys[80];

		describe_keyring(&ccd->gossip.keyring, keys, sizeof(keys));
		log_info("encryption %s: keyring %s, %s", gossip_encryption_name(cfg->encryption),
		    cfg->keyring, keys);
	}
	gossip_start(&ccd->gossip, ccd->engine);	/* the first round runs now */
	gossip_problems(&ccd->gossip, &d->last_problems);
	if (notify_send("READY=1") == -1)
		log_warnx("sd_notify: %s", strerror(errno));
	send_status(d, true);

	event_base_dispatch(ccd->base);

	if (!ccd->leaving)	/* a leave said it when it started */
		(void)notify_send("STOPPING=1");
	shutdown_all(d);
	return 0;
fail:
	free(cause);
	shutdown_all(d);
	return 1;
}

int
main(int argc, char **argv)
{
	struct daemon		 d;
	enum config_action	 action;
	char			*cause = NULL;
	int			 rc;

	log_init(CC_LOG_INFO);
	memset(&d, 0, sizeof(d));
	if (cc_seal_init() == -1) {
		fprintf(stderr, "chitchatd: libsodium cannot be initialised\n");
		return 1;
	}
	if (config_load(argc, argv, &d.ccd.cfg, &action, &cause) == -1) {
		fprintf(stderr, "chitchatd: %s\n", cause);
		free(cause);
		return 2;
	}
	switch (action) {
	case CONFIG_HELP:
		config_usage(stdout);
		return 0;
	case CONFIG_VERSION:
		printf("chitchatd %s\n", CHITCHATD_VERSION);
		return 0;
	case CONFIG_CHECK:
		config_print(d.ccd.cfg, stdout);
		config_free(d.ccd.cfg);
		return 0;
	case CONFIG_RUN:
		break;
	}
	log_set_level(d.ccd.cfg->log_level);
	d.argc = argc;
	d.argv = argv;
	rc = run(&d);
	config_free(d.ccd.cfg);
	return rc;
}
