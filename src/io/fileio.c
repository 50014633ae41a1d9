/* Whole-file reads, atomic writes and mkdir -p: the one copy of these for io, approx and search. */
#include "axf/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

char *axf_io_read_file(const char *path, size_t max, size_t *len, axf_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        axf_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        axf_err_set(err, "%s: not a regular file", path);
        return NULL;
    }
    if ((size_t)st.st_size > max) {
        fclose(fp);
        axf_err_set(err, "%s: file too large (%lld bytes, limit %zu)", path, (long long)st.st_size, max);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = axf_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
        n += got;
        if (n + 1 == cap) {
            if (cap > max) {
                fclose(fp);
                free(buf);
                axf_err_set(err, "%s: file too large (limit %zu bytes)", path, max);
                return NULL;
            }
            cap *= 2;
            buf = axf_xrealloc(buf, cap);
        }
    }
    if (ferror(fp)) {
        fclose(fp);
        free(buf);
        axf_err_set(err, "%s: read error", path);
        return NULL;
    }
    fclose(fp);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

/* A temporary name no other writer uses: PATH.<pid>-<n>.tmp, created with O_EXCL (the name is
 * retried on a clash), mode 0666 less the umask like a plain fopen. Two processes writing the same
 * PATH each fill their own file; the last rename wins whole. */
FILE *axf_io_atomic_open(const char *path, char **tmp, axf_err *err)
{
    static _Atomic unsigned counter;
    size_t plen = strlen(path);
    char *t = axf_xmalloc(plen + 64);
    *tmp = NULL;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        snprintf(t, plen + 64, "%s.%ld-%u.tmp", path, (long)getpid(), counter++);
        fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!fp) {
        int e = errno;
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            axf_err_set(err, "%s: is a directory (a file name is needed)", path);
        else
            axf_err_set(err, "%s: cannot write: %s", path, strerror(e));
        if (fd >= 0) {
            close(fd);
            unlink(t);
        }
        free(t);
        errno = e; /* for callers that word their own message */
        return NULL;
    }
    *tmp = t;
    return fp;
}

static void file_id_of(const struct stat *st, axf_file_id *id)
{
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    id->size = (uint64_t)st->st_size;
    id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int axf_io_atomic_close_id(FILE *fp, char *tmp, const char *path, int bad, axf_file_id *id,
                           axf_err *err)
{
    int e = bad ? (errno ? errno : EIO) : 0;
    if (!e && (fflush(fp) != 0 || fsync(fileno(fp)) != 0))
        e = errno;
    struct stat st;
    if (!e && id && fstat(fileno(fp), &st) == 0)
        file_id_of(&st, id); /* rename keeps inode and times: this is PATH's identity after */
    if (fclose(fp) != 0 && !e)
        e = errno;
    if (e) {
        axf_err_set(err, "%s: cannot write: %s", path, strerror(e));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        struct stat ps;
        if (stat(path, &ps) == 0 && S_ISDIR(ps.st_mode))
            axf_err_set(err, "%s: is a directory (a file name is needed)", path);
        else
            axf_err_set(err, "%s: cannot replace it with %s: %s", path, tmp, strerror(e));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int axf_io_atomic_close(FILE *fp, char *tmp, const char *path, int bad, axf_err *err)
{
    return axf_io_atomic_close_id(fp, tmp, path, bad, NULL, err);
}

int axf_io_write_atomic_id(const char *path, const void *data, size_t n, axf_file_id *id,
                           axf_err *err)
{
    char *tmp;
    FILE *fp = axf_io_atomic_open(path, &tmp, err);
    if (!fp)
        return -1;
    errno = 0;
    int bad = fwrite(data, 1, n, fp) != n;
    return axf_io_atomic_close_id(fp, tmp, path, bad, id, err);
}

int axf_io_write_atomic(const char *path, const void *data, size_t n, axf_err *err)
{
    return axf_io_write_atomic_id(path, data, n, NULL, err);
}

int axf_io_check_writable(const char *path, axf_err *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return axf_err_set(err, "%s: is a directory (a file name is needed)", path);
    char *tmp;
    FILE *fp = axf_io_atomic_open(path, &tmp, err);
    if (!fp)
        return -1;
    fclose(fp);
    unlink(tmp);
    free(tmp);
    return 0;
}

int axf_io_check_dir_writable(const char *dir, axf_err *err)
{
    if (axf_io_mkdir_p(dir, err))
        return -1;
    char *probe = axf_io_join(dir, ".axf-write-check");
    char *tmp;
    FILE *fp = axf_io_atomic_open(probe, &tmp, err);
    free(probe);
    if (!fp) {
        int e = errno;
        return axf_err_set(err, "%s: cannot write into this directory: %s", dir, strerror(e));
    }
    fclose(fp);
    unlink(tmp);
    free(tmp);
    return 0;
}

int axf_io_file_id(const char *path, axf_file_id *id)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    file_id_of(&st, id);
    return 0;
}

int axf_io_file_id_same(const axf_file_id *a, const axf_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

int axf_io_copy_file(const char *src, const char *dst, size_t max, axf_err *err)
{
    size_t n;
    char *buf = axf_io_read_file(src, max, &n, err);
    if (!buf)
        return -1;
    int rc = axf_io_write_atomic(dst, buf, n, err);
    free(buf);
    return rc;
}

int axf_io_map_file(const char *path, size_t min, const char *what, void **map, size_t *size, axf_err *err)
{
    *map = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return axf_err_set(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return axf_err_set(err, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    if (n < min) {
        close(fd);
        return axf_err_set(err, "%s: truncated: %zu bytes, %s needs at least %zu", path, n, what, min);
    }
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return axf_err_set(err, "%s: cannot map: %s", path, strerror(e));
    *map = p;
    *size = n;
    return 0;
}

int axf_io_mkdir_p(const char *dir, axf_err *err)
{
    char *p = axf_xstrdup(dir);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = 0;
    for (char *q = p + 1;; q++) {
        char c = *q;
        if (c == '/' || c == 0) {
            *q = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                axf_err_set(err, "%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return -1;
            }
            *q = c;
        }
        if (!c)
            break;
    }
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        axf_err_set(err, "%s: not a directory", p);
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

char *axf_io_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *s = axf_xmalloc(a + b + 2);
    memcpy(s, dir, a);
    s[a] = '/';
    memcpy(s + a + 1, name, b + 1);
    return s;
}

int axf_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + (size_t)len > n)
            return 0;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)len;
    }
    return 1;
}
