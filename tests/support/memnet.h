/*
 * memnet.h: a deterministic in-memory network of chitchat engines.
 *
 * N engines share one fake clock (milliseconds); every random decision,
 * the network's and the engines', comes from one seed, so a run is a pure
 * function of the seed and of the test's script. The network copies the
 * behaviour of chitchat's in-memory test transport (PROTOCOL.md §8.6):
 * datagrams above 65,507 bytes fail to send; links can be cut and restored
 * (both directions at once), and a message on a cut link vanishes while the
 * send succeeds; every receiver has a bounded queue of 100 messages (new
 * messages are dropped when it is full); sending to an unbound address
 * succeeds and the message vanishes; an address can be bound once, and
 * again after its node stops. On top of that: a random latency per message
 * in [latency_min_ms, latency_max_ms] (which also reorders), loss and
 * duplication probabilities, and byte/message counters.
 *
 * The driver never sleeps: memnet_run_until() jumps from event to event,
 * the next event being the earliest of any running node's gossip deadline
 * (what cc_engine_tick() returned) and any message's delivery time. At one
 * instant, due messages are queued first, then every node drains its queue,
 * then due nodes tick.
 *
 * Failures should print the seed: use MN_ASSERT(), which prefixes every
 * message with the seed and the simulated time of the last memnet created.
 */
#ifndef MEMNET_H
#define MEMNET_H

#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cc.h"

#define MEMNET_MTU		65507
#define MEMNET_QUEUE_CAP	100

struct memnet;

struct memnet_config {
	uint64_t	seed;
	uint64_t	start_ms;	/* clock origin (default 1,000,000) */
	uint32_t	latency_min_ms;	/* default 1 */
	uint32_t	latency_max_ms;	/* default 5 */
	double		loss;		/* probability that a datagram is lost */
	double		dup;		/* probability that it is delivered twice */
	size_t		queue_cap;	/* per receiver; default 100 */
	size_t		mtu;		/* default 65,507 */
	uint64_t	poll_ms;	/* memnet_run_until_pred period; default 100 */
};

/* Defaults above; seed as given. */
void	memnet_config_default(struct memnet_config *, uint64_t seed);

struct memnet_counters {
	uint64_t	sent;		/* datagrams accepted by send (dups not counted) */
	uint64_t	sent_bytes;
	uint64_t	delivered;	/* handed to an engine */
	uint64_t	delivered_bytes;
	uint64_t	send_errors;	/* over the MTU */
	uint64_t	lost;		/* random loss */
	uint64_t	duplicated;
	uint64_t	cut;		/* dropped on a cut link (at send or at delivery) */
	uint64_t	unbound;	/* no one listens there */
	uint64_t	queue_full;	/* receiver queue overflow */
	uint64_t	decode_errors;	/* cc_engine_recv() refused the datagram */
};

/* A recorded catch-up callback (CC_EVENT_CATCHUP). */
struct memnet_catchup {
	uint64_t	t_ms;
	int		node;
};

/* Optional hook for every engine event (after memnet's own bookkeeping). */
typedef void (*memnet_event_fn)(struct memnet *, int node, const struct cc_event *,
    void *arg);

/* Seed and time of the last memnet created, for failure messages. */
extern uint64_t memnet_current_seed;
uint64_t	memnet_current_time(void);

#define MN_ASSERT(cond, fmt, ...)					\
	ck_assert_msg((cond), "[seed %" PRIu64 ", t=%" PRIu64 " ms] " fmt,	\
	    memnet_current_seed, memnet_current_time(), ##__VA_ARGS__)

/* Shorthands that print the seed too (Check's own ck_assert_* do not). */
#define MN_CHECK(cond)	MN_ASSERT((cond), "%s", #cond)
#define MN_CMP_U(a, op, b) do {						\
	uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);		\
	MN_ASSERT(a_ op b_, "%s %s %s: %ju vs %ju", #a, #op, #b, a_, b_);	\
} while (0)
#define MN_CMP_I(a, op, b) do {						\
	intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);		\
	MN_ASSERT(a_ op b_, "%s %s %s: %jd vs %jd", #a, #op, #b, a_, b_);	\
} while (0)
#define MN_EQ_U(a, b)	MN_CMP_U(a, ==, b)
#define MN_EQ_I(a, b)	MN_CMP_I(a, ==, b)
#define MN_NONNULL(p)	MN_ASSERT((p) != NULL, "%s is NULL", #p)
#define MN_NULL(p)	MN_ASSERT((p) == NULL, "%s is not NULL", #p)
#define MN_STR_EQ(a, b)	MN_ASSERT(strcmp((a), (b)) == 0, "%s is \"%s\", not \"%s\"",	\
	    #a, (a), (b))

/* NULL + errno. The memnet becomes the "current" one for MN_ASSERT. */
struct memnet	*memnet_new(const struct memnet_config *);
/* Frees every engine and every message in flight. NULL is fine. */
void		 memnet_free(struct memnet *);

struct memnet_config *memnet_cfg(struct memnet *);	/* mutable at any time */
uint64_t	memnet_now(const struct memnet *);
uint64_t	memnet_seed(const struct memnet *);
/* A draw from the network's own stream (for test scripts). */
uint32_t	memnet_rand_u32(struct memnet *);
double		memnet_rand_unit(struct memnet *);
uint64_t	memnet_rand_range(struct memnet *, uint64_t lo, uint64_t hi);	/* [lo, hi] */

/*
 * Starts a node now: a new engine on cfg (copied by the engine; cfg->self's
 * address is the node's bound address). Returns the node index (>= 0), or -1
 * with errno = EADDRINUSE if a running node has that address, or the error
 * of cc_engine_new.
 */
int		memnet_add_node(struct memnet *, const struct cc_config *);
/* Stops node i: engine freed, queue dropped, address unbound. */
void		memnet_stop(struct memnet *, int i);
/*
 * Starts a stopped node again with a new engine (same index; the config may
 * change the generation, the id or the address). 0, or -1 as memnet_add_node.
 */
int		memnet_restart(struct memnet *, int i, const struct cc_config *);

size_t		memnet_num_nodes(const struct memnet *);	/* ever added */
bool		memnet_is_running(const struct memnet *, int i);
/* NULL if stopped. */
struct cc_engine *memnet_engine(const struct memnet *, int i);
/* The id of the node's current (or last) engine. */
const struct cc_id *memnet_id(const struct memnet *, int i);
/* Index of the running node bound at addr, or -1. */
int		memnet_node_at(const struct memnet *, const struct cc_addr *);

void		memnet_set_event_hook(struct memnet *, memnet_event_fn, void *arg);

/* ---- links ----------------------------------------------------------------- */

/* Cut / restore the link between two addresses, both directions. */
void	memnet_cut_addr(struct memnet *, const struct cc_addr *, const struct cc_addr *);
void	memnet_restore_addr(struct memnet *, const struct cc_addr *, const struct cc_addr *);
/* The same, by node index (current addresses). */
void	memnet_cut(struct memnet *, int a, int b);
void	memnet_restore(struct memnet *, int a, int b);
/* Cuts every link between group a and group b. */
void	memnet_partition(struct memnet *, const int *a, size_t na, const int *b, size_t nb);
/* Restores every link. */
void	memnet_heal(struct memnet *);
bool	memnet_is_cut(const struct memnet *, const struct cc_addr *, const struct cc_addr *);

/*
 * Puts a datagram on the wire as if `from` had sent it (loss, dup, latency
 * and cuts apply). -1 + EMSGSIZE above the MTU, 0 otherwise.
 */
int	memnet_send_raw(struct memnet *, const struct cc_addr *from,
	    const struct cc_addr *to, const uint8_t *buf, size_t len);

/* ---- driving ------------------------------------------------------------------ */

/* Advances simulated time to t_ms (no-op if in the past), event by event. */
void	memnet_run_until(struct memnet *, uint64_t t_ms);
void	memnet_run_for(struct memnet *, uint64_t d_ms);

typedef bool (*memnet_pred_fn)(struct memnet *, void *arg);

/*
 * Runs until pred holds, checking it now and then every cfg.poll_ms of
 * simulated time, for at most timeout_ms. Returns whether it held (time
 * stops at the first check that succeeds).
 */
bool	memnet_run_until_pred(struct memnet *, memnet_pred_fn, void *arg,
	    uint64_t timeout_ms);

/* ---- observations ---------------------------------------------------------------- */

const struct memnet_counters *memnet_counters(const struct memnet *);
/* Per node (the sum over its incarnations); counts as the sender / receiver. */
const struct memnet_counters *memnet_node_counters(const struct memnet *, int i);

/* Last CC_EVENT_LIVE_NODES list of node i's current engine (empty before any). */
size_t	memnet_watch_len(const struct memnet *, int i);
const struct cc_id *memnet_watch_id(const struct memnet *, int i, size_t k);
bool	memnet_watch_has(const struct memnet *, int i, const struct cc_id *);
/* Largest list ever published by node i's current engine; number of events. */
size_t	memnet_watch_max_len(const struct memnet *, int i);
uint64_t memnet_watch_events(const struct memnet *, int i);
/* True if node i's last published list is exactly the given ids (any order). */
bool	memnet_watch_is(const struct memnet *, int i, const struct cc_id *const *ids, size_t n);

/* Catch-up callbacks, in order, over all nodes and incarnations. */
size_t	memnet_num_catchups(const struct memnet *);
const struct memnet_catchup *memnet_catchup(const struct memnet *, size_t k);
/* Catch-ups of node i (all incarnations). */
uint64_t memnet_node_catchups(const struct memnet *, int i);

/* ---- reads and writes by node index ------------------------------------------------ */

/*
 * Node i's replica of node j's current id (j's own state when i == j), or
 * NULL (also when i is stopped).
 */
const struct cc_node *memnet_replica(const struct memnet *, int i, int j);
/* Visible entry `key` of that replica, or NULL. */
const struct cc_kv *memnet_get(const struct memnet *, int i, int j, const char *key);
/* Stored entry (tombstones included), or NULL. */
const struct cc_kv *memnet_get_versioned(const struct memnet *, int i, int j, const char *key);
/* The visible entry exists and its value is `value`. */
bool	memnet_has_value(const struct memnet *, int i, int j, const char *key,
	    const char *value);
/* Owner operations on node i; they fail the test on an error. */
void	memnet_set(struct memnet *, int i, const char *key, const char *value);
void	memnet_set_with_ttl(struct memnet *, int i, const char *key, const char *value);
void	memnet_delete(struct memnet *, int i, const char *key);
void	memnet_delete_after_ttl(struct memnet *, int i, const char *key);

/* ---- predicates (all over running nodes only) ------------------------------------- */

/* Node i judges id live (CC_LIVENESS_LIVE). */
bool	memnet_sees_live(const struct memnet *, int i, const struct cc_id *);
/* Every running node sees every other running node live. */
bool	memnet_all_live(struct memnet *, void *unused);
/*
 * Node i's replica of node j's state equals j's own: same visible entries
 * (key, value, version, status), and same max_version.
 */
bool	memnet_replica_is_equal(const struct memnet *, int i, int j);
/* memnet_replica_is_equal for every pair of running nodes. */
bool	memnet_all_replicas_equal(struct memnet *, void *unused);
/* memnet_all_live and memnet_all_replicas_equal. */
bool	memnet_converged(struct memnet *, void *unused);
/* No running node holds a node state for id (arg: const struct cc_id *). */
bool	memnet_nobody_has(struct memnet *, void *id);
/* No running node sees id live (arg: const struct cc_id *). */
bool	memnet_nobody_sees_live(struct memnet *, void *id);
/* Every running node other than id's own sees it live (arg: const struct cc_id *). */
bool	memnet_everybody_sees_live(struct memnet *, void *id);
/* Datagrams refused by cc_engine_recv(), over all nodes and incarnations. */
uint64_t memnet_decode_errors(const struct memnet *);

/*
 * Writes a one-line explanation of the first disagreement found by
 * memnet_converged (or "converged") into buf, for failure messages.
 */
const char *memnet_explain(struct memnet *, char *buf, size_t len);

/* ---- configurations of PROTOCOL.md §10 J ------------------------------------------ */

/*
 * "lib cluster": cluster "default-cluster", gossip 100 ms, phi 5.0,
 * initial_interval 100 ms, dead grace 20 s, entry grace 3,600 s; self = *self.
 */
void	memnet_cfg_lib(struct cc_config *, const struct cc_id *self);
/*
 * "simulator": gossip 100 ms, initial_interval 1 s, phi 8, dead grace
 * 3,600 s, the given entry grace; self = *self.
 */
void	memnet_cfg_sim(struct cc_config *, const struct cc_id *self, uint64_t entry_grace_ms);

/* "node_<p>", generation 0, 127.0.0.1:<p> (tid(p) of §10). */
void	memnet_tid(struct cc_id *, uint16_t port);

#endif /* MEMNET_H */
