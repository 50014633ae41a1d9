/* The action log: trials with their verdicts, committed steps, undo/redo, saves, errors and the
 * Lua console, newest at the bottom. Lines of steps beyond the history cursor (the redo tail) are
 * dim. PgUp/PgDn scroll. */
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "pane.h"

/* Glyph and colour of a kind of log entry. */
typedef struct look {
    const char *glyph;
    attr_t attr;
} look;

static look kind_look(int kind)
{
    const axf_theme *t = &axf_th;
    switch (kind) {
    case AXF_LOG_KEPT: return (look){t->g_kept, t->good};
    case AXF_LOG_REJECTED: return (look){t->g_rejected, t->dim};
    case AXF_LOG_UNDO: return (look){t->g_undo, t->warn};
    case AXF_LOG_ERROR: return (look){t->g_error, t->bad};
    case AXF_LOG_LUA: return (look){t->g_lua, t->accent};
    case AXF_LOG_POLICY: return (look){t->g_policy, t->hard};
    default: return (look){t->g_info, A_NORMAL};
    }
}

static void log_draw(axf_pane *p, axf_app *a)
{
    WINDOW *w = p->win;
    const axf_view *v = &a->view;
    werase(w);
    long total = v->n_log < AXF_VIEW_LOG ? v->n_log : AXF_VIEW_LOG;
    long oldest = v->n_log - total;
    int rows = p->h - 2, width = p->w - 6;
    if (p->scroll > total - 1)
        p->scroll = total > 0 ? (int)total - 1 : 0;
    char rt[64] = "";
    int focused = a->focus == AXF_PANE_LOG;
    if (p->scroll > 0)
        snprintf(rt, sizeof rt, "%d newer below %s PgDn", p->scroll, axf_th.g_down);
    else if (focused && !a->compact)
        snprintf(rt, sizeof rt, "PgUp PgDn scroll · Tab");
    axf_draw_box(w, "log", rt, focused && !a->compact);
    /* newest entry at the bottom; long entries wrap with a hanging indent; while the entries
     * do not fill the pane they start at its top, as in a terminal */
    int used = 0;
    for (long i = v->n_log - 1 - p->scroll; i >= oldest && used < rows; i--)
        used += axf_draw_wrapped(NULL, 0, 0, width, 0, 0, A_NORMAL, 2, 0, v->log[i % AXF_VIEW_LOG].text);
    int y = used < rows ? used : rows; /* last row used */
    for (long i = v->n_log - 1 - p->scroll; i >= oldest && y >= 1; i--) {
        const axf_view_line *l = &v->log[i % AXF_VIEW_LOG];
        int tail = v->have_snap && l->step > v->snap.cursor;
        attr_t ga = tail ? axf_th.dim : kind_look(l->kind).attr;
        attr_t ta = tail ? axf_th.dim : l->kind == AXF_LOG_ERROR ? axf_th.bad :
                    l->kind == AXF_LOG_REJECTED ? axf_th.dim : A_NORMAL;
        int n = axf_draw_wrapped(NULL, 0, 0, width, 0, 0, ta, 2, 0, l->text);
        int top = y - n + 1;
        /* an entry cut at the top shows its last lines */
        int skip = top < 1 ? 1 - top : 0;
        axf_draw_wrapped(w, top + skip, 4, width, n - skip, skip, ta, 2, 0, l->text);
        if (!skip)
            axf_put(w, top, 2, 2, ga, kind_look(l->kind).glyph);
        y = top - 1;
    }
    wnoutrefresh(w);
}

int axf_pane_scroll_key(axf_pane *p, int key, int up)
{
    if (key != KEY_PPAGE && key != KEY_NPAGE)
        return 0;
    p->scroll += key == KEY_PPAGE ? up : -up;
    if (p->scroll < 0)
        p->scroll = 0;
    return AXF_KEY_HANDLED;
}

/* the scroll counts entries back from the newest */
static int log_key(axf_pane *p, axf_app *a, int key)
{
    (void)a;
    return axf_pane_scroll_key(p, key, (p->h - 2 > 2 ? p->h - 2 : 2) / 2);
}

const axf_pane_class axf_pane_log = {"log", log_draw, log_key};
