/* toml_internal.h - representation shared by the libs/toml sources. Not a
 * public header: nothing outside libs/toml includes it. Internal functions
 * shared between files carry the csb_toml_i_ prefix. */
#ifndef CSB_TOML_INTERNAL_H
#define CSB_TOML_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "csb_toml.h"

/* Flags used while parsing to enforce the table definition rules; they
 * are kept (and cloned) but the editing API ignores them. */
enum {
  CSB_TOML_F_IMPLICIT = 1u << 0, /* table created as a parent by a [header] */
  CSB_TOML_F_DEFINED = 1u << 1,  /* table defined by its own [header] */
  CSB_TOML_F_DOTTED = 1u << 2,   /* table created by a dotted key */
  CSB_TOML_F_INLINE = 1u << 3,   /* inside an inline table or array value */
  CSB_TOML_F_AOT = 1u << 4       /* array created by [[header]] */
};

typedef struct csb_toml_entry {
  char *key; /* owned, NUL-terminated */
  size_t key_len;
  uint32_t hash;
  csb_toml_pos key_pos;
  csb_toml_value *val; /* owned */
} csb_toml_entry;

typedef struct csb_toml_table {
  csb_toml_entry *ents;
  size_t len, cap;
  uint32_t *slots; /* open-addressing index (entry index + 1), or NULL */
  size_t nslots;   /* power of two */
  uint32_t seed;   /* hash seed */
} csb_toml_table;

typedef struct csb_toml_dt {
  csb_toml_datetime dt;
  char text[48];
} csb_toml_dt;

struct csb_toml_value {
  uint8_t kind;
  uint8_t flags;
  csb_toml_pos pos;
  union {
    struct {
      char *s; /* owned, NUL-terminated */
      size_t len;
    } str;
    int64_t i;
    struct {
      double d;
      char *text; /* owned */
    } f;
    int b;
    csb_toml_dt *dt;     /* owned */
    csb_toml_table *tab; /* owned */
    struct {
      csb_toml_value **items;
      size_t len, cap;
    } arr;
  } u;
};

/* Input cursor shared by the lexer and the parser. `col` counts Unicode
 * characters: only bytes that start a UTF-8 sequence advance it. */
typedef struct csb_toml_lexer {
  const char *p, *end;
  int line, col;
  csb_error *err;
  csb_buf scratch; /* string decoding buffer, reused */
} csb_toml_lexer;

/* lexer.c */
void csb_toml_i_lex_init(csb_toml_lexer *lx, const char *data, size_t len,
                         csb_error *err);
void csb_toml_i_lex_done(csb_toml_lexer *lx);
/* Records an error at line:col; always returns 0. */
int csb_toml_i_fail_at(csb_toml_lexer *lx, int line, int col, const char *fmt, ...)
    CSB_PRINTF(4, 5);
/* Position of the next character, with end == start. */
csb_toml_pos csb_toml_i_here(const csb_toml_lexer *lx);
/* Sets pos's end to the character just consumed. */
void csb_toml_i_end(const csb_toml_lexer *lx, csb_toml_pos *pos);
void csb_toml_i_adv(csb_toml_lexer *lx);
void csb_toml_i_skip_ws(csb_toml_lexer *lx);
/* At '#': consumes the comment up to (not including) the line end. */
int csb_toml_i_skip_comment(csb_toml_lexer *lx);
/* Consumes LF or CRLF; 1 when one was consumed. */
int csb_toml_i_eat_newline(csb_toml_lexer *lx);
/* Skips whitespace, newlines and comments (inside arrays). */
int csb_toml_i_skip_ws_nl(csb_toml_lexer *lx);
/* Whitespace, an optional comment, then a newline or the end of input. */
int csb_toml_i_end_of_line(csb_toml_lexer *lx, const char *what);
/* One key part (bare, "basic" or 'literal'); *out is owned by the caller. */
int csb_toml_i_lex_key(csb_toml_lexer *lx, char **out, size_t *len,
                       csb_toml_pos *pos);
/* A string value of any of the four forms. */
int csb_toml_i_lex_string(csb_toml_lexer *lx, char **out, size_t *len);
/* Boolean, integer, float or date/time. */
int csb_toml_i_lex_scalar(csb_toml_lexer *lx, csb_toml_value **out);
/* Appends a key for messages: bare when possible, quoted otherwise. */
void csb_toml_i_key_repr(csb_buf *b, const char *s, size_t len);

/* value.c */
csb_toml_value *csb_toml_i_new(csb_toml_kind kind);
/* Finds key in t; returns the entry index or (size_t)-1. */
size_t csb_toml_i_find(const csb_toml_table *t, const char *key, size_t len);
/* Appends a new key (the key string is taken); the caller ensured it is
 * absent. Returns the new entry. */
csb_toml_entry *csb_toml_i_append(csb_toml_value *t, char *key, size_t len,
                                  csb_toml_value *v);
csb_toml_value *csb_toml_i_string_take(char *s, size_t len);
csb_toml_value *csb_toml_i_float_take(double d, char *text);

/* datetime.c */
/* Parses the whole of [s, s+n) as one of the four date/time forms. On
 * failure returns 0 and stores a message and the byte offset of the
 * problem. */
int csb_toml_i_datetime_parse(const char *s, size_t n, csb_toml_datetime *out,
                              const char **msg, size_t *bad_off);
/* Range-checks components. Returns NULL when valid, else a message. */
const char *csb_toml_i_datetime_check(const csb_toml_datetime *dt);
/* Writes the canonical text (at most 47 bytes + NUL). */
void csb_toml_i_datetime_format(const csb_toml_datetime *dt, char out[48]);
csb_toml_kind csb_toml_i_datetime_kind(const csb_toml_datetime *dt);

#endif /* CSB_TOML_INTERNAL_H */
