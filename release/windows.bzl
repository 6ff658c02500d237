"""The Windows release: csb-VERSION-x86_64-windows.zip (byte-for-byte
reproducible, see mkzip.py). Holds the static mingw-w64 builds of the tools
that run on Windows (bin/*.exe), the docs and the LICENSE."""

load("@csb_version//:version.bzl", "CSB_VERSION")
load(":archive.bzl", "doc_entries", "pack_archive")

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
    return pack_archive(
        ctx,
        out = ctx.actions.declare_file(windows_basename() + ".zip"),
        entries = entries + doc_entries(ctx),
        packer = ctx.executable._mkzip,
        mnemonic = "CsbWindowsZip",
        packer_inputs = [ctx.file._mktar],
    )

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
