/*
 * atomicfile.h: replacing a small file so that a crash leaves either the
 * old content or the new one, never a mix (the keyring, the peer cache).
 */
#ifndef ATOMICFILE_H
#define ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes data[0..len) to a new temporary file next to path (mkostemp, then
 * mode: exact, whatever the umask), fsyncs it, renames it over path, then
 * fsyncs the directory so the rename is durable too (a directory that
 * cannot be synced only delays durability and is not an error). Returns
 * 0, or an errno value with the temporary file removed and *step (if not
 * NULL) naming what failed: "create", "write" or "rename". Thread-safe.
 */
int	atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
	    const char **step);

#endif /* ATOMICFILE_H */
