/* csb_json.h - strict JSON parsing, deterministic printing and typed access,
 * as thin helpers over cJSON.
 *
 * Parsing (csb_json_parse) is strict RFC 8259 and does not use cJSON's own
 * parser: a tokenizer that tracks line:col validates the text and builds the
 * cJSON tree through cJSON's create/add API. On top of the RFC it refuses
 *
 *   - anything but whitespace after the single top-level value,
 *   - duplicate object keys (at any depth),
 *   - invalid UTF-8 (overlong forms, encoded surrogates, code points above
 *     U+10FFFF, truncated or stray continuation bytes) and lone surrogates in
 *     \u escapes,
 *   - NUL bytes anywhere, and \u0000 in strings (cJSON strings are C strings),
 *   - a byte order mark,
 *   - nesting deeper than a limit (CSB_JSON_MAX_DEPTH by default) and inputs
 *     larger than a limit (CSB_JSON_MAX_INPUT by default),
 *   - numbers JSON does not allow (leading zeros, '+', ".5", "1.", NaN,
 *     Infinity) and numbers that overflow a double (1e400).
 *
 * Numbers are stored as cJSON stores them: a double. Integers up to 2^53 in
 * magnitude are therefore exact; a larger integer literal is accepted but is
 * rounded to the nearest double (csb_json_get_int refuses such values, and
 * csb_json_print prints them in exponent form, e.g. 1e20). Lines and columns
 * are 1-based; columns count bytes; only '\n' starts a new line.
 *
 * Errors follow csb_base.h. Parse errors are formatted "LINE:COL: message"
 * with err->line/err->col set (0 when there is no position, e.g. for an input
 * over the size limit). The first error in document order is reported.
 *
 * Typed getters report errors that start with a JSON pointer (RFC 6901),
 * relative to the object they were given, in backticks:
 *
 *     `/net/allow`: expected array, got string
 *
 * A caller that decodes nested objects in separate functions can make the
 * pointer absolute on the way out with csb_json_error_push_key/_index.
 *
 * cJSON nodes are allocated with cJSON's allocator (release trees with
 * cJSON_Delete, strings from csb_json_print_str with free()). Like the
 * csb_x* allocators, every function here that allocates terminates the
 * process with exit status 70 when memory runs out.
 */
#ifndef CSB_JSON_H
#define CSB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"
#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- parsing ------------------------------------------------------------ */

/* Default limits: arrays/objects nested more than this many levels deep are
 * refused (a top-level array is level 1), as are inputs over this size. */
#define CSB_JSON_MAX_DEPTH 64
#define CSB_JSON_MAX_INPUT ((size_t)16 * 1024 * 1024)

/* Hard ceiling for csb_json_limits.max_depth: cJSON_Delete (and the
 * printer) recurse once per level, so deeper trees could exhaust the
 * stack. */
#define CSB_JSON_DEPTH_CAP 10000

typedef struct csb_json_limits {
  size_t max_depth; /* 0: CSB_JSON_MAX_DEPTH; at most CSB_JSON_DEPTH_CAP */
  size_t max_len;   /* bytes; 0: CSB_JSON_MAX_INPUT */
} csb_json_limits;

/* Parses exactly `len` bytes of `text` (which need not be NUL-terminated)
 * as one JSON document. On success *out receives the tree (caller owns,
 * cJSON_Delete). On failure *out is set to NULL. */
int csb_json_parse(const char *text, size_t len, cJSON **out, csb_error *err);
/* Same with explicit limits (NULL: defaults). */
int csb_json_parse_limits(const char *text, size_t len,
                          const csb_json_limits *limits, cJSON **out,
                          csb_error *err);

/* ---- printing ----------------------------------------------------------- */

/* Flags for the printers. The default (0) is pretty-printed with 2-space
 * indentation, a trailing newline and object keys sorted bytewise at every
 * level. */
#define CSB_JSON_COMPACT 1u    /* one line, no spaces, no trailing newline */
#define CSB_JSON_KEEP_ORDER 2u /* keep object members in tree order */

/* Appends the JSON text for `v` (NULL prints `null`) to `out`.
 *
 * Output is deterministic: integral numbers up to 2^53 print as integers
 * without a decimal point, other numbers in the shortest form that reads
 * back to the same double ("0.1", "1e-7", "1.5e300"); strings escape only
 * `"`, `\` and control characters (as \n \t \r \b \f, others \u00XX);
 * non-ASCII UTF-8 and '/' pass through. Printing a tree, parsing the output
 * and printing again gives identical bytes.
 *
 * Trees built by hand may hold things JSON cannot say; they print as valid
 * JSON anyway: NaN and infinities as null, invalid UTF-8 bytes in strings
 * and keys as U+FFFD. cJSON_Raw items are copied verbatim (the caller
 * vouches for them). Duplicate keys in hand-built objects are kept (sorting
 * is stable). Recursion depth equals the tree depth. */
void csb_json_print(const cJSON *v, unsigned flags, csb_buf *out);
/* Same into a new heap string (caller frees with free(); never NULL). */
char *csb_json_print_str(const cJSON *v, unsigned flags);

/* Appends one compact JSON line ("...\n") for `v` to `out`, for event and
 * audit logs and --error-format=json output. Only CSB_JSON_KEEP_ORDER is
 * meaningful in `flags` (compact is implied). */
void csb_json_line(const cJSON *v, unsigned flags, csb_buf *out);
/* Writes that line to `fd` with a single write(2) when possible (so lines
 * from concurrent writers to an O_APPEND file do not interleave). 1/0. */
int csb_json_write_line(int fd, const cJSON *v, unsigned flags, csb_error *err);

/* ---- building (never return NULL: exit 70 on out-of-memory) ------------- */

cJSON *csb_json_new_object(void);
cJSON *csb_json_new_array(void);
/* Each adds a new item to `parent` and returns it: under `key` when `key`
 * is non-NULL (parent is an object), appended when `key` is NULL (parent is
 * an array). Strings are copied. Integers beyond 2^53 lose precision. */
cJSON *csb_json_add_string(cJSON *parent, const char *key, const char *s);
/* csb_json_add_string with `key` and `s` borrowed, not copied: both must
 * outlive the item (for a document printed and deleted while the strings it
 * shows stay alive, which saves two allocations per string). */
cJSON *csb_json_add_string_ref(cJSON *parent, const char *key, const char *s);
cJSON *csb_json_add_int(cJSON *parent, const char *key, int64_t n);
cJSON *csb_json_add_number(cJSON *parent, const char *key, double d);
cJSON *csb_json_add_bool(cJSON *parent, const char *key, bool b);
cJSON *csb_json_add_null(cJSON *parent, const char *key);
cJSON *csb_json_add_object(cJSON *parent, const char *key);
cJSON *csb_json_add_array(cJSON *parent, const char *key);

/* ---- typed access ------------------------------------------------------- */

/* "null", "boolean", "number", "string", "array", "object", "raw",
 * "invalid"; "nothing" for NULL. */
const char *csb_json_type_name(const cJSON *v);

/* The member `key` of `obj` (exact, bytewise), or NULL when `obj` is not an
 * object or has no such member. */
const cJSON *csb_json_get(const cJSON *obj, const char *key);
/* Resolves an RFC 6901 JSON pointer ("" is `root`, "/a/0/b~1c"), or NULL. */
const cJSON *csb_json_lookup(const cJSON *root, const char *pointer);

/* Value checks: succeed when `v` has the wanted type, else fail with
 * "expected T, got U" (no pointer: the value itself is wrong). Strings and
 * sub-trees are borrowed from the tree. */
int csb_json_as_string(const cJSON *v, const char **out, csb_error *err);
int csb_json_as_bool(const cJSON *v, bool *out, csb_error *err);
int csb_json_as_number(const cJSON *v, double *out, csb_error *err);
/* Integral and within [-2^53, 2^53] (so exact). "1.0" and "1e2" count as
 * integers: only the value matters. */
int csb_json_as_int(const cJSON *v, int64_t *out, csb_error *err);
/* Integral and within [min, max]. */
int csb_json_as_int_range(const cJSON *v, int64_t min, int64_t max,
                          int64_t *out, csb_error *err);
int csb_json_as_object(const cJSON *v, const cJSON **out, csb_error *err);
int csb_json_as_array(const cJSON *v, const cJSON **out, csb_error *err);

/* Required members of an object. Fail with "`/key`: missing required
 * field" when absent (also when `obj` is NULL), "`/key`: expected T, got U"
 * on a wrong type, and "expected object, got U" when `obj` is not an
 * object. `null` is a value of its own type, not an absent member. *out is
 * only written on success. */
int csb_json_get_string(const cJSON *obj, const char *key, const char **out,
                        csb_error *err);
int csb_json_get_bool(const cJSON *obj, const char *key, bool *out,
                      csb_error *err);
int csb_json_get_number(const cJSON *obj, const char *key, double *out,
                        csb_error *err);
int csb_json_get_int(const cJSON *obj, const char *key, int64_t *out,
                     csb_error *err);
int csb_json_get_int_range(const cJSON *obj, const char *key, int64_t min,
                           int64_t max, int64_t *out, csb_error *err);
int csb_json_get_object(const cJSON *obj, const char *key, const cJSON **out,
                        csb_error *err);
int csb_json_get_array(const cJSON *obj, const char *key, const cJSON **out,
                       csb_error *err);
/* An array of strings, appended (copied) to `out`; `out` is left unchanged
 * on failure ("`/key/3`: expected string, got number"). */
int csb_json_get_strings(const cJSON *obj, const char *key, csb_strv *out,
                         csb_error *err);

/* Optional members: like csb_json_get_*, but an absent member (or a NULL
 * `obj`, so that a missing optional sub-object reads as empty) returns 1
 * and leaves *out untouched, i.e. holding the caller's default. */
int csb_json_opt_string(const cJSON *obj, const char *key, const char **out,
                        csb_error *err);
int csb_json_opt_bool(const cJSON *obj, const char *key, bool *out,
                      csb_error *err);
int csb_json_opt_number(const cJSON *obj, const char *key, double *out,
                        csb_error *err);
int csb_json_opt_int(const cJSON *obj, const char *key, int64_t *out,
                     csb_error *err);
int csb_json_opt_int_range(const cJSON *obj, const char *key, int64_t min,
                           int64_t max, int64_t *out, csb_error *err);
int csb_json_opt_object(const cJSON *obj, const char *key, const cJSON **out,
                        csb_error *err);
int csb_json_opt_array(const cJSON *obj, const char *key, const cJSON **out,
                       csb_error *err);
int csb_json_opt_strings(const cJSON *obj, const char *key, csb_strv *out,
                         csb_error *err);

/* Fails on the first member of `obj` (in tree order) whose key is not in
 * the NULL-terminated list `allowed`, with "unknown field `x` in WHERE"
 * ("unknown field `x`" when `where` is NULL). Also fails when `obj` is not
 * an object. */
int csb_json_check_keys(const cJSON *obj, const char *const *allowed,
                        const char *where, csb_error *err);

/* Make the JSON pointer in an error message one level more absolute:
 * "`/b`: msg" becomes "`/KEY/b`: msg" (resp. "`/INDEX/b`: msg"), and a
 * message without a leading pointer ("msg") becomes "`/KEY`: msg". Keys are
 * escaped as RFC 6901 says ('~' -> "~0", '/' -> "~1"). No-op for NULL. */
void csb_json_error_push_key(csb_error *err, const char *key);
void csb_json_error_push_index(csb_error *err, size_t index);

/* `s`, a value taken from a document, as an error message should quote it:
 * its first 100 bytes or so (then "..."), control characters as \u00XX
 * and bytes that are not UTF-8 as \xXX, as keys in error pointers are
 * shown, so that a message stays one printable line of bounded length
 * whatever the value holds. Caller frees (never NULL; NULL shows as ""). */
char *csb_json_display(const char *s);

/* ---- positions for errors found after parsing ---------------------------- */

/* Finds where the value at the JSON pointer `pointer` starts in `text`, a
 * document csb_json_parse accepted (the parsed tree keeps no positions; the
 * text is scanned again, without recursion). Sets the position to the value,
 * or, when the pointer leads nowhere, to the deepest existing ancestor
 * (e.g. the object that lacks a required member). Returns 1 when the whole
 * pointer was found, else 0. */
int csb_json_locate(const char *text, size_t len, const char *pointer, int *line,
                    int *col);
/* For an error message that starts with a JSON pointer (as the getters
 * write them; push the enclosing keys first so the pointer is absolute),
 * sets err->line/err->col from csb_json_locate over `text`; the message is
 * not changed. Returns 1 when a position was set, 0 when the message has no
 * pointer. Keys shortened with "..." in the message resolve to their parent. */
int csb_json_error_locate(csb_error *err, const char *text, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CSB_JSON_H */
