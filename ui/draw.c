/* Colours, glyphs and clipped text output for every pane. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "draw.h"

#include <langinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

axf_theme axf_th;

enum {
    P_HELPS = 1, P_L1, P_L2, P_L3, P_L4, P_REMOVED, P_HARD, P_BORDER, P_TITLE, P_GOOD, P_BAD, P_KEY,
    P_HEAD, P_WARN, P_ACCENT, P_PLOT_A, P_PLOT_B, P_BAR, P_NONE
};

static void pair(int p, int fg, int bg)
{
    init_pair((short)p, (short)fg, (short)bg);
}

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
    if (t->colors == 256) {
        pair(P_HELPS, 41, -1);
        pair(P_L1, 33, -1);
        pair(P_L2, 44, -1);
        pair(P_L3, 214, -1);
        pair(P_L4, 196, -1);
        pair(P_REMOVED, 244, -1);
        pair(P_HARD, 177, -1);
        pair(P_BORDER, 244, -1);
        pair(P_TITLE, 231, 24);
        pair(P_GOOD, 41, -1);
        pair(P_BAD, 203, -1);
        pair(P_KEY, 117, -1);
        pair(P_HEAD, 250, -1);
        pair(P_WARN, 220, -1);
        pair(P_ACCENT, 75, -1);
        pair(P_PLOT_A, 81, -1);
        pair(P_PLOT_B, 215, -1);
        pair(P_BAR, 75, -1);
        pair(P_NONE, 240, -1);
    } else if (t->colors == 8) {
        pair(P_HELPS, COLOR_GREEN, -1);
        pair(P_L1, COLOR_BLUE, -1);
        pair(P_L2, COLOR_CYAN, -1);
        pair(P_L3, COLOR_YELLOW, -1);
        pair(P_L4, COLOR_RED, -1);
        pair(P_REMOVED, -1, -1);
        pair(P_HARD, COLOR_MAGENTA, -1);
        pair(P_BORDER, -1, -1);
        pair(P_TITLE, COLOR_WHITE, COLOR_BLUE);
        pair(P_GOOD, COLOR_GREEN, -1);
        pair(P_BAD, COLOR_RED, -1);
        pair(P_KEY, COLOR_CYAN, -1);
        pair(P_HEAD, -1, -1);
        pair(P_WARN, COLOR_YELLOW, -1);
        pair(P_ACCENT, COLOR_CYAN, -1);
        pair(P_PLOT_A, COLOR_CYAN, -1);
        pair(P_PLOT_B, COLOR_YELLOW, -1);
        pair(P_BAR, COLOR_CYAN, -1);
        pair(P_NONE, -1, -1);
    }
    if (t->colors) {
        t->lvl[AXF_LVL_NONE] = COLOR_PAIR(P_NONE) | (t->colors == 8 ? A_DIM : 0);
        t->lvl[AXF_LVL_HELPS] = COLOR_PAIR(P_HELPS) | A_BOLD;
        t->lvl[AXF_LVL_1] = COLOR_PAIR(P_L1) | (t->colors == 8 ? A_BOLD : 0);
        t->lvl[AXF_LVL_2] = COLOR_PAIR(P_L2);
        t->lvl[AXF_LVL_3] = COLOR_PAIR(P_L3);
        t->lvl[AXF_LVL_4] = COLOR_PAIR(P_L4) | A_BOLD;
        t->lvl[AXF_LVL_ZERO] = COLOR_PAIR(P_NONE) | (t->colors == 8 ? A_DIM : 0);
        t->removed = COLOR_PAIR(P_REMOVED) | (t->colors == 8 ? A_DIM : 0);
        t->hard = COLOR_PAIR(P_HARD) | A_BOLD;
        t->border = COLOR_PAIR(P_BORDER);
        t->title = COLOR_PAIR(P_TITLE) | A_BOLD;
        t->dim = COLOR_PAIR(P_REMOVED) | (t->colors == 8 ? A_DIM : 0);
        t->good = COLOR_PAIR(P_GOOD);
        t->bad = COLOR_PAIR(P_BAD);
        t->key = COLOR_PAIR(P_KEY) | A_BOLD;
        t->head = COLOR_PAIR(P_HEAD) | A_BOLD;
        t->warn = COLOR_PAIR(P_WARN) | A_BOLD;
        t->accent = COLOR_PAIR(P_ACCENT) | A_BOLD;
        t->plot_a = COLOR_PAIR(P_PLOT_A);
        t->plot_b = COLOR_PAIR(P_PLOT_B);
        t->bar = COLOR_PAIR(P_BAR);
    } else {
        t->lvl[AXF_LVL_NONE] = A_NORMAL;
        t->lvl[AXF_LVL_HELPS] = A_UNDERLINE;
        t->lvl[AXF_LVL_1] = A_NORMAL;
        t->lvl[AXF_LVL_2] = A_NORMAL;
        t->lvl[AXF_LVL_3] = A_BOLD;
        t->lvl[AXF_LVL_4] = A_BOLD;
        t->lvl[AXF_LVL_ZERO] = A_NORMAL;
        t->removed = A_NORMAL;
        t->hard = A_BOLD | A_UNDERLINE;
        t->border = A_NORMAL;
        t->title = A_REVERSE;
        t->dim = A_NORMAL;
        t->good = A_NORMAL;
        t->bad = A_BOLD;
        t->key = A_BOLD;
        t->head = A_BOLD;
        t->warn = A_BOLD;
        t->accent = A_BOLD;
        t->plot_a = A_NORMAL;
        t->plot_b = A_NORMAL;
        t->bar = A_NORMAL;
    }
    t->cursor = A_REVERSE;
    if (t->utf8) {
        static const char *sh[] = {"·", "−", "░", "▒", "▓", "█", "0"};
        static const char *sp[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
        memcpy(t->shade, sh, sizeof sh);
        memcpy(t->spinner, sp, sizeof sp);
        t->n_spinner = 10;
        t->g_removed = "×";
        t->g_partial = "◦";
        t->g_kept = "✓";
        t->g_rejected = "✗";
        t->g_undo = "↶";
        t->g_error = "!";
        t->g_lua = "›";
        t->g_info = "·";
        t->g_policy = "◆";
        t->g_run = "▶";
        t->g_pause = "⏸";
        t->g_arrow = "→";
        t->g_up = "▲";
        t->g_down = "▼";
        t->g_cursor_step = "◀";
        t->g_bar_full = "█";
        t->g_bar_empty = "░";
    } else {
        static const char *sh[] = {" ", "-", ".", ":", "+", "#", "0"};
        static const char *sp[] = {"|", "/", "-", "\\"};
        memcpy(t->shade, sh, sizeof sh);
        memcpy(t->spinner, sp, sizeof sp);
        t->n_spinner = 4;
        t->g_removed = "x";
        t->g_partial = "~";
        t->g_kept = "+";
        t->g_rejected = "-";
        t->g_undo = "<";
        t->g_error = "!";
        t->g_lua = ">";
        t->g_info = "*";
        t->g_policy = "*";
        t->g_run = ">";
        t->g_pause = "=";
        t->g_arrow = "->";
        t->g_up = "^";
        t->g_down = "v";
        t->g_cursor_step = "<";
        t->g_bar_full = "#";
        t->g_bar_empty = ".";
    }
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
