/* Sub-command entry points of the `axf` program. Each lives in its own src/cli/cmd_*.c (or ui/)
 * and returns the process exit status: 0 ok, 1 bad input, 2 usage. A command whose module is not
 * linked is simply absent from `axf --help`. */
#ifndef AXF_CLI_H
#define AXF_CLI_H

#define AXF_WEAK __attribute__((weak))

typedef int (*axf_cmd_fn)(int argc, char **argv);

int axf_cmd_predict(int argc, char **argv) AXF_WEAK;
int axf_cmd_eval(int argc, char **argv) AXF_WEAK;
int axf_cmd_pretrain(int argc, char **argv) AXF_WEAK;
int axf_cmd_finetune(int argc, char **argv) AXF_WEAK;
int axf_cmd_distill(int argc, char **argv) AXF_WEAK;
int axf_cmd_demo_model(int argc, char **argv) AXF_WEAK;
int axf_cmd_search(int argc, char **argv) AXF_WEAK;
int axf_cmd_replay(int argc, char **argv) AXF_WEAK;
int axf_cmd_export(int argc, char **argv) AXF_WEAK;
int axf_cmd_export_onnx(int argc, char **argv) AXF_WEAK;
int axf_cmd_importance(int argc, char **argv) AXF_WEAK;
int axf_cmd_tui(int argc, char **argv) AXF_WEAK;
int axf_cmd_demo(int argc, char **argv) AXF_WEAK;
int axf_cmd_report(int argc, char **argv) AXF_WEAK;
int axf_cmd_bench(int argc, char **argv) AXF_WEAK;

/* The ONNX writer as export and export-onnx call it (src/cli/cmd_export_onnx.c): writes, prints
 * what was written and who reads it; returns the exit status. */
struct axf_model;
struct axf_plan;
struct axf_onnx_opts;
int axf_cli_onnx_write(const struct axf_model *m, const struct axf_plan *plan, const char *file,
                       const struct axf_onnx_opts *o);
/* --external-data and --opset N at argv[*i]: 1 taken, 0 not one of them, -1 bad value (usage
 * already printed). */
int axf_cli_onnx_opt(const char *cmd, int argc, char **argv, int *i, struct axf_onnx_opts *o);

/* Shared helpers for commands (src/cli/cliutil.c). */
/* Prints "axf: <msg>" to stderr and returns 1. */
int axf_cli_fail(const char *msg);
/* Prints a usage error "axf CMD: <msg> (see axf CMD --help)" and returns 2. */
int axf_cli_usage(const char *cmd, const char *msg);
/* True when argv has -h or --help. */
int axf_cli_wants_help(int argc, char **argv);
/* Parses a positive int option value; returns 0 on success. */
int axf_cli_int(const char *s, int lo, int hi, int *out);
/* Process CPU time in seconds (all threads): the timing other jobs on the machine do not change. */
double axf_cli_cpu_now(void);
/* Median of v[0..n) (n >= 1); sorts v. */
double axf_cli_median(double *v, int n);
/* Progress line on stderr: a bar on a terminal, plain lines otherwise (throttled). */
typedef struct axf_cli_progress {
    const char *label;
    double start, last;
    int tty;
} axf_cli_progress;
void axf_cli_progress_init(axf_cli_progress *p, const char *label);
int axf_cli_progress_cb(double done, double total, void *ud); /* axf_progress_fn, never cancels */
void axf_cli_progress_end(axf_cli_progress *p);

#endif
