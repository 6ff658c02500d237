/* csb_toml.h - strict TOML 1.0 parser producing an editable value tree that
 * remembers where every key and value came from.
 *
 * Error, ownership and allocation conventions are those of
 * libs/base/csb_base.h: functions return 1/0 (or NULL) and fill a
 * `csb_error *` (which carries line and column for syntax errors), `*_new`
 * pairs with `csb_toml_value_free`, freeing NULL is a no-op, and allocation
 * failure terminates the process. Functions that take a `csb_toml_value *`
 * to store in a container take ownership of it, even when they fail.
 *
 * Parsing is linear in the input size. The caller bounds the input size
 * (the parser itself refuses inputs over CSB_TOML_MAX_INPUT bytes); nesting
 * is bounded by CSB_TOML_MAX_DEPTH. Tree operations (free, clone, merge,
 * equal) recurse over the tree, so trees built by hand should stay within
 * the same depth.
 *
 * The tree is freely editable: TOML's rules about redefining tables or
 * extending inline tables are enforced while parsing, not by the editing
 * functions below.
 *
 * Positions: lines and columns are 1-based; columns count Unicode
 * characters, not bytes. `end_col` is the column of the last character of
 * the token (inclusive), so a caret excerpt spans col..end_col. Values built
 * through the API have all-zero positions.
 */
#ifndef CSB_TOML_H
#define CSB_TOML_H

#include <stddef.h>
#include <stdint.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Maximum nesting of tables and arrays below the root table. */
#define CSB_TOML_MAX_DEPTH 128
/* Largest input csb_toml_parse accepts, in bytes. */
#define CSB_TOML_MAX_INPUT ((size_t)1 << 30)

typedef enum csb_toml_kind {
  CSB_TOML_TABLE = 1,
  CSB_TOML_ARRAY,
  CSB_TOML_STRING,
  CSB_TOML_INTEGER,
  CSB_TOML_FLOAT,
  CSB_TOML_BOOL,
  CSB_TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
  CSB_TOML_DATETIME_LOCAL, /* local date-time:  1979-05-27T07:32:00 */
  CSB_TOML_DATE_LOCAL,     /* local date:       1979-05-27 */
  CSB_TOML_TIME_LOCAL      /* local time:       07:32:00 */
} csb_toml_kind;

typedef struct csb_toml_value csb_toml_value;

typedef struct csb_toml_pos {
  int line;     /* 0 when unknown */
  int col;
  int end_line; /* position of the token's last character */
  int end_col;
  int source;   /* caller-defined tag (see csb_toml_set_source); 0 after parse */
} csb_toml_pos;

/* Components of the four date/time kinds. Fields that a kind does not have
 * are zero. */
typedef struct csb_toml_datetime {
  int has_date;       /* year, month, day are set */
  int has_time;       /* hour, minute, second, nanosecond, frac_digits */
  int has_offset;     /* offset_minutes (and offset_z) are set */
  int year, month, day;
  int hour, minute, second;
  int nanosecond;     /* fractional seconds, truncated to nanoseconds */
  int frac_digits;    /* fractional digits written (0..9); kept for printing */
  int offset_minutes; /* east of UTC */
  int offset_z;       /* offset was written as Z (printed as Z) */
} csb_toml_datetime;

/* ---- parsing ------------------------------------------------------------- */

/* Parses a whole TOML document; *out receives the root table. On failure
 * err has the message and err->line/err->col point at the offending
 * character. A leading UTF-8 byte order mark is skipped. */
int csb_toml_parse(const char *data, size_t len, csb_toml_value **out,
                   csb_error *err) CSB_WARN_UNUSED;

/* Parses a single TOML value (as on the right of `key = `), surrounded by
 * optional whitespace and an optional comment; e.g. for `-c key=VALUE`.
 * Positions are relative to `data`. */
int csb_toml_parse_value(const char *data, size_t len, csb_toml_value **out,
                         csb_error *err) CSB_WARN_UNUSED;

/* Splits a TOML key (`a.b`, `a."b.c"`, `'x y'.z`) into its parts. Parts
 * containing NUL are rejected. */
int csb_toml_parse_key(const char *data, size_t len, csb_strv *out,
                       csb_error *err) CSB_WARN_UNUSED;

/* Appends a key as it is written in TOML, for messages and paths such as
 * `permissions."my.profile"`: bare when it only has A-Za-z0-9_- (and is not
 * empty), otherwise a basic string with escapes. */
void csb_toml_append_key(csb_buf *b, const char *key, size_t len);

/* ---- values --------------------------------------------------------------- */

void csb_toml_value_free(csb_toml_value *v);
csb_toml_kind csb_toml_value_kind(const csb_toml_value *v);
/* "table", "array", "string", "integer", "float", "bool", "datetime",
 * "datetime-local", "date-local", "time-local" (the toml-test names). */
const char *csb_toml_kind_name(csb_toml_kind kind);
/* Where the value was written (for tables: the header or `{`, or the key
 * that implicitly created it). */
csb_toml_pos csb_toml_value_pos(const csb_toml_value *v);
void csb_toml_value_set_pos(csb_toml_value *v, const csb_toml_pos *pos);
/* Sets pos.source on v, every descendant and every key below v. */
void csb_toml_set_source(csb_toml_value *v, int source);

/* Deep copy (positions included). */
csb_toml_value *csb_toml_clone(const csb_toml_value *v);
/* Deep equality by value: same kinds, tables equal as key sets (order
 * ignored), arrays elementwise; floats compare by value with nan == nan;
 * date/times by their components. Positions are ignored. */
int csb_toml_equal(const csb_toml_value *a, const csb_toml_value *b);

/* Merges `overlay` into `base` in place and consumes `overlay` (clone it
 * first to keep it). Both must be tables. For each overlay key: when both
 * sides are tables they merge recursively; otherwise the overlay value
 * (and its key position) replaces the base value, keeping the key's place
 * in base's order; arrays are replaced, never concatenated. New keys are
 * appended in overlay order. */
int csb_toml_merge(csb_toml_value *base, csb_toml_value *overlay,
                   csb_error *err);

/* ---- scalars --------------------------------------------------------------- */

csb_toml_value *csb_toml_string_new(const char *s);
csb_toml_value *csb_toml_string_newn(const char *s, size_t len);
csb_toml_value *csb_toml_int_new(int64_t i);
csb_toml_value *csb_toml_float_new(double d);
csb_toml_value *csb_toml_bool_new(int b);
/* Kind follows has_date/has_time/has_offset. NULL (with err) when the
 * components are out of range. */
csb_toml_value *csb_toml_datetime_new(const csb_toml_datetime *dt,
                                      csb_error *err);

/* The string's bytes (NUL-terminated; may contain NUL, see *len_out), or
 * NULL when v is not a string. len_out may be NULL. */
const char *csb_toml_as_string(const csb_toml_value *v, size_t *len_out);
/* Return 1 and store the value when v has the matching kind, else 0.
 * csb_toml_as_double accepts floats only. */
int csb_toml_as_int(const csb_toml_value *v, int64_t *out);
int csb_toml_as_double(const csb_toml_value *v, double *out);
int csb_toml_as_bool(const csb_toml_value *v, int *out);
int csb_toml_as_datetime(const csb_toml_value *v, csb_toml_datetime *out);
/* Canonical RFC 3339 text of a date/time value (`T` separator, `Z` or
 * `+HH:MM` offset, fractional digits as written, at most 9), or NULL. */
const char *csb_toml_datetime_text(const csb_toml_value *v);
/* The float as written (underscores removed, e.g. "1e2", "-inf", "nan");
 * for floats built with csb_toml_float_new the shortest text that reads
 * back to the same double. NULL when v is not a float. */
const char *csb_toml_float_text(const csb_toml_value *v);

/* ---- tables ------------------------------------------------------------------ */

csb_toml_value *csb_toml_table_new(void);
/* Number of keys; 0 when t is not a table. Keys keep insertion order. */
size_t csb_toml_table_len(const csb_toml_value *t);
/* The i-th key (NUL-terminated; may contain NUL, see *len_out), its value
 * and the key's position, or NULL/zero when out of range. */
const char *csb_toml_table_key_at(const csb_toml_value *t, size_t i,
                                  size_t *len_out);
csb_toml_value *csb_toml_table_value_at(const csb_toml_value *t, size_t i);
csb_toml_pos csb_toml_table_key_pos_at(const csb_toml_value *t, size_t i);
void csb_toml_table_set_key_pos_at(csb_toml_value *t, size_t i,
                                   const csb_toml_pos *pos);
/* Looks a key up (hashed for large tables). NULL when absent. */
csb_toml_value *csb_toml_table_get(const csb_toml_value *t, const char *key);
csb_toml_value *csb_toml_table_getn(const csb_toml_value *t, const char *key,
                                    size_t len);
/* 1 and *index_out when the key is present. */
int csb_toml_table_find(const csb_toml_value *t, const char *key, size_t len,
                        size_t *index_out);
/* Stores v under key, taking ownership of v. An existing value is freed
 * and replaced in place (its order is kept); a new key is appended.
 * Returns 0 only when t is not a table (v is freed). */
int csb_toml_table_set(csb_toml_value *t, const char *key, csb_toml_value *v);
int csb_toml_table_setn(csb_toml_value *t, const char *key, size_t len,
                        csb_toml_value *v);
/* Removes and frees; 1 when the key was present. Removal keeps the order
 * of the other keys and costs time linear in the table's size. */
int csb_toml_table_remove(csb_toml_value *t, const char *key);
/* Removes and returns the value (caller owns it); NULL when absent. */
csb_toml_value *csb_toml_table_take(csb_toml_value *t, const char *key,
                                    size_t len);

/* ---- arrays ------------------------------------------------------------------ */

csb_toml_value *csb_toml_array_new(void);
size_t csb_toml_array_len(const csb_toml_value *a);
csb_toml_value *csb_toml_array_at(const csb_toml_value *a, size_t i);
/* Appends v (ownership taken). 0 only when a is not an array. */
int csb_toml_array_push(csb_toml_value *a, csb_toml_value *v);
/* Replaces element i, freeing the old one. 0 when out of range (v freed). */
int csb_toml_array_set(csb_toml_value *a, size_t i, csb_toml_value *v);
/* Removes and frees element i, shifting the rest. 0 when out of range. */
int csb_toml_array_remove(csb_toml_value *a, size_t i);
/* 1 when the array was written as [[array.of.tables]]. */
int csb_toml_array_is_table_array(const csb_toml_value *a);

#ifdef __cplusplus
}
#endif

#endif /* CSB_TOML_H */
