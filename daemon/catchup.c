/*
 * catchup.c: the catch-up side channel (docs/CATCHUP.md) on the daemon's
 * event loop: a TCP listener on the gossip port number serving node
 * states, and the fetches started when a received delta resets a replica.
 *
 * Why: a reset replica is refilled by gossip at one datagram (at most
 * 65,507 bytes, compressed) per exchange, so a multi-megabyte state takes
 * tens of rounds; over TCP it takes one round trip and the transfer.
 *
 * The frames and their checks are in common/cc_catchup.c (pure, unit
 * tested); this file moves them: accept, connect, timeouts, backpressure,
 * limits, counters. Nothing here blocks: sockets are non-blocking, output
 * is queued in bufferevents, the server produces chunks only while its
 * queue is short, and every connection has an idle timeout (a fetch also
 * a deadline). The engine is only read here, except by the one call that
 * applies a fetched state, made from a bufferevent callback, never from
 * an engine callback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "catchup.h"
#include "cc_catchup.h"
#include "cc_seal.h"
#include "ccd.h"
#include "gossip.h"
#include "log.h"

#define ACCEPT_BATCH	16
#define LISTEN_BACKLOG	32

struct cu_conn {				/* server side: one answer */
	TAILQ_ENTRY(cu_conn)	 entry;
	struct catchup		*cu;
	struct bufferevent	*bev;
	struct event		*deadline;	/* for the request, then the answer */
	struct cc_catchup_tx	 tx;
	bool			 answered;	/* the header is queued */
	bool			 sealed;	/* the request was sealed: so is the answer */
	bool			 closing;	/* the last frame is queued */
	uint64_t		 t0;
	char			 peer[CC_ADDR_STRLEN];
};

struct cu_fetch {				/* client side: one node */
	TAILQ_ENTRY(cu_fetch)	 entry;
	struct catchup		*cu;
	struct cc_id		 id;
	struct cc_addr		 peer;
	struct bufferevent	*bev;		/* NULL while queued */
	struct event		*deadline;
	struct cc_catchup_rx	 rx;
	bool			 active;	/* on cu->active, else cu->queued */
	bool			 connected;
	uint64_t		 t0;
	uint64_t		 bytes;
	char			 name[160];	/* id, for logs */
	char			 from[CC_ADDR_STRLEN];
};

struct refused {
	struct cc_addr	addr;
	uint64_t	until;
};

TAILQ_HEAD(cu_conns, cu_conn);
TAILQ_HEAD(cu_fetches, cu_fetch);

struct catchup {
	struct ccd		*ccd;
	bool			 enabled;
	int			 fd;		/* listener, -1 if none */
	struct event		*accept_ev;
	struct event		*kick;		/* starts queued fetches */
	struct cc_codec_ctx	*codec;		/* the server's chunk compression */
	struct cu_conns		 conns;
	struct cu_fetches	 queued;
	struct cu_fetches	 active;
	struct refused		 refused[CATCHUP_REFUSED_SLOTS];
	struct cc_wbuf		 scratch;	/* one frame body */
	struct catchup_stats	 st;
};

static void	fetch_free(struct cu_fetch *);

/* ---- frames on the wire ----------------------------------------------------- */

/*
 * Every frame body crosses the wire through this pair of functions, and
 * only them. With gossip encryption (upshift or on), a body is sealed
 * with the keyring's primary key exactly as a gossip datagram is
 * (cc_seal: XChaCha20-Poly1305, a fresh random nonce, 42 bytes more), and
 * a received one is opened with any key of the keyring, so a cluster with
 * encryption never sends state in clear over TCP and a host without a key
 * gets nothing from it. As for datagrams, mode on refuses plaintext and
 * upshift accepts it (a server answers in the form of the request).
 * Without encryption a catch-up answer discloses what a plaintext gossip
 * exchange gives anyone who can reach the port (docs/CATCHUP.md).
 */
static bool
catchup_encrypting(const struct catchup *cu)
{
	return cu->ccd->gossip.encryption != GOSSIP_ENC_OFF;
}

/* Queues one frame: the length prefix, then body, sealed if sealed. */
static int
catchup_frame_out(struct catchup *cu, const struct cc_wbuf *body, bool sealed,
    struct evbuffer *out)
{
	struct cc_wbuf	 prefix;
	uint8_t		*box = NULL;
	const uint8_t	*data = body->data;
	size_t		 len = body->len;
	int		 rc = -1;

	if (body->err != 0 || body->len == 0 || body->len > CC_CATCHUP_MAX_FRAME) {
		errno = body->err != 0 ? body->err : EMSGSIZE;
		return -1;
	}
	if (sealed) {
		if ((box = malloc(body->len + CC_SEAL_OVERHEAD)) == NULL)
			return -1;
		if (cc_seal(cu->ccd->gossip.keyring.keys[0], body->data, body->len, box,
		    body->len + CC_SEAL_OVERHEAD, &len) == -1) {
			free(box);
			return -1;
		}
		data = box;
	}
	cc_wbuf_init(&prefix);
	cc_catchup_put_prefix(&prefix, len);
	if (prefix.err != 0 || evbuffer_add(out, prefix.data, prefix.len) == -1 ||
	    evbuffer_add(out, data, len) == -1)
		errno = ENOMEM;
	else
		rc = 0;
	cc_wbuf_clear(&prefix);
	free(box);
	return rc;
}

/* Makes room for len bytes in a scratch buffer. */
static int
wbuf_room(struct cc_wbuf *b, size_t len)
{
	uint8_t *p;

	if (b->cap >= len)
		return 0;
	if ((p = realloc(b->data, len)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->data = p;
	b->cap = len;
	return 0;
}

/*
 * Opens body in place when it is sealed; refuses plaintext when encryption
 * is on. *sealed tells which form it came in. -1 + EBADMSG (no key opens
 * it) or EPERM (plaintext refused), counted.
 */
static int
catchup_frame_open(struct catchup *cu, struct cc_wbuf *body, bool *sealed)
{
	uint8_t	*plain;
	size_t	 len;

	*sealed = cc_seal_is_sealed(body->data, body->len);
	if (!catchup_encrypting(cu))
		return 0;	/* a sealed body then fails to decode, as noise */
	if (!*sealed) {
		if (cu->ccd->gossip.encryption == GOSSIP_ENC_ON) {
			cu->st.auth_failures++;
			errno = EPERM;
			return -1;
		}
		return 0;
	}
	if ((plain = malloc(body->len)) == NULL)
		return -1;
	if (cc_open(&cu->ccd->gossip.keyring, body->data, body->len, plain, body->len, &len,
	    NULL) == -1) {
		cu->st.auth_failures++;
		free(plain);
		errno = EBADMSG;
		return -1;
	}
	memcpy(body->data, plain, len);
	body->len = len;
	free(plain);
	return 0;
}

/*
 * Takes one frame body off `in` into *body, opened: 1 if a whole frame was
 * there, 0 if more bytes are needed, -1 if its length is 0 or over max, or
 * it fails authentication (the stream cannot be trusted any more).
 */
static int
catchup_frame_in(struct catchup *cu, struct evbuffer *in, size_t max, struct cc_wbuf *body,
    bool *sealed)
{
	uint8_t	prefix[CC_CATCHUP_PREFIX];
	size_t	len;

	cc_wbuf_reset(body);
	if (catchup_encrypting(cu))
		max += CC_SEAL_OVERHEAD;
	if (evbuffer_copyout(in, prefix, sizeof(prefix)) < (ev_ssize_t)sizeof(prefix))
		return 0;
	if (cc_catchup_get_prefix(prefix, max, &len) == -1)
		return -1;
	if (evbuffer_get_length(in) < sizeof(prefix) + len)
		return 0;
	evbuffer_drain(in, sizeof(prefix));
	if (wbuf_room(body, len) == -1)
		return -1;
	if (evbuffer_remove(in, body->data, len) != (int)len) {
		errno = EIO;
		return -1;
	}
	body->len = len;
	if (catchup_frame_open(cu, body, sealed) == -1)
		return -1;
	return 1;
}

/* ---- helpers ------------------------------------------------------------------ */

static void
timeval_ms(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

static void
set_timeouts(struct bufferevent *bev, uint64_t read_ms, uint64_t write_ms)
{
	struct timeval r, w;

	timeval_ms(&r, read_ms);
	timeval_ms(&w, write_ms);
	bufferevent_set_timeouts(bev, &r, &w);
}

static bool
refused_recently(struct catchup *cu, const struct cc_addr *a, uint64_t now)
{
	for (size_t i = 0; i < CATCHUP_REFUSED_SLOTS; i++)
		if (cu->refused[i].until > now && cc_addr_is_equal(&cu->refused[i].addr, a))
			return true;
	return false;
}

/* Remembers a refusing address; the slot closest to expiry is reused. */
static void
refused_remember(struct catchup *cu, const struct cc_addr *a, uint64_t now)
{
	size_t pick = 0;

	for (size_t i = 0; i < CATCHUP_REFUSED_SLOTS; i++) {
		if (cc_addr_is_equal(&cu->refused[i].addr, a)) {
			pick = i;
			break;
		}
		if (cu->refused[i].until < cu->refused[pick].until)
			pick = i;
	}
	cu->refused[pick].addr = *a;
	cu->refused[pick].until = now + CATCHUP_REFUSED_MS;
}

/* ---- server ---------------------------------------------------------------------- */

static void
conn_free(struct cu_conn *c)
{
	struct catchup *cu = c->cu;

	TAILQ_REMOVE(&cu->conns, c, entry);
	cu->st.server_open--;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->deadline != NULL)
		event_free(c->deadline);
	cc_catchup_tx_clear(&c->tx);
	free(c);
}

static void
conn_send(struct cu_conn *c)
{
	struct catchup *cu = c->cu;

	if (catchup_frame_out(cu, &cu->scratch, c->sealed, bufferevent_get_output(c->bev)) == -1) {
		log_warnx("catch-up: answer to %s: %s", c->peer, strerror(errno));
		c->closing = true;
		return;
	}
	cu->st.tx_bytes += CC_CATCHUP_PREFIX + cu->scratch.len;
}

/* Closes once everything queued is written (the write callback at low mark 0). */
static void
conn_finish(struct cu_conn *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

/* Queues chunks while the output is short: a slow client holds one queue, no more. */
static void
conn_pump(struct cu_conn *c)
{
	struct catchup	*cu = c->cu;
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	while (!c->tx.done && !c->closing &&
	    evbuffer_get_length(out) < CATCHUP_SERVER_QUEUE) {
		cc_wbuf_reset(&cu->scratch);
		if (cc_catchup_tx_next(&c->tx, cu->ccd->engine, cu->codec, &cu->scratch) == -1) {
			log_warnx("catch-up: answer to %s: %s", c->peer, strerror(errno));
			conn_free(c);
			return;
		}
		conn_send(c);
	}
	if (c->tx.done || c->closing) {
		if (c->tx.done && !c->tx.aborted) {
			cu->st.requests_served++;
			log_debug("catch-up: sent a node state to %s: %llu entries in %llu ms",
			    c->peer, (unsigned long long)c->tx.n_sent,
			    (unsigned long long)(ccd_now_ms() - c->t0));
		} else
			log_debug("catch-up: answer to %s aborted: %s", c->peer, c->tx.aborted ?
			    "the state changed" : "output error");
		conn_finish(c);
	}
}

static void
conn_refuse(struct cu_conn *c, const char *why)
{
	c->cu->st.requests_refused++;
	log_debug("catch-up: request from %s refused: %s", c->peer, why);
}

static void
conn_request(struct cu_conn *c)
{
	static const char *status_name[] = { "found", "not found", "up to date",
					    "wrong cluster", "unknown version", "bad request" };
	struct catchup			*cu = c->cu;
	struct cc_catchup_request	 req;
	struct cc_catchup_header	 h;
	struct timeval			 tv;
	int				 st;

	if (cc_catchup_request_decode(cu->scratch.data, cu->scratch.len, &req) == -1) {
		conn_refuse(c, "malformed request");
		c->answered = true;	/* counted once; the deadline only closes it */
		memset(&h, 0, sizeof(h));
		h.version = CC_CATCHUP_VERSION;
		h.status = CC_CATCHUP_BAD_REQUEST;
		cc_wbuf_reset(&cu->scratch);
		cc_catchup_header_encode(&cu->scratch, &h);
		conn_send(c);
		conn_finish(c);
		return;
	}
	cc_wbuf_reset(&cu->scratch);
	st = cc_catchup_tx_start(&c->tx, cu->ccd->engine, &req, &cu->scratch);
	cc_catchup_request_clear(&req);
	if (st == -1) {
		log_warnx("catch-up: request from %s: %s", c->peer, strerror(errno));
		conn_free(c);
		return;
	}
	c->answered = true;
	timeval_ms(&tv, CATCHUP_FETCH_DEADLINE_MS);
	evtimer_add(c->deadline, &tv);
	conn_send(c);
	if (st == CC_CATCHUP_WRONG_CLUSTER || st == CC_CATCHUP_BAD_VERSION)
		conn_refuse(c, status_name[st]);
	else if (st != CC_CATCHUP_FOUND)
		log_debug("catch-up: request from %s: %s", c->peer, status_name[st]);
	if (c->tx.done) {
		conn_finish(c);
		return;
	}
	/* from now on only output: write more whenever it drains below half */
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, CATCHUP_SERVER_QUEUE / 2, 0);
	conn_pump(c);
}

static void
conn_on_read(struct bufferevent *bev, void *arg)
{
	struct cu_conn	*c = arg;
	int		 rc;

	if (c->answered)
		return;
	rc = catchup_frame_in(c->cu, bufferevent_get_input(bev), CC_CATCHUP_MAX_REQUEST,
	    &c->cu->scratch, &c->sealed);
	if (rc == -1) {
		conn_refuse(c, errno == EBADMSG ? "fails authentication" : errno == EPERM ?
		    "plaintext refused: encryption is on" : "bad frame length");
		conn_free(c);
	} else if (rc == 1)
		conn_request(c);
}

static void
conn_on_write(struct bufferevent *bev, void *arg)
{
	struct cu_conn *c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
		return;
	}
	if (c->answered)
		conn_pump(c);
}

static void
conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct cu_conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		log_debug("catch-up: connection from %s %s", c->peer,
		    what & BEV_EVENT_TIMEOUT ? "timed out" : "closed");
		conn_free(c);
	}
}

/* A slow client holds a slot for a bounded time: idle timeouts alone would not. */
static void
conn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct cu_conn *c = arg;

	(void)fd;
	(void)what;
	if (!c->answered)
		conn_refuse(c, "no request in time");
	else
		log_debug("catch-up: answer to %s took too long", c->peer);
	conn_free(c);
}

static void
conn_new(struct catchup *cu, int fd, const struct sockaddr_storage *ss)
{
	struct cu_conn	*c;
	struct cc_addr	 a;
	struct timeval	 tv;

	cu->st.server_connections++;
	if (cu->st.server_open >= CATCHUP_MAX_SERVED) {
		close(fd);
		cu->st.requests_refused++;
		log_debug("catch-up: connection refused: %d answers in progress",
		    CATCHUP_MAX_SERVED);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(cu->ccd->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (c->deadline = evtimer_new(cu->ccd->base, conn_on_deadline, c)) == NULL) {
		if (c != NULL && c->bev != NULL)
			bufferevent_free(c->bev);	/* closes fd */
		else
			close(fd);
		free(c);
		log_warnx("catch-up: new connection: out of memory");
		return;
	}
	c->cu = cu;
	c->t0 = ccd_now_ms();
	if (gossip_sockaddr_to_addr((const struct sockaddr *)ss, &a) == 0)
		cc_addr_format(&a, c->peer, sizeof(c->peer));
	else
		snprintf(c->peer, sizeof(c->peer), "?");
	TAILQ_INSERT_TAIL(&cu->conns, c, entry);
	cu->st.server_open++;
	bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event, c);
	/* the request is one frame: refuse a slow or endless one */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CC_CATCHUP_PREFIX + CC_CATCHUP_MAX_REQUEST);
	set_timeouts(c->bev, CATCHUP_IDLE_TIMEOUT_MS, CATCHUP_IDLE_TIMEOUT_MS);
	timeval_ms(&tv, CATCHUP_IDLE_TIMEOUT_MS);
	evtimer_add(c->deadline, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
catchup_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct catchup		*cu = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd;

	(void)what;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_debug("catch-up: accept: %s", strerror(errno));
			return;
		}
		conn_new(cu, fd, &ss);
	}
}

/* TCP on the gossip listen address and port (TCP and UDP ports are separate). */
static int
catchup_listen(struct catchup *cu)
{
	const struct cc_addr	*a = &cu->ccd->cfg->listen_addr;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 one = 1, zero = 0;
	char			 text[CC_ADDR_STRLEN];

	cc_addr_format(a, text, sizeof(text));
	if (gossip_addr_to_sockaddr(a, &ss, &len) == -1 ||
	    (cu->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	(void)setsockopt(cu->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)	/* as the UDP socket: IPv4 peers too */
		(void)setsockopt(cu->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(cu->fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(cu->fd, LISTEN_BACKLOG) == -1)
		goto fail;
	cu->accept_ev = event_new(cu->ccd->base, cu->fd, EV_READ | EV_PERSIST,
	    catchup_on_accept, cu);
	if (cu->accept_ev == NULL || event_add(cu->accept_ev, NULL) == -1) {
		errno = ENOMEM;
		goto fail;
	}
	cu->st.listening = true;
	log_info("catch-up: serving node states on tcp %s", text);
	return 0;
fail:
	log_warnx("catch-up: cannot listen on tcp %s: %s; peers' catch-up requests will be "
	    "refused (open TCP on the gossip port; fetching still works)", text, strerror(errno));
	if (cu->fd != -1)
		close(cu->fd);
	cu->fd = -1;
	return -1;
}

/* ---- client ----------------------------------------------------------------------- */

/*
 * FETCH_BROKEN is a failure whose peer does not speak the protocol (a
 * malformed answer): like a refusal, its address is not asked again for
 * a while, so a spoofed datagram source cannot aim us at a TCP service.
 */
enum fetch_end { FETCH_COMPLETED, FETCH_UNNEEDED, FETCH_FAILED, FETCH_BROKEN, FETCH_REFUSED };

static void
fetch_done(struct cu_fetch *f, enum fetch_end how, const char *why)
{
	struct catchup	*cu = f->cu;
	uint64_t	 now = ccd_now_ms();

	switch (how) {
	case FETCH_COMPLETED:
		cu->st.fetches_completed++;
		log_info("catch-up: node %s: %zu entries (%llu bytes) from %s in %llu ms",
		    f->name, f->rx.n, (unsigned long long)f->bytes, f->from,
		    (unsigned long long)(now - f->t0));
		break;
	case FETCH_UNNEEDED:
		cu->st.fetches_unneeded++;
		log_debug("catch-up: node %s from %s: not needed (%s)", f->name, f->from, why);
		break;
	case FETCH_FAILED:
	case FETCH_BROKEN:
		cu->st.fetches_failed++;
		if (how == FETCH_BROKEN)
			refused_remember(cu, &f->peer, now);
		log_info("catch-up: node %s from %s failed: %s; gossip goes on%s", f->name,
		    f->from, why, how == FETCH_BROKEN ? " (not a catch-up server: not asked "
		    "again for " CATCHUP_REFUSED_TEXT ")" : "");
		break;
	case FETCH_REFUSED:
		cu->st.fetches_refused++;
		refused_remember(cu, &f->peer, now);
		log_info("catch-up: %s refused (%s): not asked again for " CATCHUP_REFUSED_TEXT
		    "; gossip goes on", f->from, why);
		break;
	}
	fetch_free(f);
	event_active(cu->kick, 0, 0);	/* the next queued fetch, from the loop */
}

/* Applies a whole state with the reset API, if it still moves the replica forward. */
static void
fetch_apply(struct cu_fetch *f)
{
	struct catchup		*cu = f->cu;
	struct cc_engine	*e = cu->ccd->engine;
	const struct ccd_config	*cfg = cu->ccd->cfg;
	const struct cc_node	*n = cc_engine_node(e, &f->id);
	const struct cc_catchup_end *end = &f->rx.end;
	uint64_t		 max_bytes, others;

	if (n == NULL) {
		fetch_done(f, FETCH_UNNEEDED, "node gone");
		return;
	}
	/*
	 * The reset API lowers last_gc_version to what it is given before it
	 * notices the state did not move forward: never hand it an answer
	 * older than the replica's GC horizon (gossip reset it again meanwhile).
	 */
	if (cc_node_last_gc_version(n) > end->last_gc_version ||
	    cc_node_max_version(n) >= end->max_version) {
		fetch_done(f, FETCH_UNNEEDED, "gossip got there first");
		return;
	}
	max_bytes = cfg->max_state_bytes != 0 ? cfg->max_state_bytes :
	    CC_DEFAULT_MAX_STATE_BYTES;
	others = cc_engine_state_bytes(e) - cc_node_bytes(n);
	if (others + f->rx.bytes > max_bytes) {
		fetch_done(f, FETCH_FAILED, "over max-state-bytes");
		return;
	}
	if (cc_engine_reset_node_state(e, &f->id, f->rx.entries, f->rx.n, end->max_version,
	    end->last_gc_version) == -1) {
		fetch_done(f, FETCH_FAILED, strerror(errno));
		return;
	}
	cu->st.entries_applied += f->rx.n;
	fetch_done(f, FETCH_COMPLETED, NULL);
}

static void
fetch_answered(struct cu_fetch *f)
{
	switch (f->rx.hdr.status) {
	case CC_CATCHUP_FOUND:
		if (f->rx.end.status == CC_CATCHUP_COMPLETE)
			fetch_apply(f);
		else
			fetch_done(f, FETCH_FAILED, "the state changed during the transfer");
		break;
	case CC_CATCHUP_NOT_FOUND:
		fetch_done(f, FETCH_UNNEEDED, "the peer has no such node");
		break;
	case CC_CATCHUP_UP_TO_DATE:
		fetch_done(f, FETCH_UNNEEDED, "up to date");
		break;
	case CC_CATCHUP_WRONG_CLUSTER:
		fetch_done(f, FETCH_REFUSED, "another cluster id");
		break;
	case CC_CATCHUP_BAD_VERSION:
		fetch_done(f, FETCH_REFUSED, "another catch-up protocol version");
		break;
	default:
		fetch_done(f, FETCH_REFUSED, "bad request");
		break;
	}
}

static void
fetch_on_read(struct bufferevent *bev, void *arg)
{
	struct cu_fetch	*f = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	bool		 sealed;
	int		 rc;

	for (;;) {
		rc = catchup_frame_in(f->cu, in, CC_CATCHUP_MAX_FRAME, &f->cu->scratch, &sealed);
		if (rc == 0)
			return;
		if (rc == -1) {
			fetch_done(f, FETCH_BROKEN, errno == EBADMSG ? "answer fails authentication" :
			    errno == EPERM ? "plaintext answer refused: encryption is on" :
			    "bad frame length");
			return;
		}
		f->cu->st.rx_bytes += CC_CATCHUP_PREFIX + f->cu->scratch.len;
		f->bytes += CC_CATCHUP_PREFIX + f->cu->scratch.len;
		rc = cc_catchup_rx_feed(&f->rx, f->cu->scratch.data, f->cu->scratch.len);
		if (rc == -1) {
			/* over a limit: a real server with a big state; else not one at all */
			fetch_done(f, errno == EMSGSIZE ? FETCH_FAILED : FETCH_BROKEN,
			    f->rx.why != NULL ? f->rx.why : "bad answer");
			return;
		}
		if (rc == 1) {
			fetch_answered(f);
			return;
		}
	}
}

static void
fetch_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct cu_fetch	*f = arg;
	int		 err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		f->connected = true;
		set_timeouts(f->bev, CATCHUP_IDLE_TIMEOUT_MS, CATCHUP_IDLE_TIMEOUT_MS);
		return;
	}
	/*
	 * Not connected: nothing listens there (a peer without the
	 * extension) or a firewall drops TCP. libevent does not always leave
	 * the reason in errno after an immediate refusal.
	 */
	if (!f->connected) {
		fetch_done(f, FETCH_REFUSED, what & BEV_EVENT_TIMEOUT ? "connect timed out" :
		    err != 0 && err != EINPROGRESS ? strerror(err) : "connection refused");
		return;
	}
	fetch_done(f, FETCH_FAILED, what & BEV_EVENT_TIMEOUT ? "timed out" :
	    what & BEV_EVENT_EOF ? "connection closed mid-answer" : strerror(err));
}

static void
fetch_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fetch_done(arg, FETCH_FAILED, "took longer than the deadline");
}

/* The request, queued before the connection completes. */
static int
fetch_request(struct cu_fetch *f, const struct cc_node *n)
{
	struct catchup			*cu = f->cu;
	struct cc_catchup_request	 req;
	const char			*cluster = cc_engine_cluster_id(cu->ccd->engine);

	memset(&req, 0, sizeof(req));
	req.version = CC_CATCHUP_VERSION;
	req.cluster_id = (char *)(uintptr_t)cluster;
	req.cluster_id_len = strlen(cluster);
	req.id = f->id;
	req.last_gc_version = cc_node_last_gc_version(n);
	req.max_version = cc_node_max_version(n);
	cc_wbuf_reset(&cu->scratch);
	cc_catchup_request_encode(&cu->scratch, &req);
	/* with a keyring, requests are always sealed: a server answers in kind */
	return catchup_frame_out(cu, &cu->scratch, catchup_encrypting(cu),
	    bufferevent_get_output(f->bev));
}

/* Starts a queued fetch: 0, or -1 when it was dropped (counted). */
static int
fetch_start(struct cu_fetch *f)
{
	struct catchup		*cu = f->cu;
	const struct ccd_config	*cfg = cu->ccd->cfg;
	struct cc_engine	*e = cu->ccd->engine;
	const struct cc_node	*n = cc_engine_node(e, &f->id);
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct timeval		 tv;
	uint64_t		 max_bytes, others;
	size_t			 max_keys;
	int			 fd;

	TAILQ_REMOVE(&cu->queued, f, entry);
	cu->st.fetches_queued--;
	TAILQ_INSERT_TAIL(&cu->active, f, entry);
	f->active = true;
	cu->st.fetches_in_flight++;
	cu->st.fetches_started++;
	f->t0 = ccd_now_ms();
	if (n == NULL) {
		fetch_done(f, FETCH_UNNEEDED, "node gone");
		return -1;
	}
	/* what the engine's limits leave room for, all replicas together */
	max_bytes = cfg->max_state_bytes != 0 ? cfg->max_state_bytes :
	    CC_DEFAULT_MAX_STATE_BYTES;
	max_keys = cfg->max_keys_per_node != 0 ? cfg->max_keys_per_node :
	    CC_DEFAULT_MAX_KEYS_PER_NODE;
	others = cc_engine_state_bytes(e) - cc_node_bytes(n);
	if (cc_catchup_rx_init(&f->rx, &f->id, max_keys,
	    max_bytes > others ? max_bytes - others : 0) == -1) {
		fetch_done(f, FETCH_FAILED, "out of memory");
		return -1;
	}
	if (gossip_addr_to_sockaddr(&f->peer, &ss, &len) == -1 ||
	    (fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		fetch_done(f, FETCH_FAILED, strerror(errno));
		return -1;
	}
	if ((f->bev = bufferevent_socket_new(cu->ccd->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		fetch_done(f, FETCH_FAILED, "out of memory");
		return -1;
	}
	if ((f->deadline = evtimer_new(cu->ccd->base, fetch_on_deadline, f)) == NULL ||
	    fetch_request(f, n) == -1) {
		fetch_done(f, FETCH_FAILED, "out of memory");
		return -1;
	}
	timeval_ms(&tv, CATCHUP_FETCH_DEADLINE_MS);
	evtimer_add(f->deadline, &tv);
	bufferevent_setcb(f->bev, fetch_on_read, NULL, fetch_on_event, f);
	/* while connecting, the write timeout is the connect timeout */
	set_timeouts(f->bev, CATCHUP_IDLE_TIMEOUT_MS, CATCHUP_CONNECT_TIMEOUT_MS);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	log_debug("catch-up: fetching node %s from %s", f->name, f->from);
	if (bufferevent_socket_connect(f->bev, (struct sockaddr *)&ss, (int)len) == -1) {
		fetch_done(f, FETCH_REFUSED, strerror(errno));
		return -1;
	}
	return 0;
}

static void
catchup_on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct catchup	*cu = arg;
	struct cu_fetch	*f;

	(void)fd;
	(void)what;
	while (cu->st.fetches_in_flight < CATCHUP_MAX_FETCHES &&
	    (f = TAILQ_FIRST(&cu->queued)) != NULL)
		(void)fetch_start(f);
}

static void
fetch_free(struct cu_fetch *f)
{
	struct catchup *cu = f->cu;

	if (f->active) {
		TAILQ_REMOVE(&cu->active, f, entry);
		cu->st.fetches_in_flight--;
	} else {
		TAILQ_REMOVE(&cu->queued, f, entry);
		cu->st.fetches_queued--;
	}
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	if (f->deadline != NULL)
		event_free(f->deadline);
	cc_catchup_rx_clear(&f->rx);
	cc_id_clear(&f->id);
	free(f);
}

static bool
fetch_exists(const struct cu_fetches *list, const struct cc_id *id)
{
	const struct cu_fetch *f;

	TAILQ_FOREACH(f, list, entry)
		if (cc_id_is_equal(&f->id, id))
			return true;
	return false;
}

/* Queues a fetch of node id from the datagram source `from`. */
static void
catchup_note_reset(struct catchup *cu, const struct cc_id *id, const struct cc_addr *from)
{
	struct cu_fetch *f;

	/*
	 * One fetch per node, whatever the source: a second one would bring
	 * the same state twice. The next reset triggers again if this fails.
	 */
	if (fetch_exists(&cu->active, id) || fetch_exists(&cu->queued, id) ||
	    refused_recently(cu, from, ccd_now_ms()) ||
	    cu->st.fetches_queued >= CATCHUP_MAX_QUEUED) {
		cu->st.resets_not_fetched++;
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL || cc_id_copy(&f->id, id) == -1) {
		free(f);
		cu->st.resets_not_fetched++;
		return;
	}
	f->cu = cu;
	f->peer = *from;
	cc_id_format(id, f->name, sizeof(f->name));
	cc_addr_format(from, f->from, sizeof(f->from));
	TAILQ_INSERT_TAIL(&cu->queued, f, entry);
	cu->st.fetches_queued++;
	event_active(cu->kick, 0, 0);
}

void
catchup_on_engine_event(struct catchup *cu, const struct cc_event *ev,
    const struct cc_addr *from)
{
	/*
	 * A reset node delta followed by another in its datagram carried
	 * every entry (§4.4): only the last one may need a fetch. Resets of
	 * our own state (a reused ChitchatId) are gossip's business.
	 */
	if (cu == NULL || !cu->enabled || from == NULL || ev->type != CC_EVENT_NODE ||
	    ev->change != CC_NODE_RESET || !ev->partial ||
	    cc_id_is_equal(ev->node, cc_engine_self_id(cu->ccd->engine)))
		return;
	catchup_note_reset(cu, ev->node, from);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

struct catchup *
catchup_new(struct ccd *ccd)
{
	struct catchup *cu;

	if ((cu = calloc(1, sizeof(*cu))) == NULL)
		return NULL;
	cu->ccd = ccd;
	cu->fd = -1;
	cu->enabled = ccd->cfg != NULL && CCD_HAS_EXT(ccd, CCD_EXT_CATCHUP);
	TAILQ_INIT(&cu->conns);
	TAILQ_INIT(&cu->queued);
	TAILQ_INIT(&cu->active);
	cc_wbuf_init(&cu->scratch);
	if (!cu->enabled)
		return cu;
	if ((cu->kick = event_new(ccd->base, -1, 0, catchup_on_kick, cu)) == NULL ||
	    (cu->codec = cc_codec_ctx_new()) == NULL) {
		catchup_free(cu);
		errno = ENOMEM;
		return NULL;
	}
	(void)catchup_listen(cu);
	return cu;
}

void
catchup_free(struct catchup *cu)
{
	struct cu_conn	*c;
	struct cu_fetch	*f;

	if (cu == NULL)
		return;
	while ((c = TAILQ_FIRST(&cu->conns)) != NULL)
		conn_free(c);
	while ((f = TAILQ_FIRST(&cu->active)) != NULL)
		fetch_free(f);
	while ((f = TAILQ_FIRST(&cu->queued)) != NULL)
		fetch_free(f);
	if (cu->accept_ev != NULL)
		event_free(cu->accept_ev);
	if (cu->kick != NULL)
		event_free(cu->kick);
	if (cu->fd != -1)
		close(cu->fd);
	cc_codec_ctx_free(cu->codec);
	cc_wbuf_clear(&cu->scratch);
	free(cu);
}

const struct catchup_stats *
catchup_stats(const struct catchup *cu)
{
	return &cu->st;
}
