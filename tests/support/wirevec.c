/*
 * wirevec.c: golden wire vector loader shared by the wire tests.
 *
 * Iterates the vector directory instead of listing files, so a vector
 * added to shared/vectors is tested without touching the tests.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_wirejson.h"
#include "wirevec.h"

const char *
wirevec_dir(void)
{
	const char *d = getenv("CHITCHAT_VECTORS");

	return d != NULL && d[0] != '\0' ? d : "../shared/vectors";
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	long	 n;

	ck_assert_msg((f = fopen(path, "rb")) != NULL, "%s: %s", path,
	    strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	ck_assert_int_ge(n = ftell(f), 0);
	rewind(f);
	ck_assert_ptr_nonnull(buf = malloc((size_t)n + 1));
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
wirevec_load(struct wirevec *v, const char *dir, const char *fname)
{
	struct cc_wbuf	wb;
	json_error_t	jerr;
	size_t		n = strlen(fname) - 5;
	const json_t	*j;

	memset(v, 0, sizeof(*v));
	ck_assert_ptr_nonnull(v->name = strndup(fname, n));
	ck_assert_int_ge(asprintf(&v->path, "%s/%s", dir, fname), 0);
	v->text = read_file(v->path, &v->text_len);
	v->file = cc_wirejson_loads(v->text, v->text_len, &jerr);
	ck_assert_msg(v->file != NULL, "%s: line %d: %s", v->path, jerr.line,
	    jerr.text);
	v->decoded = json_object_get(v->file, "decoded");
	ck_assert_msg(json_is_object(v->decoded), "%s: no decoded", v->path);
	v->kind = json_string_value(json_object_get(v->decoded, "kind"));
	ck_assert_msg(v->kind != NULL, "%s: no kind", v->path);
	v->type = json_string_value(json_object_get(v->decoded, "type"));
	v->hex = json_string_value(json_object_get(v->file, "hex"));
	ck_assert_msg(v->hex != NULL, "%s: no hex", v->path);
	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_wirejson_unhex(v->hex, strlen(v->hex), &wb), 0);
	v->bytes = wb.data != NULL ? wb.data : calloc(1, 1);
	v->len = wb.len;
	j = json_object_get(v->file, "len");
	ck_assert_msg(json_integer_value(j) == (json_int_t)v->len,
	    "%s: len does not match hex", v->path);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t
wirevec_load_all(struct wirevec **out)
{
	const char	*dir = wirevec_dir();
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL, **tmp;
	size_t		 n = 0, i, l;

	ck_assert_msg((d = opendir(dir)) != NULL, "vectors: %s: %s", dir,
	    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l <= 5 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		tmp = realloc(names, (n + 1) * sizeof(*names));
		ck_assert_ptr_nonnull(tmp);
		names = tmp;
		ck_assert_ptr_nonnull(names[n++] = strdup(de->d_name));
	}
	closedir(d);
	ck_assert_msg(n >= 1 && names != NULL, "no vectors found in %s", dir);
	if (names != NULL)
		qsort(names, n, sizeof(*names), name_cmp);
	ck_assert_ptr_nonnull(*out = calloc(n, sizeof(**out)));
	for (i = 0; i < n; i++) {
		wirevec_load(&(*out)[i], dir, names[i]);
		free(names[i]);
	}
	free(names);
	return n;
}

void
wirevec_free_all(struct wirevec *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
		free(v[i].text);
		free(v[i].bytes);
		json_decref(v[i].file);
	}
	free(v);
}
