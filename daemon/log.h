/*
 * log.h: daemon logging to stderr, with sd-daemon priority prefixes
 * ("<3>" ...) when stderr goes to the journal (JOURNAL_STREAM set).
 */
#ifndef LOG_H
#define LOG_H

#include "cc.h"

void	log_init(int level);
void	log_set_level(int level);
int	log_get_level(void);
/* "error", "warn", "info", "debug" -> CC_LOG_*; -1 if unknown. */
int	log_level_parse(const char *);
/* CC_LOG_* -> "error", "warn", "info", "debug". */
const char *log_level_name(int level);
void	log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif /* LOG_H */
