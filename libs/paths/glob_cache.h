/* glob_cache.h - the on-disk record of an earlier expansion of a glob,
 * used by glob_expand.c to skip re-reading directories that provably have
 * not changed. Not part of the public API.
 *
 * A cache file holds, for one expansion key (pattern, depth limit, flags),
 * one record per directory the walk read: its path below the static
 * prefix, its identity when it was read (device, inode, mode, mtime,
 * ctime, taken with fstat before the directory was read), whether that
 * identity may be trusted later, the names of the entries that matched
 * (with their types) and the names of the subdirectories the walk entered.
 * A later expansion reuses a record only when a fresh stat of the same
 * path shows the same identity: creating, removing or renaming an entry
 * updates a directory's mtime and ctime, and ctime cannot be set back by
 * anyone short of changing the system clock.
 *
 * A record is not trusted (and so always re-read) when its directory's
 * mtime or ctime was within CSB_GLOB_CACHE_RACY_NS of the time the
 * expansion started, or in the future: a change in the same clock tick
 * as the stat could leave both unchanged. Nor when the directory is on a
 * file system not known to keep directory times exactly (only ext2/3/4,
 * XFS, btrfs and tmpfs are), nor when it is encrypted (gc_dir_id), and
 * a later expansion does not reuse a record of a directory that is
 * encrypted now.
 *
 * Layout (native byte order; the cache never leaves the machine):
 *   "CSBGLOB1"  u32 key_len, key bytes  u32 nrec  records...  u64 checksum
 *   record: u32 rel_len, rel  u64 dev, ino  u32 mode, flags
 *           i64 mtime_s  u32 mtime_ns  i64 ctime_s  u32 ctime_ns
 *           u32 nmatch, { u8 type, u32 len, name }...
 *           u32 nchild, { u32 len, name }...
 * Records are sorted by rel (bytewise, strictly increasing). The file is
 * rejected as a whole when anything is out of place: bad magic, other key,
 * a length past the end, a name with '/' or NUL, "." or "..", unsorted
 * records, trailing bytes or a wrong checksum.
 */
#ifndef CSB_GLOB_CACHE_H
#define CSB_GLOB_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "csb_base.h"

/* 2 seconds: a change made once the expansion started is stamped by the
 * kernel's coarse clock, which may run a few ticks behind the clock the
 * expansion reads, and on a file system that keeps whole seconds (ext4
 * with 128-byte inodes) truncated to the second: a directory last changed
 * just over a second before the start could keep its times through such a
 * change. */
#ifndef CSB_GLOB_CACHE_RACY_NS
#define CSB_GLOB_CACHE_RACY_NS 2000000000LL
#endif
/* Larger files are ignored. */
#define CSB_GLOB_CACHE_MAX_BYTES ((size_t)64 << 20)

enum { GC_TRUSTED = 1u << 0 };

typedef struct gc_id {
  uint64_t dev, ino;
  uint32_t mode;
  int64_t mtime_s, ctime_s;
  uint32_t mtime_ns, ctime_ns;
} gc_id;

void gc_id_from_stat(const struct stat *st, gc_id *id);
/* The identity of `path` in `dirfd` (as fstatat takes them; "" for
 * `dirfd` itself) into *id. 1 when taken and it may
 * stand for what the directory lists; 0 when taken but it may not: the
 * directory is encrypted (fscrypt), whose entries are listed under other
 * names while its key is absent, and adding or removing the key changes
 * none of its times; -1 when it cannot be taken (on Linux without statx
 * either: no directory is trusted where encryption cannot be told). */
int gc_dir_id(int dirfd, const char *path, int flags, gc_id *id);
int gc_id_equal(const gc_id *a, const gc_id *b);
/* 1 when `id` may be trusted on a later run: both times are more than
 * CSB_GLOB_CACHE_RACY_NS before `start` (and so not in the future), and
 * neither is the last second of a file system's range (where the kernel
 * clamps every later time). */
int gc_id_settled(const gc_id *id, const struct timespec *start);
/* 1 when the file system of the open directory `fd` (or, with fd -1, of
 * `path`) keeps directory times exactly (see above). */
int gc_fs_trusted(int fd, const char *path);

/* One record of a loaded file (pointers into the file's bytes). */
typedef struct gc_rec {
  const char *rel;
  size_t rel_len;
  gc_id id;
  uint32_t flags;
  uint32_t nmatch, nchild;
  const unsigned char *matches, *children; /* encoded lists */
  const unsigned char *raw;                /* the whole record */
  size_t raw_len;
} gc_rec;

typedef struct gc_file {
  unsigned char *data;
  size_t len;
  gc_rec *recs;
  size_t nrec;
} gc_file;

/* The file name for `key` (heap string): "glob-" + 32 hex digits. */
char *gc_file_name(const char *key, size_t key_len);
/* Loads and checks `dir`/name. The file must be a regular file owned by
 * the effective user and writable by no one else. 1 when loaded; 0 when
 * there is no usable file (missing, foreign, malformed: never an error). */
int gc_load(const char *dir, const char *key, size_t key_len, gc_file *out);
/* Parses a file's bytes (taken over by `f` on success; used by gc_load
 * and the fuzz target). 1 when well-formed for `key`. */
int gc_parse(unsigned char *data, size_t len, const char *key, size_t key_len, gc_file *f);
void gc_file_free(gc_file *f);
/* The record for `rel`, or NULL. */
const gc_rec *gc_find(const gc_file *f, const char *rel, size_t rel_len);

/* Iterates an encoded list: *p starts at rec->matches or rec->children;
 * each call yields the next name (not NUL-terminated) and, for matches,
 * its type. */
const char *gc_next_match(const unsigned char **p, size_t *len, unsigned char *type);
const char *gc_next_child(const unsigned char **p, size_t *len);

/* Writer: appends one record to `b`. `matches` are names with the types
 * in `types`; `children` names. */
void gc_put_record(csb_buf *b, const char *rel, size_t rel_len, const gc_id *id, uint32_t flags,
                   const char *const *matches, const size_t *match_lens,
                   const unsigned char *types, size_t nmatch, const char *const *children,
                   const size_t *child_lens, size_t nchild);

/* A record to store: `raw` bytes as written by gc_put_record or taken
 * from a loaded file; rel is its key. */
typedef struct gc_slice {
  const unsigned char *raw;
  size_t raw_len;
  const char *rel;
  size_t rel_len;
} gc_slice;

/* The file's bytes for `key` and the records (sorted here, duplicates by
 * rel dropped) into *out (initialised here; the caller frees it). */
void gc_encode(const char *key, size_t key_len, gc_slice *recs, size_t n, csb_buf *out);
/* Writes the checksum of data[0 .. len-8) into its last 8 bytes. */
void gc_seal(unsigned char *data, size_t len);

/* Writes the records (sorted here, duplicates by rel dropped) for `key`
 * into `dir` atomically (a private temporary file renamed into place).
 * 1 on success; failures are silent (0). */
int gc_store(const char *dir, const char *key, size_t key_len, gc_slice *recs, size_t n);

#endif /* CSB_GLOB_CACHE_H */
