/*
 * peercache.h: known peers kept across restarts (extension peer-cache,
 * CCD_EXT_PEER_CACHE; see peercache.c).
 *
 * <state-directory>/peers.json holds the gossip addresses of the peers
 * most recently seen live, and they are extra seeds at the next start, so
 * a node can rejoin even when its configured seeds are down or absent.
 */
#ifndef PEERCACHE_H
#define PEERCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "cc.h"

#define PEERCACHE_FILE		"peers.json"
#define PEERCACHE_VERSION	1
#define PEERCACHE_MAX		128		/* peers saved */
#ifndef PEERCACHE_SAVE_MS
#define PEERCACHE_SAVE_MS	30000		/* saved this often, if changed */
#endif
#define PEERCACHE_MAX_FILE	(1024 * 1024)	/* a larger file is not read */

struct ccd;
struct peercache;

/*
 * The peer cache of ccd (cfg, base and engine borrowed), or NULL when it
 * is off: extension off, or no state directory ("none"). Creates the
 * directory (mode 0750) if missing and reads peers.json; a missing,
 * unreadable or corrupt file, or a directory that cannot be made, is one
 * log line and never an error: the daemon starts without cached peers
 * (NULL for a directory that cannot be made). Starts the save timer.
 */
struct peercache *peercache_open(struct ccd *);
/* The addresses read at start (borrowed, valid until peercache_close). */
size_t	peercache_loaded(const struct peercache *, const struct cc_addr **);
/* Engine events: a peer entering or leaving the live set is remembered. */
void	peercache_engine_event(struct peercache *, const struct cc_event *);
/*
 * At clean exit: waits for a save in progress, saves the current peers
 * (synchronously) and frees everything. Accepts NULL.
 */
void	peercache_close(struct peercache *);

/* ---- the file format, shared with the tests -------------------------------- */

struct peercache_entry {
	char		*node_id;
	struct cc_addr	 addr;
	uint64_t	 last_live_ms;		/* wall clock; 0 if unknown */
};

/*
 * Parses a peers.json text. 0 with *out (caller frees with
 * peercache_entries_free) and *n, entries with a bad address skipped and
 * counted in *skipped; -1 + EBADMSG when the text is not a version 1
 * peer cache.
 */
int	peercache_parse(const char *text, size_t len, struct peercache_entry **out,
	    size_t *n, size_t *skipped);
/* The file's text for entries (in order), saved at saved_at_ms. Caller frees. */
char	*peercache_format(const struct peercache_entry *, size_t n, uint64_t saved_at_ms);
void	peercache_entries_free(struct peercache_entry *, size_t n);

#endif /* PEERCACHE_H */
