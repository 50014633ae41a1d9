/* Key bindings as a table of actions (htop's Action): each changes the screen's state or queues
 * one command for the worker, which runs it through the same session / Lua host API as the CLI,
 * and returns flags saying what to redraw. The help screen is printed from the same table. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axf/luahost.h"
#include "draw.h"
#include "pane.h"

#define CTRL(c) ((c) & 0x1f)

typedef int (*key_fn)(axf_app *a, int key);

typedef struct key_action {
    int keys[4];          /* 0-terminated */
    const char *name;     /* as shown in help */
    const char *help;
    key_fn fn;
} key_action;

static int ready(axf_app *a)
{
    if (a->view.phase == AXF_PHASE_READY && a->view.have_snap)
        return 1;
    axf_app_message(a, 1, "not ready yet: the session is still opening");
    return 0;
}

/* Commands that do not need the screen's copy of the session may be queued while it opens. */
static int opening_ok(axf_app *a)
{
    if (a->view.phase != AXF_PHASE_FAILED)
        return 1;
    axf_app_message(a, 1, "the session could not be opened");
    return 0;
}

static int post(axf_app *a, axf_wcmd *c)
{
    if (axf_worker_post(a->worker, c)) {
        axf_app_message(a, 1, "busy: too many commands waiting");
        return AXF_KEY_HANDLED;
    }
    return AXF_KEY_HANDLED;
}

static int post_simple(axf_app *a, axf_wcmd_type type, int arg)
{
    axf_wcmd c;
    memset(&c, 0, sizeof c);
    c.type = type;
    c.arg = arg;
    return post(a, &c);
}

/* After a command that sets hard attention is posted: further presses adjust the setting asked
 * for, until the worker has done it. */
static void note_hard(axf_app *a, const axf_wcmd *c)
{
    if (c->type == AXF_WCMD_APPLY && c->act.op == AXF_OP_SET_HARD) {
        a->hard_req.ticket = axf_worker_posted(a->worker);
        a->hard_req.act = c->act;
    }
}

/* A change (hand edit, policy step or run) made at a step with redo steps ahead replaces them:
 * ask first (AXF_PROMPT_DROP_TAIL; what = the change, for the question). Otherwise posts c now.
 * Returns 1 when c was posted. */
static int post_change(axf_app *a, axf_wcmd *c, const char *what)
{
    int cur = a->view.have_snap ? a->view.snap.cursor : 0;
    int tail = a->view.have_snap ? a->view.snap.history_len - cur : 0;
    c->tail_ok = tail > 0 ? tail : 0;
    if (tail > 0 && a->confirm.ticket > a->view.cmds_done) {
        tail = 0; /* a change that drops them was agreed to and is on its way (a key held down) */
        c->tail_ok = a->confirm.tail;
    }
    if (tail > 0) {
        a->confirm.cmd = *c;
        a->confirm.tail = tail;
        a->confirm.cursor = cur;
        axf_str_copy(a->confirm.what, sizeof a->confirm.what, what);
        a->prompt = AXF_PROMPT_DROP_TAIL;
        return 0;
    }
    if (axf_worker_post(a->worker, c)) {
        axf_app_message(a, 1, "busy: too many commands waiting");
        return 0;
    }
    note_hard(a, c);
    return 1;
}

void axf_keys_confirm(axf_app *a, int yes)
{
    a->prompt = AXF_PROMPT_NONE;
    int n = a->confirm.tail;
    if (!yes) {
        axf_app_message(a, 0, "kept the %d redo step%s after step %d: nothing changed", n, n > 1 ? "s" : "",
                        a->confirm.cursor);
        return;
    }
    if (axf_worker_post(a->worker, &a->confirm.cmd)) {
        axf_app_message(a, 1, "busy: too many commands waiting");
        return;
    }
    a->confirm.ticket = axf_worker_posted(a->worker);
    note_hard(a, &a->confirm.cmd);
    axf_app_message(a, 0, "%s: dropping the %d redo step%s…", a->confirm.what, n, n > 1 ? "s" : "");
}

/* A hand edit while the policy runs would race its next step: pause it first. */
static void pause_for_hand(axf_app *a)
{
    if (a->view.policy_running) {
        axf_worker_pause(a->worker);
        axf_app_message(a, 0, "policy paused for your change (a resumes)");
    }
}

/* ---- movement ---- */

static int k_move(axf_app *a, int key)
{
    if (!a->view.have_snap)
        return AXF_KEY_HANDLED;
    int nl = a->view.snap.facts.n_layers;
    switch (key) {
    case KEY_LEFT: case 'h': a->cur_col = a->cur_col > 0 ? a->cur_col - 1 : 0; break;
    case KEY_RIGHT: case 'l': a->cur_col = a->cur_col + 1 < a->n_cols ? a->cur_col + 1 : a->cur_col; break;
    case KEY_UP: case 'k': a->cur_layer = a->cur_layer + 1 < nl ? a->cur_layer + 1 : a->cur_layer; break;
    case KEY_DOWN: case 'j': a->cur_layer = a->cur_layer > 0 ? a->cur_layer - 1 : 0; break;
    case KEY_HOME: a->cur_col = 0; break;
    case KEY_END: a->cur_col = a->n_cols - 1; break;
    }
    return AXF_KEY_HANDLED;
}

/* A hand edit of one action (c->act) from a key: the policy pauses, the action is posted (or asked
 * about, post_change) and named in the status line. */
static int post_action(axf_app *a, axf_wcmd *c)
{
    pause_for_hand(a);
    char what[96];
    axf_action_describe(&c->act, what, sizeof what);
    if (post_change(a, c, what))
        axf_app_message(a, 0, "%s: evaluating…", what);
    return AXF_KEY_HANDLED;
}

/* ---- edits ---- */

static int k_prune(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    axf_wcmd c;
    memset(&c, 0, sizeof c);
    int removed;
    char name[96];
    if (axf_heatmap_selected(a, &c.act, &removed, name, sizeof name)) {
        axf_app_message(a, 1, "nothing to remove here");
        return AXF_KEY_HANDLED;
    }
    pause_for_hand(a);
    c.type = AXF_WCMD_APPLY;
    char what[128];
    snprintf(what, sizeof what, "%s %s", removed ? "restoring" : "removing", name);
    if (post_change(a, &c, what))
        axf_app_message(a, 0, "%s: evaluating…", what);
    return AXF_KEY_HANDLED;
}

static int k_undo(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    pause_for_hand(a);
    return post_simple(a, key == 'u' || key == '[' ? AXF_WCMD_UNDO : AXF_WCMD_REDO, 0);
}

static int k_ends(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    pause_for_hand(a);
    return post_simple(a, AXF_WCMD_GOTO, key == '{' ? 0 : a->view.snap.history_len);
}

static int k_goto(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    a->prompt = AXF_PROMPT_GOTO;
    a->pbuf[0] = 0;
    a->plen = a->ppos = 0;
    return AXF_KEY_HANDLED;
}

static const int k_steps[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
static const float t_steps[] = {0.001f, 0.002f, 0.005f, 0.01f, 0.02f, 0.05f, 0.1f, 0.2f, 0.3f, 0.5f};

static int k_hard(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    const axf_layer_view *cv = &a->view.snap.layers[a->cur_layer];
    axf_layer_view asked = *cv;
    const axf_layer_view *lv = &asked;
    if (a->hard_req.ticket > a->view.cmds_done && a->hard_req.act.layer == a->cur_layer) {
        /* a setting asked for is not applied yet: keys held down adjust it, not the old one */
        asked.hard = a->hard_req.act.hard;
        asked.k = a->hard_req.act.k;
        asked.threshold = a->hard_req.act.threshold;
    }
    axf_wcmd c;
    memset(&c, 0, sizeof c);
    c.type = AXF_WCMD_APPLY;
    c.act.op = AXF_OP_SET_HARD;
    c.act.layer = a->cur_layer;
    c.act.k = lv->k;
    c.act.threshold = lv->threshold;
    if (key == 't') {
        c.act.hard = lv->hard == AXF_HARD_OFF ? AXF_HARD_TOPK : AXF_HARD_OFF;
    } else if (key == 'T') {
        c.act.hard = lv->hard == AXF_HARD_TOPK ? AXF_HARD_TOPK_RENORM :
                     lv->hard == AXF_HARD_TOPK_RENORM ? AXF_HARD_THRESHOLD : AXF_HARD_TOPK;
    } else {
        int up = key == '+' || key == '=';
        c.act.hard = lv->hard;
        if (lv->hard == AXF_HARD_OFF) {
            axf_app_message(a, 1, "layer %d has dense attention: t switches hard attention on", a->cur_layer);
            return AXF_KEY_HANDLED;
        }
        if (lv->hard == AXF_HARD_THRESHOLD) {
            int n = (int)(sizeof t_steps / sizeof t_steps[0]), i;
            float th = lv->threshold;
            if (up) {
                for (i = 0; i < n && t_steps[i] <= th * 1.0001f; i++)
                    ;
            } else {
                for (i = n - 1; i >= 0 && t_steps[i] >= th * 0.9999f; i--)
                    ;
            }
            if (i < 0 || i >= n) {
                axf_app_message(a, 1, "threshold is already at its %s", up ? "largest" : "smallest");
                return AXF_KEY_HANDLED;
            }
            c.act.threshold = t_steps[i];
        } else {
            int n = (int)(sizeof k_steps / sizeof k_steps[0]), i;
            if (up) {
                for (i = 0; i < n && k_steps[i] <= lv->k; i++)
                    ;
            } else {
                for (i = n - 1; i >= 0 && k_steps[i] >= lv->k; i--)
                    ;
            }
            if (i < 0 || i >= n) {
                axf_app_message(a, 1, "K is already at its %s", up ? "largest" : "smallest");
                return AXF_KEY_HANDLED;
            }
            c.act.k = k_steps[i];
        }
    }
    if (c.act.k <= 0) /* the session's default, named as it is, not as "k=0" */
        c.act.k = a->view.snap.facts.hard_k > 0 ? a->view.snap.facts.hard_k : 0;
    if (!(c.act.threshold > 0))
        c.act.threshold = a->view.snap.facts.hard_threshold;
    return post_action(a, &c);
}

/* int8 on / off for the block under the cursor: a head or the attention column, or a group or the
 * FFN column. */
static int k_int8(axf_app *a, int key)
{
    if (!ready(a) || a->cur_col >= a->n_cols)
        return AXF_KEY_HANDLED;
    axf_col col = a->colv[a->cur_col];
    if (col.kind == AXF_COL_LAYER) {
        axf_app_message(a, 1, "int8 is per block: move to a head or the attn column, or to the FFN");
        return AXF_KEY_HANDLED;
    }
    const axf_layer_view *lv = &a->view.snap.layers[a->cur_layer];
    axf_wcmd c;
    memset(&c, 0, sizeof c);
    c.type = AXF_WCMD_APPLY;
    c.act.layer = a->cur_layer;
    c.act.block = col.kind == AXF_COL_HEAD || col.kind == AXF_COL_ATTN ? AXF_BLOCK_ATTN : AXF_BLOCK_FFN;
    int on = c.act.block == AXF_BLOCK_ATTN ? lv->int8_attn : lv->int8_ffn;
    c.act.op = on ? AXF_OP_DEQUANTIZE : AXF_OP_QUANTIZE;
    return post_action(a, &c);
}

/* E: the word-embedding table in int8 or float32 (plan.h int8_embed) */
static int k_int8_embed(axf_app *a, int key)
{
    (void)key;
    if (!ready(a))
        return AXF_KEY_HANDLED;
    axf_wcmd c;
    memset(&c, 0, sizeof c);
    c.type = AXF_WCMD_APPLY;
    c.act.block = AXF_BLOCK_EMBED;
    c.act.op = a->view.snap.int8_embed ? AXF_OP_DEQUANTIZE : AXF_OP_QUANTIZE;
    return post_action(a, &c);
}

/* ---- policy ---- */

/* s: one step; a: run, or pause a running policy (s then says how). */
static int k_step(axf_app *a, int key)
{
    if (!opening_ok(a))
        return AXF_KEY_HANDLED;
    if (!a->view.policy_running) {
        axf_wcmd c;
        memset(&c, 0, sizeof c);
        c.type = key == 'a' ? AXF_WCMD_RUN : AXF_WCMD_STEP;
        /* a policy that can step commits at the cursor: the redo steps ahead go */
        if (a->view.have_policy && a->view.policy_state == AXF_LUA_IDLE)
            post_change(a, &c, key == 'a' ? "running the policy" : "a policy step");
        else
            post(a, &c); /* the worker says why it cannot */
        return AXF_KEY_HANDLED;
    }
    if (key == 'a') {
        axf_worker_pause(a->worker);
        axf_app_message(a, 0, "pausing the policy…");
    } else {
        axf_app_message(a, 0, "the policy is running: a pauses it");
    }
    return AXF_KEY_HANDLED;
}

static int k_reload(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    if (a->view.policy_running)
        axf_worker_pause(a->worker);
    return post_simple(a, AXF_WCMD_RELOAD, 0);
}

static int k_cancel(axf_app *a, int key)
{
    if (a->help) {
        a->help = 0;
        return AXF_KEY_LAYOUT;
    }
    if (axf_app_policy_busy(a)) {
        axf_worker_cancel(a->worker); /* pauses: what the policy did so far is kept */
        axf_app_message(a, 0, "pausing the policy… (a or s carries on from where it stopped)");
    } else if (a->prog.busy) {
        axf_worker_cancel(a->worker);
        axf_app_message(a, 0, "cancelling %s…", a->prog.label);
    }
    return AXF_KEY_HANDLED;
}

/* ---- view ---- */

static int k_measure(axf_app *a, int key)
{
    int n = AXF_MEASURE_COUNT;
    axf_imp_kind before = axf_measure_kind(a->measure);
    a->measure = key == 'I' ? (a->measure + n - 1) % n : (a->measure + 1) % n;
    /* loss and accuracy come from the same exact measurement: nothing to ask the worker */
    if (axf_measure_kind(a->measure) != before && a->view.phase != AXF_PHASE_FAILED)
        post_simple(a, AXF_WCMD_MEASURE, axf_measure_kind(a->measure));
    axf_app_message(a, 0, "importance: %s", axf_measure_name(a->measure));
    return AXF_KEY_HANDLED;
}

static int k_groups(axf_app *a, int key)
{
    if (a->groups_inline) {
        axf_app_message(a, 0, "the FFN groups are already shown beside the heads");
        return AXF_KEY_HANDLED;
    }
    a->groups_view = !a->groups_view;
    axf_heatmap_columns(a);
    return AXF_KEY_LAYOUT;
}

static void focus_visible(axf_app *a)
{
    if (a->compact)
        a->focus = a->bottom == AXF_BOTTOM_TEACH ? AXF_PANE_TEACH : AXF_PANE_LOG;
    else if (!a->teach)
        a->focus = AXF_PANE_LOG;
}

static int k_teach(axf_app *a, int key)
{
    if (a->compact)
        a->bottom = a->bottom == AXF_BOTTOM_TEACH ? AXF_BOTTOM_LOG : AXF_BOTTOM_TEACH;
    else
        a->teach = !a->teach;
    focus_visible(a);
    return AXF_KEY_LAYOUT;
}

/* Compact: the next bottom pane; side by side: PgUp/PgDn go to the other of log and teaching. */
static int k_tab(axf_app *a, int key)
{
    if (a->compact)
        a->bottom = (a->bottom + 1) % AXF_BOTTOM_COUNT;
    else if (a->teach)
        a->focus = a->focus == AXF_PANE_LOG ? AXF_PANE_TEACH : AXF_PANE_LOG;
    focus_visible(a);
    return AXF_KEY_LAYOUT;
}

static int k_help(axf_app *a, int key)
{
    int want = key == 'n' ? AXF_OVERLAY_GLOSSARY : key == 'o' ? AXF_OVERLAY_TRADEOFF : AXF_OVERLAY_KEYS;
    a->help = a->help == want ? AXF_OVERLAY_NONE : want;
    a->help_scroll = 0;
    return AXF_KEY_LAYOUT;
}

/* The hard-attention view: one sentence's attention row before and after top-K (pane_attn.c). */
static int k_attn(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    a->help = AXF_OVERLAY_ATTN;
    a->help_scroll = 0;
    axf_attn_request(a);
    return AXF_KEY_LAYOUT;
}

static int k_redraw(axf_app *a, int key)
{
    clearok(curscr, TRUE);
    return AXF_KEY_LAYOUT;
}

static int k_speed(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    return post_simple(a, AXF_WCMD_SPEED, 0);
}

/* keys the focused pane handles (listed for the help screen) */
static int k_none(axf_app *a, int key)
{
    return AXF_KEY_HANDLED;
}

/* ---- files, console, quit ---- */

static void prompt_open(axf_app *a, axf_prompt_kind k, const char *initial)
{
    a->prompt = k;
    snprintf(a->pbuf, sizeof a->pbuf, "%s", initial ? initial : "");
    a->plen = a->ppos = (int)strlen(a->pbuf);
    a->lua_hist_pos = a->n_lua_hist;
}

static int k_save(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    if (key == 'w' && a->view.session_path[0]) {
        axf_wcmd c;
        memset(&c, 0, sizeof c);
        c.type = AXF_WCMD_SAVE;
        return post(a, &c);
    }
    prompt_open(a, AXF_PROMPT_SAVE, a->view.session_path[0] ? a->view.session_path : "session.json");
    return AXF_KEY_HANDLED;
}

static int k_export(axf_app *a, int key)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    char def[160];
    snprintf(def, sizeof def, "%s-compact", a->view.title[0] ? a->view.title : "model");
    for (char *p = def; *p; p++)
        if (*p == '/' || *p == ' ')
            *p = '-';
    prompt_open(a, AXF_PROMPT_EXPORT, def);
    return AXF_KEY_HANDLED;
}

/* The console line holding initial (the log shown beside it in the compact layout); refused
 * while the policy runs (then: ": opens the console" or what `then` says). */
static int console_open(axf_app *a, const char *initial, const char *then)
{
    if (!ready(a))
        return AXF_KEY_HANDLED;
    if (a->view.policy_running) {
        axf_app_message(a, 1, "the policy is running: a pauses it, then %s", then);
        return AXF_KEY_HANDLED;
    }
    prompt_open(a, AXF_PROMPT_LUA, initial);
    if (a->compact)
        a->bottom = AXF_BOTTOM_LOG;
    return AXF_KEY_LAYOUT;
}

static int k_lua(axf_app *a, int key)
{
    return console_open(a, "", ": opens the console");
}

/* D: the console line "distil ..." with the default options written out, to edit and run (the
 * worker runs it, with its progress on the status bar; Esc cancels, u undoes the step). */
static int k_distil(axf_app *a, int key)
{
    return console_open(a, "distil epochs=1 alpha=0.5 T=2 lr=5e-05 batch=32 seed=42", "D distils");
}

static int k_quit(axf_app *a, int key)
{
    if (a->view.user_dirty) {
        a->prompt = AXF_PROMPT_QUIT;
        return AXF_KEY_HANDLED;
    }
    return AXF_KEY_QUIT;
}

static const key_action actions[] = {
    {{KEY_LEFT, KEY_RIGHT, KEY_UP, KEY_DOWN}, "arrows", "move the cursor over layers and elements", k_move},
    {{'h', 'j', 'k', 'l'}, "h j k l", "move (left, down, up, right)", k_move},
    {{KEY_HOME, KEY_END}, "Home End", "first / last column", k_move},
    {{'p'}, "p", "remove the selected element (on a removed one: put it back)", k_prune},
    {{'u'}, "u", "undo the last step", k_undo},
    {{'r'}, "r", "redo", k_undo},
    {{'[', ']'}, "[ ]", "walk back / forward through the history (replay)", k_undo},
    {{'{', '}'}, "{ }", "go to the first / last step", k_ends},
    {{'G'}, "G", "go to step N", k_goto},
    {{'s'}, "s", "one policy step", k_step},
    {{'a'}, "a", "run / pause the policy", k_step},
    {{'L'}, "L", "load the policy again (starts over from the current plan)", k_reload},
    {{27}, "Esc", "pause the policy (it carries on with a or s) / cancel an evaluation", k_cancel},
    {{'t'}, "t", "hard attention on / off for the selected layer", k_hard},
    {{'T'}, "T", "next hard-attention mode: top-k, renormalised, threshold", k_hard},
    {{'+', '=', '-', '_'}, "+ -", "more / less K (or threshold) of hard attention", k_hard},
    {{'8'}, "8", "int8 on / off for the selected block (attention or FFN)", k_int8},
    {{'E'}, "E", "int8 on / off for the word embeddings (a quarter of their bytes, no speed change)", k_int8_embed},
    {{'i', 'I'}, "i I", "next / previous importance measure", k_measure},
    {{'g'}, "g", "FFN neuron groups instead of heads (when both do not fit)", k_groups},
    {{'x'}, "x", "teaching panel on / off", k_teach},
    {{'\t'}, "Tab", "next bottom pane (compact layout) / log or teaching panel", k_tab},
    {{KEY_PPAGE, KEY_NPAGE}, "PgUp PgDn", "scroll the log or the teaching panel (Tab chooses)", k_none},
    {{'m'}, "m", "measure speed now", k_speed},
    {{'w', 'W'}, "w W", "save the session / save as", k_save},
    {{'e'}, "e", "export the compacted model", k_export},
    {{':'}, ":", "Lua console in the session's sandbox (s is the session); :distil [k=v ...] distils", k_lua},
    {{'D'}, "D", "distil the current plan from the original model (a new step; u undoes it)", k_distil},
    {{'?', KEY_F(1)}, "?", "this help", k_help},
    {{'o'}, "o", "trade-off plot: accuracy against size and measured speed, every step", k_help},
    {{'n'}, "n", "glossary: search split, no worse, acceptance rule, neuron group, ...", k_help},
    {{'v'}, "v", "hard attention on one sentence: a query's attention row before and after top-K", k_attn},
    {{CTRL('l')}, "Ctrl-L", "redraw the screen", k_redraw},
    {{'q'}, "q", "quit (asks when there are unsaved changes)", k_quit},
};
#define N_ACTIONS ((int)(sizeof actions / sizeof actions[0]))

/* ---- reading keys ---- */

/* The next byte of an escape sequence, or ERR after ms milliseconds. */
static int seq_byte(WINDOW *w, int ms)
{
    wtimeout(w, ms);
    int c = wgetch(w);
    wtimeout(w, AXF_KEY_WAIT_MS);
    return c;
}

/* The final byte of an unmodified cursor sequence (CSI or SS3). */
static int final_key(int c)
{
    switch (c) {
    case 'A': return KEY_UP;
    case 'B': return KEY_DOWN;
    case 'C': return KEY_RIGHT;
    case 'D': return KEY_LEFT;
    case 'H': return KEY_HOME;
    case 'F': return KEY_END;
    default: return AXF_KEY_NONE;
    }
}

/* CSI (Esc [ ...): parameter bytes up to the final byte. Home, End, the arrows, PgUp, PgDn and
 * Delete without modifiers become their KEY_ code; everything else is AXF_KEY_NONE. */
static int read_csi(WINDOW *w)
{
    char par[32];
    int n = 0, c = seq_byte(w, AXF_SEQ_WAIT_MS);
    if (c == '[') /* the linux console's F1-F5: Esc [ [ A..E */
        return seq_byte(w, AXF_SEQ_WAIT_MS), AXF_KEY_NONE;
    while (c != ERR && c >= 0x20 && c <= 0x3F) { /* parameters and intermediates */
        if (n + 1 < (int)sizeof par)
            par[n++] = (char)c;
        c = seq_byte(w, AXF_SEQ_WAIT_MS);
    }
    par[n] = 0;
    if (c == ERR || c < 0x40 || c > 0x7E)
        return AXF_KEY_NONE; /* cut short or not a sequence: dropped whole */
    if (c == '~') {
        static const struct { const char *p; int key; } tilde[] = {
            {"1", KEY_HOME}, {"7", KEY_HOME}, {"4", KEY_END}, {"8", KEY_END},
            {"5", KEY_PPAGE}, {"6", KEY_NPAGE}, {"3", KEY_DC}};
        for (size_t i = 0; i < sizeof tilde / sizeof tilde[0]; i++)
            if (!strcmp(par, tilde[i].p))
                return tilde[i].key;
        return AXF_KEY_NONE;
    }
    if (n)
        return AXF_KEY_NONE; /* modified keys (Esc [ 1 ; 5 H) and everything else */
    return final_key(c);
}

/* SS3 (Esc O x, optionally with digits before x). */
static int read_ss3(WINDOW *w)
{
    int c = seq_byte(w, AXF_SEQ_WAIT_MS), mod = 0;
    while (c != ERR && ((c >= '0' && c <= '9') || c == ';')) {
        mod = 1;
        c = seq_byte(w, AXF_SEQ_WAIT_MS);
    }
    if (c == ERR || mod)
        return AXF_KEY_NONE;
    return c == 'P' ? KEY_F(1) : final_key(c);
}

int axf_keys_read(WINDOW *w)
{
    int k = wgetch(w);
    /* the keys some terminals send where Home and End are (vt220 Find and Select) */
    if (k == KEY_FIND || k == KEY_A1)
        return KEY_HOME;
    if (k == KEY_SELECT || k == KEY_C1)
        return KEY_END;
    if (k != 27)
        return k;
    /* ncurses hands back an Esc it could not match with the rest of the sequence still queued */
    int c = seq_byte(w, AXF_SEQ_WAIT_MS);
    if (c == ERR)
        return 27; /* the Esc key itself */
    if (c == '[')
        return read_csi(w);
    if (c == 'O')
        return read_ss3(w);
    /* Esc, then another key typed soon after (or Alt + key): two keys, as a script that sends
     * Esc and then L means them */
    ungetch(c);
    return 27;
}

int axf_keys_dispatch(axf_app *a, int key)
{
    if (a->help == AXF_OVERLAY_ATTN) /* it keeps the keyboard until closed */
        return axf_attn_key(a, key);
    if (a->help && key != 27 && key != '?' && key != KEY_F(1) && key != 'n' && key != 'o') {
        if (key == KEY_DOWN || key == 'j' || key == KEY_NPAGE) {
            a->help_scroll += key == KEY_NPAGE ? 10 : 1;
            return AXF_KEY_HANDLED;
        }
        if (key == KEY_UP || key == 'k' || key == KEY_PPAGE) {
            a->help_scroll -= key == KEY_PPAGE ? 10 : 1;
            if (a->help_scroll < 0)
                a->help_scroll = 0;
            return AXF_KEY_HANDLED;
        }
        a->help = 0; /* any other key closes the help, then acts */
        if (key == 'q')
            return AXF_KEY_LAYOUT;
    }
    axf_pane *fp = &a->panes[a->focus];
    if (fp->h > 0 && fp->cls && fp->cls->on_key) {
        int r = fp->cls->on_key(fp, a, key);
        if (r)
            return r;
    }
    for (int i = 0; i < N_ACTIONS; i++)
        for (int k = 0; k < 4 && actions[i].keys[k]; k++)
            if (actions[i].keys[k] == key)
                return actions[i].fn(a, key);
    return 0;
}

void axf_keys_help(const char ***rows, int *n)
{
    static const char *r[2 * N_ACTIONS + 2];
    for (int i = 0; i < N_ACTIONS; i++) {
        r[2 * i] = actions[i].name;
        r[2 * i + 1] = actions[i].help;
    }
    *rows = r;
    *n = N_ACTIONS;
}

int axf_keys_status(const char *const **pairs, int cols)
{
    static const char *wide[] = {"←↑↓→", "move", "p", "prune", "u", "undo", "r", "redo", "s", "step",
                                 "a", "run/pause", "t", "hard-attn", "i", "measure", ":", "lua",
                                 "w", "save", "?", "help", "q", "quit"};
    static const char *narrow[] = {"?", "help", "q", "quit", "p", "prune", "u", "undo", "r", "redo",
                                   "s", "step", "a", "run", "t", "hard", "i", "measure"};
    static const char *wide_a[] = {"arrows", "move", "p", "prune", "u", "undo", "r", "redo", "s", "step",
                                   "a", "run/pause", "t", "hard-attn", "i", "measure", ":", "lua",
                                   "w", "save", "?", "help", "q", "quit"};
    if (cols >= 100) {
        *pairs = axf_th.utf8 ? wide : wide_a;
        return (int)(sizeof wide / sizeof wide[0]) / 2;
    }
    *pairs = narrow;
    return (int)(sizeof narrow / sizeof narrow[0]) / 2;
}
