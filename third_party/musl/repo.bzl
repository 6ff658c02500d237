"""Repository rule that wraps the machine's musl-gcc as a static cc_toolchain.

Debian's `musl-tools` ships `musl-gcc`, a specs wrapper around the system gcc
that compiles against musl's headers with `-nostdinc`. We configure Bazel's
own `unix_cc_toolchain_config` around it:

  * everything links `-static`, with no libstdc++ (C++ sources, e.g. BoringSSL's
    libssl, may only use header-only C++);
  * Linux kernel UAPI headers (`linux/`, `asm/`, `asm-generic/`) come from a
    private directory in this repository offered with `-idirafter`, so glibc's
    /usr/include never leaks into musl builds;
  * C++ compiles see g++'s header directories as `-isystem`.

The generated repository (`@csb_musl`) provides `//:toolchain`, registered in
WORKSPACE; it only matches platforms carrying `//third_party/musl:musl`.
"""

_KERNEL_DIRS = {
    "linux": ["/usr/include/linux"],
    "asm-generic": ["/usr/include/asm-generic"],
    "asm": ["/usr/include/x86_64-linux-gnu/asm", "/usr/include/asm"],
}

def _fail_missing(what, hint):
    fail("csb: %s not found. %s (`./dev.sh test` installs everything)." % (what, hint))

def _cxx_include_dirs(rctx, gxx):
    res = rctx.execute([gxx, "-E", "-x", "c++", "-", "-v"], environment = {"LC_ALL": "C"})
    dirs = []
    active = False
    for line in res.stderr.splitlines():
        if line.startswith("#include <...> search starts here"):
            active = True
            continue
        if line.startswith("End of search list"):
            break
        d = line.strip()
        if active and "/c++/" in d + "/":
            dirs.append(str(rctx.path(d)))
    if not dirs:
        fail("csb: could not find g++'s C++ header directories (output of `%s -E -x c++ - -v`):\n%s" % (gxx, res.stderr))
    return dirs

def _musl_toolchain_impl(rctx):
    musl_gcc = rctx.which("musl-gcc")
    if not musl_gcc:
        _fail_missing("musl-gcc", "Install Debian's musl-tools")
    gxx = rctx.which("g++")
    if not gxx:
        _fail_missing("g++", "Install Debian's g++")
    tools = {}
    for t in ["ar", "ld", "nm", "objcopy", "objdump", "strip", "cpp", "gcov"]:
        p = rctx.which(t)
        if not p:
            _fail_missing(t, "Install Debian's binutils/gcc")
        tools[t] = str(p)

    # Private kernel-header directory: only the UAPI trees musl programs need.
    for name, candidates in _KERNEL_DIRS.items():
        found = None
        for c in candidates:
            if rctx.path(c + "/").exists:
                found = c
                break
        if not found:
            _fail_missing("kernel headers (%s)" % candidates[0], "Install Debian's linux-libc-dev")
        rctx.symlink(found, "kernel/include/" + name)
    kernel_include = str(rctx.path("kernel/include"))

    cxx_dirs = _cxx_include_dirs(rctx, gxx)
    cxx_flags = []
    for d in cxx_dirs:
        cxx_flags += ["-isystem", d]
    cxx_flags += [
        # libstdc++'s os_defines.h asks glibc for its version.
        "-D__GLIBC_PREREQ(a,b)=0",
        # No libstdc++/libsupc++ at link time: no exceptions, RTTI or guards.
        "-fno-exceptions",
        "-fno-rtti",
        "-fno-threadsafe-statics",
    ]

    gcc_res = rctx.execute([musl_gcc, "-print-file-name=include"])
    gcc_include = gcc_res.stdout.strip()
    builtin_dirs = [
        "/usr/include/x86_64-linux-musl",
        gcc_include,
        kernel_include,
    ] + cxx_dirs + [str(rctx.path(d).realpath) for d in [
        "/usr/include/linux",
        "/usr/include/asm-generic",
    ]] + ["/usr/include/x86_64-linux-gnu/asm"]

    substitutions = {
        "%{musl_gcc}": str(musl_gcc),
        "%{kernel_include}": kernel_include,
        "%{cxx_flags}": repr(cxx_flags),
        "%{builtin_dirs}": repr(builtin_dirs),
    }
    for t, p in tools.items():
        substitutions["%{" + t + "}"] = p
    rctx.template("BUILD.bazel", rctx.attr._build_tpl, substitutions, executable = False)
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)

csb_musl_toolchain = repository_rule(
    implementation = _musl_toolchain_impl,
    attrs = {
        "_build_tpl": attr.label(default = Label("//third_party/musl:BUILD.toolchain.tpl")),
    },
    environ = ["PATH"],
    local = True,
)
