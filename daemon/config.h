/*
 * config.h: chitchatd's configuration: command-line flags and a config
 * file with the same names (see config.c and chitchatd(8)).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ccd.h"

enum config_action {
	CONFIG_RUN,		/* start the daemon */
	CONFIG_HELP,		/* -h: print config_usage() */
	CONFIG_VERSION,		/* -V */
	CONFIG_CHECK,		/* --check-config: print config_print() */
};

/*
 * Builds the effective configuration from argv: defaults, then the file
 * named by --config (if any), then the command line, which overrides the
 * file option by option. A repeatable option (seed, set, required-key)
 * given on the command line replaces every occurrence of it in the file.
 * Listen and advertise addresses are resolved here, synchronously; seeds
 * are only checked for syntax (seeds.c resolves them).
 *
 * On success, 0, *cfg (caller frees with config_free) and *action. For
 * CONFIG_HELP and CONFIG_VERSION, *cfg is NULL. On error, -1 and *cause
 * (caller frees): one line naming the option ("--seed x: ...") or the
 * file and line ("/etc/chitchatd.conf:12: seed = x: ..."), without the
 * program name. argv is not modified beyond getopt_long's permutation.
 */
int	config_load(int argc, char **argv, struct ccd_config **cfg,
	    enum config_action *action, char **cause);
void	config_free(struct ccd_config *);

/* The --help text. */
void	config_usage(FILE *);
/*
 * The effective configuration as `name = value` lines, in the config file
 * syntax (unset optional values as comments): --check-config.
 */
void	config_print(const struct ccd_config *, FILE *);

/*
 * Reload support: calls fn(arg, name) for each option whose effective
 * value differs between a and b (generation only when set explicitly in
 * b; config itself is never reported).
 */
void	config_diff(const struct ccd_config *a, const struct ccd_config *b,
	    void (*fn)(void *arg, const char *name), void *arg);
/*
 * Whether control-write-users and control-write-groups are the same, in
 * order, names and resolved ids alike.
 */
bool	config_access_is_equal(const struct ccd_config *, const struct ccd_config *);
/* Whether the seed lists are the same, in order. */
bool	config_seeds_are_equal(const struct ccd_config *, const struct ccd_config *);

/*
 * Fills the engine configuration from cfg: pointers borrowed from cfg,
 * which must outlive the engine (the liveness predicate reads it); no
 * seeds (seeds.c pushes them); the liveness predicate
 * (config_node_is_eligible) when keys are required or the leave extension
 * is on.
 */
void	config_engine(const struct ccd_config *, struct cc_config *);

/*
 * The --required-key predicate (PROTOCOL.md §5.7): true when the node
 * carries a visible value (set, or marked for deletion after a TTL) for
 * every key of arg, a const struct ccd_config *.
 */
bool	config_has_required_keys(const struct cc_node *, void *arg);
/*
 * The liveness predicate config_engine() installs: the required keys, and
 * with the leave extension, not announcing a leave (CCD_KEY_LEAVING).
 */
bool	config_node_is_eligible(const struct cc_node *, void *arg);

/* Parsers shared with the tests. Each returns 0, or -1 (EINVAL/ERANGE). */
/* "500ms", "10s", "15m", "2h", "1d", "1.5s"; a bare "0" -> milliseconds */
int	config_parse_duration(const char *, uint64_t *ms);
/* "65507", "64k", "1M" (k = 1024) -> bytes */
int	config_parse_size(const char *, uint64_t *bytes);
/* Formats ms with the largest unit that divides it exactly ("1d", "500ms"). */
void	config_format_duration(uint64_t ms, char *buf, size_t len);

#endif /* CONFIG_H */
