/*
 * cc_state.h: engine internals shared by the engine's modules and the unit
 * tests (never by daemon/ or ctl/, which use cc.h only).
 *
 * Node states (one per ChitchatId) hold their entries in two red-black
 * trees: by key, for reads and prefix scans in key order, and by
 * (version, key), for delta computation, which sends stale entries in
 * version order. Failure-detector data lives in the node record: chitchat
 * keeps FD records only for ids that have a node state, and drops both
 * together at node GC.
 */
#ifndef CC_STATE_H
#define CC_STATE_H

#include "compat/tree.h"

#include "cc.h"
#include "cc_wire.h"

/* ---- failure detector: sampling window (cc_fd.c, §5.2) ------------------- */

/*
 * Intervals are kept as whole milliseconds (the engine's clock unit, so
 * nothing is lost) in 4 bytes instead of a double, and the ring grows by
 * doubling up to capacity: a replica's window costs a few dozen bytes
 * until it has seen many heartbeats, and 4 KB at the default 1000
 * samples instead of 8 KB (that was ~70% of an idle daemon's heap at
 * N = 100). The sum is exact integer arithmetic.
 */
struct cc_fd_window {
	uint32_t	*ring;		/* alloc slots, intervals in ms */
	uint32_t	 alloc;		/* slots allocated, <= capacity */
	uint32_t	 capacity;	/* sampling_window_size */
	uint32_t	 count;
	uint32_t	 head;		/* next write position */
	uint64_t	 sum_ms;
	bool		 has_last;
	cc_mtime_t	 last;		/* time of the last heartbeat increase */
};

/* NULL + ENOMEM. */
struct cc_fd_window *cc_fd_window_new(uint32_t capacity);
void	cc_fd_window_free(struct cc_fd_window *);
/* Bounded ring buffer append of one interval in ms (G7). */
void	cc_fd_window_push(struct cc_fd_window *, uint32_t interval_ms);
void	cc_fd_window_report(struct cc_fd_window *, const struct cc_fd_config *, cc_mtime_t now);
void	cc_fd_window_reset(struct cc_fd_window *);
bool	cc_fd_window_phi(const struct cc_fd_window *, const struct cc_fd_config *,
	    cc_mtime_t now, double *phi);

/* ---- entries and node states (cc_node.c) --------------------------------- */

/* Byte-string order: memcmp on the common length, then the shorter first. */
int	cc_bytes_cmp(const void *, size_t, const void *, size_t);

struct cc_entry {
	struct cc_kv		kv;	/* public view; key/value buffers owned */
	RB_ENTRY(cc_entry)	by_key;
	RB_ENTRY(cc_entry)	by_version;
};

RB_HEAD(cc_key_tree, cc_entry);
RB_HEAD(cc_version_tree, cc_entry);
RB_PROTOTYPE(cc_key_tree, cc_entry, by_key, cc_entry_key_cmp)
RB_PROTOTYPE(cc_version_tree, cc_entry, by_version, cc_entry_version_cmp)

struct cc_engine;

struct cc_node {
	struct cc_id		 id;
	uint64_t		 heartbeat;
	uint64_t		 max_version;
	uint64_t		 last_gc_version;
	struct cc_key_tree	 by_key;
	struct cc_version_tree	 by_version;
	size_t			 n_stored;
	size_t			 n_visible;
	size_t			 n_expiring;	/* DELETED or DELETE_AFTER_TTL */
	uint64_t		 bytes;		/* key + value bytes of the entries */
	uint64_t		*bytes_total;	/* also kept there (the engine's
						 * remote total), or NULL */
	/* failure detector (§5.3) */
	struct cc_fd_window	*window;	/* NULL: never reported */
	bool			 live;
	bool			 dead;
	bool			 scheduled;	/* last seen scheduled for deletion */
	bool			 was_live;	/* judged live at least once */
	cc_mtime_t		 time_of_death;
	/* where key events go (the engine's listeners); NULL in bare tests */
	struct cc_engine	*engine;
	RB_ENTRY(cc_node)	 entry;
};

/* A fresh, empty node state (heartbeat 0, versions 0). NULL + ENOMEM. */
struct cc_node *cc_node_new(const struct cc_id *);
void	cc_node_free(struct cc_node *);
/* Drops every entry and zeroes heartbeat and versions; keeps id and FD. */
void	cc_node_wipe(struct cc_node *);

/*
 * The store primitive (§2.7): raises max_version, writes the entry if newer,
 * fires a key event unless DELETED. Returns 1 if written, 0 if ignored,
 * -1 + ENOMEM.
 */
int	cc_node_store(struct cc_node *, const char *key, size_t key_len,
	    const char *value, size_t value_len, uint64_t version,
	    enum cc_status, cc_mtime_t now, bool local);
/* Removes an entry outright (no tombstone, no event). */
void	cc_node_remove_entry(struct cc_node *, struct cc_entry *);
struct cc_entry *cc_node_find(const struct cc_node *, const char *key, size_t key_len);

/* Owner operations (§2.6). Return 1 if something changed, 0 if no-op. */
int	cc_node_set(struct cc_node *, const char *key, size_t key_len,
	    const char *value, size_t value_len, cc_mtime_t now);
int	cc_node_set_with_ttl(struct cc_node *, const char *key, size_t key_len,
	    const char *value, size_t value_len, cc_mtime_t now);
int	cc_node_delete(struct cc_node *, const char *key, size_t key_len, cc_mtime_t now);
int	cc_node_delete_after_ttl(struct cc_node *, const char *key, size_t key_len,
	    cc_mtime_t now);

/* Entry GC (§6.4). Returns the number of entries removed. */
size_t	cc_node_gc_expired(struct cc_node *, uint64_t grace_ms, cc_mtime_t now);

/* Whether deltas (and catch-up answers) may carry the entry (cc_delta.c). */
bool	cc_entry_is_relayable(const struct cc_entry *);

/* First entry with version > from, in version order (iterate with RB_NEXT). */
struct cc_entry *cc_node_stale_first(const struct cc_node *, uint64_t from);
size_t	cc_node_count_stale(const struct cc_node *, uint64_t from);

enum cc_delta_status {
	CC_DELTA_REJECT,
	CC_DELTA_APPLY,
	CC_DELTA_APPLY_AFTER_RESET,
};

enum cc_delta_status cc_node_check_delta(const struct cc_node *, const struct cc_node_delta *);
/*
 * Applies one node delta (§4.5). *reset is set when the replica was wiped.
 * -1 + ENOMEM.
 */
int	cc_node_apply_delta(struct cc_node *, const struct cc_node_delta *,
	    cc_mtime_t now, bool *reset, enum cc_delta_status *status);

/* Limits on what one node delta may add (the engine's hostile-peer limits). */
enum cc_limit_hit {
	CC_LIMIT_NONE,
	CC_LIMIT_KEYS,		/* a new key past max_keys */
	CC_LIMIT_BYTES,		/* other_bytes + n->bytes would pass max_bytes */
};

struct cc_node_limits {
	size_t			max_keys;	/* SIZE_MAX: none */
	uint64_t		max_bytes;	/* UINT64_MAX: none */
	uint64_t		other_bytes;	/* held by the other replicas */
	enum cc_limit_hit	hit;		/* out */
};

/*
 * The same, under limits (NULL: none). At the first entry that would
 * write past a limit, application stops: limits->hit says which, the
 * entries before it stay, and max_version is left at what the store
 * primitive raised it to for them (never the delta's max_version), so the
 * replica claims no version it does not hold and the sender resends the
 * rest later (docs/ENGINE.md).
 */
int	cc_node_apply_delta_limited(struct cc_node *, const struct cc_node_delta *,
	    cc_mtime_t now, struct cc_node_limits *, bool *reset,
	    enum cc_delta_status *status);

/* ---- cluster state: node map ordered by ChitchatId ----------------------- */

RB_HEAD(cc_node_tree, cc_node);
RB_PROTOTYPE(cc_node_tree, cc_node, entry, cc_node_cmp)

/* ---- delta computation (cc_delta.c, §4.4) -------------------------------- */

/*
 * Digest index: entries sorted by id, duplicates resolved (the later wire
 * entry wins). Borrows the digest's ids.
 */
struct cc_digest_index {
	const struct cc_digest_entry	**sorted;
	size_t				  n;
};

int	cc_digest_index_init(struct cc_digest_index *, const struct cc_digest *);
void	cc_digest_index_clear(struct cc_digest_index *);
const struct cc_digest_entry *cc_digest_index_find(const struct cc_digest_index *,
	    const struct cc_id *);

/* Candidate priority, exposed for the D tests. */
struct cc_stale_candidate {
	struct cc_node	*node;
	uint64_t	 from;
	bool		 unknown;	/* from == 0 */
	uint64_t	 key;		/* UNKNOWN: max_version; KNOWN: stale count */
	bool		 reset;
};

/*
 * Builds and orders the candidates (ties shuffled with rand_u32 if not NULL).
 * `skip(node, arg)` excludes nodes scheduled for deletion. Caller frees *out.
 */
int	cc_stale_candidates(struct cc_node_tree *, const struct cc_digest_index *,
	    bool (*skip)(const struct cc_node *, void *), void *skip_arg,
	    uint32_t (*rand_u32)(void *), void *rand_arg,
	    struct cc_stale_candidate **out, size_t *n_out);

/*
 * Computes the delta for a peer's digest under budget mtu and appends its
 * encoding to *dst. If mtu < 100 an empty delta is written.
 */
int	cc_compute_delta(struct cc_node_tree *, const struct cc_digest_index *,
	    size_t mtu, bool (*skip)(const struct cc_node *, void *), void *skip_arg,
	    uint32_t (*rand_u32)(void *), void *rand_arg,
	    struct cc_codec_ctx *, struct cc_wbuf *dst, size_t *n_resets);

/* What a computed delta left out, for the engine's counters. */
struct cc_delta_report {
	size_t	n_resets;	/* reset node deltas started */
	bool	truncated;	/* the budget cut it: something stale was left out */
};

int	cc_compute_delta_report(struct cc_node_tree *, const struct cc_digest_index *,
	    size_t mtu, bool (*skip)(const struct cc_node *, void *), void *skip_arg,
	    uint32_t (*rand_u32)(void *), void *rand_arg,
	    struct cc_codec_ctx *, struct cc_wbuf *dst, struct cc_delta_report *);

/* ---- peer selection (§4.7) ------------------------------------------------ */

struct cc_addr_set {
	struct cc_addr	*v;
	size_t		 n;
	size_t		 cap;
	bool		 sorted;	/* sealed: sorted and unique */
};

void	cc_addr_set_init(struct cc_addr_set *);
void	cc_addr_set_clear(struct cc_addr_set *);
int	cc_addr_set_add(struct cc_addr_set *, const struct cc_addr *);	/* dedupes, O(n) */
/* Bulk building: push without dedupe, then seal (sort, unique): O(n log n). */
int	cc_addr_set_push(struct cc_addr_set *, const struct cc_addr *);
void	cc_addr_set_seal(struct cc_addr_set *);
bool	cc_addr_set_has(const struct cc_addr_set *, const struct cc_addr *);

struct cc_selection {
	struct cc_addr	targets[3];
	size_t		n_targets;
	bool		has_dead;
	struct cc_addr	dead_target;
	bool		has_seed;
	struct cc_addr	seed_target;
};

void	cc_select_peers(const struct cc_addr_set *peers, const struct cc_addr_set *live,
	    const struct cc_addr_set *dead, const struct cc_addr_set *seeds,
	    uint32_t (*rand_u32)(void *), void *rand_arg, struct cc_selection *);
/* Uniform double in [0, 1) from two draws; uniform index in [0, n). */
double	cc_rand_unit(uint32_t (*rand_u32)(void *), void *);
size_t	cc_rand_index(uint32_t (*rand_u32)(void *), void *, size_t n);

/* ---- listeners (cc_listen.c, §6.6) ---------------------------------------- */

struct cc_listener {
	uint64_t	 handle;
	char		*prefix;
	size_t		 prefix_len;
	cc_listener_fn	 fn;
	void		*arg;
};

struct cc_listeners {
	struct cc_listener	*v;	/* sorted by prefix bytes */
	size_t			 n;
	size_t			 cap;
	uint64_t		 next_handle;
};

void	cc_listeners_init(struct cc_listeners *);
void	cc_listeners_clear(struct cc_listeners *);
uint64_t cc_listeners_add(struct cc_listeners *, const char *prefix, size_t len,
	    cc_listener_fn, void *);
int	cc_listeners_remove(struct cc_listeners *, uint64_t handle);
void	cc_listeners_fire(const struct cc_listeners *, const struct cc_id *owner,
	    const struct cc_kv *);

/* ---- engine internals used by cc_node.c and the tests ------------------- */

/*
 * Called for every written entry; `notify` says whether chitchat's
 * key-change listeners fire (§6.6).
 */
void	cc_engine_on_store(struct cc_engine *, const struct cc_node *,
	    const struct cc_kv *, bool local, bool notify);

/* Test hooks: the pieces of a round, callable one by one (§4.6, §5.4). */
struct cc_node *cc_engine_node_mut(struct cc_engine *, const struct cc_id *);
void	cc_engine_report_heartbeat(struct cc_engine *, const struct cc_id *, uint64_t);
void	cc_engine_update_liveness(struct cc_engine *);
void	cc_engine_gc_entries(struct cc_engine *);
bool	cc_engine_is_scheduled(const struct cc_engine *, const struct cc_node *);
bool	cc_engine_gc_nodes_has(const struct cc_engine *, const struct cc_id *, uint64_t *hb);
/* Runs one gossip round now, whatever the deadline. */
void	cc_engine_round(struct cc_engine *);

#endif /* CC_STATE_H */
