/*
 * gossip.c: the engine on a real UDP socket, driven by libevent.
 *
 * One non-blocking socket bound to the listen address carries everything:
 * SYNs go out from it (so SYN-ACKs come back to it, PROTOCOL.md §3.1) and
 * replies go to each datagram's source. Each read wake-up drains a bounded
 * batch of datagrams, so a flood cannot starve the timer. One evtimer is
 * re-armed after every engine call to the deadline the engine returns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "gossip.h"
#include "log.h"

#define GOSSIP_BATCH	64

static uint8_t rxbuf[CC_MAX_DATAGRAM];

static cc_mtime_t
gossip_now(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return cc_mtime((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static uint32_t
gossip_random(void *arg)
{
	(void)arg;
	return arc4random();
}

int
gossip_addr_to_sockaddr(const struct cc_addr *a, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == CC_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->ip, 4);
		sin->sin_port = htons(a->port);
		*len = sizeof(*sin);
		return 0;
	}
	if (a->family == CC_AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->ip, 16);
		sin6->sin6_port = htons(a->port);
		*len = sizeof(*sin6);
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

int
gossip_sockaddr_to_addr(const struct sockaddr *sa, struct cc_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		a->family = CC_AF_INET;
		memcpy(a->ip, &sin->sin_addr, 4);
		a->port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		/* a v4-mapped source is the IPv4 peer it stands for */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			a->family = CC_AF_INET;
			memcpy(a->ip, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			a->family = CC_AF_INET6;
			memcpy(a->ip, &sin6->sin6_addr, 16);
		}
		a->port = ntohs(sin6->sin6_port);
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

static int
gossip_send(void *arg, const struct cc_addr *to, const uint8_t *buf, size_t len)
{
	struct gossip		*g = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct cc_addr		 dst = *to;

	/* an IPv6 socket reaches IPv4 peers through v4-mapped addresses */
	if (g->family == AF_INET6 && dst.family == CC_AF_INET) {
		uint8_t v4[4];

		memcpy(v4, dst.ip, 4);
		memset(dst.ip, 0, sizeof(dst.ip));
		dst.ip[10] = dst.ip[11] = 0xff;
		memcpy(&dst.ip[12], v4, 4);
		dst.family = CC_AF_INET6;
	}
	if (gossip_addr_to_sockaddr(&dst, &ss, &sslen) == -1)
		return -1;
	if (sendto(g->fd, buf, len, 0, (struct sockaddr *)&ss, sslen) == -1) {
		g->send_errors++;
		return -1;
	}
	return 0;
}

static void
gossip_engine_log(void *arg, int level, const char *msg)
{
	(void)arg;
	log_msg(level, "engine: %s", msg);
}

static void
gossip_engine_event(void *arg, const struct cc_event *ev)
{
	struct gossip *g = arg;

	if (g->on_event != NULL)
		g->on_event(g->event_arg, ev);
}

void
gossip_rearm(struct gossip *g)
{
	cc_mtime_t	now = gossip_now(NULL), next = cc_engine_tick(g->engine);
	uint64_t	wait = next.ms > now.ms ? next.ms - now.ms : 0;
	struct timeval	tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };

	evtimer_add(g->timer, &tv);
}

static void
gossip_on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gossip_rearm(arg);
}

static void
gossip_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct gossip		*g = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct cc_addr		 from;
	ssize_t			 n;

	(void)what;
	for (int i = 0; i < GOSSIP_BATCH; i++) {
		sslen = sizeof(ss);
		n = recvfrom(fd, rxbuf, sizeof(rxbuf), MSG_TRUNC, (struct sockaddr *)&ss, &sslen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				g->recv_errors++;	/* ICMP errors and the like: transient */
			break;
		}
		if ((size_t)n > sizeof(rxbuf)) {
			g->oversized++;		/* truncated: cannot decode, as Rust */
			continue;
		}
		if (gossip_sockaddr_to_addr((struct sockaddr *)&ss, &from) == -1)
			continue;
		g->rx_from = &from;
		(void)cc_engine_recv(g->engine, &from, rxbuf, (size_t)n);
		g->rx_from = NULL;
	}
	gossip_rearm(g);
}

int
gossip_open(struct gossip *g, struct event_base *base, const struct cc_addr *listen,
    char **cause)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	int			zero = 0;

	g->base = base;
	g->fd = -1;
	if (gossip_addr_to_sockaddr(listen, &ss, &sslen) == -1)
		goto fail;
	g->family = ss.ss_family;
	g->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd == -1)
		goto fail;
	if (ss.ss_family == AF_INET6)	/* dual stack: reach IPv4 peers too */
		(void)setsockopt(g->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(g->fd, (struct sockaddr *)&ss, sslen) == -1)
		goto fail;
	g->read_ev = event_new(base, g->fd, EV_READ | EV_PERSIST, gossip_on_read, g);
	g->timer = evtimer_new(base, gossip_on_timer, g);
	if (g->read_ev == NULL || g->timer == NULL || event_add(g->read_ev, NULL) == -1)
		goto fail;
	return 0;
fail:
	if (cause != NULL) {
		char addr[CC_ADDR_STRLEN], buf[256];

		cc_addr_format(listen, addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "cannot listen on %s: %s", addr, strerror(errno));
		*cause = strdup(buf);
	}
	gossip_close(g);
	return -1;
}

void
gossip_env(struct gossip *g, struct cc_env *env)
{
	memset(env, 0, sizeof(*env));
	env->now = gossip_now;
	env->random_u32 = gossip_random;
	env->send = gossip_send;
	env->event = gossip_engine_event;
	env->log = gossip_engine_log;
	env->arg = g;
}

void
gossip_start(struct gossip *g, struct cc_engine *engine)
{
	g->engine = engine;
	gossip_rearm(g);	/* the first round runs at once */
}

void
gossip_close(struct gossip *g)
{
	if (g->read_ev != NULL)
		event_free(g->read_ev);
	if (g->timer != NULL)
		event_free(g->timer);
	if (g->fd != -1)
		close(g->fd);
	g->read_ev = NULL;
	g->timer = NULL;
	g->fd = -1;
}

void
gossip_problems(const struct gossip *g, struct gossip_problems *p)
{
	const struct cc_stats *st = g->engine != NULL ? cc_engine_stats(g->engine) : NULL;

	memset(p, 0, sizeof(*p));
	p->oversized = g->oversized;
	p->recv_errors = g->recv_errors;
	if (st != NULL) {
		p->decode_errors = st->rx_decode_errors;
		p->send_errors = st->tx_errors;		/* sendto failures included */
		p->bad_cluster = st->bad_cluster_rx;
	} else
		p->send_errors = g->send_errors;
}

bool
gossip_summary(const struct gossip *g, struct gossip_problems *last, char *buf, size_t len)
{
	static const struct {
		size_t		 off;
		const char	*what;
	} items[] = {
		{ offsetof(struct gossip_problems, decode_errors), "undecodable datagrams" },
		{ offsetof(struct gossip_problems, oversized), "oversized datagrams" },
		{ offsetof(struct gossip_problems, recv_errors), "receive errors" },
		{ offsetof(struct gossip_problems, send_errors), "send errors" },
		{ offsetof(struct gossip_problems, bad_cluster), "SYNs from another cluster" },
	};
	struct gossip_problems	now;
	size_t			used = 0;
	bool			moved = false;

	gossip_problems(g, &now);
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		uint64_t a, b;

		memcpy(&a, (const char *)last + items[i].off, sizeof(a));
		memcpy(&b, (const char *)&now + items[i].off, sizeof(b));
		if (b == a)
			continue;
		if (!moved && len > 0)
			buf[0] = '\0';
		moved = true;
		if (used < len) {
			int n = snprintf(buf + used, len - used, "%s%llu %s", used > 0 ? ", " : "",
			    (unsigned long long)(b - a), items[i].what);

			used += n > 0 ? (size_t)n : 0;
		}
	}
	*last = now;
	return moved;
}
