/*
 * log.c: bgpd-style logging for the daemon. The engine library only calls
 * its injected sink; this is where messages become lines on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int	log_level = CC_LOG_INFO;
static int	log_journal;

/* sd-daemon(3) priorities for our levels */
static const int	sd_prio[] = { 3, 4, 6, 7 };
static const char	*names[] = { "error", "warn", "info", "debug" };

void
log_init(int level)
{
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return CC_LOG_WARN;
	return -1;
}

const char *
log_level_name(int level)
{
	return level >= 0 && level < 4 ? names[level] : "unknown";
}

static void
vlog(int level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", sd_prio[level], msg);
	else
		fprintf(stderr, "chitchatd: %s: %s\n", names[level], msg);
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CC_LOG_WARN, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CC_LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CC_LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CC_LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
