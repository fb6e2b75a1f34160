/*
 * cc_listen.c: key-change listeners by key prefix (PROTOCOL.md §6.6).
 *
 * Listeners are kept sorted by prefix bytes, so one pass over the array
 * fires the empty prefix first and then every matching prefix in
 * increasing byte order, which is chitchat's order. Handles are never
 * reused, so a stale handle cannot remove someone else's listener.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc_state.h"

void
cc_listeners_init(struct cc_listeners *ls)
{
	memset(ls, 0, sizeof(*ls));
	ls->next_handle = 1;
}

void
cc_listeners_clear(struct cc_listeners *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->v[i].prefix);
	free(ls->v);
	cc_listeners_init(ls);
}

uint64_t
cc_listeners_add(struct cc_listeners *ls, const char *prefix, size_t len,
    cc_listener_fn fn, void *arg)
{
	struct cc_listener	 l;
	size_t			 pos;

	if (ls->n == ls->cap) {
		size_t			 ncap = ls->cap ? ls->cap * 2 : 8;
		struct cc_listener	*nv = realloc(ls->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			errno = ENOMEM;
			return 0;
		}
		ls->v = nv;
		ls->cap = ncap;
	}
	if ((l.prefix = malloc(len + 1)) == NULL) {
		errno = ENOMEM;
		return 0;
	}
	if (len > 0)
		memcpy(l.prefix, prefix, len);
	l.prefix[len] = '\0';
	l.prefix_len = len;
	l.fn = fn;
	l.arg = arg;
	l.handle = ls->next_handle++;
	/* insert after every prefix <= this one: stable among equals */
	for (pos = ls->n; pos > 0; pos--)
		if (cc_bytes_cmp(ls->v[pos - 1].prefix, ls->v[pos - 1].prefix_len,
		    prefix, len) <= 0)
			break;
	memmove(&ls->v[pos + 1], &ls->v[pos], (ls->n - pos) * sizeof(l));
	ls->v[pos] = l;
	ls->n++;
	return l.handle;
}

int
cc_listeners_remove(struct cc_listeners *ls, uint64_t handle)
{
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->v[i].handle != handle)
			continue;
		free(ls->v[i].prefix);
		memmove(&ls->v[i], &ls->v[i + 1], (ls->n - i - 1) * sizeof(ls->v[0]));
		ls->n--;
		return 0;
	}
	errno = ENOENT;
	return -1;
}

void
cc_listeners_fire(const struct cc_listeners *ls, const struct cc_id *owner,
    const struct cc_kv *kv)
{
	for (size_t i = 0; i < ls->n; i++) {
		const struct cc_listener *l = &ls->v[i];

		/* a non-empty prefix never matches the empty key */
		if (l->prefix_len > 0 && kv->key_len == 0)
			continue;
		if (l->prefix_len > kv->key_len ||
		    memcmp(l->prefix, kv->key, l->prefix_len) != 0)
			continue;
		l->fn(l->arg, kv->key + l->prefix_len, kv->key_len - l->prefix_len,
		    kv->value, kv->value_len, owner, kv);
	}
}
