/*
 * atomicfile.c: see atomicfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync of the directory holding path. */
static void
sync_dir(const char *path)
{
	char	*copy = strdup(path);
	int	 fd;

	if (copy == NULL)
		return;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		(void)close(fd);
	}
	free(copy);
}

int
atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
    const char **step)
{
	char	*tmp;
	int	 fd, err = 0;

	if (step != NULL)
		*step = "create";
	if (asprintf(&tmp, "%s.XXXXXX", path) == -1)
		return ENOMEM;
	/* mkostemp creates the file with mode 0600: never wider than asked meanwhile */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		err = errno;
		free(tmp);
		return err;
	}
	if (step != NULL)
		*step = "write";
	if (fchmod(fd, mode) == -1 || write_all(fd, data, len) == -1 || fsync(fd) == -1)
		err = errno;
	if (close(fd) == -1 && err == 0)
		err = errno;
	if (err == 0) {
		if (step != NULL)
			*step = "rename";
		if (rename(tmp, path) == -1)
			err = errno;
	}
	if (err != 0)
		(void)unlink(tmp);
	else
		sync_dir(path);
	free(tmp);
	return err;
}
