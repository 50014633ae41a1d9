/* Colours, glyphs and clipped text output for every pane. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "draw.h"

#include <langinfo.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

axf_theme axf_th;

enum {
    P_HELPS = 1, P_L1, P_L2, P_L3, P_L4, P_REMOVED, P_HARD, P_BORDER, P_TITLE, P_GOOD, P_BAD, P_KEY,
    P_HEAD, P_WARN, P_ACCENT, P_PLOT_A, P_PLOT_B, P_BAR, P_NONE, P_COUNT
};

/* Colour pairs: foreground and background with 256 colours, then with 8 (-1 = the terminal's). */
static const short pairs[P_COUNT][4] = {
    [P_HELPS] = {41, -1, COLOR_GREEN, -1},    [P_L1] = {33, -1, COLOR_BLUE, -1},
    [P_L2] = {44, -1, COLOR_CYAN, -1},        [P_L3] = {214, -1, COLOR_YELLOW, -1},
    [P_L4] = {196, -1, COLOR_RED, -1},        [P_REMOVED] = {244, -1, -1, -1},
    [P_HARD] = {177, -1, COLOR_MAGENTA, -1},  [P_BORDER] = {244, -1, -1, -1},
    [P_TITLE] = {231, 24, COLOR_WHITE, COLOR_BLUE}, [P_GOOD] = {41, -1, COLOR_GREEN, -1},
    [P_BAD] = {203, -1, COLOR_RED, -1},       [P_KEY] = {117, -1, COLOR_CYAN, -1},
    [P_HEAD] = {250, -1, -1, -1},             [P_WARN] = {220, -1, COLOR_YELLOW, -1},
    [P_ACCENT] = {75, -1, COLOR_CYAN, -1},    [P_PLOT_A] = {81, -1, COLOR_CYAN, -1},
    [P_PLOT_B] = {215, -1, COLOR_YELLOW, -1}, [P_BAR] = {75, -1, COLOR_CYAN, -1},
    [P_NONE] = {240, -1, -1, -1},
};

/* Each attribute of the theme: its pair and extra attributes in colour (more with 8 colours), and
 * what stands for it in monochrome. */
#define LVL(i) (offsetof(axf_theme, lvl) + (i) * sizeof(attr_t))
#define AT(f) offsetof(axf_theme, f)
static const struct look {
    size_t at;
    short pair;
    attr_t extra, extra8, mono;
} looks[] = {
    {LVL(AXF_LVL_NONE), P_NONE, 0, A_DIM, A_NORMAL},     {LVL(AXF_LVL_HELPS), P_HELPS, A_BOLD, 0, A_UNDERLINE},
    {LVL(AXF_LVL_1), P_L1, 0, A_BOLD, A_NORMAL},         {LVL(AXF_LVL_2), P_L2, 0, 0, A_NORMAL},
    {LVL(AXF_LVL_3), P_L3, 0, 0, A_BOLD},                {LVL(AXF_LVL_4), P_L4, A_BOLD, 0, A_BOLD},
    {LVL(AXF_LVL_ZERO), P_NONE, 0, A_DIM, A_NORMAL},     {AT(removed), P_REMOVED, 0, A_DIM, A_NORMAL},
    {AT(hard), P_HARD, A_BOLD, 0, A_BOLD | A_UNDERLINE}, {AT(border), P_BORDER, 0, 0, A_NORMAL},
    {AT(title), P_TITLE, A_BOLD, 0, A_REVERSE},          {AT(dim), P_REMOVED, 0, A_DIM, A_NORMAL},
    {AT(good), P_GOOD, 0, 0, A_NORMAL},                  {AT(bad), P_BAD, 0, 0, A_BOLD},
    {AT(key), P_KEY, A_BOLD, 0, A_BOLD},                 {AT(head), P_HEAD, A_BOLD, 0, A_BOLD},
    {AT(warn), P_WARN, A_BOLD, 0, A_BOLD},               {AT(accent), P_ACCENT, A_BOLD, 0, A_BOLD},
    {AT(plot_a), P_PLOT_A, 0, 0, A_NORMAL},              {AT(plot_b), P_PLOT_B, 0, 0, A_NORMAL},
    {AT(bar), P_BAR, 0, 0, A_NORMAL},
};
#undef LVL
#undef AT

void axf_draw_init(void)
{
    axf_theme *t = &axf_th;
    memset(t, 0, sizeof *t);
    const char *cs = nl_langinfo(CODESET);
    const char *force = getenv("AXF_ASCII");
    t->utf8 = cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8")) && !(force && *force == '1');
    const char *nc = getenv("NO_COLOR");
    t->colors = 0;
    if (has_colors() && !(nc && *nc)) {
        start_color();
        use_default_colors();
        t->colors = COLORS >= 256 ? 256 : COLORS >= 8 ? 8 : 0;
    }
    int c8 = t->colors == 8 ? 2 : 0;
    for (int p = 1; t->colors && p < P_COUNT; p++)
        init_pair((short)p, pairs[p][c8], pairs[p][c8 + 1]);
    for (size_t i = 0; i < sizeof looks / sizeof looks[0]; i++) {
        const struct look *l = &looks[i];
        *(attr_t *)((char *)t + l->at) =
            t->colors ? COLOR_PAIR(l->pair) | l->extra | (t->colors == 8 ? l->extra8 : 0) : l->mono;
    }
    t->cursor = A_REVERSE;
    /* glyphs: UTF-8, or plain ASCII for any other terminal; one table, two columns */
    static const char *const sh[2][AXF_LVL_COUNT] = {{"·", "−", "░", "▒", "▓", "█", "0"},
                                                     {" ", "-", ".", ":", "+", "#", "0"}};
    static const char *const sp[2][10] = {{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"},
                                          {"|", "/", "-", "\\"}};
    static const char *const gl[][2] = {
        {"×", "x"}, {"◦", "~"}, {"✓", "+"}, {"✗", "-"}, {"↶", "<"}, {"!", "!"}, {"›", ">"}, {"·", "*"},
        {"◆", "*"}, {"▶", ">"}, {"⏸", "="}, {"→", "->"}, {"▲", "^"}, {"▼", "v"}, {"◀", "<"}, {"█", "#"},
        {"░", "."}};
    const char **dst[] = {&t->g_removed, &t->g_partial, &t->g_kept, &t->g_rejected, &t->g_undo, &t->g_error,
                          &t->g_lua, &t->g_info, &t->g_policy, &t->g_run, &t->g_pause, &t->g_arrow, &t->g_up,
                          &t->g_down, &t->g_cursor_step, &t->g_bar_full, &t->g_bar_empty};
    int k = t->utf8 ? 0 : 1;
    memcpy(t->shade, sh[k], sizeof sh[k]);
    memcpy(t->spinner, sp[k], sizeof sp[k]);
    t->n_spinner = t->utf8 ? 10 : 4;
    for (size_t i = 0; i < sizeof dst / sizeof dst[0]; i++)
        *dst[i] = gl[i][k];
}

/* Next character of s: its byte length and screen columns (bad bytes: 1 and 1, drawn as '?'). */
static int next_char(const char *s, int *cols, int *bad)
{
    unsigned char c = (unsigned char)*s;
    *bad = 0;
    if (c < 0x20 || c == 0x7f) {
        *cols = 1;
        *bad = 1;
        return 1;
    }
    if (c < 0x80) {
        *cols = 1;
        return 1;
    }
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t wc;
    size_t n = mbrtowc(&wc, s, strnlen(s, 4), &st);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0 || !axf_th.utf8) {
        /* without UTF-8 a whole multibyte sequence is one '?' */
        int len = 1;
        while (s[len] && ((unsigned char)s[len] & 0xC0) == 0x80 && len < 4)
            len++;
        *cols = 1;
        *bad = 1;
        return len;
    }
    int w = wcwidth(wc);
    if (w < 0) {
        w = 1;
        *bad = 1;
    }
    *cols = w;
    return (int)n;
}

int axf_text_cols(const char *s)
{
    int total = 0;
    while (*s) {
        int cols, bad;
        s += next_char(s, &cols, &bad);
        total += cols;
    }
    return total;
}

int axf_put(WINDOW *w, int y, int x, int maxw, attr_t a, const char *s)
{
    if (maxw <= 0 || !s)
        return 0;
    int full = axf_text_cols(s);
    int limit = full > maxw ? maxw - 1 : maxw; /* room for the ellipsis */
    wattron(w, a);
    wmove(w, y, x);
    int used = 0;
    while (*s) {
        int cols, bad;
        int n = next_char(s, &cols, &bad);
        if (used + cols > limit)
            break;
        if (bad)
            waddch(w, '?');
        else
            waddnstr(w, s, n);
        s += n;
        used += cols;
    }
    if (full > maxw) {
        waddstr(w, axf_th.utf8 ? "…" : "~");
        used++;
    }
    wattroff(w, a);
    return used;
}

int axf_putf(WINDOW *w, int y, int x, int maxw, attr_t a, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return axf_put(w, y, x, maxw, a, buf);
}

int axf_put_right(WINDOW *w, int y, int x, int cols, attr_t a, const char *s)
{
    int c = axf_text_cols(s);
    if (c > cols)
        return axf_put(w, y, x, cols, a, s);
    return axf_put(w, y, x + cols - c, c, a, s);
}

int axf_put_segs(WINDOW *w, int y, int x, int width, int rows, const axf_seg *segs, int n)
{
    int row = 0, col = 0;
    for (int i = 0; i < n;) {
        int j = i + 1, iw = axf_text_cols(segs[i].text); /* the item: segs[i, j) */
        while (j < n && segs[j].glue)
            iw += axf_text_cols(segs[j++].text);
        if (col > 0 && col + 2 + iw > width) {
            row++;
            col = 0;
        } else if (col > 0) {
            col += 2;
        }
        for (int k = i; k < j; k++) {
            int room = width - col;
            if (w && row < rows && room > 0)
                axf_put(w, y + row, x + col, room, segs[k].attr, segs[k].text);
            col += axf_text_cols(segs[k].text);
        }
        i = j;
    }
    return n ? row + 1 : 0;
}

void axf_draw_box(WINDOW *w, const char *title, const char *rtitle, int focused)
{
    int h, wd;
    getmaxyx(w, h, wd);
    (void)h;
    attr_t b = focused ? axf_th.accent : axf_th.border;
    wattron(w, b);
    box(w, 0, 0);
    wattroff(w, b);
    if (title && *title) {
        char t[256];
        snprintf(t, sizeof t, " %s ", title);
        axf_put(w, 0, 2, wd - 4, focused ? axf_th.accent : axf_th.head, t);
    }
    if (rtitle && *rtitle) {
        char t[256];
        snprintf(t, sizeof t, " %s ", rtitle);
        int c = axf_text_cols(t);
        int tl = title ? axf_text_cols(title) + 4 : 2;
        if (wd - 2 - c > tl)
            axf_put(w, 0, wd - 2 - c, c, axf_th.dim, t);
    }
}

void axf_fmt_count(char *buf, size_t n, double v)
{
    double a = v < 0 ? -v : v;
    if (a >= 1e9)
        snprintf(buf, n, "%.2fG", v / 1e9);
    else if (a >= 1e6)
        snprintf(buf, n, "%.2fM", v / 1e6);
    else if (a >= 1e4)
        snprintf(buf, n, "%.1fk", v / 1e3);
    else
        snprintf(buf, n, "%.0f", v);
}

void axf_fmt_bytes(char *buf, size_t n, double v)
{
    if (v >= 1024.0 * 1024 * 1024)
        snprintf(buf, n, "%.2f GB", v / (1024.0 * 1024 * 1024));
    else if (v >= 1024.0 * 1024)
        snprintf(buf, n, "%.1f MB", v / (1024.0 * 1024));
    else if (v >= 1024)
        snprintf(buf, n, "%.0f kB", v / 1024);
    else
        snprintf(buf, n, "%.0f B", v);
}
