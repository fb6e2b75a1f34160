/*
 * wirevec.h: loads the golden wire vectors (every .json file of
 * shared/vectors) for the codec, vector and chitchatctl tests.
 *
 * The directory comes from $CHITCHAT_VECTORS, else "../shared/vectors"
 * relative to the current directory (tests run from the repository root).
 * Files are read with cc_wirejson_loads, so u64 values above INT64_MAX
 * survive (see cc_wirejson.h).
 */
#ifndef WIREVEC_H
#define WIREVEC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct wirevec {
	char		*name;		/* file name without ".json" */
	char		*path;
	char		*text;		/* the file, NUL-terminated */
	size_t		 text_len;
	json_t		*file;		/* the whole file object */
	const json_t	*decoded;	/* borrowed from file */
	const char	*kind;		/* "message" or "primitive" */
	const char	*type;		/* primitive type, or NULL */
	const char	*hex;		/* borrowed from file */
	uint8_t		*bytes;
	size_t		 len;
};

const char	*wirevec_dir(void);
/*
 * Loads every *.json file of the directory, sorted by name. Fails the
 * current Check test on any unreadable or malformed file. Returns the count.
 */
size_t		 wirevec_load_all(struct wirevec **);
void		 wirevec_free_all(struct wirevec *, size_t);

#endif /* WIREVEC_H */
