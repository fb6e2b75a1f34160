/*
 * keyring.c: the keyring file: load (with the checks of its type, owner
 * and mode) and atomic save.
 *
 * The file holds the keys that let anyone join and read the cluster, so
 * a file that other users could read (or write: a planted key is a way
 * in) is refused outright rather than warned about, as ssh does with
 * private keys. Changes made through the control socket (keys_install,
 * keys_use, keys_remove) are saved here before they take effect, so a
 * restart comes back with the keyring that was running.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "atomicfile.h"
#include "ccd.h"
#include "keyring.h"

/* Whether st may hold keys: a regular file of ours, closed to others. */
static int
keyring_check(const struct stat *st, char **cause)
{
	if (!S_ISREG(st->st_mode))
		return ccd_cause(cause, "not a regular file");
	if (st->st_uid != geteuid())
		return ccd_cause(cause, "owned by uid %u, not by the daemon's user (uid %u)",
		    (unsigned)st->st_uid, (unsigned)geteuid());
	if ((st->st_mode & 077) != 0)
		return ccd_cause(cause, "mode %04o gives group or others access to the keys "
		    "(chmod 600)", (unsigned)(st->st_mode & 07777));
	if (st->st_size > KEYRING_MAX_FILE)
		return ccd_cause(cause, "larger than %d bytes", KEYRING_MAX_FILE);
	return 0;
}

/* The whole file into buf (wiped by the caller). */
static int
read_all(int fd, char *buf, size_t cap, size_t *len, char **cause)
{
	ssize_t n;

	*len = 0;
	for (;;) {
		n = read(fd, buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return ccd_cause(cause, "cannot read: %s", strerror(errno));
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len == cap)
			return ccd_cause(cause, "larger than %d bytes", KEYRING_MAX_FILE);
	}
}

int
keyring_load(const char *path, struct cc_keyring *kr, char **cause)
{
	static char	text[KEYRING_MAX_FILE + 1];
	char		why[200];
	struct stat	st;
	size_t		len = 0;
	int		fd, rc = -1;

	*cause = NULL;
	cc_keyring_clear(kr);
	if (cc_seal_init() == -1)
		return ccd_cause(cause, "libsodium cannot be initialised");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return ccd_cause(cause, "%s", strerror(errno));
	/* the checks apply to what was opened, not to what the name points to later */
	if (fstat(fd, &st) == -1)
		ccd_cause(cause, "%s", strerror(errno));
	else if (keyring_check(&st, cause) == 0 &&
	    read_all(fd, text, sizeof(text), &len, cause) == 0) {
		if (cc_keyring_parse(text, len, kr, why, sizeof(why)) == 0)
			rc = 0;
		else
			ccd_cause(cause, "%s", why);
	}
	sodium_memzero(text, len);
	close(fd);
	return rc;
}

int
keyring_save(const char *path, const struct cc_keyring *kr, char **cause)
{
	const char	*step;
	char		*text;
	size_t		 len;
	int		 err;

	*cause = NULL;
	if ((text = cc_keyring_format(kr, &len)) == NULL)
		return ccd_cause(cause, "out of memory");
	/*
	 * Once the new file is in place, failing would leave the daemon
	 * running the old keyring over a file holding the new one: the
	 * directory sync that follows the rename is best effort.
	 */
	err = atomicfile_write(path, text, len, 0600, &step);
	cc_keyring_text_free(text, len);
	if (err == 0)
		return 0;
	if (strcmp(step, "create") == 0)
		return ccd_cause(cause, "cannot create a temporary file next to %s: %s", path,
		    strerror(err));
	return ccd_cause(cause, "cannot %s %s: %s", step, path, strerror(err));
}
