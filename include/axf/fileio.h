/* File helpers every layer uses (io owns them): whole-file reads with a size limit, atomic writes
 * (temporary file, fsync, rename), mkdir -p, path joins. Errors name the file and the OS error. */
#ifndef AXF_FILEIO_H
#define AXF_FILEIO_H

#include <stdio.h>

#include "axf/common.h"

/* Reads a whole file (NUL-terminated, *len without the NUL). Refuses files over max bytes. */
char *axf_io_read_file(const char *path, size_t max, size_t *len, axf_err *err);
/* Writes PATH.tmp, fsyncs it and renames it over PATH, so readers never see half a file. */
int axf_io_write_atomic(const char *path, const void *data, size_t n, axf_err *err);
/* The two halves of axf_io_write_atomic for writers that stream: open creates PATH.tmp (*tmp
 * receives its name); close flushes, fsyncs and renames it over PATH, or removes it when bad is
 * set or any step fails. close always closes fp and frees tmp. */
FILE *axf_io_atomic_open(const char *path, char **tmp, axf_err *err);
int axf_io_atomic_close(FILE *fp, char *tmp, const char *path, int bad, axf_err *err);
/* Copies src (at most max bytes) over dst atomically. */
int axf_io_copy_file(const char *src, const char *dst, size_t max, axf_err *err);
/* mkdir -p. */
int axf_io_mkdir_p(const char *dir, axf_err *err);
/* dir + "/" + name in a fresh allocation. */
char *axf_io_join(const char *dir, const char *name);
/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int axf_utf8_valid(const char *s, size_t n);

#endif
