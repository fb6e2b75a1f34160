/*
 * cc_node.c: one node state: versioned entries, the store primitive, owner
 * mutations, tombstone/TTL GC, and node-delta application
 * (PROTOCOL.md §2.4-§2.7, §4.5, §6.2-§6.4).
 *
 * Entries sit in two trees: by key (reads, prefix scans in key order) and
 * by (version, key) (stale entries in version order for deltas). Every rule
 * here mirrors chitchat/src/state.rs comparison by comparison; the comments
 * point at the spec section when a rule looks surprising.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc_state.h"

int
cc_bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t	n = alen < blen ? alen : blen;
	int	c;

	if (n > 0 && (c = memcmp(a, b, n)) != 0)
		return c;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return 0;
}

static int
cc_entry_key_cmp(struct cc_entry *a, struct cc_entry *b)
{
	return cc_bytes_cmp(a->kv.key, a->kv.key_len, b->kv.key, b->kv.key_len);
}

static int
cc_entry_version_cmp(struct cc_entry *a, struct cc_entry *b)
{
	if (a->kv.version != b->kv.version)
		return a->kv.version < b->kv.version ? -1 : 1;
	return cc_entry_key_cmp(a, b);
}

RB_GENERATE(cc_key_tree, cc_entry, by_key, cc_entry_key_cmp)
RB_GENERATE(cc_version_tree, cc_entry, by_version, cc_entry_version_cmp)

bool
cc_kv_is_valid(const char *key, size_t key_len, const char *value,
    size_t value_len, const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	if (key_len > CC_MAX_KV_OP || value_len > CC_MAX_KV_OP ||
	    CC_KV_OP_OVERHEAD + key_len + value_len > CC_MAX_KV_OP) {
		*why = "key and value too large for one delta block (16384 bytes with 14 bytes of framing)";
		return false;
	}
	if (!cc_utf8_is_valid(key, key_len)) {
		*why = "key is not valid UTF-8";
		return false;
	}
	if (key_len > 0 && (unsigned char)key[0] >= 0x80) {
		*why = "key starts with a non-ASCII byte (crashes Rust chitchat peers)";
		return false;
	}
	if (!cc_utf8_is_valid(value, value_len)) {
		*why = "value is not valid UTF-8";
		return false;
	}
	return true;
}

/* ---- node lifecycle --------------------------------------------------- */

/* Entry bytes, kept per node and in the engine's total (limits). */
static void
bytes_add(struct cc_node *n, uint64_t v)
{
	n->bytes += v;
	if (n->bytes_total != NULL)
		*n->bytes_total += v;
}

static void
bytes_sub(struct cc_node *n, uint64_t v)
{
	n->bytes -= v;
	if (n->bytes_total != NULL)
		*n->bytes_total -= v;
}

struct cc_node *
cc_node_new(const struct cc_id *id)
{
	struct cc_node *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	if (cc_id_copy(&n->id, id) == -1) {
		free(n);
		return NULL;
	}
	RB_INIT(&n->by_key);
	RB_INIT(&n->by_version);
	return n;
}

static void
entry_free(struct cc_entry *e)
{
	free((char *)e->kv.key);
	free((char *)e->kv.value);
	free(e);
}

void
cc_node_remove_entry(struct cc_node *n, struct cc_entry *e)
{
	RB_REMOVE(cc_key_tree, &n->by_key, e);
	RB_REMOVE(cc_version_tree, &n->by_version, e);
	n->n_stored--;
	bytes_sub(n, e->kv.key_len + e->kv.value_len);
	if (e->kv.status != CC_STATUS_DELETED)
		n->n_visible--;
	if (e->kv.status != CC_STATUS_SET)
		n->n_expiring--;
	entry_free(e);
}

void
cc_node_wipe(struct cc_node *n)
{
	struct cc_entry *e, *next;

	for (e = RB_MIN(cc_key_tree, &n->by_key); e != NULL; e = next) {
		next = RB_NEXT(cc_key_tree, &n->by_key, e);
		cc_node_remove_entry(n, e);
	}
	n->heartbeat = 0;
	n->max_version = 0;
	n->last_gc_version = 0;
}

void
cc_node_free(struct cc_node *n)
{
	if (n == NULL)
		return;
	cc_node_wipe(n);
	cc_fd_window_free(n->window);
	cc_id_clear(&n->id);
	free(n);
}

/* ---- lookups -------------------------------------------------------------- */

struct cc_entry *
cc_node_find(const struct cc_node *n, const char *key, size_t key_len)
{
	struct cc_entry probe;

	memset(&probe, 0, sizeof(probe));
	probe.kv.key = key;
	probe.kv.key_len = key_len;
	return RB_FIND(cc_key_tree, (struct cc_key_tree *)&n->by_key, &probe);
}

struct cc_entry *
cc_node_stale_first(const struct cc_node *n, uint64_t from)
{
	struct cc_entry probe;

	if (from == UINT64_MAX)
		return NULL;
	memset(&probe, 0, sizeof(probe));
	/* smallest (version, key) with version >= from + 1: key "" sorts first */
	probe.kv.version = from + 1;
	probe.kv.key = "";
	probe.kv.key_len = 0;
	return RB_NFIND(cc_version_tree, (struct cc_version_tree *)&n->by_version, &probe);
}

size_t
cc_node_count_stale(const struct cc_node *n, uint64_t from)
{
	struct cc_entry	*e;
	size_t		 count = 0;

	for (e = cc_node_stale_first(n, from); e != NULL;
	    e = RB_NEXT(cc_version_tree, &n->by_version, e))
		count++;
	return count;
}

/* ---- the store primitive (§2.7) ------------------------------------------ */

static char *
dup_bytes(const char *s, size_t len)
{
	char *p;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void
fire_store(struct cc_node *n, const struct cc_entry *e, bool local)
{
	if (n->engine != NULL)
		cc_engine_on_store(n->engine, n, &e->kv, local,
		    e->kv.status != CC_STATUS_DELETED);
}

/* Replaces e's value, version and status, keeping both trees ordered. */
static int
entry_update(struct cc_node *n, struct cc_entry *e, const char *value,
    size_t value_len, uint64_t version, enum cc_status status, cc_mtime_t now)
{
	char *v = NULL;

	if (value != e->kv.value) {
		if ((v = dup_bytes(value, value_len)) == NULL)
			return -1;
		free((char *)e->kv.value);
		bytes_sub(n, e->kv.value_len);
		bytes_add(n, value_len);
		e->kv.value = v;
		e->kv.value_len = value_len;
	}
	if (e->kv.status != CC_STATUS_DELETED)
		n->n_visible--;
	if (e->kv.status != CC_STATUS_SET)
		n->n_expiring--;
	RB_REMOVE(cc_version_tree, &n->by_version, e);
	e->kv.version = version;
	e->kv.status = status;
	e->kv.status_time = status == CC_STATUS_SET ? cc_mtime(0) : now;
	RB_INSERT(cc_version_tree, &n->by_version, e);
	if (status != CC_STATUS_DELETED)
		n->n_visible++;
	if (status != CC_STATUS_SET)
		n->n_expiring++;
	return 0;
}

static struct cc_entry *
entry_insert(struct cc_node *n, const char *key, size_t key_len,
    const char *value, size_t value_len, uint64_t version,
    enum cc_status status, cc_mtime_t now)
{
	struct cc_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->kv.key = dup_bytes(key, key_len);
	e->kv.value = dup_bytes(value, value_len);
	if (e->kv.key == NULL || e->kv.value == NULL) {
		entry_free(e);
		errno = ENOMEM;
		return NULL;
	}
	e->kv.key_len = key_len;
	e->kv.value_len = value_len;
	e->kv.version = version;
	e->kv.status = status;
	e->kv.status_time = status == CC_STATUS_SET ? cc_mtime(0) : now;
	RB_INSERT(cc_key_tree, &n->by_key, e);
	RB_INSERT(cc_version_tree, &n->by_version, e);
	n->n_stored++;
	bytes_add(n, key_len + value_len);
	if (status != CC_STATUS_DELETED)
		n->n_visible++;
	if (status != CC_STATUS_SET)
		n->n_expiring++;
	return e;
}

int
cc_node_store(struct cc_node *n, const char *key, size_t key_len,
    const char *value, size_t value_len, uint64_t version,
    enum cc_status status, cc_mtime_t now, bool local)
{
	struct cc_entry *e;

	/* raised even when the entry itself is older and ignored */
	if (version > n->max_version)
		n->max_version = version;
	e = cc_node_find(n, key, key_len);
	if (e != NULL && e->kv.version >= version)
		return 0;
	if (e != NULL) {
		if (entry_update(n, e, value, value_len, version, status, now) == -1)
			return -1;
	} else if ((e = entry_insert(n, key, key_len, value, value_len, version,
	    status, now)) == NULL)
		return -1;
	fire_store(n, e, local);
	return 1;
}

/* ---- owner operations (§2.6) ------------------------------------------------ */

static int
set_with_status(struct cc_node *n, const char *key, size_t key_len,
    const char *value, size_t value_len, enum cc_status status, cc_mtime_t now)
{
	struct cc_entry *e = cc_node_find(n, key, key_len);

	if (e != NULL && e->kv.status == status && e->kv.value_len == value_len &&
	    memcmp(e->kv.value, value, value_len) == 0)
		return 0;
	if (cc_node_store(n, key, key_len, value, value_len, n->max_version + 1,
	    status, now, true) == -1)
		return -1;
	return 1;
}

int
cc_node_set(struct cc_node *n, const char *key, size_t key_len,
    const char *value, size_t value_len, cc_mtime_t now)
{
	return set_with_status(n, key, key_len, value, value_len, CC_STATUS_SET, now);
}

int
cc_node_set_with_ttl(struct cc_node *n, const char *key, size_t key_len,
    const char *value, size_t value_len, cc_mtime_t now)
{
	return set_with_status(n, key, key_len, value, value_len,
	    CC_STATUS_DELETE_AFTER_TTL, now);
}

/*
 * delete and delete_after_ttl change the entry in place, with a new version
 * and no key-change event (chitchat fires none locally, §6.6). The engine
 * still reports them through CC_EVENT_KV so the daemon can notify watchers.
 */
static int
mark_entry(struct cc_node *n, const char *key, size_t key_len,
    enum cc_status status, cc_mtime_t now)
{
	struct cc_entry	*e = cc_node_find(n, key, key_len);
	const char	*value;
	size_t		 value_len;

	if (e == NULL)
		return 0;
	value = status == CC_STATUS_DELETED ? "" : e->kv.value;
	value_len = status == CC_STATUS_DELETED ? 0 : e->kv.value_len;
	n->max_version++;
	if (entry_update(n, e, value, value_len, n->max_version, status, now) == -1)
		return -1;
	if (n->engine != NULL)
		cc_engine_on_store(n->engine, n, &e->kv, true, false);
	return 1;
}

int
cc_node_delete(struct cc_node *n, const char *key, size_t key_len, cc_mtime_t now)
{
	return mark_entry(n, key, key_len, CC_STATUS_DELETED, now);
}

int
cc_node_delete_after_ttl(struct cc_node *n, const char *key, size_t key_len,
    cc_mtime_t now)
{
	return mark_entry(n, key, key_len, CC_STATUS_DELETE_AFTER_TTL, now);
}

/* ---- entry GC (§6.4) ------------------------------------------------------ */

size_t
cc_node_gc_expired(struct cc_node *n, uint64_t grace_ms, cc_mtime_t now)
{
	struct cc_entry	*e, *next;
	uint64_t	 gc = n->last_gc_version;
	size_t		 removed = 0;

	if (n->n_expiring == 0)
		return 0;
	for (e = RB_MIN(cc_key_tree, &n->by_key); e != NULL; e = next) {
		next = RB_NEXT(cc_key_tree, &n->by_key, e);
		if (e->kv.status == CC_STATUS_SET)
			continue;
		/* kept while now < t + grace: the boundary counts as expired */
		if (now.ms < e->kv.status_time.ms + grace_ms)
			continue;
		if (e->kv.version > gc)
			gc = e->kv.version;
		cc_node_remove_entry(n, e);
		removed++;
	}
	n->last_gc_version = gc;
	return removed;
}

/* ---- delta application (§4.5) ------------------------------------------- */

enum cc_delta_status
cc_node_check_delta(const struct cc_node *n, const struct cc_node_delta *nd)
{
	bool compatible;

	if (nd->from_version_excluded > n->max_version)
		return CC_DELTA_REJECT;
	compatible = nd->last_gc_version <= n->last_gc_version ||
	    nd->last_gc_version <= n->max_version;
	if (!compatible) {
		if (nd->from_version_excluded != 0)
			return CC_DELTA_REJECT;
		return CC_DELTA_APPLY_AFTER_RESET;
	}
	if (n->max_version < nd->max_version)
		return CC_DELTA_APPLY;
	return CC_DELTA_REJECT;
}

/*
 * Whether storing kv would break a limit. Only a write counts: an entry
 * the store primitive would ignore (not newer than the stored one) passes.
 */
static enum cc_limit_hit
limit_check(const struct cc_node *n, const struct cc_kv_op *kv,
    const struct cc_node_limits *lim)
{
	struct cc_entry	*e = cc_node_find(n, kv->key, kv->key_len);
	uint64_t	 growth, held;

	if (e != NULL && e->kv.version >= kv->version)
		return CC_LIMIT_NONE;
	if (e == NULL && n->n_stored >= lim->max_keys)
		return CC_LIMIT_KEYS;
	if (e == NULL)
		growth = (uint64_t)kv->key_len + kv->value_len;
	else
		growth = kv->value_len > e->kv.value_len ?
		    kv->value_len - e->kv.value_len : 0;
	if (growth == 0)
		return CC_LIMIT_NONE;
	held = lim->other_bytes + n->bytes;
	if (held > lim->max_bytes || growth > lim->max_bytes - held)
		return CC_LIMIT_BYTES;
	return CC_LIMIT_NONE;
}

int
cc_node_apply_delta(struct cc_node *n, const struct cc_node_delta *nd,
    cc_mtime_t now, bool *reset, enum cc_delta_status *status_out)
{
	return cc_node_apply_delta_limited(n, nd, now, NULL, reset, status_out);
}

int
cc_node_apply_delta_limited(struct cc_node *n, const struct cc_node_delta *nd,
    cc_mtime_t now, struct cc_node_limits *lim, bool *reset,
    enum cc_delta_status *status_out)
{
	enum cc_delta_status	 status = cc_node_check_delta(n, nd);
	uint64_t		 floor;

	*reset = false;
	if (lim != NULL)
		lim->hit = CC_LIMIT_NONE;
	if (status_out != NULL)
		*status_out = status;
	if (status == CC_DELTA_REJECT)
		return 0;
	if (status == CC_DELTA_APPLY_AFTER_RESET) {
		cc_node_wipe(n);
		n->last_gc_version = nd->last_gc_version;
		*reset = true;
	}
	floor = n->max_version;
	for (size_t i = 0; i < nd->n_kvs; i++) {
		const struct cc_kv_op *kv = &nd->kvs[i];

		if (kv->version <= floor)
			continue;
		/* would bring back an entry we already purged */
		if (kv->status != CC_STATUS_SET && kv->version <= n->last_gc_version)
			continue;
		if (lim != NULL && (lim->hit = limit_check(n, kv, lim)) != CC_LIMIT_NONE)
			return 0;	/* max_version stays what the stored entries made it */
		if (cc_node_store(n, kv->key, kv->key_len, kv->value, kv->value_len,
		    kv->version, (enum cc_status)kv->status, now, false) == -1)
			return -1;
	}
	/*
	 * Rust asserts nd.max >= max_version here. The decoder rejects the only
	 * wire input that could break it (SET_MAX_VERSION below a KV), so
	 * keep the larger value rather than abort, should it ever happen.
	 */
	if (nd->max_version >= n->max_version)
		n->max_version = nd->max_version;
	return 0;
}
