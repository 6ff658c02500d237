/* entry.c - the process entry of csb-resolve (UTF-8 arguments on every
 * host, see csb_os_init). */
#include "csb_base.h"
#include "resolve.h"

int main(int argc, char **argv) {
  csb_os_init(&argc, &argv);
  return rs_main(argc, argv);
}
