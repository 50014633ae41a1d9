/* The screen's main loop: terminal set-up and restore (also on SIGTERM/SIGINT/SIGHUP and through
 * the abort hook), layout of the panes for the terminal size, the prompt line, the help overlay,
 * and a loop that answers keys within a frame (50 ms input timeout), copies the worker's view
 * when it changed and redraws with wnoutrefresh/doupdate (curses sends only what changed: no
 * clears, no flicker). */
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axf/sessionfile.h"
#include "axf/ui.h"
#include "draw.h"
#include "pane.h"

static volatile sig_atomic_t got_signal;
static int curses_on;

static void on_signal(int sig)
{
    got_signal = sig;
}

/* Programmer errors anywhere (worker included): give the terminal back before the process dies.
 * Every committed step is already in the autosave file. */
static void on_abort(const char *what, void *ud)
{
    (void)ud;
    if (curses_on) {
        curses_on = 0;
        endwin();
    }
    fprintf(stderr, "axf: the workbench stopped: %s\n", what);
}

axf_ui_opts axf_ui_opts_default(void)
{
    axf_ui_opts o;
    memset(&o, 0, sizeof o);
    o.sopts = axf_session_opts_default();
    o.demo_seed = 1;
    return o;
}

void axf_app_message(axf_app *a, int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_error = error;
    a->msg_time = axf_now();
}

int axf_app_policy_busy(const axf_app *a)
{
    return a->view.policy_running || (a->prog.busy && !strncmp(a->prog.label, "policy", 6));
}

/* ---- layout ---- */

static void place(axf_app *a, int id, int y, int x, int h, int w)
{
    axf_pane *p = &a->panes[id];
    if (p->win) {
        delwin(p->win);
        p->win = NULL;
    }
    p->y = y;
    p->x = x;
    p->h = h > 0 && w > 0 ? h : 0;
    p->w = w;
    if (p->h)
        p->win = newwin(h, w, y, x);
}

/* Rows of the metrics table; compact: the taller of its two columns (quality, cost). */
static int metrics_rows(const axf_app *a, int compact)
{
    int q = 3; /* loss, accuracy, no worse */
    if (a->view.have_snap && strcmp(a->view.snap.facts.metric_name, "accuracy"))
        q++;
    if (a->view.have_snap && a->view.snap.facts.n_holdout)
        q += 2;
    /* cost: params, FLOPs, size, speed (and its range in the table) */
    return compact ? (q > 4 ? q : 4) : q + 5;
}

/* The metrics table, plot and teaching panel on the right of the wide layout: at least this wide
 * (the table's label, baseline, now and change columns). */
#define RIGHT_MIN 57

/* The right-hand column of the wide layout from row y down to the status bar: metrics, then the
 * plot and (when shown) the teaching panel. */
static void place_right(axf_app *a, int y, int x, int w)
{
    int rest = a->rows - 1 - y, met_h = metrics_rows(a, 0) + 3;
    place(a, AXF_PANE_METRICS, y, x, met_h, w);
    rest -= met_h;
    if (a->teach) {
        int plot_h = rest / 2 < 9 ? (rest < 9 ? rest : 9) : rest / 2;
        if (plot_h > 14)
            plot_h = 14;
        place(a, AXF_PANE_PLOT, y + met_h, x, plot_h, w);
        place(a, AXF_PANE_TEACH, y + met_h + plot_h, x, rest - plot_h, w);
    } else {
        place(a, AXF_PANE_PLOT, y + met_h, x, rest, w);
    }
}

/* Layouts: compact (narrower than 120 or shorter than 32): heatmap, metrics and one bottom pane
 * stacked, all full width. Wide: the heatmap beside the metrics column when both get their width
 * (its cells with the FFN groups, its legend and details on one row each), else the heatmap across
 * the top and the log beside the metrics column below it. */
void axf_app_layout(axf_app *a)
{
    int H = a->rows, W = a->cols;
    for (int i = 0; i < AXF_PANE_COUNT; i++)
        place(a, i, 0, 0, 0, 0);
    a->compact = W < 120 || H < 32;
    place(a, AXF_PANE_TITLE, 0, 0, 1, W);
    place(a, AXF_PANE_STATUS, H - 1, 0, 1, W);
    int body = H - 2;
    if (a->compact) {
        int hm_h = axf_heatmap_height(a, 0, W);
        int met_h = metrics_rows(a, 1) + 2;
        if (H >= 40)
            met_h = metrics_rows(a, 0) + 3; /* room for the table */
        int bottom_min = 4;
        if (hm_h > body - met_h - bottom_min)
            hm_h = body - met_h - bottom_min;
        if (hm_h < 6)
            hm_h = 6;
        int y = 1;
        place(a, AXF_PANE_HEATMAP, y, 0, hm_h, W);
        y += hm_h;
        place(a, AXF_PANE_METRICS, y, 0, met_h, W);
        y += met_h;
        int rest = H - 1 - y;
        int id = a->bottom == AXF_BOTTOM_PLOT ? AXF_PANE_PLOT :
                 a->bottom == AXF_BOTTOM_TEACH ? AXF_PANE_TEACH : AXF_PANE_LOG;
        if (rest >= 3)
            place(a, id, y, 0, rest, W);
    } else {
        int rw = W / 2 < RIGHT_MIN ? RIGHT_MIN : W / 2 > 100 ? 100 : W / 2;
        int lw = W - rw;
        int need = axf_heatmap_width(a, 1), text = axf_heatmap_text_width(a);
        if (text > need)
            need = text;
        if (need > lw && W - need >= RIGHT_MIN) { /* the metrics column can spare the width */
            lw = need;
            rw = W - lw;
        }
        if (need <= lw) { /* side by side */
            int hm_h = axf_heatmap_height(a, 0, lw), roomy = axf_heatmap_height(a, 1, lw);
            if (body - roomy >= 14) /* the log keeps a dozen lines */
                hm_h = roomy;
            if (hm_h > body - 6)
                hm_h = body - 6;
            place(a, AXF_PANE_HEATMAP, 1, 0, hm_h, lw);
            place(a, AXF_PANE_LOG, 1 + hm_h, 0, body - hm_h, lw);
            place_right(a, 1, lw, rw);
        } else { /* the heatmap across the top */
            int below_min = metrics_rows(a, 0) + 3 + 6;
            int hm_h = axf_heatmap_height(a, 0, W), roomy = axf_heatmap_height(a, 1, W);
            if (body - roomy >= below_min)
                hm_h = roomy;
            if (hm_h > body - below_min)
                hm_h = body - below_min;
            place(a, AXF_PANE_HEATMAP, 1, 0, hm_h, W);
            /* below: the log (and the plot above it) on the left; the metrics and the teaching
             * panel (or the plot) on the right */
            int y = 1 + hm_h, below = body - hm_h, met_h = metrics_rows(a, 0) + 3;
            int plot_h = a->teach ? (below / 3 < 9 ? below / 3 : 9) : 0;
            if (plot_h >= 5)
                place(a, AXF_PANE_PLOT, y, 0, plot_h, W - rw);
            else
                plot_h = 0;
            place(a, AXF_PANE_LOG, y + plot_h, 0, below - plot_h, W - rw);
            place(a, AXF_PANE_METRICS, y, W - rw, met_h, rw);
            place(a, a->teach ? AXF_PANE_TEACH : AXF_PANE_PLOT, y + met_h, W - rw, below - met_h, rw);
        }
    }
    if (a->compact)
        a->focus = a->bottom == AXF_BOTTOM_TEACH ? AXF_PANE_TEACH : AXF_PANE_LOG;
    else if (!a->teach)
        a->focus = AXF_PANE_LOG;
    axf_heatmap_columns(a);
    /* a resize leaves stdscr touched: clear it once here so its refresh inside wgetch is a no-op */
    werase(stdscr);
    wnoutrefresh(stdscr);
}

/* ---- overlays ---- */

static void draw_help(axf_app *a)
{
    const char **rows;
    int n;
    axf_keys_help(&rows, &n);
    int w = a->cols - 2 < 84 ? a->cols - 2 : 84;
    int h = a->rows - 4 < n + 6 ? a->rows - 4 : n + 6;
    if (w < 30 || h < 6)
        return;
    WINDOW *win = newwin(h, w, (a->rows - h) / 2, (a->cols - w) / 2);
    werase(win);
    axf_draw_box(win, "keys", n > h - 4 ? "j k scroll · any other key closes" : "any key closes", 1);
    int inner = h - 4;
    if (a->help_scroll > n - inner)
        a->help_scroll = n - inner > 0 ? n - inner : 0;
    for (int i = 0; i < inner && i + a->help_scroll < n; i++) {
        int r = i + a->help_scroll;
        axf_put(win, 1 + i, 2, 10, axf_th.key, rows[2 * r]);
        axf_put(win, 1 + i, 13, w - 15, A_NORMAL, rows[2 * r + 1]);
    }
    char foot[160];
    snprintf(foot, sizeof foot, "heatmap: colour = importance, %s%s removed, k30 = top-30 hard attention, "
             "i8 = int8 block", axf_th.g_removed, axf_th.g_removed);
    axf_put(win, h - 2, 2, w - 4, axf_th.dim, foot);
    wnoutrefresh(win);
    delwin(win);
}

/* The glossary overlay (key n): scrolled with j k / PgUp PgDn like the help. */
static void draw_glossary(axf_app *a)
{
    int w = a->cols - 2 < 84 ? a->cols - 2 : 84;
    int h = a->rows - 2;
    if (w < 30 || h < 6)
        return;
    int inner = h - 2, total = axf_draw_wrapped(NULL, 0, 0, w - 4, 0, 0, A_NORMAL, 0, 1, axf_glossary);
    if (a->help_scroll > total - inner)
        a->help_scroll = total - inner > 0 ? total - inner : 0;
    WINDOW *win = newwin(h, w, (a->rows - h) / 2, (a->cols - w) / 2);
    werase(win);
    axf_draw_box(win, "glossary", total > inner ? "j k scroll · any other key closes" : "any key closes", 1);
    axf_draw_wrapped(win, 1, 2, w - 4, inner, a->help_scroll, A_NORMAL, 0, 1, axf_glossary);
    wnoutrefresh(win);
    delwin(win);
}

static void draw_starting(axf_app *a)
{
    int w = a->cols - 4 < 70 ? a->cols - 4 : 70, h = 9;
    if (w < 30 || a->rows < h + 2)
        return;
    WINDOW *win = newwin(h, w, (a->rows - h) / 2, (a->cols - w) / 2);
    werase(win);
    axf_draw_box(win, a->view.phase == AXF_PHASE_FAILED ? "could not start" : "starting", NULL, 1);
    if (a->view.phase == AXF_PHASE_FAILED) {
        axf_draw_wrapped(win, 2, 2, w - 4, h - 4, 0, axf_th.bad, 2, 0, a->view.fail);
    } else {
        axf_put(win, 2, 2, w - 4, A_BOLD, a->view.start_label);
        const axf_progress_view *pr = &a->prog;
        int bw = w - 16;
        double frac = pr->total > 0 ? pr->done / pr->total : 0;
        if (frac > 1)
            frac = 1;
        int fill = (int)(frac * bw + 0.5);
        wmove(win, 4, 2);
        for (int i = 0; i < bw; i++)
            axf_put(win, 4, 2 + i, 1, i < fill ? axf_th.bar : axf_th.dim,
                    i < fill ? axf_th.g_bar_full : axf_th.g_bar_empty);
        if (pr->total > 0)
            axf_putf(win, 4, 3 + bw, 10, A_NORMAL, "%3.0f%%", 100 * frac);
        double el = pr->busy ? axf_now() - pr->start : 0.0;
        char eta[48] = "";
        if (frac > 0.02 && frac < 1)
            snprintf(eta, sizeof eta, ", about %.0f s left", el * (1 - frac) / frac);
        axf_putf(win, 6, 2, w - 4, axf_th.dim, "%s %s · %.0f s%s · q quits",
                 axf_th.spinner[a->frame % (unsigned)axf_th.n_spinner], pr->busy ? pr->label : "…", el, eta);
    }
    wnoutrefresh(win);
    delwin(win);
}

static void draw_all(axf_app *a)
{
    if (a->rows < AXF_MIN_ROWS || a->cols < AXF_MIN_COLS) {
        werase(stdscr);
        mvwprintw(stdscr, 0, 0, "AxFormer: the terminal is too small (%dx%d); %dx%d or more, please.", a->cols,
                  a->rows, AXF_MIN_COLS, AXF_MIN_ROWS);
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    for (int i = 0; i < AXF_PANE_COUNT; i++) {
        axf_pane *p = &a->panes[i];
        if (p->h > 0 && p->win && p->cls)
            p->cls->draw(p, a);
    }
    if (a->view.phase != AXF_PHASE_READY)
        draw_starting(a);
    if (a->help == AXF_OVERLAY_KEYS)
        draw_help(a);
    else if (a->help == AXF_OVERLAY_GLOSSARY)
        draw_glossary(a);
    else if (a->help == AXF_OVERLAY_TRADEOFF)
        axf_plot_tradeoff(a);
    else if (a->help == AXF_OVERLAY_ATTN)
        axf_attn_draw(a);
    if (a->prompt != AXF_PROMPT_NONE && a->prompt != AXF_PROMPT_QUIT && a->prompt != AXF_PROMPT_OVERWRITE &&
        a->prompt != AXF_PROMPT_DROP_TAIL) {
        curs_set(1);
        wnoutrefresh(a->panes[AXF_PANE_STATUS].win); /* leaves the cursor in the prompt */
    } else {
        curs_set(0);
    }
    doupdate();
}

/* ---- prompt line ---- */

/* quit_pending: the save prompt was opened by "save and quit" */
static int quit_pending;

static void prompt_submit(axf_app *a)
{
    axf_wcmd c;
    memset(&c, 0, sizeof c);
    snprintf(c.text, sizeof c.text, "%s", a->pbuf);
    axf_prompt_kind k = a->prompt;
    a->prompt = AXF_PROMPT_NONE;
    if (k == AXF_PROMPT_LUA) {
        if (!a->pbuf[0])
            return;
        if (a->n_lua_hist == AXF_LUA_HIST) {
            memmove(a->lua_hist[0], a->lua_hist[1], sizeof a->lua_hist[0] * (AXF_LUA_HIST - 1));
            a->n_lua_hist--;
        }
        axf_str_copy(a->lua_hist[a->n_lua_hist++], sizeof a->lua_hist[0], a->pbuf);
        c.type = AXF_WCMD_LUA;
    } else if (k == AXF_PROMPT_SAVE) {
        if (!a->pbuf[0])
            return;
        c.type = quit_pending ? AXF_WCMD_SAVE_QUIT : AXF_WCMD_SAVE;
    } else if (k == AXF_PROMPT_EXPORT || k == AXF_PROMPT_OVERWRITE) {
        if (!a->pbuf[0])
            return;
        struct stat st;
        if (k == AXF_PROMPT_EXPORT && !stat(a->pbuf, &st)) { /* there already: ask first */
            a->prompt = AXF_PROMPT_OVERWRITE;
            return;
        }
        c.type = AXF_WCMD_EXPORT;
        axf_app_message(a, 0, "exporting to %s…", a->pbuf);
    } else if (k == AXF_PROMPT_GOTO) {
        char *end;
        long n = strtol(a->pbuf, &end, 10);
        if (*end || n < 0 || n > a->view.snap.history_len) {
            axf_app_message(a, 1, "no step '%s' (0..%d)", a->pbuf, a->view.snap.history_len);
            return;
        }
        c.type = AXF_WCMD_GOTO;
        c.arg = (int)n;
    } else {
        return;
    }
    if (axf_worker_post(a->worker, &c))
        axf_app_message(a, 1, "busy: too many commands waiting");
}


static int prompt_key(axf_app *a, int key)
{
    if (a->prompt == AXF_PROMPT_DROP_TAIL) {
        axf_keys_confirm(a, key == 'y' || key == 'Y');
        return AXF_KEY_HANDLED;
    }
    if (a->prompt == AXF_PROMPT_OVERWRITE) {
        if (key == 'y' || key == 'Y') {
            prompt_submit(a);
        } else {
            a->prompt = AXF_PROMPT_NONE;
            axf_app_message(a, 0, "not exported: %s is left as it is", a->pbuf);
        }
        return AXF_KEY_HANDLED;
    }
    if (a->prompt == AXF_PROMPT_QUIT) {
        if (key == 'q' || key == 'Q' || key == 'y')
            return AXF_KEY_QUIT;
        if (key == 'w') {
            a->prompt = AXF_PROMPT_NONE;
            if (axf_app_policy_busy(a)) { /* the policy ends its step, then the save runs */
                axf_worker_finish_step(a->worker);
                axf_app_message(a, 0, "finishing the policy's current step, then saving and quitting "
                                      "(Esc stops it now)");
            }
            if (a->view.session_path[0]) {
                axf_wcmd c;
                memset(&c, 0, sizeof c);
                c.type = AXF_WCMD_SAVE_QUIT;
                axf_worker_post(a->worker, &c);
            } else {
                a->prompt = AXF_PROMPT_SAVE;
                snprintf(a->pbuf, sizeof a->pbuf, "session.json");
                a->plen = a->ppos = (int)strlen(a->pbuf);
            }
            quit_pending = 1;
            return AXF_KEY_HANDLED;
        }
        if (key == 27 || key == 'n')
            a->prompt = AXF_PROMPT_NONE;
        return AXF_KEY_HANDLED;
    }
    switch (key) {
    case 27:
        a->prompt = AXF_PROMPT_NONE;
        quit_pending = 0;
        break;
    case '\n':
    case '\r':
    case KEY_ENTER:
        prompt_submit(a);
        break;
    case KEY_BACKSPACE:
    case 127:
    case 8:
        if (a->ppos > 0) {
            /* remove one UTF-8 character before the cursor */
            int s = a->ppos - 1;
            while (s > 0 && ((unsigned char)a->pbuf[s] & 0xC0) == 0x80)
                s--;
            memmove(a->pbuf + s, a->pbuf + a->ppos, (size_t)(a->plen - a->ppos + 1));
            a->plen -= a->ppos - s;
            a->ppos = s;
        } else if (a->plen == 0) {
            a->prompt = AXF_PROMPT_NONE;
        }
        break;
    case KEY_DC:
        if (a->ppos < a->plen) {
            int e = a->ppos + 1;
            while (e < a->plen && ((unsigned char)a->pbuf[e] & 0xC0) == 0x80)
                e++;
            memmove(a->pbuf + a->ppos, a->pbuf + e, (size_t)(a->plen - e + 1));
            a->plen -= e - a->ppos;
        }
        break;
    case KEY_LEFT:
        while (a->ppos > 0 && ((unsigned char)a->pbuf[--a->ppos] & 0xC0) == 0x80)
            ;
        break;
    case KEY_RIGHT:
        if (a->ppos < a->plen)
            while (++a->ppos < a->plen && ((unsigned char)a->pbuf[a->ppos] & 0xC0) == 0x80)
                ;
        break;
    case KEY_HOME:
    case 1: /* Ctrl-A */
        a->ppos = 0;
        break;
    case KEY_END:
    case 5: /* Ctrl-E */
        a->ppos = a->plen;
        break;
    case 21: /* Ctrl-U */
        a->pbuf[0] = 0;
        a->plen = a->ppos = 0;
        break;
    case KEY_UP:
    case KEY_DOWN:
        if (a->prompt == AXF_PROMPT_LUA && a->n_lua_hist) {
            a->lua_hist_pos += key == KEY_UP ? -1 : 1;
            if (a->lua_hist_pos < 0)
                a->lua_hist_pos = 0;
            if (a->lua_hist_pos >= a->n_lua_hist) {
                a->lua_hist_pos = a->n_lua_hist;
                a->pbuf[0] = 0;
            } else {
                axf_str_copy(a->pbuf, sizeof a->pbuf, a->lua_hist[a->lua_hist_pos]);
            }
            a->plen = a->ppos = (int)strlen(a->pbuf);
        }
        break;
    default:
        if (key >= 32 && key < 256 && key != 127 && a->plen + 1 < (int)sizeof a->pbuf - 1) {
            memmove(a->pbuf + a->ppos + 1, a->pbuf + a->ppos, (size_t)(a->plen - a->ppos + 1));
            a->pbuf[a->ppos++] = (char)key;
            a->plen++;
        }
        break;
    }
    return AXF_KEY_HANDLED;
}

/* ---- the control of the trade-off plot ---- */

/* Reads a finished session as the control (pane.h): its points and baseline. -1 with err naming
 * the file when it cannot be read or has no step. */
static int control_load(const char *path, axf_control *c, axf_err *err)
{
    axf_sessionfile f;
    if (axf_sessionfile_read(path, &f, err))
        return -1;
    if (f.n_steps == 0 || f.baseline.params == 0) {
        axf_sessionfile_free(&f);
        return axf_err_set(err, "%s: the control session has no steps (run its policy to the end with axf search)",
                           path);
    }
    c->n = f.n_steps;
    c->frac = axf_xmalloc(sizeof(double) * (size_t)(c->n + 1));
    c->metric = axf_xmalloc(sizeof(double) * (size_t)(c->n + 1));
    for (int i = 0; i <= c->n; i++) {
        const axf_metrics *m = i ? &f.steps[i - 1].after : &f.baseline;
        c->frac[i] = (double)m->params / (double)f.baseline.params;
        c->metric[i] = isfinite(m->accuracy) ? m->accuracy : m->metric;
    }
    c->base_n = f.baseline.n;
    c->base_loss = f.baseline.loss;
    const char *b = strrchr(path, '/');
    axf_str_copy(c->file, sizeof c->file, b ? b + 1 : path);
    axf_str_copy(c->policy, sizeof c->policy, f.has_policy ? f.policy_name : "no policy");
    axf_sessionfile_free(&f);
    return 0;
}

static void control_free(axf_control *c)
{
    free(c->frac);
    free(c->metric);
    memset(c, 0, sizeof *c);
}

/* ---- main loop ---- */

static int term_start(axf_err *err)
{
    if (!isatty(0) || !isatty(1))
        return axf_err_set(err, "axf tui needs a terminal (stdin and stdout); use axf search headless");
    const char *term = getenv("TERM");
    if (!term || !*term)
        return axf_err_set(err, "TERM is not set: cannot draw the screen");
    /* In a UTF-8 locale draw the frames with Unicode line characters rather than the VT100
     * alternate character set, which some terminals (and multiplexers) do not switch to. */
    const char *cs = nl_langinfo(CODESET);
    if (cs && !strcmp(cs, "UTF-8"))
        setenv("NCURSES_NO_UTF8_ACS", "1", 0);
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr)
        return axf_err_set(err, "terminal type '%s' is not known to ncurses", term);
    set_term(scr);
    curses_on = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    intrflush(stdscr, FALSE);
    set_escdelay(25);
    curs_set(0);
    wtimeout(stdscr, AXF_KEY_WAIT_MS);
    axf_draw_init();
    werase(stdscr);
    wnoutrefresh(stdscr);
    doupdate();
    return 0;
}

static void term_stop(void)
{
    if (curses_on) {
        curses_on = 0;
        endwin();
    }
}

int axf_ui_run(const axf_ui_opts *o, axf_err *err)
{
    setlocale(LC_ALL, "");
    static axf_app app;
    axf_app *a = &app;
    memset(a, 0, sizeof *a);
    a->opts = o;
    a->teach = 1; /* the side panel of the wide layout; x hides it */
    a->bottom = o->demo || o->teach ? AXF_BOTTOM_TEACH : AXF_BOTTOM_LOG;
    a->focus = AXF_PANE_LOG;
    a->measure = AXF_MEASURE_LOSS;
    a->cur_col = 1;
    const axf_pane_class *cls[AXF_PANE_COUNT] = {&axf_pane_title, &axf_pane_heatmap, &axf_pane_metrics,
                                                 &axf_pane_plot, &axf_pane_log, &axf_pane_teach,
                                                 &axf_pane_status};
    for (int i = 0; i < AXF_PANE_COUNT; i++)
        a->panes[i].cls = cls[i];

    if (o->control_path && control_load(o->control_path, &a->control, err))
        return -1;
    if (term_start(err)) {
        control_free(&a->control);
        return -1;
    }
    axf_abort_hook_set(on_abort, NULL);
    axf_log_set(NULL, NULL); /* no library warning is printed over the screen */
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    got_signal = 0;
    quit_pending = 0;

    a->worker = axf_worker_start(o, err);
    if (!a->worker) {
        term_stop();
        control_free(&a->control);
        return -1;
    }
    getmaxyx(stdscr, a->rows, a->cols);
    axf_app_layout(a);
    int had_snap = 0, rc = 0;
    unsigned long last_msg = 0;
    double last_draw = 0;
    int dirty = 1;
    while (!a->quit) {
        if (got_signal)
            break;
        /* while a command is on its way, look for its result every few ms instead of once a
         * frame: an undo shows as soon as the worker has done it */
        wtimeout(stdscr, axf_worker_posted(a->worker) > a->view.cmds_done ? AXF_KEY_BUSY_MS : AXF_KEY_WAIT_MS);
        int key = axf_keys_read(stdscr);
        if (key == AXF_KEY_NONE) {
            /* a sequence no action is bound to: read whole and dropped */
        } else if (key == KEY_RESIZE) {
            getmaxyx(stdscr, a->rows, a->cols);
            axf_app_layout(a);
            dirty = 1;
        } else if (key != ERR) {
            int r;
            if (a->view.phase != AXF_PHASE_READY && (key == 'q' || key == 27 || a->view.phase == AXF_PHASE_FAILED)) {
                r = AXF_KEY_QUIT;
            } else if (a->rows < AXF_MIN_ROWS || a->cols < AXF_MIN_COLS) { /* nothing to see: only quitting works */
                r = key == 'q' ? axf_keys_dispatch(a, key) : 0;
            } else if (a->prompt != AXF_PROMPT_NONE) {
                r = prompt_key(a, key);
            } else {
                r = axf_keys_dispatch(a, key);
            }
            if (r & AXF_KEY_QUIT)
                a->quit = 1;
            if (r & AXF_KEY_LAYOUT)
                axf_app_layout(a);
            dirty = 1;
        }
        if (axf_worker_view(a->worker, &a->view)) {
            dirty = 1;
            if (a->view.phase == AXF_PHASE_FAILED)
                break; /* exit 1 with the reason, as every command does on bad input */
            if (a->view.have_snap && !had_snap) {
                had_snap = 1;
                a->cur_layer = a->view.snap.facts.n_layers - 1;
                axf_app_layout(a);
                for (int i = 0; i < a->n_cols; i++)
                    if (a->colv[i].kind == AXF_COL_HEAD) { /* start on the top layer's first head */
                        a->cur_col = i;
                        break;
                    }
            }
            if (a->view.have_snap && a->cur_layer >= a->view.snap.facts.n_layers)
                a->cur_layer = a->view.snap.facts.n_layers - 1;
            if (a->view.message_seq != last_msg) {
                last_msg = a->view.message_seq;
                if (a->view.message[0]) {
                    axf_str_copy(a->msg, sizeof a->msg, a->view.message);
                    a->msg_error = a->view.message_error;
                    a->msg_time = axf_now();
                    if (a->msg_error)
                        quit_pending = 0; /* a failed save keeps the screen open */
                }
            }
        }
        axf_progress_view prev = a->prog;
        axf_worker_progress(a->worker, &a->prog);
        if (a->prog.busy != prev.busy || a->prog.done != prev.done)
            dirty = 1;
        double now = axf_now();
        if (a->prog.busy || a->view.phase == AXF_PHASE_STARTING)
            if (now - last_draw > 0.1)
                dirty = 1; /* spinner */
        if (a->msg[0] && now - a->msg_time > 6 && now - a->msg_time < 6.2)
            dirty = 1; /* message expired */
        if (a->view.quit_ready)
            a->quit = 1; /* the save asked for by "save and quit" went through */
        if (dirty) {
            a->frame = (unsigned)(now * 10);
            draw_all(a);
            last_draw = now;
            dirty = 0;
        }
    }
    int failed = a->view.phase == AXF_PHASE_FAILED;
    if (failed)
        axf_str_copy(err->msg, sizeof err->msg, a->view.fail);
    axf_worker_stop(a->worker);
    for (int i = 0; i < AXF_PANE_COUNT; i++)
        if (a->panes[i].win)
            delwin(a->panes[i].win);
    term_stop();
    axf_abort_hook_set(NULL, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    axf_view_free_steps(&a->view);
    control_free(&a->control);
    if (failed)
        rc = -1;
    else if (got_signal)
        rc = (int)got_signal;
    return rc;
}
