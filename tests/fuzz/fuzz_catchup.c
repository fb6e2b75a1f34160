/*
 * fuzz_catchup.c: libFuzzer target for the catch-up side channel's frames
 * (common/cc_catchup.c, docs/CATCHUP.md), both ends, on live engines.
 *
 * The input is what a client reads from a server: frames, each a u32
 * little-endian length and a body. The client side accumulates them for
 * node "a" (generation 1, 127.0.0.1:7280) under small limits, as the
 * daemon does, and a complete answer is applied with the reset API to an
 * engine that holds a replica of "a". The server side gets every body as
 * a request, and answers any that decodes from an engine holding a state
 * of "a", to the end.
 *
 * Checked: nothing crashes or leaks; a complete answer respects the
 * limits and its END; the answer the server produces is accepted whole by
 * a client and rebuilds the server's state of "a" entry for entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_catchup.h"
#include "fuzz_env.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_catchup: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

#define MAX_ENTRIES	64
#define MAX_BYTES	(8 * 1024)

static struct cc_engine *
engine_new(struct fuzz_env *fe, uint16_t port)
{
	struct cc_config	 cfg;
	struct cc_id		 self;
	struct cc_addr		 a = fuzz_addr(port);
	struct cc_engine	*e;
	char			 name[16];

	fuzz_env_init(fe);
	snprintf(name, sizeof(name), "n%u", (unsigned)port);
	CHECK(cc_id_init(&self, name, strlen(name), 1, &a) == 0);
	cc_config_default(&cfg);
	cfg.self = self;
	cfg.cluster_id = "fuzz";
	CHECK((e = cc_engine_new(&cfg, &fe->env)) != NULL);
	cc_id_clear(&self);
	return e;
}

static void
node_a(struct cc_id *id)
{
	struct cc_addr a = fuzz_addr(7280);

	CHECK(cc_id_init(id, "a", 1, 1, &a) == 0);
}

/* A server whose state of "a" has keys, a rewrite and a tombstone (gc 3). */
static void
server_state(struct cc_engine *e, const struct cc_id *id)
{
	static const struct cc_kv kv[] = {
		{ "k1", 2, "v1", 2, 4, CC_STATUS_SET, { 0 } },
		{ "k2", 2, "", 0, 5, CC_STATUS_DELETED, { 0 } },
		{ "k3", 2, "a value", 7, 7, CC_STATUS_DELETE_AFTER_TTL, { 0 } },
		{ "k4", 2, "v4", 2, 9, CC_STATUS_SET, { 0 } },
	};

	CHECK(cc_engine_reset_node_state(e, id, kv, 4, 9, 3) == 0);
}

/* Answers a decoded request to the end; if FOUND, a client takes it whole. */
static void
serve(struct cc_engine *srv, const struct cc_catchup_request *req)
{
	struct cc_catchup_tx	tx;
	struct cc_catchup_rx	rx;
	struct cc_wbuf		out;
	int			st, rc;

	cc_wbuf_init(&out);
	st = cc_catchup_tx_start(&tx, srv, req, &out);
	CHECK(st >= 0);
	CHECK(cc_catchup_rx_init(&rx, &req->id, 100000, 1 << 20) == 0);
	rc = cc_catchup_rx_feed(&rx, out.data, out.len);
	for (int i = 0; rc == 0 && i < 100; i++) {
		cc_wbuf_reset(&out);
		CHECK(cc_catchup_tx_next(&tx, srv, NULL, &out) == 0);
		CHECK(out.len > 0 && out.len <= CC_CATCHUP_MAX_FRAME);
		rc = cc_catchup_rx_feed(&rx, out.data, out.len);
	}
	CHECK(rc == 1 && tx.done);
	CHECK((st == CC_CATCHUP_FOUND) == (rx.hdr.status == CC_CATCHUP_FOUND));
	if (st == CC_CATCHUP_FOUND) {
		const struct cc_node *n = cc_engine_node(srv, &req->id);

		CHECK(rx.end.status == CC_CATCHUP_COMPLETE);
		CHECK(n != NULL && rx.n == cc_node_num_stored(n));
		CHECK(rx.bytes == cc_node_bytes(n));
		CHECK(rx.end.max_version == cc_node_max_version(n));
		for (size_t i = 0; i < rx.n; i++) {
			const struct cc_kv *kv = cc_node_get_versioned(n, rx.entries[i].key,
			    rx.entries[i].key_len);

			CHECK(kv != NULL && kv->version == rx.entries[i].version &&
			    kv->status == rx.entries[i].status);
		}
	}
	cc_catchup_rx_clear(&rx);
	cc_catchup_tx_clear(&tx);
	cc_wbuf_clear(&out);
}

/* The client: the input as frames, under small limits, applied if complete. */
static void
client(const uint8_t *data, size_t size, struct cc_engine *cli, struct cc_engine *srv,
    const struct cc_id *id)
{
	struct cc_catchup_rx		rx;
	struct cc_catchup_request	req;
	size_t				off = 0, len;
	int				rc = 0;

	CHECK(cc_catchup_rx_init(&rx, id, MAX_ENTRIES, MAX_BYTES) == 0);
	while (size - off >= CC_CATCHUP_PREFIX) {
		if (cc_catchup_get_prefix(data + off, CC_CATCHUP_MAX_FRAME, &len) == -1 ||
		    len > size - off - CC_CATCHUP_PREFIX)
			break;
		off += CC_CATCHUP_PREFIX;
		if (cc_catchup_request_decode(data + off, len, &req) == 0) {
			serve(srv, &req);
			cc_catchup_request_clear(&req);
		}
		if (rc == 0) {		/* the client stops at the end or an error */
			rc = cc_catchup_rx_feed(&rx, data + off, len);
			CHECK(rc != -1 || rx.why != NULL);
		}
		off += len;
	}
	CHECK(rx.n <= MAX_ENTRIES && rx.bytes <= MAX_BYTES);
	if (rc == 1 && rx.hdr.status == CC_CATCHUP_FOUND &&
	    rx.end.status == CC_CATCHUP_COMPLETE) {
		CHECK(rx.end.n_entries == rx.n);
		(void)cc_engine_reset_node_state(cli, id, rx.entries, rx.n, rx.end.max_version,
		    rx.end.last_gc_version);
	}
	cc_catchup_rx_clear(&rx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_env		 fc, fs;
	struct cc_engine	*cli, *srv;
	struct cc_id		 id;

	node_a(&id);
	cli = engine_new(&fc, 7281);
	srv = engine_new(&fs, 7282);
	server_state(srv, &id);
	client(data, size, cli, srv, &id);
	cc_engine_free(cli);
	cc_engine_free(srv);
	cc_id_clear(&id);
	return 0;
}
