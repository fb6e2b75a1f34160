/*
 * control.c: the control socket. A Unix stream listener and one
 * bufferevent per client, on the daemon's single event loop.
 *
 * Framing: every complete '\n'-terminated line of a read is handled at
 * once (pipelining); a line longer than max_line gets one "request too
 * large" error and the connection is closed. Output is never written
 * synchronously: replies and notifications are queued in the client's
 * bufferevent and libevent writes them when the socket can take them, so
 * the gossip loop never waits for a client. A client whose queue grows
 * past max_output stops being read (replies) or lags (notifications: one
 * final "lagged" line, then close; see subscribe.c).
 *
 * Lifetime (as tmux defers server_client_unref): a client that fails in
 * one of its own callbacks is only marked DEAD and moved to a list freed
 * by a one-shot event later in the same loop iteration, so no callback
 * ever runs on freed memory and loops over clients stay valid.
 *
 * Sockets: a live daemon at the path is detected by connecting before
 * unlinking (lldpd, bgpd control_check); each socket is bound under a
 * tight umask, chown'ed to control_group, then chmod'ed to its mode, so
 * it is never more open than configured, whatever the umask. Accept backs
 * off for a second on EMFILE (tmux, bgpd).
 *
 * Access (bgpd's restricted socket, tmux's server-acl.c): the peer's
 * credentials are read once at accept (SO_PEERCRED, and SO_PEERGROUPS for
 * its supplementary groups); rpc.c asks control_client_access() before
 * every write method. A second, read-only socket serves watchers with
 * the same client code: its clients never pass that check. Each socket
 * has max_clients of its own, so watchers cannot crowd out the main
 * socket's clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cc_ctlproto.h"
#include "ccd.h"
#include "control.h"
#include "log.h"
#include "rpc.h"
#include "subscribe.h"

static void	control_on_read(struct bufferevent *, void *);
static void	control_on_write(struct bufferevent *, void *);
static void	control_on_event(struct bufferevent *, short, void *);
static void	control_client_kill(struct ctl_client *);
static void	control_client_process(struct ctl_client *);
static void	control_reap(evutil_socket_t, short, void *);

static uint64_t
control_default_now(void *arg)
{
	(void)arg;
	return ccd_now_ms();
}

static size_t
control_limit(size_t v, size_t def)
{
	return v == 0 ? def : v;
}

struct control *
control_new(struct ccd *ccd)
{
	struct control	*ctl;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL)
		return NULL;
	ctl->ccd = ccd;
	for (int i = 0; i < CONTROL_N_LISTENERS; i++) {
		ctl->listeners[i].control = ctl;
		ctl->listeners[i].fd = -1;
		ctl->listeners[i].readonly = i == CONTROL_READONLY;
	}
	ctl->self_uid = geteuid();
	TAILQ_INIT(&ctl->clients);
	TAILQ_INIT(&ctl->dead);
	ctl->max_line = control_limit(ccd->cfg ? ccd->cfg->max_line : 0,
	    CCD_DEFAULT_MAX_LINE);
	ctl->max_clients = control_limit(ccd->cfg ? ccd->cfg->max_clients : 0,
	    CCD_DEFAULT_MAX_CLIENTS);
	ctl->max_output = control_limit(ccd->cfg ? ccd->cfg->max_output : 0,
	    CCD_DEFAULT_MAX_OUTPUT);
	ctl->now = control_default_now;
	if ((ctl->subs = subscribe_new()) == NULL)
		goto fail;
	if (ccd->base != NULL &&
	    (ctl->reap_ev = event_new(ccd->base, -1, 0, control_reap, ctl)) == NULL)
		goto fail;
	ccd->control = ctl;
	return ctl;
fail:
	subscribe_free(ctl->subs);
	free(ctl);
	errno = ENOMEM;
	return NULL;
}

void
control_set_clock(struct control *ctl, uint64_t (*now)(void *), void *arg)
{
	ctl->now = now != NULL ? now : control_default_now;
	ctl->now_arg = arg;
}

uint64_t
control_now(const struct control *ctl)
{
	return ctl->now(ctl->now_arg);
}

/* ---- the socket -------------------------------------------------------------- */

static int
control_sockaddr(const char *path, struct sockaddr_un *sun, char **cause)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return ccd_cause(cause, "control socket %s: path too long", path);
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/*
 * A socket already at path: refuse if a daemon answers on it, remove it
 * if stale. Anything but a socket is left alone.
 */
static int
control_check_stale(const char *path, const struct sockaddr_un *sun, char **cause)
{
	struct stat	st;
	int		fd, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return ccd_cause(cause, "control socket %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return ccd_cause(cause, "control socket %s: exists and is not a socket",
		    path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return ccd_cause(cause, "control socket: %s", strerror(errno));
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(fd);
		errno = EADDRINUSE;
		return ccd_cause(cause, "control socket %s: in use by another daemon",
		    path);
	}
	if (errno != ECONNREFUSED) {
		ccd_cause(cause, "control socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT)
		return ccd_cause(cause, "control socket %s: cannot remove the stale socket: %s",
		    path, strerror(errno));
	log_info("control: removed stale socket %s", path);
	return 0;
}

/* The default directory (/run/chitchatd) is created if missing. */
static int
control_make_dir(const char *path, char **cause)
{
	char	dir[sizeof(CCD_DEFAULT_SOCKET)];
	char	*slash;

	memcpy(dir, CCD_DEFAULT_SOCKET, sizeof(dir));
	slash = strrchr(dir, '/');
	*slash = '\0';
	if (strncmp(path, dir, strlen(dir)) != 0 || path[strlen(dir)] != '/' ||
	    strchr(path + strlen(dir) + 1, '/') != NULL)
		return 0;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return ccd_cause(cause, "cannot create %s: %s", dir, strerror(errno));
	return 0;
}

static int
control_group(const char *name, gid_t *gid, char **cause)
{
	struct group	*gr;
	char		*end;
	unsigned long	 v;

	if ((gr = getgrnam(name)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(name, &end, 10);
	if (name[0] != '\0' && *end == '\0' && errno == 0 && v < (unsigned long)UINT_MAX) {
		*gid = (gid_t)v;
		return 0;
	}
	errno = ENOENT;
	return ccd_cause(cause, "control group %s: no such group", name);
}

static void
control_backoff_done(evutil_socket_t fd, short what, void *arg)
{
	struct control_listener *l = arg;

	(void)fd;
	(void)what;
	event_add(l->accept_ev, NULL);
}

static struct ctl_client *control_client_create(struct control *,
	    struct control_listener *, int);

static void
control_reject(struct control *ctl, int fd)
{
	json_t	*err, *msg;
	char	*line, reason[64];
	size_t	 len;

	ctl->ccd->counters.clients_rejected++;
	snprintf(reason, sizeof(reason), "the limit is %zu clients", ctl->max_clients);
	err = cc_ctl_error_new(CC_CTL_ERR_TOO_MANY_CLIENTS, reason);
	if ((msg = cc_ctl_error_response_new(NULL, err)) != NULL &&
	    (line = cc_ctl_encode(msg, &len)) != NULL) {
		/* a fresh socket's buffer takes one short line: never blocks */
		if (write(fd, line, len) == -1)
			log_debug("control: reject: %s", strerror(errno));
		free(line);
	}
	json_decref(msg);
	close(fd);
	log_debug("control: client refused: %zu clients connected", ctl->n_clients);
}

static void
control_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct control_listener	*l = arg;
	struct control		*ctl = l->control;
	int			 fd;

	(void)what;
	for (int i = 0; i < CONTROL_ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			struct timeval tv = { CONTROL_ACCEPT_BACKOFF_MS / 1000,
			    (CONTROL_ACCEPT_BACKOFF_MS % 1000) * 1000 };

			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			ctl->accept_errors++;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				ctl->ccd->counters.clients_rejected++;
				log_warnx("control: accept: %s: pausing for %d ms",
				    strerror(errno), CONTROL_ACCEPT_BACKOFF_MS);
				event_del(l->accept_ev);
				evtimer_add(l->backoff_ev, &tv);
				return;
			}
			log_warnx("control: accept: %s", strerror(errno));
			return;
		}
		if (l->n_clients >= ctl->max_clients) {
			control_reject(ctl, fd);
			continue;
		}
		if (control_client_create(ctl, l, fd) == NULL)
			log_warnx("control: new client: %s", strerror(errno));
	}
}

/* "" and "none" mean no socket. */
static bool
control_path_is_set(const char *path)
{
	return path != NULL && path[0] != '\0' && strcmp(path, "none") != 0;
}

/*
 * Binds and listens on one socket: mode exactly as configured whatever
 * the umask, group gid unless it is (gid_t)-1. -1 and *cause on error; the
 * caller's control_close() removes what was made.
 */
static int
control_listen(struct control_listener *l, const char *path, mode_t mode, gid_t gid,
    char **cause)
{
	struct event_base	*base = l->control->ccd->base;
	struct sockaddr_un	 sun;
	mode_t			 old;

	if (control_sockaddr(path, &sun, cause) == -1 ||
	    control_make_dir(path, cause) == -1 ||
	    control_check_stale(path, &sun, cause) == -1)
		return -1;
	if ((l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return ccd_cause(cause, "control socket: %s", strerror(errno));
	/* born unreachable by anyone else: opened up by chmod below */
	old = umask(0177);
	if (bind(l->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		return ccd_cause(cause, "control socket %s: %s", path, strerror(errno));
	}
	umask(old);
	if ((l->path = strdup(path)) == NULL) {
		unlink(path);
		return ccd_cause(cause, "control socket: %s", strerror(errno));
	}
	/* the group first: the socket never opens to the daemon's own group */
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1)
		return ccd_cause(cause, "control socket %s: chown to group %lu: %s", path,
		    (unsigned long)gid, strerror(errno));
	if (chmod(path, mode & 0777) == -1)
		return ccd_cause(cause, "control socket %s: chmod %04o: %s", path,
		    (unsigned)mode, strerror(errno));
	if (listen(l->fd, 128) == -1)
		return ccd_cause(cause, "control socket %s: listen: %s", path,
		    strerror(errno));
	l->accept_ev = event_new(base, l->fd, EV_READ | EV_PERSIST, control_on_accept, l);
	l->backoff_ev = evtimer_new(base, control_backoff_done, l);
	if (l->accept_ev == NULL || l->backoff_ev == NULL ||
	    event_add(l->accept_ev, NULL) == -1) {
		errno = ENOMEM;
		return ccd_cause(cause, "control socket: cannot add the accept event");
	}
	log_info("control: listening on %s (mode %04o%s)", path, (unsigned)(mode & 0777),
	    l->readonly ? ", read-only" : "");
	return 0;
}

int
control_open(struct ccd *ccd, char **cause)
{
	const struct ccd_config	*cfg = ccd->cfg;
	const char		*path = cfg != NULL ? cfg->control_socket : NULL;
	const char		*ro = cfg != NULL ? cfg->control_readonly_socket : NULL;
	struct control		*ctl;
	gid_t			 gid = (gid_t)-1;

	if (path == NULL)
		path = CCD_DEFAULT_SOCKET;
	if (!control_path_is_set(path) && !control_path_is_set(ro))
		return 0;
	if (cfg != NULL && cfg->control_group != NULL && cfg->control_group[0] != '\0' &&
	    control_group(cfg->control_group, &gid, cause) == -1)
		return -1;
	/* a client gone mid-write must cost an EPIPE, never the daemon */
	signal(SIGPIPE, SIG_IGN);
	if ((ctl = control_new(ccd)) == NULL)
		return ccd_cause(cause, "control socket: %s", strerror(errno));
	if (control_path_is_set(path) && control_listen(&ctl->listeners[CONTROL_MAIN], path,
	    cfg != NULL && cfg->control_mode != 0 ? cfg->control_mode : 0660, gid, cause) == -1)
		goto fail;
	if (control_path_is_set(ro) && control_listen(&ctl->listeners[CONTROL_READONLY], ro,
	    cfg->control_readonly_mode != 0 ? cfg->control_readonly_mode : 0666, gid,
	    cause) == -1)
		goto fail;
	return 0;
fail:
	control_close(ccd);
	return -1;
}

static void
control_client_free(struct ctl_client *c)
{
	struct control *ctl = c->control;

	subscribe_client_gone(ctl->ccd, c);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->detached_out != NULL)
		evbuffer_free(c->detached_out);
	if (c->listener != NULL)
		c->listener->n_clients--;
	ctl->n_clients--;
	free(c->groups);
	free(c);
}

static void
control_listener_close(struct control_listener *l)
{
	if (l->accept_ev != NULL)
		event_free(l->accept_ev);
	if (l->backoff_ev != NULL)
		event_free(l->backoff_ev);
	if (l->fd != -1)
		close(l->fd);
	if (l->path != NULL) {
		if (unlink(l->path) == -1 && errno != ENOENT)
			log_warnx("control: unlink %s: %s", l->path, strerror(errno));
		free(l->path);
	}
	l->accept_ev = l->backoff_ev = NULL;
	l->fd = -1;
	l->path = NULL;
}

void
control_close(struct ccd *ccd)
{
	struct control		*ctl = ccd->control;
	struct ctl_client	*c;

	if (ctl == NULL)
		return;
	while ((c = TAILQ_FIRST(&ctl->clients)) != NULL) {
		TAILQ_REMOVE(&ctl->clients, c, entry);
		/*
		 * Best effort, never blocking: lines queued in the last loop
		 * iteration still go (the reply to a `leave` with nothing to
		 * wait for is queued just before the loop ends).
		 */
		if (c->bev != NULL)
			(void)evbuffer_write(bufferevent_get_output(c->bev),
			    bufferevent_getfd(c->bev));
		control_client_free(c);
	}
	while ((c = TAILQ_FIRST(&ctl->dead)) != NULL) {
		TAILQ_REMOVE(&ctl->dead, c, entry);
		control_client_free(c);
	}
	for (int i = 0; i < CONTROL_N_LISTENERS; i++)
		control_listener_close(&ctl->listeners[i]);
	if (ctl->reap_ev != NULL)
		event_free(ctl->reap_ev);
	subscribe_free(ctl->subs);
	free(ctl);
	ccd->control = NULL;
}

/* ---- clients ------------------------------------------------------------------ */

static void
control_reap(evutil_socket_t fd, short what, void *arg)
{
	struct control		*ctl = arg;
	struct ctl_client	*c;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&ctl->dead)) != NULL) {
		TAILQ_REMOVE(&ctl->dead, c, entry);
		control_client_free(c);
	}
}

/*
 * The peer's supplementary groups as they were at connect(): SO_PEERGROUPS
 * (Linux 4.13). Older kernels: the groups of its uid's passwd entry
 * (getgrouplist), which is what a login session of that user would have.
 */
static int
control_peergroups(struct ctl_client *c, int fd)
{
	socklen_t	 len = 64 * sizeof(gid_t);
	gid_t		*g = NULL, *ng;
	struct passwd	*pw;
	int		 n = 64;

	for (int tries = 0; tries < 3; tries++) {
		if ((ng = realloc(g, len > 0 ? len : sizeof(gid_t))) == NULL)
			goto fail;
		g = ng;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			c->groups = g;
			c->n_groups = len / sizeof(gid_t);
			return 0;
		}
		if (errno != ERANGE)
			break;		/* len is now the size needed */
	}
	log_debug("control: client %" PRIu64 ": SO_PEERGROUPS: %s: using the groups of uid %lu",
	    c->id, strerror(errno), (unsigned long)c->uid);
	if ((pw = getpwuid(c->uid)) == NULL)
		goto fail;
	for (int tries = 0; tries < 3; tries++) {
		if ((ng = reallocarray(g, (size_t)n, sizeof(gid_t))) == NULL)
			goto fail;
		g = ng;
		if (getgrouplist(pw->pw_name, pw->pw_gid, g, &n) != -1) {
			c->groups = g;
			c->n_groups = (size_t)n;
			return 0;
		}
	}
fail:
	free(g);
	return -1;
}

static void
control_peercred(struct ctl_client *c, int fd)
{
	struct ucred	uc;
	socklen_t	len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1) {
		log_debug("control: client %" PRIu64 ": SO_PEERCRED: %s", c->id,
		    strerror(errno));
		return;
	}
	c->has_creds = true;
	c->pid = uc.pid;
	c->uid = uc.uid;
	c->gid = uc.gid;
	if (control_peergroups(c, fd) == -1)
		log_debug("control: client %" PRIu64 ": no supplementary groups known", c->id);
	log_debug("control: client %" PRIu64 ": pid %ld, uid %lu, gid %lu, %zu more group(s)%s",
	    c->id, (long)uc.pid, (unsigned long)uc.uid, (unsigned long)uc.gid, c->n_groups,
	    c->readonly ? ", read-only socket" : "");
}

struct ctl_client *
control_client_new(struct control *ctl, int fd)
{
	return control_client_create(ctl, NULL, fd);
}

/* A client of listener l (NULL: not accepted from a listener, tests). */
static struct ctl_client *
control_client_create(struct control *ctl, struct control_listener *l, int fd)
{
	struct ctl_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->control = ctl;
	c->listener = l;
	c->readonly = l != NULL && l->readonly;
	c->id = ++ctl->next_client_id;
	c->state = CTL_ACTIVE;
	TAILQ_INIT(&c->subs);
	TAILQ_INIT(&c->pending);
	if (fd == -1) {
		if ((c->detached_out = evbuffer_new()) == NULL)
			goto fail;
	} else {
		c->bev = bufferevent_socket_new(ctl->ccd->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL)
			goto fail;
		fd = -1;	/* owned by the bufferevent */
		bufferevent_setcb(c->bev, control_on_read, control_on_write,
		    control_on_event, c);
		/* the write callback runs once the queue is down to half the cap */
		bufferevent_setwatermark(c->bev, EV_WRITE, ctl->max_output / 2, 0);
		if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1)
			goto fail;
		control_peercred(c, bufferevent_getfd(c->bev));
	}
	TAILQ_INSERT_TAIL(&ctl->clients, c, entry);
	ctl->n_clients++;
	if (l != NULL)
		l->n_clients++;
	ctl->ccd->counters.clients_accepted++;
	return c;
fail:
	if (c != NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		if (c->detached_out != NULL)
			evbuffer_free(c->detached_out);
		free(c);
	}
	if (fd != -1)
		close(fd);
	errno = ENOMEM;
	return NULL;
}

void
control_client_destroy(struct ctl_client *c)
{
	struct control *ctl = c->control;

	TAILQ_REMOVE(c->state == CTL_DEAD ? &ctl->dead : &ctl->clients, c, entry);
	control_client_free(c);
}

struct evbuffer *
control_client_output(struct ctl_client *c)
{
	return c->bev != NULL ? bufferevent_get_output(c->bev) : c->detached_out;
}

size_t
control_client_queued(struct ctl_client *c)
{
	return evbuffer_get_length(control_client_output(c));
}

/* Gone: freed later, out of its callbacks. */
static void
control_client_kill(struct ctl_client *c)
{
	struct control *ctl = c->control;

	if (c->state == CTL_DEAD)
		return;
	subscribe_client_gone(ctl->ccd, c);
	if (c->bev == NULL) {
		c->state = CTL_CLOSING;	/* detached: kept for the test to read */
		return;
	}
	c->state = CTL_DEAD;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	TAILQ_REMOVE(&ctl->clients, c, entry);
	TAILQ_INSERT_TAIL(&ctl->dead, c, entry);
	if (ctl->reap_ev != NULL)
		event_active(ctl->reap_ev, EV_TIMEOUT, 0);
}

void
control_client_close(struct ctl_client *c, bool flush)
{
	if (c->state == CTL_DEAD)
		return;
	if (c->state == CTL_CLOSING && flush)
		return;
	subscribe_client_gone(c->control->ccd, c);
	c->state = CTL_CLOSING;
	if (c->bev == NULL)
		return;
	bufferevent_disable(c->bev, EV_READ);
	if (!flush || control_client_queued(c) == 0) {
		control_client_kill(c);
		return;
	}
	/* the last lines get CONTROL_FLUSH_TIMEOUT_S without progress, at most */
	{
		struct timeval tv = { CONTROL_FLUSH_TIMEOUT_S, 0 };

		bufferevent_set_timeouts(c->bev, NULL, &tv);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	}
}

/* ---- access -------------------------------------------------------------------- */

static bool
control_ident_is_listed(const struct ccd_ident *list, size_t n, id_t id)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].id == id)
			return true;
	return false;
}

enum control_access
control_client_access(const struct ctl_client *c)
{
	const struct control	*ctl = c->control;
	const struct ccd_config	*cfg = ctl->ccd->cfg;

	if (c->readonly)
		return CONTROL_READONLY_SOCKET;
	if (cfg == NULL || (cfg->n_write_users == 0 && cfg->n_write_groups == 0))
		return CONTROL_MAY_WRITE;	/* the socket's mode and group are the gate */
	if (!c->has_creds)
		return CONTROL_NOT_LISTED;
	if (c->uid == 0 || c->uid == ctl->self_uid ||
	    control_ident_is_listed(cfg->write_users, cfg->n_write_users, c->uid) ||
	    control_ident_is_listed(cfg->write_groups, cfg->n_write_groups, c->gid))
		return CONTROL_MAY_WRITE;
	for (size_t i = 0; i < c->n_groups; i++)
		if (control_ident_is_listed(cfg->write_groups, cfg->n_write_groups,
		    c->groups[i]))
			return CONTROL_MAY_WRITE;
	return CONTROL_NOT_LISTED;
}

void
control_client_denied(struct ctl_client *c, const char *method, enum control_access why)
{
	struct control	*ctl = c->control;
	uint64_t	 now = control_now(ctl);
	char		 who[64], more[64] = "";

	ctl->ccd->counters.denied++;
	/* a client looping on a refused call must not flood the log */
	if (ctl->denied_warned && now - ctl->denied_warn_ms < CONTROL_DENIED_WARN_MS) {
		ctl->denied_quiet++;
		return;
	}
	if (c->has_creds)
		snprintf(who, sizeof(who), "pid %ld, uid %lu", (long)c->pid,
		    (unsigned long)c->uid);
	else
		snprintf(who, sizeof(who), "unknown credentials");
	if (ctl->denied_quiet > 0)
		snprintf(more, sizeof(more), " (%" PRIu64 " more refused since the last warning)",
		    ctl->denied_quiet);
	log_warnx("control: client %" PRIu64 " (%s): %s refused: %s%s", c->id, who, method,
	    why == CONTROL_READONLY_SOCKET ? "read-only socket" :
	    "not in control-write-users or control-write-groups", more);
	ctl->denied_warned = true;
	ctl->denied_warn_ms = now;
	ctl->denied_quiet = 0;
}

/* ---- output ---------------------------------------------------------------------- */

static void
control_client_write(struct ctl_client *c, const char *buf, size_t len)
{
	if (c->state != CTL_ACTIVE)
		return;
	if (evbuffer_add(control_client_output(c), buf, len) == -1) {
		log_warnx("control: client %" PRIu64 ": out of memory", c->id);
		control_client_close(c, false);
	}
}

void
control_client_reply(struct ctl_client *c, const json_t *msg)
{
	char	*line;
	size_t	 len;

	if (c->state != CTL_ACTIVE)
		return;
	if ((line = cc_ctl_encode(msg, &len)) == NULL) {
		log_warnx("control: client %" PRIu64 ": cannot encode a reply", c->id);
		control_client_close(c, false);
		return;
	}
	control_client_write(c, line, len);
	free(line);
}

/*
 * Lagged: keep the line the socket may already have started to take (up
 * to the first '\n' of the queue), drop the rest, say why, close.
 */
static void
control_client_lag(struct ctl_client *c)
{
	struct control		*ctl = c->control;
	struct evbuffer		*out = control_client_output(c);
	struct evbuffer_ptr	 p;
	json_t			*params, *msg;
	char			*line;
	size_t			 len, queued = evbuffer_get_length(out);

	ctl->ccd->counters.lagged_clients++;
	p = evbuffer_search(out, "\n", 1, NULL);
	{
		struct evbuffer *keep = evbuffer_new();

		if (keep != NULL && p.pos >= 0) {
			evbuffer_remove_buffer(out, keep, (size_t)p.pos + 1);
			evbuffer_drain(out, evbuffer_get_length(out));
			evbuffer_add_buffer(out, keep);
		} else
			evbuffer_drain(out, evbuffer_get_length(out));
		if (keep != NULL)
			evbuffer_free(keep);
	}
	params = json_pack("{s:i,s:s,s:I,s:I}",
	    "code", cc_ctl_error_info(CC_CTL_ERR_LAGGED)->code,
	    "message", "output queue over its limit: closing; reconnect and subscribe again",
	    "queued", (json_int_t)queued, "limit", (json_int_t)ctl->max_output);
	if ((msg = cc_ctl_notification_new(CC_CTL_LAGGED, params)) != NULL &&
	    (line = cc_ctl_encode(msg, &len)) != NULL) {
		evbuffer_add(out, line, len);
		free(line);
	}
	json_decref(msg);
	log_info("control: client %" PRIu64 " lagged (%zu bytes queued, limit %zu): closed",
	    c->id, queued, ctl->max_output);
	control_client_close(c, true);
}

bool
control_client_notify(struct ctl_client *c, const char *head, size_t head_len,
    const char *body, size_t body_len)
{
	struct evbuffer *out;

	if (c->state != CTL_ACTIVE)
		return false;
	out = control_client_output(c);
	if (evbuffer_add(out, head, head_len) == -1 ||
	    evbuffer_add(out, body, body_len) == -1) {
		control_client_close(c, false);
		return false;
	}
	c->control->ccd->counters.notifications++;
	if (evbuffer_get_length(out) > c->control->max_output) {
		control_client_lag(c);
		return false;
	}
	return true;
}

void
control_client_line(struct ctl_client *c, const char *line, size_t len)
{
	if (c->state != CTL_ACTIVE)
		return;
	c->busy = true;
	rpc_handle_line(c->control->ccd, c, line, len);
	c->busy = false;
	subscribe_flush_pending(c->control->ccd, c);
	if (c->close_after_reply)
		control_client_close(c, true);
}

static void
control_client_oversized(struct ctl_client *c)
{
	char	reason[80];
	json_t	*msg;

	c->control->ccd->counters.oversized_lines++;
	c->control->ccd->counters.request_errors++;
	snprintf(reason, sizeof(reason), "a request line is limited to %zu bytes",
	    c->control->max_line);
	msg = cc_ctl_error_response_new(NULL, cc_ctl_error_new(CC_CTL_ERR_TOO_LARGE, reason));
	if (msg != NULL)
		control_client_reply(c, msg);
	json_decref(msg);
	log_debug("control: client %" PRIu64 ": request over %zu bytes: closed", c->id,
	    c->control->max_line);
	control_client_close(c, true);
}

/* Handles every complete line in the input buffer. */
static void
control_client_process(struct ctl_client *c)
{
	struct control		*ctl = c->control;
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 start, eol;
	size_t			 avail;

	for (;;) {
		if (c->state != CTL_ACTIVE) {
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
		if (!c->eof && control_client_queued(c) > ctl->max_output) {
			/* replies pile up: stop reading until half of them left */
			c->throttled = true;
			bufferevent_disable(c->bev, EV_READ);
			return;
		}
		avail = evbuffer_get_length(in);
		if (c->scanned > avail)
			c->scanned = 0;
		if (evbuffer_ptr_set(in, &start, c->scanned, EVBUFFER_PTR_SET) == -1)
			eol.pos = -1;
		else
			eol = evbuffer_search_eol(in, &start, NULL, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			c->scanned = avail;
			if (avail > ctl->max_line)
				control_client_oversized(c);
			return;
		}
		c->scanned = 0;
		if ((size_t)eol.pos > ctl->max_line) {
			control_client_oversized(c);
			return;
		}
		{
			const char *line = (const char *)evbuffer_pullup(in, eol.pos + 1);

			if (line == NULL) {
				control_client_close(c, false);
				return;
			}
			control_client_line(c, line, (size_t)eol.pos);
		}
		evbuffer_drain(in, (size_t)eol.pos + 1);
	}
}

static void
control_on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	control_client_process(arg);
}

static void
control_on_write(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;

	(void)bev;
	if (c->state == CTL_CLOSING) {
		if (control_client_queued(c) == 0)
			control_client_kill(c);
		return;
	}
	if (c->state == CTL_ACTIVE && c->throttled &&
	    control_client_queued(c) <= c->control->max_output / 2) {
		c->throttled = false;
		bufferevent_enable(c->bev, EV_READ);
		control_client_process(c);
	}
}

static void
control_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_client	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 len;

	if ((what & BEV_EVENT_EOF) && c->state == CTL_ACTIVE) {
		/* the client is done sending: answer everything, a last
		 * unterminated line included, then close */
		c->eof = true;
		control_client_process(c);
		if (c->state == CTL_ACTIVE && (len = evbuffer_get_length(in)) > 0) {
			const char *line = (const char *)evbuffer_pullup(in, -1);

			if (line != NULL)
				control_client_line(c, line, len);
		}
		evbuffer_drain(in, evbuffer_get_length(in));
		log_debug("control: client %" PRIu64 ": end of input", c->id);
		control_client_close(c, true);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (c->state == CTL_ACTIVE)
			c->control->client_errors++;
		log_debug("control: client %" PRIu64 ": %s", c->id,
		    (what & BEV_EVENT_TIMEOUT) ? "flush timed out" :
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	control_client_kill(c);
}
