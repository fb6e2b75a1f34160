/*
 * cc.h: public API of libchitchat, a wire-compatible chitchat 0.10 engine.
 *
 * The engine does no I/O: the host injects a clock, a random source, a
 * datagram sender and an event sink (struct cc_env), feeds received
 * datagrams with cc_engine_recv() and calls cc_engine_tick() at the deadline
 * it returns. See PROTOCOL.md for the protocol this implements.
 *
 * Conventions: int functions return 0, or -1 with errno set (EINVAL,
 * ENOMEM, EMSGSIZE, EBADMSG, ENOENT). Pointers returned by accessors are
 * borrowed and valid until the next mutating call on the engine. Event
 * payloads are borrowed for the duration of the callback; callbacks must
 * not call engine mutators.
 */
#ifndef CC_H
#define CC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic time in milliseconds. A struct, so wall-clock values do not mix in. */
typedef struct {
	uint64_t ms;
} cc_mtime_t;

static inline cc_mtime_t
cc_mtime(uint64_t ms)
{
	cc_mtime_t t = { ms };
	return t;
}

/* ---- identities ----------------------------------------------------------- */

#define CC_AF_INET	4
#define CC_AF_INET6	6

/* A socket address as chitchat carries it: no flow info, no scope id. */
struct cc_addr {
	uint8_t		family;		/* CC_AF_INET or CC_AF_INET6 */
	uint8_t		ip[16];		/* network order; 4 bytes used for IPv4 */
	uint16_t	port;
};

#define CC_ADDR_STRLEN	64

/* IPv4 sorts before IPv6, then address octets, then port. */
int	cc_addr_cmp(const struct cc_addr *, const struct cc_addr *);
bool	cc_addr_is_equal(const struct cc_addr *, const struct cc_addr *);
/* "a.b.c.d:port" or "[v6]:port" (compressed form). */
void	cc_addr_format(const struct cc_addr *, char *buf, size_t len);
/* The IP alone, as Rust prints it ("::ffff:1.2.3.4" for v4-mapped). */
void	cc_ip_format(uint8_t family, const uint8_t *ip, char *buf, size_t len);
/* Parses a literal "a.b.c.d:port" or "[v6]:port". EINVAL otherwise. */
int	cc_addr_parse(const char *, struct cc_addr *);

/* ChitchatId: node name, generation, gossip advertise address. */
struct cc_id {
	char		*node_id;	/* owned, NUL-terminated; node_id_len is authoritative */
	size_t		 node_id_len;
	uint64_t	 generation;
	struct cc_addr	 addr;
};

/* Copies node_id. cc_id_clear() releases it. */
int	cc_id_init(struct cc_id *, const char *node_id, size_t len,
	    uint64_t generation, const struct cc_addr *);
int	cc_id_copy(struct cc_id *dst, const struct cc_id *src);
void	cc_id_clear(struct cc_id *);
/* node_id bytes (memcmp, shorter first), then generation, then address. */
int	cc_id_cmp(const struct cc_id *, const struct cc_id *);
bool	cc_id_is_equal(const struct cc_id *, const struct cc_id *);
/* "node_id:generation:addr", for logs. */
void	cc_id_format(const struct cc_id *, char *buf, size_t len);

/* ---- key-values ----------------------------------------------------------- */

enum cc_status {
	CC_STATUS_SET = 0,
	CC_STATUS_DELETED = 1,
	CC_STATUS_DELETE_AFTER_TTL = 2,
};

/* A stored entry. Borrowed from the engine. */
struct cc_kv {
	const char	*key;		/* NUL-terminated, key_len authoritative */
	size_t		 key_len;
	const char	*value;
	size_t		 value_len;
	uint64_t	 version;
	enum cc_status	 status;
	cc_mtime_t	 status_time;	/* local time the deletion status was set */
};

/*
 * Largest key + value accepted by the API: one KV op must fit one
 * compression block (PROTOCOL.md §2.9, item 4).
 */
#define CC_MAX_KV_OP	16384
#define CC_KV_OP_OVERHEAD 14

/*
 * Whether a key/value pair may be emitted without harming Rust peers:
 * valid UTF-8, key not starting with a byte >= 0x80, and
 * 14 + key_len + value_len <= CC_MAX_KV_OP. On false, *why (if not NULL)
 * names the rule broken.
 */
bool	cc_kv_is_valid(const char *key, size_t key_len, const char *value,
	    size_t value_len, const char **why);

/* ---- configuration -------------------------------------------------------- */

struct cc_fd_config {
	double		phi_threshold;			/* 8.0 */
	uint32_t	sampling_window_size;		/* 1000 */
	uint64_t	max_interval_ms;		/* 10 s */
	uint64_t	initial_interval_ms;		/* 5 s */
	uint64_t	dead_node_grace_period_ms;	/* 24 h */
};

struct cc_node;

struct cc_config {
	struct cc_id		 self;		/* borrowed: copied by cc_engine_new */
	const char		*cluster_id;	/* borrowed, copied */
	uint64_t		 gossip_interval_ms;
	uint64_t		 marked_for_deletion_grace_period_ms;
	struct cc_fd_config	 fd;
	const struct cc_addr	*seeds;		/* borrowed, copied */
	size_t			 n_seeds;
	/*
	 * Extra liveness predicate (§5.7): filters the published live set
	 * only. NULL means every live node passes.
	 */
	bool			(*liveness_predicate)(const struct cc_node *, void *);
	void			*predicate_arg;
	/*
	 * Largest datagram the delta budgets of SYN-ACKs and ACKs aim at;
	 * 0 (or anything above) means CC_MAX_DATAGRAM, 65,507. Digests are
	 * never truncated, so a SYN (or a SYN-ACK's digest) of a large
	 * cluster may still exceed it, up to the hard 65,507 cap.
	 */
	size_t			 max_datagram;
	/*
	 * Limits on the state a peer can make us hold (docs/ENGINE.md,
	 * "Limits against a hostile peer"); 0 means the default. max_nodes
	 * counts every replica, self included: past it, digests create no
	 * new replica. max_keys_per_node caps the entries (tombstones
	 * included) of one replica; max_state_bytes caps the key and value
	 * bytes of all remote replicas together. Past either, a node delta
	 * stops at the first entry that would break it. Own-node writes
	 * through the API and cc_engine_reset_node_state() are not limited.
	 */
	size_t			 max_nodes;		/* 10,000 */
	size_t			 max_keys_per_node;	/* 100,000 */
	uint64_t		 max_state_bytes;	/* 256 MiB */
};

#define CC_DEFAULT_MAX_NODES		10000
#define CC_DEFAULT_MAX_KEYS_PER_NODE	100000
#define CC_DEFAULT_MAX_STATE_BYTES	(256ULL * 1024 * 1024)

/* Fills a config with defaults (test defaults of §7.1, real FD defaults). */
void	cc_config_default(struct cc_config *);
void	cc_fd_config_default(struct cc_fd_config *);

/* ---- events ----------------------------------------------------------------- */

enum cc_event_type {
	/* An entry was written by the store primitive: any status, tombstones
	 * included (a superset of chitchat's key-change events). */
	CC_EVENT_KV,
	/* The published live set changed (chitchat's live-nodes watch, §5.6). */
	CC_EVENT_LIVE_NODES,
	/* A received delta reset at least one replica (§6.7). */
	CC_EVENT_CATCHUP,
	/* A node's membership state changed (see enum cc_node_change). */
	CC_EVENT_NODE,
};

enum cc_node_change {
	CC_NODE_ADDED,		/* replica created from a digest or the reset API */
	CC_NODE_LIVE,		/* entered the live set */
	CC_NODE_DEAD,		/* left the live set */
	CC_NODE_SCHEDULED,	/* scheduled for deletion */
	CC_NODE_REMOVED,	/* garbage-collected; state about to be freed */
	CC_NODE_RESET,		/* replica wiped by a reset delta, or replaced
				 * by cc_engine_reset_node_state() */
};

struct cc_event {
	enum cc_event_type	 type;
	const struct cc_id	*node;		/* KV, NODE */
	const struct cc_kv	*kv;		/* KV */
	bool			 local;		/* KV: written by the local API */
	enum cc_node_change	 change;	/* NODE */
	/*
	 * NODE, CC_NODE_RESET by a received delta: the reset node delta was
	 * the last of its datagram, so the sender's size budget may have cut
	 * it short (PROTOCOL.md §4.4: a delta stops at the first operation
	 * that does not fit, so any node delta followed by another carried
	 * every entry). False for the others and for the reset API.
	 */
	bool			 partial;
	const struct cc_id	**live;		/* LIVE_NODES: ids, ChitchatId order */
	size_t			 n_live;
};

/* ---- environment ------------------------------------------------------------ */

#define CC_LOG_ERROR	0
#define CC_LOG_WARN	1
#define CC_LOG_INFO	2
#define CC_LOG_DEBUG	3

struct cc_env {
	cc_mtime_t	(*now)(void *arg);
	uint32_t	(*random_u32)(void *arg);
	/* Sends one datagram from the gossip socket. Errors are counted only. */
	int		(*send)(void *arg, const struct cc_addr *to,
			    const uint8_t *buf, size_t len);
	/* Optional. */
	void		(*event)(void *arg, const struct cc_event *);
	/* Optional log sink; level is CC_LOG_*. Keys and values are never
	 * logged above CC_LOG_DEBUG. */
	void		(*log)(void *arg, int level, const char *msg);
	void		*arg;
};

/* ---- engine ----------------------------------------------------------------- */

struct cc_engine;

/*
 * Creates an engine: self state with heartbeat 1. The first gossip round
 * is due at once (cc_engine_tick). NULL + errno on error (EINVAL for a
 * bad config).
 */
struct cc_engine *cc_engine_new(const struct cc_config *, const struct cc_env *);
void	cc_engine_free(struct cc_engine *);

/*
 * Handles one received datagram from `from`; replies go out through
 * env->send. -1 + EBADMSG if it does not decode (dropped and counted).
 */
int	cc_engine_recv(struct cc_engine *, const struct cc_addr *from,
	    const uint8_t *buf, size_t len);

/* Runs the gossip round if due. Returns the next deadline. */
cc_mtime_t cc_engine_tick(struct cc_engine *);

/* Sends one SYN to addr now (no heartbeat bump, no liveness update). */
int	cc_engine_gossip(struct cc_engine *, const struct cc_addr *);

/*
 * Forgets a node now (force-leave): its replica, if held, goes as node GC
 * takes it (CC_NODE_REMOVED, then its state and failure-detector record
 * are freed, and it joins the memory of GC'd nodes), and a fence is kept
 * for exactly this id (node_id, generation, address) until `until`. While
 * the fence holds, digest entries of that id whose heartbeat is <= the
 * fence create no replica (so its node deltas are ignored too, and nothing
 * of it is requested), and cc_engine_reset_node_state() skips it; a higher
 * heartbeat means the node is alive: the fence is dropped and the node is
 * re-added by the normal rules. The effective fence is at least the
 * heartbeat the replica had. Forgetting an id already fenced keeps the
 * higher heartbeat and the later `until`; an id with no replica is fenced
 * all the same. -1 + EBUSY for this node itself; ENOMEM.
 */
int	cc_engine_forget_node(struct cc_engine *, const struct cc_id *,
	    uint64_t fence_heartbeat, cc_mtime_t until);
/* Whether id is fenced now; *heartbeat (if not NULL) gets the fence. */
bool	cc_engine_is_fenced(const struct cc_engine *, const struct cc_id *,
	    uint64_t *heartbeat);

/*
 * Changes the hostile-peer limits (cc_config's max_nodes, max_keys_per_node,
 * max_state_bytes; 0 means the default). State already held is kept even
 * if over a lowered limit; only growth is refused.
 */
void	cc_engine_set_limits(struct cc_engine *, size_t max_nodes,
	    size_t max_keys_per_node, uint64_t max_state_bytes);

/* Replaces the seed set (copied). */
int	cc_engine_set_seeds(struct cc_engine *, const struct cc_addr *, size_t);

/* ---- own keys (§2.6). EINVAL if !cc_kv_is_valid(). --------------------------- */

int	cc_engine_set(struct cc_engine *, const char *key, size_t key_len,
	    const char *value, size_t value_len);
int	cc_engine_set_with_ttl(struct cc_engine *, const char *key,
	    size_t key_len, const char *value, size_t value_len);
/* ENOENT if the key is absent (nothing changes, as chitchat). */
int	cc_engine_delete(struct cc_engine *, const char *key, size_t key_len);
int	cc_engine_delete_after_ttl(struct cc_engine *, const char *key,
	    size_t key_len);

/*
 * chitchat's reset_node_state_if_update (§6.5). Entries are copied.
 * Returns 0 when applied or skipped as chitchat does; -1 + EINVAL where
 * Rust would panic on its final assertion (writes already made stay).
 * When applied, CC_EVENT_NODE CC_NODE_RESET follows the entries' KV
 * events: keys absent from the new state were removed without an event.
 * O(n log n) in the number of entries.
 */
int	cc_engine_reset_node_state(struct cc_engine *, const struct cc_id *,
	    const struct cc_kv *entries, size_t n, uint64_t max_version,
	    uint64_t last_gc_version);

/* ---- reads ------------------------------------------------------------------- */

/* The engine's clock (env->now): the time base of cc_engine_forget_node's `until`. */
cc_mtime_t		 cc_engine_now(const struct cc_engine *);
const struct cc_id	*cc_engine_self_id(const struct cc_engine *);
const char		*cc_engine_cluster_id(const struct cc_engine *);
const struct cc_node	*cc_engine_self_node(const struct cc_engine *);
const struct cc_node	*cc_engine_node(const struct cc_engine *, const struct cc_id *);
/* All replicas, dead ones included, in ChitchatId order. */
const struct cc_node	*cc_engine_node_first(const struct cc_engine *);
const struct cc_node	*cc_engine_node_next(const struct cc_engine *, const struct cc_node *);
size_t			 cc_engine_num_nodes(const struct cc_engine *);
/* Key and value bytes held for remote replicas (what max_state_bytes caps). */
uint64_t		 cc_engine_state_bytes(const struct cc_engine *);

enum cc_liveness {
	CC_LIVENESS_SELF,
	CC_LIVENESS_LIVE,
	CC_LIVENESS_DEAD,		/* dead, not yet scheduled for deletion */
	CC_LIVENESS_SCHEDULED,		/* dead and scheduled for deletion */
};

enum cc_liveness cc_engine_liveness(const struct cc_engine *, const struct cc_id *);
/*
 * Whether the failure detector has judged id live at least once (self:
 * true). A node that is dead and was live has failed; one that is dead and
 * never was is still joining, or was only ever heard of.
 */
bool	cc_engine_was_live(const struct cc_engine *, const struct cc_id *);
/* Current phi; false if undefined (fewer than two usable heartbeats). */
bool	cc_engine_phi(const struct cc_engine *, const struct cc_id *, double *);
/* Time of the last heartbeat increase seen; false if none. */
bool	cc_engine_last_heartbeat_time(const struct cc_engine *,
	    const struct cc_id *, cc_mtime_t *);
size_t	cc_engine_num_live(const struct cc_engine *);	/* self included */
size_t	cc_engine_num_dead(const struct cc_engine *);	/* scheduled included */

const struct cc_id	*cc_node_id(const struct cc_node *);
uint64_t		 cc_node_heartbeat(const struct cc_node *);
uint64_t		 cc_node_max_version(const struct cc_node *);
uint64_t		 cc_node_last_gc_version(const struct cc_node *);
size_t			 cc_node_num_visible(const struct cc_node *);
size_t			 cc_node_num_stored(const struct cc_node *);
/* Key and value bytes of the stored entries, tombstones included. */
uint64_t		 cc_node_bytes(const struct cc_node *);
/* Visible entry (not DELETED) or NULL. */
const struct cc_kv	*cc_node_get(const struct cc_node *, const char *key, size_t key_len);
/* Stored entry, tombstones included, or NULL. */
const struct cc_kv	*cc_node_get_versioned(const struct cc_node *, const char *key, size_t key_len);
/*
 * Entries whose key starts with prefix, in key order; tombstones only if
 * include_deleted. Iterate: for (kv = first(...); kv; kv = next(..., kv)).
 */
const struct cc_kv	*cc_node_prefix_first(const struct cc_node *, const char *prefix,
			    size_t prefix_len, bool include_deleted);
const struct cc_kv	*cc_node_prefix_next(const struct cc_node *, const struct cc_kv *,
			    const char *prefix, size_t prefix_len, bool include_deleted);

/* ---- key-change listeners (§6.6) -------------------------------------------- */

/* key/key_len: the key without the subscribed prefix. */
typedef void (*cc_listener_fn)(void *arg, const char *key, size_t key_len,
    const char *value, size_t value_len, const struct cc_id *owner,
    const struct cc_kv *kv);

/* Returns a handle > 0, or 0 + ENOMEM. The prefix is copied. */
uint64_t cc_engine_subscribe(struct cc_engine *, const char *prefix,
	    size_t prefix_len, cc_listener_fn, void *arg);
/* ENOENT if unknown. */
int	cc_engine_unsubscribe(struct cc_engine *, uint64_t handle);

/* ---- counters ---------------------------------------------------------------- */

struct cc_stats {
	uint64_t	rx_datagrams;
	uint64_t	rx_bytes;
	uint64_t	rx_decode_errors;
	uint64_t	rx_by_type[4];
	uint64_t	tx_datagrams;
	uint64_t	tx_bytes;
	uint64_t	tx_errors;
	uint64_t	tx_by_type[4];
	uint64_t	rounds;
	uint64_t	resets_sent;		/* reset node deltas emitted */
	uint64_t	deltas_truncated;	/* deltas cut short by the size budget */
	uint64_t	resets_applied;		/* APPLY_AFTER_RESET */
	uint64_t	node_deltas_rejected;
	uint64_t	bad_cluster_rx;		/* SYNs of another cluster */
	uint64_t	empty_delta_budget;	/* SYN-ACK budget < 100 */
	uint64_t	nodes_gced;
	uint64_t	nodes_forgotten;	/* replicas removed by cc_engine_forget_node */
	uint64_t	kvs_gced;
	/* hostile-peer limits (struct cc_config): refusals */
	uint64_t	limit_nodes_refused;	/* digest entries that would add a replica */
	uint64_t	limit_keys_refused;	/* node deltas cut at max_keys_per_node */
	uint64_t	limit_bytes_refused;	/* node deltas cut at max_state_bytes */
};

const struct cc_stats *cc_engine_stats(const struct cc_engine *);

#endif /* CC_H */
