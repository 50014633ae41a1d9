/* The atomic writer: every writer has its own temporary file (two writers of one path never mix
 * and the last rename wins whole), failures name the destination and the OS error and leave no
 * temporary file, the pre-check refuses what the write would refuse, file identities change when
 * a file is replaced. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "axf/fileio.h"
#include "check.h"

static char g_dir[64];

static int tmp_files(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        n += l > 4 && !strcmp(e->d_name + l - 4, ".tmp");
    }
    if (d)
        closedir(d);
    return n;
}

static void test_two_writers(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/f.json", g_dir);
    axf_err err;
    char *ta, *tb;
    FILE *a = axf_io_atomic_open(path, &ta, &err);
    FILE *b = axf_io_atomic_open(path, &tb, &err);
    CHECK(a && b);
    if (!a || !b)
        return;
    CHECK_MSG(strcmp(ta, tb) != 0, "both writers got %s", ta);
    CHECK(tmp_files() == 2);
    /* interleaved writes: each file holds only its writer's bytes */
    for (int i = 0; i < 1000; i++) {
        fputs("aaaaaaaa", a);
        fputs("bb", b);
    }
    axf_file_id ia, ib, now;
    CHECK(axf_io_atomic_close_id(b, tb, path, 0, &ib, &err) == 0);
    CHECK(axf_io_atomic_close_id(a, ta, path, 0, &ia, &err) == 0);
    size_t n;
    char *text = axf_io_read_file(path, 1 << 20, &n, &err);
    CHECK(text && n == 8000 && strspn(text, "a") == 8000);
    free(text);
    CHECK(axf_io_file_id(path, &now) == 0 && axf_io_file_id_same(&now, &ia));
    CHECK(!axf_io_file_id_same(&now, &ib));
    CHECK(tmp_files() == 0);
    /* replaced by another write: another identity, even with the same size */
    CHECK(axf_io_write_atomic(path, text ? "x" : "y", 1, &err) == 0);
    CHECK(axf_io_write_atomic_id(path, "z", 1, &ib, &err) == 0);
    CHECK(axf_io_file_id(path, &now) == 0 && axf_io_file_id_same(&now, &ib) &&
          !axf_io_file_id_same(&now, &ia));
    unlink(path);
    CHECK(axf_io_file_id(path, &now) == -1);
}

/* Each case: what the pre-check and a write say. */
static void expect_refused(const char *path, const char *msg)
{
    axf_err err = {{0}};
    CHECK_MSG(axf_io_check_writable(path, &err) == -1 && strstr(err.msg, path) &&
                  strstr(err.msg, msg),
              "check %s: '%s', want '%s'", path, err.msg, msg);
    err.msg[0] = 0;
    CHECK_MSG(axf_io_write_atomic(path, "x", 1, &err) == -1 && strstr(err.msg, path) &&
                  strstr(err.msg, msg),
              "write %s: '%s', want '%s'", path, err.msg, msg);
}

static void test_refusals(void)
{
    char dir[128], missing[128], ro[128], ro_file[160];
    snprintf(dir, sizeof dir, "%s/adir", g_dir);
    mkdir(dir, 0777);
    expect_refused(dir, "is a directory");
    snprintf(missing, sizeof missing, "%s/no/such/x.json", g_dir);
    expect_refused(missing, "cannot write: No such file or directory");
    if (geteuid() == 0) { /* root writes into any folder; sysfs refuses even root */
        expect_refused("/sys/axf_test.json", "cannot write: Permission denied");
    } else {
        snprintf(ro, sizeof ro, "%s/ro", g_dir);
        mkdir(ro, 0555);
        snprintf(ro_file, sizeof ro_file, "%s/x.json", ro);
        expect_refused(ro_file, "cannot write: Permission denied");
        rmdir(ro);
    }
    axf_err err;
    char ok[128];
    snprintf(ok, sizeof ok, "%s/ok.json", g_dir);
    CHECK(axf_io_check_writable(ok, &err) == 0 && access(ok, F_OK) != 0);
    CHECK(tmp_files() == 0);
    rmdir(dir);
}

/* A full disk (RLIMIT_FSIZE in a child): the write fails naming the file, nothing is left. */
static void test_full_disk(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/big.bin", g_dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {4096, 4096};
        setrlimit(RLIMIT_FSIZE, &rl);
        static char buf[100000];
        axf_err err;
        int rc = axf_io_write_atomic(path, buf, sizeof buf, &err);
        int good = rc == -1 && strstr(err.msg, path) && strstr(err.msg, "cannot write: File too large");
        if (!good)
            fprintf(stderr, "full disk: rc %d '%s'\n", rc, err.msg);
        _exit(good ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(access(path, F_OK) != 0 && tmp_files() == 0);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/axf_fileio_XXXXXX");
    if (!mkdtemp(g_dir))
        return 1;
    test_two_writers();
    test_refusals();
    test_full_disk();
    rmdir(g_dir);
    CHECK_MSG(access(g_dir, F_OK) != 0, "%s not empty at the end", g_dir);
    return CHECK_DONE();
}
