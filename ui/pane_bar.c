/* The title bar (what is open, the policy's state, the step, unsaved changes) and the status bar
 * (main keys, messages, the prompt, and the progress of what the worker is doing). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axf/luahost.h"
#include "draw.h"
#include "pane.h"

static void fill_line(WINDOW *w, int y, int width, attr_t a)
{
    wattron(w, a);
    mvwhline(w, y, 0, ' ', width);
    wattroff(w, a);
}

/* The task as a user knows it: the demo's generated data is a synthetic sentiment task, not one
 * of the reader's task names ("single" for any one-sentence file). */
static const char *task_label(const axf_app *a)
{
    return a->opts && a->opts->demo ? "synthetic sentiment task" : a->view.snap.facts.task;
}

static void title_draw(axf_pane *p, axf_app *a)
{
    WINDOW *w = p->win;
    const axf_view *v = &a->view;
    const axf_theme *t = &axf_th;
    werase(w);
    fill_line(w, 0, p->w, t->title);
    char left[256], right[256];
    const char *sep = t->utf8 ? " │ " : " | ";
    if (v->have_snap) {
        const axf_facts *f = &v->snap.facts;
        if (a->compact)
            snprintf(left, sizeof left, " AxFormer%s%s · %s", sep, v->title, task_label(a));
        else if (f->n_holdout)
            snprintf(left, sizeof left, " AxFormer Workbench%s%s · %s · %dx%d%ssearch %d · held-out %d", sep,
                     v->title, task_label(a), f->n_layers, f->hidden, sep, f->n_search, f->n_holdout);
        else
            snprintf(left, sizeof left, " AxFormer Workbench%s%s · %s · %dx%d%ssearch %d", sep, v->title,
                     task_label(a), f->n_layers, f->hidden, sep, f->n_search);
    } else {
        snprintf(left, sizeof left, " AxFormer Workbench%s%s", sep, v->title);
    }
    /* right: policy state, step, unsaved */
    char pol[128] = "";
    if (v->have_policy) {
        const char *state;
        if (v->policy_running)
            state = t->utf8 ? "▶ running" : "> running";
        else if (v->policy_state == AXF_LUA_IDLE)
            state = v->policy_steps ? (t->utf8 ? "⏸ paused" : "= paused") : "ready";
        else
            state = axf_lua_state_name((axf_lua_state)v->policy_state);
        snprintf(pol, sizeof pol, "%s %s%s", v->policy_file[0] ? v->policy_file : v->policy_name, state, sep);
    }
    char step[48] = "";
    if (v->have_snap)
        snprintf(step, sizeof step, "step %d/%d", v->snap.cursor, v->snap.history_len);
    snprintf(right, sizeof right, "%s%s%s ", pol, step, v->user_dirty ? (t->utf8 ? " ● unsaved" : " * unsaved") : "");
    int rc = axf_text_cols(right);
    int lw = p->w - rc - 1;
    if (lw < 10) {
        snprintf(right, sizeof right, "%s%s ", step, v->user_dirty ? " *" : "");
        rc = axf_text_cols(right);
        lw = p->w - rc - 1;
    }
    axf_put(w, 0, 0, lw, t->title, left);
    axf_put(w, 0, p->w - rc, rc, t->title, right);
    wnoutrefresh(w);
}

const axf_pane_class axf_pane_title = {"title", title_draw, NULL};

/* ---- status ---- */

static const char *prompt_label(axf_prompt_kind k)
{
    switch (k) {
    case AXF_PROMPT_LUA: return "lua> ";
    case AXF_PROMPT_SAVE: return "save session as: ";
    case AXF_PROMPT_EXPORT: return "export compacted model to folder: ";
    case AXF_PROMPT_GOTO: return "go to step: ";
    default: return "";
    }
}

static void status_draw(axf_pane *p, axf_app *a)
{
    WINDOW *w = p->win;
    const axf_theme *t = &axf_th;
    werase(w);
    /* the questions: what is at stake, then the answers */
    if (a->prompt == AXF_PROMPT_QUIT || a->prompt == AXF_PROMPT_OVERWRITE || a->prompt == AXF_PROMPT_DROP_TAIL) {
        const char *dir = a->pbuf;
        size_t keep = p->w > 60 ? (size_t)(p->w - 40) : 20; /* a long folder: its end, which names it */
        if (strlen(dir) > keep)
            for (dir += strlen(dir) - keep; ((unsigned char)*dir & 0xC0) == 0x80; dir++)
                ;
        axf_seg quit[] = {{t->warn, "Unsaved changes.", 0}, {t->key, "w", 0}, {A_NORMAL, " save and quit", 1},
                          {t->key, "q", 0}, {A_NORMAL, " quit without saving", 1}, {t->key, "Esc", 0},
                          {A_NORMAL, " stay", 1}};
        char q[192];
        int n = a->confirm.tail;
        snprintf(q, sizeof q, "%s: this drops the %d redo step%s after step %d.", a->confirm.what, n,
                 n > 1 ? "s" : "", a->confirm.cursor);
        if (axf_text_cols(q) + 26 > p->w) /* the answers stay on the line */
            snprintf(q, sizeof q, "This drops %d redo step%s.", n, n > 1 ? "s" : "");
        axf_seg drop[] = {{t->warn, q, 0}, {t->key, "y", 0}, {A_NORMAL, " drop them", 1},
                          {t->key, "n", 0}, {A_NORMAL, " keep them", 1}};
        axf_seg over[] = {{t->warn, dir, 0}, {t->warn, " exists.", 1}, {t->key, "y", 0},
                          {A_NORMAL, " overwrite it", 1}, {t->key, "n", 0}, {A_NORMAL, " keep it", 1}};
        if (a->prompt == AXF_PROMPT_QUIT)
            axf_put_segs(w, 0, 1, p->w - 1, 1, quit, (int)(sizeof quit / sizeof quit[0]));
        else if (a->prompt == AXF_PROMPT_DROP_TAIL)
            axf_put_segs(w, 0, 1, p->w - 1, 1, drop, (int)(sizeof drop / sizeof drop[0]));
        else
            axf_put_segs(w, 0, 1, p->w - 1, 1, over, (int)(sizeof over / sizeof over[0]));
        wnoutrefresh(w);
        return;
    }
    if (a->prompt != AXF_PROMPT_NONE) {
        const char *lab = prompt_label(a->prompt);
        int c = axf_put(w, 0, 0, p->w, t->key, lab);
        int room = p->w - c - 1;
        /* keep the cursor visible: show the tail of a long line */
        int start = a->ppos > room ? a->ppos - room : 0;
        axf_put(w, 0, c, room, A_NORMAL, a->pbuf + start);
        wmove(w, 0, c + a->ppos - start);
        wnoutrefresh(w);
        return;
    }
    /* right side: progress of the worker */
    int right_w = 0;
    const axf_progress_view *pr = &a->prog;
    if (pr->busy || a->view.phase == AXF_PHASE_STARTING) {
        char txt[256];
        double el = pr->busy ? axf_now() - pr->start : 0;
        const char *spin = t->spinner[(a->frame / 1) % (unsigned)t->n_spinner];
        char bar[64] = "";
        const char *esc = axf_app_policy_busy(a) ? "Esc pause" : "Esc cancel";
        if (pr->total > 0) {
            int bw = 12, fill = (int)(bw * pr->done / pr->total + 0.5);
            if (fill > bw)
                fill = bw;
            size_t u = 0;
            for (int i = 0; i < bw; i++)
                u += (size_t)snprintf(bar + u, sizeof bar - u, "%s", i < fill ? t->g_bar_full : t->g_bar_empty);
            snprintf(txt, sizeof txt, "%s %s %s %3.0f%% %.0fs  %s ", spin, pr->label, bar,
                     100 * pr->done / pr->total, el, esc);
        } else {
            snprintf(txt, sizeof txt, "%s %s %.0fs  %s ", spin, pr->busy ? pr->label : "starting", el, esc);
        }
        right_w = axf_text_cols(txt);
        if (right_w > p->w / 2 + 10) {
            snprintf(txt, sizeof txt, "%s %s ", spin, pr->label);
            right_w = axf_text_cols(txt);
        }
        axf_put(w, 0, p->w - right_w, right_w, t->bar, txt);
    }
    int room = p->w - right_w - 1;
    if (a->msg[0] && axf_now() - a->msg_time < 6) {
        axf_put(w, 0, 1, room - 1, a->msg_error ? t->bad : t->warn, a->msg);
        wnoutrefresh(w);
        return;
    }
    const char *const *pairs;
    int n = axf_keys_status(&pairs, room);
    int c = 1;
    for (int i = 0; i < n; i++) {
        /* without a policy, s and a do nothing: not offered (pressing them says why) */
        if (a->view.phase == AXF_PHASE_READY && !a->view.have_policy &&
            (!strcmp(pairs[2 * i], "s") || !strcmp(pairs[2 * i], "a")))
            continue;
        int need = axf_text_cols(pairs[2 * i]) + 1 + axf_text_cols(pairs[2 * i + 1]) + 2;
        if (c + need > room)
            break;
        c += axf_put(w, 0, c, room - c, t->key, pairs[2 * i]);
        c += axf_put(w, 0, c, room - c, A_NORMAL, " ");
        c += axf_put(w, 0, c, room - c, A_NORMAL, pairs[2 * i + 1]);
        c += axf_put(w, 0, c, room - c, A_NORMAL, "  ");
    }
    wnoutrefresh(w);
}

const axf_pane_class axf_pane_status = {"status", status_draw, NULL};
