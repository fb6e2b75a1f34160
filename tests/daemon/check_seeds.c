/*
 * check_seeds.c: daemon/seeds.c, notify.c and the gossip problem summary,
 * in process, on a real event loop.
 *
 * Seeds use their own resolver: /etc/hosts, plus a nameserver that is a
 * test socket on the same loop, answering NXDOMAIN to everything (or
 * nothing at all, for look-ups that stay in flight), so the tests do not
 * depend on the network. Every wait is bounded.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "../../daemon/ccd.h"
#include "../../daemon/gossip.h"
#include "../../daemon/log.h"
#include "../../daemon/notify.h"
#include "../../daemon/seeds.h"
#include "testutil.h"

struct fixture {
	struct ccd		 ccd;
	struct ccd_config	 cfg;
	struct test_engine	 t;
	int			 saved_stderr;
	char			 log_path[64];
};

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	test_engine_init(&f->t, 7600, 1);
	f->ccd.base = event_base_new();
	ck_assert_ptr_nonnull(f->ccd.base);
	f->ccd.engine = f->t.e;
	f->ccd.cfg = &f->cfg;
	ck_assert_int_eq(cc_addr_parse("127.0.0.1:7600", &f->cfg.listen_addr), 0);
	f->saved_stderr = -1;
}

static void
fixture_clear(struct fixture *f)
{
	f->ccd.engine = NULL;
	test_engine_free(&f->t);
	event_base_free(f->ccd.base);
}

/* Logs (stderr) go to a file while capturing. */
static void
capture_start(struct fixture *f)
{
	int fd;

	snprintf(f->log_path, sizeof(f->log_path), "/tmp/check_seeds.XXXXXX");
	fd = mkstemp(f->log_path);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	f->saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Stops capturing; returns what was logged (caller frees). */
static char *
capture_stop(struct fixture *f)
{
	FILE	*fp;
	char	*text;
	long	 n;

	fflush(stderr);
	dup2(f->saved_stderr, STDERR_FILENO);
	close(f->saved_stderr);
	fp = fopen(f->log_path, "r");
	ck_assert_ptr_nonnull(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	text = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(text, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	unlink(f->log_path);
	return text;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* The test nameserver: NXDOMAIN to every query, or silence. */
struct fake_ns {
	int		 fd;
	struct event	*ev;
	bool		 answer;
	int		 queries;
};

static void
fake_ns_read(evutil_socket_t fd, short what, void *arg)
{
	struct fake_ns		*ns = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	uint8_t			 buf[512];
	ssize_t			 n;

	(void)what;
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len);
	if (n < 12)
		return;
	ns->queries++;
	if (!ns->answer)
		return;
	buf[2] = 0x81;		/* QR, RD */
	buf[3] = 0x83;		/* RA, RCODE 3: NXDOMAIN */
	memset(buf + 6, 0, 6);	/* no answer, authority or additional records */
	(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, len);
}

/* A resolver with /etc/hosts and the test nameserver as its only one. */
static struct evdns_base *
resolver(struct event_base *base, struct fake_ns *ns, bool answer)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct evdns_base	*dns = evdns_base_new(base, 0);
	char			 addr[64];

	ck_assert_ptr_nonnull(dns);
	ck_assert_int_eq(evdns_base_load_hosts(dns, NULL), 0);
	memset(ns, 0, sizeof(*ns));
	ns->answer = answer;
	ns->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(ns->fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(ns->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(ns->fd, (struct sockaddr *)&sin, &len), 0);
	ns->ev = event_new(base, ns->fd, EV_READ | EV_PERSIST, fake_ns_read, ns);
	ck_assert_int_eq(event_add(ns->ev, NULL), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
	ck_assert_int_eq(evdns_base_nameserver_ip_add(dns, addr), 0);
	return dns;
}

static void
fake_ns_close(struct fake_ns *ns)
{
	event_free(ns->ev);
	close(ns->fd);
}

static bool
current_has(struct seeds *s, const char *addr)
{
	const struct cc_addr	*set;
	struct cc_addr		 a;
	size_t			 n = seeds_current(s, &set);

	ck_assert_int_eq(cc_addr_parse(addr, &a), 0);
	for (size_t i = 0; i < n; i++)
		if (cc_addr_is_equal(&set[i], &a))
			return true;
	return false;
}

/* Runs the loop until no look-up is pending (bounded: 5 s). */
static void
run_until_resolved(struct fixture *f, struct seeds *s)
{
	for (int i = 0; i < 500 && seeds_pending(s) > 0; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(f->ccd.base, &tv);
		event_base_dispatch(f->ccd.base);
	}
	ck_assert_uint_eq(seeds_pending(s), 0);
}

static void
run_for_ms(struct fixture *f, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(f->ccd.base, &tv);
	event_base_dispatch(f->ccd.base);
}

/* The engine gossips to the seeds it was given: its SYNs' destinations. */
static bool
engine_sends_to(struct fixture *f, const char *addr)
{
	struct cc_addr		a;
	struct test_dgram	d;
	bool			found = false;

	ck_assert_int_eq(cc_addr_parse(addr, &a), 0);
	test_env_drop_all(&f->t.env);
	for (int round = 0; round < 50 && !found; round++) {
		f->t.env.now_ms += 1000;
		cc_engine_tick(f->t.e);
		while (test_env_pop(&f->t.env, &d)) {
			if (cc_addr_is_equal(&d.to, &a))
				found = true;
			test_dgram_free(&d);
		}
	}
	return found;
}

START_TEST(test_literals_and_hosts_file_names_at_once)
{
	struct fixture	 f;
	struct seeds	*s;
	struct fake_ns	 ns;
	char		*specs[] = { "127.0.0.1:7001", "localhost:7002", "127.0.0.1:7001",
			    "localhost:7002", "[::1]:7003" };
	const struct cc_addr *set;
	char		*logged;

	fixture_init(&f);
	s = seeds_new(&f.ccd, resolver(f.ccd.base, &ns, true));
	log_init(CC_LOG_INFO);
	capture_start(&f);
	ck_assert_int_eq(seeds_set(s, specs, 5, NULL), 0);
	logged = capture_stop(&f);
	/* /etc/hosts answers inside the call: no loop pass needed */
	ck_assert(current_has(s, "127.0.0.1:7001"));
	ck_assert(current_has(s, "127.0.0.1:7002"));
	/* duplicates folded; IPv6 unreachable from the IPv4 listen address */
	ck_assert_uint_eq(seeds_current(s, &set), 2);
	ck_assert_ptr_nonnull(strstr(logged, "seed [::1]:7003: an IPv4 socket cannot reach it"));
	free(logged);
	ck_assert(engine_sends_to(&f, "127.0.0.1:7002"));
	ck_assert_uint_eq(f.ccd.counters.dns_failures, 0);
	seeds_free(s);
	fake_ns_close(&ns);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_failed_lookup_counted_logged_once_per_streak)
{
	struct fixture	 f;
	struct seeds	*s;
	struct fake_ns	 ns;
	char		*specs[] = { "127.0.0.1:7001", "no-such-seed.invalid:7003" };
	char		*logged;

	fixture_init(&f);
	log_init(CC_LOG_INFO);
	capture_start(&f);
	s = seeds_new(&f.ccd, resolver(f.ccd.base, &ns, true));
	ck_assert_int_eq(seeds_set(s, specs, 2, NULL), 0);
	/* startup does not wait: the literal is there before any answer */
	ck_assert(current_has(s, "127.0.0.1:7001"));
	run_until_resolved(&f, s);
	ck_assert_uint_eq(f.ccd.counters.dns_failures, 1);
	ck_assert(current_has(s, "127.0.0.1:7001"));
	ck_assert_uint_eq(seeds_current(s, &(const struct cc_addr *){ NULL }), 1);
	/* refreshes keep failing: counted each time, logged once */
	seeds_set_refresh_ms(s, 20);
	for (int i = 0; i < 200 && f.ccd.counters.dns_failures < 4; i++)
		run_for_ms(&f, 10);
	ck_assert_uint_ge(f.ccd.counters.dns_failures, 4);
	seeds_free(s);
	fake_ns_close(&ns);
	logged = capture_stop(&f);
	ck_assert_uint_eq(count(logged, "seed no-such-seed.invalid:7003: cannot resolve"), 1);
	free(logged);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_set_replaces_and_keeps_still_listed_hosts)
{
	struct fixture	 f;
	struct seeds	*s;
	struct fake_ns	 ns;
	char		*first[] = { "127.0.0.1:7001", "localhost:7002" };
	char		*second[] = { "localhost:7002", "127.0.0.1:7005" };
	char		*bad[] = { "127.0.0.1:7006", "nocolon" };
	char		*cause = NULL;

	fixture_init(&f);
	s = seeds_new(&f.ccd, resolver(f.ccd.base, &ns, true));
	ck_assert_int_eq(seeds_set(s, first, 2, NULL), 0);
	ck_assert_int_eq(seeds_set(s, second, 2, NULL), 0);
	ck_assert(!current_has(s, "127.0.0.1:7001"));
	ck_assert(current_has(s, "127.0.0.1:7002"));
	ck_assert(current_has(s, "127.0.0.1:7005"));
	/* a malformed list changes nothing */
	ck_assert_int_eq(seeds_set(s, bad, 2, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "nocolon"));
	free(cause);
	ck_assert(current_has(s, "127.0.0.1:7005"));
	ck_assert(!current_has(s, "127.0.0.1:7006"));
	/* an empty list empties the engine's set */
	ck_assert_int_eq(seeds_set(s, NULL, 0, NULL), 0);
	ck_assert_uint_eq(seeds_current(s, &(const struct cc_addr *){ NULL }), 0);
	seeds_free(s);
	fake_ns_close(&ns);
	fixture_clear(&f);
}
END_TEST

/* The peer cache's extra seeds: merged, deduplicated, never self, kept by refreshes. */
START_TEST(test_extra_seeds_survive_set_and_refresh)
{
	struct fixture	 f;
	struct seeds	*s;
	struct fake_ns	 ns;
	char		*first[] = { "127.0.0.1:7001", "localhost:7002" };
	char		*second[] = { "localhost:7002" };
	struct cc_addr	 extra[5];
	const char	*texts[5] = { "127.0.0.1:7001", "127.0.0.1:7010", "127.0.0.1:7010",
			    "127.0.0.1:7600", "[::1]:7011" };

	fixture_init(&f);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(cc_addr_parse(texts[i], &extra[i]), 0);
	s = seeds_new(&f.ccd, resolver(f.ccd.base, &ns, true));
	ck_assert_int_eq(seeds_set(s, first, 2, NULL), 0);
	seeds_set_extra(s, extra, 5);
	/* 7001 once, 7002, 7010 once; not 7600 (this node), not IPv6 */
	ck_assert(current_has(s, "127.0.0.1:7010"));
	ck_assert(!current_has(s, "127.0.0.1:7600"));
	ck_assert_uint_eq(seeds_current(s, &(const struct cc_addr *){ NULL }), 3);
	ck_assert(engine_sends_to(&f, "127.0.0.1:7010"));
	/* a new configured list (SIGHUP) and DNS refreshes keep them */
	ck_assert_int_eq(seeds_set(s, second, 1, NULL), 0);
	ck_assert(current_has(s, "127.0.0.1:7001"));
	ck_assert(current_has(s, "127.0.0.1:7010"));
	seeds_set_refresh_ms(s, 20);
	run_for_ms(&f, 100);
	run_until_resolved(&f, s);
	ck_assert(current_has(s, "127.0.0.1:7002"));
	ck_assert(current_has(s, "127.0.0.1:7010"));
	ck_assert_uint_eq(seeds_current(s, &(const struct cc_addr *){ NULL }), 3);
	/* no configured seed at all: the extras alone */
	ck_assert_int_eq(seeds_set(s, NULL, 0, NULL), 0);
	ck_assert_uint_eq(seeds_current(s, &(const struct cc_addr *){ NULL }), 2);
	seeds_free(s);
	fake_ns_close(&ns);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_lookups_in_flight_cancelled_cleanly)
{
	struct fixture	 f;
	struct seeds	*s;
	char		*specs[] = { "127.0.0.1:7001", "slow.example:7002", "slow2.example:7003" };
	char		*other[] = { "127.0.0.1:7009", "slow.example:7002" };
	struct fake_ns	 ns;

	fixture_init(&f);
	s = seeds_new(&f.ccd, resolver(f.ccd.base, &ns, false));
	ck_assert_int_eq(seeds_set(s, specs, 3, NULL), 0);
	ck_assert_uint_eq(seeds_pending(s), 2);
	ck_assert(current_has(s, "127.0.0.1:7001"));
	run_for_ms(&f, 50);
	ck_assert_uint_eq(seeds_pending(s), 2);		/* still waiting */
	/* a refresh does not start a second look-up for the same host */
	seeds_refresh(s);
	ck_assert_uint_eq(seeds_pending(s), 2);
	/* slow2 is dropped while in flight: orphaned, freed by its callback */
	ck_assert_int_eq(seeds_set(s, other, 2, NULL), 0);
	ck_assert(current_has(s, "127.0.0.1:7009"));
	ck_assert(!current_has(s, "127.0.0.1:7001"));
	run_for_ms(&f, 50);
	ck_assert_uint_eq(seeds_pending(s), 1);		/* slow.example kept its look-up */
	ck_assert_uint_eq(f.ccd.counters.dns_failures, 0);	/* a cancel is no failure */
	/* freed with a look-up in flight: no leak, no late callback (ASan) */
	seeds_free(s);
	ck_assert_int_ge(ns.queries, 2);
	fake_ns_close(&ns);
	fixture_clear(&f);
}
END_TEST

/* ---- sd_notify ------------------------------------------------------------------------- */

static int
notify_listener(const char *name, bool abstract)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	int			fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (abstract) {
		sun.sun_path[0] = '\0';
		memcpy(sun.sun_path + 1, name, strlen(name));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	} else {
		memcpy(sun.sun_path, name, strlen(name) + 1);
		len = sizeof(sun);
	}
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

static void
expect_datagram(int fd, const char *text)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	char		buf[512];
	ssize_t		n;

	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, text);
}

START_TEST(test_notify_path_and_abstract_sockets)
{
	char	path[128], name[64];
	int	fd;

	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(notify_send("READY=1"), 0);	/* unset: a no-op */
	snprintf(path, sizeof(path), "/tmp/check_seeds_notify.%d", (int)getpid());
	unlink(path);
	fd = notify_listener(path, false);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(notify_send("READY=1\nSTATUS=%d live", 3), 0);
	expect_datagram(fd, "READY=1\nSTATUS=3 live");
	close(fd);
	unlink(path);
	snprintf(name, sizeof(name), "check_seeds_notify.%d", (int)getpid());
	fd = notify_listener(name, true);
	snprintf(path, sizeof(path), "@%s", name);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(notify_send("STOPPING=1"), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "/nonexistent/notify.sock", 1);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(test_watchdog_usec)
{
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "3000000", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 3000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 3000000);
	setenv("WATCHDOG_PID", "1", 1);			/* another process's */
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "soon", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}
END_TEST

/* ---- the once-a-minute summary ------------------------------------------------------- */

START_TEST(test_problem_summary_only_what_moved)
{
	struct test_engine	t;
	struct gossip		g;
	struct gossip_problems	last;
	struct cc_addr		from = test_addr4(9);
	static const uint8_t	junk[] = { 'j', 'u', 'n', 'k' };
	char			line[256];

	test_engine_init(&t, 7700, 2);
	memset(&g, 0, sizeof(g));
	g.engine = t.e;
	gossip_problems(&g, &last);
	ck_assert(!gossip_summary(&g, &last, line, sizeof(line)));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(cc_engine_recv(t.e, &from, junk, sizeof(junk)), -1);
	g.oversized += 2;
	ck_assert(gossip_summary(&g, &last, line, sizeof(line)));
	ck_assert_str_eq(line, "3 undecodable datagrams, 2 oversized datagrams");
	ck_assert(!gossip_summary(&g, &last, line, sizeof(line)));	/* nothing new */
	g.recv_errors++;
	ck_assert(gossip_summary(&g, &last, line, sizeof(line)));
	ck_assert_str_eq(line, "1 receive errors");
	test_engine_free(&t);
}
END_TEST

static Suite *
seeds_suite(void)
{
	Suite	*s = suite_create("seeds");
	TCase	*tc = tcase_create("seeds");
	TCase	*tn = tcase_create("notify");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_literals_and_hosts_file_names_at_once);
	tcase_add_test(tc, test_failed_lookup_counted_logged_once_per_streak);
	tcase_add_test(tc, test_set_replaces_and_keeps_still_listed_hosts);
	tcase_add_test(tc, test_extra_seeds_survive_set_and_refresh);
	tcase_add_test(tc, test_lookups_in_flight_cancelled_cleanly);
	suite_add_tcase(s, tc);
	tcase_add_test(tn, test_notify_path_and_abstract_sockets);
	tcase_add_test(tn, test_watchdog_usec);
	tcase_add_test(tn, test_problem_summary_only_what_moved);
	suite_add_tcase(s, tn);
	return s;
}

CC_TEST_MAIN(seeds_suite)
