/* patch_internal.h - helpers shared by the files of libs/patch (private). */
#ifndef CSB_PATCH_INTERNAL_H
#define CSB_PATCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Unicode White_Space property (what Rust's str::trim removes). */
int csb_patch_is_space(uint32_t cp);

/* Length of s without trailing / leading Unicode whitespace. */
size_t csb_patch_rtrim_len(const char *s, size_t n);
size_t csb_patch_ltrim_off(const char *s, size_t n);

/* csb_patch_update_text writing into memory from `alloc` (which must
 * return at least n writable bytes; the result is NUL-terminated). With
 * scratch_in_alloc the temporary line arrays come from `alloc` too (an
 * arena); otherwise from malloc. */
typedef void *(*csb_patch_alloc_fn)(void *ctx, size_t n);
struct csb_patch_hunk;
int csb_patch_i_update(const char *old, size_t old_len, const struct csb_patch_hunk *h,
                       const char *display, unsigned flags, csb_patch_alloc_fn alloc,
                       void *actx, int scratch_in_alloc, char **out_data, size_t *out_len,
                       struct csb_error *err, struct csb_buf *full);

/* Stores a formatted message into err (truncated to fit) and appends it to
 * full (untruncated); either may be NULL. Returns 0. */
struct csb_error;
struct csb_buf;
int csb_patch_set_msg(struct csb_error *err, struct csb_buf *full, int line,
                      const struct csb_buf *msg);

#endif
