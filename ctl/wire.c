/*
 * wire.c: `chitchatctl wire decode|encode`, a local tool that needs no
 * daemon: it turns one gossip datagram into the JSON description used by
 * the golden vectors (shared/vectors/README.md), and back.
 *
 * Useful to read captured traffic (tcpdump -x, hex dumps) and to craft
 * datagrams for tests. The conversion itself lives in libchitchat
 * (cc_wirejson.c), shared with the unit tests.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cc_seal.h"
#include "cc_wirejson.h"
#include "chitchatctl.h"

#define WIRE_MAX_INPUT	(64u * 1024 * 1024)

struct wire_opts {
	bool		 raw;
	bool		 pretty;
	const char	*type;
	const char	*keyring;	/* decode: opens sealed datagrams */
};

/* Reads all of stdin into wb (at most WIRE_MAX_INPUT bytes). */
static int
read_stdin(struct cc_wbuf *wb)
{
	uint8_t	buf[65536];
	size_t	n;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		if (wb->len + n > WIRE_MAX_INPUT) {
			errno = EFBIG;
			return -1;
		}
		cc_wbuf_bytes(wb, buf, n);
	}
	if (ferror(stdin))
		return -1;
	if (wb->err != 0) {
		errno = wb->err;
		return -1;
	}
	return 0;
}

static int
write_out(const char *s)
{
	if (fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF ||
	    fflush(stdout) == EOF) {
		ctl_warnx("wire: write: %s", strerror(errno));
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/*
 * A sealed datagram (gossip encryption) opened with the keyring file's
 * keys into out; anything else is left alone (0). -1 with a message.
 */
static int
wire_open(const char *keyring, const struct cc_wbuf *in, struct cc_wbuf *out, bool *opened)
{
	struct cc_keyring	 kr;
	struct cc_wbuf		 text;
	char			 why[160];
	size_t			 len, which;
	FILE			*f;
	uint8_t			 buf[65536];
	size_t			 n;
	int			 rc = -1;

	*opened = false;
	if (!cc_seal_is_sealed(in->data, in->len))
		return 0;
	memset(&kr, 0, sizeof(kr));
	if (cc_seal_init() == -1) {
		ctl_warnx("wire decode: libsodium cannot initialise");
		return -1;
	}
	if ((f = fopen(keyring, "r")) == NULL) {
		ctl_warnx("wire decode: %s: %s", keyring, strerror(errno));
		return -1;
	}
	cc_wbuf_init(&text);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && text.len < 1024 * 1024)
		cc_wbuf_bytes(&text, buf, n);
	fclose(f);
	if (text.err != 0 ||
	    cc_keyring_parse((const char *)text.data, text.len, &kr, why, sizeof(why)) == -1) {
		ctl_warnx("wire decode: %s: %s", keyring, text.err != 0 ? strerror(text.err) : why);
		goto out;
	}
	cc_wbuf_reset(out);
	cc_wbuf_bytes(out, in->data, in->len);		/* room for the plaintext */
	if (out->err != 0 || cc_open(&kr, in->data, in->len, out->data, out->cap, &len,
	    &which) == -1) {
		ctl_warnx("wire decode: the sealed datagram does not open with %s", keyring);
		goto out;
	}
	out->len = len;
	*opened = true;
	rc = 0;
out:
	cc_keyring_clear(&kr);
	if (text.data != NULL)
		sodium_memzero(text.data, text.cap);
	cc_wbuf_clear(&text);
	return rc;
}

static json_t *
wire_decode_bytes(const struct wire_opts *o, const uint8_t *p, size_t n,
    const char **why)
{
	struct cc_codec_ctx	*ctx;
	json_t			*j;

	if (o->type != NULL)
		return cc_wirejson_decode_prim(o->type, p, n, why);
	if ((ctx = cc_codec_ctx_new()) == NULL) {
		*why = strerror(errno);
		return NULL;
	}
	j = cc_wirejson_decode_msg(p, n, ctx, why);
	cc_codec_ctx_free(ctx);
	return j;
}

static int
wire_decode(const struct ctl_command *cmd, const struct wire_opts *o)
{
	struct cc_wbuf	 in, bytes, sealed;
	const struct cc_wbuf *src = &in;
	const char	*why = NULL;
	json_t		*j = NULL;
	char		*s = NULL;
	int		 rc = CTL_EXIT_FAIL;

	cc_wbuf_init(&in);
	cc_wbuf_init(&bytes);
	cc_wbuf_init(&sealed);
	if (read_stdin(&in) == -1) {
		ctl_warnx("wire decode: reading stdin: %s", strerror(errno));
		goto out;
	}
	if (!o->raw) {
		if (cc_wirejson_unhex((const char *)in.data, in.len,
		    &bytes) == -1) {
			ctl_warnx("wire decode: invalid hex input");
			goto out;
		}
		src = &bytes;
	}
	if (o->keyring != NULL && o->type == NULL) {
		bool opened;

		if (wire_open(o->keyring, src, &sealed, &opened) == -1)
			goto out;
		if (opened)
			src = &sealed;
	}
	j = wire_decode_bytes(o, src->data, src->len, &why);
	if (j == NULL && errno == EINVAL) {
		rc = ctl_usage_error(cmd, "wire decode: unknown type: %s",
		    o->type);
		goto out;
	}
	if (j == NULL) {
		ctl_warnx("wire decode: invalid %s: %s",
		    o->type != NULL ? o->type : "datagram",
		    why != NULL ? why : strerror(errno));
		goto out;
	}
	if ((s = cc_wirejson_dumps(j, o->pretty ? CC_WIREJSON_PRETTY : 0)) ==
	    NULL) {
		ctl_warnx("wire decode: %s", strerror(errno));
		goto out;
	}
	rc = write_out(s);
out:
	free(s);
	json_decref(j);
	cc_wbuf_clear(&in);
	cc_wbuf_clear(&bytes);
	cc_wbuf_clear(&sealed);
	return rc;
}

/* The object to encode: a `decoded` object, or a vector holding one. */
static const json_t *
wire_decoded_of(const json_t *j)
{
	const json_t *d = json_object_get(j, "decoded");

	return json_is_object(d) ? d : j;
}

static int
wire_encode(const struct wire_opts *o)
{
	struct cc_wbuf	 in, out;
	json_error_t	 jerr;
	json_t		*j = NULL;
	char		 err[256], *hex = NULL;
	int		 rc = CTL_EXIT_FAIL;

	cc_wbuf_init(&in);
	cc_wbuf_init(&out);
	if (read_stdin(&in) == -1) {
		ctl_warnx("wire encode: reading stdin: %s", strerror(errno));
		goto out;
	}
	if ((j = cc_wirejson_loads((const char *)in.data, in.len, &jerr)) ==
	    NULL) {
		ctl_warnx("wire encode: invalid JSON: line %d: %s", jerr.line,
		    jerr.text);
		goto out;
	}
	if (cc_wirejson_encode(wire_decoded_of(j), &out, NULL, err,
	    sizeof(err)) == -1) {
		ctl_warnx("wire encode: %s", err);
		goto out;
	}
	if (o->raw) {
		if (fwrite(out.data, 1, out.len, stdout) != out.len ||
		    fflush(stdout) == EOF)
			ctl_warnx("wire encode: write: %s", strerror(errno));
		else
			rc = CTL_EXIT_OK;
		goto out;
	}
	if ((hex = cc_wirejson_hex(out.data, out.len)) == NULL) {
		ctl_warnx("wire encode: %s", strerror(errno));
		goto out;
	}
	rc = write_out(hex);
out:
	free(hex);
	json_decref(j);
	cc_wbuf_clear(&in);
	cc_wbuf_clear(&out);
	return rc;
}

static void
wire_opts_of(const struct ctl *ctl, struct wire_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->raw = ctl_has(ctl, "raw");
	o->pretty = ctl_has(ctl, "pretty");
	o->type = ctl_opt(ctl, "type");
	o->keyring = ctl_opt(ctl, "keyring");
}

int
cmd_wire_check(struct ctl *ctl)
{
	const char *sub = ctl->args[0];

	if (strcmp(sub, "decode") != 0 && strcmp(sub, "encode") != 0)
		return ctl_usage_error(ctl->cmd, "wire: unknown subcommand: %s",
		    sub);
	if (strcmp(sub, "encode") == 0 && ctl_has(ctl, "pretty"))
		return ctl_usage_error(ctl->cmd,
		    "wire encode: --pretty is for decode");
	if (strcmp(sub, "encode") == 0 && ctl_has(ctl, "type"))
		return ctl_usage_error(ctl->cmd,
		    "wire encode: --type is for decode");
	return CTL_EXIT_OK;
}

int
cmd_wire(struct ctl *ctl)
{
	struct wire_opts o;

	wire_opts_of(ctl, &o);
	if (strcmp(ctl->args[0], "decode") == 0)
		return wire_decode(ctl->cmd, &o);
	return wire_encode(&o);
}
