/*
 * leave.c: the commands that take a node out of the cluster: `leave`
 * (this node, gracefully) and `force-leave NODE` (a dead node, now).
 *
 * `leave` asks the daemon to announce its leave; the daemon answers how
 * long it will keep gossiping, then exits. We wait until it closes the
 * connection (its control socket goes with it), at most that long plus
 * the request timeout, so that a script can follow `chitchatctl leave`
 * with whatever needs the node gone. Silent on success; with --json, the
 * daemon's result.
 *
 * `force-leave NODE [--generation N]` removes a dead node from this
 * node's view and asks the other chitchatd nodes to do the same
 * (docs/API.md, force_leave). It prints the state removed (node,
 * generation, address, fence heartbeat) as a one-row table, or the
 * daemon's result with --json.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cc_ctlproto.h"
#include "cc_wire.h"
#include "chitchatctl.h"

/* Extra time after the announced wait before we call the exit late. */
#define LEAVE_GRACE_MS	10000

/* ---- leave -------------------------------------------------------------------- */

/* Until the daemon closes the connection, before deadline_ms. */
static int
wait_closed(struct ctl_conn *c, int64_t deadline_ms, int64_t waited_for)
{
	json_t *msg;

	for (;;) {
		if (ctl_conn_next(c, deadline_ms, NULL, &msg) == 0) {
			json_decref(msg);	/* nothing is expected: skip it */
			continue;
		}
		if (errno == ECONNRESET)
			return CTL_EXIT_OK;
		if (errno == ETIMEDOUT) {
			ctl_warnx("leave: the daemon is still running %" PRId64 " ms after "
			    "it announced its leave", waited_for);
			return CTL_EXIT_FAIL;
		}
		ctl_warnx("leave: %s: %s", c->ctl->socket, strerror(errno));
		return CTL_EXIT_CONNECT;
	}
}

int
cmd_leave(struct ctl *ctl)
{
	struct ctl_conn	 c;
	json_t		*res;
	uint64_t	 in_ms = 0;
	int64_t		 grace, start;
	int		 rc;

	if ((rc = ctl_connect(ctl, &c, -1)) != CTL_EXIT_OK)
		return rc;
	if ((rc = ctl_call(&c, "leave", "leave", NULL, &res, -1)) != CTL_EXIT_OK) {
		ctl_conn_close(&c);
		return rc;
	}
	(void)cc_ctl_get_u64(json_object_get(res, "leaving_in_ms"), &in_ms);
	if (in_ms > 3600000)
		in_ms = 3600000;
	grace = ctl->request_ms >= 0 ? ctl->request_ms : LEAVE_GRACE_MS;
	start = ctl_now_ms();
	rc = wait_closed(&c, start + (int64_t)in_ms + grace, (int64_t)in_ms + grace);
	ctl_conn_close(&c);
	if (rc == CTL_EXIT_OK && ctl->json)
		ctl_print_json(res);
	json_decref(res);
	return rc;
}

/* ---- force-leave ------------------------------------------------------------------ */

/* A u64 in decimal, all of s. */
static bool
parse_u64(const char *s, uint64_t *v)
{
	char	*end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

int
cmd_force_leave_check(struct ctl *ctl)
{
	const char	*gen = ctl_opt(ctl, "generation");
	uint64_t	 v;

	if (ctl->args[0][0] == '\0')
		return ctl_usage_error(ctl->cmd, "force-leave: NODE is empty");
	if (!cc_utf8_is_valid(ctl->args[0], strlen(ctl->args[0])))
		return ctl_usage_error(ctl->cmd, "force-leave: NODE is not valid UTF-8");
	if (gen != NULL && !parse_u64(gen, &v))
		return ctl_usage_error(ctl->cmd,
		    "force-leave: --generation: expected an unsigned 64-bit integer, not %s",
		    gen);
	return CTL_EXIT_OK;
}

int
cmd_force_leave(struct ctl *ctl)
{
	static const char *const headers[] = { "NODE", "GENERATION", "ADDRESS",
	    "FENCE HEARTBEAT" };
	const char	*gen = ctl_opt(ctl, "generation");
	struct ctl_table *t;
	json_t		*node, *res, *removed;
	const char	*cells[4];
	char		 g[32], fence[32], *id, *addr, *what;
	uint64_t	 v = 0;
	int		 rc;

	if (gen != NULL) {
		(void)parse_u64(gen, &v);
		node = ctl_xjson(json_pack("{s:s,s:o}", "node_id", ctl->args[0],
		    "generation", ctl_xjson(cc_ctl_u64(v))));
	} else
		node = ctl_xjson(json_string(ctl->args[0]));
	id = ctl_escape(ctl->args[0], strlen(ctl->args[0]));
	what = ctl_xmalloc(strlen(id) + 16);
	snprintf(what, strlen(id) + 16, "force-leave %s", id);
	free(id);
	rc = ctl_oneshot(ctl, what, "force_leave",
	    ctl_xjson(json_pack("{s:o}", "node", node)), &res);
	free(what);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl_json_done(ctl, res))
		return CTL_EXIT_OK;
	removed = json_object_get(res, "removed");
	id = ctl_escape_member(removed, "node_id");
	addr = ctl_escape_member(removed, "address");
	cells[0] = id;
	cells[1] = ctl_u64_member(removed, "generation", g, sizeof(g));
	cells[2] = addr;
	cells[3] = ctl_u64_member(res, "fence_heartbeat", fence, sizeof(fence));
	t = ctl_table_new(ctl, 4, headers);
	ctl_table_add(t, cells);
	ctl_table_print(t);
	free(id);
	free(addr);
	json_decref(res);
	return CTL_EXIT_OK;
}
