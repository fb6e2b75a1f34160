/*
 * cc_ctlproto.h: the control protocol shared by chitchatd and chitchatctl:
 * JSON-RPC 2.0, one compact JSON value per '\n'-terminated line (see
 * docs/API.md). This header holds the protocol constants, the one table
 * of error codes and messages, and the jansson helpers both sides use to
 * build, encode, decode and check messages. No libevent, no sockets.
 *
 * Ownership (STYLE.md §9): a json_t * returned by a *_new function is a
 * new reference owned by the caller; "stolen" arguments are consumed even
 * on failure; "borrowed" ones are not. Functions returning a pointer
 * return NULL with errno set (ENOMEM, EBADMSG, EINVAL).
 */
#ifndef CC_CTLPROTO_H
#define CC_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Version carried by `hello`; bumped only by incompatible changes. */
#define CC_CTL_PROTOCOL		1

/*
 * Where chitchatd listens unless told otherwise (--control-socket), and
 * where chitchatctl looks unless told otherwise (--socket,
 * CHITCHATD_SOCKET); daemon/ccd.h's CCD_DEFAULT_SOCKET is this one.
 */
#define CC_CTL_DEFAULT_SOCKET	"/run/chitchatd/chitchatd.sock"

/*
 * Reserved keys: chitchatd's extensions (graceful leave, force-leave, key
 * expiry, ...) travel as ordinary chitchat keys of the node that uses them,
 * all under this prefix, so Rust peers relay them like any other key. The
 * daemon refuses to let clients write under it, and a read or a
 * subscription shows them only when its prefix itself starts with it
 * (cc_ctl_prefix_shows_reserved): "" lists the application's keys alone.
 * See docs/API.md "Reserved keys".
 */
#define CC_RESERVED_PREFIX	"__chitchatd."
#define CC_RESERVED_PREFIX_LEN	(sizeof(CC_RESERVED_PREFIX) - 1)

/* Whether key[0..len) is under CC_RESERVED_PREFIX. */
bool	cc_ctl_key_is_reserved(const char *key, size_t len);
/* Whether a listing under prefix[0..len) includes reserved keys. */
bool	cc_ctl_prefix_shows_reserved(const char *prefix, size_t len);
/* Whether a listing under prefix shows key (the prefix is already matched). */
bool	cc_ctl_key_is_listed(const char *key, size_t key_len, const char *prefix,
	    size_t prefix_len);

/* Notification methods sent by the daemon. */
#define CC_CTL_KEY_CHANGED	"key_changed"
#define CC_CTL_KEYS_RESET	"keys_reset"
#define CC_CTL_MEMBER_CHANGED	"member_changed"
#define CC_CTL_LAGGED		"lagged"

/* Every error the control protocol can return: one row each in the table. */
enum cc_ctl_err {
	CC_CTL_ERR_PARSE,		/* -32700 */
	CC_CTL_ERR_INVALID_REQUEST,	/* -32600 */
	CC_CTL_ERR_TOO_LARGE,		/* -32600, line over max_line */
	CC_CTL_ERR_METHOD_NOT_FOUND,	/* -32601 */
	CC_CTL_ERR_INVALID_PARAMS,	/* -32602 */
	CC_CTL_ERR_INTERNAL,		/* -32603 */
	CC_CTL_ERR_NOT_FOUND,		/* -32000 key, node or subscription */
	CC_CTL_ERR_INVALID_KV,		/* -32001 refused by cc_kv_is_valid */
	CC_CTL_ERR_PROTOCOL,		/* -32002 hello: version mismatch */
	CC_CTL_ERR_NOT_ALLOWED,		/* -32003 */
	CC_CTL_ERR_TOO_MANY_SUBSCRIPTIONS, /* -32004 */
	CC_CTL_ERR_TOO_MANY_CLIENTS,	/* -32005 */
	CC_CTL_ERR_LAGGED,		/* -32006 output queue over its cap */
	CC_CTL_ERR_COUNT
};

struct cc_ctl_error_info {
	enum cc_ctl_err	 err;
	int		 code;		/* JSON-RPC error code */
	const char	*name;		/* stable symbolic name, e.g. "not_found" */
	const char	*message;	/* the "message" member */
};

/* The table row of err (never NULL for a valid err; NULL otherwise). */
const struct cc_ctl_error_info *cc_ctl_error_info(enum cc_ctl_err);
/* The first row with this code, or NULL (clients map codes back). */
const struct cc_ctl_error_info *cc_ctl_error_by_code(int code);

/* ---- values ------------------------------------------------------------------ */

/*
 * A JSON string of the bytes s[0..len). Bytes that are not valid UTF-8
 * (remote peers may gossip them) are replaced by U+FFFD, so encoding never
 * fails on content. NULL + ENOMEM.
 */
json_t	*cc_ctl_string(const char *s, size_t len);
/* An integer, or a decimal string above INT64_MAX. NULL + ENOMEM. */
json_t	*cc_ctl_u64(uint64_t);
/* Reads a non-negative integer or a decimal string. -1 + EINVAL. */
int	 cc_ctl_get_u64(const json_t *, uint64_t *);

/* ---- messages ----------------------------------------------------------------- */

/*
 * {"code", "message", "data": {"reason": reason}}; data is left out when
 * reason is NULL. NULL + ENOMEM.
 */
json_t	*cc_ctl_error_new(enum cc_ctl_err, const char *reason);
/* {"jsonrpc":"2.0","id":id,"result":result}: id borrowed (NULL: null), result stolen. */
json_t	*cc_ctl_response_new(const json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":id,"error":error}: id borrowed (NULL: null), error stolen. */
json_t	*cc_ctl_error_response_new(const json_t *id, json_t *error);
/* {"jsonrpc":"2.0","id":id,"method":method,"params":params}: params stolen (NULL: left out). */
json_t	*cc_ctl_request_new(json_int_t id, const char *method, json_t *params);
/* {"jsonrpc":"2.0","method":method,"params":params}: params stolen (NULL: left out). */
json_t	*cc_ctl_notification_new(const char *method, json_t *params);

/*
 * One line: compact JSON followed by '\n' and a NUL (not counted in *len).
 * Compact output never holds a raw newline. Caller frees. NULL + ENOMEM.
 */
char	*cc_ctl_encode(const json_t *, size_t *len);

/*
 * Decodes one line (a trailing "\r" and '\n' are ignored). Any JSON value
 * is returned, the caller checks its shape; "\u0000" is allowed in strings
 * (use json_string_length); duplicate object keys are refused. On error,
 * NULL + EBADMSG and, if why is not NULL, a short reason in why.
 */
json_t	*cc_ctl_decode(const char *line, size_t len, char *why, size_t whylen);

/* A request or notification (daemon side), members borrowed from the message. */
struct cc_ctl_request {
	const json_t	*id;		/* NULL for a notification */
	const char	*method;
	json_t		*params;	/* NULL if absent */
};

/*
 * Checks the shape of one request object (JSON-RPC 2.0 §4): "jsonrpc" is
 * "2.0", "method" a string, "params" absent or an object (by-position
 * arrays are refused with INVALID_PARAMS), "id" absent, a string, a number
 * or null. 0 on success; -1 with *err and *why set otherwise, and req->id
 * set to the id when it is usable in the error reply (NULL otherwise).
 */
int	 cc_ctl_request_parse(json_t *msg, struct cc_ctl_request *req,
	    enum cc_ctl_err *err, const char **why);

/* What a client receives: a result, an error, or a notification. */
enum cc_ctl_kind {
	CC_CTL_RESULT,
	CC_CTL_ERROR,
	CC_CTL_NOTIFICATION,
};

struct cc_ctl_reply {
	enum cc_ctl_kind  kind;
	const json_t	 *id;		/* RESULT, ERROR (may be JSON null) */
	json_t		 *result;	/* RESULT */
	int		  code;		/* ERROR */
	const char	 *message;	/* ERROR */
	json_t		 *data;		/* ERROR, NULL if absent */
	const char	 *method;	/* NOTIFICATION */
	json_t		 *params;	/* NOTIFICATION, NULL if absent */
};

/* Classifies one message received by a client (borrowed pointers). -1 + EBADMSG. */
int	 cc_ctl_reply_parse(json_t *msg, struct cc_ctl_reply *);

#endif /* CC_CTLPROTO_H */
