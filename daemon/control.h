/*
 * control.h: the Unix-domain control socket (JSON-RPC 2.0, one compact
 * JSON object per line). See docs/API.md.
 */
#ifndef CONTROL_H
#define CONTROL_H

struct ccd;

/*
 * Creates the socket at cfg->control_socket (stale-socket check first,
 * mode and group applied) and starts accepting. Disabled (returns 0) when
 * the path is "" or "none". On error, -1 and *cause (caller frees).
 */
int	control_open(struct ccd *, char **cause);
/* Closes every client, the listener, and unlinks the socket path. */
void	control_close(struct ccd *);

#endif /* CONTROL_H */
