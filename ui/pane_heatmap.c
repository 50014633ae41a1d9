/* The heatmap: one row per layer (top layer first, as the stack is drawn in papers), one cell per
 * head, the attention and FFN blocks, the hard-attention setting and the FFN neuron groups.
 * Colour (and shade) = importance under the chosen measure, on the scale the legend states
 * (compute_levels); glyph = state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "pane.h"

/* Placement of the columns inside the pane (x relative to the pane's left edge). */
typedef struct col_place {
    int x, w;
} col_place;

static col_place places[AXF_MAX_COLS];
static int hard_x, groups_x, label_w;

static int n_heads(const axf_view *v)
{
    return v->have_snap ? v->snap.facts.n_heads : 0;
}

static int n_groups(const axf_view *v)
{
    if (!v->have_snap)
        return 0;
    int g = v->snap.layers[0].n_groups;
    return g > AXF_MAX_GROUPS ? AXF_MAX_GROUPS : g;
}

/* Lays out columns for the given choice (zoom 0..2: wider cells); returns the pane width needed. */
static int place(axf_app *a, int groups_inline, int groups_view, int zoom, int store)
{
    const axf_view *v = &a->view;
    int nh = n_heads(v), ng = n_groups(v), nl = v->have_snap ? v->snap.facts.n_layers : 0;
    axf_col cols[AXF_MAX_COLS];
    col_place pl[AXF_MAX_COLS];
    int n = 0, x = 2;
    int lw = nl > 10 ? 3 : 2;
    int hw = 2 + 2 * zoom, bw = 4 + 2 * zoom, gw = 1 + zoom;
    cols[n] = (axf_col){AXF_COL_LAYER, 0};
    pl[n++] = (col_place){x, lw};
    x += lw + 2;
    if (groups_view) {
        for (int g = 0; g < ng; g++) {
            cols[n] = (axf_col){AXF_COL_GROUP, g};
            pl[n++] = (col_place){x, hw};
            x += hw + 1;
        }
    } else {
        for (int h = 0; h < nh; h++) {
            cols[n] = (axf_col){AXF_COL_HEAD, h};
            pl[n++] = (col_place){x, hw};
            x += hw + 1;
        }
    }
    x += 1;
    cols[n] = (axf_col){AXF_COL_ATTN, 0};
    pl[n++] = (col_place){x, bw};
    x += bw + 1;
    cols[n] = (axf_col){AXF_COL_FFN, 0};
    pl[n++] = (col_place){x, bw};
    x += bw + 2;
    int hx = x;
    x += 6;
    int gx = x;
    if (groups_inline && !groups_view) {
        for (int g = 0; g < ng; g++) {
            cols[n] = (axf_col){AXF_COL_GROUP, g};
            pl[n++] = (col_place){x, gw};
            x += gw;
        }
        x += 1;
        if (x - gx < 11)
            x = gx + 11; /* room for the "ffn groups" heading */
    } else {
        x += 10; /* "g: groups" / "nnn/nnn on" */
    }
    x += 1; /* right border */
    if (store) {
        memcpy(a->colv, cols, sizeof(axf_col) * (size_t)n);
        memcpy(places, pl, sizeof(col_place) * (size_t)n);
        a->n_cols = n;
        hard_x = hx;
        groups_x = gx;
        label_w = lw;
    }
    return x + 1;
}

int axf_heatmap_width(const axf_app *a, int with_groups)
{
    return place((axf_app *)a, with_groups, 0, 0, 0);
}

static int legend_rows(const axf_app *a, int width);
static int details_rows(const axf_app *a, int width);

int axf_heatmap_height(const axf_app *a, int spacious, int width)
{
    int nl = a->view.have_snap ? a->view.snap.facts.n_layers : 4;
    /* borders, heading, legend, details */
    return (spacious ? 2 * nl - 1 : nl) + 3 + legend_rows(a, width - 4) + details_rows(a, width - 4);
}

static int row_gap; /* a blank row between layers when the pane is tall enough */

void axf_heatmap_columns(axf_app *a)
{
    axf_col old = a->n_cols > 0 && a->cur_col < a->n_cols ? a->colv[a->cur_col] : (axf_col){AXF_COL_HEAD, 0};
    int pw = a->panes[AXF_PANE_HEATMAP].w;
    int fits = pw >= place(a, 1, 0, 0, 0);
    int zoom = 0;
    while (fits && zoom < 2 && pw >= place(a, 1, 0, zoom + 1, 0))
        zoom++;
    a->groups_inline = fits;
    if (fits)
        a->groups_view = 0;
    place(a, fits, a->groups_view, zoom, 1);
    row_gap = a->panes[AXF_PANE_HEATMAP].h >= axf_heatmap_height(a, 1, pw);
    /* keep the cursor on the same element when the columns change */
    int best = -1;
    for (int i = 0; i < a->n_cols; i++)
        if (a->colv[i].kind == old.kind && a->colv[i].index == old.index)
            best = i;
    if (best < 0)
        for (int i = 0; i < a->n_cols; i++)
            if (a->colv[i].kind == (old.kind == AXF_COL_GROUP ? AXF_COL_HEAD : AXF_COL_GROUP)) {
                best = i;
                break;
            }
    a->cur_col = best >= 0 ? best : 1 < a->n_cols ? 1 : 0;
}

/* ---- importance values ---- */

static float imp_value(const axf_view *v, int measure, axf_col c, int l)
{
    if (!v->have_imp)
        return NAN;
    const axf_imp_values *iv = measure == AXF_MEASURE_ACC ? &v->imp.acc : &v->imp.v;
    float x;
    switch (c.kind) {
    case AXF_COL_LAYER: x = iv->layer[l]; break;
    case AXF_COL_HEAD: x = iv->head[l][c.index]; break;
    case AXF_COL_ATTN: x = iv->attn[l]; break;
    case AXF_COL_FFN: x = iv->ffn[l]; break;
    default: x = c.index < v->imp.n_groups ? iv->group[l][c.index] : NAN; break;
    }
    /* accuracy change after removal: a drop means the element matters */
    return measure == AXF_MEASURE_ACC ? -x : x;
}

static int col_class(axf_col_kind k)
{
    return k == AXF_COL_LAYER ? 0 : k == AXF_COL_HEAD ? 1 : k == AXF_COL_GROUP ? 3 : 2;
}

/* State of a cell: 0 present, 1 removed, 2 part removed, 3 absent from the model. */
static int cell_state(const axf_view *v, axf_col c, int l)
{
    const axf_layer_view *lv = &v->snap.layers[l];
    switch (c.kind) {
    case AXF_COL_LAYER: return !lv->attn_on && !lv->ffn_on ? 1 : 0;
    case AXF_COL_HEAD:
        if (c.index >= lv->nh)
            return 3;
        return !lv->attn_on || !lv->head_on[c.index] ? 1 : 0;
    case AXF_COL_ATTN: return lv->attn_on ? 0 : 1;
    case AXF_COL_FFN: return lv->ffn_on ? 0 : 1;
    default:
        if (c.index >= lv->n_groups)
            return 3;
        if (!lv->ffn_on)
            return 1;
        return lv->group_state[c.index] == 0 ? 1 : lv->group_state[c.index] == 2 ? 2 : 0;
    }
}

/* The colour scale, the one the legend states: a shade per factor of 10 below the largest value
 * (█ within 10x of it, ▓ within 100x, ▒ within 1000x, ░ further below), zero drawn as zero and,
 * for the exact measures, a removal that lowers the loss (or raises accuracy) as "helps". The
 * exact measures are changes in one unit (loss, or accuracy), so one scale holds every cell of
 * every layer; the others (gradient, entropy, weight norm) differ in size by kind of element, so
 * heads, blocks and neuron groups each have their own largest value. */
typedef struct levels {
    float top[4];  /* largest value per class (all four equal for the exact measures) */
    int global;
} levels;

static int exact_measure(int measure)
{
    return measure == AXF_MEASURE_LOSS || measure == AXF_MEASURE_ACC;
}

static void compute_levels(const axf_app *a, levels *lv)
{
    const axf_view *v = &a->view;
    memset(lv, 0, sizeof *lv);
    int nl = v->snap.facts.n_layers, nh = n_heads(v), ng = n_groups(v);
    lv->global = exact_measure(a->measure);
    for (int l = 0; l < nl; l++) {
        axf_col all[2 + AXF_MAX_HEADS + AXF_MAX_GROUPS];
        int n = 0;
        all[n++] = (axf_col){AXF_COL_ATTN, 0};
        all[n++] = (axf_col){AXF_COL_FFN, 0};
        for (int h = 0; h < nh; h++)
            all[n++] = (axf_col){AXF_COL_HEAD, h};
        for (int g = 0; g < ng; g++)
            all[n++] = (axf_col){AXF_COL_GROUP, g};
        for (int i = 0; i < n; i++) {
            if (cell_state(v, all[i], l) == 1 || cell_state(v, all[i], l) == 3)
                continue;
            float x = imp_value(v, a->measure, all[i], l);
            int k = lv->global ? 0 : col_class(all[i].kind);
            if (isfinite(x) && x > lv->top[k])
                lv->top[k] = x;
        }
    }
    if (lv->global)
        for (int k = 1; k < 4; k++)
            lv->top[k] = lv->top[0];
}

static int level_of(const axf_app *a, const levels *lv, axf_col c, int l)
{
    float x = imp_value(&a->view, a->measure, c, l);
    if (!isfinite(x))
        return AXF_LVL_NONE;
    if (x == 0)
        return AXF_LVL_ZERO;
    if (x < 0)
        return exact_measure(a->measure) ? AXF_LVL_HELPS : AXF_LVL_1;
    float top = lv->top[col_class(c.kind)];
    return x >= top / 10 ? AXF_LVL_4 : x >= top / 100 ? AXF_LVL_3 : x >= top / 1000 ? AXF_LVL_2 : AXF_LVL_1;
}

/* The largest value of the scale, as the legend prints it. */
static void scale_text(const axf_app *a, const levels *lv, char *buf, size_t n)
{
    if (!a->view.have_imp) {
        snprintf(buf, n, "%s", "top not known");
        return;
    }
    if (!lv->global) {
        snprintf(buf, n, "%s", "top of each kind");
        return;
    }
    if (a->measure == AXF_MEASURE_ACC)
        snprintf(buf, n, "top %.2f%%", 100 * lv->top[0]);
    else
        snprintf(buf, n, "top %.2g", lv->top[0]);
}

int axf_heatmap_selected(const axf_app *a, axf_action *drop, int *removed, char *name, size_t n)
{
    const axf_view *v = &a->view;
    if (!v->have_snap || a->cur_col >= a->n_cols)
        return -1;
    axf_col c = a->colv[a->cur_col];
    int l = a->cur_layer;
    int st = cell_state(v, c, l);
    if (st == 3)
        return -1;
    memset(drop, 0, sizeof *drop);
    drop->layer = l;
    drop->index = c.index;
    *removed = st == 1;
    const axf_layer_view *lv = &v->snap.layers[l];
    switch (c.kind) {
    case AXF_COL_LAYER:
        drop->op = *removed ? AXF_OP_RESTORE_LAYER : AXF_OP_DROP_LAYER;
        snprintf(name, n, "layer %d", l);
        break;
    case AXF_COL_HEAD:
        /* a head of a removed block comes back on its own (plan.h invariant) */
        drop->op = lv->attn_on && lv->head_on[c.index] ? AXF_OP_DROP_HEAD : AXF_OP_RESTORE_HEAD;
        *removed = drop->op == AXF_OP_RESTORE_HEAD;
        snprintf(name, n, "head %d of layer %d", c.index, l);
        break;
    case AXF_COL_ATTN:
        drop->op = *removed ? AXF_OP_RESTORE_ATTN : AXF_OP_DROP_ATTN;
        snprintf(name, n, "attention block of layer %d", l);
        break;
    case AXF_COL_FFN:
        drop->op = *removed ? AXF_OP_RESTORE_FFN : AXF_OP_DROP_FFN;
        snprintf(name, n, "FFN block of layer %d", l);
        break;
    default:
        drop->op = *removed ? AXF_OP_RESTORE_GROUP : AXF_OP_DROP_GROUP;
        drop->groups = lv->n_groups;
        snprintf(name, n, "FFN neuron group %d/%d of layer %d", c.index, lv->n_groups, l);
        break;
    }
    return 0;
}

/* ---- drawing ---- */

static void hard_text(const axf_layer_view *lv, char *buf, size_t n)
{
    switch (lv->hard) {
    case AXF_HARD_TOPK: snprintf(buf, n, "k%d", lv->k); break;
    case AXF_HARD_TOPK_RENORM: snprintf(buf, n, "k%dr", lv->k); break;
    case AXF_HARD_THRESHOLD: snprintf(buf, n, "p%.3g", lv->threshold); break;
    default: buf[0] = 0; break;
    }
}

static void draw_cell(WINDOW *w, int y, int x, int width, int state, int lvl, int cursor)
{
    const axf_theme *t = &axf_th;
    attr_t at;
    const char *g;
    if (state == 3) {
        at = A_NORMAL;
        g = " ";
    } else if (state == 1) {
        at = t->removed;
        g = t->g_removed;
    } else if (state == 2) {
        at = t->lvl[lvl];
        g = t->g_partial;
    } else {
        at = t->lvl[lvl];
        g = t->shade[lvl];
    }
    if (cursor)
        at = (at & ~A_COLOR) | A_REVERSE | A_BOLD | (at & A_COLOR);
    wattron(w, at);
    for (int i = 0; i < width; i++)
        mvwaddstr(w, y, x + i, g);
    wattroff(w, at);
}

static void measure_title(const axf_app *a, char *buf, size_t n)
{
    snprintf(buf, n, "importance: %s", axf_measure_name(a->measure));
}

/* The legend as segments (axf_put_segs); top = the scale's largest value as text. */
static int legend_segs(const axf_app *a, int exact, const char *top, axf_seg *sg, char *tail, size_t n)
{
    const axf_theme *t = &axf_th;
    int k = 0;
    sg[k++] = (axf_seg){t->lvl[AXF_LVL_ZERO], t->shade[AXF_LVL_ZERO], 0};
    sg[k++] = (axf_seg){t->dim, " zero", 1};
    for (int l = AXF_LVL_1; l <= AXF_LVL_4; l++) {
        sg[k++] = (axf_seg){t->lvl[l], t->shade[l], l > AXF_LVL_1};
        sg[k++] = (axf_seg){A_NORMAL, " ", 1};
    }
    snprintf(tail, n, "%s, /10 a shade", top);
    sg[k++] = (axf_seg){t->dim, tail, 1};
    if (exact) {
        sg[k++] = (axf_seg){t->lvl[AXF_LVL_HELPS], t->shade[AXF_LVL_HELPS], 0};
        sg[k++] = (axf_seg){t->dim, " helps", 1};
    }
    sg[k++] = (axf_seg){t->removed, t->g_removed, 0};
    sg[k++] = (axf_seg){t->dim, " removed", 1};
    sg[k++] = (axf_seg){t->hard, "k30", 0};
    sg[k++] = (axf_seg){t->dim, " hard", 1};
    sg[k++] = (axf_seg){t->hard | A_BOLD, "i8", 0};
    sg[k++] = (axf_seg){t->dim, " int8", 1};
    sg[k++] = (axf_seg){t->lvl[AXF_LVL_NONE], t->shade[AXF_LVL_NONE], 0};
    sg[k++] = (axf_seg){t->dim, " not measured", 1};
    (void)a;
    return k;
}

/* Rows the legend takes at this width whatever the measure and its values: laid out with the
 * longest scale text and the "helps" item, so the layout does not move when they change. */
static int legend_rows(const axf_app *a, int width)
{
    axf_seg sg[24];
    char tail[64];
    int n = legend_segs(a, 1, "top of each kind", sg, tail, sizeof tail);
    return axf_put_segs(NULL, 0, 0, width, 0, sg, n);
}

static void draw_legend(WINDOW *w, int y, int x, int maxw, int rows, const axf_app *a, const levels *lv)
{
    axf_seg sg[24];
    char top[48], tail[64];
    scale_text(a, lv, top, sizeof top);
    int n = legend_segs(a, exact_measure(a->measure), top, sg, tail, sizeof tail);
    axf_put_segs(w, y, x, maxw, rows, sg, n);
}

/* The line about the element under the cursor: its name, the change its removal makes (or that
 * it is removed), and the layer's hard attention and int8 blocks; wrapped by item. */
static int details_segs(const axf_app *a, axf_seg *sg, char *val, size_t vn, char *ht, char *it, char *name,
                        size_t nn)
{
    const axf_view *v = &a->view;
    const axf_theme *t = &axf_th;
    axf_action act;
    int removed, k = 0;
    if (axf_heatmap_selected(a, &act, &removed, name, nn)) {
        sg[k++] = (axf_seg){t->dim, "(no element here)", 0};
        return k;
    }
    axf_col c = a->colv[a->cur_col];
    int l = a->cur_layer;
    val[0] = 0;
    if (v->have_imp) {
        const axf_imp_values *iv = &v->imp.v, *ia = &v->imp.acc;
        float x1, x2;
        switch (c.kind) {
        case AXF_COL_LAYER: x1 = iv->layer[l]; x2 = ia->layer[l]; break;
        case AXF_COL_HEAD: x1 = iv->head[l][c.index]; x2 = ia->head[l][c.index]; break;
        case AXF_COL_ATTN: x1 = iv->attn[l]; x2 = ia->attn[l]; break;
        case AXF_COL_FFN: x1 = iv->ffn[l]; x2 = ia->ffn[l]; break;
        default: x1 = iv->group[l][c.index]; x2 = ia->group[l][c.index]; break;
        }
        if (v->imp_kind == AXF_IMP_EXACT && isfinite(x1))
            snprintf(val, vn, "removing it: loss %+.*f, acc %+.2f%%",
                     axf_loss_decimals(v->snap.have_current ? v->snap.current.loss : v->snap.baseline.loss), x1,
                     100 * x2);
        else if (isfinite(x1))
            snprintf(val, vn, "%s %.4g", axf_imp_kind_name(v->imp_kind), x1);
        if (*val && v->imp_stale) { /* measured on an earlier step's plan */
            size_t u = strlen(val);
            snprintf(val + u, vn - u, " @step %d", v->imp_step);
        }
    }
    sg[k++] = (axf_seg){t->head, name, 0};
    if (removed)
        sg[k++] = (axf_seg){t->removed, "removed (p restores)", 0};
    else if (*val)
        sg[k++] = (axf_seg){A_NORMAL, val, 0};
    const axf_layer_view *lv = &v->snap.layers[l];
    if (lv->hard != AXF_HARD_OFF) {
        snprintf(ht, 32, "L%d hard %s", l, axf_hard_mode_name(lv->hard));
        sg[k++] = (axf_seg){t->hard, ht, 0};
    }
    if (lv->int8_attn || lv->int8_ffn) {
        snprintf(it, 32, "L%d int8 %s", l, lv->int8_attn && lv->int8_ffn ? "attn+ffn" : lv->int8_attn ? "attn" : "ffn");
        sg[k++] = (axf_seg){t->hard, it, 0};
    }
    return k;
}

/* Rows for the details: the longest name and change this model can show must fit (the layer's
 * hard-attention and int8 notes follow when there is room left). */
static int details_rows(const axf_app *a, int width)
{
    int nl = a->view.have_snap ? a->view.snap.facts.n_layers : 12, ng = a->view.have_snap ? n_groups(&a->view) : 12;
    char name[64];
    snprintf(name, sizeof name, "FFN neuron group %d/%d of layer %d", ng > 1 ? ng - 1 : 11, ng > 1 ? ng : 12, nl - 1);
    axf_seg sg[2] = {{A_NORMAL, name, 0}, {A_NORMAL, "removing it: loss -0.0000000, acc -10.00% @step 100", 0}};
    return axf_put_segs(NULL, 0, 0, width, 0, sg, 2);
}

static void draw_details(WINDOW *w, int y, int x, int maxw, int rows, const axf_app *a)
{
    axf_seg sg[8];
    char val[160], ht[32], it[32], name[96];
    int n = details_segs(a, sg, val, sizeof val, ht, it, name, sizeof name);
    axf_put_segs(w, y, x, maxw, rows, sg, n);
}

int axf_heatmap_text_width(const axf_app *a)
{
    int w = 40;
    while (w < 400 && (legend_rows(a, w) > 1 || details_rows(a, w) > 1))
        w++;
    return w + 4;
}

static void heatmap_draw(axf_pane *p, axf_app *a)
{
    WINDOW *w = p->win;
    const axf_view *v = &a->view;
    const axf_theme *t = &axf_th;
    werase(w);
    char title[96], rt[96] = "";
    measure_title(a, title, sizeof title);
    if (v->imp_err[0])
        snprintf(rt, sizeof rt, "not available");
    else if (!v->have_imp || v->imp_kind != (int)axf_measure_kind(a->measure))
        snprintf(rt, sizeof rt, "measuring…");
    else if (v->imp_stale) /* the colours are of an earlier step's plan: say which */
        snprintf(rt, sizeof rt, a->prog.busy && !strncmp(a->prog.label, "importance", 10)
                                    ? "@step %d · measuring…" : "@step %d · pending", v->imp_step);
    else
        snprintf(rt, sizeof rt, "%.1fs", v->imp.seconds);
    if (v->have_snap && v->snap.int8_embed) { /* no column of its own: the whole table */
        size_t u = strlen(rt);
        snprintf(rt + u, sizeof rt - u, "%sembeddings int8", u ? " · " : "");
    }
    axf_draw_box(w, title, rt, 0);
    if (!v->have_snap) {
        axf_put(w, 2, 2, p->w - 4, t->dim, "waiting for the session…");
        wnoutrefresh(w);
        return;
    }
    int nl = v->snap.facts.n_layers;
    int inner = p->h - 2;
    int step = row_gap ? 2 : 1;
    int leg = legend_rows(a, p->w - 4), det = details_rows(a, p->w - 4);
    int rows = (inner - 1 - leg - det + step - 1) / step; /* heading, legend, details */
    if (rows < 1)
        rows = 1;
    /* top layer first; scroll so the cursor row is visible */
    int top = p->scroll;
    int cur_row = nl - 1 - a->cur_layer;
    if (cur_row < top)
        top = cur_row;
    if (cur_row >= top + rows)
        top = cur_row - rows + 1;
    if (top > nl - rows)
        top = nl - rows > 0 ? nl - rows : 0;
    if (top < 0)
        top = 0;
    p->scroll = top;

    levels lv;
    compute_levels(a, &lv);
    axf_col cc = a->colv[a->cur_col];
    /* headings */
    int y = 1;
    for (int i = 0; i < a->n_cols; i++) {
        axf_col c = a->colv[i];
        char hd[16] = "";
        if (c.kind == AXF_COL_HEAD)
            snprintf(hd, sizeof hd, c.index < 10 ? "h%d" : "%d", c.index);
        else if (c.kind == AXF_COL_GROUP && a->groups_view)
            snprintf(hd, sizeof hd, c.index < 10 ? "g%d" : "%d", c.index);
        else if (c.kind == AXF_COL_ATTN)
            snprintf(hd, sizeof hd, places[i].w > 4 ? " attn" : "attn");
        else if (c.kind == AXF_COL_FFN)
            snprintf(hd, sizeof hd, places[i].w > 4 ? "  ffn" : " ffn");
        if (*hd && places[i].x + places[i].w < p->w)
            axf_put(w, y, places[i].x, places[i].w, i == a->cur_col ? t->accent | A_UNDERLINE : t->head, hd);
    }
    if (hard_x + 4 < p->w)
        axf_put(w, y, hard_x, 4, t->head, "hard");
    if (a->groups_inline && !a->groups_view && groups_x + 10 < p->w)
        axf_put(w, y, groups_x, p->w - groups_x - 1, cc.kind == AXF_COL_GROUP ? t->accent : t->head,
                "ffn groups");
    else if (!a->groups_inline && groups_x + 10 < p->w)
        axf_put(w, y, groups_x, p->w - groups_x - 1, t->dim, a->groups_view ? "g: heads" : "g: groups");
    /* rows */
    for (int r = 0; r < rows && top + r < nl; r++) {
        int l = nl - 1 - (top + r);
        y = 2 + r * step;
        const axf_layer_view *lyr = &v->snap.layers[l];
        for (int i = 0; i < a->n_cols; i++) {
            axf_col c = a->colv[i];
            int cursor = l == a->cur_layer && i == a->cur_col;
            if (places[i].x + places[i].w >= p->w)
                break;
            if (c.kind == AXF_COL_LAYER) {
                char lab[16];
                snprintf(lab, sizeof lab, "L%d", l);
                int st = cell_state(v, c, l);
                attr_t at = st == 1 ? t->removed : l == a->cur_layer ? t->accent | A_UNDERLINE : t->head;
                if (cursor)
                    at = (at & ~A_UNDERLINE) | A_REVERSE;
                wattron(w, at);
                mvwprintw(w, y, places[i].x, "%-*s", label_w, lab);
                wattroff(w, at);
                continue;
            }
            int st = cell_state(v, c, l);
            draw_cell(w, y, places[i].x, places[i].w, st, level_of(a, &lv, c, l), cursor);
            if (st == 0 && places[i].w >= 2 &&
                ((c.kind == AXF_COL_ATTN && lyr->int8_attn) || (c.kind == AXF_COL_FFN && lyr->int8_ffn))) {
                attr_t at = cursor ? A_REVERSE | A_BOLD : t->hard | A_BOLD;
                axf_put(w, y, places[i].x + (places[i].w - 2) / 2, 2, at, "i8");
            }
        }
        char ht[16];
        hard_text(lyr, ht, sizeof ht);
        if (hard_x + 4 < p->w)
            axf_put(w, y, hard_x, 5, *ht ? t->hard : t->dim, *ht ? ht : (t->utf8 ? "·" : "-"));
        if (!a->groups_inline && !a->groups_view && groups_x + 10 < p->w) {
            /* compact summary of the groups when they do not fit as cells */
            char gs[32];
            snprintf(gs, sizeof gs, "%d/%d on", lyr->f_on, lyr->f);
            axf_put(w, y, groups_x, p->w - groups_x - 1, t->dim, gs);
        }
    }
    if (top > 0)
        axf_put(w, 2, p->w - 2, 1, t->dim, t->g_up);
    if (top + rows < nl)
        axf_put(w, 2 + (rows - 1) * step, p->w - 2, 1, t->dim, t->g_down);
    draw_legend(w, p->h - 1 - det - leg, 2, p->w - 4, leg, a, &lv);
    draw_details(w, p->h - 1 - det, 2, p->w - 4, det, a);
    wnoutrefresh(w);
}

const axf_pane_class axf_pane_heatmap = {"heatmap", heatmap_draw, NULL};
