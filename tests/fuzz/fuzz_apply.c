/*
 * fuzz_apply.c: libFuzzer target for message handling and delta
 * application on a live engine state.
 *
 * Each input runs on a fresh engine (so every crash reproduces from its
 * input alone) that already holds remote replicas with keys and
 * tombstones (three peers, and the ids the seed vectors use), and its own
 * keys; small hostile-peer limits make the refusal paths reachable. The
 * input is a sequence of datagrams (16 at most) separated by the 4-byte
 * marker ff fe fd fc (a plain datagram, as in the seed
 * corpus, is a sequence of one); between datagrams the clock moves and the
 * engine ticks (gossip rounds, liveness, entry and node GC).
 *
 * An input may start with a 4-byte command that synthesizes a flood first
 * (so the limit paths are reached without the fuzzer having to learn the
 * wire format): a5 NODE NKEYS VLEN64 sends an ACK adding NKEYS new keys of
 * VLEN64 * 64 bytes to known replica NODE; a6 N . . sends a SYN whose
 * digest holds N fake ids. The rest of the input follows as above.
 *
 * Invariants checked after every step, for every replica: its
 * (last_gc_version, max_version) pair never goes backwards while it
 * exists (a reset raises last_gc_version); no stored entry is above
 * max_version; the entry counters and byte totals match the trees; the
 * limits hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_state.h"
#include "fuzz_env.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_apply: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

#define MAX_NODES	32
#define MAX_KEYS	48
#define MAX_BYTES	(16 * 1024)
#define N_PEERS		3

static const uint8_t marker[4] = { 0xff, 0xfe, 0xfd, 0xfc };

struct seen {
	struct cc_id	id;
	uint64_t	last_gc, max;
};

struct state {
	struct seen	v[MAX_NODES + 1];
	size_t		n;
};

static void
state_clear(struct state *s)
{
	for (size_t i = 0; i < s->n; i++)
		cc_id_clear(&s->v[i].id);
	s->n = 0;
}

/* Checks one replica's own consistency; returns its key + value bytes. */
static uint64_t
check_node(const struct cc_node *n)
{
	const struct cc_kv	*kv;
	size_t			 stored = 0, visible = 0;
	uint64_t		 bytes = 0;

	for (kv = cc_node_prefix_first(n, "", 0, true); kv != NULL;
	    kv = cc_node_prefix_next(n, kv, "", 0, true)) {
		CHECK(kv->version <= cc_node_max_version(n));
		CHECK(kv->status <= CC_STATUS_DELETE_AFTER_TTL);
		stored++;
		if (kv->status != CC_STATUS_DELETED)
			visible++;
		bytes += kv->key_len + kv->value_len;
	}
	CHECK(stored == cc_node_num_stored(n));
	CHECK(visible == cc_node_num_visible(n));
	CHECK(bytes == n->bytes);
	CHECK(cc_node_count_stale(n, 0) == stored);
	return bytes;
}

static void
check_engine(struct cc_engine *e, struct state *before)
{
	const struct cc_node	*n, *self = cc_engine_self_node(e);
	uint64_t		 remote = 0;
	size_t			 count = 0;

	for (n = cc_engine_node_first(e); n != NULL; n = cc_engine_node_next(e, n)) {
		uint64_t b = check_node(n);

		if (n != self)
			remote += b;
		count++;
		for (size_t i = 0; i < before->n; i++) {
			const struct seen *s = &before->v[i];

			if (!cc_id_is_equal(&s->id, cc_node_id(n)))
				continue;
			/* lexicographic: (last_gc, max) never goes back */
			CHECK(cc_node_last_gc_version(n) > s->last_gc ||
			    (cc_node_last_gc_version(n) == s->last_gc &&
			    cc_node_max_version(n) >= s->max));
		}
	}
	CHECK(count == cc_engine_num_nodes(e));
	CHECK(count <= MAX_NODES);
	CHECK(remote == cc_engine_state_bytes(e));
	/* the replicas set up by the test were under the cap; growth never passes it */
	CHECK(remote <= MAX_BYTES);
	state_clear(before);
	for (n = cc_engine_node_first(e); n != NULL && before->n < MAX_NODES;
	    n = cc_engine_node_next(e, n)) {
		struct seen *s = &before->v[before->n];

		if (cc_id_copy(&s->id, cc_node_id(n)) == -1)
			abort();
		s->last_gc = cc_node_last_gc_version(n);
		s->max = cc_node_max_version(n);
		before->n++;
	}
}

static const struct {
	const char	*name;
	uint64_t	 gen;
	const char	*addr;
} vector_ids[] = {
	{ "node-a", 1, "127.0.0.1:17001" }, { "node-b", 2, "[::1]:17002" },
	{ "node-c", 3, "127.0.0.1:17003" }, { "node-0", 0, "127.0.0.1:18000" },
	{ "node-1", 0, "127.0.0.1:18001" }, { "node-10001", 0, "127.0.0.1:10001" },
};

/* Three known peers (ports 7001..7003), with entries; own keys. */
static struct cc_engine *
setup(struct fuzz_env *fe)
{
	static const struct cc_addr seed = { CC_AF_INET, { 127, 0, 0, 1 }, 7001 };
	struct cc_config	 cfg;
	struct cc_engine	*e;
	struct cc_id		 id;
	struct cc_kv		 kv[4];
	char			 name[16];

	fuzz_env_init(fe);
	cc_config_default(&cfg);
	cfg.self.node_id = (char *)"self";
	cfg.self.node_id_len = 4;
	cfg.self.generation = 1;
	cfg.self.addr = fuzz_addr(7000);
	cfg.cluster_id = "hs-cluster";	/* the handshake vectors' */
	cfg.gossip_interval_ms = 100;
	cfg.marked_for_deletion_grace_period_ms = 2000;
	cfg.fd.dead_node_grace_period_ms = 20000;
	cfg.seeds = &seed;
	cfg.n_seeds = 1;
	cfg.max_nodes = MAX_NODES;
	cfg.max_keys_per_node = MAX_KEYS;
	cfg.max_state_bytes = MAX_BYTES;
	if ((e = cc_engine_new(&cfg, &fe->env)) == NULL)
		abort();
	cc_engine_set(e, "own", 3, "value", 5);
	cc_engine_set(e, "gone", 4, "x", 1);
	cc_engine_delete(e, "gone", 4);
	memset(kv, 0, sizeof(kv));
	kv[0].key = "a";	kv[0].key_len = 1; kv[0].value = "1"; kv[0].value_len = 1;
	kv[0].version = 1;
	kv[1].key = "b";	kv[1].key_len = 1; kv[1].value = "22"; kv[1].value_len = 2;
	kv[1].version = 3;
	kv[2].key = "c";	kv[2].key_len = 1; kv[2].value = ""; kv[2].value_len = 0;
	kv[2].version = 4;	kv[2].status = CC_STATUS_DELETED;
	kv[3].key = "ttl";	kv[3].key_len = 3; kv[3].value = "t"; kv[3].value_len = 1;
	kv[3].version = 5;	kv[3].status = CC_STATUS_DELETE_AFTER_TTL;
	for (uint16_t p = 0; p < N_PEERS; p++) {
		snprintf(name, sizeof(name), "node-%u", 7001u + p);
		struct cc_addr a = fuzz_addr((uint16_t)(7001 + p));

		if (cc_id_init(&id, name, strlen(name), 1, &a) == -1)
			abort();
		/* node p holds 1 + p entries, max_version 5 + p, last_gc p */
		cc_engine_reset_node_state(e, &id, kv, 1 + p, 5 + p, p);
		cc_engine_report_heartbeat(e, &id, 10);
		cc_id_clear(&id);
	}
	/* replicas of the ids the seed vectors carry, so their deltas apply */
	for (size_t i = 0; i < sizeof(vector_ids) / sizeof(vector_ids[0]); i++) {
		struct cc_addr a;

		if (cc_addr_parse(vector_ids[i].addr, &a) == -1 ||
		    cc_id_init(&id, vector_ids[i].name, strlen(vector_ids[i].name),
		    vector_ids[i].gen, &a) == -1)
			abort();
		cc_engine_reset_node_state(e, &id, kv, i % 3, i % 3 == 0 ? 1 : 3, 0);
		cc_id_clear(&id);
	}
	return e;
}

static void
send_msg(struct cc_engine *e, const struct cc_msg *m)
{
	struct cc_wbuf	wb;
	struct cc_addr	from = fuzz_addr(7001);

	cc_wbuf_init(&wb);
	if (cc_msg_encode(&wb, m, NULL) == 0 && wb.err == 0)
		(void)cc_engine_recv(e, &from, wb.data, wb.len);
	cc_wbuf_clear(&wb);
}

/* The a5 / a6 commands (see the top of the file). */
static void
flood(struct cc_engine *e, const uint8_t cmd[4])
{
	struct cc_msg		 m;
	struct cc_node_delta	 nd;
	const struct cc_node	*n;
	char			 name[32];
	size_t			 count = cmd[2], vlen = (size_t)cmd[3] * 64, skip;

	memset(&m, 0, sizeof(m));
	if (cmd[0] == 0xa6) {
		m.type = CC_MSG_SYN;
		m.cluster_id = (char *)cc_engine_cluster_id(e);
		m.cluster_id_len = strlen(m.cluster_id);
		m.digest.n = cmd[1];
		if ((m.digest.entries = calloc(cmd[1] + 1, sizeof(*m.digest.entries))) == NULL)
			abort();
		for (size_t i = 0; i < m.digest.n; i++) {
			struct cc_addr a = fuzz_addr((uint16_t)(30000 + i));

			snprintf(name, sizeof(name), "flood-%zu", i);
			if (cc_id_init(&m.digest.entries[i].id, name, strlen(name), cmd[2], &a) == -1)
				abort();
			m.digest.entries[i].heartbeat = 1 + cmd[3];
		}
		send_msg(e, &m);
		for (size_t i = 0; i < m.digest.n; i++)
			cc_id_clear(&m.digest.entries[i].id);
		free(m.digest.entries);
		return;
	}
	/* a5: the NODE-th replica other than self, in id order */
	skip = cmd[1] % (cc_engine_num_nodes(e) > 1 ? cc_engine_num_nodes(e) - 1 : 1);
	for (n = cc_engine_node_first(e); n != NULL; n = cc_engine_node_next(e, n))
		if (n != cc_engine_self_node(e) && skip-- == 0)
			break;
	if (n == NULL)
		return;
	memset(&nd, 0, sizeof(nd));
	m.type = CC_MSG_ACK;
	m.delta.nodes = &nd;
	m.delta.n = 1;
	nd.id = *cc_node_id(n);
	nd.last_gc_version = cc_node_last_gc_version(n);
	nd.from_version_excluded = cc_node_max_version(n);
	if ((nd.kvs = calloc(count + 1, sizeof(*nd.kvs))) == NULL)
		abort();
	char *value = malloc(vlen + 1);

	if (value == NULL)
		abort();
	memset(value, 'v', vlen);
	value[vlen] = '\0';
	for (size_t i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		if ((nd.kvs[i].key = strdup(name)) == NULL)
			abort();
		nd.kvs[i].key_len = strlen(name);
		nd.kvs[i].value = value;
		nd.kvs[i].value_len = vlen;
		nd.kvs[i].version = cc_node_max_version(n) + 1 + i;
		nd.kvs[i].status = i % 7 == 3 ? CC_STATUS_DELETED : CC_STATUS_SET;
	}
	nd.n_kvs = count;
	nd.max_version = cc_node_max_version(n) + count + (cmd[3] & 1);
	send_msg(e, &m);
	for (size_t i = 0; i < count; i++)
		free(nd.kvs[i].key);
	free(nd.kvs);
	free(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_env		 fe;
	struct cc_engine	*e = setup(&fe);
	struct state		 st;
	size_t			 step = 0;

	memset(&st, 0, sizeof(st));
	check_engine(e, &st);
	if (size >= 4 && (data[0] == 0xa5 || data[0] == 0xa6)) {
		flood(e, data);
		check_engine(e, &st);
		data += 4;
		size -= 4;
	}
	while (size > 0 && step < 16) {
		const uint8_t	*end = memmem(data, size, marker, sizeof(marker));
		size_t		 len = end != NULL ? (size_t)(end - data) : size;
		struct cc_addr	 from = fuzz_addr((uint16_t)(7001 + step % (N_PEERS + 1)));
		uint8_t		*copy = malloc(len > 0 ? len : 1);

		/* an exact-size copy: ASan catches any read past the datagram */
		if (copy == NULL)
			abort();
		if (len > 0)
			memcpy(copy, data, len);
		(void)cc_engine_recv(e, &from, copy, len);
		free(copy);
		check_engine(e, &st);
		/* then time moves: 0 to ~4 s, and the engine ticks */
		fe.now_ms += (len * 131 + step * 977) % 4096;
		(void)cc_engine_tick(e);
		check_engine(e, &st);
		if (end == NULL)
			break;
		data = end + sizeof(marker);
		size -= len + sizeof(marker);
		step++;
	}
	state_clear(&st);
	if (getenv("FUZZ_APPLY_VERBOSE") != NULL) {
		const struct cc_stats *k = cc_engine_stats(e);

		fprintf(stderr, "fuzz_apply: %zu nodes, %llu remote bytes; refused: %llu nodes, "
		    "%llu key deltas, %llu byte deltas; %llu resets, %llu rejected\n",
		    cc_engine_num_nodes(e), (unsigned long long)cc_engine_state_bytes(e),
		    (unsigned long long)k->limit_nodes_refused,
		    (unsigned long long)k->limit_keys_refused,
		    (unsigned long long)k->limit_bytes_refused,
		    (unsigned long long)k->resets_applied,
		    (unsigned long long)k->node_deltas_rejected);
	}
	cc_engine_free(e);
	return 0;
}
