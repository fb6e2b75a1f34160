/*
 * fuzz_ctl_line.c: libFuzzer target for the control socket's line handler
 * (control_client_line -> rpc_handle_line: JSON-RPC parsing, batches,
 * every method, subscriptions and their notifications), without a socket,
 * as tests/daemon/check_rpc.c drives it.
 *
 * Each input is cut into lines at '\n', as the socket's framing does, and
 * each line is handed over in an exact-size buffer (no NUL after it), so
 * ASan catches any read past the line. Every input gets a fresh engine
 * (holding one remote replica), control and detached client: crashes
 * reproduce from the input alone. Replies are drained and checked to be
 * whole lines. The key-ttl extension is on, and due expiries run between
 * lines (the clock moves 10 ms per line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "../../daemon/ccd.h"
#include "../../daemon/control.h"
#include "../../daemon/leave.h"
#include "../../daemon/expiry.h"
#include "../../daemon/log.h"
#include "fuzz_env.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_ctl_line: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

static struct event_base	*base;
static struct ccd		*current;	/* the input's daemon state */

/* The env's arg is the fake env (clock, PRNG); events go to the daemon. */
static void
on_event(void *arg, const struct cc_event *ev)
{
	(void)arg;
	if (current != NULL)
		ccd_on_engine_event(current, ev);
}

static uint64_t
clock_of(void *arg)
{
	return ((struct fuzz_env *)arg)->now_ms;
}

/* Drains the client's output; every reply or notification ends with '\n'. */
static void
drain(struct ctl_client *c)
{
	struct evbuffer	*out = control_client_output(c);
	size_t		 n = evbuffer_get_length(out);

	if (n == 0)
		return;
	{
		unsigned char *all = evbuffer_pullup(out, -1);

		CHECK(all != NULL && all[n - 1] == '\n');
	}
	evbuffer_drain(out, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ccd_config	 cfg;
	struct ccd		 ccd;
	struct fuzz_env		 fe;
	struct cc_config	 ec;
	struct ctl_client	*c;
	struct cc_id		 peer;
	struct cc_addr		 pa = fuzz_addr(7001);
	struct cc_kv		 kv;
	size_t			 lines = 0;

	if (base == NULL) {
		log_init(-1);	/* quiet: below CC_LOG_ERROR */
		if ((base = event_base_new()) == NULL)
			abort();
	}
	fuzz_env_init(&fe);
	memset(&cfg, 0, sizeof(cfg));
	/* every extension on: leave and force_leave run too */
	cfg.extensions = CCD_EXT_ALL;
	cfg.gossip_interval_ms = 1000;
	cc_fd_config_default(&cfg.fd);
	memset(&ccd, 0, sizeof(ccd));
	fe.env.event = on_event;
	current = &ccd;
	cc_config_default(&ec);
	ec.self.node_id = (char *)"self";
	ec.self.node_id_len = 4;
	ec.self.addr = fuzz_addr(7000);
	ec.cluster_id = "fuzz";
	ccd.base = base;
	ccd.cfg = &cfg;
	if ((ccd.engine = cc_engine_new(&ec, &fe.env)) == NULL)
		abort();
	ccd.start_ms = fe.now_ms;
	if (control_new(&ccd) == NULL)
		abort();
	control_set_clock(ccd.control, clock_of, &fe);
	cfg.extensions = CCD_EXT_KEY_TTL;
	if ((ccd.expiry = expiry_new(&ccd)) == NULL)
		abort();
	expiry_set_clock(ccd.expiry, clock_of, &fe);
	cc_engine_set(ccd.engine, "own", 3, "v", 1);
	memset(&kv, 0, sizeof(kv));
	kv.key = "k";
	kv.key_len = 1;
	kv.value = "remote";
	kv.value_len = 6;
	kv.version = 1;
	if (cc_id_init(&peer, "peer", 4, 1, &pa) == -1)
		abort();
	cc_engine_reset_node_state(ccd.engine, &peer, &kv, 1, 1, 0);
	cc_id_clear(&peer);
	if ((c = control_client_new(ccd.control, -1)) == NULL)
		abort();
	while (size > 0 && lines < 256) {
		const uint8_t	*nl = memchr(data, '\n', size);
		size_t		 len = nl != NULL ? (size_t)(nl - data) : size;
		char		*line = malloc(len > 0 ? len : 1);

		if (line == NULL)
			abort();
		if (len > 0)
			memcpy(line, data, len);
		control_client_line(c, line, len);
		free(line);
		drain(c);
		/* a write between lines: subscriptions get notifications */
		fe.now_ms += 10;
		cc_engine_set(ccd.engine, "tick", 4, lines % 2 ? "a" : "b", 1);
		(void)expiry_run(ccd.expiry);
		drain(c);
		lines++;
		if (nl == NULL)
			break;
		data = nl + 1;
		size -= len + 1;
	}
	control_client_destroy(c);
	leave_free(&ccd);
	control_close(&ccd);
	expiry_free(ccd.expiry);
	cc_engine_free(ccd.engine);
	current = NULL;
	return 0;
}
