"""The Windows release: csb-VERSION-x86_64-windows.zip (byte-for-byte
reproducible, see mkzip.py). Holds the static mingw-w64 builds of the tools
that run on Windows (bin/*.exe), the docs and the LICENSE."""

load("@csb_version//:version.bzl", "CSB_VERSION")

WINDOWS_TRIPLE = "x86_64-windows"

# Tools with a Windows build (//tools/<tool>:<tool>.exe).
CSB_WINDOWS_TOOL_LABELS = [
    "//tools/csb-applypatch:csb-applypatch.exe",
    "//tools/csb-resolve:csb-resolve.exe",
    "//tools/csb-winacl:csb-winacl.exe",
]

def windows_basename():
    return "csb-%s-%s" % (CSB_VERSION, WINDOWS_TRIPLE)

def _csb_windows_zip_impl(ctx):
    entries = []
    for tool in ctx.attr.tools:
        for f in tool[DefaultInfo].files.to_list():
            if f.basename.endswith(".exe"):
                entries.append(("0755", "bin/" + f.basename, f))
    for doc in ctx.files.docs:
        entries.append(("0644", "share/doc/csb/" + doc.basename, doc))
    entries.append(("0644", "LICENSE", ctx.file.license))
    out = ctx.actions.declare_file(windows_basename() + ".zip")
    spec = ctx.actions.declare_file(ctx.label.name + ".spec")
    ctx.actions.write(spec, "".join(["%s\t%s\t%s\n" % (m, a, f.path) for m, a, f in entries]))
    test_spec = ctx.actions.declare_file(ctx.label.name + ".runfiles.spec")
    ctx.actions.write(test_spec, "".join(["%s\t%s\t%s\n" % (m, a, f.short_path) for m, a, f in entries]))
    inputs = [f for _, _, f in entries]
    ctx.actions.run(
        executable = ctx.executable._mkzip,
        arguments = [out.path, spec.path],
        inputs = inputs + [spec, ctx.file._mktar],
        outputs = [out],
        mnemonic = "CsbWindowsZip",
        progress_message = "Packing %s" % out.short_path,
    )
    return [
        DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out])),
        OutputGroupInfo(spec = depset([test_spec]), inputs = depset(inputs)),
    ]

csb_windows_zip = rule(
    implementation = _csb_windows_zip_impl,
    doc = "csb-VERSION-x86_64-windows.zip: bin/*.exe, share/doc/csb/, LICENSE.",
    attrs = {
        "tools": attr.label_list(mandatory = True, doc = "Windows tool binaries (NAME.exe), shipped in bin/"),
        "docs": attr.label_list(allow_files = [".md"]),
        "license": attr.label(mandatory = True, allow_single_file = True),
        "_mkzip": attr.label(
            default = "//release:mkzip.py",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
        # mkzip.py reads SPEC with mktar.py's read_spec
        "_mktar": attr.label(default = "//release:mktar.py", allow_single_file = True),
    },
)
