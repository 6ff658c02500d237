/* pathmemo.h - the records of a csb_path_memo (csb_paths.h), for the
 * resolution code in paths.c. Not part of the public API.
 *
 * A memo maps a path (bytes, compared exactly) to what lstat(2), stat(2),
 * faccessat(2) and readlink(2) answered for it the first time they were
 * asked: the status or the errno, and the link's content or the errno;
 * and to the effective path computed from those answers. The memo only
 * stores; paths.c asks the kernel and fills a record on a miss.
 */
#ifndef CSB_PATHMEMO_H
#define CSB_PATHMEMO_H

#include <stddef.h>
#include <sys/stat.h>

#include "csb_paths.h"

typedef struct csb_path_memo_rec {
  unsigned char has_lstat;  /* lstat_err and lst are set */
  unsigned char has_stat;   /* stat_err and st are set */
  unsigned char has_access; /* access_mode and access_err are set */
  unsigned char has_link;   /* link_err and link are set */
  int lstat_err;            /* 0: lstat succeeded, else its errno */
  int stat_err;             /* 0: stat succeeded, else its errno */
  int access_mode;          /* the mode faccessat was asked about */
  int access_err;           /* 0: it allowed access_mode, else its errno */
  struct stat lst;          /* lstat's answer when it succeeded */
  struct stat *st;          /* stat's answer when it succeeded (owned; asked of links only) */
  int link_err;             /* 0: readlink succeeded, else its errno */
  char *link;               /* the content (owned), when it succeeded */
  char *effective;          /* csb_path_effective's answer (owned), or NULL */
} csb_path_memo_rec;

/* The record of `path` (a new, empty one when the path was never seen).
 * Valid until the next call on the memo. */
csb_path_memo_rec *csb_path_memo_rec_of(csb_path_memo *m, const char *path);

#endif /* CSB_PATHMEMO_H */
