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
#include "cc_wire.h"

struct event_base;
struct event;

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
};

/* Binds the socket. On error, -1 and *cause (caller frees) says why. */
int	gossip_open(struct gossip *, struct event_base *, const struct cc_addr *listen,
	    char **cause);
/* Fills the engine environment: monotonic clock, arc4random, sendto. */
void	gossip_env(struct gossip *, struct cc_env *);
/* Starts reading and arms the round timer (the first round runs at once). */
void	gossip_start(struct gossip *, struct cc_engine *);
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
