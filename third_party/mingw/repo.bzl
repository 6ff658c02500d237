"""Repository rule that wraps Debian's mingw-w64 cross compiler as a
cc_toolchain for the os=windows platform (//third_party/mingw).

Debian's `mingw-w64` package provides `x86_64-w64-mingw32-gcc` in two
thread models; the `-posix` one is preferred (libs/paths uses pthreads,
which winpthreads provides and `-static` links in), and is all that
dev.sh installs (`gcc-mingw-w64-x86-64-posix`). The toolchain is
Bazel's own `unix_cc_toolchain_config` pointed at the cross tools:

  * everything links `-static` (no MinGW runtime DLLs), with the Win32
    import libraries csb's Windows code needs;
  * mingw-w64's C99 printf family (`__USE_MINGW_ANSI_STDIO`) and the
    Windows 10 API level (`_WIN32_WINNT=0x0A00`);
  * reproducible PE files: no link timestamp, no build id, no dates.

When the cross compiler is missing the generated toolchain still loads,
but its compiler is a script that fails with the package to install, so
only the Windows targets fail (with that message), not the whole build.
"""

_TOOLS = ["gcc", "ar", "ld", "nm", "objcopy", "objdump", "strip", "cpp", "gcov"]
_PREFIX = "x86_64-w64-mingw32-"

def _find(rctx, tool):
    for name in [_PREFIX + tool + "-posix", _PREFIX + tool]:
        p = rctx.which(name)
        if p:
            return str(p)
    return None

def _include_dirs(rctx, gcc):
    res = rctx.execute([gcc, "-E", "-x", "c", "-", "-v"], environment = {"LC_ALL": "C"})
    dirs = []
    active = False
    for line in res.stderr.splitlines():
        if line.startswith("#include <...> search starts here"):
            active = True
            continue
        if line.startswith("End of search list"):
            break
        if active:
            dirs.append(str(rctx.path(line.strip()).realpath))
    return dirs

def _mingw_toolchain_impl(rctx):
    tools = {}
    missing = []
    for t in _TOOLS:
        p = _find(rctx, t)
        if p == None and t in ["gcc", "ar", "ld", "cpp", "strip", "nm", "objcopy", "objdump"]:
            missing.append(_PREFIX + t)
        tools[t] = p or "/bin/false"
    builtin_dirs = []
    if missing:
        rctx.file(
            "missing.sh",
            "#!/bin/sh\necho 'csb: %s not found. Install Debian'\"'\"'s mingw-w64 (./dev.sh test installs everything).' >&2\nexit 1\n" % ", ".join(missing),
            executable = True,
        )
        for t in _TOOLS:
            tools[t] = str(rctx.path("missing.sh"))
    else:
        builtin_dirs = _include_dirs(rctx, tools["gcc"])
    substitutions = {
        "%{builtin_dirs}": repr(builtin_dirs),
    }
    for t, p in tools.items():
        substitutions["%{" + t + "}"] = p
    rctx.template("BUILD.bazel", rctx.attr._build_tpl, substitutions, executable = False)
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)

csb_mingw_toolchain = repository_rule(
    implementation = _mingw_toolchain_impl,
    attrs = {
        "_build_tpl": attr.label(default = Label("//third_party/mingw:BUILD.toolchain.tpl")),
    },
    environ = ["PATH"],
    local = True,
)
