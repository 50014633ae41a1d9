/* The teaching panel: the step at the history cursor told in plain words (teach.c), so a
 * newcomer can follow what the policy tried, what it kept, and why. */
#include <stdio.h>

#include "draw.h"
#include "pane.h"

static void teach_draw(axf_pane *p, axf_app *a)
{
    WINDOW *w = p->win;
    static char text[8192];
    werase(w);
    int focused = a->focus == AXF_PANE_TEACH;
    axf_draw_box(w, "what just happened", focused ? "PgUp PgDn scroll · Tab" : "Tab", focused);
    axf_teach_text(&a->view, text, sizeof text);
    long here = a->view.have_snap ? a->view.snap.cursor * 100000L + a->view.n_trials_after : -1;
    if (p->mark != here) { /* another step: read it from the top */
        p->mark = here;
        p->scroll = 0;
    }
    int rows = p->h - 2;
    int total = axf_draw_wrapped(w, 1, 2, p->w - 4, 0, 0, A_NORMAL, 2, 1, text);
    if (p->scroll > total - rows)
        p->scroll = total - rows > 0 ? total - rows : 0;
    if (p->scroll < 0)
        p->scroll = 0;
    axf_draw_wrapped(w, 1, 2, p->w - 4, rows, p->scroll, A_NORMAL, 2, 1, text);
    if (total > rows + p->scroll)
        axf_putf(w, p->h - 1, p->w - 14, 12, axf_th.dim, " more %s ", axf_th.g_down);
    wnoutrefresh(w);
}

/* the scroll counts lines down from the top */
static int teach_key(axf_pane *p, axf_app *a, int key)
{
    (void)a;
    return axf_pane_scroll_key(p, key, -((p->h - 2 > 2 ? p->h - 2 : 2) - 1));
}

const axf_pane_class axf_pane_teach = {"teach", teach_draw, teach_key};
