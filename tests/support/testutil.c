/*
 * testutil.c: fake clock, seeded PRNG and capturing sender for tests.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static cc_mtime_t
fake_now(void *arg)
{
	struct test_env *te = arg;

	return cc_mtime(te->now_ms);
}

uint32_t
test_rand_u32(struct test_env *te)
{
	uint64_t x = te->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	te->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

double
test_rand_unit(struct test_env *te)
{
	return (double)test_rand_u32(te) / 4294967296.0;
}

static uint32_t
fake_random(void *arg)
{
	return test_rand_u32(arg);
}

static int
capture_send(void *arg, const struct cc_addr *to, const uint8_t *buf, size_t len)
{
	struct test_env		*te = arg;
	struct test_dgram	*d;

	if (te->fail_sends > 0) {
		te->fail_sends--;
		errno = EIO;
		return -1;
	}
	if (te->n_sent == te->cap_sent) {
		size_t ncap = te->cap_sent ? te->cap_sent * 2 : 16;
		struct test_dgram *n = realloc(te->sent, ncap * sizeof(*n));

		ck_assert_ptr_nonnull(n);
		te->sent = n;
		te->cap_sent = ncap;
	}
	d = &te->sent[te->n_sent++];
	d->from = te->self;
	d->to = *to;
	d->len = len;
	d->buf = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(d->buf);
	memcpy(d->buf, buf, len);
	return 0;
}

static void
count_event(void *arg, const struct cc_event *ev)
{
	struct test_env *te = arg;

	if (ev->type == CC_EVENT_CATCHUP)
		te->n_catchup++;
	if (ev->type == CC_EVENT_LIVE_NODES)
		te->n_live_events++;
	if (te->on_event != NULL)
		te->on_event(te, ev);
}

void
test_env_init(struct test_env *te, const struct cc_addr *self, uint64_t seed)
{
	memset(te, 0, sizeof(*te));
	te->env.now = fake_now;
	te->env.random_u32 = fake_random;
	te->env.send = capture_send;
	te->env.event = count_event;
	te->env.arg = te;
	te->now_ms = 1000000;	/* arbitrary non-zero origin */
	te->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
	te->self = *self;
}

void
test_dgram_free(struct test_dgram *d)
{
	free(d->buf);
	d->buf = NULL;
}

void
test_env_drop_all(struct test_env *te)
{
	for (size_t i = 0; i < te->n_sent; i++)
		free(te->sent[i].buf);
	te->n_sent = 0;
}

void
test_env_clear(struct test_env *te)
{
	test_env_drop_all(te);
	free(te->sent);
	te->sent = NULL;
	te->cap_sent = 0;
}

bool
test_env_pop(struct test_env *te, struct test_dgram *out)
{
	if (te->n_sent == 0)
		return false;
	*out = te->sent[0];
	memmove(&te->sent[0], &te->sent[1], (te->n_sent - 1) * sizeof(*out));
	te->n_sent--;
	return true;
}

struct cc_addr
test_addr4(uint16_t port)
{
	struct cc_addr a;

	memset(&a, 0, sizeof(a));
	a.family = CC_AF_INET;
	a.ip[0] = 127;
	a.ip[3] = 1;
	a.port = port;
	return a;
}

void
test_id_named(struct cc_id *out, const char *name, uint64_t gen, uint16_t port)
{
	struct cc_addr a = test_addr4(port);

	ck_assert_int_eq(cc_id_init(out, name, strlen(name), gen, &a), 0);
}

void
test_id(struct cc_id *out, uint16_t port)
{
	char name[32];

	snprintf(name, sizeof(name), "node-%u", (unsigned)port);
	test_id_named(out, name, 0, port);
}

void
test_config(struct cc_config *cfg, struct cc_id *self_storage, uint16_t port)
{
	cc_config_default(cfg);
	test_id(self_storage, port);
	cfg->self = *self_storage;
	cfg->gossip_interval_ms = 50;
	cfg->marked_for_deletion_grace_period_ms = 10000ULL * 1000;
}

static void
deliver_one(struct test_env *from_env, struct cc_engine *to)
{
	struct test_dgram d;

	ck_assert_msg(test_env_pop(from_env, &d), "handshake: no reply sent");
	ck_assert_int_eq(cc_engine_recv(to, &d.from, d.buf, d.len), 0);
	test_dgram_free(&d);
}

void
test_handshake(struct cc_engine *a, struct test_env *ea,
    struct cc_engine *b, struct test_env *eb)
{
	test_env_drop_all(ea);
	test_env_drop_all(eb);
	ck_assert_int_eq(cc_engine_gossip(a, &eb->self), 0);
	deliver_one(ea, b);	/* SYN -> B */
	deliver_one(eb, a);	/* SYN-ACK -> A */
	deliver_one(ea, b);	/* ACK -> B */
	ck_assert_uint_eq(eb->n_sent, 0);
}

void
test_engine_start(struct test_engine *f, const struct cc_config *cfg, uint64_t seed)
{
	test_env_init(&f->env, &cfg->self.addr, seed + cfg->self.addr.port);
	f->e = cc_engine_new(cfg, &f->env.env);
	ck_assert_ptr_nonnull(f->e);
}

void
test_engine_init(struct test_engine *f, uint16_t port, uint64_t seed)
{
	struct cc_config cfg;

	test_config(&cfg, &f->id, port);
	test_engine_start(f, &cfg, seed);
}

void
test_engine_free(struct test_engine *f)
{
	cc_engine_free(f->e);
	test_env_clear(&f->env);
	cc_id_clear(&f->id);
}

void
test_decode(const struct test_dgram *d, struct cc_msg *m)
{
	memset(m, 0, sizeof(*m));
	ck_assert_int_eq(cc_msg_decode(d->buf, d->len, m, NULL, NULL), 0);
}

void
test_syn_of(struct cc_wbuf *w, const struct cc_id *id, const char *cluster)
{
	struct cc_digest_entry	entry;
	struct cc_digest	d = { &entry, 1, NULL };

	memset(&entry, 0, sizeof(entry));
	entry.id = *id;		/* borrowed: encoding only reads it */
	entry.heartbeat = 1;
	cc_wbuf_init(w);
	cc_msg_put_header(w, CC_MSG_SYN);
	cc_digest_encode(w, &d);
	cc_wbuf_str(w, cluster, strlen(cluster));
	ck_assert_int_eq(w->err, 0);
}
