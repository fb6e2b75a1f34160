/*
 * keyring.h: the keyring file of gossip encryption (see keyring.c and
 * docs/SECURITY.md): a JSON array of base64 keys, the primary first.
 */
#ifndef KEYRING_H
#define KEYRING_H

#include "cc_seal.h"

/* The largest keyring file read (16 keys take about 800 bytes). */
#define KEYRING_MAX_FILE	65536

/*
 * Reads path into *kr. Refuses anything but a regular file owned by the
 * daemon's effective user whose mode gives no access to group or others,
 * and any text cc_keyring_parse() refuses. On error -1, *kr wiped, and
 * *cause (caller frees): one line saying why, without the path (callers
 * name the file, or the option).
 */
int	keyring_load(const char *path, struct cc_keyring *kr, char **cause);

/*
 * Replaces path with kr, atomically: a temporary file of mode 0600 in the
 * same directory, written, fsynced and renamed over path, then the
 * directory fsynced, so that a crash leaves the old file or the new one,
 * never a mix. On error -1 and *cause (caller frees), path unchanged.
 */
int	keyring_save(const char *path, const struct cc_keyring *kr, char **cause);

#endif /* KEYRING_H */
