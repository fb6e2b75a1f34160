/*
 * metrics.c: Prometheus text exposition of the daemon's state and
 * counters: membership gauges read from the engine, gossip counters from
 * cc_engine_stats() and the UDP socket, control-socket counters from
 * struct ccd_counters and struct control. Formatting only: nothing here
 * is kept between calls. Names follow Prometheus conventions: _total for
 * counters, base units (seconds, bytes), one HELP and TYPE line each.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchup.h"
#include "ccd.h"
#include "control.h"
#include "expiry.h"
#include "metrics.h"
#include "rpc.h"
#include "subscribe.h"

static void
metric(FILE *f, const char *type, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP chitchatd_%s %s\n# TYPE chitchatd_%s %s\nchitchatd_%s %" PRIu64 "\n",
	    name, help, name, type, name, v);
}

static void
counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	metric(f, "counter", name, help, v);
}

static void
gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	metric(f, "gauge", name, help, v);
}

/* One counter per message type: name{type="syn"} ... */
static void
by_type(FILE *f, const char *name, const char *help, const uint64_t v[4])
{
	static const char *types[4] = { "syn", "syn_ack", "ack", "bad_cluster" };

	fprintf(f, "# HELP chitchatd_%s %s\n# TYPE chitchatd_%s counter\n", name, help, name);
	for (int i = 0; i < 4; i++)
		fprintf(f, "chitchatd_%s{type=\"%s\"} %" PRIu64 "\n", name, types[i], v[i]);
}

/* A label value: backslash, double quote and newline escaped. */
static void
label(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '"')
			fputc('\\', f);
		if (s[i] == '\n')
			fputs("\\n", f);
		else
			fputc(s[i], f);
	}
}

/* Gossip encryption: the mode as a state set, the keyring size, the counters. */
static void
crypto_metrics(FILE *f, const struct gossip *g)
{
	static const enum gossip_encryption modes[] = {
		GOSSIP_ENC_OFF, GOSSIP_ENC_UPSHIFT, GOSSIP_ENC_ON,
	};
	const struct gossip_crypto_counters *c = &g->crypto;

	fputs("# HELP chitchatd_gossip_encryption Gossip encryption mode: 1 for the mode in "
	    "force.\n# TYPE chitchatd_gossip_encryption gauge\n", f);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(f, "chitchatd_gossip_encryption{mode=\"%s\"} %d\n",
		    gossip_encryption_name(modes[i]), g->encryption == modes[i]);
	gauge(f, "gossip_keyring_keys", "Keys in the keyring, the primary included.",
	    g->encryption != GOSSIP_ENC_OFF ? g->keyring.n : 0);
	counter(f, "gossip_auth_failures_total",
	    "Sealed datagrams dropped: no key of the keyring authenticates them.",
	    c->auth_failures);
	counter(f, "gossip_plaintext_refused_total",
	    "Plaintext datagrams dropped: encryption is on.", c->plaintext_refused);
	counter(f, "gossip_plaintext_accepted_total",
	    "Plaintext datagrams accepted: encryption is upshift.", c->plaintext_accepted);
	counter(f, "gossip_sealed_sent_total", "Sealed datagrams sent.", c->sealed_sent);
	counter(f, "gossip_plaintext_sent_total",
	    "Plaintext datagrams sent while encryption is upshift.", c->plaintext_sent);
	counter(f, "gossip_sealed_received_total", "Sealed datagrams received and opened.",
	    c->sealed_received);
	counter(f, "gossip_opened_with_secondary_key_total",
	    "Sealed datagrams opened with a secondary key, not the primary.",
	    c->opened_secondary);
}

/* The catch-up side channel (catchup.c); zeros when it is not running. */
static void
catchup_metrics(FILE *f, const struct catchup_stats *cs)
{
	static const struct catchup_stats none;

	if (cs == NULL)
		cs = &none;
	counter(f, "catchup_fetches_started_total",
	    "Catch-up fetches started (a received delta reset a replica).", cs->fetches_started);
	counter(f, "catchup_fetches_completed_total",
	    "Catch-up fetches that applied a whole node state.", cs->fetches_completed);
	counter(f, "catchup_fetches_unneeded_total",
	    "Catch-up fetches answered up to date or not found, or stale on arrival.",
	    cs->fetches_unneeded);
	counter(f, "catchup_fetches_failed_total",
	    "Catch-up fetches that failed after connecting (timeout, bad answer, limits).",
	    cs->fetches_failed);
	counter(f, "catchup_fetches_refused_total",
	    "Catch-up fetches refused: no connection (peer without the extension) or a refusal.",
	    cs->fetches_refused);
	counter(f, "catchup_resets_not_fetched_total",
	    "Resets that started no fetch: one in flight, address refused recently, queue full.",
	    cs->resets_not_fetched);
	gauge(f, "catchup_fetches_in_flight", "Catch-up fetches connecting or receiving.",
	    cs->fetches_in_flight);
	counter(f, "catchup_rx_bytes_total", "Bytes received by catch-up fetches.",
	    cs->rx_bytes);
	counter(f, "catchup_entries_applied_total",
	    "Entries applied by catch-up fetches (through the reset API).", cs->entries_applied);
	gauge(f, "catchup_listening", "1 if this node serves catch-up requests on TCP.",
	    cs->listening ? 1 : 0);
	counter(f, "catchup_server_connections_total", "Catch-up connections accepted.",
	    cs->server_connections);
	counter(f, "catchup_requests_served_total",
	    "Catch-up requests answered with a whole node state.", cs->requests_served);
	counter(f, "catchup_requests_refused_total",
	    "Catch-up connections refused: over the limit, malformed, another cluster or version.",
	    cs->requests_refused);
	counter(f, "catchup_tx_bytes_total", "Bytes sent in catch-up answers.", cs->tx_bytes);
	gauge(f, "catchup_server_connections", "Catch-up connections open.", cs->server_open);
	counter(f, "catchup_auth_failures_total",
	    "Catch-up frames refused by gossip encryption: no key opens them, or plaintext in mode on.",
	    cs->auth_failures);
}

char *
metrics_format(struct ccd *ccd, size_t *len)
{
	const struct cc_stats	*st = cc_engine_stats(ccd->engine);
	const struct cc_id	*self = cc_engine_self_id(ccd->engine);
	const struct cc_node	*me = cc_engine_self_node(ccd->engine), *n;
	const struct ccd_counters *k = &ccd->counters;
	const struct control	*ctl = ccd->control;
	const char		*cluster = cc_engine_cluster_id(ccd->engine);
	uint64_t		 now, state_bytes = 0, cluster_keys = 0;
	struct rpc_member_counts cnt;
	size_t			 size = 0;
	char			*buf = NULL;
	FILE			*f;

	if ((f = open_memstream(&buf, &size)) == NULL)
		return NULL;
	now = ctl != NULL ? control_now(ctl) : ccd_now_ms();
	rpc_count_members(ccd, &cnt);
	for (n = cc_engine_node_first(ccd->engine); n != NULL;
	    n = cc_engine_node_next(ccd->engine, n)) {
		const struct cc_kv *kv;

		cluster_keys += cc_node_num_visible(n);
		for (kv = cc_node_prefix_first(n, "", 0, true); kv != NULL;
		    kv = cc_node_prefix_next(n, kv, "", 0, true))
			state_bytes += kv->key_len + kv->value_len;
	}

	fputs("# HELP chitchatd_info Constant 1, labelled with the version and the node.\n"
	    "# TYPE chitchatd_info gauge\nchitchatd_info{version=\"" CHITCHATD_VERSION
	    "\",node_id=\"", f);
	label(f, self->node_id, self->node_id_len);
	fputs("\",cluster_id=\"", f);
	label(f, cluster, strlen(cluster));
	fprintf(f, "\",generation=\"%" PRIu64 "\"} 1\n", self->generation);
	gauge(f, "uptime_seconds", "Seconds since the daemon started.",
	    now > ccd->start_ms ? (now - ccd->start_ms) / 1000 : 0);

	/* membership and state */
	gauge(f, "nodes", "Node states held, self and dead ones included.",
	    cc_engine_num_nodes(ccd->engine));
	gauge(f, "live_nodes", "Live nodes, self included.", cnt.live);
	gauge(f, "dead_nodes", "Dead nodes not yet scheduled for deletion.", cnt.dead);
	gauge(f, "scheduled_nodes", "Dead nodes scheduled for deletion.", cnt.scheduled);
	gauge(f, "left_nodes", "Nodes that announced their leave, until removed.", cnt.left);
	gauge(f, "ready_nodes",
	    "Nodes in the published live set (live and carrying the required keys).",
	    subscribe_num_ready(ccd));
	gauge(f, "heartbeat", "Own heartbeat.", cc_node_heartbeat(me));
	gauge(f, "max_version", "Own max_version.", cc_node_max_version(me));
	gauge(f, "keys", "Own visible keys.", cc_node_num_visible(me));
	gauge(f, "cluster_keys", "Visible keys over every node state.", cluster_keys);
	gauge(f, "cluster_state_bytes",
	    "Key and value bytes stored over every node state, tombstones included.",
	    state_bytes);

	/* gossip */
	counter(f, "gossip_rounds_total", "Gossip rounds run.", st->rounds);
	counter(f, "gossip_rx_datagrams_total", "Datagrams received.", st->rx_datagrams);
	counter(f, "gossip_rx_bytes_total", "Bytes received in datagrams.", st->rx_bytes);
	by_type(f, "gossip_rx_messages_total", "Messages received, by type.", st->rx_by_type);
	counter(f, "gossip_decode_errors_total", "Datagrams dropped: they did not decode.",
	    st->rx_decode_errors);
	counter(f, "gossip_tx_datagrams_total", "Datagrams sent.", st->tx_datagrams);
	counter(f, "gossip_tx_bytes_total", "Bytes sent in datagrams.", st->tx_bytes);
	by_type(f, "gossip_tx_messages_total", "Messages sent, by type.", st->tx_by_type);
	counter(f, "gossip_tx_errors_total", "Datagrams the socket refused.",
	    st->tx_errors);
	counter(f, "gossip_resets_sent_total", "Reset node deltas sent.", st->resets_sent);
	counter(f, "gossip_deltas_truncated_total",
	    "Deltas cut short by the datagram size budget (more to send next round).",
	    st->deltas_truncated);
	counter(f, "gossip_resets_applied_total", "Replicas reset by a received delta.",
	    st->resets_applied);
	counter(f, "gossip_node_deltas_rejected_total", "Node deltas rejected as stale.",
	    st->node_deltas_rejected);
	counter(f, "gossip_cluster_mismatches_total", "SYNs from another cluster.",
	    st->bad_cluster_rx);
	counter(f, "gossip_empty_delta_budget_total",
	    "SYN-ACKs sent with an empty delta: no room left after the digest.",
	    st->empty_delta_budget);
	counter(f, "gossip_nodes_gced_total", "Dead nodes garbage-collected.", st->nodes_gced);
	counter(f, "gossip_nodes_forgotten_total",
	    "Dead nodes removed by a force-leave (ours or a peer's request).",
	    st->nodes_forgotten);
	counter(f, "gossip_keys_gced_total", "Tombstones and TTL entries garbage-collected.",
	    st->kvs_gced);
	counter(f, "limit_nodes_refused_total",
	    "Digest entries refused: a new node past max_nodes.", st->limit_nodes_refused);
	counter(f, "limit_keys_refused_total",
	    "Node deltas cut short: a new key past max_keys_per_node.", st->limit_keys_refused);
	counter(f, "limit_bytes_refused_total",
	    "Node deltas cut short: key and value bytes past max_state_bytes.",
	    st->limit_bytes_refused);
	gauge(f, "remote_state_bytes",
	    "Key and value bytes held for remote nodes (what max_state_bytes caps).",
	    cc_engine_state_bytes(ccd->engine));
	counter(f, "gossip_socket_recv_errors_total", "UDP receive errors.",
	    ccd->gossip.recv_errors);
	counter(f, "gossip_socket_send_errors_total", "UDP send errors.",
	    ccd->gossip.send_errors);
	counter(f, "gossip_oversized_datagrams_total",
	    "Datagrams dropped: larger than 65,507 bytes.", ccd->gossip.oversized);
	counter(f, "dns_failures_total", "Seed resolutions that failed.", k->dns_failures);
	crypto_metrics(f, &ccd->gossip);

	/* extensions */
	gauge(f, "keys_expiring", "Own keys with a pending expiry (extension key-ttl).",
	    expiry_pending(ccd->expiry));
	counter(f, "keys_expired_total", "Own keys deleted at their expiry.", k->keys_expired);
	gauge(f, "peer_cache_loaded",
	    "Peers read from the peer cache at start and used as seeds.",
	    k->cached_peers_loaded);
	counter(f, "peer_cache_saves_total", "Peer cache file saves.", k->peer_cache_saves);
	counter(f, "peer_cache_save_errors_total", "Peer cache file saves that failed.",
	    k->peer_cache_save_errors);
	catchup_metrics(f, ccd->catchup != NULL ? catchup_stats(ccd->catchup) : NULL);

	/* control socket */
	gauge(f, "control_clients", "Control clients connected.",
	    ctl != NULL ? ctl->n_clients : 0);
	gauge(f, "control_subscriptions", "Subscriptions open.", subscribe_count(ccd));
	counter(f, "control_clients_accepted_total", "Control clients accepted.",
	    k->clients_accepted);
	counter(f, "control_clients_rejected_total",
	    "Control connections refused (max_clients, out of file descriptors).",
	    k->clients_rejected);
	counter(f, "control_client_errors_total", "Control connections lost mid-stream.",
	    ctl != NULL ? ctl->client_errors : 0);
	counter(f, "control_requests_total", "Control requests received.", k->requests);
	counter(f, "control_request_errors_total", "Control requests that failed.",
	    k->request_errors);
	counter(f, "control_parse_errors_total", "Control lines that were not JSON.",
	    k->parse_errors);
	counter(f, "control_oversized_lines_total", "Control lines over max_line.",
	    k->oversized_lines);
	counter(f, "control_lagged_clients_total",
	    "Subscribers closed for not reading (output over max_output).",
	    k->lagged_clients);
	counter(f, "control_notifications_total", "Notifications queued.", k->notifications);
	counter(f, "control_denied_total",
	    "Write calls refused: read-only socket, or not in control-write-users/-groups.",
	    k->denied);

	if (fclose(f) != 0) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	if (len != NULL)
		*len = size;
	return buf;
}
