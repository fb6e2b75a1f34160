/*
 * xmalloc.h: allocations that cannot fail (OpenBSD's xmalloc.c): out of
 * memory, the daemon logs it and exits. For startup and configuration
 * paths and small bookkeeping only; the gossip and control paths handle
 * ENOMEM themselves and keep serving.
 */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>

void	*xcalloc(size_t n, size_t size);		/* n == 0 allocates one */
void	*xreallocarray(void *p, size_t n, size_t size);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

#endif /* XMALLOC_H */
