"""Release rules: the reproducible tarball and its DotSlash files."""

load("@csb_version//:version.bzl", "CSB_VERSION")
load(":archive.bzl", "doc_entries", "pack_archive")

TARGET_TRIPLE = "x86_64-linux-musl"

def release_basename():
    return "csb-%s-%s" % (CSB_VERSION, TARGET_TRIPLE)

def _entries(ctx):
    """[(mode, archive path, File)] for everything in the tarball."""
    entries = []
    for tool in ctx.attr.tools:
        exe = tool[DefaultInfo].files_to_run.executable
        if not exe:
            fail("%s is not an executable" % tool.label)
        entries.append(("0755", "bin/" + exe.basename, exe))
    entries.append(("0755", "libexec/csb/bwrap", ctx.executable.bwrap))
    entries += [("0644", "share/man/man1/" + page.basename, page) for page in ctx.files.man]
    return entries + doc_entries(ctx)

def _csb_release_tarball_impl(ctx):
    return pack_archive(
        ctx,
        out = ctx.actions.declare_file(release_basename() + ".tar.gz"),
        entries = _entries(ctx),
        packer = ctx.executable._mktar,
        mnemonic = "CsbTarball",
    )

csb_release_tarball = rule(
    implementation = _csb_release_tarball_impl,
    doc = "csb-VERSION-x86_64-linux-musl.tar.gz: bin/, libexec/csb/bwrap, share/doc/csb/, share/man/man1/, LICENSE.",
    attrs = {
        "tools": attr.label_list(mandatory = True, doc = "tool binaries, shipped in bin/"),
        "bwrap": attr.label(mandatory = True, executable = True, cfg = "target"),
        "docs": attr.label_list(allow_files = [".md"]),
        "man": attr.label_list(allow_files = [".1"], doc = "manual pages, shipped in share/man/man1/"),
        "license": attr.label(mandatory = True, allow_single_file = True),
        "_mktar": attr.label(
            default = "//release:mktar.py",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
    },
)

def _csb_dotslash_impl(ctx):
    tarball = ctx.file.tarball
    outs = [ctx.actions.declare_file("%s/%s" % (ctx.label.name, t)) for t in ctx.attr.tools]
    ctx.actions.run(
        executable = ctx.executable._dotslash,
        arguments = [tarball.path, CSB_VERSION, ctx.attr.url_template, outs[0].dirname] + ctx.attr.tools,
        inputs = [tarball],
        outputs = outs,
        mnemonic = "CsbDotSlash",
        progress_message = "Writing DotSlash files for %s" % tarball.basename,
    )
    return [DefaultInfo(files = depset(outs), runfiles = ctx.runfiles(files = outs))]

csb_dotslash = rule(
    implementation = _csb_dotslash_impl,
    doc = "One DotSlash file per tool (NAME/<tool>) pointing into the release tarball.",
    attrs = {
        "tarball": attr.label(mandatory = True, allow_single_file = [".tar.gz"]),
        "tools": attr.string_list(mandatory = True),
        "url_template": attr.string(mandatory = True),
        "_dotslash": attr.label(
            default = "//release:dotslash.py",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
    },
)
