/* Option parsing shared by `axf tui` and `axf demo` (cmd_tui.c). */
#ifndef AXF_CMD_TUI_H
#define AXF_CMD_TUI_H

#include "axf/ui.h"

/* Parses the options common to both commands into o (positional arguments go to pos[0..*npos),
 * at most 2). Returns 0, or the exit status of a usage error (2) already reported for cmd. */
int axf_tui_parse(const char *cmd, int argc, char **argv, axf_ui_opts *o, const char **pos, int *npos);
/* Finds a policy file: as given, else (a bare name) in the scripts folder of the source tree or
 * the installation. Returns a static buffer, or NULL when not found. */
const char *axf_tui_find_script(const char *name);
/* Runs the screen and turns its result into an exit status. */
int axf_tui_main(const char *cmd, const axf_ui_opts *o);

#endif
