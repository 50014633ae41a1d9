/* File helpers every layer uses (io owns them): whole-file reads with a size limit, atomic writes
 * (temporary file, fsync, rename), mkdir -p, path joins. Errors name the file and the OS error. */
#ifndef AXF_FILEIO_H
#define AXF_FILEIO_H

#include <stdio.h>

#include "axf/common.h"

/* Reads a whole file (NUL-terminated, *len without the NUL). Refuses files over max bytes. */
char *axf_io_read_file(const char *path, size_t max, size_t *len, axf_err *err);
/* Writes a temporary file beside PATH (a name no other writer uses), fsyncs it and renames it
 * over PATH, so readers never see half a file and two writers never mix. Errors name PATH and the
 * OS error ("x.json: cannot write: No space left on device", "out: is a directory ..."). */
int axf_io_write_atomic(const char *path, const void *data, size_t n, axf_err *err);
/* The two halves of axf_io_write_atomic for writers that stream: open creates the temporary file
 * (*tmp receives its name); close flushes, fsyncs and renames it over PATH, or removes it when bad
 * is set (errno then says why) or any step fails. close always closes fp and frees tmp. */
FILE *axf_io_atomic_open(const char *path, char **tmp, axf_err *err);
int axf_io_atomic_close(FILE *fp, char *tmp, const char *path, int bad, axf_err *err);

/* What a file at a path is (device, inode, size, modification time): a writer that saves PATH
 * again compares it with what it left there to notice that another writer replaced the file. */
typedef struct axf_file_id {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
} axf_file_id;
/* The same writes, also filling *id with the identity PATH has once written. */
int axf_io_write_atomic_id(const char *path, const void *data, size_t n, axf_file_id *id,
                           axf_err *err);
int axf_io_atomic_close_id(FILE *fp, char *tmp, const char *path, int bad, axf_file_id *id,
                           axf_err *err);
/* 0 and *id of the file at path now; -1 when there is none. */
int axf_io_file_id(const char *path, axf_file_id *id);
int axf_io_file_id_same(const axf_file_id *a, const axf_file_id *b);
/* Checks, before any long work, that PATH can be written the way axf_io_write_atomic writes it
 * (a temporary file is created beside it and removed). -1 + the message that write would give. */
int axf_io_check_writable(const char *path, axf_err *err);
/* The same for an output folder: creates it (mkdir -p) and checks a file can be made in it. */
int axf_io_check_dir_writable(const char *dir, axf_err *err);
/* Copies src (at most max bytes) over dst atomically. */
int axf_io_copy_file(const char *src, const char *dst, size_t max, axf_err *err);
/* mkdir -p. */
int axf_io_mkdir_p(const char *dir, axf_err *err);
/* dir + "/" + name in a fresh allocation. */
char *axf_io_join(const char *dir, const char *name);
/* Checks text[0..len) is one JSON value (RFC 8259: strict numbers, escapes and literals, control
 * characters escaped) with nothing after it but white space, no key twice in one object, no
 * \u0000 in a string and at most 512 levels of nesting; run it before cJSON parses a file, which
 * takes the first three silently and fails on the last as if the text were not JSON. Messages
 * start with path and name the line: "PATH: line 7: key 'x' appears twice in one object (first at
 * line 3)", "PATH: line 9: truncated JSON (it ends early)", "PATH: line 2: not valid JSON: ...". */
int axf_json_check(const char *text, size_t len, const char *path, axf_err *err);
/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int axf_utf8_valid(const char *s, size_t n);

#endif
