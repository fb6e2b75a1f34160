/*
 * gossip.h: the gossip engine on a UDP socket (see gossip.c).
 */
#ifndef GOSSIP_H
#define GOSSIP_H

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

int	gossip_addr_to_sockaddr(const struct cc_addr *, struct sockaddr_storage *,
	    socklen_t *);
int	gossip_sockaddr_to_addr(const struct sockaddr *, struct cc_addr *);

#endif /* GOSSIP_H */
