/*
 * gossip.c: the engine on a real UDP socket, driven by libevent.
 *
 * One non-blocking socket bound to the listen address carries everything:
 * SYNs go out from it (so SYN-ACKs come back to it, PROTOCOL.md §3.1) and
 * replies go to each datagram's source. Each read wake-up drains a bounded
 * batch of datagrams, so a flood cannot starve the timer. One evtimer is
 * re-armed after every engine call to the deadline the engine returns.
 *
 * Encryption (docs/SECURITY.md) wraps the engine's send callback and its
 * receive path; the engine never sees a sealed datagram. Mode "on" seals
 * everything and drops plaintext. Mode "upshift", for migrating a live
 * cluster, accepts both and:
 *
 * - answers in kind: the engine sends SYN-ACK, ACK and BAD_CLUSTER
 *   synchronously from inside cc_engine_recv(), so `answering`, set around
 *   that call, gives each reply the form of the datagram it answers. Every
 *   exchange a not-yet-migrated node starts then completes.
 * - starts exchanges (SYNs) sealed with peers whose last datagram was
 *   sealed, and otherwise in either form at random. A peer that has never
 *   spoken, such as a seed, may be a plaintext node (which only reads
 *   plaintext) or a node already "on" (which only reads sealed), and
 *   neither starts exchanges with a node it does not know: always sealing
 *   would keep a new upshift node out of a plaintext cluster, always
 *   plaintext would keep it out of one already "on". Between upshift nodes
 *   the first sealed SYN marks each side, and from then on they speak
 *   sealed only, so plaintext_accepted stops moving once every node is
 *   migrated: the operator's cue to switch to "on".
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

/*
 * Receive buffers for one recvmmsg(2): a call that returns fewer datagrams
 * than buffers proves the socket drained, so an idle daemon's wake-up is
 * epoll_wait + one receive instead of ending every batch with a recvfrom
 * that fails with EAGAIN (a sixth of its system calls). Only the pages a
 * datagram touches become resident.
 */
#define GOSSIP_MMSG	4
static uint8_t rxbufs[GOSSIP_MMSG][CC_MAX_DATAGRAM];
static uint8_t openbuf[CC_MAX_DATAGRAM];	/* a received datagram, opened */
static uint8_t sealbuf[CC_MAX_DATAGRAM];	/* a datagram to send, sealed */

const char *
gossip_encryption_name(enum gossip_encryption e)
{
	switch (e) {
	case GOSSIP_ENC_OFF:
		return "off";
	case GOSSIP_ENC_UPSHIFT:
		return "upshift";
	case GOSSIP_ENC_ON:
		return "on";
	}
	return "?";
}

int
gossip_encryption_parse(const char *s)
{
	if (strcmp(s, "off") == 0)
		return GOSSIP_ENC_OFF;
	if (strcmp(s, "upshift") == 0)
		return GOSSIP_ENC_UPSHIFT;
	if (strcmp(s, "on") == 0)
		return GOSSIP_ENC_ON;
	return -1;
}

static cc_mtime_t
gossip_now(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return cc_mtime((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/*
 * xoshiro128** seeded once from the kernel: the engine draws a few random
 * numbers per round to pick peers, and glibc's arc4random() is one
 * getrandom(2) system call per number (~20% of an idle daemon's system
 * calls). Peer choice needs to be unpredictable to nobody.
 */
static uint32_t rng_state[4];

static uint32_t
rotl32(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

static uint32_t
gossip_random(void *arg)
{
	uint32_t *s = rng_state, out, t;

	(void)arg;
	if ((s[0] | s[1] | s[2] | s[3]) == 0) {
		arc4random_buf(s, sizeof(rng_state));
		s[0] |= 1;	/* the all-zero state is a fixed point */
	}
	out = rotl32(s[1] * 5, 7) * 9;
	t = s[1] << 9;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl32(s[3], 11);
	return out;
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
gossip_sendto(struct gossip *g, const struct cc_addr *to, const uint8_t *buf, size_t len)
{
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

/* The index of to in sealed_peers, or -1. */
static int
gossip_peer_find(const struct gossip *g, const struct cc_addr *to)
{
	for (size_t i = 0; i < g->n_sealed_peers; i++)
		if (cc_addr_is_equal(&g->sealed_peers[i].addr, to))
			return (int)i;
	return -1;
}

/*
 * Upshift: from spoke sealed (remembered, evicting the least recent when
 * full) or in plaintext (forgotten).
 */
static void
gossip_peer_heard(struct gossip *g, const struct cc_addr *from, bool sealed)
{
	int	i = gossip_peer_find(g, from);
	size_t	oldest = 0;

	if (!sealed) {
		if (i != -1)
			g->sealed_peers[i] = g->sealed_peers[--g->n_sealed_peers];
		return;
	}
	if (i == -1 && g->sealed_peers == NULL &&
	    (g->sealed_peers = calloc(GOSSIP_SEALED_PEERS, sizeof(*g->sealed_peers))) == NULL)
		return;		/* out of memory: SYNs to it stay random */
	if (i == -1 && g->n_sealed_peers < GOSSIP_SEALED_PEERS)
		i = (int)g->n_sealed_peers++;
	else if (i == -1) {
		for (size_t k = 1; k < g->n_sealed_peers; k++)
			if (g->sealed_peers[k].seen < g->sealed_peers[oldest].seen)
				oldest = k;
		i = (int)oldest;
	}
	g->sealed_peers[i].addr = *from;
	g->sealed_peers[i].seen = ++g->peer_clock;
}

/* Whether the datagram the engine sends now to `to` goes sealed. */
static bool
gossip_seals(const struct gossip *g, const struct cc_addr *to)
{
	switch (g->encryption) {
	case GOSSIP_ENC_OFF:
		return false;
	case GOSSIP_ENC_ON:
		return true;
	case GOSSIP_ENC_UPSHIFT:
		break;
	}
	if (g->answering != GOSSIP_ANSWER_NONE)
		return g->answering == GOSSIP_ANSWER_SEALED;
	return gossip_peer_find(g, to) != -1 || (arc4random() & 1) != 0;
}

/* The engine's send callback: sealed or not, per the mode (see above). */
static int
gossip_send(void *arg, const struct cc_addr *to, const uint8_t *buf, size_t len)
{
	struct gossip	*g = arg;
	size_t		 n;

	if (!gossip_seals(g, to)) {
		if (gossip_sendto(g, to, buf, len) == -1)
			return -1;
		if (g->encryption != GOSSIP_ENC_OFF)
			g->crypto.plaintext_sent++;
		return 0;
	}
	/*
	 * Fails closed: no primary key (config.c and rpc.c never leave the
	 * keyring empty), or a digest too large for a sealed datagram (the
	 * delta budgets leave room for the 42 bytes, digests are never cut).
	 */
	if (g->keyring.n == 0 ||
	    cc_seal(g->keyring.keys[0], buf, len, sealbuf, sizeof(sealbuf), &n) == -1) {
		g->send_errors++;
		return -1;
	}
	if (gossip_sendto(g, to, sealbuf, n) == -1)
		return -1;
	g->crypto.sealed_sent++;
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

/* One received datagram: opened, refused or passed through, per the mode. */
static void
gossip_deliver(struct gossip *g, const struct cc_addr *from, const uint8_t *buf, size_t len)
{
	size_t	n, which;
	bool	sealed;

	if (g->encryption == GOSSIP_ENC_OFF) {
		/* a sealed datagram does not decode: counted as undecodable */
		(void)cc_engine_recv(g->engine, from, buf, len);
		return;
	}
	if ((sealed = cc_seal_is_sealed(buf, len))) {
		if (cc_open(&g->keyring, buf, len, openbuf, sizeof(openbuf), &n, &which) == -1) {
			g->crypto.auth_failures++;
			return;
		}
		g->crypto.sealed_received++;
		if (which > 0)
			g->crypto.opened_secondary++;
		buf = openbuf;
		len = n;
	} else if (g->encryption == GOSSIP_ENC_ON) {
		g->crypto.plaintext_refused++;
		return;
	} else
		g->crypto.plaintext_accepted++;
	if (g->encryption == GOSSIP_ENC_UPSHIFT)
		gossip_peer_heard(g, from, sealed);
	g->answering = sealed ? GOSSIP_ANSWER_SEALED : GOSSIP_ANSWER_PLAIN;
	(void)cc_engine_recv(g->engine, from, buf, len);
	g->answering = GOSSIP_ANSWER_NONE;
}

/* One received datagram: counted if oversized, else handed to the engine. */
static void
gossip_received(struct gossip *g, const struct mmsghdr *m, const uint8_t *buf)
{
	struct cc_addr from;

	if ((m->msg_hdr.msg_flags & MSG_TRUNC) != 0) {
		g->oversized++;		/* truncated: cannot decode, as Rust */
		return;
	}
	if (gossip_sockaddr_to_addr(m->msg_hdr.msg_name, &from) == -1)
		return;
	g->rx_from = &from;
	gossip_deliver(g, &from, buf, m->msg_len);
	g->rx_from = NULL;
}

static void
gossip_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct gossip		*g = arg;
	struct mmsghdr		 msgs[GOSSIP_MMSG];
	struct iovec		 iov[GOSSIP_MMSG];
	struct sockaddr_storage	 ss[GOSSIP_MMSG];
	int			 k;

	(void)what;
	for (int got = 0; got < GOSSIP_BATCH; got += k) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < GOSSIP_MMSG; i++) {
			iov[i].iov_base = rxbufs[i];
			iov[i].iov_len = sizeof(rxbufs[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &ss[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(ss[i]);
		}
		if ((k = recvmmsg(fd, msgs, GOSSIP_MMSG, MSG_DONTWAIT, NULL)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				g->recv_errors++;	/* ICMP errors and the like: transient */
			break;
		}
		for (int i = 0; i < k; i++)
			gossip_received(g, &msgs[i], rxbufs[i]);
		if (k < GOSSIP_MMSG)
			break;		/* drained */
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
gossip_set_encryption(struct gossip *g, enum gossip_encryption mode,
    const struct cc_keyring *kr)
{
	g->encryption = mode;
	if (kr != NULL && &g->keyring != kr)
		g->keyring = *kr;
	else if (kr == NULL)
		cc_keyring_clear(&g->keyring);
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
	cc_keyring_clear(&g->keyring);
	free(g->sealed_peers);
	g->sealed_peers = NULL;
	g->n_sealed_peers = 0;
}

void
gossip_problems(const struct gossip *g, struct gossip_problems *p)
{
	const struct cc_stats *st = g->engine != NULL ? cc_engine_stats(g->engine) : NULL;

	memset(p, 0, sizeof(*p));
	p->oversized = g->oversized;
	p->recv_errors = g->recv_errors;
	p->auth_failures = g->crypto.auth_failures;
	p->plaintext_refused = g->crypto.plaintext_refused;
	p->plaintext_accepted = g->crypto.plaintext_accepted;
	p->opened_secondary = g->crypto.opened_secondary;
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
		{ offsetof(struct gossip_problems, auth_failures),
		    "sealed datagrams failing authentication" },
		{ offsetof(struct gossip_problems, plaintext_refused),
		    "plaintext datagrams refused (encryption on)" },
		{ offsetof(struct gossip_problems, plaintext_accepted),
		    "plaintext datagrams accepted (encryption upshift)" },
		{ offsetof(struct gossip_problems, opened_secondary),
		    "datagrams opened with a secondary key" },
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
