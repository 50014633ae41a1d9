/* The hard-attention view (key v), over the whole screen: one search example, the attention row
 * of one query token in the head under the heatmap cursor, before (softmax) and after the layer's
 * hard-attention setting (or the top-K that t would switch on), with the plain statement of what
 * the setting does to this sentence: nothing at all when K is at least its length. The numbers
 * come from the worker (axf_session_attention); this file only draws them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "pane.h"

/* What the setting does to this sentence, in words. */
static void statement(const axf_attn_view *t, char *buf, size_t n)
{
    size_t u = 0;
    buf[0] = 0;
#define ADD(...) (u += (size_t)snprintf(buf + u, u < n ? n - u : 0, __VA_ARGS__), u = u < n ? u : n)
    if (!t->layer_hard)
        ADD("Layer %d has dense attention now; shown is what t would switch on: top-%d, the session's K. ",
            t->layer, t->k);
    if (t->head_removed)
        ADD("(Head %d is removed in this plan; its attention is shown as the layer computes it.) ", t->head);
    int dropped = 0;
    double kept = 0;
    for (int j = 0; j < t->n && j < AXF_ATTN_TOKENS; j++) {
        dropped += t->dense[j] != 0 && t->hard[j] == 0;
        if (t->hard[j] != 0)
            kept += t->dense[j];
    }
    if ((t->mode == AXF_HARD_TOPK || t->mode == AXF_HARD_TOPK_RENORM) && t->k >= t->n) {
        ADD("K = %d and the sentence has %d tokens: every query keeps all of its %d weights, so top-%d "
            "changes nothing here; the attention is exactly the dense one. Only sentences longer than %d tokens "
            "are changed.", t->k, t->n, t->n, t->k, t->k);
        return;
    }
    if (t->mode == AXF_HARD_THRESHOLD)
        ADD("Weights below %.3g are dropped: ", t->threshold);
    else
        ADD("Top-%d: each query keeps its %d largest weights of %d: ", t->k, t->k, t->n);
    ADD("this query drops %d, keeping %.1f%% of its attention", dropped, 100 * kept);
    if (t->mode == AXF_HARD_TOPK_RENORM)
        ADD(" (the kept weights are scaled up to sum to 1 again). ");
    else
        ADD(" (not renormalised: the kept weights sum to less than 1). ");
    ADD("%d of the %d query rows of this head change.", t->rows_changed, t->n);
#undef ADD
}

static void bar(WINDOW *w, int y, int x, int width, double v, double top, attr_t at)
{
    int fill = top > 0 ? (int)lround(v / top * width) : 0;
    if (v > 0 && fill == 0)
        fill = 1;
    for (int i = 0; i < fill && i < width; i++)
        axf_put(w, y, x + i, 1, at, axf_th.g_bar_full);
}

static const char *setting_name(const axf_attn_view *t, char *buf, size_t n)
{
    if (t->mode == AXF_HARD_THRESHOLD)
        snprintf(buf, n, "after: below %.3g dropped", t->threshold);
    else
        snprintf(buf, n, "after: top-%d%s", t->k, t->mode == AXF_HARD_TOPK_RENORM ? " renormalised" : "");
    return buf;
}

void axf_attn_draw(axf_app *a)
{
    const axf_attn_view *t = &a->view.attn;
    int W = a->cols, H = a->rows - 2;
    if (W < 40 || H < 12)
        return;
    WINDOW *win = newwin(H, W, 1, 0);
    werase(win);
    axf_draw_box(win, "hard attention on one sentence", "v closes", 1);
    const axf_theme *th = &axf_th;
    if (!t->have || t->req != a->attn_want.req) {
        axf_put(win, 2, 2, W - 4, t->err[0] ? th->bad : th->dim, t->err[0] ? t->err : "computing…");
        wnoutrefresh(win);
        delwin(win);
        return;
    }
    int n = t->n < AXF_ATTN_TOKENS ? t->n : AXF_ATTN_TOKENS;
    char line[4096];
    size_t u = 0;
    u += (size_t)snprintf(line + u, sizeof line - u, "example %d of %d", t->example + 1, t->n_examples);
    if (t->label >= 0)
        u += (size_t)snprintf(line + u, sizeof line - u, " (label %d)", t->label);
    snprintf(line + u, sizeof line - u, " · layer %d, head %d · the row of query token %d \"%s\"", t->layer, t->head,
             t->query, t->tok[t->query]);
    axf_seg hd[] = {{th->head, line, 0}};
    axf_put_segs(win, 1, 2, W - 4, 1, hd, 1);
    /* the sentence, the query token marked */
    u = 0;
    for (int j = 0; j < n && u + 40 < sizeof line; j++)
        u += (size_t)snprintf(line + u, sizeof line - u, j == t->query ? "%s[%s]" : "%s%s", j ? " " : "", t->tok[j]);
    if (t->n > n)
        snprintf(line + u, sizeof line - u, " (+%d tokens not shown)", t->n - n);
    int y = 2;
    y += axf_draw_wrapped(win, y, 2, W - 4, 2, 0, A_NORMAL, 2, 0, line) > 1 ? 2 : 1;
    char st[1024];
    statement(t, st, sizeof st);
    int sr = axf_draw_wrapped(NULL, 0, 0, W - 4, 0, 0, A_NORMAL, 0, 0, st);
    sr = sr > 4 ? 4 : sr;
    axf_draw_wrapped(win, y, 2, W - 4, sr, 0, th->accent, 0, 0, st);
    y += sr + 1;
    /* one row per key token: its weight before and after, bars on one scale */
    int tw = 14, nw = 7, bw = (W - 4 - 5 - tw - 2 * (nw + 3)) / 2;
    if (bw > 40)
        bw = 40;
    int xb = 2 + 5 + tw, xa = xb + bw + nw + 3;
    char nm[64];
    axf_put(win, y, 2, 5 + tw, th->head, "key token");
    axf_put(win, y, xb, bw + nw, th->head, "before: softmax");
    axf_put(win, y, xa, bw + nw, th->head, setting_name(t, nm, sizeof nm));
    y++;
    double top = 0;
    for (int j = 0; j < n; j++)
        top = t->dense[j] > top ? t->dense[j] : top;
    int rows = H - 2 - y;
    if (a->help_scroll > n - rows)
        a->help_scroll = n - rows > 0 ? n - rows : 0;
    for (int r = 0; r < rows && r + a->help_scroll < n; r++) {
        int j = r + a->help_scroll;
        char num[32];
        axf_putf(win, y + r, 2, 5, th->dim, "%3d", j);
        axf_put(win, y + r, 7, tw - 1, j == t->query ? th->accent : A_NORMAL, t->tok[j]);
        bar(win, y + r, xb, bw, t->dense[j], top, th->plot_a);
        snprintf(num, sizeof num, "%.3f", t->dense[j]);
        axf_put_right(win, y + r, xb + bw + 1, nw, th->dim, num);
        if (t->hard[j] == 0 && t->dense[j] != 0) {
            axf_put(win, y + r, xa, bw, th->removed, th->g_removed);
            axf_put_right(win, y + r, xa + bw + 1, nw, th->removed, "dropped");
        } else {
            bar(win, y + r, xa, bw, t->hard[j], top, t->hard[j] != t->dense[j] ? th->plot_b : th->plot_a);
            snprintf(num, sizeof num, "%.3f", t->hard[j]);
            axf_put_right(win, y + r, xa + bw + 1, nw, t->hard[j] != t->dense[j] ? th->plot_b : th->dim, num);
        }
    }
    axf_seg keys[] = {{th->key, ", .", 0}, {A_NORMAL, " example", 1}, {th->key, "j k", 0},
                      {A_NORMAL, " query token", 1}, {th->key, "arrows", 0}, {A_NORMAL, " layer and head", 1},
                      {th->key, "PgUp PgDn", 0}, {A_NORMAL, " scroll", 1}, {th->key, "v", 0}, {A_NORMAL, " close", 1}};
    axf_put_segs(win, H - 2, 2, W - 4, 1, keys, (int)(sizeof keys / sizeof keys[0]));
    wnoutrefresh(win);
    delwin(win);
}


/* ---- keys of the view ---- */

/* Asks the worker for the row the view shows now: the example and query token chosen here, the
 * layer and head under the heatmap cursor (head 0 when the cursor is on no head). */
void axf_attn_request(axf_app *a)
{
    axf_wcmd c;
    memset(&c, 0, sizeof c);
    c.type = AXF_WCMD_ATTENTION;
    c.arg = a->attn_want.example;
    c.act.layer = a->cur_layer;
    c.act.index = a->cur_col < a->n_cols && a->colv[a->cur_col].kind == AXF_COL_HEAD ? a->colv[a->cur_col].index : 0;
    c.act.count = a->attn_want.query;
    if (axf_worker_post(a->worker, &c)) {
        axf_app_message(a, 1, "busy: too many commands waiting");
        return;
    }
    a->attn_want.req = axf_worker_posted(a->worker);
}

int axf_attn_key(axf_app *a, int key)
{
    const axf_attn_view *t = &a->view.attn;
    int n_ex = t->n_examples > 0 ? t->n_examples : a->view.snap.facts.n_search;
    int n_tok = t->have ? t->n : 1;
    switch (key) {
    case ',': case '<':
        a->attn_want.example = (a->attn_want.example + n_ex - 1) % (n_ex > 0 ? n_ex : 1);
        a->attn_want.query = 0;
        break;
    case '.': case '>':
        a->attn_want.example = (a->attn_want.example + 1) % (n_ex > 0 ? n_ex : 1);
        a->attn_want.query = 0;
        break;
    case 'j':
        a->attn_want.query = a->attn_want.query + 1 < n_tok ? a->attn_want.query + 1 : a->attn_want.query;
        break;
    case 'k':
        a->attn_want.query = a->attn_want.query > 0 ? a->attn_want.query - 1 : 0;
        break;
    case KEY_LEFT: case KEY_RIGHT: case KEY_UP: case KEY_DOWN: {
        /* the heatmap cursor: left and right step over the heads only */
        int nl = a->view.snap.facts.n_layers, c = a->cur_col;
        if (key == KEY_UP || key == KEY_DOWN)
            a->cur_layer = key == KEY_UP ? (a->cur_layer + 1 < nl ? a->cur_layer + 1 : a->cur_layer)
                                         : (a->cur_layer > 0 ? a->cur_layer - 1 : 0);
        else
            do
                c += key == KEY_RIGHT ? 1 : -1;
            while (c >= 0 && c < a->n_cols && a->colv[c].kind != AXF_COL_HEAD);
        if (c >= 0 && c < a->n_cols)
            a->cur_col = c;
        break;
    }
    case KEY_PPAGE: case KEY_NPAGE:
        a->help_scroll += key == KEY_NPAGE ? 10 : -10;
        a->help_scroll = a->help_scroll < 0 ? 0 : a->help_scroll;
        return AXF_KEY_HANDLED;
    case 'v': case 27: case 'q':
        a->help = AXF_OVERLAY_NONE;
        return AXF_KEY_LAYOUT;
    default:
        return AXF_KEY_HANDLED; /* the view keeps the keyboard until it is closed */
    }
    a->help_scroll = 0;
    axf_attn_request(a);
    return AXF_KEY_HANDLED;
}
