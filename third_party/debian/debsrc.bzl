"""`debian_source`: a Debian source package as a Bazel repository.

For the pinned `package`=`version` the rule

 1. looks for every pinned file (.dsc, orig tarball(s) and signatures,
    debian tarball) in the cache directory `$CSB_DEBSRC_CACHE/<package>/`
    (default `$HOME/.cache/csb/debsrc`); missing files are fetched with
    `apt-get source --download-only PACKAGE=VERSION` and stored there, so later
    fetches work offline;
 2. checks the sha256 of every file against the pin (third_party/debian/
    pins.bzl) and fails naming the file and both hashes on a mismatch;
 3. unpacks with `dpkg-source -x --no-copy` (which verifies the .dsc checksums
    and applies the Debian patches), removes upstream's Bazel files and
    overlays our BUILD file (plus any `overlay` files).

Pins are refreshed in one step with third_party/debian/refresh-pins.
"""

_REFRESH = "third_party/debian/refresh-pins"

def _cache_root(rctx):
    env = rctx.os.environ
    if env.get("CSB_DEBSRC_CACHE"):
        return rctx.path(env["CSB_DEBSRC_CACHE"])
    home = env.get("HOME")
    if not home:
        fail("csb: neither CSB_DEBSRC_CACHE nor HOME is set; cannot locate the Debian source cache")
    return rctx.path(home + "/.cache/csb/debsrc")

def _run(rctx, argv, what, quiet = True, timeout = 600, working_directory = ""):
    res = rctx.execute(argv, quiet = quiet, timeout = timeout, working_directory = working_directory)
    if res.return_code != 0:
        fail("csb: %s failed (exit %d): %s\n%s%s" % (
            what,
            res.return_code,
            " ".join([str(a) for a in argv]),
            res.stdout,
            res.stderr,
        ))
    return res

def _sha256(rctx, path):
    res = _run(rctx, ["sha256sum", "--", str(path)], "sha256sum")
    return res.stdout.split(" ")[0].strip()

def _apt_get_source(rctx, pkg, version, dest, lacking):
    """Downloads PKG=VERSION into dest; on failure, fails with `lacking` (why
    the cache could not be used) ahead of apt-get's own explanation."""
    rctx.report_progress("apt-get source --download-only %s=%s" % (pkg, version))
    if not rctx.which("apt-get"):
        fail(lacking + "apt-get not found; Debian source packages cannot be fetched on this machine. " +
             "Copy the files pinned in third_party/debian/pins.bzl into the cache directory instead.")
    res = rctx.execute(
        ["apt-get", "source", "--download-only", "-q", "%s=%s" % (pkg, version)],
        working_directory = str(dest),
        timeout = 1800,
        quiet = True,
    )
    if res.return_code == 0:
        return
    out = res.stdout + res.stderr
    if "Failed to fetch" in out or "Temporary failure resolving" in out or "Could not connect" in out:
        fail((lacking + "apt-get could not reach the mirror (offline?). Connect this machine to its apt mirror, or\n" +
              "copy the pinned files into the cache directory.\n\napt-get said:\n%s") % out)
    if "Can not find version" in out:
        fail((lacking + "Debian source %s=%s is pinned but no longer on the mirror.\n" +
              "It was most likely superseded by a security or point update (a newer +deb12uN).\n" +
              "Fix: run `%s` (refreshes every pin: version and sha256), review the diff of\n" +
              "third_party/debian/pins.bzl, build, and commit it.\n" +
              "(Or put the pinned files into %s/%s/ to keep building the old version.)\n\napt-get said:\n%s") %
             (pkg, version, _REFRESH, _cache_root(rctx), pkg, out))
    if "You must put some 'deb-src' URIs" in out or "Unable to find a source package" in out:
        fail((lacking + "apt cannot find source package %s: no deb-src entry is configured.\n" +
              "Fix: run `./dev.sh setup` (adds a deb-src entry derived from your apt sources and runs apt-get update).\n\napt-get said:\n%s") % (pkg, out))
    fail(lacking + "`apt-get source --download-only %s=%s` failed (exit %d):\n%s" % (pkg, version, res.return_code, out))

def _debian_source_impl(rctx):
    pkg = rctx.attr.package
    version = rctx.attr.version
    pins = rctx.attr.files
    if not pins:
        fail("csb: no files pinned for %s=%s in third_party/debian/pins.bzl" % (pkg, version))
    dscs = [f for f in pins if f.endswith(".dsc")]
    if len(dscs) != 1:
        fail("csb: pins for %s must list exactly one .dsc, got %s" % (pkg, dscs))

    cache = _cache_root(rctx)
    pkg_cache = rctx.path("%s/%s" % (cache, pkg))
    _run(rctx, ["mkdir", "-p", str(pkg_cache)], "creating cache directory")

    # 1. Fetch whatever the cache lacks (or holds with the wrong contents).
    missing = []
    why = []
    for name, want in sorted(pins.items()):
        p = rctx.path("%s/%s" % (pkg_cache, name))
        if not p.exists:
            missing.append(name)
            why.append("  %s: not in the cache\n" % name)
            continue
        have = _sha256(rctx, p)
        if have != want:
            missing.append(name)
            why.append(("  %s: sha256 mismatch (a damaged cached file, or a pin that `%s`\n" +
                        "    did not write)\n    pinned: %s\n    cached: %s\n") % (name, _REFRESH, want, have))
    if missing:
        # Said first if the download fails: a wrong pin or a half-filled
        # cache offline must name the file, not only apt's complaint.
        lacking = "csb: cached Debian source %s=%s in %s/ is incomplete:\n%s" % (
            pkg,
            version,
            pkg_cache,
            "".join(why),
        )
        dl = rctx.path("_download")
        _run(rctx, ["rm", "-rf", str(dl)], "cleaning download directory")
        _run(rctx, ["mkdir", "-p", str(dl)], "creating download directory")
        _apt_get_source(rctx, pkg, version, dl, lacking)
        got = sorted([f.basename for f in dl.readdir()])
        unpinned = [f for f in got if f not in pins]
        if unpinned:
            fail(("csb: apt-get source %s=%s downloaded files that are not pinned: %s\n" +
                  "Run `%s` to refresh the pins.") % (pkg, version, ", ".join(unpinned), _REFRESH))
        for name in missing:
            if name not in got:
                fail("csb: apt-get source %s=%s did not provide pinned file %s (got: %s). Run `%s`." %
                     (pkg, version, name, ", ".join(got), _REFRESH))
            f = dl.get_child(name)
            have = _sha256(rctx, f)
            if have != pins[name]:
                fail(("csb: sha256 mismatch for %s (Debian source %s=%s)\n" +
                      "  pinned:     %s\n  downloaded: %s\n" +
                      "The mirror served different bytes than were pinned. Do not just update the pin:\n" +
                      "find out why (run `%s` only if the Debian version itself changed).") %
                     (name, pkg, version, pins[name], have, _REFRESH))
            # Unique temporary name + rename: concurrent fetches (several
            # output bases share the cache) never see a partial file.
            _run(
                rctx,
                ["sh", "-c", 'set -e; t=$(mktemp -p "$1" ".$2.XXXXXX"); cp "$3" "$t"; chmod 0644 "$t"; mv -f "$t" "$1/$2"',
                 "store", str(pkg_cache), name, str(f)],
                "storing %s in the cache" % name,
            )
        _run(rctx, ["rm", "-rf", str(dl)], "cleaning download directory")

    # 2. Verify every file once more, where dpkg-source will read it.
    for name, want in pins.items():
        p = rctx.path("%s/%s" % (pkg_cache, name))
        have = _sha256(rctx, p)
        if have != want:
            fail("csb: sha256 mismatch for %s (Debian source %s=%s)\n  pinned: %s\n  cached: %s (%s)" %
                 (name, pkg, version, want, have, p))

    # 3. Unpack (checksums verified, patches applied) and overlay our files.
    rctx.report_progress("dpkg-source -x %s" % dscs[0])
    _run(rctx, ["rm", "-rf", "_unpack"], "cleaning unpack directory")
    _run(
        rctx,
        ["dpkg-source", "--require-strong-checksums", "-x", "--no-copy",
         "%s/%s" % (pkg_cache, dscs[0]), str(rctx.path("_unpack"))],
        "dpkg-source -x %s" % dscs[0],
    )
    _run(rctx, ["sh", "-c", "set -e; cd _unpack; for f in * .[!.]*; do [ -e \"$f\" ] || continue; mv -- \"$f\" ..; done; cd ..; rmdir _unpack"],
         "moving the unpacked tree into place")

    # Upstream's own Bazel files would shadow or split our packages.
    _run(rctx, ["find", ".", "(", "-name", "BUILD", "-o", "-name", "BUILD.bazel", "-o",
                "-name", "WORKSPACE", "-o", "-name", "WORKSPACE.bazel", ")", "-type", "f",
                "-delete"], "removing upstream Bazel files")
    rctx.symlink(rctx.attr.build_file, "BUILD.bazel")
    for label, dest in rctx.attr.overlay.items():
        rctx.symlink(label, dest)
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)
    rctx.file("DEBIAN_VERSION", "%s %s\n" % (pkg, version))

debian_source = repository_rule(
    implementation = _debian_source_impl,
    attrs = {
        "package": attr.string(mandatory = True, doc = "Debian source package name"),
        "version": attr.string(mandatory = True, doc = "exact Debian version"),
        "files": attr.string_dict(mandatory = True, doc = "file name -> sha256 of every downloaded file"),
        "build_file": attr.label(mandatory = True, allow_single_file = True),
        "overlay": attr.label_keyed_string_dict(allow_files = True, doc = "extra files: label -> path in the tree"),
    },
    environ = ["CSB_DEBSRC_CACHE", "HOME"],
)
