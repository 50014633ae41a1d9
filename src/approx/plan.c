/* Approximation plans: creation, comparison, and the actions that edit them with range checks.
 * Every edit of the search state goes through axf_plan_apply, so the invariants stated in plan.h
 * (an "on" block keeps at least one head / neuron) hold for every plan the session builds. */
#include "axf/plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

axf_plan *axf_plan_new(const axf_model *m)
{
    axf_plan *p = axf_xcalloc(1, sizeof *p);
    p->n_layers = m->cfg.n_layers;
    for (int i = 0; i < p->n_layers; i++) {
        axf_layer_plan *lp = &p->layers[i];
        /* the config is the source of truth for per-layer shapes (axf_layer.nh/f mirror it) */
        int nh = m->cfg.layer_heads[i], f = m->cfg.layer_ffn[i];
        lp->nh = nh;
        lp->f = f;
        lp->attn_on = nh > 0;
        lp->ffn_on = f > 0;
        memset(lp->head_on, 1, (size_t)nh);
        lp->neuron_on = axf_xmalloc(f > 0 ? (size_t)f : 1);
        memset(lp->neuron_on, 1, f > 0 ? (size_t)f : 1);
        lp->hard = AXF_HARD_OFF;
        lp->k = 0;
        lp->threshold = 0;
        lp->int8_attn = nh > 0 && axf_model_has_int8(m, i, AXF_BLOCK_ATTN);
        lp->int8_ffn = f > 0 && axf_model_has_int8(m, i, AXF_BLOCK_FFN);
    }
    p->int8_embed = m->word_q8.q != NULL;
    return p;
}

void axf_plan_free(axf_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_layers; i++)
        free(p->layers[i].neuron_on);
    free(p);
}

axf_plan *axf_plan_clone(const axf_plan *p)
{
    axf_plan *c = axf_xcalloc(1, sizeof *c);
    *c = *p;
    for (int i = 0; i < p->n_layers; i++) {
        size_t f = p->layers[i].f > 0 ? (size_t)p->layers[i].f : 1;
        c->layers[i].neuron_on = axf_xmalloc(f);
        memcpy(c->layers[i].neuron_on, p->layers[i].neuron_on, f);
    }
    return c;
}

void axf_plan_copy(axf_plan *dst, const axf_plan *src)
{
    AXF_ASSERT(dst->n_layers == src->n_layers);
    for (int i = 0; i < src->n_layers; i++) {
        unsigned char *keep = dst->layers[i].neuron_on;
        AXF_ASSERT(dst->layers[i].f == src->layers[i].f);
        dst->layers[i] = src->layers[i];
        dst->layers[i].neuron_on = keep;
        if (src->layers[i].f > 0)
            memcpy(keep, src->layers[i].neuron_on, (size_t)src->layers[i].f);
    }
    dst->int8_embed = src->int8_embed;
}

/* Hard-attention parameters only matter in the modes that use them, so two plans that differ in
 * an unused k or threshold still run identically. */
static int hard_equal(const axf_layer_plan *a, const axf_layer_plan *b)
{
    if (a->hard != b->hard)
        return 0;
    if (a->hard == AXF_HARD_TOPK || a->hard == AXF_HARD_TOPK_RENORM)
        return a->k == b->k;
    if (a->hard == AXF_HARD_THRESHOLD)
        return a->threshold == b->threshold;
    return 1;
}

static int layer_equal(const axf_layer_plan *a, const axf_layer_plan *b)
{
    if (a->attn_on != b->attn_on || a->ffn_on != b->ffn_on || a->nh != b->nh || a->f != b->f)
        return 0;
    if (a->attn_on) {
        if (memcmp(a->head_on, b->head_on, (size_t)a->nh))
            return 0;
        if (!hard_equal(a, b) || a->int8_attn != b->int8_attn)
            return 0;
    }
    if (a->ffn_on && a->f > 0 && (memcmp(a->neuron_on, b->neuron_on, (size_t)a->f) || a->int8_ffn != b->int8_ffn))
        return 0;
    return 1;
}

int axf_plan_first_diff(const axf_plan *a, const axf_plan *b)
{
    int n = a->n_layers < b->n_layers ? a->n_layers : b->n_layers;
    if (a->int8_embed != b->int8_embed)
        return 0;
    for (int i = 0; i < n; i++)
        if (!layer_equal(&a->layers[i], &b->layers[i]))
            return i;
    return n;
}

int axf_plan_equal(const axf_plan *a, const axf_plan *b)
{
    return a->n_layers == b->n_layers && axf_plan_first_diff(a, b) == a->n_layers;
}

static int count_on(const unsigned char *v, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += v[i] != 0;
    return c;
}

int axf_plan_heads_on(const axf_layer_plan *lp) { return lp->attn_on ? count_on(lp->head_on, lp->nh) : 0; }

int axf_plan_neurons_on(const axf_layer_plan *lp) { return lp->ffn_on ? count_on(lp->neuron_on, lp->f) : 0; }

int axf_plan_is_dense(const axf_plan *p)
{
    if (p->int8_embed)
        return 0;
    for (int i = 0; i < p->n_layers; i++) {
        const axf_layer_plan *lp = &p->layers[i];
        if (lp->hard != AXF_HARD_OFF && lp->attn_on)
            return 0;
        if ((lp->int8_attn && lp->attn_on) || (lp->int8_ffn && lp->ffn_on))
            return 0;
        if (axf_plan_heads_on(lp) != lp->nh || axf_plan_neurons_on(lp) != lp->f)
            return 0;
    }
    return 1;
}

void axf_plan_group_range(int f, int groups, int g, int *lo, int *hi)
{
    *lo = (int)((long long)g * f / groups);
    *hi = (int)((long long)(g + 1) * f / groups);
}

int axf_plan_group_state(const axf_layer_plan *lp, int g, int groups)
{
    int lo, hi, on = 0;
    axf_plan_group_range(lp->f, groups, g, &lo, &hi);
    if (!lp->ffn_on || hi <= lo)
        return 0;
    for (int j = lo; j < hi; j++)
        on += lp->neuron_on[j] != 0;
    return on == 0 ? 0 : on == hi - lo ? 1 : 2;
}

/* ---- names ---- */

static const char *const op_names[AXF_OP_COUNT] = {
    "drop_layer", "drop_attn", "drop_ffn", "drop_head", "drop_group", "drop_neurons", "set_hard",
    "restore_layer", "restore_attn", "restore_ffn", "restore_head", "restore_group",
    "restore_neurons", "quantize", "dequantize"};
static const char *const hard_names[] = {"off", "topk", "topk_renorm", "threshold"};
static const char *const block_names[] = {"attn", "ffn", "embed"};

const char *axf_block_name(int block)
{
    return block >= AXF_BLOCK_ATTN && block <= AXF_BLOCK_EMBED ? block_names[block] : "?";
}

int axf_block_from_name(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, block_names[i]))
            return i;
    return -1;
}

const char *axf_op_name(axf_op op)
{
    return (unsigned)op < AXF_OP_COUNT ? op_names[op] : "?";
}

int axf_op_from_name(const char *name)
{
    for (int i = 0; name && i < AXF_OP_COUNT; i++)
        if (!strcmp(name, op_names[i]))
            return i;
    return -1;
}

const char *axf_hard_mode_name(axf_hard_mode m)
{
    return (unsigned)m < 4 ? hard_names[m] : "?";
}

int axf_hard_mode_from_name(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(name, hard_names[i]))
            return i;
    return -1;
}

void axf_action_describe(const axf_action *a, char *buf, size_t n)
{
    const char *op = axf_op_name(a->op);
    switch (a->op) {
    case AXF_OP_DROP_HEAD:
    case AXF_OP_RESTORE_HEAD:
        snprintf(buf, n, "%s L%d.h%d", op, a->layer, a->index);
        break;
    case AXF_OP_DROP_GROUP:
    case AXF_OP_RESTORE_GROUP:
        snprintf(buf, n, "%s L%d.g%d/%d", op, a->layer, a->index, a->groups);
        break;
    case AXF_OP_DROP_NEURONS:
    case AXF_OP_RESTORE_NEURONS:
        snprintf(buf, n, "%s L%d.n%d+%d", op, a->layer, a->index, a->count);
        break;
    case AXF_OP_SET_HARD:
        if (a->hard == AXF_HARD_THRESHOLD)
            snprintf(buf, n, "%s L%d threshold=%g", op, a->layer, (double)a->threshold);
        else if (a->hard == AXF_HARD_OFF)
            snprintf(buf, n, "%s L%d off", op, a->layer);
        else
            snprintf(buf, n, "%s L%d %s k=%d", op, a->layer, axf_hard_mode_name(a->hard), a->k);
        break;
    case AXF_OP_QUANTIZE:
    case AXF_OP_DEQUANTIZE:
        if (a->block == AXF_BLOCK_EMBED)
            snprintf(buf, n, "%s embed", op);
        else
            snprintf(buf, n, "%s L%d %s", op, a->layer, axf_block_name(a->block));
        break;
    default:
        snprintf(buf, n, "%s L%d", op, a->layer);
    }
}

void axf_actions_describe(const axf_action *a, int n, const char *sep, char *buf, size_t len)
{
    buf[0] = 0;
    size_t used = 0;
    for (int i = 0; i < n && used + 1 < len; i++) {
        char one[128];
        axf_action_describe(&a[i], one, sizeof one);
        int w = snprintf(buf + used, len - used, "%s%s", i ? sep : "", one);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static int parse_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < -1000000000L || v > 1000000000L)
        return -1;
    *out = (int)v;
    return 0;
}

int axf_action_parse(const char *s, axf_action *a, axf_err *err)
{
    char buf[256], *tok[16];
    int nt = 0;
    if (!s || strlen(s) >= sizeof buf)
        return axf_err_set(err, "action: empty or longer than %d characters", (int)sizeof buf - 1);
    strcpy(buf, s);
    for (char *t = strtok(buf, " \t"); t && nt < 16; t = strtok(NULL, " \t"))
        tok[nt++] = t;
    if (nt == 0)
        return axf_err_set(err, "action: empty");
    memset(a, 0, sizeof *a);
    int op = axf_op_from_name(tok[0]);
    if (op < 0)
        return axf_err_set(err, "action '%s': unknown operation '%s'", s, tok[0]);
    a->op = (axf_op)op;
    int pos = 0, have_block = 0;
    for (int i = 1; i < nt; i++) {
        char *eq = strchr(tok[i], '=');
        if (!eq && pos == 0 && !strcmp(tok[i], "embed")) { /* "quantize embed": no layer */
            a->block = AXF_BLOCK_EMBED;
            pos = 2;
            have_block = 1;
            continue;
        }
        if (!eq && pos == 1 && axf_block_from_name(tok[i]) >= 0) {
            a->block = axf_block_from_name(tok[i]);
            pos = 2;
            have_block = 1;
            continue;
        }
        if (!eq) {
            int v;
            if (parse_int(tok[i], &v) || pos >= 2)
                return axf_err_set(err, "action '%s': unexpected '%s'", s, tok[i]);
            if (pos++ == 0)
                a->layer = v;
            else
                a->index = v;
            continue;
        }
        *eq = 0;
        const char *k = tok[i], *v = eq + 1;
        int iv, bad = 0;
        if (!strcmp(k, "mode")) {
            int m = axf_hard_mode_from_name(v);
            bad = m < 0;
            a->hard = (axf_hard_mode)(m < 0 ? 0 : m);
        } else if (!strcmp(k, "block")) {
            int b = axf_block_from_name(v);
            bad = b < 0;
            a->block = b < 0 ? 0 : b;
            have_block = 1;
        } else if (!strcmp(k, "threshold")) {
            char *end;
            a->threshold = strtof(v, &end);
            bad = end == v || *end;
        } else if (!strcmp(k, "groups") || !strcmp(k, "count") || !strcmp(k, "k") ||
                   !strcmp(k, "layer") || !strcmp(k, "head") || !strcmp(k, "group") ||
                   !strcmp(k, "neuron")) {
            bad = parse_int(v, &iv) != 0;
            if (!bad) {
                if (!strcmp(k, "groups")) a->groups = iv;
                else if (!strcmp(k, "count")) a->count = iv;
                else if (!strcmp(k, "k")) a->k = iv;
                else if (!strcmp(k, "layer")) { a->layer = iv; pos = pos < 1 ? 1 : pos; }
                else { a->index = iv; pos = 2; }
            }
        } else {
            return axf_err_set(err, "action '%s': unknown key '%s'", s, k);
        }
        if (bad)
            return axf_err_set(err, "action '%s': bad value '%s' for %s", s, v, k);
    }
    if (pos < 1)
        return axf_err_set(err, "action '%s': missing layer", s);
    if ((a->op == AXF_OP_QUANTIZE || a->op == AXF_OP_DEQUANTIZE) && !have_block)
        return axf_err_set(err, "action '%s': missing block (attn, ffn or embed)", s);
    if (have_block && a->block == AXF_BLOCK_EMBED && (a->op != AXF_OP_QUANTIZE && a->op != AXF_OP_DEQUANTIZE))
        return axf_err_set(err, "action '%s': only quantize and dequantize take block embed", s);
    if (a->op == AXF_OP_SET_HARD && a->hard == AXF_HARD_OFF && !strstr(s, "mode="))
        a->hard = AXF_HARD_TOPK; /* "set_hard 3" means the method's hard attention */
    return 0;
}

/* ---- applying actions ---- */

axf_plan_defaults axf_plan_defaults_default(void)
{
    axf_plan_defaults d = {12, 30, 0.01f};
    return d;
}

static int any_on(const unsigned char *v, int n)
{
    for (int i = 0; i < n; i++)
        if (v[i])
            return 1;
    return 0;
}

/* A layer's attention (ffn = 0) or FFN block for the block operations: its switch, its units
 * (heads / neurons) with theirs, and its name in messages. */
typedef struct {
    unsigned char *on, *units;
    int n;
    const char *name, *unit_name;
} block;

static block block_of(axf_layer_plan *lp, int ffn)
{
    return ffn ? (block){&lp->ffn_on, lp->neuron_on, lp->f, "FFN block", "FFN"}
               : (block){&lp->attn_on, lp->head_on, lp->nh, "attention block", "attention heads"};
}

/* A removed block comes back with all its units when none of them was left on. */
static void restore_block(block b)
{
    *b.on = 1;
    if (!any_on(b.units, b.n))
        memset(b.units, 1, (size_t)b.n);
}

/* Validates a (with defaults resolved into r) against p; applies it when doit. */
/* a with the defaults it leaves open filled in from d (groups, k, threshold), into *r. */
static int resolve(const axf_action *a, const axf_plan_defaults *d, axf_action *r, axf_err *err)
{
    *r = *a;
    if ((unsigned)a->op >= AXF_OP_COUNT)
        return axf_err_set(err, "action: unknown operation %d", (int)a->op);
    if (a->op == AXF_OP_DROP_GROUP || a->op == AXF_OP_RESTORE_GROUP) {
        if (r->groups == 0)
            r->groups = d->groups;
    }
    if (a->op == AXF_OP_SET_HARD) {
        if ((unsigned)a->hard > AXF_HARD_THRESHOLD)
            return axf_err_set(err, "set_hard L%d: unknown hard-attention mode %d", a->layer, (int)a->hard);
        if ((a->hard == AXF_HARD_TOPK || a->hard == AXF_HARD_TOPK_RENORM) && r->k == 0)
            r->k = d->k;
        if (a->hard == AXF_HARD_THRESHOLD && r->threshold == 0)
            r->threshold = d->threshold;
        if (a->hard != AXF_HARD_TOPK && a->hard != AXF_HARD_TOPK_RENORM)
            r->k = 0;
        if (a->hard != AXF_HARD_THRESHOLD)
            r->threshold = 0;
    }
    return 0;
}

/* The operations on layer L's plan lp below share these arguments: the resolved action r, its
 * description `what` for messages; doit = 0 only checks that the action applies. */

static int op_head(axf_layer_plan *lp, const axf_action *r, const char *what, int L, int doit, axf_err *err)
{
    int h = r->index, drop = r->op == AXF_OP_DROP_HEAD;
    if (h < 0 || h >= lp->nh)
        return axf_err_set(err, "%s: head %d out of range (layer %d has %d heads)", what, h, L, lp->nh);
    if (drop && (!lp->attn_on || !lp->head_on[h]))
        return axf_err_set(err, "%s: head %d of layer %d is already removed%s", what, h, L,
                           lp->attn_on ? "" : " (attention block removed)");
    if (!drop && lp->attn_on && lp->head_on[h])
        return axf_err_set(err, "%s: head %d of layer %d is present", what, h, L);
    if (!doit)
        return 0;
    if (drop) {
        lp->head_on[h] = 0;
        if (!any_on(lp->head_on, lp->nh)) {
            /* Zero heads = block gone (plan.h invariant); heads stay off so restore_attn
             * brings all of them back rather than inventing a choice. */
            lp->attn_on = 0;
        }
    } else {
        if (!lp->attn_on) {
            memset(lp->head_on, 0, (size_t)lp->nh);
            lp->attn_on = 1;
        }
        lp->head_on[h] = 1;
    }
    return 0;
}

/* drop_group / restore_group / drop_neurons / restore_neurons */
static int op_neurons(axf_layer_plan *lp, const axf_action *r, const char *what, int L, int doit, axf_err *err)
{
    int lo, hi, drop = r->op == AXF_OP_DROP_GROUP || r->op == AXF_OP_DROP_NEURONS;
    if (lp->f == 0)
        return axf_err_set(err, "%s: layer %d has no FFN in this model", what, L);
    if (r->op == AXF_OP_DROP_GROUP || r->op == AXF_OP_RESTORE_GROUP) {
        if (r->groups < 1 || r->groups > lp->f || r->groups > AXF_MAX_GROUPS)
            return axf_err_set(err, "%s: %d groups out of range (1..%d for FFN width %d)", what, r->groups,
                               lp->f < AXF_MAX_GROUPS ? lp->f : AXF_MAX_GROUPS, lp->f);
        if (r->index < 0 || r->index >= r->groups)
            return axf_err_set(err, "%s: group %d out of range (layer %d has %d groups)", what, r->index, L,
                               r->groups);
        axf_plan_group_range(lp->f, r->groups, r->index, &lo, &hi);
    } else {
        if (r->count < 1 || r->index < 0 || r->index >= lp->f || r->count > lp->f - r->index)
            return axf_err_set(err, "%s: neurons [%d, %d) out of range (layer %d has %d)", what, r->index,
                               r->index + r->count, L, lp->f);
        lo = r->index;
        hi = r->index + r->count;
    }
    int on = 0;
    if (lp->ffn_on)
        for (int j = lo; j < hi; j++)
            on += lp->neuron_on[j] != 0;
    if (drop && on == 0)
        return axf_err_set(err, "%s: neurons [%d, %d) of layer %d are already removed", what, lo, hi, L);
    if (!drop && on == hi - lo)
        return axf_err_set(err, "%s: neurons [%d, %d) of layer %d are present", what, lo, hi, L);
    if (!doit)
        return 0;
    if (drop) {
        memset(lp->neuron_on + lo, 0, (size_t)(hi - lo));
        if (!any_on(lp->neuron_on, lp->f))
            lp->ffn_on = 0;
    } else {
        if (!lp->ffn_on) {
            memset(lp->neuron_on, 0, (size_t)lp->f);
            lp->ffn_on = 1;
        }
        memset(lp->neuron_on + lo, 1, (size_t)(hi - lo));
    }
    return 0;
}

/* quantize / dequantize of the word embeddings */
static int op_quant_embed(axf_plan *p, const axf_action *r, const char *what, int doit, axf_err *err)
{
    int q = r->op == AXF_OP_QUANTIZE;
    if (p->int8_embed == q)
        return axf_err_set(err, "%s: the word embeddings are already %s", what, q ? "int8" : "float32");
    if (doit)
        p->int8_embed = (unsigned char)q;
    return 0;
}

/* quantize / dequantize */
static int op_quant(axf_layer_plan *lp, const axf_action *r, const char *what, int L, int doit, axf_err *err)
{
    int q = r->op == AXF_OP_QUANTIZE, attn = r->block == AXF_BLOCK_ATTN;
    if (r->block != AXF_BLOCK_ATTN && r->block != AXF_BLOCK_FFN)
        return axf_err_set(err, "%s: unknown block %d (attn or ffn)", what, r->block);
    if (attn ? !lp->attn_on : !lp->ffn_on)
        return axf_err_set(err, "%s: %s block of layer %d is removed", what, attn ? "attention" : "FFN", L);
    unsigned char *flag = attn ? &lp->int8_attn : &lp->int8_ffn;
    if (*flag == q)
        return axf_err_set(err, "%s: %s block of layer %d is already %s", what, attn ? "attention" : "FFN", L,
                           q ? "int8" : "float32");
    if (doit)
        *flag = (unsigned char)q;
    return 0;
}

static int op_set_hard(axf_layer_plan *lp, const axf_action *r, const char *what, int L, int doit, axf_err *err)
{
    if (!lp->attn_on)
        return axf_err_set(err, "%s: attention block of layer %d is removed", what, L);
    if ((r->hard == AXF_HARD_TOPK || r->hard == AXF_HARD_TOPK_RENORM) && r->k < 1)
        return axf_err_set(err, "%s: k must be at least 1", what);
    if (r->hard == AXF_HARD_THRESHOLD && !(r->threshold > 0 && r->threshold < 1))
        return axf_err_set(err, "%s: threshold must lie in (0, 1)", what);
    axf_layer_plan want = *lp;
    want.hard = r->hard;
    want.k = r->k;
    want.threshold = r->threshold;
    if (hard_equal(lp, &want))
        return axf_err_set(err, "%s: layer %d already uses this attention", what, L);
    if (doit) {
        lp->hard = r->hard;
        lp->k = r->k;
        lp->threshold = r->threshold;
    }
    return 0;
}

static int apply_one(axf_plan *p, const axf_action *a, const axf_plan_defaults *d, axf_action *r,
                     int doit, axf_err *err)
{
    char what[96];
    if (resolve(a, d, r, err))
        return -1;
    axf_action_describe(r, what, sizeof what);
    if ((a->op == AXF_OP_QUANTIZE || a->op == AXF_OP_DEQUANTIZE) && a->block == AXF_BLOCK_EMBED) {
        if (a->layer != 0)
            return axf_err_set(err, "%s: the embeddings take layer 0 (got %d)", what, a->layer);
        return op_quant_embed(p, r, what, doit, err);
    }
    if (a->layer < 0 || a->layer >= p->n_layers)
        return axf_err_set(err, "%s: layer %d out of range (the model has %d layers)", what,
                           a->layer, p->n_layers);
    axf_layer_plan *lp = &p->layers[a->layer];
    int L = a->layer;

    switch (a->op) {
    case AXF_OP_DROP_LAYER:
        if (!lp->attn_on && !lp->ffn_on)
            return axf_err_set(err, "%s: layer %d is already removed", what, L);
        if (doit)
            lp->attn_on = lp->ffn_on = 0;
        return 0;
    case AXF_OP_RESTORE_LAYER:
        if ((lp->attn_on || lp->nh == 0) && (lp->ffn_on || lp->f == 0))
            return axf_err_set(err, "%s: layer %d is complete, nothing to restore", what, L);
        for (int ffn = 0; ffn < 2 && doit; ffn++) {
            block b = block_of(lp, ffn);
            if (b.n > 0 && !*b.on)
                restore_block(b);
        }
        return 0;
    case AXF_OP_DROP_ATTN:
    case AXF_OP_DROP_FFN: {
        block b = block_of(lp, a->op == AXF_OP_DROP_FFN);
        if (!*b.on)
            return axf_err_set(err, "%s: %s of layer %d is already removed", what, b.name, L);
        if (doit)
            *b.on = 0;
        return 0;
    }
    case AXF_OP_RESTORE_ATTN:
    case AXF_OP_RESTORE_FFN: {
        block b = block_of(lp, a->op == AXF_OP_RESTORE_FFN);
        if (b.n == 0)
            return axf_err_set(err, "%s: layer %d has no %s in this model", what, L, b.unit_name);
        if (*b.on)
            return axf_err_set(err, "%s: %s of layer %d is present", what, b.name, L);
        if (doit)
            restore_block(b);
        return 0;
    }
    case AXF_OP_DROP_HEAD:
    case AXF_OP_RESTORE_HEAD:
        return op_head(lp, r, what, L, doit, err);
    case AXF_OP_DROP_GROUP:
    case AXF_OP_RESTORE_GROUP:
    case AXF_OP_DROP_NEURONS:
    case AXF_OP_RESTORE_NEURONS:
        return op_neurons(lp, r, what, L, doit, err);
    case AXF_OP_QUANTIZE:
    case AXF_OP_DEQUANTIZE:
        return op_quant(lp, r, what, L, doit, err);
    case AXF_OP_SET_HARD:
        return op_set_hard(lp, r, what, L, doit, err);
    default:
        return axf_err_set(err, "action: unknown operation %d", (int)a->op);
    }
}

int axf_plan_apply(axf_plan *p, const axf_action *a, const axf_plan_defaults *d, axf_action *resolved,
                   axf_err *err)
{
    axf_plan_defaults dd = d ? *d : axf_plan_defaults_default();
    axf_action r;
    if (apply_one(p, a, &dd, &r, 0, err))
        return -1;
    apply_one(p, a, &dd, &r, 1, err);
    if (resolved)
        *resolved = r;
    return 0;
}

int axf_plan_check(const axf_plan *p, const axf_action *a, const axf_plan_defaults *d, axf_err *err)
{
    axf_plan_defaults dd = d ? *d : axf_plan_defaults_default();
    axf_action r;
    return apply_one((axf_plan *)p, a, &dd, &r, 0, err);
}

/* ---- accounting ---- */

size_t axf_plan_params(const axf_model *m, const axf_plan *p)
{
    const axf_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, HS = (size_t)c->head_dim;
    size_t n = (size_t)c->vocab_size * H + (size_t)c->max_pos * H + (size_t)c->type_vocab * H + 2 * H;
    for (int i = 0; i < p->n_layers; i++) {
        const axf_layer_plan *lp = &p->layers[i];
        size_t nh = (size_t)axf_plan_heads_on(lp), f = (size_t)axf_plan_neurons_on(lp);
        if (nh == 0 && f == 0)
            continue; /* the layer is dropped by compaction */
        n += 4 * H; /* both LayerNorms stay with the layer */
        if (nh)
            n += 3 * (nh * HS * H + nh * HS) + H * nh * HS + H;
        if (f)
            n += f * H + f + H * f + H;
    }
    n += H * H + H;                                   /* pooler */
    n += (size_t)c->num_labels * H + (size_t)c->num_labels; /* classifier */
    return n;
}

size_t axf_plan_bytes(const axf_model *m, const axf_plan *p)
{
    const axf_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, HS = (size_t)c->head_dim, b = axf_plan_params(m, p) * sizeof(float);
    if (p->int8_embed) /* [V, H] int8 and a scale per row */
        b = b - 3 * ((size_t)c->vocab_size * H) + sizeof(float) * (size_t)c->vocab_size;
    for (int i = 0; i < p->n_layers; i++) {
        const axf_layer_plan *lp = &p->layers[i];
        size_t A = (size_t)axf_plan_heads_on(lp) * HS, f = (size_t)axf_plan_neurons_on(lp);
        /* an int8 matrix [N, K]: 3 bytes less per weight, a 4-byte scale per row */
        if (A && lp->int8_attn)
            b = b - 3 * (4 * A * H) + sizeof(float) * (3 * A + H);
        if (f && lp->int8_ffn)
            b = b - 3 * (2 * f * H) + sizeof(float) * (f + H);
    }
    return b;
}

double axf_plan_flops_per_token(const axf_model *m, const axf_plan *p, double n)
{
    double H = m->cfg.hidden, HS = m->cfg.head_dim, fl = 0;
    for (int i = 0; i < p->n_layers; i++) {
        const axf_layer_plan *lp = &p->layers[i];
        double nh = axf_plan_heads_on(lp), f = axf_plan_neurons_on(lp);
        if (nh > 0) {
            double keys = n;
            if ((lp->hard == AXF_HARD_TOPK || lp->hard == AXF_HARD_TOPK_RENORM) && lp->k < n)
                keys = lp->k;
            fl += 2 * 4 * H * nh * HS;      /* Q, K, V, output projection */
            fl += 2 * n * nh * HS;          /* scores */
            fl += 2 * keys * nh * HS;       /* value aggregation */
        }
        if (f > 0)
            fl += 2 * 2 * H * f;
    }
    if (n < 1)
        n = 1;
    fl += 2 * (H * H + H * m->cfg.num_labels) / n; /* pooler + classifier, once per sequence */
    return fl;
}
