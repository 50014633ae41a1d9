/* Writes the seeds that need the fuzz fixture into CORPUS/<target>/ (scripts/fuzz.sh --seeds):
 * the fixture's model.safetensors, config.json and vocab.txt, its search split (with the tsv
 * target's selector byte), and sessions opened on it (their sha256 pins the fixture, so the
 * session target's mutations get past the identity checks): the baseline alone, several kinds of
 * steps with trials and a recorded policy, and a history partly undone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/session.h"
#include "fuzz_util.h"

static int copy(const char *src, const char *dst, const char *prefix)
{
    size_t n;
    axf_err err;
    char *buf = axf_io_read_file(src, 1 << 24, &n, &err);
    if (!buf) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    FILE *f = fopen(dst, "wb");
    if (!f)
        return -1;
    if (prefix)
        fputs(prefix, f);
    fwrite(buf, 1, n, f);
    free(buf);
    return fclose(f);
}

static int apply(axf_session *s, axf_op op, int layer, int index, axf_hard_mode hard)
{
    axf_action a;
    memset(&a, 0, sizeof a);
    a.op = op;
    a.layer = layer;
    a.index = index;
    a.hard = hard;
    if (op == AXF_OP_DROP_GROUP)
        a.groups = 4;
    if (op == AXF_OP_DROP_NEURONS)
        a.count = 3;
    axf_metrics m;
    axf_err err;
    if (axf_session_try(s, &a, 1, "seed trial", &m, &err) ||
        axf_session_apply(s, &a, 1, "seed step", &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR\n");
        return 2;
    }
    const char *out = argv[1];
    axf_set_threads(1);
    fz_fixture fx;
    if (fz_fixture_make(fz_dir(), &fx))
        return 1;
    char src[300], dst[600];
    int bad = 0;
    const char *files[][3] = {{"model.safetensors", "safetensors", "fixture.safetensors"},
                              {"config.json", "config", "fixture.json"},
                              {"vocab.txt", "vocab", "fixture.txt"}};
    for (int i = 0; i < 3; i++) {
        snprintf(src, sizeof src, "%s/%s", fx.model, files[i][0]);
        snprintf(dst, sizeof dst, "%s/%s/%s", out, files[i][1], files[i][2]);
        bad |= copy(src, dst, NULL);
    }
    snprintf(dst, sizeof dst, "%s/tsv/fixture.tsv", out);
    bad |= copy(fx.data, dst, "\x0c"); /* selector 12: dev.tsv, detected task, max_len 14 */

    axf_session_opts o = axf_session_opts_default();
    o.threads = 1;
    o.groups = 4;
    axf_err err;
    axf_session *s = axf_session_open(fx.model, fx.data, &o, &err);
    if (!s) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    snprintf(dst, sizeof dst, "%s/session/baseline.json", out);
    bad |= axf_session_save(s, dst, &err);
    axf_session_set_policy(s, "seed.lua", "0000000000000000000000000000000000000000000000000000000000000000",
                           "{\"K\": 3, \"rule\": \"loss\"}", &err);
    bad |= apply(s, AXF_OP_DROP_HEAD, 1, 0, AXF_HARD_OFF) || apply(s, AXF_OP_DROP_GROUP, 0, 2, 0) ||
           apply(s, AXF_OP_SET_HARD, 0, 0, AXF_HARD_TOPK) ||
           apply(s, AXF_OP_DROP_NEURONS, 1, 5, AXF_HARD_OFF) ||
           apply(s, AXF_OP_DROP_FFN, 1, 0, AXF_HARD_OFF) ||
           apply(s, AXF_OP_SET_HARD, 1, 0, AXF_HARD_THRESHOLD);
    snprintf(dst, sizeof dst, "%s/session/steps.json", out);
    bad |= axf_session_save(s, dst, &err);
    bad |= axf_session_undo(s, &err) || axf_session_undo(s, &err);
    bad |= apply(s, AXF_OP_DROP_LAYER, 0, 0, AXF_HARD_OFF);
    bad |= axf_session_undo(s, &err);
    snprintf(dst, sizeof dst, "%s/session/undone.json", out);
    bad |= axf_session_save(s, dst, &err);
    if (bad)
        fprintf(stderr, "fuzz_make_seeds: %s\n", err.msg);
    axf_session_free(s);
    return bad ? 1 : 0;
}
