/*
 * chitchatd.c: main: options, startup order, signals.
 *
 * Startup follows chitchat's (PROTOCOL.md §8.1): resolve seeds, bind the
 * socket (failure is fatal), create the engine with heartbeat 1 and apply
 * the initial keys in order, then run; the first round fires at once.
 * Invalid configuration prints one line naming the option and exits 2,
 * before anything is started.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "gossip.h"
#include "log.h"
#include "options.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: chitchatd [options]\n"
	    "  --node-id ID                 node name (default: host name)\n"
	    "  --cluster-id ID              cluster id (default: default-cluster)\n"
	    "  --listen HOST:PORT           UDP listen address (default: 127.0.0.1:7280)\n"
	    "  --advertise HOST:PORT        gossip address told to peers (default: listen)\n"
	    "  --seed HOST:PORT             seed node, repeatable\n"
	    "  --generation N               generation id (default: start time in ns)\n"
	    "  --gossip-interval DUR        e.g. 500ms, 1s (default 1s)\n"
	    "  --phi-threshold X            (default 8)\n"
	    "  --sampling-window-size N     (default 1000)\n"
	    "  --max-interval DUR           (default 10s)\n"
	    "  --initial-interval DUR       (default 5s)\n"
	    "  --dead-node-grace-period DUR (default 24h)\n"
	    "  --marked-for-deletion-grace-period DUR (default 2h)\n"
	    "  --set KEY=VALUE              initial key, repeatable\n"
	    "  --log-level LEVEL            error, warn, info, debug (default info)\n"
	    "  -h, --help                   this text\n"
	    "  -V, --version                version\n");
}

static struct event_base	*base;

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		log_info("SIGHUP: nothing to reload yet");
		return;
	}
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(base);
}

static void
on_engine_event(void *arg, const struct cc_event *ev)
{
	static const char	*change[] = { "added", "live", "dead", "scheduled for deletion",
				    "removed", "reset" };
	char			 id[512];

	(void)arg;
	if (ev->type == CC_EVENT_NODE) {
		cc_id_format(ev->node, id, sizeof(id));
		log_msg(ev->change == CC_NODE_LIVE || ev->change == CC_NODE_DEAD ?
		    CC_LOG_INFO : CC_LOG_DEBUG, "node %s: %s", id, change[ev->change]);
	} else if (ev->type == CC_EVENT_CATCHUP)
		log_debug("a replica was reset: catch-up");
}

static int
run(struct options *o)
{
	struct gossip		 g;
	struct cc_env		 env;
	struct cc_engine	*engine;
	struct event		*sig[3];
	const int		 signals[3] = { SIGINT, SIGTERM, SIGHUP };
	char			*cause = NULL, addr[CC_ADDR_STRLEN];

	memset(&g, 0, sizeof(g));
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (gossip_open(&g, base, &o->listen, &cause) == -1) {
		log_msg(CC_LOG_ERROR, "%s", cause);
		free(cause);
		event_base_free(base);
		return 1;
	}
	g.on_event = on_engine_event;
	gossip_env(&g, &env);
	if ((engine = cc_engine_new(&o->cfg, &env)) == NULL)
		fatalx("cannot create the engine: %s", strerror(errno));
	for (size_t i = 0; i < o->n_initial; i++)
		if (cc_engine_set(engine, o->initial[i].key, strlen(o->initial[i].key),
		    o->initial[i].value, strlen(o->initial[i].value)) == -1)
			fatalx("--set %s: %s", o->initial[i].key, strerror(errno));
	for (int i = 0; i < 3; i++) {
		sig[i] = evsignal_new(base, signals[i], on_signal, NULL);
		event_add(sig[i], NULL);
	}
	cc_addr_format(&o->listen, addr, sizeof(addr));
	log_info("node %s, cluster %s, listening on udp %s, %zu seed(s)",
	    o->cfg.self.node_id, o->cfg.cluster_id, addr, o->cfg.n_seeds);
	gossip_start(&g, engine);
	event_base_dispatch(base);

	for (int i = 0; i < 3; i++)
		event_free(sig[i]);
	gossip_close(&g);
	cc_engine_free(engine);
	event_base_free(base);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options	o;
	int		rc;

	log_init(CC_LOG_INFO);
	switch (options_parse(&o, argc, argv)) {
	case OPTIONS_HELP:
		usage(stdout);
		options_clear(&o);
		return 0;
	case OPTIONS_VERSION:
		printf("chitchatd %s\n", CHITCHATD_VERSION);
		options_clear(&o);
		return 0;
	case OPTIONS_ERROR:
		options_clear(&o);
		return 2;
	default:
		break;
	}
	log_set_level(o.log_level);
	rc = run(&o);
	options_clear(&o);
	return rc;
}
