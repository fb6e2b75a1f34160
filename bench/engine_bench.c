/*
 * engine_bench.c: how fast the engine converges, and what a handshake costs.
 *
 * (a) Convergence. N engines run on one fake clock over a tiny in-memory
 *     network defined here (no loss, fixed latency, unbounded queues):
 *     every engine ticks on its own phase of the gossip interval, messages
 *     arrive LATENCY_MS after they are sent. We measure, in gossip
 *     intervals ("rounds"), the time until every node sees all N nodes
 *     live, then the time for one key set on a random node to be visible on
 *     every node. Next to it, the ideal push-pull epidemic with fanout 3:
 *     each round every node contacts 3 distinct random others, and an
 *     exchange informs both ends if either end was informed when the round
 *     began; rounds until all N are informed. Same seeds.
 * (b) CPU per handshake (CLOCK_PROCESS_CPUTIME_ID): two engines holding
 *     replicas of the same N nodes x K keys, fully synced, run
 *     SYN -> SYN-ACK -> ACK through the real codec; once with nothing
 *     stale, once with one stale key per handshake.
 *
 * Prints markdown. --quick runs a reduced set in a few seconds.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cc_state.h"

#define INTERVAL_MS	100
#define LATENCY_MS	1
#define BASE_PORT	20000
#define FANOUT		3

static void
die(const char *what)
{
	fprintf(stderr, "engine_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t
seed_mix(uint64_t seed, uint64_t salt)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ULL + salt + 1;

	(void)xorshift(&s);
	return s ? s : 1;
}

/* ---- (a) the in-memory network ------------------------------------------ */

struct bnet;

struct bnode {
	struct bnet		*net;
	struct cc_engine	*e;
	struct cc_id		 id;
	uint32_t		 idx;
	uint64_t		 rng;
	uint64_t		 next_tick;
	size_t			 n_live;	/* last published live set size */
	bool			 has_key;
};

struct bmsg {
	uint64_t	due;
	uint32_t	to;
	struct cc_addr	from;
	uint8_t		*buf;
	size_t		len;
};

struct bnet {
	uint64_t	 now;
	struct bnode	*nodes;
	size_t		 n;
	struct bmsg	*q;		/* FIFO: fixed latency keeps it sorted by due */
	size_t		 head, tail, cap;
	size_t		 n_full;	/* nodes whose live set has all N */
	size_t		 n_keyed;	/* nodes that see the key */
	const struct cc_id *key_owner;
	uint64_t	 msgs, bytes;
};

static cc_mtime_t
bn_now(void *arg)
{
	struct bnode *bn = arg;

	return cc_mtime(bn->net->now);
}

static uint32_t
bn_rand(void *arg)
{
	struct bnode *bn = arg;

	return (uint32_t)(xorshift(&bn->rng) >> 32);
}

static int
bn_send(void *arg, const struct cc_addr *to, const uint8_t *buf, size_t len)
{
	struct bnode	*bn = arg;
	struct bnet	*net = bn->net;
	struct bmsg	*m;

	if (to->port < BASE_PORT || to->port >= BASE_PORT + net->n)
		return 0;			/* nobody there: vanishes */
	if (net->tail == net->cap) {
		if (net->head > 0) {
			memmove(net->q, net->q + net->head,
			    (net->tail - net->head) * sizeof(*net->q));
			net->tail -= net->head;
			net->head = 0;
		}
		if (net->tail == net->cap) {
			size_t		 ncap = net->cap ? net->cap * 2 : 4096;
			struct bmsg	*nq = realloc(net->q, ncap * sizeof(*nq));

			if (nq == NULL)
				die("realloc");
			net->q = nq;
			net->cap = ncap;
		}
	}
	m = &net->q[net->tail++];
	m->due = net->now + LATENCY_MS;
	m->to = to->port - BASE_PORT;
	m->from = bn->id.addr;
	m->len = len;
	if ((m->buf = malloc(len)) == NULL)
		die("malloc");
	memcpy(m->buf, buf, len);
	net->msgs++;
	net->bytes += len;
	return 0;
}

static void
bn_event(void *arg, const struct cc_event *ev)
{
	struct bnode	*bn = arg;
	struct bnet	*net = bn->net;

	if (ev->type == CC_EVENT_LIVE_NODES) {
		bool was = bn->n_live == net->n, is = ev->n_live == net->n;

		bn->n_live = ev->n_live;
		if (is && !was)
			net->n_full++;
		else if (was && !is)
			net->n_full--;
	} else if (ev->type == CC_EVENT_KV && !bn->has_key && net->key_owner != NULL &&
	    cc_id_is_equal(ev->node, net->key_owner) && ev->kv->key_len == 9 &&
	    memcmp(ev->kv->key, "bench-key", 9) == 0) {
		bn->has_key = true;
		net->n_keyed++;
	}
}

static void
bnet_init(struct bnet *net, size_t n, uint64_t seed)
{
	struct cc_addr	*seeds;
	size_t		 n_seeds = n < 3 ? n : 3;
	uint64_t	 prng = seed_mix(seed, 0);

	memset(net, 0, sizeof(*net));
	net->n = n;
	if ((net->nodes = calloc(n, sizeof(*net->nodes))) == NULL ||
	    (seeds = calloc(n_seeds, sizeof(*seeds))) == NULL)
		die("calloc");
	for (size_t i = 0; i < n_seeds; i++) {
		seeds[i].family = CC_AF_INET;
		seeds[i].ip[0] = 127;
		seeds[i].ip[3] = 1;
		seeds[i].port = (uint16_t)(BASE_PORT + i);
	}
	for (size_t i = 0; i < n; i++) {
		struct bnode		*bn = &net->nodes[i];
		struct cc_config	 cfg;
		struct cc_env		 env;
		char			 name[32];

		bn->net = net;
		bn->idx = (uint32_t)i;
		bn->rng = seed_mix(seed, i + 1);
		snprintf(name, sizeof(name), "node-%zu", BASE_PORT + i);
		cc_config_default(&cfg);
		cfg.self.node_id = name;
		cfg.self.node_id_len = strlen(name);
		cfg.self.generation = 1;
		cfg.self.addr = seeds[0];
		cfg.self.addr.port = (uint16_t)(BASE_PORT + i);
		cfg.gossip_interval_ms = INTERVAL_MS;
		cfg.marked_for_deletion_grace_period_ms = 3600 * 1000;
		cfg.fd.phi_threshold = 8.0;
		cfg.fd.initial_interval_ms = 10 * INTERVAL_MS;
		cfg.fd.dead_node_grace_period_ms = 3600 * 1000;
		/* N engines x N windows: keep each window small */
		cfg.fd.sampling_window_size = 16;
		cfg.seeds = seeds;
		cfg.n_seeds = n_seeds;
		memset(&env, 0, sizeof(env));
		env.now = bn_now;
		env.random_u32 = bn_rand;
		env.send = bn_send;
		env.event = bn_event;
		env.arg = bn;
		/* each engine starts at its own phase of the interval */
		net->now = xorshift(&prng) % INTERVAL_MS;
		if ((bn->e = cc_engine_new(&cfg, &env)) == NULL)
			die("cc_engine_new");
		bn->next_tick = net->now;
		if (cc_id_copy(&bn->id, cc_engine_self_id(bn->e)) == -1)
			die("cc_id_copy");
	}
	net->now = 0;
	free(seeds);
}

static void
bnet_free(struct bnet *net)
{
	for (size_t i = net->head; i < net->tail; i++)
		free(net->q[i].buf);
	free(net->q);
	for (size_t i = 0; i < net->n; i++) {
		cc_engine_free(net->nodes[i].e);
		cc_id_clear(&net->nodes[i].id);
	}
	free(net->nodes);
}

/* One millisecond: due messages first (and the ones they cause, if due),
 * then due ticks. */
static void
bnet_step(struct bnet *net)
{
	while (net->head < net->tail && net->q[net->head].due <= net->now) {
		struct bmsg m = net->q[net->head++];

		(void)cc_engine_recv(net->nodes[m.to].e, &m.from, m.buf, m.len);
		free(m.buf);
	}
	for (size_t i = 0; i < net->n; i++) {
		struct bnode *bn = &net->nodes[i];

		if (bn->next_tick <= net->now)
			bn->next_tick = cc_engine_tick(bn->e).ms;
	}
	net->now++;
}

struct conv_result {
	double	members;	/* rounds until all N see N live */
	double	key;		/* rounds for one key to reach all N */
	int	ideal;		/* ideal push-pull rounds */
	double	ideal_async;	/* the same, asynchronous phases */
	uint64_t msgs;
};

static int
ideal_push_pull(size_t n, uint64_t seed)
{
	bool		*inf = calloc(n, sizeof(bool)), *next = calloc(n, sizeof(bool));
	uint64_t	 s = seed_mix(seed, 0xABCDEF);
	size_t		 count = 1;
	int		 rounds = 0;

	if (inf == NULL || next == NULL)
		die("calloc");
	inf[xorshift(&s) % n] = true;
	while (count < n) {
		memcpy(next, inf, n * sizeof(bool));
		for (size_t u = 0; u < n; u++) {
			size_t	picked[FANOUT];
			size_t	k = n - 1 < FANOUT ? n - 1 : FANOUT;

			for (size_t j = 0; j < k; j++) {
				size_t	v;
				bool	dup;

				do {
					v = xorshift(&s) % n;
					dup = v == u;
					for (size_t p = 0; p < j; p++)
						dup = dup || picked[p] == v;
				} while (dup);
				picked[j] = v;
				if (inf[u] || inf[v])
					next[u] = next[v] = true;
			}
		}
		memcpy(inf, next, n * sizeof(bool));
		count = 0;
		for (size_t u = 0; u < n; u++)
			count += inf[u];
		rounds++;
	}
	free(inf);
	free(next);
	return rounds;
}

/*
 * The same epidemic on chitchat's clock: every node acts once per interval
 * at its own random phase, exchanges are instantaneous. Returns the time,
 * in intervals, until all N are informed.
 */
static double
ideal_async(size_t n, uint64_t seed)
{
	struct ph { double t; size_t u; } *order = calloc(n, sizeof(*order)), tmp;
	bool		*inf = calloc(n, sizeof(bool));
	uint64_t	 s = seed_mix(seed, 0xA5A5);
	size_t		 count = 1;
	double		 last = 0;

	if (order == NULL || inf == NULL)
		die("calloc");
	for (size_t u = 0; u < n; u++) {
		order[u].t = (double)(xorshift(&s) >> 11) / 9007199254740992.0;
		order[u].u = u;
	}
	for (size_t i = 1; i < n; i++)		/* insertion sort by phase */
		for (size_t j = i; j > 0 && order[j - 1].t > order[j].t; j--) {
			tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	inf[xorshift(&s) % n] = true;
	for (int r = 0; count < n && r < 10000; r++) {
		for (size_t i = 0; i < n && count < n; i++) {
			size_t	u = order[i].u, picked[FANOUT];
			size_t	k = n - 1 < FANOUT ? n - 1 : FANOUT;

			for (size_t j = 0; j < k; j++) {
				size_t	v;
				bool	dup;

				do {
					v = xorshift(&s) % n;
					dup = v == u;
					for (size_t p = 0; p < j; p++)
						dup = dup || picked[p] == v;
				} while (dup);
				picked[j] = v;
				if (inf[u] != inf[v]) {
					inf[u] = inf[v] = true;
					count++;
					last = r + order[i].t;
				}
			}
		}
	}
	free(order);
	free(inf);
	return last;
}

static struct conv_result
converge(size_t n, uint64_t seed)
{
	struct bnet		net;
	struct conv_result	r;
	uint64_t		t_set, limit = 600 * (uint64_t)INTERVAL_MS;
	uint64_t		kr = seed_mix(seed, 0x5EED);
	struct bnode		*owner;

	bnet_init(&net, n, seed);
	while (net.n_full < n && net.now < limit)
		bnet_step(&net);
	r.members = net.n_full == n ? (double)net.now / INTERVAL_MS : NAN;

	owner = &net.nodes[xorshift(&kr) % n];
	net.key_owner = &owner->id;
	owner->has_key = true;
	net.n_keyed = 1;
	if (cc_engine_set(owner->e, "bench-key", 9, "v", 1) == -1)
		die("cc_engine_set");
	t_set = net.now;
	while (net.n_keyed < n && net.now < t_set + limit)
		bnet_step(&net);
	r.key = net.n_keyed == n ? (double)(net.now - t_set) / INTERVAL_MS : NAN;
	r.msgs = net.msgs;
	bnet_free(&net);
	r.ideal = ideal_push_pull(n, seed);
	r.ideal_async = ideal_async(n, seed);
	return r;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);	/* failures last */
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted sample. */
static double
pct(const double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static double
now_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Runs the seeds of one N over `workers` processes (the engines are single
 * threaded; the machine has cores to spare). Results come back through a
 * pipe, one fixed-size record per seed.
 */
static void
run_seeds(size_t n, int n_seeds, int workers, struct conv_result *out)
{
	int	fds[2];
	pid_t	pids[16];

	if (workers > n_seeds)
		workers = n_seeds;
	if (workers <= 1) {
		for (int s = 0; s < n_seeds; s++)
			out[s] = converge(n, (uint64_t)s + 1);
		return;
	}
	if (pipe(fds) == -1)
		die("pipe");
	for (int w = 0; w < workers; w++) {
		if ((pids[w] = fork()) == -1)
			die("fork");
		if (pids[w] == 0) {
			close(fds[0]);
			for (int s = w; s < n_seeds; s += workers) {
				struct { int s; struct conv_result r; } rec;

				memset(&rec, 0, sizeof(rec));
				rec.s = s;
				rec.r = converge(n, (uint64_t)s + 1);
				if (write(fds[1], &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
					_exit(1);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	for (int got = 0; got < n_seeds; got++) {
		struct { int s; struct conv_result r; } rec;

		if (read(fds[0], &rec, sizeof(rec)) != (ssize_t)sizeof(rec) ||
		    rec.s < 0 || rec.s >= n_seeds) {
			fprintf(stderr, "engine_bench: a worker died\n");
			exit(1);
		}
		out[rec.s] = rec.r;
	}
	close(fds[0]);
	for (int w = 0; w < workers; w++)
		waitpid(pids[w], NULL, 0);
}

static void
bench_convergence(const size_t *ns, const int *seeds, size_t n_cfg, int workers)
{
	printf("### (a) Convergence, in gossip rounds (interval %d ms, latency %d ms, no loss)\n\n",
	    INTERVAL_MS, LATENCY_MS);
	printf("Seeds: nodes 0-2. Failure detector: phi 8, initial interval %d ms, window 16. "
	    "Times are in gossip intervals (fractional for the engine: every engine ticks at "
	    "its own phase). \"members\": until every node sees all N live (a node needs 3 "
	    "heartbeat values through digests, §5.2). \"key\": one key set on a random node, "
	    "after membership converged, until visible on every node. \"ideal\": push-pull "
	    "epidemic with fanout %d, one rumour, synchronous rounds (integer); \"ideal "
	    "async\": the same with one random phase per node and instant exchanges, i.e. on "
	    "the engine's clock. p99 is nearest-rank (the maximum below 100 seeds).\n\n",
	    10 * INTERVAL_MS, FANOUT);
	printf("| N | seeds | members median | members p99 | key median | key p99 | "
	    "ideal median | ideal p99 | ideal async median | ideal async p99 | "
	    "members/ideal | key/ideal | key/ideal async | msgs/node/interval | wall s |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t c = 0; c < n_cfg; c++) {
		size_t			 n = ns[c];
		int			 k = seeds[c];
		struct conv_result	*r = calloc((size_t)k, sizeof(*r));
		double			*m = calloc((size_t)k, sizeof(double));
		double			*kk = calloc((size_t)k, sizeof(double));
		double			*id = calloc((size_t)k, sizeof(double));
		double			*ia = calloc((size_t)k, sizeof(double));
		double			 t0 = now_wall(), msgs = 0, rounds = 0;

		if (r == NULL || m == NULL || kk == NULL || id == NULL || ia == NULL)
			die("calloc");
		run_seeds(n, k, workers, r);
		for (int s = 0; s < k; s++) {
			m[s] = r[s].members;
			kk[s] = r[s].key;
			id[s] = r[s].ideal;
			ia[s] = r[s].ideal_async;
			msgs += (double)r[s].msgs;
			rounds += (isnan(m[s]) ? 0 : m[s]) + (isnan(kk[s]) ? 0 : kk[s]);
		}
		qsort(m, (size_t)k, sizeof(double), dbl_cmp);
		qsort(kk, (size_t)k, sizeof(double), dbl_cmp);
		qsort(id, (size_t)k, sizeof(double), dbl_cmp);
		qsort(ia, (size_t)k, sizeof(double), dbl_cmp);
		printf("| %zu | %d | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.1f | %.1f | "
		    "%.2f | %.2f | %.2f | %.1f | %.1f |\n",
		    n, k, pct(m, (size_t)k, 50), pct(m, (size_t)k, 99),
		    pct(kk, (size_t)k, 50), pct(kk, (size_t)k, 99),
		    pct(id, (size_t)k, 50), pct(id, (size_t)k, 99),
		    pct(ia, (size_t)k, 50), pct(ia, (size_t)k, 99),
		    pct(m, (size_t)k, 50) / pct(id, (size_t)k, 50),
		    pct(kk, (size_t)k, 50) / pct(id, (size_t)k, 50),
		    pct(kk, (size_t)k, 50) / pct(ia, (size_t)k, 50),
		    rounds > 0 ? msgs / rounds / (double)n : 0.0, now_wall() - t0);
		fflush(stdout);
		free(r);
		free(m);
		free(kk);
		free(id);
		free(ia);
	}
	printf("\n");
}

/* ---- (b) CPU per handshake ---------------------------------------------- */

struct hnode {
	struct cc_engine	*e;
	struct cc_id		 id;
	uint64_t		 rng;
	uint64_t		 now;
	uint8_t			*last;		/* last datagram sent */
	size_t			 last_len, last_cap;
};

static cc_mtime_t
hn_now(void *arg)
{
	return cc_mtime(((struct hnode *)arg)->now);
}

static uint32_t
hn_rand(void *arg)
{
	return (uint32_t)(xorshift(&((struct hnode *)arg)->rng) >> 32);
}

static int
hn_send(void *arg, const struct cc_addr *to, const uint8_t *buf, size_t len)
{
	struct hnode *hn = arg;

	(void)to;
	if (len > hn->last_cap) {
		uint8_t *p = realloc(hn->last, len);

		if (p == NULL)
			die("realloc");
		hn->last = p;
		hn->last_cap = len;
	}
	memcpy(hn->last, buf, len);
	hn->last_len = len;
	return 0;
}

static struct cc_addr
addr_of(uint16_t port)
{
	struct cc_addr a;

	memset(&a, 0, sizeof(a));
	a.family = CC_AF_INET;
	a.ip[0] = 127;
	a.ip[3] = 1;
	a.port = port;
	return a;
}

static void
hn_init(struct hnode *hn, uint16_t port)
{
	struct cc_config	cfg;
	struct cc_env		env;
	char			name[32];

	memset(hn, 0, sizeof(*hn));
	hn->rng = port;
	hn->now = 1000000;
	snprintf(name, sizeof(name), "node-%u", (unsigned)port);
	cc_config_default(&cfg);
	cfg.self.node_id = name;
	cfg.self.node_id_len = strlen(name);
	cfg.self.addr = addr_of(port);
	cfg.fd.sampling_window_size = 16;
	memset(&env, 0, sizeof(env));
	env.now = hn_now;
	env.random_u32 = hn_rand;
	env.send = hn_send;
	env.arg = hn;
	if ((hn->e = cc_engine_new(&cfg, &env)) == NULL)
		die("cc_engine_new");
	if (cc_id_copy(&hn->id, cc_engine_self_id(hn->e)) == -1)
		die("cc_id_copy");
}

static void
hn_free(struct hnode *hn)
{
	cc_engine_free(hn->e);
	cc_id_clear(&hn->id);
	free(hn->last);
}

/* SYN -> SYN-ACK -> ACK; returns the bytes exchanged. */
static size_t
hn_handshake(struct hnode *a, struct hnode *b)
{
	size_t bytes = 0;

	a->last_len = b->last_len = 0;
	cc_engine_gossip(a->e, &b->id.addr);
	bytes += a->last_len;
	if (cc_engine_recv(b->e, &a->id.addr, a->last, a->last_len) == -1)
		die("SYN");
	bytes += b->last_len;
	a->last_len = 0;
	if (cc_engine_recv(a->e, &b->id.addr, b->last, b->last_len) == -1)
		die("SYN-ACK");
	bytes += a->last_len;
	if (cc_engine_recv(b->e, &a->id.addr, a->last, a->last_len) == -1)
		die("ACK");
	return bytes;
}

static void
fill_replica(struct cc_node *n, size_t k, cc_mtime_t now)
{
	char key[32], val[32];

	for (size_t j = 0; j < k; j++) {
		snprintf(key, sizeof(key), "key-%04zu", j);
		snprintf(val, sizeof(val), "value-%04zu", j);
		if (cc_node_store(n, key, strlen(key), val, strlen(val), j + 1,
		    CC_STATUS_SET, now, false) == -1)
			die("cc_node_store");
	}
}

static bool
synced(const struct hnode *a, const struct hnode *b)
{
	const struct cc_node *x, *y;

	if (cc_engine_num_nodes(a->e) != cc_engine_num_nodes(b->e))
		return false;
	for (x = cc_engine_node_first(a->e); x != NULL; x = cc_engine_node_next(a->e, x)) {
		y = cc_engine_node(b->e, cc_node_id(x));
		if (y == NULL || cc_node_max_version(x) != cc_node_max_version(y))
			return false;
	}
	return true;
}

/* CPU of one gossip round on `a` (all N-1 others live): peer selection,
 * entry GC, SYNs with a fresh digest each, liveness update. */
static double
measure_round(struct hnode *a, size_t n, double budget_s)
{
	double	cpu = 0;
	int	i;

	for (uint64_t hb = 2; hb <= 4; hb++) {
		const struct cc_node *x;

		a->now += 100;
		for (x = cc_engine_node_first(a->e); x != NULL; x = cc_engine_node_next(a->e, x))
			cc_engine_report_heartbeat(a->e, cc_node_id(x),
			    cc_node_heartbeat(x) + hb);
	}
	cc_engine_update_liveness(a->e);
	if (cc_engine_num_live(a->e) != n) {
		fprintf(stderr, "engine_bench: %zu of %zu live\n", cc_engine_num_live(a->e), n);
		exit(1);
	}
	for (i = 0; i < 100000 && (i < 5 || cpu < budget_s); i++) {
		double t0 = now_cpu();

		cc_engine_round(a->e);
		cpu += now_cpu() - t0;
	}
	return cpu / i * 1e6;
}

struct hs_cost {
	double	us;
	double	bytes;
	int	iters;
};

static struct hs_cost
measure(struct hnode *a, struct hnode *b, bool stale, double budget_s)
{
	struct hs_cost	c = { 0, 0, 0 };
	double		cpu = 0, bytes = 0;
	char		val[32];
	int		i;

	for (i = 0; i < 100000 && (i < 5 || cpu < budget_s); i++) {
		double t0;

		if (stale) {
			snprintf(val, sizeof(val), "%d", i);
			if (cc_engine_set(a->e, "stale", 5, val, strlen(val)) == -1)
				die("cc_engine_set");
		}
		t0 = now_cpu();
		bytes += (double)hn_handshake(a, b);
		cpu += now_cpu() - t0;
	}
	c.us = cpu / i * 1e6;
	c.bytes = bytes / i;
	c.iters = i;
	return c;
}

static void
bench_handshake(const size_t *ns, size_t n_ns, const size_t *ks, size_t n_ks, double budget_s)
{
	printf("### (b) CPU per handshake (SYN -> SYN-ACK -> ACK, both sides, codec included)\n\n");
	printf("Two engines with replicas of the same N nodes x K keys, fully synced. "
	    "\"synced\": nothing stale (digests, delta scans, empty deltas); "
	    "\"1 stale\": the initiator changed one own key before each handshake.\n\n");
	printf("\"round\": one gossip round (cc_engine_round) on an engine that sees the "
	    "other N-1 nodes live: selection, entry GC, SYNs, liveness update.\n\n");
	printf("| N | K | synced us/handshake | synced bytes | 1 stale us/handshake | "
	    "1 stale bytes | round us | iterations |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < n_ns; i++) {
		for (size_t j = 0; j < n_ks; j++) {
			size_t		n = ns[i], k = ks[j];
			struct hnode	a, b;
			struct hs_cost	c0, c1;
			double		round_us;
			char		key[32];

			hn_init(&a, 30000);
			hn_init(&b, 30001);
			for (size_t x = 0; x < k; x++) {
				snprintf(key, sizeof(key), "key-%04zu", x);
				if (cc_engine_set(a.e, key, strlen(key), "v", 1) == -1 ||
				    cc_engine_set(b.e, key, strlen(key), "v", 1) == -1)
					die("cc_engine_set");
			}
			for (size_t x = 2; x < n; x++) {
				struct cc_id	id;
				struct cc_addr	ad = addr_of((uint16_t)(30000 + x));
				char		name[32];

				snprintf(name, sizeof(name), "node-%zu", 30000 + x);
				if (cc_id_init(&id, name, strlen(name), 0, &ad) == -1)
					die("cc_id_init");
				cc_engine_report_heartbeat(a.e, &id, 1);
				cc_engine_report_heartbeat(b.e, &id, 1);
				fill_replica(cc_engine_node_mut(a.e, &id), k, cc_mtime(a.now));
				fill_replica(cc_engine_node_mut(b.e, &id), k, cc_mtime(b.now));
				cc_id_clear(&id);
			}
			for (int w = 0; w < 10 && !synced(&a, &b); w++)
				(void)hn_handshake(&a, &b);
			if (!synced(&a, &b)) {
				fprintf(stderr, "engine_bench: N=%zu K=%zu never synced\n", n, k);
				exit(1);
			}
			c0 = measure(&a, &b, false, budget_s);
			c1 = measure(&a, &b, true, budget_s);
			round_us = measure_round(&a, n, budget_s);
			printf("| %zu | %zu | %.1f | %.0f | %.1f | %.0f | %.1f | %d / %d |\n",
			    n, k, c0.us, c0.bytes, c1.us, c1.bytes, round_us, c0.iters, c1.iters);
			fflush(stdout);
			hn_free(&a);
			hn_free(&b);
		}
	}
	printf("\n");
}

/* ---- main ------------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	bool		quick = false;
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int		workers;
	double		t0 = now_wall();
	static const size_t	hs_n[] = { 10, 100, 1000 }, hs_k[] = { 1, 10, 100 };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else {
			fprintf(stderr, "usage: engine_bench [--quick]\n");
			return 2;
		}
	}
	workers = ncpu > 1 ? (int)(ncpu > 16 ? 16 : ncpu) : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("## engine_bench%s\n\n", quick ? " --quick" : "");
	if (quick) {
		static const size_t	ns[] = { 10, 100 };
		static const int	seeds[] = { 5, 3 };

		bench_convergence(ns, seeds, 2, workers);
		bench_handshake(hs_n, 3, hs_k, 3, 0.02);
	} else {
		static const size_t	ns[] = { 10, 100, 1000 };
		static const int	seeds[] = { 50, 30, 10 };

		bench_convergence(ns, seeds, 3, workers);
		bench_handshake(hs_n, 3, hs_k, 3, 0.25);
	}
	printf("Total wall time: %.1f s (%d worker processes for (a)).\n", now_wall() - t0, workers);
	return 0;
}
