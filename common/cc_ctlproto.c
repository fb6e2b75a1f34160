/*
 * cc_ctlproto.c: the control protocol's error table and JSON helpers,
 * shared by chitchatd (daemon/rpc.c) and chitchatctl.
 *
 * All error codes and messages live in one table, as bgpd keeps its
 * CTL_RES_* codes in one place: the daemon picks a row, the client maps a
 * code back to a row. Lines are compact JSON, so a message never contains
 * a raw newline and '\n' frames it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_ctlproto.h"
#include "cc_wire.h"

static const struct cc_ctl_error_info errors[CC_CTL_ERR_COUNT] = {
	{ CC_CTL_ERR_PARSE, -32700, "parse_error", "parse error" },
	{ CC_CTL_ERR_INVALID_REQUEST, -32600, "invalid_request", "invalid request" },
	{ CC_CTL_ERR_TOO_LARGE, -32600, "request_too_large", "request too large" },
	{ CC_CTL_ERR_METHOD_NOT_FOUND, -32601, "method_not_found", "method not found" },
	{ CC_CTL_ERR_INVALID_PARAMS, -32602, "invalid_params", "invalid params" },
	{ CC_CTL_ERR_INTERNAL, -32603, "internal_error", "internal error" },
	{ CC_CTL_ERR_NOT_FOUND, -32000, "not_found", "not found" },
	{ CC_CTL_ERR_INVALID_KV, -32001, "invalid_key_value", "invalid key or value" },
	{ CC_CTL_ERR_PROTOCOL, -32002, "protocol_mismatch",
	    "protocol version mismatch" },
	{ CC_CTL_ERR_NOT_ALLOWED, -32003, "not_allowed", "not allowed" },
	{ CC_CTL_ERR_TOO_MANY_SUBSCRIPTIONS, -32004, "too_many_subscriptions",
	    "too many subscriptions" },
	{ CC_CTL_ERR_TOO_MANY_CLIENTS, -32005, "too_many_clients", "too many clients" },
	{ CC_CTL_ERR_LAGGED, -32006, "lagged", "output queue full: client lagged" },
};

const struct cc_ctl_error_info *
cc_ctl_error_info(enum cc_ctl_err err)
{
	if ((unsigned)err >= CC_CTL_ERR_COUNT)
		return NULL;
	return &errors[err];
}

const struct cc_ctl_error_info *
cc_ctl_error_by_code(int code)
{
	for (size_t i = 0; i < CC_CTL_ERR_COUNT; i++)
		if (errors[i].code == code)
			return &errors[i];
	return NULL;
}

/* ---- reserved keys ---------------------------------------------------------- */

bool
cc_ctl_key_is_reserved(const char *key, size_t len)
{
	return len >= CC_RESERVED_PREFIX_LEN &&
	    memcmp(key, CC_RESERVED_PREFIX, CC_RESERVED_PREFIX_LEN) == 0;
}

bool
cc_ctl_prefix_shows_reserved(const char *prefix, size_t len)
{
	return cc_ctl_key_is_reserved(prefix, len);
}

bool
cc_ctl_key_is_listed(const char *key, size_t key_len, const char *prefix, size_t prefix_len)
{
	return cc_ctl_prefix_shows_reserved(prefix, prefix_len) ||
	    !cc_ctl_key_is_reserved(key, key_len);
}

/* ---- values ---------------------------------------------------------------- */

json_t *
cc_ctl_string(const char *s, size_t len)
{
	static const char	 repl[] = "\xef\xbf\xbd";	/* U+FFFD */
	json_t			*j;
	char			*buf;
	size_t			 i = 0, o = 0;

	if ((j = json_stringn(s, len)) != NULL)
		return j;
	/* not valid UTF-8 (or out of memory): replace each bad byte */
	if (len > (SIZE_MAX - 1) / 3 || (buf = malloc(len * 3 + 1)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	while (i < len) {
		size_t l = 0;

		if ((unsigned char)s[i] < 0x80)
			l = 1;
		else
			for (size_t k = 2; k <= 4 && i + k <= len; k++)
				if (cc_utf8_is_valid(s + i, k)) {
					l = k;
					break;
				}
		if (l == 0) {
			memcpy(buf + o, repl, 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(buf + o, s + i, l);
		o += l;
		i += l;
	}
	j = json_stringn(buf, o);
	free(buf);
	if (j == NULL)
		errno = ENOMEM;
	return j;
}

json_t *
cc_ctl_u64(uint64_t v)
{
	char buf[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

int
cc_ctl_get_u64(const json_t *j, uint64_t *out)
{
	const char	*s;
	uint64_t	 v = 0;

	if (json_is_integer(j) && json_integer_value(j) >= 0) {
		*out = (uint64_t)json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j) || json_string_length(j) == 0 ||
	    json_string_length(j) > 20)
		goto bad;
	s = json_string_value(j);
	for (size_t i = 0; i < json_string_length(j); i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			goto bad;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* ---- messages ---------------------------------------------------------------- */

json_t *
cc_ctl_error_new(enum cc_ctl_err err, const char *reason)
{
	const struct cc_ctl_error_info	*info = cc_ctl_error_info(err);
	json_t				*o;
	int				 rc = 0;

	if (info == NULL)
		info = &errors[CC_CTL_ERR_INTERNAL];
	if ((o = json_object()) == NULL)
		goto nomem;
	rc |= json_object_set_new(o, "code", json_integer(info->code));
	rc |= json_object_set_new(o, "message", json_string(info->message));
	if (reason != NULL)
		rc |= json_object_set_new(o, "data",
		    json_pack("{s:o}", "reason", cc_ctl_string(reason, strlen(reason))));
	if (rc == 0)
		return o;
	json_decref(o);
nomem:
	errno = ENOMEM;
	return NULL;
}

static json_t *
envelope(const json_t *id, bool with_id)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "jsonrpc", json_string("2.0")) == -1 ||
	    (with_id && json_object_set_new(o, "id",
	    id != NULL ? json_deep_copy(id) : json_null()) == -1)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
finish(json_t *o, const char *member, json_t *value)
{
	if (o == NULL || value == NULL) {
		json_decref(o);
		json_decref(value);
		errno = ENOMEM;
		return NULL;
	}
	if (json_object_set_new(o, member, value) == -1) {
		json_decref(o);
		errno = ENOMEM;
		return NULL;
	}
	return o;
}

json_t *
cc_ctl_response_new(const json_t *id, json_t *result)
{
	return finish(envelope(id, true), "result", result);
}

json_t *
cc_ctl_error_response_new(const json_t *id, json_t *error)
{
	return finish(envelope(id, true), "error", error);
}

json_t *
cc_ctl_request_new(json_int_t id, const char *method, json_t *params)
{
	json_t	*o, *jid = json_integer(id);

	o = envelope(jid, true);
	json_decref(jid);
	if (jid == NULL || (o = finish(o, "method", json_string(method))) == NULL) {
		json_decref(params);
		errno = ENOMEM;
		return NULL;
	}
	return params == NULL ? o : finish(o, "params", params);
}

json_t *
cc_ctl_notification_new(const char *method, json_t *params)
{
	json_t *o;

	if ((o = finish(envelope(NULL, false), "method", json_string(method))) == NULL) {
		json_decref(params);
		return NULL;
	}
	return params == NULL ? o : finish(o, "params", params);
}

char *
cc_ctl_encode(const json_t *j, size_t *len)
{
	size_t	 n;
	char	*buf;

	/* reals (phi) with 6 significant digits, not 17 */
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6);

	if ((n = json_dumpb(j, NULL, 0, flags)) == 0 ||
	    (buf = malloc(n + 2)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (json_dumpb(j, buf, n, flags) != n) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	buf[n] = '\n';
	buf[n + 1] = '\0';
	if (len != NULL)
		*len = n + 1;
	return buf;
}

json_t *
cc_ctl_decode(const char *line, size_t len, char *why, size_t whylen)
{
	json_error_t	 e;
	json_t		*j;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	j = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL |
	    JSON_REJECT_DUPLICATES, &e);
	if (j != NULL)
		return j;
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s at column %d", e.text, e.column);
	errno = EBADMSG;
	return NULL;
}

static bool
id_is_valid(const json_t *id)
{
	return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

int
cc_ctl_request_parse(json_t *msg, struct cc_ctl_request *req,
    enum cc_ctl_err *err, const char **why)
{
	json_t		*id, *v, *params;
	const char	*s;

	memset(req, 0, sizeof(*req));
	*err = CC_CTL_ERR_INVALID_REQUEST;
	if (!json_is_object(msg)) {
		*why = "a request must be a JSON object";
		return -1;
	}
	id = json_object_get(msg, "id");
	if (id != NULL && !id_is_valid(id)) {
		*why = "\"id\" must be a string, a number or null";
		return -1;
	}
	req->id = id;
	v = json_object_get(msg, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		*why = "\"jsonrpc\" must be \"2.0\"";
		goto fail;
	}
	v = json_object_get(msg, "method");
	if (!json_is_string(v) || (s = json_string_value(v))[0] == '\0' ||
	    strlen(s) != json_string_length(v)) {
		*why = "\"method\" must be a non-empty string";
		goto fail;
	}
	req->method = s;
	params = json_object_get(msg, "params");
	if (params != NULL && !json_is_object(params)) {
		if (json_is_array(params)) {
			*err = CC_CTL_ERR_INVALID_PARAMS;
			*why = "\"params\" must be an object (by-name parameters)";
		} else
			*why = "\"params\" must be an object";
		goto fail;
	}
	req->params = params;
	return 0;
fail:
	/* JSON-RPC answers a malformed request even without an id; the id,
	 * when usable, is kept for that reply */
	return -1;
}

int
cc_ctl_reply_parse(json_t *msg, struct cc_ctl_reply *r)
{
	json_t *v, *code, *message;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(msg))
		goto bad;
	v = json_object_get(msg, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		goto bad;
	if ((v = json_object_get(msg, "method")) != NULL) {
		if (!json_is_string(v) || json_object_get(msg, "id") != NULL)
			goto bad;
		r->kind = CC_CTL_NOTIFICATION;
		r->method = json_string_value(v);
		r->params = json_object_get(msg, "params");
		return 0;
	}
	if ((r->id = json_object_get(msg, "id")) == NULL || !id_is_valid(r->id))
		goto bad;
	if ((v = json_object_get(msg, "result")) != NULL) {
		r->kind = CC_CTL_RESULT;
		r->result = v;
		return 0;
	}
	v = json_object_get(msg, "error");
	code = json_object_get(v, "code");
	message = json_object_get(v, "message");
	if (!json_is_object(v) || !json_is_integer(code) || !json_is_string(message))
		goto bad;
	r->kind = CC_CTL_ERROR;
	r->code = (int)json_integer_value(code);
	r->message = json_string_value(message);
	r->data = json_object_get(v, "data");
	return 0;
bad:
	errno = EBADMSG;
	return -1;
}
