/*
 * check_shipped_files.c: the files installed beside the binaries.
 *
 * Man pages (every docs/NAME.[1-9]) must be clean under `mandoc -Tlint -Wwarning`;
 * the systemd unit must pass `systemd-analyze verify` and keep its
 * `systemd-analyze security` exposure low. Each check runs only when its
 * tool is installed, and says so on stdout when it is not.
 */
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char	repo[PATH_MAX];		/* the source tree */
static char	daemon_path[PATH_MAX + 16];

/*
 * <repo>/<build...>/tests/unit/check_shipped_files: walks up from the
 * binary to the directory holding docs/chitchatd.8; the daemon is three
 * levels up from the binary.
 */
static void
find_paths(void)
{
	char	self[PATH_MAX], probe[PATH_MAX + 32];
	ssize_t	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char	*p;

	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	snprintf(repo, sizeof(repo), "%s", self);
	for (int i = 0; i < 3 && (p = strrchr(self, '/')) != NULL; i++)
		*p = '\0';
	snprintf(daemon_path, sizeof(daemon_path), "%s/chitchatd", self);
	while ((p = strrchr(repo, '/')) != NULL) {
		*p = '\0';
		snprintf(probe, sizeof(probe), "%s/docs/chitchatd.8", repo);
		if (access(probe, R_OK) == 0)
			return;
	}
	ck_abort_msg("no docs/chitchatd.8 above %s", self);
}

static bool
have_tool(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Runs cmd with sh; its output (stdout and stderr) in out; exit status. */
static int
run(const char *cmd, char *out, size_t len)
{
	char	 full[PATH_MAX * 2];
	FILE	*p;
	size_t	 n;
	int	 status;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	p = popen(full, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

START_TEST(test_man_pages_lint_clean)
{
	char	pattern[PATH_MAX + 16], cmd[PATH_MAX * 2], out[8192];
	glob_t	g;

	if (!have_tool("mandoc")) {
		printf("check_shipped_files: mandoc not installed: man pages not linted\n");
		return;
	}
	snprintf(pattern, sizeof(pattern), "%s/docs/*.[1-9]", repo);
	ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
	ck_assert_uint_ge(g.gl_pathc, 1);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		int rc;

		snprintf(cmd, sizeof(cmd), "mandoc -Tlint -Wwarning '%s'", g.gl_pathv[i]);
		rc = run(cmd, out, sizeof(out));
		ck_assert_msg(rc == 0 && out[0] == '\0', "%s: exit %d:\n%s", g.gl_pathv[i], rc, out);
	}
	globfree(&g);
}
END_TEST

START_TEST(test_systemd_unit_verifies)
{
	char	dir[] = "/tmp/check_shipped_files.XXXXXX", cmd[PATH_MAX * 3], out[16384];
	int	rc;

	if (!have_tool("systemd-analyze")) {
		printf("check_shipped_files: systemd-analyze not installed: unit not verified\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* the unit names the installed binary: point it at this build's */
	snprintf(cmd, sizeof(cmd), "sed 's|/usr/local/sbin/chitchatd|%s|' '%s/systemd/chitchatd.service'"
	    " > '%s/chitchatd.service'", daemon_path, repo, dir);
	ck_assert_int_eq(run(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "cd '%s' && systemd-analyze verify --man=no ./chitchatd.service", dir);
	rc = run(cmd, out, sizeof(out));
	ck_assert_msg(rc == 0 && out[0] == '\0', "systemd-analyze verify: exit %d:\n%s", rc, out);
	/* exposure 2.0 at most ("OK"); it was 1.2 when the unit was written */
	snprintf(cmd, sizeof(cmd), "cd '%s' && systemd-analyze security --offline=yes --threshold=20"
	    " ./chitchatd.service", dir);
	rc = run(cmd, out, sizeof(out));
	ck_assert_msg(rc == 0, "systemd-analyze security: exit %d:\n%s", rc, out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_sysusers_declares_the_user)
{
	char	path[PATH_MAX + 32], line[256];
	FILE	*f;
	bool	found = false;

	snprintf(path, sizeof(path), "%s/systemd/chitchatd.sysusers", repo);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "u chitchatd ", 12) == 0)
			found = true;
	fclose(f);
	ck_assert(found);
}
END_TEST

static Suite *
shipped_suite(void)
{
	Suite	*s = suite_create("shipped_files");
	TCase	*tc = tcase_create("files");

	tcase_add_unchecked_fixture(tc, find_paths, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_man_pages_lint_clean);
	tcase_add_test(tc, test_systemd_unit_verifies);
	tcase_add_test(tc, test_sysusers_declares_the_user);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(shipped_suite)
