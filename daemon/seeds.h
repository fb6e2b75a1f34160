/*
 * seeds.h: the seed set, with host names resolved asynchronously (evdns)
 * and re-resolved every 60 s (see seeds.c).
 */
#ifndef SEEDS_H
#define SEEDS_H

#include <stddef.h>
#include <stdint.h>

#include "cc.h"

#define SEEDS_REFRESH_MS	60000

struct ccd;
struct evdns_base;
struct seeds;

/*
 * A seed set for ccd (its base, engine and counters are borrowed). dns is
 * the resolver to use, adopted (freed by seeds_free); NULL means one made
 * from /etc/resolv.conf and /etc/hosts the first time a host name needs
 * it. Never fails (out of memory is fatal).
 */
struct seeds	*seeds_new(struct ccd *, struct evdns_base *dns);
/*
 * Replaces the seed strings (HOST:PORT, as config.c checked them).
 * Literal addresses are fixed; host names are looked up now, without
 * waiting, and again every refresh period. The engine's seed set
 * (ccd->engine, which must exist) is replaced at once with the literals
 * plus the last addresses of the host names still listed, and again each
 * time a look-up completes. -1 + *cause (caller frees) on a malformed
 * string, with nothing changed.
 */
int	seeds_set(struct seeds *, char *const *specs, size_t n, char **cause);
/*
 * Replaces the extra seeds (copied; the peer cache's): fixed addresses
 * merged, without duplicates, with the configured ones every time the
 * engine's set is replaced, so they survive DNS refreshes and
 * seeds_set(). This node's own address, and IPv6 addresses on an IPv4
 * socket, are left out. The engine's set is replaced at once.
 */
void	seeds_set_extra(struct seeds *, const struct cc_addr *, size_t);
/* Starts a look-up of every host name whose last one has completed. */
void	seeds_refresh(struct seeds *);
/* Refresh period (default SEEDS_REFRESH_MS; tests shorten it). */
void	seeds_set_refresh_ms(struct seeds *, uint64_t ms);
/* The set last pushed into the engine; borrowed until the next change. */
size_t	seeds_current(const struct seeds *, const struct cc_addr **);
/* Host-name look-ups in flight. */
size_t	seeds_pending(const struct seeds *);
/*
 * Cancels look-ups and frees everything. Runs one non-blocking pass of
 * the event loop so that libevent can deliver the cancellations (free the
 * daemon's other events first). Accepts NULL.
 */
void	seeds_free(struct seeds *);

#endif /* SEEDS_H */
