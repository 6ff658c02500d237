"""What the release archives share (release.bzl: the tarball, windows.bzl:
the Windows zip): the documentation entries, and packing entries with a
writer script whose spec the reproducibility tests repack."""

def doc_entries(ctx):
    """share/doc/csb/<doc> for each of ctx.files.docs and LICENSE
    (ctx.file.license), as [(mode, archive path, File)]."""
    entries = [("0644", "share/doc/csb/" + doc.basename, doc) for doc in ctx.files.docs]
    entries.append(("0644", "LICENSE", ctx.file.license))
    return entries

def _spec(entries, runfiles):
    return "".join([
        "%s\t%s\t%s\n" % (m, a, f.short_path if runfiles else f.path)
        for m, a, f in entries
    ])

def pack_archive(ctx, out, entries, packer, mnemonic, packer_inputs = []):
    """Packs `entries` [(mode, archive path, File)] into the file `out` with
    `packer OUT SPEC` (SPEC has one MODE<TAB>ARCHIVE PATH<TAB>FILE line per
    entry; `packer_inputs` are further files the packer reads).

    Returns the rule's providers: the archive (also as runfiles) and the
    output groups `spec`, the same entries with runfiles paths, and
    `inputs`, for the reproducibility test that packs them again."""
    spec = ctx.actions.declare_file(ctx.label.name + ".spec")
    ctx.actions.write(spec, _spec(entries, runfiles = False))
    test_spec = ctx.actions.declare_file(ctx.label.name + ".runfiles.spec")
    ctx.actions.write(test_spec, _spec(entries, runfiles = True))
    inputs = [f for _, _, f in entries]
    ctx.actions.run(
        executable = packer,
        arguments = [out.path, spec.path],
        inputs = inputs + [spec] + packer_inputs,
        outputs = [out],
        mnemonic = mnemonic,
        progress_message = "Packing %s" % out.short_path,
    )
    return [
        DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out])),
        OutputGroupInfo(spec = depset([test_spec]), inputs = depset(inputs)),
    ]
