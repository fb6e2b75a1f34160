/*
 * testutil.h: shared fixtures for the Check suites and the simulator.
 *
 * A fake environment (struct test_env) gives an engine a settable clock, a
 * seeded PRNG and a send hook that captures datagrams into a queue, so
 * engines can be driven message by message with no sockets and no sleeps.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cc.h"
#include "cc_wire.h"

/* One Check binary per file: CC_TEST_MAIN(make_suite). */
#define CC_TEST_MAIN(suite_fn)						\
int									\
main(void)								\
{									\
	SRunner	*sr = srunner_create(suite_fn());			\
	int	 nfail;							\
	srunner_run_all(sr, CK_NORMAL);					\
	nfail = srunner_ntests_failed(sr);				\
	srunner_free(sr);						\
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;		\
}

/* A captured datagram. */
struct test_dgram {
	struct cc_addr	 from;
	struct cc_addr	 to;
	uint8_t		*buf;
	size_t		 len;
};

struct test_env {
	struct cc_env		 env;
	uint64_t		 now_ms;
	uint64_t		 rng;		/* xorshift64* state, never 0 */
	struct cc_addr		 self;		/* source address of sends */
	struct test_dgram	*sent;		/* captured, in send order */
	size_t			 n_sent;
	size_t			 cap_sent;
	int			 fail_sends;	/* > 0: the next sends fail */
	/* Optional event hook, called after counting. */
	void			(*on_event)(struct test_env *, const struct cc_event *);
	void			*user;
	size_t			 n_catchup;
	size_t			 n_live_events;
};

void	test_env_init(struct test_env *, const struct cc_addr *self, uint64_t seed);
void	test_env_clear(struct test_env *);
/* Removes and returns the oldest captured datagram (caller frees buf). */
bool	test_env_pop(struct test_env *, struct test_dgram *);
void	test_env_drop_all(struct test_env *);
void	test_dgram_free(struct test_dgram *);
/* PRNG helpers on the same state (deterministic per seed). */
uint32_t test_rand_u32(struct test_env *);
double	test_rand_unit(struct test_env *);

/* 127.0.0.1:port */
struct cc_addr test_addr4(uint16_t port);
/* id(p) = {"node-<p>", 0, 127.0.0.1:<p>} into *out (caller cc_id_clear). */
void	test_id(struct cc_id *out, uint16_t port);
/* {"<name>", gen, 127.0.0.1:<port>} */
void	test_id_named(struct cc_id *out, const char *name, uint64_t gen, uint16_t port);

/*
 * A SYN to cluster whose digest holds id alone at heartbeat 1, into a new
 * w (caller cc_wbuf_clear): what a fake peer sends to be heard.
 */
void	test_syn_of(struct cc_wbuf *w, const struct cc_id *id, const char *cluster);

/* for_test(port) config (§7.1): gossip 50 ms, entry grace 10,000 s. */
void	test_config(struct cc_config *, struct cc_id *self_storage, uint16_t port);

/* An engine on its own fake environment: the common test fixture. */
struct test_engine {
	struct test_env		 env;
	struct cc_engine	*e;
	struct cc_id		 id;	/* storage for the config's self id */
};

/* Starts an engine for cfg; the PRNG seed is seed + the engine's port. */
void	test_engine_start(struct test_engine *, const struct cc_config *, uint64_t seed);
/* for_test(port) (§7.1). */
void	test_engine_init(struct test_engine *, uint16_t port, uint64_t seed);
void	test_engine_free(struct test_engine *);
/* Decodes a captured datagram (fails the test if it does not decode). */
void	test_decode(const struct test_dgram *, struct cc_msg *);

/*
 * handshake(A, B) of PROTOCOL.md §10: A builds a SYN to B, B answers,
 * A answers, B handles the ACK. Engines must use test_envs whose self
 * addresses are their gossip addresses. Fails the test on a missing reply.
 */
void	test_handshake(struct cc_engine *a, struct test_env *ea,
	    struct cc_engine *b, struct test_env *eb);

#endif /* TESTUTIL_H */
