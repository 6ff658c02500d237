/* csb_base.h - memory, byte buffers, string vectors and error records.
 *
 * Conventions shared by every csb library (stated once here):
 *
 *  - Functions that can fail return int: 1 on success, 0 on failure
 *    (BoringSSL style). On failure they fill a caller-provided
 *    `csb_error *` (which may be NULL when the caller does not care).
 *    Functions returning pointers return NULL on failure.
 *  - Ownership: `*_new` returns an object the caller owns and releases with
 *    the matching `*_free`; every `*_free` accepts NULL. Out-parameters named
 *    `*out` receive ownership; `const` pointer parameters are borrowed and
 *    never retained past the call unless the function says so.
 *  - Allocation failure is not reported as an error: the csb_x* allocators
 *    print "out of memory" and terminate the process with exit status 70
 *    (CSB_EXIT_INTERNAL). Nothing else in the libraries exits or aborts.
 *  - No global mutable state. Everything is reentrant; objects are not
 *    thread-safe unless a header says otherwise.
 *  - Strings are NUL-terminated UTF-8 (or raw bytes for paths) unless a
 *    length is passed alongside.
 */
#ifndef CSB_BASE_H
#define CSB_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__MINGW32__)
/* Windows builds use mingw-w64's C99 printf family (__USE_MINGW_ANSI_STDIO),
 * so format checks follow GNU rules (%zu), not msvcrt's. */
#define CSB_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#define CSB_WARN_UNUSED __attribute__((warn_unused_result))
#define CSB_NORETURN __attribute__((noreturn))
#elif defined(__GNUC__)
#define CSB_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CSB_WARN_UNUSED __attribute__((warn_unused_result))
#define CSB_NORETURN __attribute__((noreturn))
#else
#define CSB_PRINTF(a, b)
#define CSB_WARN_UNUSED
#define CSB_NORETURN
#endif

#define CSB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation (never returns NULL) ---------------------------------- */

/* What every csb_x* allocator does on failure: prints "out of memory" and
 * exits with status 70. For libraries whose own allocators (cJSON hooks)
 * must fail the same way. */
void csb_oom(void) CSB_NORETURN;

void *csb_xmalloc(size_t n);
void *csb_xcalloc(size_t count, size_t size);
void *csb_xrealloc(void *p, size_t n);
/* Grows an array of `*cap` elements of `size` bytes so that it can hold at
 * least `need` elements. Overflow-checked. */
void *csb_xgrow(void *p, size_t *cap, size_t need, size_t size);
char *csb_xstrdup(const char *s);
char *csb_xstrndup(const char *s, size_t n);
char *csb_xasprintf(const char *fmt, ...) CSB_PRINTF(1, 2);
char *csb_xvasprintf(const char *fmt, va_list ap) CSB_PRINTF(1, 0);

/* Whether a tool hands its memory back before its process exits: 1 in
 * sanitizer builds, so that leak checks stay meaningful; 0 otherwise. The
 * kernel reclaims the whole address space at exit in one go, while
 * freeing thousands of blocks one by one costs time and munmap() calls,
 * each of which interrupts every CPU the process ran on. */
#if defined(__SANITIZE_ADDRESS__)
#define CSB_FREE_BEFORE_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define CSB_FREE_BEFORE_EXIT 1
#endif
#endif
#ifndef CSB_FREE_BEFORE_EXIT
#define CSB_FREE_BEFORE_EXIT 0
#endif

/* ---- error record ------------------------------------------------------ */

/* A single human-readable message with an optional source position.
 * line/col are 1-based; 0 means "no position". */
/* Room for a message naming four paths of PATH_MAX (4096) bytes and its
 * text (a refusal names the path as written, its absolute form, and the
 * rule's path and root): a message is cut only past that, never in the
 * middle of a path a user needs to find the rule. */
#define CSB_ERROR_MSG_MAX (4 * 4096 + 1024)

typedef struct csb_error {
  char msg[CSB_ERROR_MSG_MAX];
  int line;
  int col;
} csb_error;

void csb_error_clear(csb_error *err);
/* Formats into err->msg (truncating safely). No-op when err is NULL.
 * Always returns 0 so that `return csb_error_set(...)` reads naturally. */
int csb_error_set(csb_error *err, const char *fmt, ...) CSB_PRINTF(2, 3);
int csb_error_setv(csb_error *err, const char *fmt, va_list ap) CSB_PRINTF(2, 0);
int csb_error_set_at(csb_error *err, int line, int col, const char *fmt, ...)
    CSB_PRINTF(4, 5);
/* Prepends "PREFIX: " to an existing message. */
void csb_error_prefix(csb_error *err, const char *fmt, ...) CSB_PRINTF(2, 3);

/* ---- growable byte buffer ---------------------------------------------- */

/* `data` is always NUL-terminated after any append (when non-NULL), so a
 * buffer of text can be used as a C string. A zero-initialised csb_buf is
 * valid and empty. */
typedef struct csb_buf {
  char *data;
  size_t len;
  size_t cap;
} csb_buf;

void csb_buf_init(csb_buf *b);
void csb_buf_free(csb_buf *b);
void csb_buf_reset(csb_buf *b);
void csb_buf_reserve(csb_buf *b, size_t extra);
void csb_buf_append(csb_buf *b, const void *p, size_t n);
void csb_buf_puts(csb_buf *b, const char *s);
void csb_buf_putc(csb_buf *b, char c);
void csb_buf_printf(csb_buf *b, const char *fmt, ...) CSB_PRINTF(2, 3);
void csb_buf_vprintf(csb_buf *b, const char *fmt, va_list ap) CSB_PRINTF(2, 0);
/* Returns the contents as a heap string the caller owns (never NULL) and
 * leaves the buffer empty. */
char *csb_buf_steal(csb_buf *b);
/* Appends s (n bytes) as a JSON string literal, quotes included: escapes
 * `"`, `\\`, control characters (\n \r \t \b \f, others as \u00XX);
 * bytes >= 0x80 are copied unchanged (callers validate UTF-8 if needed). */
void csb_buf_put_json_string(csb_buf *b, const char *s, size_t n);
/* Appends a JSON array of the n strings, one line: `["a", "b"]` (each as
 * csb_buf_put_json_string writes it, ", " between them). */
void csb_buf_put_json_strings(csb_buf *b, char *const *items, size_t n);

/* ---- string vector ------------------------------------------------------ */

/* An owned vector of owned strings; `items[len]` is always NULL (when
 * items is non-NULL), so it can be passed as an argv. */
typedef struct csb_strv {
  char **items;
  size_t len;
  size_t cap;
} csb_strv;

void csb_strv_init(csb_strv *v);
void csb_strv_free(csb_strv *v);
void csb_strv_push(csb_strv *v, const char *s);       /* copies s */
void csb_strv_push_owned(csb_strv *v, char *s);       /* takes s */
void csb_strv_pushf(csb_strv *v, const char *fmt, ...) CSB_PRINTF(2, 3);
int csb_strv_contains(const csb_strv *v, const char *s);
/* Sorts bytewise (strcmp) and removes duplicates. */
void csb_strv_sort_unique(csb_strv *v);

/* ---- files --------------------------------------------------------------- */

/* Reads a whole file (or stdin when path is "-") into *out (NUL-terminated;
 * *len_out gets the length, which may include NUL bytes). Refuses inputs
 * larger than max_bytes. Returns 1/0 with err naming the path. */
int csb_read_file(const char *path, size_t max_bytes, char **out,
                  size_t *len_out, csb_error *err);
/* FNV-1a (64-bit) of p[0..n), with ASCII letters lower-cased first when
 * fold_case (for names that compare ignoring ASCII case). Not a keyed
 * hash: for tables whose keys the caller controls or can afford to see
 * collide. */
uint64_t csb_hash64(const void *p, size_t n, int fold_case);

/* The first bytes of a regular file: all of it when it holds at most
 * max_bytes, else its first max_bytes (NUL-terminated; *len_out the
 * length; caller frees *out). Returns 1/0 with err naming the path.
 * Anything but a regular file is refused, a FIFO without waiting for a
 * writer to open it. */
int csb_read_file_head(const char *path, size_t max_bytes, char **out, size_t *len_out,
                       csb_error *err);
/* Reads everything from fd. Same contract as csb_read_file. */
int csb_read_fd(int fd, const char *name, size_t max_bytes, char **out,
                size_t *len_out, csb_error *err);
/* Writes all n bytes, retrying on EINTR and short writes. 1/0, errno kept. */
int csb_write_all(int fd, const void *p, size_t n);

/* ---- numbers ---------------------------------------------------------------- */

/* A TCP/UDP port written in decimal: 1 when s[0..n) is one or more ASCII
 * digits (leading zeros allowed) worth at most 65535, with the value in
 * *out (0 included: callers that need a real port refuse it); else 0 and
 * *out untouched. No sign, space or other character is accepted. */
int csb_parse_port(const char *s, size_t n, int *out);

/* ---- environments --------------------------------------------------------- */

/* The value of NAME in envp (a NULL-terminated KEY=VALUE array, which may
 * itself be NULL), or NULL when it is not set. The name matches exactly. */
const char *csb_env_get(char *const *envp, const char *name);

/* ---- the host system, with UTF-8 strings (os.c) ------------------------------
 *
 * Thin wrappers on POSIX hosts. Windows builds go through the wide (UTF-16)
 * Win32 and C runtime calls, so that arguments, environment values and
 * paths are UTF-8 there too, whatever the ANSI code page is. */

/* Call first in main(). Windows: the standard streams switch to binary mode
 * (no CRLF translation, so output is byte for byte that of other hosts) and
 * argc and argv are replaced by the UTF-8 arguments of the wide command line
 * (allocated once, for the life of the process). Elsewhere: nothing. */
void csb_os_init(int *argc, char ***argv);
/* A heap copy of an environment variable's value, or NULL when it is not
 * set (a set, empty variable gives ""). */
char *csb_os_getenv(const char *name);
/* The working directory (heap), or NULL with errno set. */
char *csb_os_getcwd(void);
/* The home the user database gives the real user (heap), whatever HOME
 * says; NULL when there is none or it is not an absolute path, and on
 * Windows. */
char *csb_os_user_db_home(void);

typedef enum {
  CSB_FILE_NONE = 0,
  CSB_FILE_REGULAR,
  CSB_FILE_DIR,
  CSB_FILE_LINK, /* a symlink; on Windows any reparse point (junction, symlink) */
  CSB_FILE_OTHER
} csb_file_type;

/* What `path` names; with `follow` a final link is followed (and never
 * reported). Returns 1, or 0 with errno set (ENOENT or ENOTDIR when there
 * is nothing; Win32 errors are mapped with csb_os_errno). */
int csb_os_file_type(const char *path, int follow, csb_file_type *out);
/* open(2) of a UTF-8 path (Windows: _wopen, always O_BINARY). */
int csb_os_open(const char *path, int flags, int mode);

/* Writes data[0..n) as the whole content of `path`: into a new file next
 * to it that is synced and renamed over it (Windows: MoveFileExW), so the
 * path holds either its old content or all of the new, never part of it,
 * and a failure leaves no file behind. A replaced file keeps its mode (on
 * POSIX hosts; not its owner); a new one gets what creating it gives.
 * What is not a regular file (a device, a pipe, a symbolic link) is written
 * where it leads, in place. 1, or 0 with err set naming the path. */
int csb_os_replace_file(const char *path, const void *data, size_t n, csb_error *err);

#if !defined(_WIN32)
/* Opens what `path` names now (O_PATH, relative to dirfd, following
 * symlinks as open(2) and connect(2) would) and reads back through
 * /proc/self/fd where that really is: the file stays pinned to the
 * descriptor, so a link swapped in afterwards leads nowhere else. 0 with
 * *fd_out (the caller closes it) and *real_out (heap), or open's errno,
 * or ENOTSUP when /proc cannot say where the file is; then *fd_out is -1
 * and *real_out NULL. */
int csb_os_pin_path(int dirfd, const char *path, int *fd_out, char **real_out);
#endif

#if defined(_WIN32)
#include <fcntl.h>
/* open(2) flags mingw-w64 lacks, for csb's own Win32 implementations of
 * the POSIX calls (libs/paths dirfd_win.c, libs/patch fsys_win.c): the
 * ones that change what is opened get bits the C runtime does not use,
 * the others are no-ops. */
#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0x1000000
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0x2000000
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_NONBLOCK
#define O_NONBLOCK 0
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif
/* UTF-8 to UTF-16 and back (heap); NULL when the input is not valid. */
wchar_t *csb_os_wide(const char *s);
char *csb_os_utf8(const wchar_t *w);
/* csb_os_utf8 that never fails: unpaired surrogates become U+FFFD. */
char *csb_os_utf8_lossy(const wchar_t *w);
/* The errno value closest to a Win32 error code (EIO when none is). */
int csb_os_errno(unsigned long win32_error);
/* Whether a reparse point with this tag leads elsewhere, as a symbolic
 * link does: name surrogates (symbolic links, junctions, mount points)
 * and 0, no tag at all (Wine reports its symbolic links so). Other tags
 * (OneDrive and other cloud files' placeholders, deduplicated files) are
 * the object their path names. */
int csb_os_reparse_tag_is_link(unsigned long tag);
/* csb_os_reparse_tag_is_link for the reparse point at the wide path w
 * (as CreateFileW takes it); 1 when its tag cannot be read. */
int csb_os_reparse_point_is_link(const wchar_t *w);
#endif

/* ---- UTF-8 (utf8.c) -------------------------------------------------------- */

/* Decodes the UTF-8 sequence at s[0..n) (n >= 1). Returns its length (1-4)
 * and the code point in *cp (may be NULL), or 0 when the bytes there are
 * not well-formed (Unicode Table 3-7: no overlong forms, surrogates, values
 * above U+10FFFF, stray continuation bytes or truncated sequences), with a
 * short reason such as "truncated UTF-8 sequence" in *why (may be NULL).
 * Bytes are examined in order and never past the first bad one, so a
 * NUL-terminated string may be decoded with n = 4 wherever it ends. */
size_t csb_utf8_decode(const char *s, size_t n, uint32_t *cp, const char **why);
/* 1 when s[0..n) is well-formed UTF-8; otherwise 0, with the offset of the
 * first bad sequence in *bad_off (may be NULL). */
int csb_utf8_valid(const char *s, size_t n, size_t *bad_off);
/* The index of the first of the n NUL-terminated strings that is not
 * well-formed UTF-8 (and so has no JSON string: csb_buf_put_json_string
 * would copy its bytes as they are), or n when every one is. */
size_t csb_utf8_first_invalid(char *const *items, size_t n);
/* Encodes a scalar value (at most U+10FFFF, not a surrogate) into out;
 * returns its length (1-4). */
size_t csb_utf8_encode(uint32_t cp, char out[4]);

/* ---- SHA-256 and hex (sha256.c) ------------------------------------------- */

#define CSB_SHA256_LEN 32

typedef struct csb_sha256 {
  uint32_t h[8];
  uint64_t len;
  unsigned char buf[64];
  size_t used;
} csb_sha256;

void csb_sha256_init(csb_sha256 *s);
void csb_sha256_update(csb_sha256 *s, const void *data, size_t n);
void csb_sha256_final(csb_sha256 *s, unsigned char digest[CSB_SHA256_LEN]);
/* The lowercase hex SHA-256 of data (64 digits and a NUL). */
void csb_sha256_hex(const void *data, size_t n, char out[2 * CSB_SHA256_LEN + 1]);
/* Lowercase hex of n bytes into out (2n digits and a NUL). */
void csb_hex_encode(const void *data, size_t n, char *out);

#ifdef __cplusplus
}
#endif

#endif /* CSB_BASE_H */
