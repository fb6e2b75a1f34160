/*
 * notify.h: the sd_notify(3) protocol without libsystemd (see notify.c).
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdint.h>

/*
 * Sends one state message ("READY=1\nSTATUS=...") as a datagram to the
 * socket named by $NOTIFY_SOCKET (a path, or "@name" for an abstract
 * socket). 0 when sent or when NOTIFY_SOCKET is unset; -1 + errno if it
 * could not be sent (the daemon logs and goes on).
 */
int	notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The watchdog period systemd asked for (WATCHDOG_USEC, for this process
 * if WATCHDOG_PID is set), in microseconds; 0 if none.
 */
uint64_t notify_watchdog_usec(void);

#endif /* NOTIFY_H */
