"""Build macros used by every BUILD file in csb.

    load("//libs:defs.bzl", "csb_c_library", "csb_c_binary", "csb_cc_test",
         "csb_c_test", "csb_sh_test", "CSB_COPTS")

* csb_c_library  - a C17 static library with the shared warning flags. Its
                   headers are included by basename (`#include "csb_toml.h"`).
* csb_c_binary   - a tool. Creates two targets:
                     NAME       the shipped binary: static, musl, optimised
                                (built through a --platforms transition, so it
                                is part of every `bazel build //...`);
                     NAME.host  the same sources with the host toolchain
                                (glibc; honours --config=asan), for tests.
* csb_cc_test    - a C++17 GoogleTest test (host toolchain, gtest_main).
* csb_c_test     - a plain C test program with the shared C flags (host).
* csb_sh_test    - a bash test script.
"""

load("//third_party/musl:musl_binary.bzl", "musl_binary")

CSB_COPTS = [
    "-std=c17",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
    "-Wvla",
    "-Wformat=2",
]

CSB_CXXOPTS = [
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-sign-compare",
]

_GTEST_MAIN = "//third_party:gtest_main"

def _pop(kw, key, default):
    if key in kw:
        return kw.pop(key)
    return default

def csb_c_library(name, srcs = [], hdrs = [], deps = [], **kw):
    copts = CSB_COPTS + _pop(kw, "copts", [])
    if "includes" not in kw and "strip_include_prefix" not in kw:
        kw["includes"] = ["."]
    native.cc_library(
        name = name,
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        copts = copts,
        **kw
    )

def csb_c_binary(name, srcs, deps = [], **kw):
    copts = CSB_COPTS + _pop(kw, "copts", [])
    visibility = _pop(kw, "visibility", None)
    tags = _pop(kw, "tags", [])
    testonly = _pop(kw, "testonly", False)
    native.cc_binary(
        name = name + ".host",
        srcs = srcs,
        deps = deps,
        copts = copts,
        visibility = visibility,
        tags = tags,
        testonly = testonly,
        **kw
    )
    musl_binary(
        name = name,
        binary = ":" + name + ".host",
        visibility = visibility,
        tags = tags,
        testonly = testonly,
    )

def csb_cc_test(name, srcs, deps = [], **kw):
    copts = CSB_CXXOPTS + _pop(kw, "copts", [])
    native.cc_test(
        name = name,
        srcs = srcs,
        deps = deps + [_GTEST_MAIN],
        copts = copts,
        **kw
    )

def csb_c_test(name, srcs, deps = [], **kw):
    copts = CSB_COPTS + _pop(kw, "copts", [])
    native.cc_test(
        name = name,
        srcs = srcs,
        deps = deps,
        copts = copts,
        **kw
    )

def csb_sh_test(name, srcs, data = [], **kw):
    native.sh_test(
        name = name,
        srcs = srcs,
        data = data,
        **kw
    )
