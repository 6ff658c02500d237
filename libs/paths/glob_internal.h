/* glob_internal.h - compiled glob representation shared by glob.c and
 * glob_expand.c. Not part of the public API. */
#ifndef CSB_GLOB_INTERNAL_H
#define CSB_GLOB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "csb_paths.h"

typedef struct csb_byteset {
  uint8_t bits[32];
} csb_byteset;

/* NFA state kinds. BYTE and SET consume one byte and go to `out`; SPLIT
 * is an epsilon fork to `out` and `out1`; MATCH accepts. */
enum { CSB_N_BYTE, CSB_N_SET, CSB_N_SPLIT, CSB_N_MATCH };

/* Fixed entries of csb_glob.sets; character classes follow. */
enum { CSB_SET_ALL = 0, CSB_SET_NOT_SLASH = 1, CSB_SET_FIRST_CLASS = 2 };

typedef struct csb_nstate {
  uint8_t kind;
  uint32_t arg; /* BYTE: the byte; SET: index into sets */
  int32_t out, out1;
} csb_nstate;

struct csb_glob {
  char *pattern;
  char *regex;
  char *prefix;
  size_t prefix_len;
  size_t prefix_raw_end; /* offset in `pattern` where `prefix` ends; 0: none */
  char **ancestors;      /* csb_glob_ancestor_regexes */
  size_t nancestors;
  int literal;
  /* Bytes that every matching path ends with, cut at the last '/' (so a
   * suffix of every matching entry name); tail_len 0 when there are none.
   * The walker rejects most names with it before running the DFA. */
  char *tail;
  size_t tail_len;
  csb_byteset *sets;
  size_t nsets;
  csb_nstate *states;
  size_t nstates, states_cap;
  int32_t start;
  /* Bytes that every NFA state treats alike share a class; transitions of
   * the expansion DFA are stored per class. class_rep is one byte of each
   * class. */
  uint8_t byte_class[256];
  uint8_t class_rep[256];
  uint16_t class_size[256]; /* bytes in each class */
  int nclasses;
};

/* Scratch space for epsilon closures (marks are stamped, not cleared). */
typedef struct csb_nfa_scratch {
  uint32_t stamp;
  uint32_t *mark;
  int32_t *stack;
} csb_nfa_scratch;

void csb_nfa_scratch_init(csb_nfa_scratch *w, const csb_glob *g);
void csb_nfa_scratch_free(csb_nfa_scratch *w);
/* Starts a new closure generation. */
void csb_nfa_next_stamp(csb_nfa_scratch *w, size_t nstates);
/* Adds the consuming states reachable from `s` by epsilon moves to
 * list[*n...] (each once per stamp); sets *accept when MATCH is reached. */
void csb_nfa_closure(const csb_glob *g, int32_t s, csb_nfa_scratch *w, int32_t *list,
                     size_t *n, int *accept);
/* 1 when consuming state `s` accepts byte c. */
int csb_nfa_accepts(const csb_glob *g, int32_t s, unsigned char c);

#endif /* CSB_GLOB_INTERNAL_H */
