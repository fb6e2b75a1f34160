/*
 * cc_delta.c: what to send a peer, given its digest (PROTOCOL.md §4.4).
 *
 * Nodes the peer lacks or must reset come first, smallest max_version
 * first (so small new nodes spread fast); then nodes the peer knows, most
 * stale entries first; ties are shuffled. Each node's stale entries go in
 * version order, and the whole delta stops at the first operation that
 * does not fit the budget, exactly as chitchat does: truncation points are
 * observable by peers and tests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc_state.h"

/* ---- digest index ------------------------------------------------------ */

static int
digest_ptr_cmp(const void *a, const void *b)
{
	const struct cc_digest_entry *const *x = a;
	const struct cc_digest_entry *const *y = b;
	int c = cc_id_cmp(&(*x)->id, &(*y)->id);

	if (c != 0)
		return c;
	/* same id: keep wire order, so the last one is the later entry */
	return *x < *y ? -1 : (*x > *y);
}

int
cc_digest_index_init(struct cc_digest_index *ix, const struct cc_digest *d)
{
	size_t out = 0;

	ix->n = 0;
	ix->sorted = NULL;
	if (d->n == 0)
		return 0;
	if ((ix->sorted = calloc(d->n, sizeof(*ix->sorted))) == NULL)
		return -1;
	for (size_t i = 0; i < d->n; i++)
		ix->sorted[i] = &d->entries[i];
	/*
	 * Digests normally arrive in ChitchatId order with no repeated id
	 * (chitchat sends a BTreeMap, and so do we): then n - 1 comparisons
	 * prove it and the sort is skipped (it was ~10% of an idle daemon's
	 * CPU at N = 100, bench/cluster.py).
	 */
	size_t k = 1;

	while (k < d->n && cc_id_cmp(&d->entries[k - 1].id, &d->entries[k].id) < 0)
		k++;
	if (k == d->n) {
		ix->n = d->n;
		return 0;
	}
	qsort(ix->sorted, d->n, sizeof(*ix->sorted), digest_ptr_cmp);
	/* keep the last of each run of equal ids: the later entry wins */
	for (size_t i = 0; i < d->n; i++) {
		if (i + 1 < d->n && cc_id_is_equal(&ix->sorted[i]->id,
		    &ix->sorted[i + 1]->id))
			continue;
		ix->sorted[out++] = ix->sorted[i];
	}
	ix->n = out;
	return 0;
}

void
cc_digest_index_clear(struct cc_digest_index *ix)
{
	free(ix->sorted);
	ix->sorted = NULL;
	ix->n = 0;
}

const struct cc_digest_entry *
cc_digest_index_find(const struct cc_digest_index *ix, const struct cc_id *id)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = cc_id_cmp(&ix->sorted[mid]->id, id);

		if (c == 0)
			return ix->sorted[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- candidates ----------------------------------------------------------- */

/* Highest priority first: UNKNOWN before KNOWN; UNKNOWN by smaller
 * max_version; KNOWN by larger stale count. */
static int
candidate_cmp(const void *a, const void *b)
{
	const struct cc_stale_candidate *x = a, *y = b;

	if (x->unknown != y->unknown)
		return x->unknown ? -1 : 1;
	if (x->key == y->key)
		return 0;
	if (x->unknown)
		return x->key < y->key ? -1 : 1;
	return x->key > y->key ? -1 : 1;
}

static bool
same_priority(const struct cc_stale_candidate *x, const struct cc_stale_candidate *y)
{
	return x->unknown == y->unknown && x->key == y->key;
}

static void
shuffle_ties(struct cc_stale_candidate *v, size_t n,
    uint32_t (*rand_u32)(void *), void *rand_arg)
{
	size_t start = 0;

	if (rand_u32 == NULL)
		return;
	while (start < n) {
		size_t end = start + 1;

		while (end < n && same_priority(&v[start], &v[end]))
			end++;
		for (size_t i = end - start; i > 1; i--) {
			size_t				j = cc_rand_index(rand_u32, rand_arg, i);
			struct cc_stale_candidate	t = v[start + i - 1];

			v[start + i - 1] = v[start + j];
			v[start + j] = t;
		}
		start = end;
	}
}

int
cc_stale_candidates(struct cc_node_tree *nodes, const struct cc_digest_index *ix,
    bool (*skip)(const struct cc_node *, void *), void *skip_arg,
    uint32_t (*rand_u32)(void *), void *rand_arg,
    struct cc_stale_candidate **out, size_t *n_out)
{
	struct cc_stale_candidate	*v = NULL;
	size_t				 n = 0, cap = 0;
	struct cc_node			*ns;
	size_t				 j = 0;

	/* the tree and the index are both in ChitchatId order: one merge walk */
	RB_FOREACH(ns, cc_node_tree, nodes) {
		const struct cc_digest_entry	*d = NULL;
		uint64_t			 d_gc = 0, d_max = 0;
		struct cc_stale_candidate	 c;
		int				 cmp = 1;

		while (j < ix->n && (cmp = cc_id_cmp(&ix->sorted[j]->id, &ns->id)) < 0)
			j++;
		if (j < ix->n && cmp == 0)
			d = ix->sorted[j];
		if (skip != NULL && skip(ns, skip_arg))
			continue;
		if (d != NULL) {
			d_gc = d->last_gc_version;
			d_max = d->max_version;
		}
		if (ns->max_version <= d_max)
			continue;	/* the peer is not behind */
		c.node = ns;
		c.reset = d_gc < ns->last_gc_version && d_max < ns->last_gc_version;
		c.from = c.reset ? 0 : d_max;
		c.unknown = c.from == 0;
		c.key = c.unknown ? ns->max_version : cc_node_count_stale(ns, c.from);
		if (n == cap) {
			size_t				 ncap = cap ? cap * 2 : 16;
			struct cc_stale_candidate	*nv = realloc(v, ncap * sizeof(*nv));

			if (nv == NULL) {
				free(v);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = c;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), candidate_cmp);
	shuffle_ties(v, n, rand_u32, rand_arg);
	*out = v;
	*n_out = n;
	return 0;
}

/* ---- the delta ------------------------------------------------------------ */

/*
 * A visible entry whose key starts with a byte >= 0x80 makes a Rust peer
 * panic when it stores it (§2.9 item 3). Our API refuses such keys, but a
 * hostile node can still gossip one to us: we keep it, and never relay it.
 * Skipping it is safe: if no other entry goes out for the node, the
 * SET_MAX_VERSION below still brings the peer's max up to date.
 */
bool
cc_entry_is_relayable(const struct cc_entry *e)
{
	return e->kv.status == CC_STATUS_DELETED || e->kv.key_len == 0 ||
	    (unsigned char)e->kv.key[0] < 0x80;
}

/* Adds one node delta; false when the delta must stop here. */
static bool
add_node_delta(struct cc_delta_writer *w, const struct cc_stale_candidate *c)
{
	struct cc_node	*ns = c->node;
	struct cc_entry	*e;
	bool		 added = false;

	if (!cc_dw_add_node(w, &ns->id, ns->last_gc_version, c->from))
		return false;
	for (e = cc_node_stale_first(ns, c->from); e != NULL;
	    e = RB_NEXT(cc_version_tree, &ns->by_version, e)) {
		if (!cc_entry_is_relayable(e))
			continue;
		if (!cc_dw_add_kv(w, e->kv.key, e->kv.key_len, e->kv.value,
		    e->kv.value_len, e->kv.version, (uint8_t)e->kv.status))
			return false;
		added = true;
	}
	if (!added)
		(void)cc_dw_add_set_max_version(w, ns->max_version);
	return true;
}

int
cc_compute_delta_report(struct cc_node_tree *nodes, const struct cc_digest_index *ix,
    size_t mtu, bool (*skip)(const struct cc_node *, void *), void *skip_arg,
    uint32_t (*rand_u32)(void *), void *rand_arg,
    struct cc_codec_ctx *ctx, struct cc_wbuf *dst, struct cc_delta_report *rep)
{
	struct cc_delta_writer		 w;
	struct cc_stale_candidate	*cands = NULL;
	size_t				 n = 0, i;
	int				 rc;

	memset(rep, 0, sizeof(*rep));
	if (mtu < CC_MIN_DELTA_MTU) {
		/* [C-CHOICE] §3.4: Rust would panic; an empty delta is safe */
		cc_wbuf_u8(dst, CC_BLOCK_END);
		return dst->err ? -1 : 0;
	}
	if (cc_stale_candidates(nodes, ix, skip, skip_arg, rand_u32, rand_arg,
	    &cands, &n) == -1)
		return -1;
	if (cc_dw_init(&w, mtu, ctx) == -1) {
		free(cands);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (cands[i].reset)
			rep->n_resets++;
		if (!add_node_delta(&w, &cands[i]))
			break;
	}
	rep->truncated = i < n;
	rc = cc_dw_finish(&w, dst);
	cc_dw_clear(&w);
	free(cands);
	return rc;
}

int
cc_compute_delta(struct cc_node_tree *nodes, const struct cc_digest_index *ix,
    size_t mtu, bool (*skip)(const struct cc_node *, void *), void *skip_arg,
    uint32_t (*rand_u32)(void *), void *rand_arg,
    struct cc_codec_ctx *ctx, struct cc_wbuf *dst, size_t *n_resets)
{
	struct cc_delta_report	rep;
	int			rc;

	rc = cc_compute_delta_report(nodes, ix, mtu, skip, skip_arg, rand_u32,
	    rand_arg, ctx, dst, &rep);
	if (n_resets != NULL)
		*n_resets = rep.n_resets;
	return rc;
}
