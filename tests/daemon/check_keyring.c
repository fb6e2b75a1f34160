/*
 * check_keyring.c: daemon/keyring.c called directly: the keyring file's
 * checks (mode, type, owner, size, content) and its atomic save, and the
 * configuration options that read it (encryption, keyring).
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../daemon/config.h"
#include "../../daemon/keyring.h"
#include "testutil.h"

static char dir[64];

static void
setup(void)
{
	ck_assert_int_eq(cc_seal_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/check_keyring.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* dir/name holding text, with mode; the path in path. */
static void
write_file(char *path, size_t len, const char *name, mode_t mode, const char *text)
{
	int fd;

	snprintf(path, len, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

/* A keyring text of n fresh keys; the keys in kr. */
static void
keyring_text(struct cc_keyring *kr, size_t n, char *text, size_t len)
{
	size_t off = 0;

	memset(kr, 0, sizeof(*kr));
	off += (size_t)snprintf(text + off, len - off, "[");
	for (size_t i = 0; i < n; i++) {
		uint8_t	key[CC_KEY_LEN];
		char	b64[CC_KEY_B64_LEN + 1];

		cc_key_generate(key);
		ck_assert_int_eq(cc_keyring_add(kr, key), 0);
		cc_key_to_base64(key, b64);
		off += (size_t)snprintf(text + off, len - off, "%s\"%s\"", i > 0 ? ", " : "", b64);
	}
	snprintf(text + off, len - off, "]\n");
}

static char *
load_err(const char *path)
{
	struct cc_keyring	 kr;
	char			*cause = NULL;

	memset(&kr, 0xff, sizeof(kr));
	ck_assert_int_eq(keyring_load(path, &kr, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strchr(cause, '\n') == NULL, "multi-line: %s", cause);
	ck_assert_uint_eq(kr.n, 0);
	return cause;
}

START_TEST(test_mode_0600_accepted_0644_refused)
{
	struct cc_keyring	 want, kr;
	char			 path[128], text[512], *cause = NULL;
	static const mode_t	 refused[] = { 0644, 0640, 0604, 0660, 0606, 0610, 0601, 0666 };

	keyring_text(&want, 2, text, sizeof(text));
	write_file(path, sizeof(path), "keyring", 0600, text);
	ck_assert_int_eq(keyring_load(path, &kr, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert(cc_keyring_is_equal(&kr, &want));
	/* 0400 is fine too: only group and other bits matter */
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(keyring_load(path, &kr, &cause), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char want_why[80];

		ck_assert_int_eq(chmod(path, refused[i]), 0);
		cause = load_err(path);
		snprintf(want_why, sizeof(want_why), "mode %04o gives group or others access",
		    (unsigned)refused[i]);
		ck_assert_msg(strstr(cause, want_why) != NULL, "%s", cause);
		free(cause);
	}
	cc_keyring_clear(&kr);
	cc_keyring_clear(&want);
}
END_TEST

START_TEST(test_not_a_regular_file_missing_owner_size_content)
{
	struct cc_keyring	 kr;
	char			 path[128], sub[128], *cause, *big;

	/* a directory, a missing file */
	snprintf(sub, sizeof(sub), "%s/d", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	cause = load_err(sub);
	ck_assert_str_eq(cause, "not a regular file");
	free(cause);
	snprintf(path, sizeof(path), "%s/missing", dir);
	cause = load_err(path);
	ck_assert_str_eq(cause, strerror(ENOENT));
	free(cause);
	/* bad content: the parser's reason */
	write_file(path, sizeof(path), "empty", 0600, "[]");
	cause = load_err(path);
	ck_assert_str_eq(cause, "no keys (the array is empty)");
	free(cause);
	write_file(path, sizeof(path), "short", 0600, "[\"c2hvcnQ=\"]");
	cause = load_err(path);
	ck_assert(strstr(cause, "key 1: not a key") != NULL);
	free(cause);
	/* larger than any keyring */
	big = malloc(KEYRING_MAX_FILE + 2);
	memset(big, ' ', KEYRING_MAX_FILE + 1);
	big[KEYRING_MAX_FILE + 1] = '\0';
	write_file(path, sizeof(path), "big", 0600, big);
	free(big);
	cause = load_err(path);
	ck_assert(strstr(cause, "larger than") != NULL);
	free(cause);
	/* owned by someone else (root only can make one) */
	if (geteuid() == 0) {
		char text[256];

		keyring_text(&kr, 1, text, sizeof(text));
		write_file(path, sizeof(path), "theirs", 0600, text);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		cause = load_err(path);
		ck_assert_msg(strstr(cause, "owned by uid 65534") != NULL, "%s", cause);
		free(cause);
	}
}
END_TEST

static size_t
count_entries(void)
{
	DIR		*d = opendir(dir);
	struct dirent	*e;
	size_t		 n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

START_TEST(test_atomic_save_reloads)
{
	struct cc_keyring	 kr, back;
	char			 path[128], text[512], *cause = NULL;
	struct stat		 st;
	mode_t			 old = umask(0);

	keyring_text(&kr, 1, text, sizeof(text));
	write_file(path, sizeof(path), "keyring", 0600, text);
	/* a second key, saved over the file: it re-loads, mode 0600 even with umask 0 */
	{
		uint8_t key[CC_KEY_LEN];

		cc_key_generate(key);
		ck_assert_int_eq(cc_keyring_add(&kr, key), 0);
		ck_assert_int_eq(cc_keyring_use(&kr, 1), 0);
	}
	ck_assert_int_eq(keyring_save(path, &kr, &cause), 0);
	ck_assert_ptr_null(cause);
	umask(old);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(keyring_load(path, &back, &cause), 0);
	ck_assert(cc_keyring_is_equal(&kr, &back));
	ck_assert_uint_eq(count_entries(), 1);		/* no temporary file left */
	/* a new file, too */
	snprintf(path, sizeof(path), "%s/new", dir);
	ck_assert_int_eq(keyring_save(path, &kr, &cause), 0);
	ck_assert_int_eq(keyring_load(path, &back, &cause), 0);
	ck_assert(cc_keyring_is_equal(&kr, &back));
	/* a directory that is gone: an error naming the file, nothing left behind */
	snprintf(path, sizeof(path), "%s/gone/keyring", dir);
	ck_assert_int_eq(keyring_save(path, &kr, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, path) != NULL, "%s", cause);
	free(cause);
	ck_assert_uint_eq(count_entries(), 2);
	cc_keyring_clear(&kr);
	cc_keyring_clear(&back);
}
END_TEST

/* ---- the options --------------------------------------------------------------------- */

static struct ccd_config *
config(char **cause, ...)
{
	struct ccd_config	*c = NULL;
	enum config_action	 act;
	char			*argv[16];
	int			 argc = 0;
	const char		*s;
	va_list			 ap;

	argv[argc++] = (char *)"chitchatd";
	va_start(ap, cause);
	while ((s = va_arg(ap, const char *)) != NULL)
		argv[argc++] = (char *)s;
	va_end(ap);
	argv[argc] = NULL;
	*cause = NULL;
	if (config_load(argc, argv, &c, &act, cause) == -1)
		ck_assert_ptr_null(c);
	return c;
}

START_TEST(test_options)
{
	struct ccd_config	*c;
	struct cc_keyring	 want;
	struct cc_config	 e;
	char			 path[128], conf[128], text[512], *cause, want_cause[512];

	/* off by default, with the whole datagram budget */
	c = config(&cause, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->encryption, GOSSIP_ENC_OFF);
	ck_assert_ptr_null(c->keyring);
	ck_assert_ptr_null(c->keys);
	config_engine(c, &e);
	ck_assert_uint_eq(e.max_datagram, 65507);
	config_free(c);

	/* on and upshift need a keyring */
	ck_assert_ptr_null(config(&cause, "--encryption", "on", NULL));
	ck_assert_str_eq(cause, "--encryption on: needs a keyring (--keyring FILE; "
	    "chitchatctl keygen makes a key)");
	free(cause);
	ck_assert_ptr_null(config(&cause, "--encryption", "yes", NULL));
	ck_assert_str_eq(cause, "--encryption yes: expected off, upshift or on");
	free(cause);
	ck_assert_ptr_null(config(&cause, "--keyring", "", NULL));
	free(cause);

	/* the keyring is read with the configuration: a bad one names file and mode */
	keyring_text(&want, 2, text, sizeof(text));
	write_file(path, sizeof(path), "keyring", 0644, text);
	ck_assert_ptr_null(config(&cause, "--encryption", "upshift", "--keyring", path, NULL));
	snprintf(want_cause, sizeof(want_cause), "--keyring %s: mode 0644 gives group or others "
	    "access to the keys (chmod 600)", path);
	ck_assert_str_eq(cause, want_cause);
	free(cause);
	/* from the file, with file:line */
	snprintf(text, sizeof(text), "encryption = on\nkeyring = %s\n", path);
	write_file(conf, sizeof(conf), "conf", 0600, text);
	ck_assert_ptr_null(config(&cause, "--config", conf, NULL));
	snprintf(want_cause, sizeof(want_cause), "%s:2: keyring = %s: mode 0644", conf, path);
	ck_assert_msg(strncmp(cause, want_cause, strlen(want_cause)) == 0, "%s", cause);
	free(cause);

	ck_assert_int_eq(chmod(path, 0600), 0);
	c = config(&cause, "--config", conf, NULL);
	ck_assert_msg(c != NULL, "%s", cause);
	ck_assert_int_eq(c->encryption, GOSSIP_ENC_ON);
	ck_assert_str_eq(c->keyring, path);
	ck_assert(cc_keyring_is_equal(c->keys, &want));
	/* sealing adds 42 bytes: the budgets leave room for them */
	config_engine(c, &e);
	ck_assert_uint_eq(e.max_datagram, 65507 - 42);
	config_free(c);
	c = config(&cause, "--config", conf, "--max-datagram-size", "512", NULL);
	config_engine(c, &e);
	ck_assert_uint_eq(e.max_datagram, 512 - 42);
	config_free(c);
	/* off ignores the keyring: it is not even read */
	ck_assert_int_eq(chmod(path, 0666), 0);
	c = config(&cause, "--config", conf, "--encryption", "off", NULL);
	ck_assert_msg(c != NULL, "%s", cause);
	ck_assert_ptr_null(c->keys);
	config_free(c);
	cc_keyring_clear(&want);
}
END_TEST

static Suite *
keyring_suite(void)
{
	Suite	*s = suite_create("keyring");
	TCase	*tc = tcase_create("keyring");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mode_0600_accepted_0644_refused);
	tcase_add_test(tc, test_not_a_regular_file_missing_owner_size_content);
	tcase_add_test(tc, test_atomic_save_reloads);
	tcase_add_test(tc, test_options);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(keyring_suite)
