/*
 * output.c: how chitchatctl prints: aligned tables with a header on a
 * terminal, tab-separated lines without a header when piped, JSON with
 * --json, and colour only on a terminal when NO_COLOR is unset.
 *
 * Table cells are escaped (ctl_escape) so that one record is always one
 * line, whatever the keys and values hold; `get` prints the raw value.
 * Widths count UTF-8 characters, not bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cc_ctlproto.h"
#include "chitchatctl.h"

#define ANSI_RESET	"\033[0m"
#define ANSI_BOLD	"\033[1m"

struct ctl_table {
	const struct ctl	 *ctl;
	int			  ncols;
	const char *const	 *headers;
	int			  color_col;	/* -1: none */
	char			**cells;	/* nrows * ncols */
	size_t			  nrows;
	size_t			  cap;
};

void *
ctl_xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL) {
		ctl_warnx("out of memory");
		exit(CTL_EXIT_FAIL);
	}
	return p;
}

char *
ctl_xstrdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*d = ctl_xmalloc(n);

	memcpy(d, s, n);
	return d;
}

json_t *
ctl_xjson(json_t *j)
{
	if (j == NULL) {
		ctl_warnx("out of memory");
		exit(CTL_EXIT_FAIL);
	}
	return j;
}

struct ctl_table *
ctl_table_new(const struct ctl *ctl, int ncols, const char *const *headers)
{
	struct ctl_table *t = ctl_xmalloc(sizeof(*t));

	memset(t, 0, sizeof(*t));
	t->ctl = ctl;
	t->ncols = ncols;
	t->headers = headers;
	t->color_col = -1;
	return t;
}

void
ctl_table_color_column(struct ctl_table *t, int col)
{
	t->color_col = col;
}

void
ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t	 ncap = t->cap == 0 ? 16 : t->cap * 2;
		char	**n = ctl_xmalloc(ncap * (size_t)t->ncols * sizeof(*n));

		if (t->nrows > 0)
			memcpy(n, t->cells,
			    t->nrows * (size_t)t->ncols * sizeof(*n));
		free(t->cells);
		t->cells = n;
		t->cap = ncap;
	}
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] =
		    ctl_xstrdup(cells[i]);
	t->nrows++;
}

/* Characters, not bytes (UTF-8 continuation bytes do not count). */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
print_cell(const struct ctl_table *t, int col, const char *s, size_t w,
    bool header)
{
	const char	*color = NULL;
	bool		 last = col == t->ncols - 1;

	if (t->ctl->color)
		color = header ? ANSI_BOLD :
		    col == t->color_col ? ctl_color_of(s) : NULL;
	if (!t->ctl->tty) {
		fputs(s, stdout);
		putchar(last ? '\n' : '\t');
		return;
	}
	if (color != NULL)
		fputs(color, stdout);
	fputs(s, stdout);
	if (color != NULL)
		fputs(ANSI_RESET, stdout);
	if (last) {
		putchar('\n');
		return;
	}
	for (size_t i = width(s); i < w + 2; i++)
		putchar(' ');
}

void
ctl_table_print(struct ctl_table *t)
{
	size_t *w = ctl_xmalloc((size_t)t->ncols * sizeof(*w));

	for (int c = 0; c < t->ncols; c++) {
		w[c] = t->headers != NULL ? width(t->headers[c]) : 0;
		for (size_t r = 0; r < t->nrows; r++) {
			size_t cw = width(t->cells[r * (size_t)t->ncols +
			    (size_t)c]);

			if (cw > w[c])
				w[c] = cw;
		}
	}
	if (t->ctl->tty && t->headers != NULL)
		for (int c = 0; c < t->ncols; c++)
			print_cell(t, c, t->headers[c], w[c], true);
	for (size_t r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++)
			print_cell(t, c, t->cells[r * (size_t)t->ncols +
			    (size_t)c], w[c], false);
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(w);
	free(t);
}

char *
ctl_escape(const char *s, size_t len)
{
	char	*out = ctl_xmalloc(len * 4 + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(o, 5, "\\x%02x", c);
				o += 4;
			} else
				*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

char *
ctl_escape_member(const json_t *o, const char *member)
{
	const json_t *v = json_object_get(o, member);

	if (!json_is_string(v))
		return ctl_xstrdup("");
	return ctl_escape(json_string_value(v), json_string_length(v));
}

const char *
ctl_u64_member(const json_t *o, const char *member, char *buf, size_t len)
{
	uint64_t v;

	if (cc_ctl_get_u64(json_object_get(o, member), &v) == -1)
		return "-";
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

const char *
ctl_color_of(const char *word)
{
	static const struct {
		const char	*word;
		const char	*color;
	} colors[] = {
		{ "self", "\033[1;36m" },
		{ "live", "\033[32m" }, { "set", "\033[32m" },
		{ "joined", "\033[32m" }, { "added", "\033[32m" },
		{ "dead", "\033[31m" }, { "deleted", "\033[31m" },
		{ "expired", "\033[31m" },
		{ "left", "\033[31m" }, { "removed", "\033[31m" },
		{ "scheduled", "\033[33m" }, { "ttl_marked", "\033[33m" },
		{ "reset", "\033[33m" },
	};

	for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++)
		if (strcmp(colors[i].word, word) == 0)
			return colors[i].color;
	return NULL;
}

void
ctl_print_json(const json_t *j)
{
	/* as the daemon's lines: compact, phi with 6 significant digits */
	json_dumpf(j, stdout, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_REAL_PRECISION(6));
	putchar('\n');
}

int
ctl_flush(bool *closed)
{
	static bool	reader_gone;	/* EPIPE seen: stdout's error is expected */
	int		saved;

	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return CTL_EXIT_OK;
	saved = errno;
	if (saved == EPIPE || reader_gone) {
		reader_gone = true;
		if (closed != NULL)
			*closed = true;
		return CTL_EXIT_OK;
	}
	ctl_warnx("writing to stdout: %s", saved != 0 ? strerror(saved) :
	    "write error");
	return CTL_EXIT_FAIL;
}

bool
ctl_json_done(struct ctl *ctl, json_t *res)
{
	if (!ctl->json)
		return false;
	ctl_print_json(res);
	json_decref(res);
	return true;
}
