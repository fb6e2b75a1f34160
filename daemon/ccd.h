/*
 * ccd.h: daemon-wide state shared by the daemon's modules.
 *
 *   chitchatd.c   main, startup order, signals (SIGTERM/SIGINT/SIGHUP), sd_notify
 *   config.c      command line + config file -> struct ccd_config
 *   seeds.c       asynchronous seed resolution (evdns), re-resolved every 60 s
 *   gossip.c      UDP socket + round timer around the engine, sealing (encryption)
 *   control.c     Unix control socket: clients, line framing, limits, credentials
 *   rpc.c         JSON-RPC 2.0 method table and handlers
 *   subscribe.c   fan-out of engine events to subscribed clients, backpressure
 *   leave.c       graceful leave and force-leave (extensions leave, force-leave)
 *   expiry.c      keys that expire after a duration (extension key-ttl)
 *   peercache.c   known peers saved as seeds for the next start (peer-cache)
 *   catchup.c     catch-up side channel: whole node states over TCP after a reset
 *   metrics.c     Prometheus text exposition
 *   keyring.c     the keyring file of gossip encryption
 *   ccd.c         engine events in, shared helpers (clock, ccd_cause)
 *   atomicfile.c  replacing a file atomically (keyring, peer cache)
 *   xmalloc.c     allocations that exit on failure (configuration, bookkeeping)
 *   log.c         logging
 *
 * Ownership: struct ccd owns everything it points to; ccd_config strings
 * are owned by the config (config_free).
 */
#ifndef CCD_H
#define CCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cc.h"
#include "cc_ctlproto.h"
#include "cc_version.h"
#include "gossip.h"

/* JSON-RPC control protocol version (the `hello` method). */
#define CCD_CONTROL_PROTOCOL	1

#define CCD_DEFAULT_LISTEN		"127.0.0.1:7280"
#define CCD_DEFAULT_CLUSTER		"default-cluster"
#define CCD_DEFAULT_SOCKET		CC_CTL_DEFAULT_SOCKET	/* shared with chitchatctl */
#define CCD_DEFAULT_MAX_LINE		(1024 * 1024)		/* bytes per request line */
#define CCD_DEFAULT_MAX_CLIENTS		256
#define CCD_DEFAULT_MAX_OUTPUT		(4 * 1024 * 1024)	/* queued bytes per client */

/*
 * chitchatd's extensions (option `extensions`). Each one uses reserved keys
 * (CC_RESERVED_PREFIX) or state of its own; with a bit off, the daemon
 * behaves as a node that does not know the feature: its reserved keys are
 * ordinary keys, it never writes them. Mixed clusters must keep working.
 */
#define CCD_EXT_LEAVE		0x01u	/* graceful leave announced by a key */
#define CCD_EXT_FORCE_LEAVE	0x02u	/* remove a dead node cluster-wide */
#define CCD_EXT_KEY_TTL		0x04u	/* keys that expire after a duration */
#define CCD_EXT_PEER_CACHE	0x08u	/* known peers saved as seeds for restart */
#define CCD_EXT_CATCHUP		0x10u	/* fast full-state fetch after a reset */
#define CCD_EXT_ALL		0x1fu

/* Whether extension bit is on in the running configuration. */
#define CCD_HAS_EXT(ccd, bit)	(((ccd)->cfg->extensions & (bit)) != 0)

/*
 * Reserved keys of the leave extensions (docs/API.md "Reserved keys").
 * CCD_KEY_LEAVING: on a node that is leaving the cluster, value the wall
 * clock time in unix milliseconds. CCD_KEY_FORCE_LEAVE + "<generation>.<node_id>":
 * a request that every chitchatd node forget that dead node, written with
 * a TTL mark, value the fence heartbeat in decimal.
 */
#define CCD_KEY_LEAVING		CC_RESERVED_PREFIX "leaving"
#define CCD_KEY_FORCE_LEAVE	CC_RESERVED_PREFIX "force_leave."

struct ccd_kv {
	char	*key;
	char	*value;
};

/* One entry of control-write-users or control-write-groups. */
struct ccd_ident {
	char	*name;		/* as given: a name or a number */
	id_t	 id;		/* the uid or gid it resolved to */
};

struct ccd_config {
	/* identity and cluster */
	char		*node_id;		/* default: host name */
	char		*cluster_id;
	uint64_t	 generation;		/* default: start time, ns */
	bool		 generation_set;	/* given explicitly */
	char		*listen;		/* HOST:PORT text as given */
	char		*advertise;		/* NULL: same as listen */
	struct cc_addr	 listen_addr;		/* resolved */
	struct cc_addr	 advertise_addr;	/* resolved */
	char		**seeds;		/* HOST:PORT texts, resolved by seeds.c */
	size_t		 n_seeds;
	/* timing and failure detection (PROTOCOL.md §7) */
	uint64_t	 gossip_interval_ms;
	uint64_t	 marked_for_deletion_grace_period_ms;
	struct cc_fd_config fd;
	size_t		 max_datagram_size;	/* <= 65507 */
	/* hostile-peer limits (struct cc_config) */
	size_t		 max_nodes;
	size_t		 max_keys_per_node;
	uint64_t	 max_state_bytes;
	/* gossip encryption (docs/SECURITY.md) */
	enum gossip_encryption encryption;
	char		*keyring;		/* path, NULL if not given */
	struct cc_keyring *keys;		/* read from keyring unless encryption
						 * is off, else NULL; wiped by config_free */
	/* keys */
	struct ccd_kv	*initial;		/* --set, applied in order at start */
	size_t		 n_initial;
	char		**required_keys;	/* --required-key: liveness predicate */
	size_t		 n_required_keys;
	/* control socket */
	char		*control_socket;	/* path; "" or "none" disables */
	mode_t		 control_mode;		/* default 0660 */
	char		*control_group;		/* NULL: the daemon's group */
	struct ccd_ident *write_users;		/* none (and no groups): anyone may write */
	size_t		 n_write_users;
	struct ccd_ident *write_groups;
	size_t		 n_write_groups;
	char		*control_readonly_socket; /* NULL: none */
	mode_t		 control_readonly_mode;	/* default 0666 */
	size_t		 max_line;
	size_t		 max_clients;
	size_t		 max_output;
	/* chitchatd extensions beyond chitchat (CCD_EXT_*), state kept across restarts */
	unsigned	 extensions;		/* default CCD_EXT_ALL */
	bool		 leave_on_terminate;	/* SIGTERM/SIGINT leave first (CCD_EXT_LEAVE) */
	char		*state_directory;	/* NULL or "none": no state kept */
	/* logging */
	int		 log_level;		/* CC_LOG_* */
	char		*config_file;		/* NULL if none */
};

struct ccd_counters {
	/* control socket */
	uint64_t	clients_accepted;
	uint64_t	clients_rejected;	/* over max_clients, EMFILE */
	uint64_t	requests;
	uint64_t	request_errors;		/* any JSON-RPC error reply */
	uint64_t	parse_errors;		/* malformed JSON */
	uint64_t	oversized_lines;
	uint64_t	lagged_clients;		/* closed for not reading */
	uint64_t	notifications;		/* notification lines queued */
	uint64_t	denied;			/* write calls refused (access control) */
	/* seeds */
	uint64_t	dns_failures;
	/* extensions */
	uint64_t	keys_expired;		/* own keys deleted at their deadline */
	uint64_t	cached_peers_loaded;	/* peers.json entries used as seeds */
	uint64_t	peer_cache_saves;
	uint64_t	peer_cache_save_errors;
};

struct catchup;
struct control;
struct leave;
struct expiry;
struct peercache;
struct seeds;

struct ccd {
	struct event_base	*base;
	struct ccd_config	*cfg;
	struct cc_engine	*engine;
	struct gossip		 gossip;
	struct control		*control;	/* NULL when disabled */
	struct seeds		*seeds;
	struct leave		*leave;		/* leave.c: NULL until first used */
	bool			 leaving;	/* announced our leave: exiting soon */
	bool			 forcing;	/* inside a force-leave: removals are forced */
	struct expiry		*expiry;	/* NULL unless CCD_EXT_KEY_TTL */
	struct peercache	*peercache;	/* NULL unless CCD_EXT_PEER_CACHE + state dir */
	struct catchup		*catchup;	/* NULL in tests without a loop */
	uint64_t		 start_ms;	/* monotonic ms at start */
	struct ccd_counters	 counters;
};

/* Monotonic milliseconds (the engine's clock). */
uint64_t	ccd_now_ms(void);

/*
 * The "-1 and a reason" convention of functions that take `char **cause`:
 * sets *cause (if cause is not NULL) to the formatted reason, which the
 * caller frees (NULL if out of memory); keeps errno; returns -1.
 */
int	ccd_cause(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Engine events enter here (chitchatd.c) and are fanned out (subscribe.c). */
void	ccd_on_engine_event(void *ccd, const struct cc_event *);

/*
 * Whether node n announced that it is leaving (CCD_KEY_LEAVING is visible
 * in its state) and this daemon runs the leave extension: such a node is
 * out of the live set and reported "left". With the extension off the key
 * is an ordinary key and this is false.
 */
bool	ccd_node_is_leaving(const struct ccd_config *, const struct cc_node *);

#endif /* CCD_H */
