/* Plain-words account of the step at the history cursor for the teaching panel, built from the
 * history entry, the trials journal and the Lua host's own explanation; and word wrapping.
 *
 * Text format: paragraphs separated by '\n'. A paragraph starting with '#' is a heading, '+' a
 * kept change, '-' an undone one (bullets with a hanging indent). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "pane.h"

typedef struct sbuf {
    char *p;
    size_t n, used;
} sbuf;

static void add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(sbuf *b, const char *fmt, ...)
{
    if (b->used + 1 >= b->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->used, b->n - b->used, fmt, ap);
    va_end(ap);
    if (k > 0)
        b->used = b->used + (size_t)k < b->n ? b->used + (size_t)k : b->n - 1;
}

/* "removed head 4 of layer 7" */
static void say_action(sbuf *b, const axf_action *a)
{
    int l = a->layer;
    switch (a->op) {
    case AXF_OP_DROP_LAYER: add(b, "removed layer %d entirely (both its blocks)", l); break;
    case AXF_OP_DROP_ATTN: add(b, "removed the attention block of layer %d (all its heads)", l); break;
    case AXF_OP_DROP_FFN: add(b, "removed the feed-forward (FFN) block of layer %d", l); break;
    case AXF_OP_DROP_HEAD: add(b, "removed attention head %d of layer %d", a->index, l); break;
    case AXF_OP_DROP_GROUP:
        add(b, "removed FFN neuron group %d of %d in layer %d", a->index, a->groups, l);
        break;
    case AXF_OP_DROP_NEURONS:
        add(b, "removed FFN neurons %d..%d of layer %d", a->index, a->index + a->count - 1, l);
        break;
    case AXF_OP_SET_HARD:
        if (a->hard == AXF_HARD_OFF)
            add(b, "made attention in layer %d dense again", l);
        else if (a->hard == AXF_HARD_THRESHOLD)
            add(b, "switched layer %d to hard attention: attention weights below %.3g are dropped", l,
                a->threshold);
        else
            add(b, "switched layer %d to hard attention: each token keeps only its %d strongest "
                   "attention weights%s", l, a->k, a->hard == AXF_HARD_TOPK_RENORM ? " (renormalised)" : "");
        break;
    case AXF_OP_RESTORE_LAYER: add(b, "put layer %d back", l); break;
    case AXF_OP_RESTORE_ATTN: add(b, "put the attention block of layer %d back", l); break;
    case AXF_OP_RESTORE_FFN: add(b, "put the FFN block of layer %d back", l); break;
    case AXF_OP_RESTORE_HEAD: add(b, "put head %d of layer %d back", a->index, l); break;
    case AXF_OP_RESTORE_GROUP: add(b, "put FFN neuron group %d of layer %d back", a->index, l); break;
    case AXF_OP_RESTORE_NEURONS: add(b, "put FFN neurons back in layer %d", l); break;
    case AXF_OP_QUANTIZE:
        if (a->block == AXF_BLOCK_EMBED) {
            add(b, "stored the word embeddings as 8-bit integers with one scale per token (a quarter of their "
                   "bytes; a lookup is no product, so nothing gets faster; a little rounding)");
            break;
        }
        add(b, "switched the %s of layer %d to 8-bit integer weights and inputs (a quarter of the memory, "
               "faster products, a little rounding)", a->block == AXF_BLOCK_ATTN ? "attention projections" : "FFN", l);
        break;
    case AXF_OP_DEQUANTIZE:
        if (a->block == AXF_BLOCK_EMBED) {
            add(b, "put the word embeddings back to 32-bit floats");
            break;
        }
        add(b, "put the %s of layer %d back to 32-bit floats", a->block == AXF_BLOCK_ATTN ? "attention projections" : "FFN", l);
        break;
    default: add(b, "changed layer %d", l); break;
    }
}

static void say_metrics(sbuf *b, const axf_metrics *m0, const axf_metrics *m1, const axf_metrics *base)
{
    int d = axf_loss_decimals(m0->loss);
    add(b, "Loss on the search split went from %.*f to %.*f (%s; lower is better). ", d, m0->loss, d, m1->loss,
        m1->loss < m0->loss ? "better" : m1->loss > m0->loss ? "worse" : "unchanged");
    if (isfinite(m0->accuracy) && isfinite(m1->accuracy))
        add(b, "Accuracy went from %.2f%% to %.2f%% (the original model: %.2f%%). ", 100 * m0->accuracy,
            100 * m1->accuracy, 100 * base->accuracy);
    if (isfinite(m0->accuracy) && m1->accuracy < m0->accuracy && m1->loss < m0->loss)
        add(b, "Accuracy fell while the loss went down: the rules judge the loss, the mean cross-entropy, "
               "not the count of right answers, and surer answers on many examples can come with a few "
               "borderline ones flipped (n: glossary). ");
    add(b, "%d of %d examples are no worse than with the original model (%s half). ", m1->n_no_worse, m1->n,
        m1->n_no_worse * 2 > m1->n ? "more than" : "not more than");
    if (m0->params && m1->params != m0->params)
        add(b, "The model now has %.1f%% of the original parameters.",
            base->params ? 100.0 * (double)m1->params / (double)base->params : 0.0);
}

static void say_trial(sbuf *b, const axf_view_trial *t, const axf_metrics *best)
{
    int d = axf_loss_decimals(best->loss);
    add(b, "\n- %s: loss %.*f (to beat: %.*f), %d of %d no worse", t->what, d, t->m.loss, d, best->loss,
        t->m.n_no_worse, t->m.n);
    if (*t->note)
        add(b, " %s %s", axf_th.g_arrow, t->note);
    else
        add(b, " %s not kept", axf_th.g_arrow);
}

/* Trial i of t[n] is tried again later on the same plan (a policy started over from here, or a
 * second look): only the latest of each change is listed, so nothing appears twice. */
static int tried_later(const axf_view_trial *t, int n, int i)
{
    for (int j = i + 1; j < n; j++)
        if (!strcmp(t[j].what, t[i].what))
            return 1;
    return 0;
}

void axf_teach_text(const axf_view *v, char *buf, size_t n)
{
    sbuf b = {buf, n, 0};
    buf[0] = 0;
    if (!v->have_snap) {
        add(&b, "#Getting ready\nThe model is evaluated once on the search split first: that is the "
                "reference every later change is judged against.");
        return;
    }
    int cur = v->snap.cursor;
    const axf_metrics *base = &v->snap.baseline;
    if (cur == 0 && v->n_trials_after > 0) {
        add(&b, "#The original model\nNothing kept yet: loss %.*f", axf_loss_decimals(base->loss), base->loss);
        if (isfinite(base->accuracy))
            add(&b, ", accuracy %.2f%%", 100 * base->accuracy);
        add(&b, " on %d search examples.", base->n);
    } else if (cur == 0) {
        add(&b, "#The original model\nNothing is removed yet. On the %d search examples it has loss %.*f",
            base->n, axf_loss_decimals(base->loss), base->loss);
        if (isfinite(base->accuracy))
            add(&b, " and accuracy %.2f%%", 100 * base->accuracy);
        add(&b, ". Every change is judged against these numbers. ");
        const char *rule = v->have_policy ? v->policy_rule : "";
        if (!strcmp(rule, "reference"))
            add(&b, "The policy keeps a change only when the mean loss goes down and more than half of the "
                    "examples are no worse than with the original model (its rule: reference). ");
        else if (!strcmp(rule, "loss"))
            add(&b, "The policy keeps a change only when the mean loss goes down (its rule: loss). ");
        else if (*rule)
            add(&b, "The policy keeps a change only when its acceptance rule holds (its rule: %s; n explains "
                    "the rules). ", rule);
        else if (v->have_policy)
            add(&b, "The policy decides by its own test which changes to keep (n explains the usual rules). ");
        add(&b, "A change you make yourself is kept as it is.\nPress s to let the policy take one step, a to let "
                "it run, or p to remove the element under the cursor yourself.");
    } else {
        const axf_view_step *s = &v->steps[cur - 1];
        int by_hand = !strcmp(s->note, "by hand");
        add(&b, "#Step %d of %d%s\n", cur, v->n_steps, by_hand ? ": your change" : "");
        add(&b, by_hand ? "You " : "The policy ");
        if (s->distil)
            add(&b, "re-trained the pruned model from the original one by knowledge distillation %s: the structure "
                    "stayed, its weights changed; later steps act on these weights, and undo brings the old ones back",
                s->what + (strncmp(s->what, "distil (", 8) ? 0 : 7));
        else
            say_action(&b, &s->act);
        if (s->n_actions > 1)
            add(&b, " (and %d more changes in the same step)", s->n_actions - 1);
        add(&b, ".\n");
        say_metrics(&b, &s->before, &s->after, base);
        if (*s->note && !by_hand) {
            const char *why = s->note;
            if (!strncmp(why, "kept: ", 6))
                why += 6;
            add(&b, "\nWhy it was kept: %s", why);
        }
        if (by_hand) {
            /* nothing was tried for it: whatever the policy tried on the plan before is its own */
            add(&b, "\nA change by hand is kept as it is: no rule tested it.");
            if (v->n_trials > 0)
                add(&b, " (The policy had tried %d change%s on the plan before; the log lists them.)",
                    v->trials_total, v->trials_total > 1 ? "s" : "");
        } else {
            /* the step's own trial (the same change, then committed) is not something undone */
            int n_undone = 0;
            for (int i = 0; i < v->n_trials; i++)
                n_undone += strcmp(v->trials[i].what, s->what) && !tried_later(v->trials, v->n_trials, i);
            if (n_undone > 0) {
                add(&b, "\n#Tried first, then undone (%d)", n_undone);
                for (int i = 0; i < v->n_trials; i++)
                    if (strcmp(v->trials[i].what, s->what) && !tried_later(v->trials, v->n_trials, i))
                        say_trial(&b, &v->trials[i], &s->before);
                if (v->trials_total > v->n_trials)
                    add(&b, "\n(and %d earlier tries)", v->trials_total - v->n_trials);
            }
        }
        if (v->explain[0])
            add(&b, "\n#The policy's own account\n%s", v->explain);
        if (cur < v->n_steps)
            add(&b, "\n#Replay\n%d more step%s ahead: ] or r goes forward, [ or u back.", v->n_steps - cur,
                v->n_steps - cur > 1 ? "s" : "");
    }
    if (v->n_trials_after > 0) {
        const axf_metrics *now = v->snap.have_current ? &v->snap.current : base;
        int distinct = 0;
        for (int i = 0; i < v->n_trials_after; i++)
            distinct += !tried_later(v->trials_after, v->n_trials_after, i);
        add(&b, "\n#Tried since, not kept (%d)", distinct + v->trials_after_total - v->n_trials_after);
        for (int i = 0; i < v->n_trials_after; i++)
            if (!tried_later(v->trials_after, v->n_trials_after, i))
                say_trial(&b, &v->trials_after[i], now);
    }
    if (v->have_policy && (v->policy_state == 3 /* AXF_LUA_DONE */) && cur == v->n_steps)
        add(&b, "\n#Done\nThe policy has finished (%s). u and r still walk its steps; L starts it again "
                "from the current plan.", v->policy_msg);
}

/* ---- wrapping ---- */

/* Length in bytes of the longest prefix of s (up to a '\n') that fits in width columns, cut at
 * a space when possible. *next receives where the following line starts. */
static size_t fit(const char *s, int width, const char **next)
{
    size_t i = 0, last_space = 0;
    int cols = 0;
    while (s[i] && s[i] != '\n') {
        unsigned char c = (unsigned char)s[i];
        size_t len = 1;
        if (c >= 0x80)
            while (((unsigned char)s[i + len] & 0xC0) == 0x80 && len < 4)
                len++;
        if (cols + 1 > width)
            break;
        if (c == ' ')
            last_space = i;
        cols++;
        i += len;
    }
    if (!s[i] || s[i] == '\n') {
        *next = s[i] ? s + i + 1 : s + i;
        return i;
    }
    if (last_space > 0) {
        *next = s + last_space + 1;
        return last_space;
    }
    *next = s + i;
    return i;
}

const char axf_glossary[] =
    "#Search split and held-out split\n"
    "The search split is the data the policy scores every trial on: each change is kept or undone by "
    "its numbers there, so they are chosen numbers and flatter the model. The held-out split "
    "(--holdout) is never shown to the policy or to Lua; it only reports, once a plan is committed, "
    "what the choices do on data they were not made on.\n"
    "#No worse\n"
    "An example is no worse when its loss under the current plan is at most its loss under the "
    "original model. The metrics' \"no worse\" row counts them.\n"
    "#Acceptance rule\n"
    "The test a policy puts a tried change to before keeping it, always on the search split and "
    "against the plan kept so far (axformer.lua's rule=). reference: the mean loss goes strictly "
    "down and more than half of the examples are no worse. loss: the mean loss goes strictly down. "
    "tolerance: the mean loss goes strictly down and more than half of the examples are no worse "
    "within a margin eps of their original loss. accuracy: the task metric goes up, or stays and "
    "the mean loss goes down. A change you make with p is kept whatever the rule says.\n"
    "#Why search accuracy can fall in an accuracy-driven search\n"
    "The rules (all but accuracy) look at the loss, the mean cross-entropy, not at the count of "
    "right answers. A change can lower the loss, being surer on many examples, and still flip a few "
    "that were close to the decision boundary, so accuracy drops by those few.\n"
    "#Neuron group\n"
    "The hidden units of a layer's feed-forward block (FFN) split into G equal slices (12 by "
    "default). Removing a group removes its units from both FFN matrices, so the block gets narrower "
    "by 1/G; removing all of them is removing the block.\n"
    "#Head, attention block, FFN block\n"
    "Each layer has an attention block made of heads (each head looks at the sentence its own way) "
    "and a feed-forward block. Removing an element leaves the residual connection around it, so the "
    "layer passes its input on unchanged where the element was.\n"
    "#Hard attention (top-K)\n"
    "Each query keeps only its K largest attention weights and drops the rest, without renormalising "
    "(the kept weights no longer sum to 1). When K is at least the sentence length every weight is "
    "kept and nothing changes: K=30 on sentences of 30 tokens or fewer changes nothing.\n"
    "#Importance\n"
    "How much an element matters, by the measure i chooses: exact (the loss change, or the accuracy "
    "drop, when that element alone is removed), gradient (Michel et al.), attention entropy, or the "
    "size of its weights. The heatmap's legend states its colour scale.\n"
    "#Speed\n"
    "Tokens per CPU second of one thread, as axf bench measures: the original and the compacted "
    "model timed in turn several times; the speed-up is the median of the pairs' ratios and its "
    "range is shown. A plan that removes nothing is the same model: 1.00x, not timed.\n"
    "#int8\n"
    "A block whose weights are stored as 8-bit integers with one scale per row: smaller and faster, "
    "approximately the same numbers.\n";

int axf_draw_wrapped(WINDOW *w, int y, int x, int width, int rows, int first, attr_t attr, int indent,
                     int markup, const char *text)
{
    const axf_theme *t = &axf_th;
    int line = 0;
    const char *p = text;
    char para[2048], tmp[1024];
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t plen = nl ? (size_t)(nl - p) : strlen(p);
        if (plen >= sizeof para)
            plen = sizeof para - 1;
        memcpy(para, p, plen);
        para[plen] = 0;
        const char *q = para;
        attr_t at = attr;
        int hang = 0;
        const char *bullet = NULL;
        if (!markup) {
            hang = indent;
        } else if (*q == '#') {
            at = t->accent;
            q++;
            if (line > 0)
                line++; /* a blank line before each heading */
        } else if (*q == '+' || *q == '-') {
            at = *q == '+' ? t->good : attr;
            bullet = *q == '+' ? t->g_kept : t->g_rejected;
            hang = indent > 0 ? indent : 2;
            q += q[1] == ' ' ? 2 : 1;
        }
        int first_line = 1;
        for (;;) {
            int off = first_line && !bullet ? 0 : hang;
            int avail = width - off;
            if (avail < 4)
                avail = 4;
            const char *next;
            size_t len = fit(q, avail, &next);
            if (len >= sizeof tmp)
                len = sizeof tmp - 1;
            memcpy(tmp, q, len);
            tmp[len] = 0;
            if (w && line >= first && line - first < rows) {
                int yy = y + line - first;
                if (first_line && bullet)
                    axf_put(w, yy, x, hang, bullet == t->g_kept ? t->good : t->dim, bullet);
                axf_put(w, yy, x + off, avail, at, tmp);
            }
            line++;
            first_line = 0;
            q = next;
            if (!*q)
                break;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return line;
}
