/* Runs a fuzz target's LLVMFuzzerTestOneInput on files instead of under libFuzzer: every file of
 * each folder argument (sorted) or each file argument. Built with every target in the ordinary
 * build, so the seed corpora and the inputs that once crashed (tests/fuzz/regress/<target>/) run
 * as tests, under ASan+UBSan in that configuration too. --expect-accepted: fail when the reader
 * accepted none of the inputs (a seed corpus gone stale, e.g. sessions pinning an old sha256). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
long fz_accepted_count(void);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0, r;
    uint8_t *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int expect = 0, files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--expect-accepted")) {
            expect = 1;
            continue;
        }
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            bad = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad |= run_file(argv[i]) != 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        char **names = NULL;
        int n = 0;
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            names = realloc(names, sizeof *names * (size_t)(n + 1));
            names[n++] = strdup(e->d_name);
        }
        if (d)
            closedir(d);
        qsort(names, (size_t)n, sizeof *names, cmp);
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
            bad |= run_file(path) != 0;
            files++;
            free(names[k]);
        }
        free(names);
    }
    long acc = fz_accepted_count();
    fprintf(stderr, "%d inputs run, %ld accepted by the reader\n", files, acc);
    if (expect && acc == 0) {
        fprintf(stderr, "none accepted: the seed corpus no longer matches the reader\n");
        bad = 1;
    }
    return bad || files == 0;
}
