/*
 * check_daemon_udp.c: the real daemon on real UDP sockets on loopback.
 *
 * Each test starts build/chitchatd as a process (the binary next to this
 * test's build directory) and talks to it from a plain UDP socket in the
 * test, with datagrams built by the codec: catalogue entries A8, I2, I3,
 * I4, I10, I11 and I12 at the level where users meet them. Every wait is
 * bounded by a poll timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cc_wire.h"
#include "daemonproc.h"
#include "testutil.h"

extern char **environ;

/* Finds <build>/chitchatd once, in the runner (see daemonproc.h). */
static void
find_daemon(void)
{
	(void)dproc_daemon_path();
}

static pid_t
start_daemon(uint16_t port, const char *extra_arg1, const char *extra_arg2)
{
	char	listen[64], node[64];
	char	*argv[16];
	int	argc = 0;
	pid_t	pid;

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
	snprintf(node, sizeof(node), "node-%u", (unsigned)port);
	argv[argc++] = (char *)dproc_daemon_path();
	argv[argc++] = (char *)"--node-id";
	argv[argc++] = node;
	argv[argc++] = (char *)"--listen";
	argv[argc++] = listen;
	argv[argc++] = (char *)"--gossip-interval";
	argv[argc++] = (char *)"100ms";
	argv[argc++] = (char *)"--log-level";
	argv[argc++] = (char *)"warn";
	argv[argc++] = (char *)"--control-socket";	/* several daemons at once */
	argv[argc++] = (char *)"none";
	if (extra_arg1 != NULL)
		argv[argc++] = (char *)extra_arg1;
	if (extra_arg2 != NULL)
		argv[argc++] = (char *)extra_arg2;
	argv[argc] = NULL;
	ck_assert_int_eq(posix_spawn(&pid, dproc_daemon_path(), NULL, NULL, argv, environ), 0);
	return pid;
}

/* SIGTERM: exit 0 (under ASan, also no leak or error report). */
static void
stop_daemon(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	if ((status = dproc_wait_exit(pid, DPROC_EXIT_MS)) == -1) {
		dproc_kill_hard(pid);
		ck_abort_msg("daemon did not exit within %d ms of SIGTERM", DPROC_EXIT_MS);
	}
	ck_assert_msg(status == 0, "daemon exited with status %d after SIGTERM", status);
}

static void
send_to(int fd, uint16_t port, const uint8_t *buf, size_t len)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ck_assert_int_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)),
	    (ssize_t)len);
}

/* Receives one datagram within timeout_ms into *m; false on timeout. */
static bool
recv_msg(int fd, int timeout_ms, struct cc_msg *m, uint16_t *from_port)
{
	static uint8_t		buf[CC_MAX_DATAGRAM];
	struct pollfd		pfd = { fd, POLLIN, 0 };
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	ssize_t			n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return false;
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sin, &len);
	ck_assert_int_gt(n, 0);
	if (from_port != NULL)
		*from_port = ntohs(sin.sin_port);
	memset(m, 0, sizeof(*m));
	ck_assert_int_eq(cc_msg_decode(buf, (size_t)n, m, NULL, NULL), 0);
	return true;
}

/* Waits (bounded) for a message of `type`, skipping the daemon's own SYNs. */
static bool
recv_type(int fd, uint8_t type, int timeout_ms, struct cc_msg *m)
{
	for (int i = 0; i < 50; i++) {
		if (!recv_msg(fd, timeout_ms, m, NULL))
			return false;
		if (m->type == type)
			return true;
		cc_msg_clear(m);
	}
	return false;
}

/* A SYN from 127.0.0.1:port with our one-entry digest. */
static void
build_syn(struct cc_wbuf *w, uint16_t port, const char *cluster)
{
	struct cc_id id;

	test_id(&id, port);
	test_syn_of(w, &id, cluster);
	cc_id_clear(&id);
}

/* Waits until the daemon answers SYNs, i.e. is up. */
static void
wait_ready(int fd, uint16_t port, uint16_t daemon_port)
{
	struct cc_wbuf	w;
	struct cc_msg	m;

	build_syn(&w, port, "default-cluster");
	for (int i = 0; i < 100; i++) {
		send_to(fd, daemon_port, w.data, w.len);
		if (recv_type(fd, CC_MSG_SYN_ACK, 100, &m)) {
			cc_msg_clear(&m);
			cc_wbuf_clear(&w);
			return;
		}
	}
	cc_wbuf_clear(&w);
	ck_abort_msg("daemon on port %u never answered", (unsigned)daemon_port);
}

START_TEST(test_I2_syn_gets_syn_ack_from_daemon_address)
{
	uint16_t	port, dport = dproc_free_port(), from = 0;
	int		fd = dproc_udp_socket(&port);
	pid_t		pid = start_daemon(dport, NULL, NULL);
	struct cc_wbuf	w;
	struct cc_msg	m;
	bool		self_listed = false;

	wait_ready(fd, port, dport);
	build_syn(&w, port, "default-cluster");
	send_to(fd, dport, w.data, w.len);
	for (int i = 0; i < 50; i++) {
		ck_assert(recv_msg(fd, 2000, &m, &from));
		if (m.type == CC_MSG_SYN_ACK)
			break;
		cc_msg_clear(&m);
	}
	ck_assert_int_eq(m.type, CC_MSG_SYN_ACK);
	ck_assert_uint_eq(from, dport);		/* replies leave from the listening socket */
	for (size_t i = 0; i < m.digest.n; i++)
		if (m.digest.entries[i].id.addr.port == dport)
			self_listed = true;
	ck_assert(self_listed);
	cc_msg_clear(&m);
	cc_wbuf_clear(&w);
	stop_daemon(pid);
	close(fd);
}
END_TEST

START_TEST(test_I3_other_cluster_gets_bad_cluster)
{
	uint16_t	port, dport = dproc_free_port();
	int		fd = dproc_udp_socket(&port);
	pid_t		pid = start_daemon(dport, NULL, NULL);
	struct cc_wbuf	w;
	struct cc_msg	m;

	wait_ready(fd, port, dport);
	build_syn(&w, port, "another-cluster");
	send_to(fd, dport, w.data, w.len);
	ck_assert(recv_type(fd, CC_MSG_BAD_CLUSTER, 2000, &m));
	cc_msg_clear(&m);
	cc_wbuf_clear(&w);
	stop_daemon(pid);
	close(fd);
}
END_TEST

START_TEST(test_I4_seed_receives_syn_at_startup)
{
	uint16_t	port, dport = dproc_free_port();
	int		fd = dproc_udp_socket(&port);
	char		seed[64];
	pid_t		pid;
	struct cc_msg	m;
	uint16_t	from = 0;

	snprintf(seed, sizeof(seed), "127.0.0.1:%u", (unsigned)port);
	pid = start_daemon(dport, "--seed", seed);
	ck_assert(recv_msg(fd, 3000, &m, &from));
	ck_assert_int_eq(m.type, CC_MSG_SYN);
	ck_assert_uint_eq(from, dport);		/* SYNs go out from the listening socket */
	ck_assert_uint_eq(m.digest.n, 1);
	ck_assert_str_eq(m.cluster_id, "default-cluster");
	cc_msg_clear(&m);
	stop_daemon(pid);
	close(fd);
}
END_TEST

START_TEST(test_A8_junk_dropped_then_valid_syn_answered)
{
	static const uint8_t	junk[] = { 'j', 'u', 'n', 'k' };
	static const uint8_t	type255[] = { 0x53, 0xb0, 0x00, 0xff };
	uint16_t		port, dport = dproc_free_port();
	int			fd = dproc_udp_socket(&port);
	pid_t			pid = start_daemon(dport, NULL, NULL);
	struct cc_wbuf		w;
	struct cc_msg		m;
	bool			answered = false;

	wait_ready(fd, port, dport);
	send_to(fd, dport, junk, sizeof(junk));
	send_to(fd, dport, type255, sizeof(type255));	/* I11 */
	for (int i = 0; i < 1000; i++) {
		uint8_t garbage[64];

		for (size_t j = 0; j < sizeof(garbage); j++)
			garbage[j] = (uint8_t)(i * 31 + j * 7);
		garbage[0] = 0x53;
		garbage[1] = 0xb0;
		send_to(fd, dport, garbage, (size_t)(i % 64) + 1);
	}
	/*
	 * The flood may overflow the socket's receive buffer, and loopback
	 * then drops datagrams like any network: retry the SYN (bounded).
	 */
	build_syn(&w, port, "default-cluster");
	for (int i = 0; i < 30 && !answered; i++) {
		send_to(fd, dport, w.data, w.len);
		answered = recv_type(fd, CC_MSG_SYN_ACK, 200, &m);
	}
	ck_assert_msg(answered, "no SYN-ACK after the garbage flood");
	cc_msg_clear(&m);
	cc_wbuf_clear(&w);
	ck_assert_int_eq(dproc_wait_exit(pid, 0), -1);	/* still running */
	stop_daemon(pid);
	close(fd);
}
END_TEST

START_TEST(test_I10_sigterm_exits_zero)
{
	uint16_t	port, dport = dproc_free_port();
	int		fd = dproc_udp_socket(&port);
	pid_t		pid = start_daemon(dport, NULL, NULL);

	wait_ready(fd, port, dport);
	kill(pid, SIGTERM);
	ck_assert_int_eq(dproc_wait_exit(pid, 5000), 0);
	close(fd);
}
END_TEST

START_TEST(test_I12_second_bind_on_same_port_fails)
{
	uint16_t	port, dport = dproc_free_port();
	int		fd = dproc_udp_socket(&port);
	pid_t		first = start_daemon(dport, NULL, NULL), second;

	wait_ready(fd, port, dport);
	second = start_daemon(dport, NULL, NULL);
	ck_assert_int_eq(dproc_wait_exit(second, 5000), 1);
	stop_daemon(first);
	close(fd);
}
END_TEST

START_TEST(test_daemon_bad_option_exits_2)
{
	uint16_t	dport = dproc_free_port();
	pid_t		pid = start_daemon(dport, "--gossip-interval", "soon");

	ck_assert_int_eq(dproc_wait_exit(pid, 5000), 2);
}
END_TEST

START_TEST(test_two_daemons_converge_over_udp)
{
	uint16_t	port, a = dproc_free_port(), b = dproc_free_port();
	int		fd = dproc_udp_socket(&port);
	char		seed[64];
	pid_t		pa = start_daemon(a, "--set", "role=first"), pb;
	struct cc_wbuf	w;
	struct cc_msg	m;
	bool		b_knows_a_key = false;

	wait_ready(fd, port, a);
	snprintf(seed, sizeof(seed), "127.0.0.1:%u", (unsigned)a);
	pb = start_daemon(b, "--seed", seed);
	/* ask b for its state until its replica of a has a's key (bounded) */
	build_syn(&w, port, "default-cluster");
	for (int i = 0; i < 100 && !b_knows_a_key; i++) {
		send_to(fd, b, w.data, w.len);
		if (!recv_type(fd, CC_MSG_SYN_ACK, 200, &m))
			continue;
		for (size_t n = 0; n < m.delta.n; n++) {
			const struct cc_node_delta *nd = &m.delta.nodes[n];

			for (size_t k = 0; nd->id.addr.port == a && k < nd->n_kvs; k++)
				if (strcmp(nd->kvs[k].key, "role") == 0 &&
				    strcmp(nd->kvs[k].value, "first") == 0)
					b_knows_a_key = true;
		}
		cc_msg_clear(&m);
		usleep(50000);
	}
	cc_wbuf_clear(&w);
	ck_assert_msg(b_knows_a_key, "daemon b never learned a's key over UDP");
	stop_daemon(pa);
	stop_daemon(pb);
	close(fd);
}
END_TEST

/* Resident set of a process, in kB (0 if unknown). */
static long
rss_kb(pid_t pid)
{
	char	path[64], line[256];
	long	kb = 0;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * A flood of 100,000 fake node ids (the right cluster) at a daemon run with
 * --max-nodes 100: its digest never lists more than 100 nodes, its memory
 * stays put, and it still answers (issue 7, limits against a hostile peer).
 */
START_TEST(test_fake_node_flood_bounded)
{
	uint16_t		port, dport = dproc_free_port();
	int			fd = dproc_udp_socket(&port);
	pid_t			pid = start_daemon(dport, "--max-nodes", "100");
	struct cc_digest	d;
	struct cc_wbuf		w;
	struct cc_msg		m;
	char			name[32];
	long			rss0, rss1;
	size_t			per = 400;

	wait_ready(fd, port, dport);
	rss0 = rss_kb(pid);
	d.n = per;
	ck_assert_ptr_nonnull(d.entries = calloc(per, sizeof(*d.entries)));
	for (size_t first = 0; first < 100000; first += per) {
		for (size_t i = 0; i < per; i++) {
			struct cc_addr a = test_addr4((uint16_t)(1 + (first + i) % 60000));

			snprintf(name, sizeof(name), "fake-%zu", first + i);
			ck_assert_int_eq(cc_id_init(&d.entries[i].id, name, strlen(name), 7, &a), 0);
			d.entries[i].heartbeat = 1;
		}
		cc_wbuf_init(&w);
		cc_msg_put_header(&w, CC_MSG_SYN);
		cc_digest_encode(&w, &d);
		cc_wbuf_str(&w, "default-cluster", strlen("default-cluster"));
		ck_assert_int_eq(w.err, 0);
		send_to(fd, dport, w.data, w.len);
		cc_wbuf_clear(&w);
		for (size_t i = 0; i < per; i++)
			cc_id_clear(&d.entries[i].id);
		if (first % (per * 10) == 0)
			usleep(2000);	/* let the daemon drain its socket */
	}
	free(d.entries);
	/* drain the SYN-ACKs of the flood, then ask once more */
	while (recv_msg(fd, 200, &m, NULL))
		cc_msg_clear(&m);
	build_syn(&w, port, "default-cluster");
	send_to(fd, dport, w.data, w.len);
	cc_wbuf_clear(&w);
	ck_assert(recv_type(fd, CC_MSG_SYN_ACK, 2000, &m));
	ck_assert_uint_le(m.digest.n, 100);
	ck_assert_uint_ge(m.digest.n, 50);	/* some of the flood was taken, up to the cap */
	cc_msg_clear(&m);
	rss1 = rss_kb(pid);
	if (rss0 > 0 && rss1 > 0)
		ck_assert_msg(rss1 - rss0 < 64 * 1024, "RSS grew from %ld kB to %ld kB", rss0, rss1);
	stop_daemon(pid);
	close(fd);
}
END_TEST

static Suite *
daemon_udp_suite(void)
{
	Suite	*s = suite_create("daemon_udp");
	TCase	*tc = tcase_create("udp");

	tcase_add_unchecked_fixture(tc, find_daemon, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_I2_syn_gets_syn_ack_from_daemon_address);
	tcase_add_test(tc, test_I3_other_cluster_gets_bad_cluster);
	tcase_add_test(tc, test_I4_seed_receives_syn_at_startup);
	tcase_add_test(tc, test_A8_junk_dropped_then_valid_syn_answered);
	tcase_add_test(tc, test_I10_sigterm_exits_zero);
	tcase_add_test(tc, test_I12_second_bind_on_same_port_fails);
	tcase_add_test(tc, test_daemon_bad_option_exits_2);
	tcase_add_test(tc, test_two_daemons_converge_over_udp);
	tcase_add_test(tc, test_fake_node_flood_bounded);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(daemon_udp_suite)
