"""`musl_binary`: builds a cc_binary for the static musl platform.

The wrapped binary target is built in a configuration whose `--platforms` is
//third_party/musl:linux_x86_64_musl, so Bazel's toolchain resolution picks
the static musl toolchain for it and everything it depends on. Sanitizer
flags (from `--config=asan`) are dropped there: sanitizer runtimes exist only
for the host toolchain, and shipped binaries never carry them. Fastbuild is
promoted to opt so shipped binaries are optimised and stripped.
"""

MUSL_PLATFORM = "@//third_party/musl:linux_x86_64_musl"

_FLAG_OPTS = [
    "//command_line_option:copt",
    "//command_line_option:conlyopt",
    "//command_line_option:cxxopt",
    "//command_line_option:linkopt",
]

def _is_sanitizer_flag(flag):
    # -fsanitize=..., -fno-sanitize-recover=..., and the frame-pointer flag
    # that --config=asan adds for readable stack traces.
    return "sanitize" in flag or flag == "-fno-omit-frame-pointer"

def _musl_transition_impl(settings, attr):
    out = {
        "//command_line_option:platforms": MUSL_PLATFORM,
        "//command_line_option:compilation_mode": "dbg" if settings["//command_line_option:compilation_mode"] == "dbg" else "opt",
        "//command_line_option:features": [f for f in settings["//command_line_option:features"] if f not in ("asan", "ubsan", "tsan", "msan")],
    }
    for opt in _FLAG_OPTS:
        out[opt] = [f for f in settings[opt] if not _is_sanitizer_flag(f)]

    # Always change copt and linkopt (with harmless markers). Bazel 4 names the
    # output directory after the options a transition actually changed, so
    # without this `--config=asan` (whose flags are dropped here) would get a
    # different musl output directory and rebuild everything, BoringSSL
    # included, instead of sharing the plain build's musl artifacts.
    out["//command_line_option:copt"] = out["//command_line_option:copt"] + ["-DCSB_MUSL_STATIC=1"]
    out["//command_line_option:linkopt"] = out["//command_line_option:linkopt"] + ["-static"]
    return out

musl_transition = transition(
    implementation = _musl_transition_impl,
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

def _musl_binary_impl(ctx):
    src = ctx.attr.binary[0][DefaultInfo].files_to_run.executable
    out = ctx.actions.declare_file(ctx.attr.out or ctx.label.name)
    ctx.actions.run_shell(
        inputs = [src],
        outputs = [out],
        command = 'cp "$1" "$2" && chmod 0755 "$2"',
        arguments = [src.path, out.path],
        mnemonic = "MuslBinary",
        progress_message = "Copying static musl binary %s" % out.short_path,
    )
    return [DefaultInfo(
        files = depset([out]),
        executable = out,
        runfiles = ctx.runfiles(files = [out]),
    )]

musl_binary = rule(
    implementation = _musl_binary_impl,
    doc = "The `binary` target rebuilt statically for the musl platform.",
    attrs = {
        "binary": attr.label(
            mandatory = True,
            executable = True,
            cfg = musl_transition,
        ),
        "out": attr.string(doc = "Output file name (default: the target name)."),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
    executable = True,
)
