/* Option parsing shared by `axf tui` and `axf demo` (cmd_tui.c). */
#ifndef AXF_CMD_TUI_H
#define AXF_CMD_TUI_H

#include "axf/ui.h"

/* Parses the options of both commands into o (positional arguments go to pos[0..*npos), at most
 * 2); --help prints usage and the options. Returns 1 when the command goes on, else 0 and
 * *status (axf_opt_parse). */
int axf_tui_parse(const char *cmd, const char *usage, int argc, char **argv, axf_ui_opts *o, const char **pos,
                  int *npos, int *status);
/* Finds a policy file: as given, else (a bare name) in the scripts folder of the source tree or
 * the installation. Returns a static buffer, or NULL when not found. */
const char *axf_tui_find_script(const char *name);
/* Runs the screen and turns its result into an exit status. */
int axf_tui_main(const char *cmd, const axf_ui_opts *o);

#endif
