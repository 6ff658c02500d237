"""`csb_version_repo`: exposes the top-level VERSION file to Starlark.

Release outputs are named after the version (csb-VERSION-x86_64-linux-musl
.tar.gz), and Bazel must know output names before anything is built, so the
VERSION file is read here and offered as `@csb_version//:version.bzl`
(CSB_VERSION). Bazel re-runs this rule whenever VERSION changes.
"""

def _csb_version_repo_impl(rctx):
    raw = rctx.read(rctx.path(rctx.attr.version_file)).strip()
    if not raw or " " in raw or "\n" in raw or "\t" in raw:
        fail("csb: VERSION must contain exactly one version string, got %r" % raw)
    for c in raw.elems():
        if not (c.isalnum() or c in ".-+~"):
            fail("csb: VERSION contains an unexpected character %r: %r" % (c, raw))
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)
    rctx.file("BUILD.bazel", "exports_files([\"version.bzl\"])\n")
    rctx.file("version.bzl", "\"\"\"Generated from //:VERSION.\"\"\"\n\nCSB_VERSION = \"%s\"\n" % raw)

csb_version_repo = repository_rule(
    implementation = _csb_version_repo_impl,
    attrs = {
        "version_file": attr.label(default = Label("//:VERSION"), allow_single_file = True),
    },
)
