/* The error conventions of every command (cli.h). */
#include <stdio.h>

#include "axf/dist.h"
#include "cli.h"

int axf_cli_fail(const char *msg)
{
    axf_dist_note(msg); /* shown by rank 0 when this rank fails alone (dist.h) */
    axf_cli_progress_break();
    fprintf(stderr, "axf: %s\n", msg);
    return 1;
}

int axf_cli_stdout_written(void)
{
    return fflush(stdout) || ferror(stdout) ? axf_cli_fail("stdout: write error") : 0;
}

int axf_cli_usage(const char *cmd, const char *msg)
{
    axf_cli_progress_break();
    fprintf(stderr, "axf %s: %s (see axf %s --help)\n", cmd, msg, cmd);
    return 2;
}
