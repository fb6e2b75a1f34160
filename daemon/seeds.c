/*
 * seeds.c: the seed set and its DNS refresh (PROTOCOL.md §8.4).
 *
 * A seed given as a literal address is fixed. A seed given as host:port is
 * looked up with libevent's asynchronous resolver (evdns), at start and
 * again every 60 s, and each completed look-up replaces that host's
 * addresses: the engine's set is always the literals plus the addresses
 * each host name had at its latest look-up, so addresses that stop
 * resolving drop out, and a failed look-up contributes nothing. Failures
 * are counted (ccd->counters.dns_failures) and logged once per host per
 * streak of failures.
 *
 * Unlike chitchat, which waits for the first resolution before its first
 * round, startup never waits for DNS: the first rounds may simply have
 * fewer seeds. Host names from /etc/hosts (localhost) resolve at once.
 *
 * Extra seeds (the peer cache's, seeds_set_extra) are fixed addresses
 * kept apart from the configured ones: every push merges both, so a DNS
 * refresh or a SIGHUP that replaces the configured seeds keeps them.
 *
 * evdns delivers cancellations from the event loop, after the call that
 * cancels; so a host whose look-up is cancelled is not freed there but
 * orphaned, and freed by its callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "ccd.h"
#include "gossip.h"
#include "log.h"
#include "xmalloc.h"
#include "seeds.h"

struct seed_host {
	TAILQ_ENTRY(seed_host)			 entry;
	struct seeds				*seeds;
	char					*name;
	char					 port[8];
	struct cc_addr				*addrs;		/* latest look-up */
	size_t					 n_addrs;
	struct evdns_getaddrinfo_request	*req;		/* in flight */
	bool					 pending;
	bool					 failing;	/* in a failure streak */
	bool					 orphan;	/* no longer listed */
};

TAILQ_HEAD(seed_host_list, seed_host);

struct seeds {
	struct ccd		*ccd;
	struct evdns_base	*dns;
	struct event		*timer;
	uint64_t		 refresh_ms;
	struct cc_addr		*literals;
	size_t			 n_literals;
	struct seed_host_list	 hosts;		/* listed and orphaned */
	size_t			 n_listed;
	struct cc_addr		*extra;		/* seeds_set_extra() */
	size_t			 n_extra;
	struct cc_addr		*current;	/* last pushed into the engine */
	size_t			 n_current;
};

static void
host_free(struct seeds *s, struct seed_host *h)
{
	TAILQ_REMOVE(&s->hosts, h, entry);
	free(h->addrs);
	free(h->name);
	free(h);
}

static bool
addr_in(const struct cc_addr *set, size_t n, const struct cc_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (cc_addr_is_equal(&set[i], a))
			return true;
	return false;
}

/* literals ∪ every listed host's latest addresses ∪ extras -> the engine */
static void
push(struct seeds *s)
{
	struct seed_host	*h;
	struct cc_addr		*set;
	size_t			 n = 0, cap = s->n_literals + s->n_extra;

	TAILQ_FOREACH(h, &s->hosts, entry)
		if (!h->orphan)
			cap += h->n_addrs;
	set = xcalloc(cap, sizeof(*set));
	for (size_t i = 0; i < s->n_literals; i++)
		if (!addr_in(set, n, &s->literals[i]))
			set[n++] = s->literals[i];
	TAILQ_FOREACH(h, &s->hosts, entry)
		for (size_t i = 0; !h->orphan && i < h->n_addrs; i++)
			if (!addr_in(set, n, &h->addrs[i]))
				set[n++] = h->addrs[i];
	for (size_t i = 0; i < s->n_extra; i++)
		if (!addr_in(set, n, &s->extra[i]))
			set[n++] = s->extra[i];
	if (s->ccd->engine != NULL && cc_engine_set_seeds(s->ccd->engine, set, n) == -1)
		fatalx("seeds: out of memory");
	free(s->current);
	s->current = set;
	s->n_current = n;
}

static void
on_resolved(int err, struct evutil_addrinfo *res, void *arg)
{
	struct seed_host	*h = arg;
	struct seeds		*s = h->seeds;
	struct evutil_addrinfo	*ai;
	struct cc_addr		 a;
	size_t			 n = 0;

	h->req = NULL;
	h->pending = false;
	if (h->orphan || err == EVUTIL_EAI_CANCEL) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		if (h->orphan)
			host_free(s, h);
		return;
	}
	free(h->addrs);
	h->addrs = NULL;
	h->n_addrs = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	if (err == 0 && n > 0) {
		h->addrs = xcalloc(n, sizeof(*h->addrs));
		for (ai = res; ai != NULL; ai = ai->ai_next)
			if (gossip_sockaddr_to_addr(ai->ai_addr, &a) == 0 &&
			    !addr_in(h->addrs, h->n_addrs, &a))
				h->addrs[h->n_addrs++] = a;
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	if (h->n_addrs == 0) {
		s->ccd->counters.dns_failures++;
		if (!h->failing)
			log_warnx("seed %s:%s: cannot resolve: %s (retried every %llus)",
			    h->name, h->port, err != 0 ? evutil_gai_strerror(err) :
			    "no usable address", (unsigned long long)(s->refresh_ms / 1000));
		h->failing = true;
	} else {
		if (h->failing)
			log_info("seed %s:%s: resolves again", h->name, h->port);
		h->failing = false;
		log_debug("seed %s:%s: %zu address(es)", h->name, h->port, h->n_addrs);
	}
	push(s);
}

/* Whether the gossip socket is IPv6 (and so reaches IPv4 peers too). */
static bool
listens_v6(const struct seeds *s)
{
	return s->ccd->cfg != NULL && s->ccd->cfg->listen_addr.family == CC_AF_INET6;
}

static void
lookup(struct seeds *s, struct seed_host *h)
{
	struct evutil_addrinfo			 hints;
	struct evdns_getaddrinfo_request	*req;

	if (s->dns == NULL &&
	    (s->dns = evdns_base_new(s->ccd->base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
		fatalx("seeds: cannot create the resolver");
	memset(&hints, 0, sizeof(hints));
	/* an IPv4 socket cannot reach IPv6 seeds; an IPv6 one reaches both */
	hints.ai_family = listens_v6(s) ? AF_UNSPEC : AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	h->pending = true;
	req = evdns_getaddrinfo(s->dns, h->name, h->port, &hints, on_resolved, h);
	/* NULL when the callback already ran (/etc/hosts, literals, errors) */
	if (h->pending)
		h->req = req;
}

void
seeds_refresh(struct seeds *s)
{
	struct seed_host *h, *next;

	/* the callback may run inside lookup(): iterate safely */
	for (h = TAILQ_FIRST(&s->hosts); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (!h->orphan && !h->pending)
			lookup(s, h);
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct seeds	*s = arg;
	struct timeval	 tv = { (time_t)(s->refresh_ms / 1000),
			    (suseconds_t)(s->refresh_ms % 1000) * 1000 };

	(void)fd;
	(void)what;
	seeds_refresh(s);
	evtimer_add(s->timer, &tv);
}

static void
arm(struct seeds *s)
{
	struct timeval tv = { (time_t)(s->refresh_ms / 1000),
	    (suseconds_t)(s->refresh_ms % 1000) * 1000 };

	if (s->n_listed == 0) {
		evtimer_del(s->timer);
		return;
	}
	evtimer_add(s->timer, &tv);
}

struct seeds *
seeds_new(struct ccd *ccd, struct evdns_base *dns)
{
	struct seeds *s = xcalloc(1, sizeof(*s));

	s->ccd = ccd;
	s->dns = dns;
	s->refresh_ms = SEEDS_REFRESH_MS;
	TAILQ_INIT(&s->hosts);
	if ((s->timer = evtimer_new(ccd->base, on_timer, s)) == NULL)
		fatalx("seeds: cannot create the refresh timer");
	return s;
}

void
seeds_set_refresh_ms(struct seeds *s, uint64_t ms)
{
	s->refresh_ms = ms;
	arm(s);
}

/* "host:port" / "[v6]:port" -> host and port strings. */
static int
split(const char *spec, char **host, char *port, size_t port_len)
{
	const char *colon = strrchr(spec, ':'), *h = spec, *hend = colon;

	if (colon == NULL || colon == spec || strlen(colon + 1) >= port_len ||
	    colon[1] == '\0')
		return -1;
	if (*spec == '[') {
		if (colon[-1] != ']')
			return -1;
		h = spec + 1;
		hend = colon - 1;
	}
	if (hend <= h || (*host = strndup(h, (size_t)(hend - h))) == NULL)
		return -1;
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

/* A listed host with this name and port, to keep across seeds_set(). */
static struct seed_host *
find_host(struct seed_host_list *list, const char *name, const char *port)
{
	struct seed_host *h;

	TAILQ_FOREACH(h, list, entry)
		if (!h->orphan && strcmp(h->name, name) == 0 && strcmp(h->port, port) == 0)
			return h;
	return NULL;
}

int
seeds_set(struct seeds *s, char *const *specs, size_t n, char **cause)
{
	struct cc_addr		*lits = xcalloc(n, sizeof(*lits));
	struct seed_host_list	 kept;
	struct seed_host	*h, *next;
	size_t			 n_lits = 0, n_hosts = 0;
	char			*name, port[8];

	TAILQ_INIT(&kept);
	for (size_t i = 0; i < n; i++) {
		struct cc_addr a;

		if (cc_addr_parse(specs[i], &a) == 0) {
			if (a.family == CC_AF_INET6 && !listens_v6(s))
				log_warnx("seed %s: an IPv4 socket cannot reach it: ignored",
				    specs[i]);
			else if (!addr_in(lits, n_lits, &a))
				lits[n_lits++] = a;
			continue;
		}
		if (split(specs[i], &name, port, sizeof(port)) == -1) {
			if (cause != NULL && asprintf(cause, "seed %s: expected HOST:PORT",
			    specs[i]) == -1)
				*cause = NULL;
			goto fail;
		}
		free(name);
	}
	/* the names still listed keep their addresses and look-ups in flight */
	for (size_t i = 0; i < n; i++) {
		struct cc_addr a;

		if (cc_addr_parse(specs[i], &a) == 0)
			continue;
		(void)split(specs[i], &name, port, sizeof(port));
		if (find_host(&kept, name, port) != NULL) {
			free(name);		/* listed twice */
			continue;
		}
		if ((h = find_host(&s->hosts, name, port)) != NULL) {
			TAILQ_REMOVE(&s->hosts, h, entry);
			free(name);
		} else {
			h = xcalloc(1, sizeof(*h));
			h->seeds = s;
			h->name = name;
			memcpy(h->port, port, sizeof(port));
		}
		TAILQ_INSERT_TAIL(&kept, h, entry);
		n_hosts++;
	}
	/* the others go: orphaned if a look-up is in flight */
	for (h = TAILQ_FIRST(&s->hosts); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (h->orphan)
			continue;
		if (h->pending) {
			h->orphan = true;
			evdns_getaddrinfo_cancel(h->req);
		} else
			host_free(s, h);
	}
	while ((h = TAILQ_FIRST(&kept)) != NULL) {
		TAILQ_REMOVE(&kept, h, entry);
		TAILQ_INSERT_TAIL(&s->hosts, h, entry);
	}
	free(s->literals);
	s->literals = lits;
	s->n_literals = n_lits;
	s->n_listed = n_hosts;
	push(s);
	seeds_refresh(s);
	arm(s);
	return 0;
fail:
	free(lits);
	errno = EINVAL;
	return -1;
}

/* Whether a is this node's own gossip address (listen or advertised). */
static bool
is_self(const struct seeds *s, const struct cc_addr *a)
{
	const struct ccd_config *cfg = s->ccd->cfg;

	return cfg != NULL && (cc_addr_is_equal(a, &cfg->advertise_addr) ||
	    cc_addr_is_equal(a, &cfg->listen_addr));
}

void
seeds_set_extra(struct seeds *s, const struct cc_addr *addrs, size_t n)
{
	free(s->extra);
	s->extra = xcalloc(n, sizeof(*s->extra));
	s->n_extra = 0;
	for (size_t i = 0; i < n; i++) {
		/* never ourselves; an IPv4 socket cannot reach IPv6 ones */
		if (is_self(s, &addrs[i]) ||
		    (addrs[i].family == CC_AF_INET6 && !listens_v6(s)) ||
		    addr_in(s->extra, s->n_extra, &addrs[i]))
			continue;
		s->extra[s->n_extra++] = addrs[i];
	}
	push(s);
}

size_t
seeds_current(const struct seeds *s, const struct cc_addr **set)
{
	*set = s->current;
	return s->n_current;
}

size_t
seeds_pending(const struct seeds *s)
{
	const struct seed_host	*h;
	size_t			 n = 0;

	TAILQ_FOREACH(h, &s->hosts, entry)
		if (h->pending)
			n++;
	return n;
}

void
seeds_free(struct seeds *s)
{
	struct seed_host *h, *next;

	if (s == NULL)
		return;
	if (s->timer != NULL)
		event_free(s->timer);
	for (h = TAILQ_FIRST(&s->hosts); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (h->pending && !h->orphan) {
			h->orphan = true;
			evdns_getaddrinfo_cancel(h->req);
		}
	}
	if (s->dns != NULL) {
		evdns_base_free(s->dns, 1);
		/* deliver the cancellations: each orphan's callback frees it */
		if (!TAILQ_EMPTY(&s->hosts))
			event_base_loop(s->ccd->base, EVLOOP_NONBLOCK);
	}
	while ((h = TAILQ_FIRST(&s->hosts)) != NULL)
		host_free(s, h);
	free(s->literals);
	free(s->extra);
	free(s->current);
	free(s);
}
