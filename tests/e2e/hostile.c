/*
 * hostile: the "hostile host" of the e2e fault tests (tests/e2e/s_hostile.sh).
 * Sends, at a fixed rate and for a fixed time, a mix of bad datagrams to
 * the given IPv4 gossip addresses, round-robin:
 *   - random bytes (1 to 1400), some starting with the chitchat magic and
 *     protocol header so that they reach the message decoder;
 *   - a well-formed SYN of the target cluster, truncated at a random length;
 *   - a well-formed SYN of another cluster (the daemon must refuse it).
 * Plain main, no Check, no engine library: it must not share the code it
 * attacks. Prints one line with the counts when done (after SECONDS, or
 * at SIGTERM/SIGINT).
 *
 *   hostile RATE_PER_S SECONDS CLUSTER_ID HOST:PORT...
 *
 * With HOSTILE_DUMP set, prints the two SYNs in hexadecimal and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 256

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Header (magic 0xb053 little-endian, protocol 0, type Syn), a digest of
 * one node, then the cluster id: the layout of PROTOCOL.md's Syn. */
static size_t
make_syn(uint8_t *b, size_t cap, const char *cluster, const char *node_id)
{
	size_t n = 0, cl = strlen(cluster), nl = strlen(node_id);

	if (cap < 64 + cl + nl)
		return 0;
	b[n++] = 0x53; b[n++] = 0xb0; b[n++] = 0x00; b[n++] = 0x00;
	b[n++] = 1; b[n++] = 0;				/* one node digest */
	b[n++] = (uint8_t)nl; b[n++] = (uint8_t)(nl >> 8);
	memcpy(b + n, node_id, nl); n += nl;
	for (int i = 0; i < 8; i++)			/* generation */
		b[n++] = (uint8_t)(i == 0 ? 7 : 0);
	b[n++] = 4;					/* IPv4 address */
	b[n++] = 10; b[n++] = 213; b[n++] = 0; b[n++] = 250;
	b[n++] = 0x70; b[n++] = 0x1c;			/* port 7280 */
	for (int i = 0; i < 24; i++)			/* heartbeat, last_gc, max_version */
		b[n++] = (uint8_t)(i == 0 ? 3 : 0);
	b[n++] = (uint8_t)cl; b[n++] = (uint8_t)(cl >> 8);
	memcpy(b + n, cluster, cl); n += cl;
	return n;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 to[MAX_TARGETS];
	uint8_t			 own[512], foreign[512], buf[1500];
	size_t			 own_len, foreign_len;
	unsigned long		 sent[3] = { 0, 0, 0 }, errors = 0;
	int			 ntargets = 0, fd;
	double			 rate, secs, t0, next;

	if (argc < 5) {
		fprintf(stderr, "usage: hostile RATE_PER_S SECONDS CLUSTER_ID HOST:PORT...\n");
		return 2;
	}
	rate = atof(argv[1]);
	secs = atof(argv[2]);
	if (rate <= 0 || secs <= 0) {
		fprintf(stderr, "hostile: bad rate or duration\n");
		return 2;
	}
	for (int i = 4; i < argc && ntargets < MAX_TARGETS; i++) {
		char host[64], *colon;

		snprintf(host, sizeof(host), "%s", argv[i]);
		colon = strrchr(host, ':');
		if (colon == NULL) {
			fprintf(stderr, "hostile: %s: expected HOST:PORT\n", argv[i]);
			return 2;
		}
		*colon = '\0';
		memset(&to[ntargets], 0, sizeof(to[0]));
		to[ntargets].sin_family = AF_INET;
		to[ntargets].sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &to[ntargets].sin_addr) != 1) {
			fprintf(stderr, "hostile: %s: not an IPv4 address\n", argv[i]);
			return 2;
		}
		ntargets++;
	}
	rng ^= (uint64_t)getpid() << 17 ^ (uint64_t)time(NULL);
	own_len = make_syn(own, sizeof(own), argv[3], "hostile-node");
	foreign_len = make_syn(foreign, sizeof(foreign), "another-cluster", "intruder");
	if (getenv("HOSTILE_DUMP") != NULL) {	/* for a look with `chitchatctl wire decode` */
		for (size_t j = 0; j < own_len; j++)
			printf("%02x", own[j]);
		printf("\n");
		for (size_t j = 0; j < foreign_len; j++)
			printf("%02x", foreign[j]);
		printf("\n");
		return 0;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || own_len == 0 || foreign_len == 0) {
		perror("hostile: socket");
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	t0 = now_s();
	next = t0;
	for (unsigned long i = 0;; i++) {
		const struct sockaddr_in *dst = &to[i % (unsigned long)ntargets];
		size_t len;
		int kind = (int)(rnd() % 3);
		double t = now_s();

		if (t - t0 >= secs || stop)
			break;
		if (t < next) {
			struct timespec ts = { 0, (long)((next - t) * 1e9) };
			nanosleep(&ts, NULL);
		}
		next += 1.0 / rate;
		switch (kind) {
		case 0:
			len = 1 + rnd() % 1400;
			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)rnd();
			if (len >= 4 && rnd() % 2 == 0) {
				buf[0] = 0x53; buf[1] = 0xb0; buf[2] = 0;
				buf[3] = (uint8_t)(rnd() % 4);
			}
			break;
		case 1:
			len = rnd() % own_len;	/* 0 .. own_len-1: always short */
			memcpy(buf, own, len);
			break;
		default:
			len = foreign_len;
			memcpy(buf, foreign, len);
			break;
		}
		if (sendto(fd, buf, len, 0, (const struct sockaddr *)dst, sizeof(*dst)) < 0 &&
		    errno != EAGAIN)
			errors++;
		else
			sent[kind]++;
	}
	printf("hostile: sent %lu random, %lu truncated, %lu foreign-cluster datagrams "
	    "in %.1f s to %d targets (%lu send errors)\n",
	    sent[0], sent[1], sent[2], now_s() - t0, ntargets, errors);
	close(fd);
	return 0;
}
