/*
 * cc_catchup.h: the frames of chitchatd's catch-up side channel
 * (docs/CATCHUP.md), as a pure codec: no sockets, no libevent.
 *
 * A node whose replica of node X was reset (PROTOCOL.md §4.5) asks the
 * peer that sent the reset for X's whole state over TCP, instead of
 * waiting for one datagram's worth of entries per gossip exchange. The
 * server side (struct cc_catchup_tx) answers from its engine, one frame at
 * a time, so the host can stream a large state under backpressure; the
 * client side (struct cc_catchup_rx) checks and accumulates the answer
 * under size limits, for one call of cc_engine_reset_node_state().
 *
 * On the stream every frame is `u32 length (little-endian)` then `length`
 * bytes of body; the host may transform bodies (sealing) between these
 * functions and the wire. A body is `u8 type` then the type's payload;
 * the functions here produce and consume bodies.
 */
#ifndef CC_CATCHUP_H
#define CC_CATCHUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cc.h"
#include "cc_wire.h"

#define CC_CATCHUP_MAGIC	0x70756363u	/* bytes "ccup" */
#define CC_CATCHUP_VERSION	1
#define CC_CATCHUP_PREFIX	4		/* the u32 length */
/* Largest body of one frame: a chunk and room for sealing. */
#define CC_CATCHUP_MAX_FRAME	(320u * 1024)
/* Largest REQUEST body: two strings of at most 65,535 bytes and fixed fields. */
#define CC_CATCHUP_MAX_REQUEST	(1 + 4 + 1 + 2 * (2 + 65535) + 8 + 19 + 16)
/* A chunk's delta budget: above the largest KV operation (two u16 strings). */
#define CC_CATCHUP_CHUNK_BUDGET	(256u * 1024)

enum cc_catchup_type {
	CC_CATCHUP_REQUEST = 1,		/* client -> server */
	CC_CATCHUP_HEADER = 2,		/* server -> client, first */
	CC_CATCHUP_CHUNK = 3,		/* entries, in version order */
	CC_CATCHUP_END = 4,		/* last */
};

/* HEADER status. Only FOUND is followed by chunks and an END. */
enum cc_catchup_status {
	CC_CATCHUP_FOUND = 0,
	CC_CATCHUP_NOT_FOUND = 1,	/* no such node state here */
	CC_CATCHUP_UP_TO_DATE = 2,	/* nothing newer than what the client holds */
	CC_CATCHUP_WRONG_CLUSTER = 3,
	CC_CATCHUP_BAD_VERSION = 4,	/* the header's version is the server's */
	CC_CATCHUP_BAD_REQUEST = 5,
};

/* END status. */
enum cc_catchup_end_status {
	CC_CATCHUP_COMPLETE = 0,
	CC_CATCHUP_ABORTED = 1,		/* the state was reset or removed mid-stream */
};

struct cc_catchup_request {
	uint8_t		 version;
	char		*cluster_id;		/* owned after decode; borrowed to encode */
	size_t		 cluster_id_len;
	struct cc_id	 id;			/* the node wanted */
	uint64_t	 last_gc_version;	/* the client's replica of it */
	uint64_t	 max_version;
};

struct cc_catchup_header {
	uint8_t		version;
	uint8_t		status;		/* enum cc_catchup_status */
	uint64_t	heartbeat;
	uint64_t	last_gc_version;
	uint64_t	max_version;
};

struct cc_catchup_end {
	uint8_t		status;		/* enum cc_catchup_end_status */
	uint64_t	heartbeat;
	uint64_t	last_gc_version;
	uint64_t	max_version;
	uint64_t	n_entries;	/* KVs sent in the chunks */
};

/* ---- framing ------------------------------------------------------------ */

/* Appends the u32 length prefix of a body of len bytes. */
void	cc_catchup_put_prefix(struct cc_wbuf *, size_t len);
/* The body length a prefix announces; -1 + EMSGSIZE if 0 or over max. */
int	cc_catchup_get_prefix(const uint8_t prefix[CC_CATCHUP_PREFIX], size_t max,
	    size_t *len);
/* The type of a body; -1 + EBADMSG if empty. */
int	cc_catchup_body_type(const uint8_t *, size_t, uint8_t *type);

/* ---- bodies --------------------------------------------------------------- */

void	cc_catchup_request_encode(struct cc_wbuf *, const struct cc_catchup_request *);
/* -1 + EBADMSG (bad magic, truncated, trailing bytes, not UTF-8), ENOMEM. */
int	cc_catchup_request_decode(const uint8_t *, size_t, struct cc_catchup_request *);
void	cc_catchup_request_clear(struct cc_catchup_request *);
void	cc_catchup_header_encode(struct cc_wbuf *, const struct cc_catchup_header *);
int	cc_catchup_header_decode(const uint8_t *, size_t, struct cc_catchup_header *);
void	cc_catchup_end_encode(struct cc_wbuf *, const struct cc_catchup_end *);
int	cc_catchup_end_decode(const uint8_t *, size_t, struct cc_catchup_end *);
/*
 * A chunk's payload is a chitchat delta (PROTOCOL.md §3.5, zstd blocks)
 * holding exactly one node delta with at least one KV. Decoding checks
 * that, and that nothing trails the delta.
 */
int	cc_catchup_chunk_decode(const uint8_t *, size_t, struct cc_delta *,
	    struct cc_codec_ctx *);

/* ---- server: one answer ----------------------------------------------------- */

struct cc_catchup_tx {
	struct cc_id	id;
	uint64_t	cursor;		/* entries up to this version are sent */
	uint64_t	last_gc_version;	/* of the node when the answer began */
	uint64_t	n_sent;		/* KVs sent */
	uint8_t		status;		/* of the header */
	bool		done;		/* the last frame was produced */
	bool		aborted;	/* ... and it was an END saying ABORTED */
};

/*
 * Answers a decoded request from the engine's state: appends the HEADER
 * body to out. Returns the header status; tx->done unless it is FOUND,
 * in which case cc_catchup_tx_next() produces the rest. -1 + ENOMEM.
 */
int	cc_catchup_tx_start(struct cc_catchup_tx *, const struct cc_engine *,
	    const struct cc_catchup_request *, struct cc_wbuf *out);
/*
 * Appends the next body: a CHUNK of the entries above the cursor in
 * version order (up to CC_CATCHUP_CHUNK_BUDGET), or the END once none is
 * left (then tx->done). Entries written meanwhile are picked up: an
 * updated key moves above the cursor. If the node's last_gc_version
 * changed or the node is gone, the END says ABORTED (entries already sent
 * may belong to a state that no longer exists). -1 + ENOMEM.
 */
int	cc_catchup_tx_next(struct cc_catchup_tx *, const struct cc_engine *,
	    struct cc_codec_ctx *, struct cc_wbuf *out);
void	cc_catchup_tx_clear(struct cc_catchup_tx *);

/* ---- client: one answer --------------------------------------------------- */

enum cc_catchup_rx_state {
	CC_CATCHUP_RX_HEADER,		/* waiting for the HEADER */
	CC_CATCHUP_RX_CHUNKS,		/* CHUNKs until the END */
	CC_CATCHUP_RX_DONE,
};

struct cc_catchup_rx {
	struct cc_id		 id;		/* the node asked for */
	size_t			 max_entries;
	uint64_t		 max_bytes;	/* key + value bytes */
	enum cc_catchup_rx_state state;
	struct cc_catchup_header hdr;
	struct cc_catchup_end	 end;
	struct cc_kv		*entries;	/* owned keys and values */
	size_t			 n;
	size_t			 cap;
	uint64_t		 bytes;
	uint64_t		 cursor;	/* highest version received */
	struct cc_codec_ctx	*ctx;
	const char		*why;		/* after a failure (static) */
};

/* For node id, at most max_entries entries and max_bytes key+value bytes. */
int	cc_catchup_rx_init(struct cc_catchup_rx *, const struct cc_id *,
	    size_t max_entries, uint64_t max_bytes);
/*
 * Feeds one body. 0: more wanted; 1: the answer is complete (state DONE:
 * read hdr.status, and for FOUND the entries and end); -1 and rx->why on
 * a protocol violation (EBADMSG), a limit (EMSGSIZE) or ENOMEM.
 */
int	cc_catchup_rx_feed(struct cc_catchup_rx *, const uint8_t *, size_t);
void	cc_catchup_rx_clear(struct cc_catchup_rx *);

#endif /* CC_CATCHUP_H */
