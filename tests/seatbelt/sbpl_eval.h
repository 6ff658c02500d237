/* sbpl_eval.h - a reader, checker and interpreter for the subset of SBPL
 * that csb-seatbelt emits. Test-only.
 *
 * Reader: S-expressions with `;` comments, symbols, numbers, "strings"
 * (with \\ and \" escapes) and #"raw strings". Each top-level form
 * remembers the title of the last ";; " comment before it (its section).
 *
 * Checker: balanced forms, `(version 1)` then `(deny default)`, every
 * other form `(allow|deny OPERATION... FILTER...)` with known operations
 * and filters of the right shape, every regex a valid POSIX ERE
 * (regcomp REG_EXTENDED), and every (param "K") defined (and, when a
 * parameter list is given, every parameter used).
 *
 * Interpreter: decides a file operation on a path the way Seatbelt does
 * for the forms we emit: the last rule whose operation and filters match
 * wins; (deny default) otherwise. Filters: literal, subpath, regex,
 * path-ancestors, require-all/any/not, vnode-type; anything that is not
 * about file paths (extension, sysctl-name, ...) never matches a file
 * query.
 */
#ifndef CSB_TESTS_SBPL_EVAL_H
#define CSB_TESTS_SBPL_EVAL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sx sx;

typedef struct sbpl_program sbpl_program;

/* Parses `text`. On failure returns NULL and writes a message into err
 * (errlen bytes). */
sbpl_program *sbpl_parse(const char *text, char *err, size_t errlen);
void sbpl_free(sbpl_program *p);

/* Checks the program; params are "KEY=VALUE" strings (n of them) or NULL
 * to skip the parameter cross-check (undefined references still fail
 * when params is non-NULL). Returns 1 when fine, else 0 with err. */
int sbpl_check(const sbpl_program *p, const char *const *params, size_t nparams, char *err,
               size_t errlen);

/* Number of regex literals seen by the last sbpl_check (for reporting). */
size_t sbpl_regex_count(const sbpl_program *p);
/* Number of top-level rules. */
size_t sbpl_rule_count(const sbpl_program *p);

typedef struct sbpl_decision {
  int allowed;
  int rule;            /* index of the deciding top-level form, -1: default */
  const char *section; /* its section title ("" when none) */
} sbpl_decision;

/* vnode_type: "REGULAR-FILE", "DIRECTORY", ... (what (vnode-type X)
 * compares against). The operation is a concrete one such as
 * "file-read-data" or "file-write-unlink". */
void sbpl_decide(const sbpl_program *p, const char *const *params, size_t nparams,
                 const char *operation, const char *path, const char *vnode_type,
                 sbpl_decision *out);

#ifdef __cplusplus
}
#endif

#endif /* CSB_TESTS_SBPL_EVAL_H */
