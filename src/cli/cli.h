/* The `axf` program: the sub-command entry points, the option table every command parses its
 * arguments with (opt.c), the one progress printer (progress.c) and the error conventions.
 * Exit status of every command: 0 ok, 1 bad input (one line naming the file), 2 usage. */
#ifndef AXF_CLI_H
#define AXF_CLI_H

#include <stdint.h>
#include <stdio.h>

typedef int (*axf_cmd_fn)(int argc, char **argv);

/* One per src/cli/cmd_*.c. */
int axf_cmd_predict(int argc, char **argv);
int axf_cmd_eval(int argc, char **argv);
int axf_cmd_pretrain(int argc, char **argv);
int axf_cmd_finetune(int argc, char **argv);
int axf_cmd_distill(int argc, char **argv);
int axf_cmd_demo_model(int argc, char **argv);
int axf_cmd_search(int argc, char **argv);
int axf_cmd_replay(int argc, char **argv);
int axf_cmd_export(int argc, char **argv);
int axf_cmd_export_onnx(int argc, char **argv);
int axf_cmd_importance(int argc, char **argv);
int axf_cmd_tui(int argc, char **argv);
int axf_cmd_demo(int argc, char **argv);
int axf_cmd_report(int argc, char **argv);
int axf_cmd_bench(int argc, char **argv);

/* ---- errors (cliutil.c) ---------------------------------------------------------------------- */

/* Prints "axf: <msg>" to stderr (on a line of its own) and returns 1. */
int axf_cli_fail(const char *msg);
/* Prints a usage error "axf CMD: <msg> (see axf CMD --help)" and returns 2. */
int axf_cli_usage(const char *cmd, const char *msg);
/* After a command's output to stdout: flushes it; 0, or 1 after "axf: stdout: write error" (a full
 * disk, a closed pipe). */
int axf_cli_stdout_written(void);

/* ---- the option table (opt.c) ---------------------------------------------------------------- *
 * A command declares its options as one table of axf_opt (the AXF_OPT_* initialisers below), each
 * with where its value goes, the range or names it accepts and its line of --help, and hands it to
 * axf_opt_parse, which parses argv, checks every value and prints --help from the same table. A
 * table may include another (AXF_OPT_TABLE: the training options three commands share). */
typedef enum {
    AXF_OPTK_END = 0, /* ends a table */
    AXF_OPTK_HEAD,    /* no option: a heading line of --help */
    AXF_OPTK_FLAG,    /* *(int *) = 1 */
    AXF_OPTK_STR,     /* *(const char **) = the value */
    AXF_OPTK_LIST,    /* repeatable: ((const char **))[(*count)++] = the value, at most max */
    AXF_OPTK_INT,     /* int in [lo, hi] */
    AXF_OPTK_LONG,    /* long in [lo, hi] */
    AXF_OPTK_U64,     /* uint64_t, any */
    AXF_OPTK_FLOAT,   /* float in [lo, hi] */
    AXF_OPTK_DOUBLE,  /* double in [lo, hi] */
    AXF_OPTK_CHOICE,  /* *(int *) = index of the value in choices */
    AXF_OPTK_FN,      /* fn checks and stores the value */
    AXF_OPTK_REFUSE,  /* refused, help is the reason (an option of another command) */
    AXF_OPTK_TABLE,   /* target is another table, parsed and listed in its place */
} axf_opt_kind;

typedef struct axf_opt {
    axf_opt_kind kind;
    const char *name;           /* "--threads" */
    void *target;               /* where the value goes (type by kind) */
    const char *arg;            /* the value's name in --help ("N", "FILE"); NULL for a flag */
    const char *help;           /* its --help text: '\n' continues on the next line, "{}" stands for
                                   the target's value before parsing (the default); NULL: not listed */
    double lo, hi;              /* numbers: the accepted range */
    const char *want;           /* errors say "NAME needs WANT, not 'VALUE'"; NULL: from kind and range */
    const char *const *choices; /* CHOICE: the accepted values, NULL-terminated */
    int *count, max;            /* LIST */
    /* FN: 0 stored, -1 a bad value (the WANT error), else an exit status already reported */
    int (*fn)(const char *cmd, const char *value, void *target);
} axf_opt;

/* The target's type is checked by the compiler (a mismatch warns: pointer type mismatch). */
#define AXF_OPT_T_(type, p) (1 ? (p) : (type *)0)
#define AXF_OPT_HEAD(text) {.kind = AXF_OPTK_HEAD, .help = (text)}
#define AXF_OPT_FLAG(n, p, h) {.kind = AXF_OPTK_FLAG, .name = (n), .target = AXF_OPT_T_(int, p), .help = (h)}
#define AXF_OPT_STR(n, p, a, h)                                                                                       \
    {.kind = AXF_OPTK_STR, .name = (n), .target = AXF_OPT_T_(const char *, p), .arg = (a), .help = (h)}
#define AXF_OPT_LIST(n, arr, cnt, mx, a, h)                                                                          \
    {.kind = AXF_OPTK_LIST, .name = (n), .target = AXF_OPT_T_(const char *, arr), .count = (cnt), .max = (mx),         \
     .arg = (a), .help = (h)}
#define AXF_OPT_INT(n, p, l, u, a, h)                                                                                 \
    {.kind = AXF_OPTK_INT, .name = (n), .target = AXF_OPT_T_(int, p), .lo = (l), .hi = (u), .arg = (a), .help = (h)}
#define AXF_OPT_LONG(n, p, l, u, a, h)                                                                                \
    {.kind = AXF_OPTK_LONG, .name = (n), .target = AXF_OPT_T_(long, p), .lo = (l), .hi = (u), .arg = (a), .help = (h)}
#define AXF_OPT_U64(n, p, a, h)                                                                                       \
    {.kind = AXF_OPTK_U64, .name = (n), .target = AXF_OPT_T_(uint64_t, p), .arg = (a), .help = (h)}
#define AXF_OPT_FLOAT(n, p, l, u, a, h)                                                                               \
    {.kind = AXF_OPTK_FLOAT, .name = (n), .target = AXF_OPT_T_(float, p), .lo = (l), .hi = (u), .arg = (a), .help = (h)}
#define AXF_OPT_DOUBLE(n, p, l, u, a, h)                                                                              \
    {.kind = AXF_OPTK_DOUBLE, .name = (n), .target = AXF_OPT_T_(double, p), .lo = (l), .hi = (u), .arg = (a),         \
     .help = (h)}
#define AXF_OPT_CHOICE(n, p, ch, a, h)                                                                                \
    {.kind = AXF_OPTK_CHOICE, .name = (n), .target = AXF_OPT_T_(int, p), .choices = (ch), .arg = (a), .help = (h)}
#define AXF_OPT_FN(n, f, p, w, a, h)                                                                                  \
    {.kind = AXF_OPTK_FN, .name = (n), .fn = (f), .target = (p), .want = (w), .arg = (a), .help = (h)}
#define AXF_OPT_REFUSE(n, why) {.kind = AXF_OPTK_REFUSE, .name = (n), .help = (why)}
#define AXF_OPT_TABLE(t) {.kind = AXF_OPTK_TABLE, .target = (t)}
#define AXF_OPT_END {.kind = AXF_OPTK_END}

/* A command's arguments besides its table: what --help prints around the table, and its
 * positional arguments. */
typedef struct axf_cmd_args {
    const char *cmd;     /* "finetune": errors say "axf finetune: ..." */
    const char *usage;   /* --help: printed before the options (synopsis, what it does) */
    const char *footer;  /* --help: printed after the options; NULL: nothing */
    const char **pos;    /* positional arguments, in order ... */
    int max_pos;         /* ... at most this many (0: none) */
    int n_pos;           /* out: how many were given */
} axf_cmd_args;

/* Parses argv[1..argc) (argv[0] is the command's name) by the table opts. Returns 1 when the
 * command goes on, 0 when it must return *status: --help or -h anywhere printed the help to stdout
 * (status 0), or a usage error naming the option and the value was printed (status 2). */
int axf_opt_parse(axf_cmd_args *a, const axf_opt *opts, int argc, char **argv, int *status);
/* The help text (usage, the options, footer) on f. */
void axf_opt_help(const axf_cmd_args *a, const axf_opt *opts, FILE *f);

/* ---- progress (progress.c) ------------------------------------------------------------------- *
 * The one progress printer of every command, on stderr: on a terminal a line redrawn in place, at
 * most every tty_every seconds; otherwise plain lines, at most every plain_every seconds (0: none). */
typedef struct axf_cli_progress {
    const char *label;
    double start, last, every;
    int tty, live;  /* stderr is a terminal; a redrawn line is on it */
    char bar[32];
} axf_cli_progress;

void axf_cli_progress_init(axf_cli_progress *p, const char *label, double tty_every, double plain_every);
/* Whether a line is due now; a final one always is (where lines are shown at all). */
int axf_cli_progress_due(axf_cli_progress *p, int final);
/* Shows a line: redrawn in place on a terminal (kept there, and the next one below it, when keep),
 * a plain line otherwise. */
void axf_cli_progress_print(axf_cli_progress *p, int keep, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A bar of 30 cells filled to frac, in p (valid until the next call). */
const char *axf_cli_progress_bar(axf_cli_progress *p, double frac);
/* Erases a redrawn line (before other output goes to the terminal). */
void axf_cli_progress_clear(axf_cli_progress *p);
/* Ends a redrawn line with a newline. */
void axf_cli_progress_end(axf_cli_progress *p);
/* Ends whichever printer's line is being redrawn (axf_cli_fail and axf_cli_usage do: an error
 * starts a line of its own). */
void axf_cli_progress_break(void);
/* axf_progress_fn (never cancels): "LABEL [####....]  42.0%  12s elapsed, ~17s left" on a
 * terminal, "LABEL: 42.0% (12s elapsed, ~17s left)" otherwise. */
int axf_cli_progress_cb(double done, double total, void *ud);
/* "1h02m", "3m05s", "42s" */
void axf_cli_duration(double s, char *buf, int n);

/* ---- ONNX (cmd_export_onnx.c), shared with cmd_export.c --------------------------------------- */
struct axf_model;
struct axf_plan;
struct axf_onnx_opts;
/* Writes, prints what was written and who reads it; returns the exit status. */
int axf_cli_onnx_write(const struct axf_model *m, const struct axf_plan *plan, const char *file,
                       const struct axf_onnx_opts *o);
/* The options --external-data and --opset N of export and export-onnx: a table into o. */
void axf_cli_onnx_table(struct axf_onnx_opts *o, axf_opt t[3]);

#endif
