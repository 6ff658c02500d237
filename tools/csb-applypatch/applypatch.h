/* applypatch.h - csb-applypatch's tool function (main.c), behind the
 * process entry (entry.c) and the Wine suite's batch driver. */
#ifndef CSB_APPLYPATCH_H
#define CSB_APPLYPATCH_H

/* The whole tool: argv as UTF-8, argv[0] choosing the mode (csb, or
 * upstream's apply_patch / applypatch). */
int ap_main(int argc, char **argv);

#endif
