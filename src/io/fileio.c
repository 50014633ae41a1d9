/* Whole-file reads, atomic writes and mkdir -p: the one copy of these for io, approx and search. */
#include "axf/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

FILE *axf_io_atomic_open(const char *path, char **tmp, axf_err *err)
{
    size_t plen = strlen(path);
    char *t = axf_xmalloc(plen + 5);
    memcpy(t, path, plen);
    memcpy(t + plen, ".tmp", 5);
    FILE *fp = fopen(t, "wb");
    if (!fp) {
        axf_err_set(err, "%s: cannot create: %s", t, strerror(errno));
        free(t);
        *tmp = NULL;
        return NULL;
    }
    *tmp = t;
    return fp;
}

int axf_io_atomic_close(FILE *fp, char *tmp, const char *path, int bad, axf_err *err)
{
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
        bad = 1;
    if (fclose(fp) != 0)
        bad = 1;
    if (bad) {
        axf_err_set(err, "%s: write failed: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        axf_err_set(err, "%s: cannot rename from %s: %s", path, tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int axf_io_write_atomic(const char *path, const void *data, size_t n, axf_err *err)
{
    char *tmp;
    FILE *fp = axf_io_atomic_open(path, &tmp, err);
    if (!fp)
        return -1;
    int bad = fwrite(data, 1, n, fp) != n;
    return axf_io_atomic_close(fp, tmp, path, bad, err);
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
