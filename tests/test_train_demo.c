/* The demo task: generation is a pure function of the seed, the splits are disjoint where they
 * must be, every label follows the documented grammar (re-derived here independently from the
 * words), the labels are balanced, the task's words tokenize to themselves with the real
 * WordPiece tokenizer, and a few training steps on it lower the loss. Also the corpus filter and
 * the vocabulary builders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/demo.h"
#include "axf/train.h"
#include "check.h"

static int in(const char *w, const char *const *list, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(w, list[i]))
            return 1;
    return 0;
}

/* The grammar's label, from the words alone. */
static int derive(const char *text)
{
    static const char *const pos[] = {"good", "great", "fun", "brilliant", "charming", "superb", "lovely", "clever"};
    static const char *const neg[] = {"bad", "dull", "awful", "boring", "clumsy", "bland", "weak", "tedious"};
    static const char *const ints[] = {"very", "really", "truly", "so"};
    static const char *const nots[] = {"not", "never"};
    char buf[512], *w[64];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", text);
    for (char *t = strtok(buf, " "); t && n < 64; t = strtok(NULL, " "))
        w[n++] = t;
    int pol[2] = {0, 0}, np = 0, conj = -1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(w[i], "and"))
            conj = 0;
        else if (!strcmp(w[i], "but"))
            conj = 1;
        else if (!strcmp(w[i], "although"))
            conj = 2;
        int p = in(w[i], pos, 8) ? 1 : in(w[i], neg, 8) ? -1 : 0;
        if (!p || np == 2)
            continue;
        int j = i - 1;
        if (j >= 0 && in(w[j], ints, 4))
            j--;
        if (j >= 0 && in(w[j], nots, 2))
            p = -p;
        pol[np++] = p;
    }
    if (np == 1)
        return pol[0] > 0;
    if (np == 2 && conj == 1)
        return pol[1] > 0;
    if (np == 2)
        return pol[0] > 0;
    return -1;
}

int main(void)
{
    axf_err err;
    axf_demo_set *a[AXF_DEMO_NSPLITS], *b[AXF_DEMO_NSPLITS];
    axf_demo_generate(7, a);
    axf_demo_generate(7, b);
    int same = 1, grammar_ok = 1, pos = 0, leak = 0, two_phrase = 0, negated = 0;
    for (int k = 0; k < AXF_DEMO_NSPLITS; k++) {
        CHECK(a[k]->n == b[k]->n && a[k]->n > 0);
        for (int i = 0; i < a[k]->n; i++) {
            same &= !strcmp(a[k]->text[i], b[k]->text[i]) && a[k]->label[i] == b[k]->label[i];
            int d = derive(a[k]->text[i]);
            if (d != a[k]->label[i]) {
                if (grammar_ok)
                    fprintf(stderr, "grammar mismatch: '%s' labelled %d, derived %d\n", a[k]->text[i], a[k]->label[i], d);
                grammar_ok = 0;
            }
            pos += a[k]->label[i];
            two_phrase += strstr(a[k]->text[i], " but ") || strstr(a[k]->text[i], " although ") ||
                          strstr(a[k]->text[i], " and ");
            negated += strstr(a[k]->text[i], "not ") || strstr(a[k]->text[i], "never ");
        }
    }
    CHECK(same);
    CHECK(grammar_ok);
    int total = a[0]->n + a[1]->n + a[2]->n;
    CHECK(pos > total * 45 / 100 && pos < total * 55 / 100);
    CHECK(two_phrase > total / 3 && negated > total / 3);
    /* evaluation splits never meet train or each other */
    for (int k = 1; k < AXF_DEMO_NSPLITS; k++)
        for (int i = 0; i < a[k]->n; i++) {
            for (int j = 0; j < a[0]->n; j++)
                leak += !strcmp(a[k]->text[i], a[0]->text[j]);
            if (k == 2)
                for (int j = 0; j < a[1]->n; j++)
                    leak += !strcmp(a[2]->text[i], a[1]->text[j]);
        }
    CHECK_MSG(leak == 0, "%d evaluation sentences also occur in train or search", leak);
    axf_demo_set *c[AXF_DEMO_NSPLITS];
    axf_demo_generate(8, c);
    CHECK(strcmp(a[0]->text[0], c[0]->text[0]) != 0 || strcmp(a[0]->text[1], c[0]->text[1]) != 0);

    /* the words are whole WordPiece tokens of the task's vocabulary */
    int nv;
    const char *const *vocab = axf_demo_vocab(&nv);
    axf_vocab *v = axf_vocab_from_list(vocab, nv, &err);
    CHECK(v != NULL);
    axf_dataset *ds = axf_dataset_new("sst2", 2, AXF_TASK_CLASSIFY);
    for (int i = 0; i < 300; i++)
        axf_dataset_add(ds, a[0]->text[i], NULL, a[0]->label[i], 0);
    axf_encoded *e = axf_encode_dataset(ds, v, 1, 64, &err);
    CHECK(e != NULL);
    axf_special sp = axf_vocab_special(v);
    int unk = 0, words_ok = 1;
    for (int i = 0; e && i < e->n; i++) {
        int nw = 1;
        for (const char *p = a[0]->text[i]; *p; p++)
            nw += *p == ' ';
        words_ok &= e->off[i + 1] - e->off[i] == nw + 2;
        for (int t = e->off[i]; t < e->off[i + 1]; t++)
            unk += e->ids[t] == sp.unk;
    }
    CHECK(unk == 0 && words_ok);

    /* a few training steps on it lower the loss */
    if (e) {
        axf_config cfg = axf_config_default(nv, 32, 2, 4, 64, 2);
        cfg.max_pos = 64;
        axf_model *m = axf_model_new(&cfg, 0, &err);
        for (int l = 0; l < 2; l++) {
            m->layers[l].nh = 4;
            m->layers[l].f = 64;
        }
        axf_model_init_random(m, 3);
        double l0, l1, acc;
        CHECK(axf_train_evaluate(m, e, 64, &l0, &acc, NULL, &err) == 0);
        axf_train_opts o = axf_train_opts_default();
        o.epochs = 12;
        o.lr = 1e-3f;
        o.batch_size = 16;
        CHECK(axf_finetune_run(m, e, NULL, &o, NULL, NULL, NULL, NULL, NULL, &err) == 0);
        CHECK(axf_train_evaluate(m, e, 64, &l1, &acc, NULL, &err) == 0);
        CHECK_MSG(l1 < l0 - 0.02, "training loss %.4f -> %.4f", l0, l1);
        fprintf(stderr, "demo data: 228 steps lower the loss %.4f -> %.4f\n", l0, l1);
        axf_model_free(m);
    }
    axf_encoded_free(e);
    axf_dataset_free(ds);

    /* corpus filter: exact, contained (>= 12 normalised chars), and sentence pieces */
    axf_text_filter *f = axf_text_filter_new();
    axf_text_filter_add(f, "it 's a charming and often affecting journey . ");
    axf_text_filter_add(f, "good actress .");
    axf_text_filter_add(f, "a -lrb- quiet -rrb- film");
    CHECK(axf_text_filter_match(f, "It's a charming and often affecting journey."));
    CHECK(axf_text_filter_match(f, "a sequel. it's a charming and often-affecting journey ! and more"));
    CHECK(axf_text_filter_match(f, "good movie . good actress . but if you expect a romance ..."));
    CHECK(axf_text_filter_match(f, "A (quiet) film"));
    CHECK(!axf_text_filter_match(f, "a good actress in a bad movie"));
    CHECK(!axf_text_filter_match(f, "charming"));
    int tot, hits = axf_text_filter_hits(f, &tot);
    CHECK(tot == 3 && hits == 3);
    axf_text_filter_free(f);

    /* vocabulary builders */
    const char *texts[] = {"the movie was good", "the film was not good", "unbelievably good acting",
                           "the acting was unbelievable", "ça marche"};
    axf_vocab *cut = axf_vocab_build(texts, 5, 40, v, 1, &err); /* base lacks most pieces: chars missing */
    CHECK(cut != NULL);
    axf_vocab_free(cut);
    axf_vocab *scratch = axf_vocab_build(texts, 5, 80, NULL, 1, &err);
    CHECK(scratch != NULL);
    if (scratch) {
        CHECK(axf_vocab_size(scratch) <= 80);
        CHECK(axf_vocab_special(scratch).mask >= 0 && axf_vocab_special(scratch).cls >= 0);
        int ids[32];
        int k = axf_wordpiece(scratch, "unbelievably good", 1, ids, 32, &err);
        CHECK(k > 0);
        int unk2 = 0;
        for (int i = 0; i < k; i++)
            unk2 += ids[i] == axf_vocab_special(scratch).unk;
        CHECK(unk2 == 0);
        axf_vocab_free(scratch);
    }
    CHECK(axf_vocab_build(texts, 5, 10, NULL, 1, &err) == NULL); /* too small for the characters */
    axf_vocab_free(v);
    for (int k = 0; k < AXF_DEMO_NSPLITS; k++) {
        axf_demo_set_free(a[k]);
        axf_demo_set_free(b[k]);
        axf_demo_set_free(c[k]);
    }
    return CHECK_DONE();
}
