/* sbpl_internal.h - shared between the libs/sbpl sources; not public. */
#ifndef CSB_SBPL_INTERNAL_H
#define CSB_SBPL_INTERNAL_H

#include "csb_sbpl.h"

/* Fixed profile sections (assets.c), each a run of '\n'-terminated lines
 * starting with a ";; " title. */
extern const char csb_sbpl_base_section[];
extern const char csb_sbpl_preferences_section[];
extern const char csb_sbpl_network_services_section[];
extern const char csb_sbpl_platform_section[];

/* Where a ".." after the directory `dir` leads as the kernel takes it:
 * the parent of dir's real path (dir itself, de-aliased, when it does not
 * exist), "/" at the top. Takes ownership of dir; caller frees. */
char *csb_sbpl_real_parent(const csb_sbpl_host *h, char *dir);

#endif /* CSB_SBPL_INTERNAL_H */
