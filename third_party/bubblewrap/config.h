/* config.h for bubblewrap built by Bazel (csb): the values meson's
 * configure_file() would produce for a static, SELinux-free build. */
#define PACKAGE_STRING "bubblewrap 0.8.0"
#define HAVE_SYS_CAPABILITY_H 1
#define HAVE_LIBCAP 1
