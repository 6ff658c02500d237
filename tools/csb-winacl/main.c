/* csb-winacl - placeholder until the tool is implemented.
 *
 * Answers --help and --version like every csb tool; any other invocation
 * reports "not implemented" with exit status 69 (CSB_EXIT_UNAVAILABLE). */
#include <string.h>

#include "csb_cli.h"

static const csb_cli_opt kOpts[] = {
    {NULL, 0, CSB_ARG_NONE, 0, NULL, NULL},
};

int main(int argc, char **argv) {
  csb_cli cli;
  csb_cli_init(&cli, "csb-winacl", "csb-winacl [OPTIONS]",
               "Not implemented yet in this build of csb.", kOpts, argc, argv);
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
        strcmp(argv[i], "--version") == 0) {
      const char *arg;
      int r;
      while ((r = csb_cli_next(&cli, &arg)) != CSB_CLI_STOP && r != CSB_CLI_END) {
      }
      if (r == CSB_CLI_STOP) return cli.exit_code;
      break;
    }
  }
  return csb_cli_error(&cli, CSB_EXIT_UNAVAILABLE, "not implemented yet");
}
