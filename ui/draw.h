/* Terminal look: colour pairs for 256 colours, 8 colours and none, glyph sets for UTF-8 and plain
 * ASCII, and clipped text output measured in screen columns. Colours carry importance, glyphs
 * carry state, so everything reads in monochrome too. */
#ifndef AXF_UI_DRAW_H
#define AXF_UI_DRAW_H

#include <curses.h>
#include <stddef.h>

/* Importance levels of a heatmap cell. */
enum { AXF_LVL_NONE = 0, AXF_LVL_HELPS, AXF_LVL_1, AXF_LVL_2, AXF_LVL_3, AXF_LVL_4, AXF_LVL_ZERO, AXF_LVL_COUNT };

typedef struct axf_theme {
    int colors;                 /* 0 (monochrome), 8 or 256 */
    int utf8;
    attr_t lvl[AXF_LVL_COUNT];  /* importance level attributes */
    const char *shade[AXF_LVL_COUNT]; /* one-column glyph per level */
    attr_t removed, hard, border, title, dim, good, bad, key, head, cursor, warn, accent, plot_a,
        plot_b, bar;
    const char *g_removed;      /* "×" / "x" */
    const char *g_partial;      /* group partly removed */
    const char *g_kept, *g_rejected, *g_undo, *g_error, *g_lua, *g_info, *g_policy;
    const char *g_run, *g_pause, *g_arrow, *g_up, *g_down, *g_cursor_step;
    const char *g_bar_full, *g_bar_empty;
    const char *spinner[10];
    int n_spinner;
} axf_theme;

extern axf_theme axf_th;

/* After initscr: picks colours and glyphs for this terminal and locale (AXF_ASCII=1 forces the
 * plain glyphs; NO_COLOR disables colours). */
void axf_draw_init(void);

/* Screen columns of UTF-8 text (control bytes count 1: they are drawn as '?'). */
int axf_text_cols(const char *s);
/* Writes s at (y, x) using at most maxw columns (cut with "…" when longer); returns columns
 * written. Control characters are shown as '?'; without UTF-8 any non-ASCII byte is '?'. */
int axf_put(WINDOW *w, int y, int x, int maxw, attr_t a, const char *s);
int axf_putf(WINDOW *w, int y, int x, int maxw, attr_t a, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Right-aligned in a field of width cols ending at column x + cols. */
int axf_put_right(WINDOW *w, int y, int x, int cols, attr_t a, const char *s);

/* A run of text in a flowing line: a segment with glue 0 starts a new item (two spaces after the
 * previous one, or a new row when the item does not fit); glue 1 continues the item before it. */
typedef struct axf_seg {
    attr_t attr;
    const char *text;
    int glue;
} axf_seg;
/* Lays segs out in rows of width columns at (y, x), breaking only between items, and draws the
 * rows [0, rows) (w NULL or rows 0: only counts). Returns the rows the whole layout takes. An
 * item wider than a row is cut. */
int axf_put_segs(WINDOW *w, int y, int x, int width, int rows, const axf_seg *segs, int n);

/* Frame with a title (and an optional right-hand title). */
void axf_draw_box(WINDOW *w, const char *title, const char *rtitle, int focused);

/* Number formats: 18.2M, 1.23k, 0.2490; signed deltas. */
void axf_fmt_count(char *buf, size_t n, double v);
void axf_fmt_bytes(char *buf, size_t n, double v);

#endif
