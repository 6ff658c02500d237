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

#endif /* CSB_SBPL_INTERNAL_H */
