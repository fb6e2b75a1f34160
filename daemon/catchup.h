/*
 * catchup.h: the catch-up side channel (extension `catchup`,
 * docs/CATCHUP.md): a TCP listener on the gossip port number that serves
 * whole node states, and the client that fetches one when a received
 * delta resets a replica, instead of waiting for one datagram's worth of
 * entries per gossip exchange.
 *
 * Everything is non-blocking on the daemon's event loop, bounded in
 * connections, time and bytes. A peer without the extension (Rust
 * chitchat, or chitchatd with `catchup` off) refuses the connection: the
 * fetch is counted as refused, gossip refills the replica as usual, and
 * that address is not asked again for CATCHUP_REFUSED_MS.
 */
#ifndef CATCHUP_H
#define CATCHUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cc.h"

struct ccd;
struct catchup;

#define CATCHUP_MAX_FETCHES		4	/* client connections at once */
#define CATCHUP_MAX_QUEUED		64	/* resets waiting for a fetch slot */
#define CATCHUP_MAX_SERVED		16	/* server connections at once */
#define CATCHUP_CONNECT_TIMEOUT_MS	2000
#define CATCHUP_IDLE_TIMEOUT_MS		5000	/* no byte moved either way */
#define CATCHUP_FETCH_DEADLINE_MS	60000	/* one fetch, start to end */
#define CATCHUP_REFUSED_MS		(10 * 60 * 1000)	/* not asked again */
#define CATCHUP_REFUSED_TEXT		"10 min"
#define CATCHUP_REFUSED_SLOTS		32
#define CATCHUP_SERVER_QUEUE		(512 * 1024)	/* output queued per answer */

struct catchup_stats {
	/* client */
	uint64_t	fetches_started;
	uint64_t	fetches_completed;	/* a whole state applied */
	uint64_t	fetches_unneeded;	/* up to date, not found, or stale on arrival */
	uint64_t	fetches_failed;		/* connect, timeout, protocol, limits, aborted */
	uint64_t	fetches_refused;	/* connection refused, or a refusal answer */
	uint64_t	resets_not_fetched;	/* fetch in flight, address refused, queue full */
	uint64_t	rx_bytes;		/* received on fetch connections */
	uint64_t	entries_applied;	/* entries handed to the reset API */
	size_t		fetches_in_flight;	/* connecting or receiving */
	size_t		fetches_queued;
	/* server */
	bool		listening;
	uint64_t	server_connections;	/* accepted */
	uint64_t	requests_served;	/* a whole state sent */
	uint64_t	requests_refused;	/* over the limit, malformed, wrong cluster or version */
	uint64_t	tx_bytes;		/* sent on server connections */
	size_t		server_open;
	/* both sides, with gossip encryption */
	uint64_t	auth_failures;		/* frames no key opens, or plaintext in mode on */
};

/*
 * The channel for this daemon: listens on TCP at the gossip listen
 * address if the extension is on (a failure to listen is a warning: this
 * node then only fetches). NULL + ENOMEM.
 */
struct catchup	*catchup_new(struct ccd *);
void		 catchup_free(struct catchup *);
/*
 * Engine events (from ccd_on_engine_event): a CC_NODE_RESET done by a
 * received datagram (from: its source, else NULL) that may have been
 * cut short queues a fetch of that node from that source. Never calls
 * the engine's mutators: the fetch starts from the event loop.
 */
void		 catchup_on_engine_event(struct catchup *, const struct cc_event *,
		    const struct cc_addr *from);
const struct catchup_stats *catchup_stats(const struct catchup *);

#endif /* CATCHUP_H */
