/* Helpers for the io tests: scratch directories and hand-made files. */
#ifndef AXF_IO_TESTUTIL_H
#define AXF_IO_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory under $TMPDIR (or /tmp); removed by tu_rmdir at the end. */
__attribute__((unused)) static char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/axf_io_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        exit(1);
    }
    return buf;
}

__attribute__((unused)) static void tu_rmdir(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

__attribute__((unused)) static char *tu_path(const char *dir, const char *name)
{
    static char bufs[64][1024]; /* rotating: a result stays valid for 63 more calls */
    static int k;
    char *b = bufs[k++ & 63];
    snprintf(b, 1024, "%s/%s", dir, name);
    return b;
}

__attribute__((unused)) static void tu_write(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, n, fp) != n) {
        perror(path);
        exit(1);
    }
    fclose(fp);
}

__attribute__((unused)) static void tu_write_str(const char *path, const char *s) { tu_write(path, s, strlen(s)); }

/* A safetensors file from a header string (written as is, size field = hdr_len or strlen) and a
 * data area. */
__attribute__((unused)) static void tu_write_st(const char *path, const char *hdr, uint64_t size_field, const void *data,
                        size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        exit(1);
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(size_field >> (8 * i));
    fwrite(len8, 1, 8, fp);
    fwrite(hdr, 1, strlen(hdr), fp);
    if (n)
        fwrite(data, 1, n, fp);
    fclose(fp);
}

#endif
