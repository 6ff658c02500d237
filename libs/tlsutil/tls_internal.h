/* tls_internal.h - shared between the files of libs/tlsutil; not part of
 * the public API. */
#ifndef CSB_TLS_INTERNAL_H
#define CSB_TLS_INTERNAL_H

#include <stddef.h>
#include <sys/stat.h>

/* Reads the regular file `path` (at most `max` bytes) without following a
 * final symlink, from a descriptor that is still the file lstat saw:
 * 1 and *out, *len (caller frees) and *st (the opened file's status);
 * -1 when it does not exist; 0 otherwise, errno ELOOP for a symlink,
 * EINVAL for another kind of file, ESTALE when it changed while being
 * opened, else the system call's or reader's errno. */
int csb_tls_i_read_nofollow(const char *path, size_t max, char **out, size_t *len, struct stat *st);

#endif
