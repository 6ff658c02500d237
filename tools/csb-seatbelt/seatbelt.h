/* seatbelt.h - csb-seatbelt's execution side (run.c). */
#ifndef CSB_SEATBELT_TOOL_H
#define CSB_SEATBELT_TOOL_H

#include "csb_base.h"
#include "csb_cli.h"

/* Runs argv (CSB_SBPL_SANDBOX_EXEC -p ...) in place of this process, or,
 * with log_denials, as a child while `log stream` collects its denials.
 * Returns an exit status (the command's, or a csb failure). Outside macOS
 * it fails with "needs macOS" (69). */
int sb_run(const csb_cli *cli, const csb_strv *argv, int network_disabled, int log_denials);

/* enforcement `disabled`: exec the command as is. */
int sb_exec_unsandboxed(const csb_cli *cli, char **cmd);

#endif /* CSB_SEATBELT_TOOL_H */
