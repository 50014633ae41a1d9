/* File helpers for session files and exports: bounded reads and atomic writes. */
#include "afile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *axf_afile_read(const char *path, size_t max, size_t *len, axf_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        axf_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        axf_err_set(err, "%s: not a regular file", path);
        return NULL;
    }
    if ((size_t)st.st_size > max) {
        fclose(f);
        axf_err_set(err, "%s: file too large (%lld bytes, limit %zu)", path, (long long)st.st_size, max);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = axf_xmalloc(n + 1);
    size_t got = fread(buf, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        free(buf);
        axf_err_set(err, "%s: read error", path);
        return NULL;
    }
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

int axf_afile_write_atomic(const char *path, const void *data, size_t n, axf_err *err)
{
    size_t pl = strlen(path);
    char *tmp = axf_xmalloc(pl + 5);
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        axf_err_set(err, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            axf_err_set(err, "%s: write failed: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        axf_err_set(err, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        axf_err_set(err, "%s: cannot rename into place: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int axf_afile_copy(const char *src, const char *dst, axf_err *err)
{
    size_t n;
    char *buf = axf_afile_read(src, (size_t)1 << 30, &n, err);
    if (!buf)
        return -1;
    int rc = axf_afile_write_atomic(dst, buf, n, err);
    free(buf);
    return rc;
}

char *axf_afile_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *s = axf_xmalloc(a + b + 2);
    memcpy(s, dir, a);
    s[a] = '/';
    memcpy(s + a + 1, name, b + 1);
    return s;
}
