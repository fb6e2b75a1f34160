/*
 * check_fd.c: the failure detector (PROTOCOL.md §5; catalogue group G).
 *
 * G4-G7 drive a sampling window directly. G1-G3 and the §5.4/§5.5 checks
 * go through an engine on a fake clock, with the round's pieces called one
 * by one: heartbeat reports (as digests would deliver them) and the
 * liveness update that ends every gossip round.
 */
#include <float.h>
#include <string.h>

#include "cc_state.h"
#include "testutil.h"

#define SEC	1000ULL
#define HOUR	(3600 * SEC)

struct fixture {
	struct test_env		 te;
	struct cc_engine	*e;
	struct cc_id		 self;
	struct cc_id		 ids[3];
	uint64_t		 hb[3];
};

static void
fixture_init(struct fixture *f, uint64_t seed)
{
	struct cc_config	cfg;
	struct cc_addr		a = test_addr4(10000);

	memset(f, 0, sizeof(*f));
	test_env_init(&f->te, &a, seed);
	test_config(&cfg, &f->self, 10000);	/* default failure-detector config */
	f->e = cc_engine_new(&cfg, &f->te.env);
	ck_assert_ptr_nonnull(f->e);
	for (int i = 0; i < 3; i++)
		test_id(&f->ids[i], (uint16_t)(10001 + i));
}

static void
fixture_clear(struct fixture *f)
{
	cc_engine_free(f->e);
	cc_id_clear(&f->self);
	for (int i = 0; i < 3; i++)
		cc_id_clear(&f->ids[i]);
	test_env_clear(&f->te);
}

/* The next heartbeat of node i, as a digest would show it. */
static void
beat(struct fixture *f, int i)
{
	cc_engine_report_heartbeat(f->e, &f->ids[i], ++f->hb[i]);
}

/* 1 or 2 seconds, from the seeded PRNG. */
static uint64_t
one_or_two_s(struct fixture *f)
{
	return (1 + test_rand_u32(&f->te) % 2) * SEC;
}

/* ---- G1-G3: through an engine -------------------------------------------------- */

START_TEST(test_G1_single_heartbeat_not_alive)
{
	struct fixture	f;
	double		phi;

	fixture_init(&f, 1);
	/* the first heartbeat value is only stored (§2.8) */
	beat(&f, 0);
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_DEAD);
	ck_assert_uint_eq(cc_engine_num_live(f.e), 1);	/* self only */
	/* one failure-detector report: a window, a time, no interval, no phi */
	f.te.now_ms += SEC;
	beat(&f, 0);
	ck_assert(!cc_engine_phi(f.e, &f.ids[0], &phi));
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_DEAD);
	ck_assert_uint_eq(cc_engine_num_live(f.e), 1);
	ck_assert_uint_eq(cc_engine_num_dead(f.e), 1);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_G2_failure_detector)
{
	struct fixture	f;
	uint64_t	hb;

	fixture_init(&f, 9);
	for (int i = 0; i < 2001; i++) {
		f.te.now_ms += one_or_two_s(&f);
		beat(&f, (int)(test_rand_u32(&f.te) % 3));
	}
	cc_engine_update_liveness(f.e);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[i]), CC_LIVENESS_LIVE);
		ck_assert_ptr_nonnull(cc_engine_node(f.e, &f.ids[i]));
	}
	ck_assert_uint_eq(cc_engine_num_live(f.e), 4);
	ck_assert_uint_eq(cc_engine_num_dead(f.e), 0);

	f.te.now_ms += 50 * SEC;
	cc_engine_update_liveness(f.e);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[i]), CC_LIVENESS_DEAD);
		ck_assert_ptr_nonnull(cc_engine_node(f.e, &f.ids[i]));	/* no GC yet */
	}
	ck_assert_uint_eq(cc_engine_num_live(f.e), 1);
	ck_assert_uint_eq(cc_engine_num_dead(f.e), 3);

	f.te.now_ms += 25 * HOUR;
	cc_engine_update_liveness(f.e);
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_null(cc_engine_node(f.e, &f.ids[i]));
		ck_assert(cc_engine_gc_nodes_has(f.e, &f.ids[i], &hb));
		ck_assert_uint_eq(hb, f.hb[i]);
	}
	ck_assert_uint_eq(cc_engine_num_live(f.e), 1);
	ck_assert_uint_eq(cc_engine_num_dead(f.e), 0);
	ck_assert_uint_eq(cc_engine_num_nodes(f.e), 1);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_G3_live_to_down_to_live)
{
	struct fixture f;

	fixture_init(&f, 3);
	for (int i = 0; i < 2001; i++) {
		f.te.now_ms += one_or_two_s(&f);
		beat(&f, 0);
	}
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_LIVE);
	f.te.now_ms += 20 * SEC;
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_DEAD);
	for (int i = 0; i < 501; i++) {
		f.te.now_ms += one_or_two_s(&f);
		beat(&f, 0);
	}
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_LIVE);
	ck_assert_uint_eq(cc_engine_num_live(f.e), 2);
	ck_assert_uint_eq(cc_engine_num_dead(f.e), 0);
	fixture_clear(&f);
}
END_TEST

/* ---- G4-G7: the sampling window --------------------------------------------------- */

static struct cc_fd_window *
window(const struct cc_fd_config *cfg)
{
	struct cc_fd_window *w = cc_fd_window_new(cfg->sampling_window_size);

	ck_assert_ptr_nonnull(w);
	return w;
}

START_TEST(test_G4_additive_smoothing_predominant_in_the_beginning)
{
	struct cc_fd_config	 cfg;
	struct cc_fd_window	*w;
	uint64_t		 t = 1000000;
	double			 phi, mean = (2.0 + 25.0) / 10.0;

	cc_fd_config_default(&cfg);
	w = window(&cfg);
	cc_fd_window_report(w, &cfg, cc_mtime(t));
	t += 1000;
	for (int i = 0; i < 5; i++) {
		t += 200;
		cc_fd_window_report(w, &cfg, cc_mtime(t));
	}
	ck_assert_uint_eq(w->count, 5);
	ck_assert_uint_eq(w->sum_ms, 2000);
	t += 6000;
	ck_assert(cc_fd_window_phi(w, &cfg, cc_mtime(t), &phi));
	ck_assert_double_eq_tol(phi, 6.0 / mean, 1e-9);		/* ~2.2 */
	ck_assert(phi <= cfg.phi_threshold);
	t += 40000;
	ck_assert(cc_fd_window_phi(w, &cfg, cc_mtime(t), &phi));
	ck_assert_double_eq_tol(phi, 46.0 / mean, 1e-9);	/* ~17 */
	ck_assert(phi > cfg.phi_threshold);
	cc_fd_window_free(w);
}
END_TEST

START_TEST(test_G5_additive_smoothing_effect_fades_off)
{
	struct cc_fd_config	 cfg;
	struct cc_fd_window	*w;
	uint64_t		 t = 1000000;
	double			 phi, mean = 225.0 / 1005.0;

	cc_fd_config_default(&cfg);
	w = window(&cfg);
	cc_fd_window_report(w, &cfg, cc_mtime(t));
	for (int i = 0; i < 1000; i++) {
		t += 200;
		cc_fd_window_report(w, &cfg, cc_mtime(t));
	}
	ck_assert_uint_eq(w->count, 1000);
	t += 6000;
	ck_assert(cc_fd_window_phi(w, &cfg, cc_mtime(t), &phi));
	ck_assert_double_eq_tol(phi, 6.0 / mean, 1e-6);		/* ~26.8 */
	ck_assert(phi > cfg.phi_threshold);
	cc_fd_window_free(w);
}
END_TEST

START_TEST(test_G6_sampling_window)
{
	struct cc_fd_config	 cfg;
	struct cc_fd_window	*w;
	uint64_t		 t = 5000000;
	double			 phi, m = (3.0 + 10.0) / 6.0;

	cc_fd_config_default(&cfg);
	cfg.sampling_window_size = 10;
	cfg.max_interval_ms = 5000;
	cfg.initial_interval_ms = 2000;
	w = window(&cfg);

	cc_fd_window_report(w, &cfg, cc_mtime(t));
	ck_assert(!cc_fd_window_phi(w, &cfg, cc_mtime(t), &phi));
	t += 3000;
	cc_fd_window_report(w, &cfg, cc_mtime(t));
	ck_assert(cc_fd_window_phi(w, &cfg, cc_mtime(t), &phi));
	ck_assert_double_eq_tol(phi, 0.0, DBL_EPSILON);
	t += 1000;
	ck_assert(cc_fd_window_phi(w, &cfg, cc_mtime(t), &phi));
	ck_assert_double_eq_tol(phi, 1.0 / m, DBL_EPSILON);
	/* 6 s > max interval: not recorded, but the last time moves */
	t += 5000;
	cc_fd_window_report(w, &cfg, cc_mtime(t));
	ck_assert_uint_eq(w->count, 1);
	t += 2000;
	ck_assert(cc_fd_window_phi(w, &cfg, cc_mtime(t), &phi));
	ck_assert_double_eq_tol(phi, 2.0 / m, DBL_EPSILON);
	/* reset keeps the last time; 102 s is not recorded: phi undefined */
	t += 100000;
	cc_fd_window_reset(w);
	cc_fd_window_report(w, &cfg, cc_mtime(t));
	ck_assert(!cc_fd_window_phi(w, &cfg, cc_mtime(t), &phi));
	t += 2000;
	cc_fd_window_report(w, &cfg, cc_mtime(t));
	t += 4000;
	ck_assert(cc_fd_window_phi(w, &cfg, cc_mtime(t), &phi));
	ck_assert_double_eq_tol(phi, 4.0 / ((2.0 + 10.0) / 6.0), DBL_EPSILON);
	ck_assert_double_eq_tol(phi, 2.0, DBL_EPSILON);
	cc_fd_window_free(w);
}
END_TEST

START_TEST(test_G7_bounded_array_stats)
{
	struct cc_fd_window *w = cc_fd_window_new(5);

	ck_assert_ptr_nonnull(w);
	for (uint32_t i = 1; i <= 5; i++) {
		cc_fd_window_push(w, i * 1000);
		ck_assert_uint_eq(w->count, i);
		ck_assert_uint_eq(w->sum_ms, i * (i + 1) / 2 * 1000);
	}
	ck_assert_uint_eq(w->count, w->capacity);	/* full */
	for (uint32_t i = 6; i <= 9; i++) {
		cc_fd_window_push(w, i * 1000);
		ck_assert_uint_eq(w->count, 5);
		ck_assert_uint_eq(w->sum_ms,
		    ((i - 4) + (i - 3) + (i - 2) + (i - 1) + i) * 1000);
	}
	cc_fd_window_reset(w);
	ck_assert_uint_eq(w->count, 0);
	ck_assert_uint_eq(w->sum_ms, 0);
	cc_fd_window_free(w);
}
END_TEST

/* The ring grows by doubling and keeps every sample in order while it does. */
START_TEST(test_window_grows_to_capacity)
{
	struct cc_fd_window	*w = cc_fd_window_new(1000);
	uint64_t		 want = 0;

	ck_assert_ptr_nonnull(w);
	ck_assert_uint_lt(w->alloc, 1000);
	for (uint32_t i = 1; i <= 2500; i++) {
		cc_fd_window_push(w, i);
		want += i;
		if (i > 1000)
			want -= i - 1000;
		ck_assert_uint_eq(w->sum_ms, want);
		ck_assert_uint_le(w->alloc, 1000);
	}
	ck_assert_uint_eq(w->alloc, 1000);
	ck_assert_uint_eq(w->count, 1000);
	/* the oldest surviving sample is 1501, the newest 2500 */
	ck_assert_uint_eq(w->ring[w->head], 1501);
	ck_assert_uint_eq(w->ring[(w->head + 999) % 1000], 2500);
	cc_fd_window_free(w);
}
END_TEST

/* ---- §5.2-§5.5 beyond the catalogue ------------------------------------------------ */

/* An interval equal to max_interval is recorded (dt <= max_interval). */
START_TEST(test_fd_max_interval_boundary)
{
	struct cc_fd_config	 cfg;
	struct cc_fd_window	*w;
	uint64_t		 t = 1000;

	cc_fd_config_default(&cfg);
	w = window(&cfg);
	cc_fd_window_report(w, &cfg, cc_mtime(t));
	t += cfg.max_interval_ms;
	cc_fd_window_report(w, &cfg, cc_mtime(t));
	ck_assert_uint_eq(w->count, 1);
	t += cfg.max_interval_ms + 1;
	cc_fd_window_report(w, &cfg, cc_mtime(t));
	ck_assert_uint_eq(w->count, 1);
	ck_assert_uint_eq(w->sum_ms, 10000);
	cc_fd_window_free(w);
}
END_TEST

/* From nothing, three increasing heartbeat values before a phi (§5.2). */
START_TEST(test_fd_three_heartbeats_needed)
{
	struct fixture	f;
	cc_mtime_t	last;
	double		phi;
	uint64_t	t2;

	fixture_init(&f, 1);
	beat(&f, 0);				/* 1: stored only */
	ck_assert_uint_eq(cc_node_heartbeat(cc_engine_node(f.e, &f.ids[0])), 1);
	ck_assert(!cc_engine_last_heartbeat_time(f.e, &f.ids[0], &last));
	f.te.now_ms += SEC;
	beat(&f, 0);				/* 2: window, time */
	t2 = f.te.now_ms;
	ck_assert(cc_engine_last_heartbeat_time(f.e, &f.ids[0], &last));
	ck_assert_uint_eq(last.ms, t2);
	ck_assert(!cc_engine_phi(f.e, &f.ids[0], &phi));
	/* equal or lower heartbeats are not increases */
	f.te.now_ms += SEC;
	cc_engine_report_heartbeat(f.e, &f.ids[0], 2);
	cc_engine_report_heartbeat(f.e, &f.ids[0], 1);
	ck_assert(cc_engine_last_heartbeat_time(f.e, &f.ids[0], &last));
	ck_assert_uint_eq(last.ms, t2);
	ck_assert_uint_eq(cc_node_heartbeat(cc_engine_node(f.e, &f.ids[0])), 2);
	beat(&f, 0);				/* 3: first interval (2 s) */
	ck_assert(cc_engine_phi(f.e, &f.ids[0], &phi));
	ck_assert_double_eq_tol(phi, 0.0, DBL_EPSILON);
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_LIVE);
	ck_assert_uint_eq(cc_engine_num_live(f.e), 2);
	/* the self heartbeat is never reported */
	cc_engine_report_heartbeat(f.e, &f.self, 100);
	ck_assert_uint_eq(cc_node_heartbeat(cc_engine_self_node(f.e)), 1);
	fixture_clear(&f);
}
END_TEST

/* Scheduled for deletion strictly after grace/2; GC at grace (§5.5). */
START_TEST(test_fd_scheduled_and_gc_boundaries)
{
	struct fixture		 f;
	struct cc_addr		 peer = test_addr4(20000);
	struct test_dgram	 d;
	struct cc_msg		 m;
	uint64_t		 tod, hb;
	const uint64_t		 grace = 24 * HOUR;

	fixture_init(&f, 1);
	for (int i = 0; i < 3; i++) {
		f.te.now_ms += SEC;
		beat(&f, 0);
	}
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_LIVE);
	f.te.now_ms += 60 * SEC;
	cc_engine_update_liveness(f.e);
	tod = f.te.now_ms;
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_DEAD);
	/* later updates do not move the time of death */
	f.te.now_ms = tod + 6 * HOUR;
	cc_engine_update_liveness(f.e);
	f.te.now_ms = tod + grace / 2;
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_DEAD);
	ck_assert(!cc_engine_is_scheduled(f.e, cc_engine_node(f.e, &f.ids[0])));
	f.te.now_ms = tod + grace / 2 + 1;
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_SCHEDULED);
	ck_assert(cc_engine_is_scheduled(f.e, cc_engine_node(f.e, &f.ids[0])));
	ck_assert_uint_eq(cc_engine_num_dead(f.e), 1);	/* still in dead_nodes() */
	/* left out of our digest (§4.3) */
	ck_assert_int_eq(cc_engine_gossip(f.e, &peer), 0);
	ck_assert(test_env_pop(&f.te, &d));
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(cc_msg_decode(d.buf, d.len, &m, NULL, NULL), 0);
	ck_assert_uint_eq(m.digest.n, 1);
	ck_assert(cc_id_is_equal(&m.digest.entries[0].id, &f.self));
	cc_msg_clear(&m);
	test_dgram_free(&d);

	f.te.now_ms = tod + grace - 1;
	cc_engine_update_liveness(f.e);
	ck_assert_ptr_nonnull(cc_engine_node(f.e, &f.ids[0]));
	f.te.now_ms = tod + grace;
	cc_engine_update_liveness(f.e);
	ck_assert_ptr_null(cc_engine_node(f.e, &f.ids[0]));
	ck_assert(cc_engine_gc_nodes_has(f.e, &f.ids[0], &hb));
	ck_assert_uint_eq(hb, 3);
	ck_assert_uint_eq(cc_engine_num_dead(f.e), 0);
	fixture_clear(&f);
}
END_TEST

/*
 * A node scheduled for deletion still gets heartbeat reports and comes back
 * to life when its heartbeat rises; the grace period then starts over (§5.5).
 */
START_TEST(test_fd_scheduled_node_revives)
{
	struct fixture	f;
	uint64_t	tod;

	fixture_init(&f, 1);
	for (int i = 0; i < 3; i++) {
		f.te.now_ms += SEC;
		beat(&f, 0);
	}
	f.te.now_ms += 60 * SEC;
	cc_engine_update_liveness(f.e);
	tod = f.te.now_ms;
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_DEAD);
	f.te.now_ms = tod + 12 * HOUR + 1;
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_SCHEDULED);
	/* the first interval is far above max_interval: two increases needed */
	beat(&f, 0);
	f.te.now_ms += SEC;
	beat(&f, 0);
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_LIVE);
	ck_assert_uint_eq(cc_engine_num_dead(f.e), 0);
	/* not collected at the old deadline */
	f.te.now_ms = tod + 24 * HOUR;
	beat(&f, 0);
	cc_engine_update_liveness(f.e);
	ck_assert_ptr_nonnull(cc_engine_node(f.e, &f.ids[0]));
	fixture_clear(&f);
}
END_TEST

/* A garbage-collected node comes back only with a higher heartbeat (§4.6). */
START_TEST(test_fd_gc_node_recreated_only_if_newer)
{
	struct fixture	f;
	uint64_t	hb;

	fixture_init(&f, 1);
	cc_engine_report_heartbeat(f.e, &f.ids[0], 40);
	cc_engine_update_liveness(f.e);		/* never reported: dead at once */
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_DEAD);
	f.te.now_ms += 24 * HOUR;
	cc_engine_update_liveness(f.e);
	ck_assert_ptr_null(cc_engine_node(f.e, &f.ids[0]));
	ck_assert(cc_engine_gc_nodes_has(f.e, &f.ids[0], &hb));
	ck_assert_uint_eq(hb, 40);

	cc_engine_report_heartbeat(f.e, &f.ids[0], 40);
	cc_engine_report_heartbeat(f.e, &f.ids[0], 12);
	ck_assert_ptr_null(cc_engine_node(f.e, &f.ids[0]));
	cc_engine_report_heartbeat(f.e, &f.ids[0], 41);
	ck_assert_ptr_nonnull(cc_engine_node(f.e, &f.ids[0]));
	ck_assert_uint_eq(cc_node_heartbeat(cc_engine_node(f.e, &f.ids[0])), 41);
	ck_assert_uint_eq(cc_node_max_version(cc_engine_node(f.e, &f.ids[0])), 0);
	ck_assert(!cc_engine_gc_nodes_has(f.e, &f.ids[0], NULL));
	fixture_clear(&f);
}
END_TEST

/*
 * Back from the dead (§5.4): after a silence shorter than max_interval one
 * heartbeat increase is enough; after a longer one, two are needed.
 */
START_TEST(test_fd_revival_after_short_and_long_silence)
{
	struct fixture f;

	fixture_init(&f, 1);
	for (int i = 0; i < 1001; i++) {
		f.te.now_ms += SEC;
		beat(&f, 0);
		beat(&f, 1);
	}
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_LIVE);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[1]), CC_LIVENESS_LIVE);
	/* mean ~1.02 s: 9 s of silence is phi ~8.8 > 8, dead */
	f.te.now_ms += 9 * SEC;
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_DEAD);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[1]), CC_LIVENESS_DEAD);
	/* node 0 returns after 9.5 s (<= 10 s): one increase */
	f.te.now_ms += 500;
	beat(&f, 0);
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_LIVE);
	/* node 1 returns after 15 s: the interval is dropped, two increases */
	f.te.now_ms += 5500;
	beat(&f, 1);
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[1]), CC_LIVENESS_DEAD);
	f.te.now_ms += SEC;
	beat(&f, 1);
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[1]), CC_LIVENESS_LIVE);
	fixture_clear(&f);
}
END_TEST

/* The threshold is inclusive: live iff phi <= phi_threshold (§5.1). */
START_TEST(test_fd_threshold_inclusive)
{
	struct fixture	f;
	double		phi;
	uint64_t	t;

	fixture_init(&f, 1);
	/* one 5 s interval with a 5 s prior: mean exactly 5 s */
	for (int i = 0; i < 3; i++) {
		f.te.now_ms += 5 * SEC;
		beat(&f, 0);
	}
	t = f.te.now_ms;
	f.te.now_ms = t + 40 * SEC;		/* phi = 40 / 5 = 8 */
	ck_assert(cc_engine_phi(f.e, &f.ids[0], &phi));
	ck_assert_double_eq_tol(phi, 8.0, DBL_EPSILON);
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_LIVE);
	f.te.now_ms = t + 40 * SEC + 1;
	cc_engine_update_liveness(f.e);
	ck_assert_int_eq(cc_engine_liveness(f.e, &f.ids[0]), CC_LIVENESS_DEAD);
	fixture_clear(&f);
}
END_TEST

static Suite *
fd_suite(void)
{
	Suite	*s = suite_create("fd");
	TCase	*tc = tcase_create("catalogue_G");

	tcase_add_test(tc, test_G1_single_heartbeat_not_alive);
	tcase_add_test(tc, test_G2_failure_detector);
	tcase_add_test(tc, test_G3_live_to_down_to_live);
	tcase_add_test(tc, test_G4_additive_smoothing_predominant_in_the_beginning);
	tcase_add_test(tc, test_G5_additive_smoothing_effect_fades_off);
	tcase_add_test(tc, test_G6_sampling_window);
	tcase_add_test(tc, test_G7_bounded_array_stats);
	tcase_add_test(tc, test_window_grows_to_capacity);
	suite_add_tcase(s, tc);

	tc = tcase_create("liveness");
	tcase_add_test(tc, test_fd_max_interval_boundary);
	tcase_add_test(tc, test_fd_three_heartbeats_needed);
	tcase_add_test(tc, test_fd_scheduled_and_gc_boundaries);
	tcase_add_test(tc, test_fd_scheduled_node_revives);
	tcase_add_test(tc, test_fd_gc_node_recreated_only_if_newer);
	tcase_add_test(tc, test_fd_revival_after_short_and_long_silence);
	tcase_add_test(tc, test_fd_threshold_inclusive);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(fd_suite)
