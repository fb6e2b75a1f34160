/*
 * cc_id.c: socket addresses and ChitchatIds (PROTOCOL.md §2.1).
 *
 * Ordering matters beyond identity: node maps iterate in ChitchatId order,
 * and that order is the order of digest entries on the wire, so sorting
 * exactly as Rust does gives byte-identical digests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_state.h"

int
cc_addr_cmp(const struct cc_addr *a, const struct cc_addr *b)
{
	size_t	n;
	int	c;

	if (a->family != b->family)
		return a->family == CC_AF_INET ? -1 : 1;
	n = a->family == CC_AF_INET ? 4 : 16;
	if ((c = memcmp(a->ip, b->ip, n)) != 0)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

bool
cc_addr_is_equal(const struct cc_addr *a, const struct cc_addr *b)
{
	return cc_addr_cmp(a, b) == 0;
}

/*
 * IPv6 text exactly as Rust's Ipv6Addr Display: "::ffff:a.b.c.d" for
 * IPv4-mapped addresses, else hex groups with the first longest run of
 * two or more zero groups shown as "::". (glibc's inet_ntop also prints
 * IPv4-compatible addresses, ::a.b.c.d, in dotted form; Rust does not.)
 */
static void
ip6_format(const uint8_t ip[16], char *buf, size_t len)
{
	uint16_t	g[8];
	size_t		off = 0;
	int		i, best = -1, best_len = 0, run = 0;

	for (i = 0; i < 8; i++)
		g[i] = (uint16_t)(ip[2 * i] << 8 | ip[2 * i + 1]);
	if (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 &&
	    g[5] == 0xffff) {
		snprintf(buf, len, "::ffff:%u.%u.%u.%u", ip[12], ip[13], ip[14],
		    ip[15]);
		return;
	}
	for (i = 0; i < 8; i++) {
		run = g[i] == 0 ? run + 1 : 0;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	if (best_len < 2)
		best = -1;
	buf[0] = '\0';
	for (i = 0; i < 8 && off < len; i++) {
		if (i == best) {
			off += (size_t)snprintf(buf + off, len - off, "::");
			i += best_len - 1;
			continue;
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%x",
		    off > 0 && buf[off - 1] != ':' ? ":" : "", g[i]);
	}
}

void
cc_ip_format(uint8_t family, const uint8_t *ip, char *buf, size_t len)
{
	if (family == CC_AF_INET6)
		ip6_format(ip, buf, len);
	else
		snprintf(buf, len, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
}

/* "a.b.c.d:port" or "[v6]:port", as Rust's SocketAddr Display (RFC 5952). */
void
cc_addr_format(const struct cc_addr *a, char *buf, size_t len)
{
	char ip[48];

	cc_ip_format(a->family, a->ip, ip, sizeof(ip));
	if (a->family == CC_AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, (unsigned)a->port);
	else
		snprintf(buf, len, "%s:%u", ip, (unsigned)a->port);
}

static int
parse_port(const char *s, uint16_t *port)
{
	char		*end;
	unsigned long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
cc_addr_parse(const char *s, struct cc_addr *out)
{
	char		 host[INET6_ADDRSTRLEN + 2];
	const char	*colon;
	size_t		 hlen;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, out->ip) != 1)
			goto bad;
		out->family = CC_AF_INET6;
		if (parse_port(close + 2, &out->port) == -1)
			goto bad;
		return 0;
	}
	colon = strrchr(s, ':');
	if (colon == NULL)
		goto bad;
	hlen = (size_t)(colon - s);
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->ip) != 1)
		goto bad;
	out->family = CC_AF_INET;
	if (parse_port(colon + 1, &out->port) == -1)
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
cc_id_init(struct cc_id *id, const char *node_id, size_t len,
    uint64_t generation, const struct cc_addr *addr)
{
	char *copy;

	if ((copy = malloc(len + 1)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (len > 0)
		memcpy(copy, node_id, len);
	copy[len] = '\0';
	id->node_id = copy;
	id->node_id_len = len;
	id->generation = generation;
	id->addr = *addr;
	return 0;
}

int
cc_id_copy(struct cc_id *dst, const struct cc_id *src)
{
	return cc_id_init(dst, src->node_id, src->node_id_len,
	    src->generation, &src->addr);
}

void
cc_id_clear(struct cc_id *id)
{
	free(id->node_id);
	id->node_id = NULL;
	id->node_id_len = 0;
}

int
cc_id_cmp(const struct cc_id *a, const struct cc_id *b)
{
	int c = cc_bytes_cmp(a->node_id, a->node_id_len, b->node_id, b->node_id_len);

	if (c != 0)
		return c;
	if (a->generation != b->generation)
		return a->generation < b->generation ? -1 : 1;
	return cc_addr_cmp(&a->addr, &b->addr);
}

bool
cc_id_is_equal(const struct cc_id *a, const struct cc_id *b)
{
	return cc_id_cmp(a, b) == 0;
}

void
cc_id_format(const struct cc_id *id, char *buf, size_t len)
{
	char addr[CC_ADDR_STRLEN];

	cc_addr_format(&id->addr, addr, sizeof(addr));
	snprintf(buf, len, "%.*s:%llu:%s", (int)id->node_id_len, id->node_id,
	    (unsigned long long)id->generation, addr);
}
