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
/* Maps the regular file at path read-only (freed with munmap(*map, *size)). Refuses files under
 * min bytes (min >= 1): "PATH: truncated: N bytes, WHAT needs at least MIN". Other errors:
 * "PATH: <OS error>", "PATH: not a regular file", "PATH: cannot map: <OS error>". */
int axf_io_map_file(const char *path, size_t min, const char *what, void **map, size_t *size, axf_err *err);
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
/* Reads a whole file (at most max bytes), checks it with axf_json_check and parses it: the one way
 * a JSON file is read. The tree is the caller's (cJSON_Delete) and stays inside the module that
 * reads it. NULL with err (axf_io_read_file's and axf_json_check's messages). */
struct cJSON;
struct cJSON *axf_json_read_file(const char *path, size_t max, axf_err *err);

/* Typed reading of fields of a parsed document, with messages naming the file and the field's
 * path: "runs/x.json: history[3].after.loss: missing", "...: cursor: 9 is out of range [0, 4]",
 * "...: seed: expected a string". r->at is the path of the object being read; push an element
 * before reading inside it and pop back after. Each getter returns 0, or -1 with r->err set. */
typedef struct axf_json_rd {
    const char *file;
    char at[160];
    axf_err *err;
} axf_json_rd;
enum {
    AXF_JSON_REQUIRED = 0,
    AXF_JSON_NULL_OK = 1,  /* null reads as NAN / "" / a NULL object */
    AXF_JSON_OPTIONAL = 3  /* absent reads like null */
};
size_t axf_json_push(axf_json_rd *r, const char *key, int index); /* index < 0: key alone */
void axf_json_pop(axf_json_rd *r, size_t old);
/* "FILE: AT.KEY: <message>" (key may be NULL: the object itself). Returns -1. */
int axf_json_fail(axf_json_rd *r, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int axf_json_obj(axf_json_rd *r, const struct cJSON *o, const char *key, int flags, const struct cJSON **out);
int axf_json_arr(axf_json_rd *r, const struct cJSON *o, const char *key, int flags, const struct cJSON **out);
/* A finite number in [lo, hi]. */
int axf_json_num(axf_json_rd *r, const struct cJSON *o, const char *key, double lo, double hi, int flags,
                 double *out);
/* An integral number in [lo, hi] (never null). */
int axf_json_int(axf_json_rd *r, const struct cJSON *o, const char *key, double lo, double hi, long long *out);
/* A string; *out points into the document ("" for null or absent). */
int axf_json_str(axf_json_rd *r, const struct cJSON *o, const char *key, int flags, const char **out);
/* axf_json_read_file of a document {"format": FORMAT, "version": N, ...} with 1 <= N <=
 * max_version, r set up to read it. Errors: "PATH: not a KIND file (top level is not an
 * object)", "PATH: format: not \"FORMAT\" (not a KIND file)", "PATH: version: 2 is newer than
 * this program reads (1); use a newer axf". */
struct cJSON *axf_json_read_doc(const char *path, size_t max, const char *format, const char *kind,
                                int max_version, int *version, axf_json_rd *r, axf_err *err);
/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int axf_utf8_valid(const char *s, size_t n);

#endif
