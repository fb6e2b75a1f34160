/*
 * memnet.c: deterministic in-memory network of chitchat engines (see
 * memnet.h for the model).
 *
 * Messages in flight sit in one binary heap ordered by (delivery time,
 * sequence number), so runs are reproducible bit for bit: the sequence
 * number breaks ties in send order. Each node owns a bounded inbox that is
 * filled with the messages due at the current instant and then drained
 * into its engine. Node deadlines are kept as returned by cc_engine_tick().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memnet.h"

struct mn_msg {
	uint64_t	 at;
	uint64_t	 seq;
	struct cc_addr	 from;
	struct cc_addr	 to;
	uint8_t		*buf;
	size_t		 len;
};

struct mn_link {
	struct cc_addr	a;	/* a <= b (cc_addr_cmp) */
	struct cc_addr	b;
};

struct mn_node {
	struct memnet		*net;
	int			 idx;
	bool			 running;
	struct cc_engine	*eng;
	struct cc_env		 env;
	struct cc_id		 id;		/* current or last incarnation */
	uint64_t		 rng;
	uint64_t		 next_tick;
	uint32_t		 incarnation;
	struct mn_msg		*inbox;
	size_t			 n_inbox;
	size_t			 cap_inbox;
	struct cc_id		*watch;
	size_t			 n_watch;
	size_t			 watch_max;
	uint64_t		 watch_events;
	uint64_t		 catchups;
	struct memnet_counters	 ctr;
};

struct memnet {
	struct memnet_config	 cfg;
	uint64_t		 now;
	uint64_t		 rng;
	uint64_t		 seq;
	struct mn_node		**nodes;
	size_t			 n_nodes;
	size_t			 cap_nodes;
	struct mn_msg		*heap;
	size_t			 n_heap;
	size_t			 cap_heap;
	struct mn_link		*cuts;		/* sorted */
	size_t			 n_cuts;
	size_t			 cap_cuts;
	struct memnet_counters	 ctr;
	struct memnet_catchup	*catchups;
	size_t			 n_catchups;
	size_t			 cap_catchups;
	memnet_event_fn		 hook;
	void			*hook_arg;
};

uint64_t		 memnet_current_seed;
static struct memnet	*memnet_current;

uint64_t
memnet_current_time(void)
{
	return memnet_current != NULL ? memnet_current->now : 0;
}

/* ---- randomness -------------------------------------------------------- */

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t
stream_seed(uint64_t seed, uint64_t a, uint64_t b)
{
	uint64_t s = seed ^ (a * 0xD1B54A32D192ED03ULL) ^ (b * 0xABC98388FB8FAC03ULL);
	uint64_t r = splitmix64(&s);

	return r != 0 ? r : 0x9E3779B97F4A7C15ULL;
}

/* xorshift64* */
static uint32_t
xs_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

uint32_t
memnet_rand_u32(struct memnet *net)
{
	return xs_next(&net->rng);
}

double
memnet_rand_unit(struct memnet *net)
{
	uint64_t hi = memnet_rand_u32(net) >> 5, lo = memnet_rand_u32(net) >> 6;

	return (double)((hi << 26) | lo) / 9007199254740992.0;
}

uint64_t
memnet_rand_range(struct memnet *net, uint64_t lo, uint64_t hi)
{
	uint64_t span, r;

	if (hi <= lo)
		return lo;
	span = hi - lo + 1;
	r = ((uint64_t)memnet_rand_u32(net) << 32) | memnet_rand_u32(net);
	return lo + (span == 0 ? r : r % span);
}

/* ---- helpers ------------------------------------------------------------- */

static void *
xrealloc(void *p, size_t n, size_t size)
{
	void *q = realloc(p, n * size);

	MN_ASSERT(q != NULL, "memnet: out of memory");
	return q;
}

static void
msg_free(struct mn_msg *m)
{
	free(m->buf);
	m->buf = NULL;
}

static void
counters_add(struct memnet_counters *dst, size_t off, uint64_t v)
{
	*(uint64_t *)((char *)dst + off) += v;
}

#define CTR(net, node, field, v) do {						\
	counters_add(&(net)->ctr, offsetof(struct memnet_counters, field), (v));	\
	if ((node) != NULL)							\
		counters_add(&(node)->ctr, offsetof(struct memnet_counters, field), (v)); \
} while (0)

static struct mn_node *
node_at(const struct memnet *net, const struct cc_addr *a)
{
	for (size_t i = 0; i < net->n_nodes; i++) {
		struct mn_node *n = net->nodes[i];

		if (n->running && n->id.addr.port == a->port &&
		    cc_addr_is_equal(&n->id.addr, a))
			return n;
	}
	return NULL;
}

static struct mn_node *
node_of(const struct memnet *net, int i)
{
	MN_ASSERT(i >= 0 && (size_t)i < net->n_nodes, "memnet: no node %d", i);
	return net->nodes[i];
}

/* ---- heap of messages in flight ------------------------------------------- */

static bool
msg_before(const struct mn_msg *a, const struct mn_msg *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
heap_push(struct memnet *net, const struct mn_msg *m)
{
	size_t i;

	if (net->n_heap == net->cap_heap) {
		net->cap_heap = net->cap_heap ? net->cap_heap * 2 : 256;
		net->heap = xrealloc(net->heap, net->cap_heap, sizeof(*net->heap));
	}
	i = net->n_heap++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!msg_before(m, &net->heap[parent]))
			break;
		net->heap[i] = net->heap[parent];
		i = parent;
	}
	net->heap[i] = *m;
}

static void
heap_pop(struct memnet *net, struct mn_msg *out)
{
	struct mn_msg	last;
	size_t		i = 0;

	*out = net->heap[0];
	last = net->heap[--net->n_heap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct mn_msg *best = &last;

		if (l < net->n_heap && msg_before(&net->heap[l], best)) {
			m = l;
			best = &net->heap[l];
		}
		if (r < net->n_heap && msg_before(&net->heap[r], best))
			m = r;
		if (m == i)
			break;
		net->heap[i] = net->heap[m];
		i = m;
	}
	if (net->n_heap > 0)
		net->heap[i] = last;
}

/* ---- links ------------------------------------------------------------------ */

static void
link_norm(struct mn_link *l, const struct cc_addr *a, const struct cc_addr *b)
{
	if (cc_addr_cmp(a, b) <= 0) {
		l->a = *a;
		l->b = *b;
	} else {
		l->a = *b;
		l->b = *a;
	}
}

static int
link_cmp(const struct mn_link *x, const struct mn_link *y)
{
	int c = cc_addr_cmp(&x->a, &y->a);

	return c != 0 ? c : cc_addr_cmp(&x->b, &y->b);
}

/* Index of the link, or of where it would go (*found says which). */
static size_t
link_find(const struct memnet *net, const struct mn_link *l, bool *found)
{
	size_t lo = 0, hi = net->n_cuts;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = link_cmp(&net->cuts[mid], l);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

bool
memnet_is_cut(const struct memnet *net, const struct cc_addr *a, const struct cc_addr *b)
{
	struct mn_link	l;
	bool		found;

	if (net->n_cuts == 0)
		return false;
	link_norm(&l, a, b);
	(void)link_find(net, &l, &found);
	return found;
}

void
memnet_cut_addr(struct memnet *net, const struct cc_addr *a, const struct cc_addr *b)
{
	struct mn_link	l;
	bool		found;
	size_t		at;

	link_norm(&l, a, b);
	at = link_find(net, &l, &found);
	if (found)
		return;
	if (net->n_cuts == net->cap_cuts) {
		net->cap_cuts = net->cap_cuts ? net->cap_cuts * 2 : 16;
		net->cuts = xrealloc(net->cuts, net->cap_cuts, sizeof(*net->cuts));
	}
	memmove(&net->cuts[at + 1], &net->cuts[at], (net->n_cuts - at) * sizeof(l));
	net->cuts[at] = l;
	net->n_cuts++;
}

void
memnet_restore_addr(struct memnet *net, const struct cc_addr *a, const struct cc_addr *b)
{
	struct mn_link	l;
	bool		found;
	size_t		at;

	link_norm(&l, a, b);
	at = link_find(net, &l, &found);
	if (!found)
		return;
	memmove(&net->cuts[at], &net->cuts[at + 1], (net->n_cuts - at - 1) * sizeof(l));
	net->n_cuts--;
}

void
memnet_cut(struct memnet *net, int a, int b)
{
	memnet_cut_addr(net, &node_of(net, a)->id.addr, &node_of(net, b)->id.addr);
}

void
memnet_restore(struct memnet *net, int a, int b)
{
	memnet_restore_addr(net, &node_of(net, a)->id.addr, &node_of(net, b)->id.addr);
}

void
memnet_partition(struct memnet *net, const int *a, size_t na, const int *b, size_t nb)
{
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			if (a[i] != b[j])
				memnet_cut(net, a[i], b[j]);
}

void
memnet_heal(struct memnet *net)
{
	net->n_cuts = 0;
}

/* ---- sending and delivery --------------------------------------------------- */

static int
net_send(struct memnet *net, struct mn_node *sender, const struct cc_addr *from,
    const struct cc_addr *to, const uint8_t *buf, size_t len)
{
	int copies = 1;

	if (len > net->cfg.mtu) {
		CTR(net, sender, send_errors, 1);
		errno = EMSGSIZE;
		return -1;
	}
	CTR(net, sender, sent, 1);
	CTR(net, sender, sent_bytes, len);
	if (memnet_is_cut(net, from, to)) {
		CTR(net, sender, cut, 1);
		return 0;
	}
	if (net->cfg.loss > 0 && memnet_rand_unit(net) < net->cfg.loss) {
		CTR(net, sender, lost, 1);
		return 0;
	}
	if (net->cfg.dup > 0 && memnet_rand_unit(net) < net->cfg.dup) {
		CTR(net, sender, duplicated, 1);
		copies = 2;
	}
	for (int c = 0; c < copies; c++) {
		struct mn_msg m;

		m.at = net->now + memnet_rand_range(net, net->cfg.latency_min_ms,
		    net->cfg.latency_max_ms);
		m.seq = net->seq++;
		m.from = *from;
		m.to = *to;
		m.len = len;
		m.buf = malloc(len ? len : 1);
		MN_ASSERT(m.buf != NULL, "memnet: out of memory");
		memcpy(m.buf, buf, len);
		heap_push(net, &m);
	}
	return 0;
}

int
memnet_send_raw(struct memnet *net, const struct cc_addr *from,
    const struct cc_addr *to, const uint8_t *buf, size_t len)
{
	return net_send(net, node_at(net, from), from, to, buf, len);
}

/* Moves every message due now into its receiver's queue. */
static void
deliver_due(struct memnet *net)
{
	while (net->n_heap > 0 && net->heap[0].at <= net->now) {
		struct mn_msg	 m;
		struct mn_node	*rx;

		heap_pop(net, &m);
		if ((rx = node_at(net, &m.to)) == NULL) {
			CTR(net, (struct mn_node *)NULL, unbound, 1);
			msg_free(&m);
			continue;
		}
		if (memnet_is_cut(net, &m.from, &m.to)) {
			CTR(net, rx, cut, 1);
			msg_free(&m);
			continue;
		}
		if (rx->n_inbox >= net->cfg.queue_cap) {
			CTR(net, rx, queue_full, 1);
			msg_free(&m);
			continue;
		}
		if (rx->n_inbox == rx->cap_inbox) {
			rx->cap_inbox = rx->cap_inbox ? rx->cap_inbox * 2 : 16;
			rx->inbox = xrealloc(rx->inbox, rx->cap_inbox, sizeof(*rx->inbox));
		}
		rx->inbox[rx->n_inbox++] = m;
	}
}

static void
drain_all(struct memnet *net)
{
	for (size_t i = 0; i < net->n_nodes; i++) {
		struct mn_node *n = net->nodes[i];

		for (size_t k = 0; k < n->n_inbox; k++) {
			struct mn_msg *m = &n->inbox[k];

			if (n->running) {
				CTR(net, n, delivered, 1);
				CTR(net, n, delivered_bytes, m->len);
				if (cc_engine_recv(n->eng, &m->from, m->buf, m->len) == -1)
					CTR(net, n, decode_errors, 1);
			}
			msg_free(m);
		}
		n->n_inbox = 0;
	}
}

static void
tick_due(struct memnet *net)
{
	for (size_t i = 0; i < net->n_nodes; i++) {
		struct mn_node *n = net->nodes[i];

		if (!n->running || n->next_tick > net->now)
			continue;
		n->next_tick = cc_engine_tick(n->eng).ms;
		MN_ASSERT(n->next_tick > net->now,
		    "memnet: node %d: tick returned a deadline in the past", n->idx);
	}
}

static uint64_t
next_event_time(const struct memnet *net)
{
	uint64_t t = UINT64_MAX;

	if (net->n_heap > 0)
		t = net->heap[0].at;
	for (size_t i = 0; i < net->n_nodes; i++)
		if (net->nodes[i]->running && net->nodes[i]->next_tick < t)
			t = net->nodes[i]->next_tick;
	return t;
}

void
memnet_run_until(struct memnet *net, uint64_t t_ms)
{
	for (;;) {
		uint64_t t = next_event_time(net);

		if (t > t_ms)
			break;
		if (t > net->now)
			net->now = t;
		do {
			deliver_due(net);
			drain_all(net);
		} while (net->n_heap > 0 && net->heap[0].at <= net->now);
		tick_due(net);
	}
	if (t_ms > net->now)
		net->now = t_ms;
}

void
memnet_run_for(struct memnet *net, uint64_t d_ms)
{
	memnet_run_until(net, net->now + d_ms);
}

bool
memnet_run_until_pred(struct memnet *net, memnet_pred_fn pred, void *arg,
    uint64_t timeout_ms)
{
	uint64_t deadline = net->now + timeout_ms;
	uint64_t poll = net->cfg.poll_ms ? net->cfg.poll_ms : 100;

	for (;;) {
		if (pred(net, arg))
			return true;
		if (net->now >= deadline)
			return false;
		memnet_run_until(net, net->now + poll < deadline ? net->now + poll : deadline);
	}
}

/* ---- the engines' environment ------------------------------------------------- */

static cc_mtime_t
env_now(void *arg)
{
	struct mn_node *n = arg;

	return cc_mtime(n->net->now);
}

static uint32_t
env_random(void *arg)
{
	struct mn_node *n = arg;

	return xs_next(&n->rng);
}

static int
env_send(void *arg, const struct cc_addr *to, const uint8_t *buf, size_t len)
{
	struct mn_node *n = arg;

	return net_send(n->net, n, &n->id.addr, to, buf, len);
}

static void
watch_clear(struct mn_node *n)
{
	for (size_t i = 0; i < n->n_watch; i++)
		cc_id_clear(&n->watch[i]);
	free(n->watch);
	n->watch = NULL;
	n->n_watch = 0;
}

static void
env_event(void *arg, const struct cc_event *ev)
{
	struct mn_node	*n = arg;
	struct memnet	*net = n->net;

	switch (ev->type) {
	case CC_EVENT_LIVE_NODES:
		watch_clear(n);
		if (ev->n_live > 0) {
			n->watch = xrealloc(NULL, ev->n_live, sizeof(*n->watch));
			for (size_t i = 0; i < ev->n_live; i++)
				MN_EQ_I(cc_id_copy(&n->watch[i], ev->live[i]), 0);
		}
		n->n_watch = ev->n_live;
		if (ev->n_live > n->watch_max)
			n->watch_max = ev->n_live;
		n->watch_events++;
		break;
	case CC_EVENT_CATCHUP:
		n->catchups++;
		if (net->n_catchups == net->cap_catchups) {
			net->cap_catchups = net->cap_catchups ? net->cap_catchups * 2 : 16;
			net->catchups = xrealloc(net->catchups, net->cap_catchups,
			    sizeof(*net->catchups));
		}
		net->catchups[net->n_catchups].t_ms = net->now;
		net->catchups[net->n_catchups].node = n->idx;
		net->n_catchups++;
		break;
	default:
		break;
	}
	if (net->hook != NULL)
		net->hook(net, n->idx, ev, net->hook_arg);
}

/* ---- nodes ---------------------------------------------------------------------- */

static int
node_start(struct memnet *net, struct mn_node *n, const struct cc_config *cfg)
{
	struct cc_engine *e;

	if (node_at(net, &cfg->self.addr) != NULL) {
		errno = EADDRINUSE;
		return -1;
	}
	n->incarnation++;
	n->rng = stream_seed(net->cfg.seed, (uint64_t)n->idx + 1, n->incarnation);
	n->env.now = env_now;
	n->env.random_u32 = env_random;
	n->env.send = env_send;
	n->env.event = env_event;
	n->env.log = NULL;
	n->env.arg = n;
	cc_id_clear(&n->id);
	MN_EQ_I(cc_id_copy(&n->id, &cfg->self), 0);
	watch_clear(n);
	n->watch_max = 0;
	n->watch_events = 0;
	n->running = true;	/* events may fire from cc_engine_new */
	if ((e = cc_engine_new(cfg, &n->env)) == NULL) {
		n->running = false;
		return -1;
	}
	n->eng = e;
	n->next_tick = net->now;	/* the first round runs at once */
	return 0;
}

int
memnet_add_node(struct memnet *net, const struct cc_config *cfg)
{
	struct mn_node *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -1;
	n->net = net;
	n->idx = (int)net->n_nodes;
	if (net->n_nodes == net->cap_nodes) {
		net->cap_nodes = net->cap_nodes ? net->cap_nodes * 2 : 16;
		net->nodes = xrealloc(net->nodes, net->cap_nodes, sizeof(*net->nodes));
	}
	net->nodes[net->n_nodes++] = n;	/* before the engine: events name it */
	if (node_start(net, n, cfg) == -1) {
		int saved = errno;

		net->n_nodes--;
		cc_id_clear(&n->id);
		free(n);
		errno = saved;
		return -1;
	}
	return n->idx;
}

void
memnet_stop(struct memnet *net, int i)
{
	struct mn_node *n = node_of(net, i);

	if (!n->running)
		return;
	cc_engine_free(n->eng);
	n->eng = NULL;
	n->running = false;
	for (size_t k = 0; k < n->n_inbox; k++)
		msg_free(&n->inbox[k]);
	n->n_inbox = 0;
	watch_clear(n);
}

int
memnet_restart(struct memnet *net, int i, const struct cc_config *cfg)
{
	struct mn_node *n = node_of(net, i);

	if (n->running) {
		errno = EBUSY;
		return -1;
	}
	return node_start(net, n, cfg);
}

size_t
memnet_num_nodes(const struct memnet *net)
{
	return net->n_nodes;
}

bool
memnet_is_running(const struct memnet *net, int i)
{
	return node_of(net, i)->running;
}

struct cc_engine *
memnet_engine(const struct memnet *net, int i)
{
	return node_of(net, i)->eng;
}

const struct cc_id *
memnet_id(const struct memnet *net, int i)
{
	return &node_of(net, i)->id;
}

int
memnet_node_at(const struct memnet *net, const struct cc_addr *a)
{
	struct mn_node *n = node_at(net, a);

	return n != NULL ? n->idx : -1;
}

void
memnet_set_event_hook(struct memnet *net, memnet_event_fn fn, void *arg)
{
	net->hook = fn;
	net->hook_arg = arg;
}

/* ---- lifecycle ------------------------------------------------------------------- */

void
memnet_config_default(struct memnet_config *cfg, uint64_t seed)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = seed;
	cfg->start_ms = 1000000;
	cfg->latency_min_ms = 1;
	cfg->latency_max_ms = 5;
	cfg->queue_cap = MEMNET_QUEUE_CAP;
	cfg->mtu = MEMNET_MTU;
	cfg->poll_ms = 100;
}

struct memnet *
memnet_new(const struct memnet_config *cfg)
{
	struct memnet *net;

	if ((net = calloc(1, sizeof(*net))) == NULL)
		return NULL;
	net->cfg = *cfg;
	net->now = cfg->start_ms;
	net->rng = stream_seed(cfg->seed, 0, 0);
	memnet_current = net;
	memnet_current_seed = cfg->seed;
	return net;
}

void
memnet_free(struct memnet *net)
{
	if (net == NULL)
		return;
	for (size_t i = 0; i < net->n_nodes; i++) {
		struct mn_node *n = net->nodes[i];

		memnet_stop(net, (int)i);
		free(n->inbox);
		cc_id_clear(&n->id);
		free(n);
	}
	free(net->nodes);
	for (size_t i = 0; i < net->n_heap; i++)
		msg_free(&net->heap[i]);
	free(net->heap);
	free(net->cuts);
	free(net->catchups);
	if (memnet_current == net)
		memnet_current = NULL;
	free(net);
}

struct memnet_config *
memnet_cfg(struct memnet *net)
{
	return &net->cfg;
}

uint64_t
memnet_now(const struct memnet *net)
{
	return net->now;
}

uint64_t
memnet_seed(const struct memnet *net)
{
	return net->cfg.seed;
}

/* ---- observations ------------------------------------------------------------------ */

const struct memnet_counters *
memnet_counters(const struct memnet *net)
{
	return &net->ctr;
}

const struct memnet_counters *
memnet_node_counters(const struct memnet *net, int i)
{
	return &node_of(net, i)->ctr;
}

size_t
memnet_watch_len(const struct memnet *net, int i)
{
	return node_of(net, i)->n_watch;
}

const struct cc_id *
memnet_watch_id(const struct memnet *net, int i, size_t k)
{
	struct mn_node *n = node_of(net, i);

	return k < n->n_watch ? &n->watch[k] : NULL;
}

bool
memnet_watch_has(const struct memnet *net, int i, const struct cc_id *id)
{
	struct mn_node *n = node_of(net, i);

	for (size_t k = 0; k < n->n_watch; k++)
		if (cc_id_is_equal(&n->watch[k], id))
			return true;
	return false;
}

size_t
memnet_watch_max_len(const struct memnet *net, int i)
{
	return node_of(net, i)->watch_max;
}

uint64_t
memnet_watch_events(const struct memnet *net, int i)
{
	return node_of(net, i)->watch_events;
}

bool
memnet_watch_is(const struct memnet *net, int i, const struct cc_id *const *ids, size_t n)
{
	if (memnet_watch_len(net, i) != n)
		return false;
	for (size_t k = 0; k < n; k++)
		if (!memnet_watch_has(net, i, ids[k]))
			return false;
	return true;
}

size_t
memnet_num_catchups(const struct memnet *net)
{
	return net->n_catchups;
}

const struct memnet_catchup *
memnet_catchup(const struct memnet *net, size_t k)
{
	return k < net->n_catchups ? &net->catchups[k] : NULL;
}

uint64_t
memnet_node_catchups(const struct memnet *net, int i)
{
	return node_of(net, i)->catchups;
}

/* ---- reads and writes by node index ------------------------------------------------ */

const struct cc_node *
memnet_replica(const struct memnet *net, int i, int j)
{
	struct mn_node *ni = node_of(net, i), *nj = node_of(net, j);

	if (!ni->running)
		return NULL;
	return cc_engine_node(ni->eng, &nj->id);
}

const struct cc_kv *
memnet_get(const struct memnet *net, int i, int j, const char *key)
{
	const struct cc_node *n = memnet_replica(net, i, j);

	return n != NULL ? cc_node_get(n, key, strlen(key)) : NULL;
}

const struct cc_kv *
memnet_get_versioned(const struct memnet *net, int i, int j, const char *key)
{
	const struct cc_node *n = memnet_replica(net, i, j);

	return n != NULL ? cc_node_get_versioned(n, key, strlen(key)) : NULL;
}

bool
memnet_has_value(const struct memnet *net, int i, int j, const char *key,
    const char *value)
{
	const struct cc_kv *kv = memnet_get(net, i, j, key);

	return kv != NULL && kv->value_len == strlen(value) &&
	    memcmp(kv->value, value, kv->value_len) == 0;
}

static struct cc_engine *
running_engine(struct memnet *net, int i)
{
	struct mn_node *n = node_of(net, i);

	MN_ASSERT(n->running, "node %d is not running", i);
	return n->eng;
}

void
memnet_set(struct memnet *net, int i, const char *key, const char *value)
{
	MN_ASSERT(cc_engine_set(running_engine(net, i), key, strlen(key), value,
	    strlen(value)) == 0, "node %d: set(%s) failed", i, key);
}

void
memnet_set_with_ttl(struct memnet *net, int i, const char *key, const char *value)
{
	MN_ASSERT(cc_engine_set_with_ttl(running_engine(net, i), key, strlen(key),
	    value, strlen(value)) == 0, "node %d: set_with_ttl(%s) failed", i, key);
}

void
memnet_delete(struct memnet *net, int i, const char *key)
{
	MN_ASSERT(cc_engine_delete(running_engine(net, i), key, strlen(key)) == 0,
	    "node %d: delete(%s) failed", i, key);
}

void
memnet_delete_after_ttl(struct memnet *net, int i, const char *key)
{
	MN_ASSERT(cc_engine_delete_after_ttl(running_engine(net, i), key,
	    strlen(key)) == 0, "node %d: delete_after_ttl(%s) failed", i, key);
}

/* ---- predicates ------------------------------------------------------------------ */

bool
memnet_sees_live(const struct memnet *net, int i, const struct cc_id *id)
{
	struct mn_node *n = node_of(net, i);

	return n->running && cc_engine_liveness(n->eng, id) == CC_LIVENESS_LIVE;
}

bool
memnet_all_live(struct memnet *net, void *unused)
{
	(void)unused;
	for (size_t i = 0; i < net->n_nodes; i++) {
		if (!net->nodes[i]->running)
			continue;
		for (size_t j = 0; j < net->n_nodes; j++) {
			if (i == j || !net->nodes[j]->running)
				continue;
			if (cc_engine_liveness(net->nodes[i]->eng, &net->nodes[j]->id) !=
			    CC_LIVENESS_LIVE)
				return false;
		}
	}
	return true;
}

static bool
kv_is_equal(const struct cc_kv *a, const struct cc_kv *b)
{
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
	    a->value_len == b->value_len &&
	    memcmp(a->value, b->value, a->value_len) == 0 &&
	    a->version == b->version && a->status == b->status;
}

bool
memnet_replica_is_equal(const struct memnet *net, int i, int j)
{
	struct mn_node		*ni = node_of(net, i), *nj = node_of(net, j);
	const struct cc_node	*own, *rep;
	const struct cc_kv	*a, *b;

	if (!ni->running || !nj->running)
		return false;
	if (i == j)
		return true;
	own = cc_engine_self_node(nj->eng);
	if ((rep = cc_engine_node(ni->eng, &nj->id)) == NULL)
		return false;
	if (cc_node_max_version(rep) != cc_node_max_version(own) ||
	    cc_node_num_visible(rep) != cc_node_num_visible(own))
		return false;
	a = cc_node_prefix_first(own, "", 0, false);
	b = cc_node_prefix_first(rep, "", 0, false);
	while (a != NULL && b != NULL) {
		if (!kv_is_equal(a, b))
			return false;
		a = cc_node_prefix_next(own, a, "", 0, false);
		b = cc_node_prefix_next(rep, b, "", 0, false);
	}
	return a == NULL && b == NULL;
}

bool
memnet_all_replicas_equal(struct memnet *net, void *unused)
{
	(void)unused;
	for (size_t i = 0; i < net->n_nodes; i++) {
		if (!net->nodes[i]->running)
			continue;
		for (size_t j = 0; j < net->n_nodes; j++)
			if (i != j && net->nodes[j]->running &&
			    !memnet_replica_is_equal(net, (int)i, (int)j))
				return false;
	}
	return true;
}

bool
memnet_converged(struct memnet *net, void *unused)
{
	return memnet_all_live(net, unused) && memnet_all_replicas_equal(net, unused);
}

bool
memnet_nobody_has(struct memnet *net, void *arg)
{
	const struct cc_id *id = arg;

	for (size_t i = 0; i < net->n_nodes; i++)
		if (net->nodes[i]->running && cc_engine_node(net->nodes[i]->eng, id) != NULL)
			return false;
	return true;
}

bool
memnet_nobody_sees_live(struct memnet *net, void *arg)
{
	const struct cc_id *id = arg;

	for (size_t i = 0; i < net->n_nodes; i++)
		if (net->nodes[i]->running &&
		    cc_engine_liveness(net->nodes[i]->eng, id) == CC_LIVENESS_LIVE)
			return false;
	return true;
}

bool
memnet_everybody_sees_live(struct memnet *net, void *arg)
{
	const struct cc_id *id = arg;

	for (size_t i = 0; i < net->n_nodes; i++) {
		struct mn_node *n = net->nodes[i];

		if (!n->running || cc_id_is_equal(&n->id, id))
			continue;
		if (cc_engine_liveness(n->eng, id) != CC_LIVENESS_LIVE)
			return false;
	}
	return true;
}

uint64_t
memnet_decode_errors(const struct memnet *net)
{
	/* every datagram an engine refused, over all nodes and incarnations */
	return net->ctr.decode_errors;
}

const char *
memnet_explain(struct memnet *net, char *buf, size_t len)
{
	char a[CC_ADDR_STRLEN + 64], b[CC_ADDR_STRLEN + 64];

	for (size_t i = 0; i < net->n_nodes; i++) {
		struct mn_node *ni = net->nodes[i];

		if (!ni->running)
			continue;
		for (size_t j = 0; j < net->n_nodes; j++) {
			struct mn_node		*nj = net->nodes[j];
			const struct cc_node	*rep;

			if (i == j || !nj->running)
				continue;
			cc_id_format(&ni->id, a, sizeof(a));
			cc_id_format(&nj->id, b, sizeof(b));
			if (cc_engine_liveness(ni->eng, &nj->id) != CC_LIVENESS_LIVE) {
				snprintf(buf, len, "node %zu (%s) does not see node %zu (%s) "
				    "live (liveness %d)", i, a, j, b,
				    (int)cc_engine_liveness(ni->eng, &nj->id));
				return buf;
			}
			if (memnet_replica_is_equal(net, (int)i, (int)j))
				continue;
			rep = cc_engine_node(ni->eng, &nj->id);
			if (rep == NULL) {
				snprintf(buf, len, "node %zu (%s) has no replica of node %zu (%s)",
				    i, a, j, b);
				return buf;
			}
			snprintf(buf, len, "node %zu (%s): replica of node %zu (%s) differs: "
			    "replica max %" PRIu64 " gc %" PRIu64 " visible %zu stored %zu; "
			    "owner max %" PRIu64 " gc %" PRIu64 " visible %zu stored %zu",
			    i, a, j, b, cc_node_max_version(rep), cc_node_last_gc_version(rep),
			    cc_node_num_visible(rep), cc_node_num_stored(rep),
			    cc_node_max_version(cc_engine_self_node(nj->eng)),
			    cc_node_last_gc_version(cc_engine_self_node(nj->eng)),
			    cc_node_num_visible(cc_engine_self_node(nj->eng)),
			    cc_node_num_stored(cc_engine_self_node(nj->eng)));
			return buf;
		}
	}
	snprintf(buf, len, "converged");
	return buf;
}

/* ---- configurations ------------------------------------------------------------ */

void
memnet_cfg_lib(struct cc_config *cfg, const struct cc_id *self)
{
	cc_config_default(cfg);
	cfg->self = *self;
	cfg->cluster_id = "default-cluster";
	cfg->gossip_interval_ms = 100;
	cfg->fd.phi_threshold = 5.0;
	cfg->fd.initial_interval_ms = 100;
	cfg->fd.dead_node_grace_period_ms = 20 * 1000;
	cfg->marked_for_deletion_grace_period_ms = 3600ULL * 1000;
}

void
memnet_cfg_sim(struct cc_config *cfg, const struct cc_id *self, uint64_t entry_grace_ms)
{
	cc_config_default(cfg);
	cfg->self = *self;
	cfg->cluster_id = "default-cluster";
	cfg->gossip_interval_ms = 100;
	cfg->fd.phi_threshold = 8.0;
	cfg->fd.initial_interval_ms = 1000;
	cfg->fd.dead_node_grace_period_ms = 3600ULL * 1000;
	cfg->marked_for_deletion_grace_period_ms = entry_grace_ms;
}

void
memnet_tid(struct cc_id *id, uint16_t port)
{
	char		name[32];
	struct cc_addr	a;

	memset(&a, 0, sizeof(a));
	a.family = CC_AF_INET;
	a.ip[0] = 127;
	a.ip[3] = 1;
	a.port = port;
	snprintf(name, sizeof(name), "node_%u", (unsigned)port);
	MN_EQ_I(cc_id_init(id, name, strlen(name), 0, &a), 0);
}
