/*
 * rpc_bench: the control socket under load, against one real chitchatd.
 *
 *   build/bench/rpc_bench [--quick] [--build DIR] [--kv FILE]
 *
 * Starts DIR/chitchatd (default: the directory of this binary's parent, i.e.
 * build/) with a control socket in a temporary directory, then measures
 *   (a) pipelined `set` throughput on 1 connection and on 16 connections
 *       (every request written without waiting, replies read as they come);
 *   (b) `get` latency, one request at a time on one connection, p50/p99;
 *   (c) notification fan-out: 100 connections subscribed to `keys` under a
 *       prefix, one more connection setting keys under it (at most 64 sets
 *       outstanding), notifications received per second over all subscribers;
 *   (d) `chitchatctl get` as a process (fork, exec, connect, reply, exit).
 * The client runs on the same 2-core machine as the daemon: both share it.
 * Output: markdown on stdout; with --kv, the figures as NAME=VALUE lines in
 * FILE too (read by bench/cluster.py for the targets). The daemon is killed
 * at exit.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t daemon_pid = -1;
static char sock_path[100];
static char tmpdir[64];
static char ctl_bin[PATH_MAX];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void cleanup(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
	if (sock_path[0])
		unlink(sock_path);
	if (tmpdir[0]) {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof p, "%s/log", tmpdir);
		unlink(p);
		rmdir(tmpdir);
	}
}

static void on_signal(int sig)
{
	cleanup();
	_exit(128 + sig);
}

static void die(const char *msg)
{
	fprintf(stderr, "rpc_bench: %s: %s\n", msg, strerror(errno));
	cleanup();
	exit(1);
}

static int connect_sock(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* a growable byte buffer */
struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("realloc");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static size_t count_nl(const char *p, size_t n)
{
	size_t c = 0;
	const char *e = p + n;
	while ((p = memchr(p, '\n', e - p)) != NULL) {
		c++;
		p++;
	}
	return c;
}

/* blocking request/reply on fd; the reply line goes to out (NUL-terminated) */
static void rpc_call(int fd, const char *req, char *out, size_t outsz)
{
	size_t n = strlen(req), off = 0;
	while (off < n) {
		ssize_t w = write(fd, req + off, n - off);
		if (w < 0 && errno != EINTR)
			die("write");
		if (w > 0)
			off += w;
	}
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, out + got, outsz - 1 - got);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			die("read (daemon gone?)");
		}
		got += r;
		out[got] = 0;
		if (memchr(out, '\n', got))
			return;
		if (got == outsz - 1)
			return;
	}
}

/*
 * (a) pipelined sets: each of nconn connections gets `per` requests, written
 * as fast as the socket takes them while replies are read. Returns sets/s.
 */
static double pipelined_sets(int nconn, long per, int round)
{
	int fds[64];
	struct buf req[64];
	size_t woff[64];
	long replies[64];
	struct pollfd pfd[64];

	for (int c = 0; c < nconn; c++) {
		fds[c] = connect_sock();
		if (fds[c] < 0)
			die("connect");
		set_nonblock(fds[c]);
		memset(&req[c], 0, sizeof req[c]);
		for (long i = 0; i < per; i++) {
			char line[160];
			int n = snprintf(line, sizeof line,
			    "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"set\",\"params\":"
			    "{\"key\":\"bench/c%d/k%ld\",\"value\":\"r%d-%ld\"}}\n",
			    i, c, i % 1000, round, i);
			buf_add(&req[c], line, n);
		}
		woff[c] = 0;
		replies[c] = 0;
	}
	static char rbuf[1 << 20];
	long left = (long)nconn * per;
	double t0 = now_s();
	while (left > 0) {
		for (int c = 0; c < nconn; c++) {
			pfd[c].fd = fds[c];
			pfd[c].events = POLLIN | (woff[c] < req[c].len ? POLLOUT : 0);
		}
		if (poll(pfd, nconn, 10000) <= 0)
			die("poll (stalled)");
		for (int c = 0; c < nconn; c++) {
			if (pfd[c].revents & POLLOUT) {
				ssize_t w = write(fds[c], req[c].p + woff[c], req[c].len - woff[c]);
				if (w > 0)
					woff[c] += w;
			}
			if (pfd[c].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(fds[c], rbuf, sizeof rbuf);
				if (r == 0)
					die("daemon closed a connection");
				if (r > 0) {
					long k = count_nl(rbuf, r);
					replies[c] += k;
					left -= k;
				}
			}
		}
	}
	double dt = now_s() - t0;
	for (int c = 0; c < nconn; c++) {
		close(fds[c]);
		free(req[c].p);
	}
	return (double)nconn * per / dt;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pctl(double *v, long n, double p)
{
	long k = (long)((p / 100.0) * n + 0.999999) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return v[k];
}

/* (b) get latency */
static void get_latency(long n, double *p50, double *p99, double *mean)
{
	int fd = connect_sock();
	if (fd < 0)
		die("connect");
	char out[65536];
	rpc_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"set\",\"params\":"
		     "{\"key\":\"bench/get\",\"value\":\"10.0.0.5:8080\"}}\n", out, sizeof out);
	double *lat = malloc(n * sizeof *lat), sum = 0;
	for (long i = 0; i < n; i++) {
		double t = now_s();
		rpc_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"get\",\"params\":"
			     "{\"key\":\"bench/get\"}}\n", out, sizeof out);
		lat[i] = now_s() - t;
		sum += lat[i];
		if (!strstr(out, "\"result\""))
			die("get failed");
	}
	qsort(lat, n, sizeof *lat, cmp_d);
	*p50 = pctl(lat, n, 50) * 1e6;
	*p99 = pctl(lat, n, 99) * 1e6;
	*mean = sum / n * 1e6;
	free(lat);
	close(fd);
}

/*
 * (c) fan-out: nsub subscribers of keys under "fan/", one setter with at most
 * `window` sets outstanding. Returns notifications/s; *lost counts
 * subscribers that lagged or notifications missing.
 */
static double fanout(int nsub, long nsets, int window, long *received, long *expected,
		     int *lagged)
{
	int subs[256];
	char out[1 << 16];
	for (int s = 0; s < nsub; s++) {
		subs[s] = connect_sock();
		if (subs[s] < 0)
			die("connect subscriber");
		rpc_call(subs[s], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\","
				  "\"params\":{\"topic\":\"keys\",\"prefix\":\"fan/\"}}\n",
			 out, sizeof out);
		if (!strstr(out, "\"result\""))
			die("subscribe failed");
		set_nonblock(subs[s]);
	}
	int setter = connect_sock();
	set_nonblock(setter);
	struct pollfd *pfd = calloc(nsub + 1, sizeof *pfd);
	long *got = calloc(nsub, sizeof *got);
	static char rbuf[1 << 20];
	long sent = 0, acked = 0, total = 0;
	*lagged = 0;
	*expected = (long)nsub * nsets;
	struct buf pend = {0};
	size_t poff = 0;
	double t0 = now_s(), last = t0;
	while (total < *expected) {
		/* queue more sets within the window */
		while (sent < nsets && sent - acked < window) {
			char line[160];
			int n = snprintf(line, sizeof line,
			    "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"set\",\"params\":"
			    "{\"key\":\"fan/k%ld\",\"value\":\"v%ld\"}}\n", sent, sent % 100, sent);
			buf_add(&pend, line, n);
			sent++;
		}
		for (int s = 0; s < nsub; s++) {
			pfd[s].fd = subs[s];
			pfd[s].events = POLLIN;
		}
		pfd[nsub].fd = setter;
		pfd[nsub].events = POLLIN | (poff < pend.len ? POLLOUT : 0);
		int pr = poll(pfd, nsub + 1, 2000);
		if (pr < 0 && errno != EINTR)
			die("poll");
		if (pr == 0 && now_s() - last > 5)
			break; /* nothing for 5 s: some notifications are lost */
		if (pfd[nsub].revents & POLLOUT) {
			ssize_t w = write(setter, pend.p + poff, pend.len - poff);
			if (w > 0)
				poff += w;
			if (poff == pend.len)
				poff = pend.len = 0;
		}
		if (pfd[nsub].revents & POLLIN) {
			ssize_t r = read(setter, rbuf, sizeof rbuf);
			if (r > 0)
				acked += count_nl(rbuf, r);
		}
		for (int s = 0; s < nsub; s++) {
			if (!(pfd[s].revents & (POLLIN | POLLHUP | POLLERR)) || subs[s] < 0)
				continue;
			ssize_t r = read(subs[s], rbuf, sizeof rbuf);
			if (r == 0) {
				(*lagged)++;
				close(subs[s]);
				subs[s] = -1;
				pfd[s].fd = -1;
				continue;
			}
			if (r > 0) {
				long k = count_nl(rbuf, r);
				got[s] += k;
				total += k;
				last = now_s();
			}
		}
	}
	double dt = last - t0;
	*received = total;
	for (int s = 0; s < nsub; s++)
		if (subs[s] >= 0)
			close(subs[s]);
	close(setter);
	free(pfd);
	free(got);
	free(pend.p);
	return total / dt;
}

/* (d) chitchatctl get as a process */
static void ctl_roundtrip(int n, double *p50, double *p99)
{
	double *lat = malloc(n * sizeof *lat);
	for (int i = 0; i < n; i++) {
		double t = now_s();
		pid_t p = fork();
		if (p == 0) {
			int dn = open("/dev/null", O_WRONLY);
			dup2(dn, 1);
			execl(ctl_bin, "chitchatctl", "-s", sock_path, "get", "bench/get",
			      (char *)NULL);
			_exit(127);
		}
		int st;
		waitpid(p, &st, 0);
		lat[i] = now_s() - t;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("chitchatctl get failed");
	}
	qsort(lat, n, sizeof *lat, cmp_d);
	*p50 = pctl(lat, n, 50) * 1e3;
	*p99 = pctl(lat, n, 99) * 1e3;
	free(lat);
}

int main(int argc, char **argv)
{
	int quick = 0;
	const char *build = "build", *kv = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--build") && i + 1 < argc)
			build = argv[++i];
		else if (!strcmp(argv[i], "--kv") && i + 1 < argc)
			kv = argv[++i];
		else {
			fprintf(stderr, "usage: rpc_bench [--quick] [--build DIR] [--kv FILE]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(cleanup);

	snprintf(tmpdir, sizeof tmpdir, "/tmp/rpcbench.XXXXXX");
	if (!mkdtemp(tmpdir))
		die("mkdtemp");
	snprintf(sock_path, sizeof sock_path, "%s/s", tmpdir);
	char dbin[PATH_MAX], logp[PATH_MAX + 8];
	snprintf(dbin, sizeof dbin, "%s/chitchatd", build);
	snprintf(ctl_bin, sizeof ctl_bin, "%s/chitchatctl", build);
	snprintf(logp, sizeof logp, "%s/log", tmpdir);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		int lf = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(lf, 2);
		execl(dbin, "chitchatd", "--node-id", "rpcbench", "--listen", "127.0.0.1:24999",
		      "--control-socket", sock_path, "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
	int fd = -1;
	for (int i = 0; i < 500 && fd < 0; i++) {
		fd = connect_sock();
		if (fd < 0)
			usleep(10000);
	}
	if (fd < 0)
		die("daemon did not start");
	close(fd);

	long per1 = quick ? 50000 : 300000, per16 = quick ? 5000 : 25000;
	long ngets = quick ? 5000 : 50000, nsets = quick ? 1000 : 20000;
	int nctl = quick ? 50 : 300;

	double t_all = now_s();
	pipelined_sets(1, 10000, 0); /* warm-up */
	double s1 = pipelined_sets(1, per1, 1);
	double s16 = pipelined_sets(16, per16, 2);
	double g50, g99, gmean;
	get_latency(ngets, &g50, &g99, &gmean);
	long rec, exp;
	int lag;
	double fan = fanout(100, nsets, 64, &rec, &exp, &lag);
	double c50, c99;
	ctl_roundtrip(nctl, &c50, &c99);

	printf("## rpc_bench\n\n");
	printf("One chitchatd (alone, no peers), its control socket driven by this "
	       "client on the same 2-core machine (client and daemon share the CPUs).\n\n");
	printf("| figure | value | detail |\n|---|---:|---|\n");
	printf("| pipelined `set`, 1 connection | %.0f /s | %ld requests |\n", s1, per1);
	printf("| pipelined `set`, 16 connections | %.0f /s | %ld requests each |\n", s16, per16);
	printf("| `get` latency p50 | %.1f us | %ld sequential requests, mean %.1f us |\n",
	       g50, ngets, gmean);
	printf("| `get` latency p99 | %.1f us | |\n", g99);
	printf("| notification fan-out, 100 key subscribers | %.0f notifications/s | "
	       "%ld sets (64 outstanding), %ld of %ld notifications received, %d subscribers "
	       "lagged |\n", fan, nsets, rec, exp, lag);
	printf("| `chitchatctl get` as a process, p50 | %.2f ms | %d runs |\n", c50, nctl);
	printf("| `chitchatctl get` as a process, p99 | %.2f ms | |\n", c99);
	printf("\nrpc_bench wall time: %.1f s\n", now_s() - t_all);
	if (kv) {
		FILE *f = fopen(kv, "w");
		if (!f)
			die(kv);
		fprintf(f, "sets_1conn=%.0f\nsets_16conn=%.0f\nget_p50_us=%.1f\nget_p99_us=%.1f\n"
			   "fanout_per_s=%.0f\nfanout_received=%ld\nfanout_expected=%ld\n"
			   "ctl_get_p50_ms=%.2f\nctl_get_p99_ms=%.2f\n",
			s1, s16, g50, g99, fan, rec, exp, c50, c99);
		fclose(f);
	}
	return 0;
}
