/* Panes (htop's Panel): each is a small struct with a const class of functions, drawn from the
 * screen's own copy of the view and never reading the session. The app struct is the state the
 * key actions change (keys.c) and the panes draw (pane_*.c). */
#ifndef AXF_UI_PANE_H
#define AXF_UI_PANE_H

#include <curses.h>

#include "view.h"
#include "worker.h"

typedef struct axf_app axf_app;
typedef struct axf_pane axf_pane;

typedef struct axf_pane_class {
    const char *name;
    void (*draw)(axf_pane *p, axf_app *a);
    /* Keys the pane handles itself (scrolling); returns AXF_KEY_* flags, 0 when not handled. */
    int (*on_key)(axf_pane *p, axf_app *a, int key);
} axf_pane_class;

struct axf_pane {
    const axf_pane_class *cls;
    WINDOW *win;
    int y, x, h, w;      /* placement (layout.c); h = 0: hidden */
    int scroll;          /* pane-specific */
    long mark;           /* pane-specific memo (e.g. the step the scroll belongs to) */
};

enum { AXF_PANE_TITLE = 0, AXF_PANE_HEATMAP, AXF_PANE_METRICS, AXF_PANE_PLOT, AXF_PANE_LOG,
       AXF_PANE_TEACH, AXF_PANE_STATUS, AXF_PANE_COUNT };

extern const axf_pane_class axf_pane_title, axf_pane_heatmap, axf_pane_metrics, axf_pane_plot,
    axf_pane_log, axf_pane_teach, axf_pane_status;

/* Heatmap columns, left to right: the layer itself, each head, the attention block, the FFN
 * block, then (when shown) each FFN neuron group. */
typedef enum { AXF_COL_LAYER = 0, AXF_COL_HEAD, AXF_COL_ATTN, AXF_COL_FFN, AXF_COL_GROUP } axf_col_kind;
typedef struct axf_col {
    axf_col_kind kind;
    int index;           /* head or group */
} axf_col;
#define AXF_MAX_COLS (AXF_MAX_HEADS + AXF_MAX_GROUPS + 3)

/* Bottom pane of the compact layout (Tab cycles). */
enum { AXF_BOTTOM_LOG = 0, AXF_BOTTOM_PLOT, AXF_BOTTOM_TEACH, AXF_BOTTOM_COUNT };

/* Modal line at the bottom. */
typedef enum { AXF_PROMPT_NONE = 0, AXF_PROMPT_LUA, AXF_PROMPT_SAVE, AXF_PROMPT_EXPORT, AXF_PROMPT_QUIT,
               AXF_PROMPT_GOTO,
               AXF_PROMPT_OVERWRITE, /* the export folder (pbuf) exists: y overwrites, anything else keeps it */
               AXF_PROMPT_DROP_TAIL  /* a change (confirm.cmd) would drop the redo steps ahead: y makes
                                        it, anything else keeps them */
} axf_prompt_kind;

#define AXF_LUA_HIST 64

/* The one minimum size: smaller terminals get a message asking for it, not a cut layout. */
#define AXF_MIN_COLS 80
#define AXF_MIN_ROWS 24

enum { AXF_OVERLAY_NONE = 0, AXF_OVERLAY_KEYS, AXF_OVERLAY_GLOSSARY, AXF_OVERLAY_TRADEOFF, AXF_OVERLAY_ATTN };

/* The random-pruning control drawn beside the trade-off plot (--control FILE): a finished session
 * of the same model and search split, as points (parameters kept, task metric), the original
 * model first. Read before the screen starts; its baseline tells whether it is this session's. */
typedef struct axf_control {
    int n;                       /* steps (points 0..n); 0 with file "" = no control */
    double *frac, *metric;       /* [n + 1] parameters kept (fraction), task metric (accuracy) */
    int base_n;                  /* its baseline: examples and loss */
    double base_loss;
    char file[128], policy[64];  /* base name of the file, the policy that made it */
} axf_control;

struct axf_app {
    axf_worker *worker;
    axf_view view;               /* the screen's copy */
    axf_progress_view prog;
    const axf_ui_opts *opts;
    int rows, cols;
    int compact;                 /* stacked layout (narrow or short terminal) */
    int bottom;                  /* compact: AXF_BOTTOM_* */
    int teach;                   /* teaching panel shown */
    int groups_view;             /* groups instead of heads (when both do not fit) */
    int focus;                   /* pane that takes PgUp/PgDn: AXF_PANE_LOG or AXF_PANE_TEACH */
    int groups_inline;           /* groups fit beside the heads */

    /* heatmap cursor: layer and column; columns of the current layout */
    int cur_layer, cur_col;
    axf_col colv[AXF_MAX_COLS];
    int n_cols;
    int measure;                 /* axf_measure */
    /* the hard-attention setting last asked for (+ - t T), until the worker has done command
     * number ticket: further presses adjust it, not the layer's committed setting */
    struct {
        unsigned long ticket;
        axf_action act;
    } hard_req;

    /* the hard-attention view's sentence: search example, query token, and the number of the
     * request posted for them (the view's attn.req says which request it answers) */
    struct {
        int example, query;
        unsigned long req;
    } attn_want;

    /* the change waiting for AXF_PROMPT_DROP_TAIL's answer: the command, the redo steps it drops
     * and the step they follow, what it is (for the question); once agreed to, the command's
     * number (until the worker has done it, further changes do not ask again) */
    struct {
        axf_wcmd cmd;
        int tail, cursor;
        char what[96];
        unsigned long ticket;
    } confirm;

    int help;                    /* overlay shown: AXF_OVERLAY_* (0 none) */
    int help_scroll;
    axf_prompt_kind prompt;
    char pbuf[1024];
    int plen, ppos;
    char lua_hist[AXF_LUA_HIST][256];
    int n_lua_hist, lua_hist_pos;

    char msg[256];               /* local message (key feedback) */
    int msg_error;
    double msg_time;
    unsigned long seen_msg_seq;

    int quit;
    unsigned frame;              /* for the spinner */
    axf_control control;
    axf_pane panes[AXF_PANE_COUNT];
};

/* Key results: what to redraw / do. */
enum { AXF_KEY_HANDLED = 1, AXF_KEY_LAYOUT = 2, AXF_KEY_QUIT = 4 };

/* keys.c */
#define AXF_KEY_WAIT_MS 50   /* input timeout of the main loop (one frame) */
#define AXF_KEY_BUSY_MS 5    /* ... while a command posted is not done yet */
#define AXF_SEQ_WAIT_MS 40   /* wait for the next byte of an escape sequence */
#define AXF_KEY_NONE (-2)    /* a sequence that was read and dropped */
/* One key: ncurses' keypad decoding, then escape sequences it left undecoded parsed here (Home,
 * End, arrows, PgUp/PgDn, Delete are mapped; every other CSI or SS3 sequence is dropped whole,
 * never read as Esc followed by its bytes; Esc + any other key is Esc, then that key). ERR on
 * timeout. */
int axf_keys_read(WINDOW *w);
int axf_keys_dispatch(axf_app *a, int key);
/* Lines of the help screen (NULL-terminated pairs of key, text). */
void axf_keys_help(const char ***rows, int *n);
/* Short key list for the status bar at `cols` columns (pairs of key, label). */
int axf_keys_status(const char *const **pairs, int cols);
/* The answer to AXF_PROMPT_DROP_TAIL: yes posts the change waiting in a->confirm, no keeps the
 * redo steps (and says so). */
void axf_keys_confirm(axf_app *a, int yes);

/* app.c */
void axf_app_message(axf_app *a, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void axf_app_layout(axf_app *a);
/* A policy runs (a) or is inside a step (s): Esc and quitting pause it or let it finish the step. */
int axf_app_policy_busy(const axf_app *a);
/* heatmap columns for the current view and width (pane_heatmap.c) */
void axf_heatmap_columns(axf_app *a);
/* The element under the cursor as a removal action (and whether it is removed now): 0 ok,
 * -1 when the cell holds nothing. */
int axf_heatmap_selected(const axf_app *a, axf_action *drop, int *removed, char *name, size_t n);
/* Width the heatmap's cells need for the current view; the width its legend and details need to
 * fit on one row each; the height it needs at a pane width (spacious: a blank row between layers). */
int axf_heatmap_width(const axf_app *a, int with_groups);
int axf_heatmap_text_width(const axf_app *a);
int axf_heatmap_height(const axf_app *a, int spacious, int width);

/* pane_log.c: PgUp / PgDn of a scrolled pane: PgUp adds `up` to its scroll, PgDn takes it away
 * (never below 0); 0 for any other key. */
int axf_pane_scroll_key(axf_pane *p, int key, int up);
/* pane_attn.c: the hard-attention view (key v), over the whole screen: drawing, asking the worker
 * for the row it shows, and its keys while it is open (, . example, j k query token, arrows the
 * heatmap's layer and head, PgUp PgDn scroll, v Esc q close). */
void axf_attn_draw(axf_app *a);
void axf_attn_request(axf_app *a);
int axf_attn_key(axf_app *a, int key);
/* pane_plot.c: the trade-off overlay (key o), over the whole screen. */
void axf_plot_tradeoff(axf_app *a);
/* teach.c: the glossary (key n): the words the screen uses, as paragraphs with '#' headings. */
extern const char axf_glossary[];
/* teach.c: plain-words explanation of the step at the cursor, as paragraphs separated by "\n". */
void axf_teach_text(const axf_view *v, char *buf, size_t n);

/* Wraps text into width columns and draws wrapped lines [first, first + rows) at y (w NULL or rows 0:
 * only counts); returns the total number of wrapped lines. indent: columns of hanging indent for
 * continuation lines. markup: interpret the teach.c paragraph marks ('#', '+', '-'). */
int axf_draw_wrapped(WINDOW *w, int y, int x, int width, int rows, int first, attr_t attr, int indent,
                     int markup, const char *text);

#endif
