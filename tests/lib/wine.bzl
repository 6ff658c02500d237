"""The Wine suites of tests/resolve, tests/applypatch and tests/winacl: a
tool's Windows build (and, for the first two, a test-only batch build of it,
tests/lib/winbatch.h) under Wine, against the shipped Linux binary, driven
by the package's wine_test.py on tests/lib/wine.py."""

load("//libs:defs.bzl", "CSB_COPTS", "csb_sh_test")
load("//third_party/mingw:mingw_binary.bzl", "csb_windows_binary")

def csb_wine_batch(name, srcs, tool_lib):
    """NAME.exe: the tool function of `tool_lib` behind the batch driver,
    every case of a suite in one Windows process (test-only)."""
    csb_windows_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        copts = CSB_COPTS,
        visibility = ["//visibility:private"],
        deps = [
            "//tests/lib:winbatch",
            tool_lib,
        ],
    )

def csb_wine_test(name, tool, batch = None, args = [], data = []):
    """Runs `wine_test.py --linux //tools/TOOL --exe TOOL.exe [--batch
    BATCH.exe] ARGS...` from this package (needs Debian's wine64), with
    run_golden.py and the shared helpers; `batch` is a csb_wine_batch
    target (None: the suite runs only the shipped exe), `data` what the
    suite reads besides."""
    linux = "//tools/%s" % tool
    exe = "//tools/%s:%s.exe" % (tool, tool)
    batch_args = []
    batch_data = []
    if batch:
        batch_args = ["--batch", "$(location %s.exe)" % batch]
        batch_data = [batch + ".exe"]
    csb_sh_test(
        name = name,
        size = "medium",
        # Wine keeps its server socket under /tmp.
        tags = ["no-sandbox"],
        srcs = ["//tests/lib:run_python.sh"],
        args = [
            "$(location wine_test.py)",
            "--linux",
            "$(location %s)" % linux,
            "--exe",
            "$(location %s)" % exe,
        ] + batch_args + args,
        data = [
            "run_golden.py",
            "wine_test.py",
            "//tests/lib:golden",
            "//tests/lib:wine",
            linux,
            exe,
        ] + batch_data + data,
    )
