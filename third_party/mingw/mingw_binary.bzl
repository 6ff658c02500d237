"""`mingw_binary`: builds a cc_binary for the Windows platform.

The wrapped binary target is built in a configuration whose `--platforms`
is //third_party/mingw:windows_x86_64_mingw, so Bazel's toolchain
resolution picks the static mingw-w64 toolchain for it and everything it
depends on (the analogue of musl_binary for Linux releases). Sanitizer
flags (`--config=asan`) are dropped: they exist only for the host
toolchain. Fastbuild is promoted to opt. The output is NAME (e.g.
`csb-winacl.exe`), a copy of the linked PE file.

Wrap a cc_binary marked `target_compatible_with =
["@platforms//os:windows"]`, so that host builds of `//...` skip it.
"""

WINDOWS_PLATFORM = "@//third_party/mingw:windows_x86_64_mingw"

_FLAG_OPTS = [
    "//command_line_option:copt",
    "//command_line_option:conlyopt",
    "//command_line_option:cxxopt",
    "//command_line_option:linkopt",
]

def _is_sanitizer_flag(flag):
    return "sanitize" in flag or flag == "-fno-omit-frame-pointer"

def _mingw_transition_impl(settings, attr):
    out = {
        "//command_line_option:platforms": WINDOWS_PLATFORM,
        "//command_line_option:compilation_mode": "dbg" if settings["//command_line_option:compilation_mode"] == "dbg" else "opt",
        "//command_line_option:features": [f for f in settings["//command_line_option:features"] if f not in ("asan", "ubsan", "tsan", "msan")],
    }
    for opt in _FLAG_OPTS:
        out[opt] = [f for f in settings[opt] if not _is_sanitizer_flag(f)]

    # Always change copt and linkopt (with harmless markers), as musl_binary
    # does: plain and --config=asan builds then share one output directory.
    out["//command_line_option:copt"] = out["//command_line_option:copt"] + ["-DCSB_MINGW_STATIC=1"]
    out["//command_line_option:linkopt"] = out["//command_line_option:linkopt"] + ["-static"]
    return out

mingw_transition = transition(
    implementation = _mingw_transition_impl,
    inputs = _FLAG_OPTS + [
        "//command_line_option:compilation_mode",
        "//command_line_option:features",
    ],
    outputs = _FLAG_OPTS + [
        "//command_line_option:platforms",
        "//command_line_option:compilation_mode",
        "//command_line_option:features",
    ],
)

def _mingw_binary_impl(ctx):
    src = ctx.attr.binary[0][DefaultInfo].files_to_run.executable
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.run_shell(
        inputs = [src],
        outputs = [out],
        command = 'cp "$1" "$2" && chmod 0755 "$2"',
        arguments = [src.path, out.path],
        mnemonic = "MingwBinary",
        progress_message = "Copying Windows binary %s" % out.short_path,
    )
    return [DefaultInfo(
        files = depset([out]),
        runfiles = ctx.runfiles(files = [out]),
    )]

mingw_binary = rule(
    implementation = _mingw_binary_impl,
    doc = "The `binary` target rebuilt statically for Windows (x86_64, mingw-w64).",
    attrs = {
        "binary": attr.label(
            mandatory = True,
            executable = True,
            cfg = mingw_transition,
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)

def csb_windows_binary(name, srcs, deps = [], copts = [], visibility = None, testonly = False, **kw):
    """NAME.exe: a static Windows build of a tool.

    Creates NAME.win (the cc_binary, compatible with os=windows only, so
    host builds skip it) and NAME.exe (built through the transition).
    """
    native.cc_binary(
        name = name + ".win",
        srcs = srcs,
        deps = deps,
        copts = copts,
        target_compatible_with = ["@platforms//os:windows"],
        visibility = ["//visibility:private"],
        testonly = testonly,
        **kw
    )
    mingw_binary(
        name = name + ".exe",
        binary = ":" + name + ".win",
        visibility = visibility or ["//visibility:public"],
        testonly = testonly,
    )
