/* entry.c - the process entry of csb-applypatch (UTF-8 arguments and
 * binary standard streams on every host, see csb_os_init). */
#include "applypatch.h"
#include "csb_base.h"

int main(int argc, char **argv) {
  csb_os_init(&argc, &argv);
  return ap_main(argc, argv);
}
