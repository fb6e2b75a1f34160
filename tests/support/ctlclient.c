/*
 * ctlclient.c: a blocking test client of the control socket (see ctlclient.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "cc_ctlproto.h"
#include "ctlclient.h"

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
ctlc_connect_fd(const char *path, int timeout_ms)
{
	struct sockaddr_un	sun;
	long long		deadline = now_ms() + timeout_ms;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		close(fd);
		if (now_ms() >= deadline)
			return -1;
		usleep(10000);
	}
}

struct ctlc *
ctlc_open(const char *path)
{
	struct ctlc	*c = calloc(1, sizeof(*c));
	int		 fd = ctlc_connect_fd(path, CTLC_CONNECT_MS);

	ck_assert_ptr_nonnull(c);
	ck_assert_msg(fd != -1, "cannot connect to %s within %d ms: %s", path, CTLC_CONNECT_MS,
	    strerror(errno));
	c->fd = fd;
	c->queued = json_array();
	ck_assert_ptr_nonnull(c->queued);
	snprintf(c->path, sizeof(c->path), "%s", path);
	return c;
}

void
ctlc_close(struct ctlc *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	json_decref(c->queued);
	free(c->buf);
	free(c);
}

bool
ctlc_send(struct ctlc *c, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return false;
		ck_assert_msg(n > 0, "send to %s: %s", c->path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool
ctlc_send_line(struct ctlc *c, const char *text)
{
	return ctlc_send(c, text, strlen(text)) && ctlc_send(c, "\n", 1);
}

/* A complete line from the buffer, if there is one. */
static char *
take_line(struct ctlc *c, size_t *len)
{
	char	*nl = c->len > 0 ? memchr(c->buf, '\n', c->len) : NULL;
	char	*line;
	size_t	 n;

	if (nl == NULL)
		return NULL;
	n = (size_t)(nl - c->buf);
	line = malloc(n + 1);
	ck_assert_ptr_nonnull(line);
	memcpy(line, c->buf, n);
	line[n] = '\0';
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	if (len != NULL)
		*len = n;
	return line;
}

char *
ctlc_read_line(struct ctlc *c, int timeout_ms, size_t *len)
{
	long long	 deadline = now_ms() + timeout_ms;
	struct pollfd	 pfd = { c->fd, POLLIN, 0 };
	char		*line;
	ssize_t		 n;

	for (;;) {
		long long left;

		if ((line = take_line(c, len)) != NULL)
			return line;
		if (c->eof)
			return NULL;
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		ck_assert_int_ge(n, 0);
		if (n == 0)
			return NULL;
		if (c->cap - c->len < 65536) {
			c->cap = c->cap == 0 ? 131072 : c->cap * 2;
			c->buf = realloc(c->buf, c->cap);
			ck_assert_ptr_nonnull(c->buf);
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* a reset after unread data is an end of input too */
			ck_assert_msg(n == 0 || errno == ECONNRESET, "read from %s: %s", c->path,
			    strerror(errno));
			c->eof = true;
			continue;
		}
		c->len += (size_t)n;
	}
}

json_t *
ctlc_read_msg(struct ctlc *c, int timeout_ms)
{
	char	*line, why[128] = "";
	size_t	 len;
	json_t	*msg;

	if ((line = ctlc_read_line(c, timeout_ms, &len)) == NULL)
		return NULL;
	msg = cc_ctl_decode(line, len, why, sizeof(why));
	ck_assert_msg(msg != NULL, "not JSON from %s (%s): %.200s", c->path, why, line);
	free(line);
	return msg;
}

json_t *
ctlc_read_reply(struct ctlc *c, int timeout_ms)
{
	long long	 deadline = now_ms() + timeout_ms;
	json_t		*msg;

	for (;;) {
		long long left = deadline - now_ms();

		if ((msg = ctlc_read_msg(c, left > 0 ? (int)left : 0)) == NULL)
			return NULL;
		if (json_is_object(msg) && json_object_get(msg, "id") == NULL &&
		    json_object_get(msg, "method") != NULL) {
			ck_assert_int_eq(json_array_append_new(c->queued, msg), 0);
			continue;
		}
		return msg;
	}
}

json_t *
ctlc_notification(struct ctlc *c, int timeout_ms)
{
	json_t *msg;

	if (json_array_size(c->queued) > 0) {
		msg = json_incref(json_array_get(c->queued, 0));
		json_array_remove(c->queued, 0);
		return msg;
	}
	if ((msg = ctlc_read_msg(c, timeout_ms)) == NULL)
		return NULL;
	ck_assert_msg(json_is_object(msg) && json_object_get(msg, "id") == NULL &&
	    json_is_string(json_object_get(msg, "method")),
	    "expected a notification from %s, got %s", c->path,
	    json_dumps(msg, JSON_COMPACT));
	return msg;
}

bool
ctlc_wait_eof(struct ctlc *c, int timeout_ms, json_t **last)
{
	long long	 deadline = now_ms() + timeout_ms;
	json_t		*msg;

	if (last != NULL)
		*last = NULL;
	while (!c->eof || c->len > 0) {
		long long left = deadline - now_ms();

		if ((msg = ctlc_read_msg(c, left > 0 ? (int)left : 0)) == NULL) {
			if (c->eof)
				break;	/* a last line without '\n' is not a line */
			return false;
		}
		if (last != NULL) {
			json_decref(*last);
			*last = msg;
		} else
			json_decref(msg);
	}
	return true;
}

json_t *
ctlc_call_json(struct ctlc *c, const char *method, json_t *params)
{
	long long	 id = ++c->next_id;
	json_t		*req = cc_ctl_request_new((json_int_t)id, method, params);
	json_t		*reply, *rid;
	char		*line;
	size_t		 len;

	ck_assert_ptr_nonnull(req);
	line = cc_ctl_encode(req, &len);
	ck_assert_ptr_nonnull(line);
	json_decref(req);
	ck_assert_msg(ctlc_send(c, line, len), "%s: %s: connection closed by the daemon",
	    c->path, method);
	free(line);
	reply = ctlc_read_reply(c, CTLC_REPLY_MS);
	ck_assert_msg(reply != NULL, "%s: no reply to %s within %d ms%s", c->path, method,
	    CTLC_REPLY_MS, c->eof ? " (connection closed)" : "");
	rid = json_object_get(reply, "id");
	ck_assert_msg(json_is_integer(rid) && json_integer_value(rid) == id,
	    "%s: %s: reply for another id: %s", c->path, method,
	    json_dumps(reply, JSON_COMPACT));
	return reply;
}

json_t *
ctlc_call(struct ctlc *c, const char *method, const char *params)
{
	json_t		*p = NULL;
	json_error_t	 jerr;

	if (params != NULL) {
		p = json_loads(params, JSON_DECODE_ANY, &jerr);
		ck_assert_msg(p != NULL, "test bug: params of %s are not JSON: %s: %s", method,
		    jerr.text, params);
	}
	return ctlc_call_json(c, method, p);
}

static json_t *
expect_result(struct ctlc *c, const char *method, json_t *reply)
{
	json_t *result = json_object_get(reply, "result");

	ck_assert_msg(result != NULL, "%s: %s failed: %s", c->path, method,
	    json_dumps(reply, JSON_COMPACT));
	json_incref(result);
	json_decref(reply);
	return result;
}

json_t *
ctlc_ok(struct ctlc *c, const char *method, const char *params)
{
	return expect_result(c, method, ctlc_call(c, method, params));
}

json_t *
ctlc_ok_json(struct ctlc *c, const char *method, json_t *params)
{
	return expect_result(c, method, ctlc_call_json(c, method, params));
}

int
ctlc_reply_code(const json_t *reply)
{
	const json_t *err = json_object_get(reply, "error");

	if (err == NULL)
		return 0;
	ck_assert_msg(json_is_integer(json_object_get(err, "code")), "error without a code");
	return (int)json_integer_value(json_object_get(err, "code"));
}

int
ctlc_err(struct ctlc *c, const char *method, const char *params)
{
	json_t	*reply = ctlc_call(c, method, params);
	int	 code = ctlc_reply_code(reply);

	ck_assert_msg(code != 0, "%s: %s %s: expected an error, got %s", c->path, method,
	    params != NULL ? params : "", json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	return code;
}

double
ctlc_metric(struct ctlc *c, const char *name)
{
	json_t		*result = ctlc_ok(c, "metrics", NULL);
	const char	*text = ctlc_str(result, "text"), *p;
	size_t		 nlen = strlen(name);
	double		 v = 0;
	bool		 found = false;

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == ' ') {
			v = strtod(p + nlen + 1, NULL);
			found = true;
			break;
		}
	}
	ck_assert_msg(found, "no metric %s in: %.2000s", name, text);
	json_decref(result);
	return v;
}

const char *
ctlc_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_string(v), "no string \"%s\" in %s", key,
	    json_dumps(obj, JSON_COMPACT));
	return json_string_value(v);
}

long long
ctlc_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_integer(v), "no integer \"%s\" in %s", key,
	    json_dumps(obj, JSON_COMPACT));
	return (long long)json_integer_value(v);
}
