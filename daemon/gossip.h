/*
 * gossip.h: the gossip engine on a UDP socket (see gossip.c).
 */
#ifndef GOSSIP_H
#define GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "cc.h"
#include "cc_seal.h"
#include "cc_wire.h"

struct event_base;
struct event;

/* Gossip encryption (docs/SECURITY.md). */
enum gossip_encryption {
	GOSSIP_ENC_OFF,		/* plaintext only: what Rust chitchat speaks */
	GOSSIP_ENC_UPSHIFT,	/* both accepted; own SYNs sealed, replies in kind */
	GOSSIP_ENC_ON,		/* sealed only */
};

/* "off", "upshift", "on" */
const char *gossip_encryption_name(enum gossip_encryption);
/* -1 if s is none of them */
int	gossip_encryption_parse(const char *s);

/* What the encryption layer did, datagram by datagram. */
struct gossip_crypto_counters {
	uint64_t	auth_failures;		/* sealed, but no key opens it */
	uint64_t	plaintext_refused;	/* plaintext in mode on */
	uint64_t	plaintext_accepted;	/* plaintext in mode upshift */
	uint64_t	sealed_sent;
	uint64_t	plaintext_sent;		/* upshift: SYNs and plaintext replies */
	uint64_t	sealed_received;	/* opened */
	uint64_t	opened_secondary;	/* opened by a secondary key */
};

/* What the engine's sends answer, if anything (see gossip.c). */
enum gossip_answer {
	GOSSIP_ANSWER_NONE,	/* a SYN of a round: this node starts the exchange */
	GOSSIP_ANSWER_PLAIN,	/* a reply to a plaintext datagram */
	GOSSIP_ANSWER_SEALED,	/* a reply to a sealed datagram */
};

/* Upshift: peers whose last datagram was sealed, most recent kept. */
#define GOSSIP_SEALED_PEERS	1024

struct gossip_peer {
	struct cc_addr	addr;
	uint64_t	seen;		/* peer_clock when last heard sealed */
};

struct gossip {
	struct event_base	*base;		/* borrowed */
	struct cc_engine	*engine;	/* borrowed */
	int			 fd;
	int			 family;
	struct event		*read_ev;
	struct event		*timer;
	uint64_t		 recv_errors;
	uint64_t		 send_errors;
	uint64_t		 oversized;
	/* the source of the datagram being handled (engine events), else NULL */
	const struct cc_addr	*rx_from;
	void			(*on_event)(void *, const struct cc_event *);
	void			*event_arg;
	/* encryption */
	enum gossip_encryption	 encryption;
	struct cc_keyring	 keyring;	/* wiped by gossip_close */
	enum gossip_answer	 answering;	/* inside cc_engine_recv(): in what form */
	struct gossip_peer	*sealed_peers;	/* upshift: who last spoke sealed */
	size_t			 n_sealed_peers;
	uint64_t		 peer_clock;	/* recency of sealed_peers entries */
	struct gossip_crypto_counters crypto;
};

/* Binds the socket. On error, -1 and *cause (caller frees) says why. */
int	gossip_open(struct gossip *, struct event_base *, const struct cc_addr *listen,
	    char **cause);
/* Fills the engine environment: monotonic clock, arc4random, sendto. */
void	gossip_env(struct gossip *, struct cc_env *);
/* Starts reading and arms the round timer (the first round runs at once). */
void	gossip_start(struct gossip *, struct cc_engine *);
/*
 * Sets the encryption mode and the keyring (copied; needed unless mode is
 * off). Takes effect with the next datagram.
 */
void	gossip_set_encryption(struct gossip *, enum gossip_encryption,
	    const struct cc_keyring *);
/* Re-arms the timer to the engine's next deadline. */
void	gossip_rearm(struct gossip *);
void	gossip_close(struct gossip *);

/* Per-datagram problems, counted and never logged one by one. */
struct gossip_problems {
	uint64_t	decode_errors;		/* undecodable datagrams */
	uint64_t	oversized;		/* larger than 65,507 bytes */
	uint64_t	recv_errors;		/* recvfrom errors (ICMP and the like) */
	uint64_t	send_errors;		/* datagrams not sent */
	uint64_t	bad_cluster;		/* SYNs of another cluster */
	uint64_t	auth_failures;		/* sealed datagrams no key opens */
	uint64_t	plaintext_refused;	/* plaintext in mode on */
	uint64_t	plaintext_accepted;	/* plaintext in mode upshift */
	uint64_t	opened_secondary;	/* opened by a secondary key */
};

/* The counters now (the engine's and the socket's). */
void	gossip_problems(const struct gossip *, struct gossip_problems *);
/*
 * One summary line of what moved since *last (then updated to now) into
 * buf, for the periodic log line; false (buf untouched) if nothing did.
 */
bool	gossip_summary(const struct gossip *, struct gossip_problems *last, char *buf,
	    size_t len);

int	gossip_addr_to_sockaddr(const struct cc_addr *, struct sockaddr_storage *,
	    socklen_t *);
int	gossip_sockaddr_to_addr(const struct sockaddr *, struct cc_addr *);

#endif /* GOSSIP_H */
