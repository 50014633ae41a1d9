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
    axf_draw_box(w, "what just happened", a->compact ? "Tab: next pane" : "x hides", 0);
    axf_teach_text(&a->view, text, sizeof text);
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

const axf_pane_class axf_pane_teach = {"teach", teach_draw, NULL};
