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
 * path-ancestors, require-all/any/not, vnode-type, and the socket path
 * of (local|remote unix-socket [FILTER]) for network-bind and
 * network-outbound; anything that is not about file paths (extension,
 * sysctl-name, an ip endpoint, ...) never matches a file query. Filters compare paths byte for byte, as Seatbelt does.
 *
 * Volume: on a case-insensitive volume (macOS's default) a path names an
 * existing file whatever its spelling, and the kernel reports (and
 * Seatbelt checks) the file's stored name; a name that does not exist yet
 * is checked as spelled. sbpl_volume_path models that, so the caller
 * decides on the path the kernel would report.
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

/* `s` with every name folded the way a case-insensitive APFS volume
 * compares names (Unicode full case folding after canonical
 * decomposition), for the characters that fold to ASCII: ASCII letters to
 * lower case, U+017F to s, U+212A to k, U+00DF and U+1E9E to ss, the
 * ligatures U+FB00..U+FB06 to ff, fi, fl, ffi, ffl, st, st, and U+037E
 * and U+1FEF to `;` and the grave accent they decompose to. Other bytes
 * are kept. Caller frees. */
char *sbpl_fold(const char *s);

/* A case-insensitive volume where the `n` absolute paths of `existing`
 * exist, each spelled as stored (copied). */
typedef struct sbpl_volume sbpl_volume;
sbpl_volume *sbpl_volume_new(const char *const *existing, size_t n);
void sbpl_volume_free(sbpl_volume *v);

/* The path the kernel reports for the absolute `path` on the volume: the
 * leading components that name an existing file (compared through
 * sbpl_fold) take its stored spelling, the rest, from the first missing
 * component on, keeps the spelling given. Caller frees. */
char *sbpl_volume_path(const sbpl_volume *v, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* CSB_TESTS_SBPL_EVAL_H */
