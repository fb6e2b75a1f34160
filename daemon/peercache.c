/*
 * peercache.c: the peers this node saw live, saved under the state
 * directory and used as extra seeds at the next start (extension
 * peer-cache).
 *
 * A node restarted with its configured seeds down (or with none at all,
 * a cluster formed by hand) would otherwise be alone. chitchat itself
 * keeps nothing across restarts; Serf's snapshot file plays this role.
 *
 * In memory: every peer seen entering or leaving the live set (engine
 * events), with the wall-clock time it was last live, plus the entries
 * read at start. Every PEERCACHE_SAVE_MS the live peers are stamped
 * "now", the list is ordered most recently live first and cut at
 * PEERCACHE_MAX, and if that list (ids and addresses, in order) differs
 * from the file's, it is saved; again at clean exit.
 *
 * The file is replaced atomically: a temporary file (mode 0640) written
 * and fsync'ed, renamed over peers.json, then the directory fsync'ed. The
 * periodic save runs in a short-lived thread that touches nothing but its
 * own job (path names and bytes), because fsync may take long on a busy
 * disk and the gossip loop must never wait for it; the loop only looks at
 * the job's result at the next tick. The save at exit is synchronous,
 * after any save in progress has finished.
 *
 * The file is a cache: missing, unreadable or corrupt, it is one log line
 * and the daemon starts with its configured seeds alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "atomicfile.h"
#include "cc_ctlproto.h"
#include "ccd.h"
#include "log.h"
#include "xmalloc.h"
#include "peercache.h"

struct peer {
	char		*node_id;
	struct cc_addr	 addr;
	uint64_t	 last_live_ms;	/* wall clock */
	uint64_t	 seq;		/* arrival order: breaks ties */
};

/* One save in a thread: it owns these bytes and touches nothing else. */
struct save_job {
	pthread_t	 thread;
	char		*text;
	size_t		 len;
	int		 err;		/* errno of the failure, 0 if saved */
	atomic_bool	 done;
	const char	*path;		/* borrowed from the cache: constant */
};

struct peercache {
	struct ccd		*ccd;
	char			*dir;
	char			*path;		/* <dir>/peers.json */
	struct event		*timer;
	struct peer		*peers;
	size_t			 n;
	uint64_t		 next_seq;
	struct cc_addr		*loaded;	/* read at start */
	size_t			 n_loaded;
	char			*saved_sig;	/* the list the file holds, or NULL */
	struct save_job		*job;		/* in flight */
};

static uint64_t
wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the file format ------------------------------------------------------------ */

void
peercache_entries_free(struct peercache_entry *e, size_t n)
{
	for (size_t i = 0; e != NULL && i < n; i++)
		free(e[i].node_id);
	free(e);
}

int
peercache_parse(const char *text, size_t len, struct peercache_entry **out, size_t *n,
    size_t *skipped)
{
	struct peercache_entry	*e = NULL;
	json_t			*j, *peers, *p, *v;
	size_t			 i, k = 0;

	*out = NULL;
	*n = *skipped = 0;
	if ((j = json_loadb(text, len, 0, NULL)) == NULL || !json_is_object(j) ||
	    !json_is_integer(v = json_object_get(j, "version")) ||
	    json_integer_value(v) != PEERCACHE_VERSION ||
	    !json_is_array(peers = json_object_get(j, "peers"))) {
		json_decref(j);
		errno = EBADMSG;
		return -1;
	}
	e = xcalloc(json_array_size(peers), sizeof(*e));
	json_array_foreach(peers, i, p) {
		const char *id = json_string_value(json_object_get(p, "node_id"));

		if (k == PEERCACHE_MAX)
			break;
		if (!json_is_string(v = json_object_get(p, "address")) ||
		    cc_addr_parse(json_string_value(v), &e[k].addr) == -1) {
			(*skipped)++;
			continue;
		}
		e[k].node_id = xstrndup(id != NULL ? id : "", id != NULL ?
		    strlen(id) : 0);
		if ((v = json_object_get(p, "last_live_ms")) == NULL ||
		    cc_ctl_get_u64(v, &e[k].last_live_ms) == -1)
			e[k].last_live_ms = 0;
		k++;
	}
	json_decref(j);
	*out = e;
	*n = k;
	return 0;
}

char *
peercache_format(const struct peercache_entry *e, size_t n, uint64_t saved_at_ms)
{
	json_t	*j, *peers = json_array();
	char	*text;
	size_t	 len;

	for (size_t i = 0; peers != NULL && i < n; i++) {
		char addr[CC_ADDR_STRLEN];

		cc_addr_format(&e[i].addr, addr, sizeof(addr));
		if (json_array_append_new(peers, json_pack("{s:o,s:s,s:o}", "node_id",
		    cc_ctl_string(e[i].node_id, strlen(e[i].node_id)), "address", addr,
		    "last_live_ms", cc_ctl_u64(e[i].last_live_ms))) == -1) {
			json_decref(peers);
			return NULL;
		}
	}
	j = json_pack("{s:i,s:o,s:o}", "version", PEERCACHE_VERSION, "saved_at_ms",
	    cc_ctl_u64(saved_at_ms), "peers", peers);
	if (j == NULL)
		return NULL;
	text = cc_ctl_encode(j, &len);		/* one line, '\n' included */
	json_decref(j);
	return text;
}

/* ---- writing ------------------------------------------------------------------------ */

static void *
save_thread(void *arg)
{
	struct save_job *job = arg;

	/* 0640 whatever the umask: the unit's UMask=0077 would leave 0600 */
	job->err = atomicfile_write(job->path, job->text, job->len, 0640, NULL);
	atomic_store(&job->done, true);
	return NULL;
}

/* ---- the list ----------------------------------------------------------------------- */

static bool
is_self(const struct peercache *pc, const struct cc_addr *a)
{
	const struct ccd_config *cfg = pc->ccd->cfg;

	return cc_addr_is_equal(a, &cfg->advertise_addr) ||
	    cc_addr_is_equal(a, &cfg->listen_addr);
}

static int
peer_cmp(const void *a, const void *b)
{
	const struct peer *p = a, *q = b;

	if (p->last_live_ms != q->last_live_ms)
		return p->last_live_ms > q->last_live_ms ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* Most recently live first, at most PEERCACHE_MAX. */
static void
order(struct peercache *pc)
{
	qsort(pc->peers, pc->n, sizeof(*pc->peers), peer_cmp);
	while (pc->n > PEERCACHE_MAX)
		free(pc->peers[--pc->n].node_id);
}

/* Remembers a peer (keyed by address: a restart there replaces it). */
static void
touch(struct peercache *pc, const char *node_id, size_t id_len, const struct cc_addr *a,
    uint64_t live_ms)
{
	struct peer *p = NULL;

	if (is_self(pc, a))
		return;
	for (size_t i = 0; i < pc->n && p == NULL; i++)
		if (cc_addr_is_equal(&pc->peers[i].addr, a))
			p = &pc->peers[i];
	if (p == NULL) {
		/* room for twice the cap, then the least recent go */
		if (pc->n == 2 * PEERCACHE_MAX)
			order(pc);
		p = &pc->peers[pc->n++];
		memset(p, 0, sizeof(*p));
		p->addr = *a;
	}
	if (p->node_id == NULL || strlen(p->node_id) != id_len ||
	    memcmp(p->node_id, node_id, id_len) != 0) {
		free(p->node_id);
		p->node_id = xstrndup(node_id, id_len);
	}
	if (live_ms >= p->last_live_ms) {
		p->last_live_ms = live_ms;
		p->seq = pc->next_seq++;
	}
}

/* The live peers are live now. */
static void
refresh(struct peercache *pc)
{
	struct cc_engine	*e = pc->ccd->engine;
	const struct cc_node	*n;
	uint64_t		 now = wall_now_ms();

	for (n = cc_engine_node_first(e); n != NULL; n = cc_engine_node_next(e, n)) {
		const struct cc_id *id = cc_node_id(n);

		if (cc_engine_liveness(e, id) == CC_LIVENESS_LIVE)
			touch(pc, id->node_id, id->node_id_len, &id->addr, now);
	}
	order(pc);
}

/* "addr node_id\n" per peer, in order: what decides whether to save. */
static char *
signature(const struct peercache *pc)
{
	char	*s = NULL;
	size_t	 size = 0;
	FILE	*f = open_memstream(&s, &size);

	if (f == NULL)
		fatalx("peer cache: out of memory");
	for (size_t i = 0; i < pc->n; i++) {
		char addr[CC_ADDR_STRLEN];

		cc_addr_format(&pc->peers[i].addr, addr, sizeof(addr));
		fprintf(f, "%s %s\n", addr, pc->peers[i].node_id);
	}
	if (fclose(f) != 0 || s == NULL)
		fatalx("peer cache: out of memory");
	return s;
}

/* The file's text for the current list; *sig gets its signature. */
static char *
snapshot(struct peercache *pc, char **sig, size_t *len)
{
	struct peercache_entry	*e = xcalloc(pc->n, sizeof(*e));
	char			*text;

	for (size_t i = 0; i < pc->n; i++) {
		e[i].node_id = pc->peers[i].node_id;
		e[i].addr = pc->peers[i].addr;
		e[i].last_live_ms = pc->peers[i].last_live_ms;
	}
	text = peercache_format(e, pc->n, wall_now_ms());
	free(e);		/* the node ids are borrowed */
	if (text == NULL)
		fatalx("peer cache: out of memory");
	*len = strlen(text);
	*sig = signature(pc);
	return text;
}

static bool
changed(const struct peercache *pc, const char *sig)
{
	return pc->saved_sig == NULL || strcmp(pc->saved_sig, sig) != 0;
}

static void
saved(struct peercache *pc, char *sig, int err)
{
	if (err != 0) {
		pc->ccd->counters.peer_cache_save_errors++;
		log_warnx("peer cache: cannot save %s: %s", pc->path, strerror(err));
		free(sig);
		free(pc->saved_sig);
		pc->saved_sig = NULL;		/* tried again next time */
		return;
	}
	pc->ccd->counters.peer_cache_saves++;
	free(pc->saved_sig);
	pc->saved_sig = sig;
}

/* ---- the save timer ---------------------------------------------------------------- */

/* Collects a finished save; waits for it if wait. */
static void
reap(struct peercache *pc, bool wait)
{
	struct save_job *job = pc->job;

	if (job == NULL || (!wait && !atomic_load(&job->done)))
		return;
	(void)pthread_join(job->thread, NULL);
	pc->job = NULL;
	if (job->err != 0) {
		/* the signature was taken optimistically: forget it */
		saved(pc, NULL, job->err);
	} else
		pc->ccd->counters.peer_cache_saves++;
	free(job->text);
	free(job);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct peercache	*pc = arg;
	struct save_job		*job;
	char			*sig;
	int			 rc;

	(void)fd;
	(void)what;
	reap(pc, false);
	if (pc->job != NULL)
		return;		/* a slow disk: the next tick */
	refresh(pc);
	job = xcalloc(1, sizeof(*job));
	job->text = snapshot(pc, &sig, &job->len);
	if (!changed(pc, sig)) {
		free(sig);
		free(job->text);
		free(job);
		return;
	}
	job->path = pc->path;
	atomic_init(&job->done, false);
	if ((rc = pthread_create(&job->thread, NULL, save_thread, job)) != 0) {
		saved(pc, sig, rc);
		free(job->text);
		free(job);
		return;
	}
	pc->job = job;
	free(pc->saved_sig);
	pc->saved_sig = sig;		/* reap() forgets it if the save fails */
}

/* ---- start and exit ------------------------------------------------------------------ */

static char *
path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		fatalx("peer cache: out of memory");
	return p;
}

/* Creates the directory if missing: 0750 whatever the umask. */
static int
make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0750) == 0)
		return chmod(dir, 0750);
	if (errno != EEXIST)
		return -1;
	if (stat(dir, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* The whole file (at most PEERCACHE_MAX_FILE bytes). NULL + errno. */
static char *
read_file(const char *path, size_t *len)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 n = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > PEERCACHE_MAX_FILE) {
		errno = EFBIG;
		goto fail;
	}
	buf = xcalloc(1, (size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	(void)close(fd);
	*len = n;
	return buf;
fail:
	{
		int saved_errno = errno;

		free(buf);
		(void)close(fd);
		errno = saved_errno;
	}
	return NULL;
}

/* Reads the file into the list and the extra seeds; one log line. */
static void
load(struct peercache *pc)
{
	struct peercache_entry	*e;
	char			*text;
	size_t			 len, n, skipped;

	if ((text = read_file(pc->path, &len)) == NULL) {
		if (errno == ENOENT)
			log_info("peer cache: no %s yet: starting without cached peers",
			    pc->path);
		else
			log_warnx("peer cache: cannot read %s: %s; starting without cached "
			    "peers", pc->path, strerror(errno));
		return;
	}
	if (peercache_parse(text, len, &e, &n, &skipped) == -1) {
		log_warnx("peer cache: %s is not a peer cache (version %d): ignored",
		    pc->path, PEERCACHE_VERSION);
		free(text);
		return;
	}
	free(text);
	pc->loaded = xcalloc(n, sizeof(*pc->loaded));
	for (size_t i = 0; i < n; i++) {
		if (is_self(pc, &e[i].addr))
			continue;
		touch(pc, e[i].node_id, strlen(e[i].node_id), &e[i].addr, e[i].last_live_ms);
		pc->loaded[pc->n_loaded++] = e[i].addr;
	}
	peercache_entries_free(e, n);
	order(pc);
	/* what the file holds, so an unchanged list is not written again */
	pc->saved_sig = signature(pc);
	pc->ccd->counters.cached_peers_loaded = pc->n_loaded;
	if (skipped > 0)
		log_warnx("peer cache: %s: %zu entr%s with a bad address ignored", pc->path,
		    skipped, skipped == 1 ? "y" : "ies");
	log_info("peer cache: %zu peer(s) from %s used as seeds", pc->n_loaded, pc->path);
}

struct peercache *
peercache_open(struct ccd *ccd)
{
	const char		*dir = ccd->cfg->state_directory;
	struct peercache	*pc;
	struct timeval		 tv = { PEERCACHE_SAVE_MS / 1000,
				    (PEERCACHE_SAVE_MS % 1000) * 1000 };

	if (!CCD_HAS_EXT(ccd, CCD_EXT_PEER_CACHE) || dir == NULL || strcmp(dir, "none") == 0)
		return NULL;
	if (make_dir(dir) == -1) {
		log_warnx("peer cache: state directory %s: %s; no peer cache", dir,
		    strerror(errno));
		return NULL;
	}
	pc = xcalloc(1, sizeof(*pc));
	pc->ccd = ccd;
	pc->dir = xstrndup(dir, strlen(dir));
	pc->path = path_join(dir, PEERCACHE_FILE);
	pc->peers = xcalloc(2 * PEERCACHE_MAX, sizeof(*pc->peers));
	load(pc);
	if ((pc->timer = event_new(ccd->base, -1, EV_PERSIST, on_timer, pc)) == NULL ||
	    event_add(pc->timer, &tv) == -1)
		fatalx("peer cache: cannot create the save timer");
	return pc;
}

size_t
peercache_loaded(const struct peercache *pc, const struct cc_addr **addrs)
{
	*addrs = pc != NULL ? pc->loaded : NULL;
	return pc != NULL ? pc->n_loaded : 0;
}

void
peercache_engine_event(struct peercache *pc, const struct cc_event *ev)
{
	const struct cc_id *self;

	if (pc == NULL || ev->type != CC_EVENT_NODE ||
	    (ev->change != CC_NODE_LIVE && ev->change != CC_NODE_DEAD))
		return;
	self = cc_engine_self_id(pc->ccd->engine);
	if (self != NULL && cc_id_is_equal(self, ev->node))
		return;
	/* dead: it was live until now */
	touch(pc, ev->node->node_id, ev->node->node_id_len, &ev->node->addr, wall_now_ms());
}

void
peercache_close(struct peercache *pc)
{
	char	*text, *sig;
	size_t	 len;

	if (pc == NULL)
		return;
	if (pc->timer != NULL)
		event_free(pc->timer);
	reap(pc, true);
	if (pc->ccd->engine != NULL)
		refresh(pc);
	text = snapshot(pc, &sig, &len);
	/* saved when changed, or when the file is missing or bad */
	if (changed(pc, sig)) {
		saved(pc, sig, atomicfile_write(pc->path, text, len, 0640, NULL));
		if (pc->saved_sig != NULL)
			log_info("peer cache: %zu peer(s) saved to %s", pc->n, pc->path);
	} else
		free(sig);
	free(text);
	for (size_t i = 0; i < pc->n; i++)
		free(pc->peers[i].node_id);
	free(pc->peers);
	free(pc->loaded);
	free(pc->saved_sig);
	free(pc->path);
	free(pc->dir);
	free(pc);
}
