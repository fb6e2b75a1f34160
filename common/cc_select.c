/*
 * cc_select.c: whom to gossip with in a round (PROTOCOL.md §4.7), and the
 * random helpers built on the injected 32-bit source.
 *
 * Candidate sets are sets of socket addresses, as in chitchat: ids sharing
 * an address collapse into one target. The draws happen in chitchat's
 * order (subset, dead U(), dead choice, seed U(), seed choice) so scripted
 * RNG tests reproduce upstream expectations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc_state.h"

#define GOSSIP_COUNT 3

double
cc_rand_unit(uint32_t (*rand_u32)(void *), void *arg)
{
	uint64_t hi = rand_u32(arg) >> 5;	/* 27 bits */
	uint64_t lo = rand_u32(arg) >> 6;	/* 26 bits */

	return (double)((hi << 26) | lo) / 9007199254740992.0;	/* 2^53 */
}

size_t
cc_rand_index(uint32_t (*rand_u32)(void *), void *arg, size_t n)
{
	uint32_t limit, r;

	if (n <= 1)
		return 0;
	/* rejection sampling: no modulo bias */
	limit = UINT32_MAX - (uint32_t)(((uint64_t)UINT32_MAX + 1) % n);
	do {
		r = rand_u32(arg);
	} while (r > limit);
	return r % n;
}

void
cc_addr_set_init(struct cc_addr_set *s)
{
	memset(s, 0, sizeof(*s));
}

void
cc_addr_set_clear(struct cc_addr_set *s)
{
	free(s->v);
	cc_addr_set_init(s);
}

static int
addr_cmp_void(const void *a, const void *b)
{
	return cc_addr_cmp(a, b);
}

bool
cc_addr_set_has(const struct cc_addr_set *s, const struct cc_addr *a)
{
	if (s->sorted)
		return s->n > 0 && bsearch(a, s->v, s->n, sizeof(*a), addr_cmp_void) != NULL;
	for (size_t i = 0; i < s->n; i++)
		if (cc_addr_is_equal(&s->v[i], a))
			return true;
	return false;
}

int
cc_addr_set_push(struct cc_addr_set *s, const struct cc_addr *a)
{
	if (s->n == s->cap) {
		size_t		 ncap = s->cap ? s->cap * 2 : 8;
		struct cc_addr	*nv = realloc(s->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			errno = ENOMEM;
			return -1;
		}
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = *a;
	s->sorted = false;
	return 0;
}

int
cc_addr_set_add(struct cc_addr_set *s, const struct cc_addr *a)
{
	bool was_sorted = s->sorted;

	if (cc_addr_set_has(s, a))
		return 0;
	if (cc_addr_set_push(s, a) == -1)
		return -1;
	if (was_sorted)
		cc_addr_set_seal(s);
	return 0;
}

void
cc_addr_set_seal(struct cc_addr_set *s)
{
	size_t out = 0;

	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), addr_cmp_void);
	for (size_t i = 0; i < s->n; i++)
		if (out == 0 || !cc_addr_is_equal(&s->v[out - 1], &s->v[i]))
			s->v[out++] = s->v[i];
	s->n = out;
	s->sorted = true;
}

/* Up to GOSSIP_COUNT distinct elements, uniformly: each draw picks a rank
 * among the elements not yet picked. */
static size_t
sample(const struct cc_addr_set *pool, uint32_t (*rand_u32)(void *), void *arg,
    struct cc_addr *out)
{
	size_t	k = pool->n < GOSSIP_COUNT ? pool->n : GOSSIP_COUNT;
	size_t	picked[GOSSIP_COUNT];

	for (size_t i = 0; i < k; i++) {
		size_t rank = cc_rand_index(rand_u32, arg, pool->n - i);

		for (size_t idx = 0; idx < pool->n; idx++) {
			bool taken = false;

			for (size_t p = 0; p < i; p++)
				taken = taken || picked[p] == idx;
			if (taken)
				continue;
			if (rank-- == 0) {
				picked[i] = idx;
				out[i] = pool->v[idx];
				break;
			}
		}
	}
	return k;
}

void
cc_select_peers(const struct cc_addr_set *peers, const struct cc_addr_set *live,
    const struct cc_addr_set *dead, const struct cc_addr_set *seeds,
    uint32_t (*rand_u32)(void *), void *arg, struct cc_selection *sel)
{
	const struct cc_addr_set	*pool = live->n > 0 ? live : peers;
	bool				 with_seed = false;
	double				 p_dead;

	memset(sel, 0, sizeof(*sel));
	sel->n_targets = sample(pool, rand_u32, arg, sel->targets);
	for (size_t i = 0; i < sel->n_targets; i++)
		if (cc_addr_set_has(seeds, &sel->targets[i]))
			with_seed = true;

	p_dead = (double)dead->n / (double)(live->n + 1);
	if (p_dead > cc_rand_unit(rand_u32, arg) && dead->n > 0) {
		sel->has_dead = true;
		sel->dead_target = dead->v[cc_rand_index(rand_u32, arg, dead->n)];
	}

	if (!with_seed || live->n < seeds->n) {
		bool pick = live->n == 0;

		if (!pick) {
			double p_seed = (double)seeds->n / (double)(live->n + dead->n);

			pick = cc_rand_unit(rand_u32, arg) <= p_seed;
		}
		if (pick && seeds->n > 0) {
			sel->has_seed = true;
			sel->seed_target = seeds->v[cc_rand_index(rand_u32, arg, seeds->n)];
		}
	}
}
