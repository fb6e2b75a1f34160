/*
 * options.h: command-line options of chitchatd (see options.c).
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include "cc.h"
#include "cc_version.h"

struct initial_kv {
	char	*key;
	char	*value;
};

struct options {
	struct cc_config	 cfg;		/* points into the fields below */
	struct cc_id		 self;
	char			*cluster_id;
	struct cc_addr		 listen;
	struct cc_addr		*seeds;
	size_t			 n_seeds;
	struct initial_kv	*initial;
	size_t			 n_initial;
	int			 log_level;
};

enum options_result {
	OPTIONS_RUN,
	OPTIONS_HELP,
	OPTIONS_VERSION,
	OPTIONS_ERROR,		/* already reported on stderr */
};

enum options_result options_parse(struct options *, int argc, char **argv);
void	options_clear(struct options *);
/* "500ms", "10s", "15m", "2h", "1d" -> milliseconds. -1 on error. */
int	options_parse_duration(const char *, uint64_t *ms);

#endif /* OPTIONS_H */
