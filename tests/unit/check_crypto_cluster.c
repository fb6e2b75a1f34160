/*
 * check_crypto_cluster.c: gossip encryption end to end (issue 7 item 1,
 * docs/SECURITY.md): real chitchatd processes on 127.0.0.1, keyring files
 * of mode 0600 in a temporary directory, control sockets, chitchatctl.
 *
 *   wire     a fake peer (a UDP socket of this test) in each mode: what the
 *            daemon sends (sealed or not), what it answers to plaintext,
 *            sealed, wrongly sealed and tampered datagrams, and the counters
 *   config   encryption without a keyring, a keyring of mode 0644: exit 2
 *   cluster  3 daemons with one keyring converge and share keys; a 4th with
 *            another key never joins and is counted; a key rotation with
 *            chitchatctl on a running cluster with no node ever dead; a
 *            migration from plaintext through upshift to on (SIGHUP), after
 *            which a plaintext daemon cannot join; the keys_* methods' errors
 *
 * Timing as in check_cluster.c: gossip every 100 ms, prior interval 500 ms,
 * phi threshold 8; every wait is bounded (sized for the sanitizer build),
 * and "nothing happened" is only asserted once a counter proves the daemon
 * processed the datagram that could have caused it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cc_seal.h"
#include "cc_wire.h"
#include "clusterwait.h"
#include "ctlclient.h"
#include "daemonproc.h"
#include "testutil.h"

#define WAIT_MS		20000	/* convergence, propagation, counters */
#define count_live(c)			cw_count_live(c)
#define wait_live(c, d, want)		cw_wait_live(c, d, want, WAIT_MS)
#define wait_metric(c, d, name, min)	cw_wait_metric(c, d, name, min, WAIT_MS)
#define STABLE_MS	2000	/* "still not joined": 20 gossip rounds */

#define ARGS(...)	((const char *const []){ __VA_ARGS__, NULL })

extern char **environ;

static char	files[64];	/* keyrings and config files of all the tests */
static char	cluster_id[64];
static int	file_seq;

static void
files_setup(void)
{
	dproc_setup();
	snprintf(files, sizeof(files), "/tmp/check_crypto.XXXXXX");
	if (mkdtemp(files) == NULL)
		abort();
}

static void
files_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", files);
	if (system(cmd) != 0)
		perror("rm");
	dproc_teardown();
}

static void
setup(void)
{
	ck_assert_int_eq(cc_seal_init(), 0);
	dproc_new_cluster_id(cluster_id, sizeof(cluster_id), "crypto");
}

/* ---- files ---------------------------------------------------------------------------- */

/* A new file name in the test directory. */
static void
file_name(char *path, size_t len, const char *what)
{
	snprintf(path, len, "%s/%s.%d", files, what, file_seq++);
}

static void
file_write(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

static char *
file_read(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s;
	long	 n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

static void
key_new(char b64[CC_KEY_B64_LEN + 1])
{
	uint8_t key[CC_KEY_LEN];

	cc_key_generate(key);
	cc_key_to_base64(key, b64);
}

static void
key_of(const char *b64, uint8_t key[CC_KEY_LEN])
{
	ck_assert_int_eq(cc_key_from_base64(b64, strlen(b64), key), 0);
}

static void
key_id_of(const char *b64, char id[CC_KEY_ID_LEN + 1])
{
	uint8_t key[CC_KEY_LEN];

	key_of(b64, key);
	cc_key_id(key, id);
}

/* A new keyring file (mode 0600) holding keys, the primary first; path in path. */
static void
keyring_new(char *path, size_t len, const char *const *keys)
{
	char	text[1024];
	size_t	off = 0;

	file_name(path, len, "keyring");
	off += (size_t)snprintf(text + off, sizeof(text) - off, "[");
	for (int i = 0; keys[i] != NULL; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\"%s\"",
		    i > 0 ? ", " : "", keys[i]);
	snprintf(text + off, sizeof(text) - off, "]\n");
	file_write(path, 0600, text);
}

/* The keys of a keyring file (asserts it parses). */
static void
keyring_read(const char *path, struct cc_keyring *kr)
{
	char	*text = file_read(path), why[200];

	ck_assert_msg(cc_keyring_parse(text, strlen(text), kr, why, sizeof(why)) == 0,
	    "%s: %s", path, why);
	free(text);
}

/* ---- daemons ---------------------------------------------------------------------------- */

/* chitchatd with the test timing, seeded with seed (if not NULL), plus extra args. */
static void
start_node(struct dproc *d, const char *name, const struct dproc *seed,
    const char *const *extra)
{
	static const char *const timing[] = { "--gossip-interval", "100ms", "--phi-threshold",
	    "8", "--initial-interval", "500ms", NULL };

	dproc_start_in(d, name, cluster_id, seed, timing, extra);
}

/* An encrypted node: its own copy of a keyring holding keys, in mode mode. */
static void
start_sealed(struct dproc *d, const char *name, const struct dproc *seed, const char *mode,
    const char *const *keys, char *keyring, size_t len)
{
	keyring_new(keyring, len, keys);
	start_node(d, name, seed, ARGS("--encryption", mode, "--keyring", keyring));
}

/* Whether node_id is among c's members, any status. */
static bool
has_member(struct ctlc *c, const char *node_id)
{
	json_t	*res = ctlc_ok(c, "members", NULL), *m;
	size_t	 i;
	bool	 found = false;

	json_array_foreach(json_object_get(res, "members"), i, m)
		if (strcmp(ctlc_str(m, "node_id"), node_id) == 0)
			found = true;
	json_decref(res);
	return found;
}

/* Waits until c reads key=value on node_id. */
static void
wait_key(struct ctlc *c, const char *who, const char *node_id, const char *key,
    const char *value)
{
	long long	 deadline = dproc_now_ms() + WAIT_MS;
	char		 params[256];
	json_t		*reply;

	snprintf(params, sizeof(params), "{\"key\":\"%s\",\"node\":\"%s\"}", key, node_id);
	for (;;) {
		reply = ctlc_call(c, "get", params);
		if (ctlc_reply_code(reply) == 0 && strcmp(ctlc_str(json_object_get(reply,
		    "result"), "value"), value) == 0)
			break;
		json_decref(reply);
		ck_assert_msg(dproc_now_ms() < deadline, "%s never read %s=%s of %s", who, key, value,
		    node_id);
		usleep(50000);
	}
	json_decref(reply);
}

/* ---- chitchatctl ------------------------------------------------------------------------ */

static const char *
ctl_path(void)
{
	static char	path[4200];
	char		*p;

	snprintf(path, sizeof(path), "%s", dproc_daemon_path());
	p = strrchr(path, '/');
	snprintf(p + 1, sizeof(path) - (size_t)(p + 1 - path), "chitchatctl");
	ck_assert_msg(access(path, X_OK) == 0, "no chitchatctl at %s", path);
	return path;
}

/*
 * chitchatctl -s <d's socket> args..., with input on stdin (NULL: none);
 * returns the exit status, *out (if not NULL, caller frees) its stdout.
 */
static int
ctl(const struct dproc *d, const char *input, char **out, const char *const *args)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[32], in_path[128], out_path[128];
	int				 argc = 0, status;
	pid_t				 pid;
	long long			 deadline = dproc_now_ms() + WAIT_MS;

	argv[argc++] = (char *)ctl_path();
	if (d != NULL) {
		argv[argc++] = (char *)"-s";
		argv[argc++] = (char *)d->sock;
	}
	for (; *args != NULL; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	file_name(in_path, sizeof(in_path), "stdin");
	file_name(out_path, sizeof(out_path), "stdout");
	file_write(in_path, 0600, input != NULL ? input : "");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in_path, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (dproc_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			ck_abort_msg("chitchatctl %s did not exit", argv[3]);
		}
		usleep(10000);
	}
	if (out != NULL)
		*out = file_read(out_path);
	unlink(in_path);
	unlink(out_path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void
ctl_ok(const struct dproc *d, const char *input, const char *const *args)
{
	int rc = ctl(d, input, NULL, args);

	ck_assert_msg(rc == 0, "chitchatctl %s %s on %s: exit %d", args[0], args[1], d->node_id,
	    rc);
}

/* ---- a fake peer on a UDP socket --------------------------------------------------------- */

struct peer {
	int		 fd;
	uint16_t	 port;
	uint8_t		 buf[CC_MAX_DATAGRAM];
	size_t		 len;
};

static void
peer_open(struct peer *p)
{
	p->fd = dproc_udp_socket(&p->port);
}

/* The next datagram within timeout_ms into p->buf; false on timeout. */
static bool
peer_recv(struct peer *p, int timeout_ms)
{
	struct pollfd	pfd = { p->fd, POLLIN, 0 };
	ssize_t		n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return false;
	n = recv(p->fd, p->buf, sizeof(p->buf), 0);
	ck_assert_int_gt(n, 0);
	p->len = (size_t)n;
	return true;
}

static void
peer_send(struct peer *p, const struct dproc *to, const uint8_t *buf, size_t len)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(to->port);
	ck_assert_int_eq(sendto(p->fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)),
	    (ssize_t)len);
}

/* A SYN of the fake peer (node "peer", its port) to cluster; w holds it. */
static void
peer_syn(struct peer *p, const char *cluster, struct cc_wbuf *w)
{
	struct cc_id id;

	test_id_named(&id, "peer", 1, p->port);
	test_syn_of(w, &id, cluster);
	cc_id_clear(&id);
}

/* buf sealed with the key of b64 into out. */
static size_t
seal_with(const char *b64, const uint8_t *buf, size_t len, uint8_t *out, size_t cap)
{
	uint8_t	key[CC_KEY_LEN];
	size_t	n;

	key_of(b64, key);
	ck_assert_int_eq(cc_seal(key, buf, len, out, cap, &n), 0);
	return n;
}

/*
 * What p received last, as a message: opened with the key of b64 if it is
 * sealed (NULL: it must not be). *sealed says which it was. Asserts it
 * opens and decodes.
 */
static void
peer_msg(struct peer *p, const char *b64, struct cc_msg *m, bool *sealed)
{
	static uint8_t		 plain[CC_MAX_DATAGRAM];
	struct cc_keyring	 kr;
	const uint8_t		*buf = p->buf;
	size_t			 len = p->len;

	*sealed = cc_seal_is_sealed(p->buf, p->len);
	if (*sealed) {
		ck_assert_msg(b64 != NULL, "a sealed datagram from a daemon that should not seal");
		memset(&kr, 0, sizeof(kr));
		kr.n = 1;
		key_of(b64, kr.keys[0]);
		ck_assert_msg(cc_open(&kr, p->buf, p->len, plain, sizeof(plain), &len, NULL) == 0,
		    "a sealed datagram that does not open with the keyring's key");
		buf = plain;
	}
	memset(m, 0, sizeof(*m));
	ck_assert_msg(cc_msg_decode(buf, len, m, NULL, NULL) == 0, "undecodable datagram");
}

/*
 * Waits for a message of type want (others, the daemon's own SYNs, are
 * skipped); asserts whether it came sealed.
 */
static void
peer_expect(struct peer *p, const char *b64, uint8_t want, bool want_sealed)
{
	long long	deadline = dproc_now_ms() + WAIT_MS;
	struct cc_msg	m;
	bool		sealed;

	for (;;) {
		long long left = deadline - dproc_now_ms();

		ck_assert_msg(left > 0 && peer_recv(p, (int)left), "no message of type %d within %d ms",
		    want, WAIT_MS);
		peer_msg(p, b64, &m, &sealed);
		if (m.type == want) {
			ck_assert_msg(sealed == want_sealed, "message type %d came %s", want,
			    sealed ? "sealed" : "in plaintext");
			cc_msg_clear(&m);
			return;
		}
		cc_msg_clear(&m);
	}
}

/* The next SYN on p: whether it came sealed. */
static bool
peer_next_syn(struct peer *p, const char *b64)
{
	long long	deadline = dproc_now_ms() + WAIT_MS;
	struct cc_msg	m;
	bool		sealed;
	uint8_t		type;

	do {
		long long left = deadline - dproc_now_ms();

		ck_assert_msg(left > 0 && peer_recv(p, (int)left), "no SYN within %d ms", WAIT_MS);
		peer_msg(p, b64, &m, &sealed);
		type = m.type;
		cc_msg_clear(&m);
	} while (type != CC_MSG_SYN);
	return sealed;
}

/* Waits until SYNs in both forms came (a peer it cannot tell apart yet). */
static void
peer_expect_both_forms(struct peer *p, const char *b64)
{
	bool seen[2] = { false, false };

	while (!seen[0] || !seen[1])
		seen[peer_next_syn(p, b64)] = true;	/* bounded: each SYN within WAIT_MS */
}

/* Asserts that nothing but SYNs is waiting on p now. */
static void
peer_expect_only_syns(struct peer *p, const char *b64)
{
	struct cc_msg	m;
	bool		sealed;

	while (peer_recv(p, 0)) {
		peer_msg(p, b64, &m, &sealed);
		ck_assert_msg(m.type == CC_MSG_SYN, "an answer (type %d) came", m.type);
		cc_msg_clear(&m);
	}
}

/* ---- wire: each mode against a fake peer ----------------------------------------------------- */

START_TEST(test_wire_on_seals_and_refuses_the_rest)
{
	char		 k[CC_KEY_B64_LEN + 1], other[CC_KEY_B64_LEN + 1], kr[128];
	static uint8_t	 sealed[CC_MAX_DATAGRAM];
	struct peer	 p;
	struct dproc	 d;
	struct ctlc	*c;
	struct cc_wbuf	 syn;
	struct cc_msg	 m;
	char		 seed[32];
	bool		 was_sealed;
	size_t		 n;

	key_new(k);
	key_new(other);
	peer_open(&p);
	snprintf(seed, sizeof(seed), "127.0.0.1:%u", (unsigned)p.port);
	keyring_new(kr, sizeof(kr), ARGS(k));
	start_node(&d, "wire-on", NULL, ARGS("--seed", seed, "--encryption", "on", "--keyring",
	    kr));
	c = ctlc_open(d.sock);

	/* its SYNs: 0xEC, version 1, and inside a SYN of this cluster */
	ck_assert(peer_recv(&p, WAIT_MS));
	ck_assert_uint_eq(p.buf[0], 0xEC);
	ck_assert_uint_eq(p.buf[1], 1);
	ck_assert_ptr_null(memmem(p.buf, p.len, cluster_id, strlen(cluster_id)));
	peer_msg(&p, k, &m, &was_sealed);
	ck_assert_int_eq(m.type, CC_MSG_SYN);
	ck_assert_str_eq(m.cluster_id, cluster_id);
	cc_msg_clear(&m);
	ck_assert_double_ge(wait_metric(c, &d, "chitchatd_gossip_sealed_sent_total", 1), 1);

	/* a plaintext SYN: refused, counted, unanswered */
	peer_syn(&p, cluster_id, &syn);
	peer_send(&p, &d, syn.data, syn.len);
	wait_metric(c, &d, "chitchatd_gossip_plaintext_refused_total", 1);
	peer_expect_only_syns(&p, k);
	/* sealed with another key: an authentication failure, unanswered */
	n = seal_with(other, syn.data, syn.len, sealed, sizeof(sealed));
	peer_send(&p, &d, sealed, n);
	wait_metric(c, &d, "chitchatd_gossip_auth_failures_total", 1);
	peer_expect_only_syns(&p, k);
	/* sealed with the key, one bit flipped (each part): failures, unanswered */
	for (size_t at = 0; at < 4; at++) {
		size_t pos[4] = { 1, 2 + 5, 26 + 3, n - 1 };	/* header, nonce, ciphertext, tag */

		n = seal_with(k, syn.data, syn.len, sealed, sizeof(sealed));
		sealed[pos[at]] ^= 0x10;
		peer_send(&p, &d, sealed, n);
		wait_metric(c, &d, "chitchatd_gossip_auth_failures_total", (double)(2 + at));
		peer_expect_only_syns(&p, k);
	}
	/* sealed with the key: answered, sealed */
	n = seal_with(k, syn.data, syn.len, sealed, sizeof(sealed));
	peer_send(&p, &d, sealed, n);
	peer_expect(&p, k, CC_MSG_SYN_ACK, true);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_auth_failures_total"), 5);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_plaintext_refused_total"), 1);
	ck_assert_double_ge(ctlc_metric(c, "chitchatd_gossip_sealed_received_total"), 1);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_plaintext_accepted_total"), 0);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_encryption{mode=\"on\"}"), 1);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_encryption{mode=\"off\"}"), 0);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_keyring_keys"), 1);
	/* nothing reached the engine undecoded */
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_decode_errors_total"), 0);
	cc_wbuf_clear(&syn);
	ctlc_close(c);
	dproc_stop(&d);
	close(p.fd);
}
END_TEST

START_TEST(test_wire_upshift_answers_in_kind)
{
	char		 k[CC_KEY_B64_LEN + 1], kr[128], seed[32];
	static uint8_t	 sealed[CC_MAX_DATAGRAM], synack[CC_MAX_DATAGRAM];
	struct peer	 p;
	struct dproc	 d;
	struct ctlc	*c;
	struct cc_wbuf	 syn, bad;
	size_t		 n, synack_len;

	key_new(k);
	peer_open(&p);
	snprintf(seed, sizeof(seed), "127.0.0.1:%u", (unsigned)p.port);
	keyring_new(kr, sizeof(kr), ARGS(k));
	start_node(&d, "wire-up", NULL, ARGS("--seed", seed, "--encryption", "upshift",
	    "--keyring", kr));
	c = ctlc_open(d.sock);
	/*
	 * The SYNs it starts to a peer never heard from (its seed): either
	 * form, so that a plaintext node and a node "on" can each read some
	 */
	peer_expect_both_forms(&p, k);

	/* a plaintext SYN gets a plaintext SYN-ACK, a sealed one a sealed SYN-ACK */
	peer_syn(&p, cluster_id, &syn);
	peer_send(&p, &d, syn.data, syn.len);
	peer_expect(&p, k, CC_MSG_SYN_ACK, false);
	memcpy(synack, p.buf, p.len);		/* its plaintext SYN-ACK, for later */
	synack_len = p.len;
	n = seal_with(k, syn.data, syn.len, sealed, sizeof(sealed));
	peer_send(&p, &d, sealed, n);
	peer_expect(&p, k, CC_MSG_SYN_ACK, true);
	/* a SYN-ACK gets an ACK, in kind */
	peer_send(&p, &d, synack, synack_len);
	peer_expect(&p, k, CC_MSG_ACK, false);
	n = seal_with(k, synack, synack_len, sealed, sizeof(sealed));
	peer_send(&p, &d, sealed, n);
	peer_expect(&p, k, CC_MSG_ACK, true);
	/* another cluster's SYN gets BAD_CLUSTER, in kind */
	peer_syn(&p, "another-cluster", &bad);
	peer_send(&p, &d, bad.data, bad.len);
	peer_expect(&p, k, CC_MSG_BAD_CLUSTER, false);
	n = seal_with(k, bad.data, bad.len, sealed, sizeof(sealed));
	peer_send(&p, &d, sealed, n);
	peer_expect(&p, k, CC_MSG_BAD_CLUSTER, true);
	/* the peer spoke sealed last: the SYNs it starts to it are sealed now */
	for (int i = 0; i < 10; i++)
		ck_assert_msg(peer_next_syn(&p, k), "a plaintext SYN to a peer that spoke sealed");
	/* until it speaks plaintext again */
	peer_send(&p, &d, syn.data, syn.len);
	peer_expect(&p, k, CC_MSG_SYN_ACK, false);
	peer_expect_both_forms(&p, k);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_plaintext_accepted_total"), 4);
	ck_assert_double_gt(ctlc_metric(c, "chitchatd_gossip_plaintext_sent_total"), 0);
	ck_assert_double_ge(ctlc_metric(c, "chitchatd_gossip_sealed_received_total"), 3);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_plaintext_refused_total"), 0);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_encryption{mode=\"upshift\"}"), 1);
	cc_wbuf_clear(&syn);
	cc_wbuf_clear(&bad);
	ctlc_close(c);
	dproc_stop(&d);
	close(p.fd);
}
END_TEST

/* Encryption off (the default) is plain chitchat: sealed datagrams do not decode. */
START_TEST(test_wire_off_is_plain_chitchat)
{
	char		 k[CC_KEY_B64_LEN + 1], seed[32];
	static uint8_t	 sealed[CC_MAX_DATAGRAM];
	struct peer	 p;
	struct dproc	 d;
	struct ctlc	*c;
	struct cc_wbuf	 syn;
	struct cc_msg	 m;
	bool		 was_sealed;
	size_t		 n;

	key_new(k);
	peer_open(&p);
	snprintf(seed, sizeof(seed), "127.0.0.1:%u", (unsigned)p.port);
	start_node(&d, "wire-off", NULL, ARGS("--seed", seed));
	c = ctlc_open(d.sock);
	ck_assert(peer_recv(&p, WAIT_MS));
	ck_assert_uint_eq(p.buf[0], 0x53);		/* chitchat's magic, 53 b0 */
	ck_assert_uint_eq(p.buf[1], 0xb0);
	peer_msg(&p, NULL, &m, &was_sealed);
	ck_assert_int_eq(m.type, CC_MSG_SYN);
	cc_msg_clear(&m);
	peer_syn(&p, cluster_id, &syn);
	n = seal_with(k, syn.data, syn.len, sealed, sizeof(sealed));
	peer_send(&p, &d, sealed, n);
	wait_metric(c, &d, "chitchatd_gossip_decode_errors_total", 1);
	peer_expect_only_syns(&p, NULL);
	peer_send(&p, &d, syn.data, syn.len);
	peer_expect(&p, NULL, CC_MSG_SYN_ACK, false);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_encryption{mode=\"off\"}"), 1);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_keyring_keys"), 0);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_sealed_sent_total"), 0);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_auth_failures_total"), 0);
	cc_wbuf_clear(&syn);
	ctlc_close(c);
	dproc_stop(&d);
	close(p.fd);
}
END_TEST

/* ---- configuration errors: exit 2 before anything starts ------------------------------------ */

/* Runs chitchatd args to its exit; returns the status, *err its stderr, *out its stdout. */
static int
daemon_exit(const char *const *args, char **err, char **out)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[16], err_path[128], out_path[128];
	int				 argc = 0, status;
	pid_t				 pid;

	argv[argc++] = (char *)dproc_daemon_path();
	for (; *args != NULL; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	file_name(err_path, sizeof(err_path), "stderr");
	file_name(out_path, sizeof(out_path), "stdout");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	status = dproc_wait_exit(pid, DPROC_START_MS);
	if (status == -1) {
		dproc_kill_hard(pid);
		ck_abort_msg("chitchatd did not exit");
	}
	*err = file_read(err_path);
	if (out != NULL)
		*out = file_read(out_path);
	return status;
}

START_TEST(test_config_errors_exit_2)
{
	char	 k[CC_KEY_B64_LEN + 1], kr[128], want[300], *err, *out;
	char	 listen[32];

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)dproc_free_port());
	ck_assert_int_eq(daemon_exit(ARGS("--listen", listen, "--control-socket", "none",
	    "--encryption", "on"), &err, NULL), 2);
	ck_assert_str_eq(err, "chitchatd: --encryption on: needs a keyring (--keyring FILE; "
	    "chitchatctl keygen makes a key)\n");
	free(err);
	key_new(k);
	keyring_new(kr, sizeof(kr), ARGS(k));
	ck_assert_int_eq(chmod(kr, 0644), 0);
	ck_assert_int_eq(daemon_exit(ARGS("--listen", listen, "--control-socket", "none",
	    "--encryption", "upshift", "--keyring", kr), &err, NULL), 2);
	snprintf(want, sizeof(want), "chitchatd: --keyring %s: mode 0644 gives group or others "
	    "access to the keys (chmod 600)\n", kr);
	ck_assert_str_eq(err, want);
	free(err);
	/* --check-config reads the keyring too, and never prints keys */
	ck_assert_int_eq(chmod(kr, 0600), 0);
	ck_assert_int_eq(daemon_exit(ARGS("--listen", listen, "--encryption", "on",
	    "--keyring", kr, "--check-config"), &err, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "\nencryption = on\n"));
	snprintf(want, sizeof(want), "\nkeyring = %s\n", kr);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_ptr_null(strstr(out, k));
	free(out);
	free(err);
}
END_TEST

/* ---- clusters ------------------------------------------------------------------------------ */

struct trio {
	struct dproc	 d[3];
	struct ctlc	*c[3];
	char		 keyring[3][128];
};

static const char *const trio_names[3] = { "node-a", "node-b", "node-c" };

/* Three nodes in mode, each with its own copy of keys. */
static void
trio_start(struct trio *t, const char *mode, const char *const *keys)
{
	for (int i = 0; i < 3; i++)
		start_sealed(&t->d[i], trio_names[i], i > 0 ? &t->d[0] : NULL, mode, keys,
		    t->keyring[i], sizeof(t->keyring[i]));
	for (int i = 0; i < 3; i++)
		t->c[i] = ctlc_open(t->d[i].sock);
	for (int i = 0; i < 3; i++)
		wait_live(t->c[i], &t->d[i], 3);
}

static void
trio_stop(struct trio *t)
{
	for (int i = 0; i < 3; i++) {
		ctlc_close(t->c[i]);
		dproc_stop(&t->d[i]);
	}
}

START_TEST(test_one_keyring_converges_and_shares_keys)
{
	char		k[CC_KEY_B64_LEN + 1];
	struct trio	t;

	key_new(k);
	trio_start(&t, "on", ARGS(k));
	json_decref(ctlc_ok(t.c[0], "set", "{\"key\":\"svc/a\",\"value\":\"sealed\"}"));
	json_decref(ctlc_ok(t.c[2], "set", "{\"key\":\"svc/c\",\"value\":\"also sealed\"}"));
	for (int i = 0; i < 3; i++) {
		wait_key(t.c[i], trio_names[i], "node-a", "svc/a", "sealed");
		wait_key(t.c[i], trio_names[i], "node-c", "svc/c", "also sealed");
		ck_assert_double_gt(ctlc_metric(t.c[i], "chitchatd_gossip_sealed_received_total"), 0);
		ck_assert_double_eq(ctlc_metric(t.c[i], "chitchatd_gossip_auth_failures_total"), 0);
		ck_assert_double_eq(ctlc_metric(t.c[i], "chitchatd_gossip_plaintext_refused_total"),
		    0);
		ck_assert_double_eq(ctlc_metric(t.c[i], "chitchatd_gossip_decode_errors_total"), 0);
	}
	trio_stop(&t);
}
END_TEST

START_TEST(test_wrong_key_never_joins_and_is_counted)
{
	char		 k[CC_KEY_B64_LEN + 1], wrong[CC_KEY_B64_LEN + 1], kr[128];
	struct trio	 t;
	struct dproc	 x;
	struct ctlc	*cx;
	double		 f0[3];
	long long	 until;

	key_new(k);
	key_new(wrong);
	trio_start(&t, "on", ARGS(k));
	for (int i = 0; i < 3; i++)
		f0[i] = ctlc_metric(t.c[i], "chitchatd_gossip_auth_failures_total");
	/* a 4th node with another key, seeded with all three */
	keyring_new(kr, sizeof(kr), ARGS(wrong));
	{
		char s1[32], s2[32];

		snprintf(s1, sizeof(s1), "%s", t.d[1].listen);
		snprintf(s2, sizeof(s2), "%s", t.d[2].listen);
		start_node(&x, "intruder", &t.d[0], ARGS("--seed", s1, "--seed", s2,
		    "--encryption", "on", "--keyring", kr));
	}
	cx = ctlc_open(x.sock);
	for (int i = 0; i < 3; i++)
		wait_metric(t.c[i], &t.d[i], "chitchatd_gossip_auth_failures_total", f0[i] + 5);
	/* 20 more rounds: never a member anywhere, and it sees no one */
	until = dproc_now_ms() + STABLE_MS;
	while (dproc_now_ms() < until) {
		for (int i = 0; i < 3; i++) {
			ck_assert_msg(!has_member(t.c[i], "intruder"), "%s lists the intruder",
			    trio_names[i]);
			ck_assert_uint_eq(count_live(t.c[i]), 3);
		}
		ck_assert_uint_eq(count_live(cx), 1);
		ck_assert_msg(!has_member(cx, "node-a"), "the intruder read node-a's state");
		usleep(100000);
	}
	ck_assert_double_gt(ctlc_metric(cx, "chitchatd_gossip_sealed_sent_total"), 0);
	ck_assert_double_eq(ctlc_metric(cx, "chitchatd_gossip_sealed_received_total"), 0);
	ctlc_close(cx);
	dproc_stop(&x);
	trio_stop(&t);
}
END_TEST

/*
 * Collects member notifications of the subscription on c; fails on any
 * node going dead or leaving. Returns how many it read.
 */
static int
no_one_dies(struct ctlc *c, const char *who)
{
	json_t	*n;
	int	 count = 0;

	while ((n = ctlc_notification(c, 0)) != NULL) {
		const json_t	*p = json_object_get(n, "params");
		const char	*ev = ctlc_str(p, "event");

		ck_assert_msg(strcmp(ev, "dead") != 0 && strcmp(ev, "left") != 0,
		    "%s saw %s: %s", who, ev, json_dumps(n, JSON_COMPACT));
		json_decref(n);
		count++;
	}
	return count;
}

/* Runs chitchatctl keyring op KEY on every node, watching the subscriptions. */
static void
keyring_all(struct trio *t, struct ctlc *sub[3], const char *op, const char *key,
    bool on_stdin)
{
	for (int i = 0; i < 3; i++) {
		ctl_ok(&t->d[i], on_stdin ? key : NULL,
		    on_stdin ? ARGS("keyring", op, "-") : ARGS("keyring", op, key));
		for (int j = 0; j < 3; j++)
			no_one_dies(sub[j], trio_names[j]);
		/* a little gossip between the nodes' steps, as an operator's would have */
		usleep(150000);
	}
}

START_TEST(test_rotation_with_chitchatctl_keeps_every_node_live)
{
	char		 k1[CC_KEY_B64_LEN + 1], k2[CC_KEY_B64_LEN + 1], id1[CC_KEY_ID_LEN + 1];
	char		 id2[CC_KEY_ID_LEN + 1], *out;
	struct trio	 t;
	struct ctlc	*sub[3];
	struct cc_keyring kr;
	uint8_t		 key2[CC_KEY_LEN];
	json_t		*j, *keys;
	long long	 until;

	key_new(k1);
	key_id_of(k1, id1);
	trio_start(&t, "on", ARGS(k1));
	for (int i = 0; i < 3; i++) {
		sub[i] = ctlc_open(t.d[i].sock);
		json_decref(ctlc_ok(sub[i], "subscribe", "{\"topic\":\"members\"}"));
	}

	/* generate (no daemon needed), install everywhere, use everywhere, remove the old */
	ck_assert_int_eq(ctl(NULL, NULL, &out, ARGS("keygen")), 0);
	ck_assert_uint_eq(strlen(out), CC_KEY_B64_LEN + 1);
	out[CC_KEY_B64_LEN] = '\0';
	snprintf(k2, sizeof(k2), "%s", out);
	free(out);
	key_of(k2, key2);
	key_id_of(k2, id2);
	keyring_all(&t, sub, "install", k2, true);	/* from stdin, out of ps(1) */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ctl(&t.d[i], NULL, &out, ARGS("keyring", "list", "--json")), 0);
		j = json_loads(out, 0, NULL);
		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(json_string_value(json_object_get(j, "encryption")), "on");
		keys = json_object_get(j, "keys");
		ck_assert_uint_eq(json_array_size(keys), 2);
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(keys, 0),
		    "key_id")), id1);
		ck_assert(json_is_true(json_object_get(json_array_get(keys, 0), "primary")));
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(keys, 1),
		    "key_id")), id2);
		ck_assert(json_is_false(json_object_get(json_array_get(keys, 1), "primary")));
		ck_assert_ptr_null(strstr(out, k1));	/* ids only, never keys */
		ck_assert_ptr_null(strstr(out, k2));
		json_decref(j);
		free(out);
	}
	keyring_all(&t, sub, "use", k2, false);
	/* each node now seals with k2: the others open with it */
	for (int i = 0; i < 3; i++) {
		double before = ctlc_metric(t.c[i], "chitchatd_gossip_sealed_received_total");

		wait_metric(t.c[i], &t.d[i], "chitchatd_gossip_sealed_received_total", before + 5);
	}
	keyring_all(&t, sub, "remove", id1, false);	/* by key id */

	/* every keyring file holds the new key only */
	for (int i = 0; i < 3; i++) {
		keyring_read(t.keyring[i], &kr);
		ck_assert_uint_eq(kr.n, 1);
		ck_assert_mem_eq(kr.keys[0], key2, CC_KEY_LEN);
		char row[64];

		ck_assert_int_eq(ctl(&t.d[i], NULL, &out, ARGS("keyring", "list")), 0);
		snprintf(row, sizeof(row), "%s\tyes\n", id2);
		ck_assert_str_eq(out, row);		/* piped: one row, tab-separated */
		free(out);
	}
	/* a key written after the rotation propagates, and no one died meanwhile */
	json_decref(ctlc_ok(t.c[1], "set", "{\"key\":\"after\",\"value\":\"rotation\"}"));
	until = dproc_now_ms() + STABLE_MS;
	for (int i = 0; i < 3; i++)
		wait_key(t.c[i], trio_names[i], "node-b", "after", "rotation");
	while (dproc_now_ms() < until)
		usleep(50000);
	for (int i = 0; i < 3; i++) {
		no_one_dies(sub[i], trio_names[i]);
		ck_assert_uint_eq(count_live(t.c[i]), 3);
		ck_assert_double_eq(ctlc_metric(t.c[i], "chitchatd_gossip_auth_failures_total"), 0);
		ck_assert_double_eq(ctlc_metric(t.c[i], "chitchatd_gossip_keyring_keys"), 1);
		ctlc_close(sub[i]);
	}
	cc_keyring_clear(&kr);
	trio_stop(&t);
}
END_TEST

/* ---- migration: plaintext -> upshift -> on ------------------------------------------------ */

/* A config file for node i: mode, keyring. */
static void
conf_write(const char *path, const char *mode, const char *keyring)
{
	char text[512];

	snprintf(text, sizeof(text), "encryption = %s\nkeyring = %s\n", mode, keyring);
	file_write(path, 0600, text);
}

/* Sends SIGHUP and waits until the metrics show mode. */
static void
hup_to(struct dproc *d, struct ctlc *c, const char *mode)
{
	char name[64];

	snprintf(name, sizeof(name), "chitchatd_gossip_encryption{mode=\"%s\"}", mode);
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	wait_metric(c, d, name, 1);
}

/* Waits until every node sees the other two live, by node id, with advancing heartbeats. */
static void
wait_all_live(struct trio *t)
{
	for (int i = 0; i < 3; i++)
		wait_live(t->c[i], &t->d[i], 3);
	for (int i = 0; i < 3; i++) {
		char key[32], value[32];

		snprintf(key, sizeof(key), "probe/%s", trio_names[i]);
		snprintf(value, sizeof(value), "%lld", dproc_now_ms());
		json_decref(ctlc_ok_json(t->c[i], "set", json_pack("{s:s,s:s}", "key", key,
		    "value", value)));
		for (int j = 0; j < 3; j++)
			wait_key(t->c[j], trio_names[j], trio_names[i], key, value);
	}
}

/*
 * Waits until no node accepts plaintext for a second. (Plaintext may
 * still be sent: SYNs to the dead generations' old ports, which never
 * answer, go in either form.)
 */
static void
quiet_plaintext(struct trio *t)
{
	long long	deadline = dproc_now_ms() + WAIT_MS, since = dproc_now_ms();
	double		last[3];

	for (int i = 0; i < 3; i++)
		last[i] = ctlc_metric(t->c[i], "chitchatd_gossip_plaintext_accepted_total");
	while (dproc_now_ms() - since < 1000) {
		ck_assert_msg(dproc_now_ms() < deadline, "plaintext still accepted after %d ms: "
		    "a %g, b %g, c %g", WAIT_MS, last[0], last[1], last[2]);
		usleep(100000);
		for (int i = 0; i < 3; i++) {
			double a = ctlc_metric(t->c[i], "chitchatd_gossip_plaintext_accepted_total");

			if (a != last[i])
				since = dproc_now_ms();
			last[i] = a;
		}
	}
}

START_TEST(test_migration_plaintext_upshift_on)
{
	char		 k[CC_KEY_B64_LEN + 1], conf[3][128], kr[3][128];
	struct trio	 t;
	struct dproc	 late;
	struct ctlc	*cl;
	double		 refused;
	long long	 until;

	key_new(k);
	for (int i = 0; i < 3; i++) {
		keyring_new(kr[i], sizeof(kr[i]), ARGS(k));
		file_name(conf[i], sizeof(conf[i]), "conf");
	}
	/* a and b speak plaintext (like Rust chitchat); c is migrated: upshift */
	conf_write(conf[2], "upshift", kr[2]);
	start_node(&t.d[0], "node-a", NULL, NULL);
	start_node(&t.d[1], "node-b", &t.d[0], NULL);
	start_node(&t.d[2], "node-c", &t.d[0], ARGS("--config", conf[2]));
	for (int i = 0; i < 3; i++)
		t.c[i] = ctlc_open(t.d[i].sock);
	wait_all_live(&t);
	/* c answered plaintext, and its sealed SYNs were lost on a and b, harmlessly */
	ck_assert_double_gt(ctlc_metric(t.c[2], "chitchatd_gossip_plaintext_accepted_total"), 0);
	wait_metric(t.c[0], &t.d[0], "chitchatd_gossip_decode_errors_total", 1);
	/* and it stays so: 20 rounds with everyone live everywhere */
	until = dproc_now_ms() + STABLE_MS;
	while (dproc_now_ms() < until) {
		for (int i = 0; i < 3; i++)
			ck_assert_uint_eq(count_live(t.c[i]), 3);
		usleep(100000);
	}

	/* rolling restart of a and b with the keyring, in upshift */
	for (int i = 0; i < 2; i++) {
		ctlc_close(t.c[i]);
		dproc_stop(&t.d[i]);
		conf_write(conf[i], "upshift", kr[i]);
		start_node(&t.d[i], trio_names[i], &t.d[2], ARGS("--config", conf[i]));
		t.c[i] = ctlc_open(t.d[i].sock);
		wait_all_live(&t);
	}
	/* all upshift: they settle on sealed, plaintext stops (the cue to switch to on) */
	quiet_plaintext(&t);
	/* then each to on, by SIGHUP */
	for (int i = 0; i < 3; i++) {
		conf_write(conf[i], "on", kr[i]);
		hup_to(&t.d[i], t.c[i], "on");
		wait_all_live(&t);
	}
	for (int i = 0; i < 3; i++)
		ck_assert_double_eq(ctlc_metric(t.c[i], "chitchatd_gossip_plaintext_refused_total"),
		    0);

	/* a plaintext node started now cannot join */
	refused = ctlc_metric(t.c[0], "chitchatd_gossip_plaintext_refused_total");
	start_node(&late, "late", &t.d[0], NULL);
	cl = ctlc_open(late.sock);
	wait_metric(t.c[0], &t.d[0], "chitchatd_gossip_plaintext_refused_total", refused + 5);
	until = dproc_now_ms() + STABLE_MS;
	while (dproc_now_ms() < until) {
		for (int i = 0; i < 3; i++) {
			ck_assert_msg(!has_member(t.c[i], "late"), "%s lists the plaintext node",
			    trio_names[i]);
			ck_assert_uint_eq(count_live(t.c[i]), 3);
		}
		ck_assert_uint_eq(count_live(cl), 1);
		usleep(100000);
	}
	ctlc_close(cl);
	dproc_stop(&late);
	trio_stop(&t);
}
END_TEST

/* SIGHUP re-reads the keyring file; to or from off needs a restart, and says so. */
START_TEST(test_sighup_rereads_the_keyring_and_off_needs_a_restart)
{
	char		 k1[CC_KEY_B64_LEN + 1], k2[CC_KEY_B64_LEN + 1], kr[128], conf[128];
	char		 id1[CC_KEY_ID_LEN + 1], id2[CC_KEY_ID_LEN + 1], text[512];
	struct dproc	 d;
	struct ctlc	*c;
	json_t		*res, *keys;
	long long	 deadline;

	key_new(k1);
	key_new(k2);
	key_id_of(k1, id1);
	key_id_of(k2, id2);
	keyring_new(kr, sizeof(kr), ARGS(k1));
	file_name(conf, sizeof(conf), "conf");
	conf_write(conf, "on", kr);
	start_node(&d, "hup", NULL, ARGS("--config", conf));
	c = ctlc_open(d.sock);
	/* an operator edits the keyring file: k2 primary, k1 kept */
	snprintf(text, sizeof(text), "[\"%s\", \"%s\"]\n", k2, k1);
	file_write(kr, 0600, text);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	wait_metric(c, &d, "chitchatd_gossip_keyring_keys", 2);
	res = ctlc_ok(c, "keys_list", NULL);
	keys = json_object_get(res, "keys");
	ck_assert_str_eq(ctlc_str(json_array_get(keys, 0), "key_id"), id2);
	ck_assert_str_eq(ctlc_str(json_array_get(keys, 1), "key_id"), id1);
	json_decref(res);
	/* a keyring made readable by others is refused at reload: the running one stays */
	ck_assert_int_eq(chmod(kr, 0640), 0);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	deadline = dproc_now_ms() + WAIT_MS;
	while (strstr(dproc_log(&d), "mode 0640") == NULL) {
		ck_assert_msg(dproc_now_ms() < deadline, "no reload error: %s", dproc_log(&d));
		usleep(50000);
	}
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_keyring_keys"), 2);
	ck_assert_int_eq(chmod(kr, 0600), 0);
	/* off needs a restart: named in the log, mode unchanged */
	snprintf(text, sizeof(text), "encryption = off\nkeyring = %s\n", kr);
	file_write(conf, 0600, text);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	deadline = dproc_now_ms() + WAIT_MS;
	while (strstr(dproc_log(&d), "need a restart to take effect: encryption") == NULL) {
		ck_assert_msg(dproc_now_ms() < deadline, "no restart warning: %s", dproc_log(&d));
		usleep(50000);
	}
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_gossip_encryption{mode=\"on\"}"), 1);
	ctlc_close(c);
	dproc_stop(&d);
}
END_TEST

/* ---- the keys_* methods: errors, and what chitchatctl makes of them ------------------------- */

START_TEST(test_keys_methods_errors)
{
	char		 k1[CC_KEY_B64_LEN + 1], k2[CC_KEY_B64_LEN + 1], kr[160], params[128];
	char		 id2[CC_KEY_ID_LEN + 1], gone[128], *out;
	struct dproc	 off, on;
	struct ctlc	*c;
	json_t		*res;

	key_new(k1);
	key_new(k2);
	key_id_of(k2, id2);
	/* encryption off: an empty list, and no changes */
	start_node(&off, "plain", NULL, NULL);
	c = ctlc_open(off.sock);
	res = ctlc_ok(c, "keys_list", NULL);
	ck_assert_str_eq(ctlc_str(res, "encryption"), "off");
	ck_assert_uint_eq(json_array_size(json_object_get(res, "keys")), 0);
	json_decref(res);
	snprintf(params, sizeof(params), "{\"key\":\"%s\"}", k1);
	ck_assert_int_eq(ctlc_err(c, "keys_install", params), -32003);
	ck_assert_int_eq(ctlc_err(c, "keys_use", params), -32003);
	ck_assert_int_eq(ctlc_err(c, "keys_remove", params), -32003);
	ck_assert_int_eq(ctl(&off, NULL, NULL, ARGS("keyring", "install", k1)), 1);
	ctlc_close(c);
	dproc_stop(&off);

	/* the keyring in a directory of its own, to make saving fail later */
	file_name(gone, sizeof(gone), "dir");
	ck_assert_int_eq(mkdir(gone, 0700), 0);
	snprintf(kr, sizeof(kr), "%s/keyring", gone);
	snprintf(params, sizeof(params), "[\"%s\"]\n", k1);
	file_write(kr, 0600, params);
	start_node(&on, "sealed", NULL, ARGS("--encryption", "on", "--keyring", kr));
	c = ctlc_open(on.sock);
	ck_assert_int_eq(ctlc_err(c, "keys_install", "{}"), -32602);
	ck_assert_int_eq(ctlc_err(c, "keys_install", "{\"key\":\"c2hvcnQ=\"}"), -32602);
	ck_assert_int_eq(ctlc_err(c, "keys_install", "{\"key\":7}"), -32602);
	/* key ids are no keys to install */
	snprintf(params, sizeof(params), "{\"key\":\"%s\"}", id2);
	ck_assert_int_eq(ctlc_err(c, "keys_install", params), -32602);
	ck_assert_int_eq(ctlc_err(c, "keys_use", params), -32000);
	ck_assert_int_eq(ctlc_err(c, "keys_remove", params), -32000);
	ck_assert_int_eq(ctlc_err(c, "keys_use", "{\"key\":\"nonsense\"}"), -32602);
	/* the primary cannot be removed */
	snprintf(params, sizeof(params), "{\"key\":\"%s\"}", k1);
	ck_assert_int_eq(ctlc_err(c, "keys_remove", params), -32602);
	/* install is idempotent */
	snprintf(params, sizeof(params), "{\"key\":\"%s\"}", k2);
	json_decref(ctlc_ok(c, "keys_install", params));
	res = ctlc_ok(c, "keys_install", params);
	ck_assert_uint_eq(json_array_size(json_object_get(res, "keys")), 2);
	json_decref(res);
	/* chitchatctl: usage errors before connecting (2), unknown keys (4) */
	ck_assert_int_eq(ctl(&on, NULL, NULL, ARGS("keyring", "install", "c2hvcnQ=")), 2);
	ck_assert_int_eq(ctl(&on, NULL, NULL, ARGS("keyring", "install", id2)), 2);
	ck_assert_int_eq(ctl(&on, NULL, NULL, ARGS("keyring", "rotate")), 2);
	ck_assert_int_eq(ctl(&on, NULL, NULL, ARGS("keyring", "use")), 2);
	ck_assert_int_eq(ctl(&on, NULL, NULL, ARGS("keyring", "list", "extra")), 2);
	ck_assert_int_eq(ctl(&on, NULL, NULL, ARGS("keyring", "use", "0000000000000000")), 4);
	ck_assert_int_eq(ctl(&on, "not a key\n", NULL, ARGS("keyring", "install", "-")), 1);
	ck_assert_int_eq(ctl(&on, NULL, NULL, ARGS("keyring", "remove", k1)), 1);
	ck_assert_int_eq(ctl(NULL, NULL, &out, ARGS("keyring", "generate", "--json")), 0);
	res = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(res);
	ck_assert_uint_eq(strlen(ctlc_str(res, "key")), CC_KEY_B64_LEN);
	ck_assert_uint_eq(strlen(ctlc_str(res, "key_id")), CC_KEY_ID_LEN);
	json_decref(res);
	free(out);
	/* a change that cannot be saved is not made */
	ck_assert_int_eq(unlink(kr), 0);
	ck_assert_int_eq(rmdir(gone), 0);
	snprintf(params, sizeof(params), "{\"key\":\"%s\"}", k2);
	ck_assert_int_eq(ctlc_err(c, "keys_use", params), -32603);
	res = ctlc_ok(c, "keys_list", NULL);
	ck_assert(json_is_true(json_object_get(json_array_get(json_object_get(res, "keys"), 0),
	    "primary")));
	ck_assert_str_ne(ctlc_str(json_array_get(json_object_get(res, "keys"), 0), "key_id"),
	    id2);
	json_decref(res);
	ctlc_close(c);
	dproc_stop(&on);
}
END_TEST

static Suite *
crypto_cluster_suite(void)
{
	Suite	*s = suite_create("crypto_cluster");
	TCase	*tc = tcase_create("crypto");

	tcase_add_unchecked_fixture(tc, files_setup, files_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wire_on_seals_and_refuses_the_rest);
	tcase_add_test(tc, test_wire_upshift_answers_in_kind);
	tcase_add_test(tc, test_wire_off_is_plain_chitchat);
	tcase_add_test(tc, test_config_errors_exit_2);
	tcase_add_test(tc, test_one_keyring_converges_and_shares_keys);
	tcase_add_test(tc, test_wrong_key_never_joins_and_is_counted);
	tcase_add_test(tc, test_rotation_with_chitchatctl_keeps_every_node_live);
	tcase_add_test(tc, test_migration_plaintext_upshift_on);
	tcase_add_test(tc, test_sighup_rereads_the_keyring_and_off_needs_a_restart);
	tcase_add_test(tc, test_keys_methods_errors);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(crypto_cluster_suite)
