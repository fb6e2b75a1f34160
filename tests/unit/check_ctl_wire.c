/*
 * check_ctl_wire.c: `chitchatctl wire decode|encode` run as a real
 * process on every golden vector, plus its error and usage exit codes.
 *
 * The binary is $CHITCHATCTL, else the chitchatctl of the build directory
 * this test was built in (<builddir>/tests/unit/check_ctl_wire ->
 * <builddir>/chitchatctl, so the sanitizer build tests its own binary),
 * else build/chitchatctl.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cc_seal.h"
#include "cc_wirejson.h"
#include "testutil.h"
#include "wirevec.h"

extern char **environ;

static struct wirevec	*vecs;
static size_t		 nvecs;

struct run {
	int	 status;	/* exit code, or -1 if killed */
	char	*out;
	size_t	 out_len;
	char	*err;
	size_t	 err_len;
};

static void
setup(void)
{
	nvecs = wirevec_load_all(&vecs);
}

static void
teardown(void)
{
	wirevec_free_all(vecs, nvecs);
	vecs = NULL;
	nvecs = 0;
}

static const char *
ctl_path(void)
{
	static char	 path[PATH_MAX];
	const char	*env = getenv("CHITCHATCTL");
	ssize_t		 n;
	char		*slash;
	int		 i;

	if (env != NULL && env[0] != '\0')
		return env;
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
		for (i = 0; i < 3 && (slash = strrchr(path, '/')) != NULL; i++)
			*slash = '\0';
		if (strlen(path) + sizeof("/chitchatctl") <= sizeof(path)) {
			strcat(path, "/chitchatctl");
			if (access(path, X_OK) == 0)
				return path;
		}
	}
	return "build/chitchatctl";
}

static int
tmp_fd(void)
{
	char	tmpl[] = "/tmp/check_ctl_wire.XXXXXX";
	int	fd = mkstemp(tmpl);

	ck_assert_int_ge(fd, 0);
	unlink(tmpl);
	return fd;
}

static char *
slurp_fd(int fd, size_t *len)
{
	struct cc_wbuf	wb;
	char		buf[65536];
	ssize_t		n;

	cc_wbuf_init(&wb);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		cc_wbuf_bytes(&wb, buf, (size_t)n);
	cc_wbuf_u8(&wb, 0);
	ck_assert_int_eq(wb.err, 0);
	close(fd);
	*len = wb.len - 1;
	return (char *)wb.data;
}

/* Runs chitchatctl args[] (NULL-terminated) with the given stdin. */
static void
run_ctl(struct run *r, const char *in, size_t in_len,
    const char *const *args)
{
	posix_spawn_file_actions_t	 fa;
	const char			*argv[16];
	pid_t				 pid;
	int				 fin, fout, ferr, st, argc = 0;

	argv[argc++] = ctl_path();
	while (argc < 15 && args[argc - 1] != NULL) {
		argv[argc] = args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	fin = tmp_fd();
	fout = tmp_fd();
	ferr = tmp_fd();
	ck_assert_int_eq(write(fin, in, in_len), (ssize_t)in_len);
	ck_assert_int_eq(lseek(fin, 0, SEEK_SET), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fin, 0);
	posix_spawn_file_actions_adddup2(&fa, fout, 1);
	posix_spawn_file_actions_adddup2(&fa, ferr, 2);
	ck_assert_msg(posix_spawn(&pid, argv[0], &fa, NULL, (char **)argv,
	    environ) == 0, "cannot run %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(fin);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->out = slurp_fd(fout, &r->out_len);
	r->err = slurp_fd(ferr, &r->err_len);
}

#define ARGS(...)	((const char *const []){ __VA_ARGS__, NULL })

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* The output is exactly one newline-terminated line. */
static void
assert_one_line(const char *what, const char *s, size_t len)
{
	ck_assert_msg(len > 0 && s[len - 1] == '\n' && count_lines(s) == 1,
	    "%s: not one line: %s", what, s);
}

static void
assert_decoded(const struct wirevec *v, const struct run *r)
{
	json_error_t	 jerr;
	json_t		*j;
	char		*exp;

	ck_assert_msg(r->status == 0, "%s: exit %d: %s", v->name, r->status,
	    r->err);
	ck_assert_uint_eq(r->err_len, 0);
	j = cc_wirejson_loads(r->out, r->out_len, &jerr);
	ck_assert_msg(j != NULL, "%s: bad JSON output: %s", v->name, jerr.text);
	exp = cc_wirejson_dumps(v->decoded, 0);
	ck_assert_msg(json_equal(j, v->decoded), "%s: got %.1000s\nwant %.1000s",
	    v->name, r->out, exp);
	free(exp);
	json_decref(j);
}

START_TEST(test_ctl_wire_decode_vectors)
{
	struct run	r;
	size_t		i;

	for (i = 0; i < nvecs; i++) {
		if (strcmp(vecs[i].kind, "message") == 0)
			run_ctl(&r, vecs[i].hex, strlen(vecs[i].hex),
			    ARGS("wire", "decode"));
		else
			run_ctl(&r, vecs[i].hex, strlen(vecs[i].hex),
			    ARGS("wire", "decode", "--type", vecs[i].type));
		assert_decoded(&vecs[i], &r);
		assert_one_line(vecs[i].name, r.out, r.out_len);
		run_free(&r);
	}
}
END_TEST

/*
 * --keyring opens a sealed datagram (gossip encryption) before decoding:
 * every message vector sealed with a key decodes to its `decoded`; with
 * a keyring that lacks the key, or without --keyring, it fails (exit 1).
 */
START_TEST(test_ctl_wire_decode_sealed_with_keyring)
{
	uint8_t		 key[CC_KEY_LEN], other[CC_KEY_LEN], *box;
	char		 b64[CC_KEY_B64_LEN + 1], good[64], bad[64], *hex;
	struct run	 r;
	size_t		 i, len, done = 0;
	FILE		*f;

	ck_assert_int_eq(cc_seal_init(), 0);
	cc_key_generate(key);
	cc_key_generate(other);
	snprintf(good, sizeof(good), "/tmp/ccwire-good-%d.json", (int)getpid());
	snprintf(bad, sizeof(bad), "/tmp/ccwire-bad-%d.json", (int)getpid());
	cc_key_to_base64(key, b64);
	ck_assert_ptr_nonnull(f = fopen(good, "w"));
	fprintf(f, "[\"%s\"]\n", b64);
	fclose(f);
	cc_key_to_base64(other, b64);
	ck_assert_ptr_nonnull(f = fopen(bad, "w"));
	fprintf(f, "[\"%s\"]\n", b64);
	fclose(f);
	for (i = 0; i < nvecs; i++) {
		if (strcmp(vecs[i].kind, "message") != 0)
			continue;
		ck_assert_ptr_nonnull(box = malloc(vecs[i].len + CC_SEAL_OVERHEAD));
		ck_assert_int_eq(cc_seal(key, vecs[i].bytes, vecs[i].len, box,
		    vecs[i].len + CC_SEAL_OVERHEAD, &len), 0);
		ck_assert_ptr_nonnull(hex = cc_wirejson_hex(box, len));
		run_ctl(&r, hex, strlen(hex), ARGS("wire", "decode", "--keyring", good));
		assert_decoded(&vecs[i], &r);
		run_free(&r);
		if (done++ == 0) {
			run_ctl(&r, hex, strlen(hex), ARGS("wire", "decode", "--keyring", bad));
			ck_assert_int_eq(r.status, 1);
			ck_assert_ptr_nonnull(strstr(r.err, "does not open"));
			run_free(&r);
			run_ctl(&r, hex, strlen(hex), ARGS("wire", "decode"));
			ck_assert_int_eq(r.status, 1);
			run_free(&r);
			/* a plaintext datagram is decoded as it is, keyring or not */
			run_ctl(&r, vecs[i].hex, strlen(vecs[i].hex),
			    ARGS("wire", "decode", "--keyring", bad));
			assert_decoded(&vecs[i], &r);
			run_free(&r);
		}
		free(hex);
		free(box);
	}
	ck_assert_uint_gt(done, 0);
	unlink(good);
	unlink(bad);
}
END_TEST

START_TEST(test_ctl_wire_encode_vectors)
{
	struct run	 r;
	char		*exp;
	size_t		 i;

	for (i = 0; i < nvecs; i++) {
		/* The whole vector file: its `decoded` member is used. */
		run_ctl(&r, vecs[i].text, vecs[i].text_len,
		    ARGS("wire", "encode"));
		ck_assert_msg(r.status == 0, "%s: exit %d: %s", vecs[i].name,
		    r.status, r.err);
		ck_assert_int_ge(asprintf(&exp, "%s\n", vecs[i].hex), 0);
		ck_assert_msg(strcmp(r.out, exp) == 0, "%s: got %.300s",
		    vecs[i].name, r.out);
		free(exp);
		run_free(&r);
	}
}
END_TEST

START_TEST(test_ctl_wire_decode_pretty_and_raw)
{
	struct run	r;
	char		*text;
	size_t		i;

	for (i = 0; i < nvecs; i++) {
		if (strcmp(vecs[i].kind, "message") != 0)
			continue;
		/* Hex with whitespace and newlines, pretty output. */
		ck_assert_int_ge(asprintf(&text, "  %.6s\n%s\n\n", vecs[i].hex,
		    vecs[i].hex + 6), 0);
		run_ctl(&r, text, strlen(text),
		    ARGS("wire", "decode", "--pretty"));
		free(text);
		assert_decoded(&vecs[i], &r);
		ck_assert_uint_gt(count_lines(r.out), 1);
		run_free(&r);
		/* Raw bytes. */
		run_ctl(&r, (const char *)vecs[i].bytes, vecs[i].len,
		    ARGS("wire", "decode", "--raw"));
		assert_decoded(&vecs[i], &r);
		run_free(&r);
	}
	/* encode --raw prints the bytes themselves. */
	for (i = 0; i < nvecs; i++) {
		run_ctl(&r, vecs[i].text, vecs[i].text_len,
		    ARGS("wire", "encode", "--raw"));
		ck_assert_int_eq(r.status, 0);
		ck_assert_uint_eq(r.out_len, vecs[i].len);
		ck_assert_int_eq(memcmp(r.out, vecs[i].bytes, vecs[i].len), 0);
		run_free(&r);
	}
}
END_TEST

static void
assert_fails(const char *in, const char *sub, const char *prefix)
{
	struct run r;

	run_ctl(&r, in, strlen(in), ARGS("wire", sub));
	ck_assert_msg(r.status == 1, "exit %d for %s", r.status, in);
	ck_assert_uint_eq(r.out_len, 0);
	assert_one_line(in, r.err, r.err_len);
	ck_assert_msg(strncmp(r.err, prefix, strlen(prefix)) == 0,
	    "stderr: %s", r.err);
	run_free(&r);
}

START_TEST(test_ctl_wire_garbage_exits_1)
{
	const char *dg = "chitchatctl: wire decode: invalid datagram: ";

	assert_fails("6a756e6b\n", "decode", dg);		/* "junk" */
	assert_fails("", "decode", dg);
	assert_fails("53b000ff\n", "decode", dg);
	assert_fails("53b00002 03000000\n", "decode", dg);
	assert_fails("53b00002 0201000000\n", "decode", dg);
	assert_fails("not hex at all\n", "decode",
	    "chitchatctl: wire decode: invalid hex input");
	assert_fails("53b\n", "decode",
	    "chitchatctl: wire decode: invalid hex input");
	assert_fails("{nope", "encode", "chitchatctl: wire encode: ");
	assert_fails("{\"kind\":\"message\",\"message_type\":\"Ack\"}", "encode",
	    "chitchatctl: wire encode: ");
	assert_fails("[1,2]", "encode", "chitchatctl: wire encode: ");
}
END_TEST

static void
assert_usage(int expect, const char *a0, const char *a1, const char *a2)
{
	struct run r;

	run_ctl(&r, "", 0, ARGS(a0, a1, a2));
	ck_assert_msg(r.status == expect, "%s %s %s: exit %d", a0 ? a0 : "",
	    a1 ? a1 : "", a2 ? a2 : "", r.status);
	if (expect == 2) {
		ck_assert_uint_gt(r.err_len, 0);
		ck_assert_uint_eq(r.out_len, 0);
	}
	run_free(&r);
}

START_TEST(test_ctl_usage_exits_2)
{
	assert_usage(2, NULL, NULL, NULL);
	assert_usage(2, "frobnicate", NULL, NULL);
	assert_usage(2, "wire", NULL, NULL);
	assert_usage(2, "wire", "bogus", NULL);
	assert_usage(2, "wire", "decode", "--bogus");
	assert_usage(2, "wire", "encode", "--pretty");
	assert_usage(2, "version", "extra", NULL);
	assert_usage(2, "-Z", NULL, NULL);
}
END_TEST

START_TEST(test_ctl_version_and_help)
{
	struct run r;

	run_ctl(&r, "", 0, ARGS("version"));
	ck_assert_int_eq(r.status, 0);
	ck_assert(strncmp(r.out, "chitchatctl ", 12) == 0);
	assert_one_line("version", r.out, r.out_len);
	run_free(&r);
	run_ctl(&r, "", 0, ARGS("help"));
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "wire"));
	run_free(&r);
	run_ctl(&r, "", 0, ARGS("-V"));
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
}
END_TEST

static Suite *
ctl_wire_suite(void)
{
	Suite	*s = suite_create("ctl_wire");
	TCase	*tc = tcase_create("ctl_wire");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ctl_wire_decode_vectors);
	tcase_add_test(tc, test_ctl_wire_decode_sealed_with_keyring);
	tcase_add_test(tc, test_ctl_wire_encode_vectors);
	tcase_add_test(tc, test_ctl_wire_decode_pretty_and_raw);
	tcase_add_test(tc, test_ctl_wire_garbage_exits_1);
	tcase_add_test(tc, test_ctl_usage_exits_2);
	tcase_add_test(tc, test_ctl_version_and_help);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(ctl_wire_suite)
