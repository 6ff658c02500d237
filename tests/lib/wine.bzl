"""The Wine suites of tests/resolve and tests/applypatch: a tool's Windows
build and a test-only batch build of it (tests/lib/winbatch.h) under Wine,
against the shipped Linux binary, driven by the package's wine_test.py on
tests/lib/wine.py."""

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

def csb_wine_test(name, tool, batch, args = [], data = []):
    """Runs `wine_test.py --linux //tools/TOOL --exe TOOL.exe --batch
    BATCH.exe ARGS...` from this package (needs Debian's wine64), with
    run_golden.py, wine_shared.txt and the shared helpers; `batch` is a
    csb_wine_batch target, `data` what the suite reads besides."""
    linux = "//tools/%s" % tool
    exe = "//tools/%s:%s.exe" % (tool, tool)
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
            "--batch",
            "$(location %s.exe)" % batch,
        ] + args,
        data = [
            "run_golden.py",
            "wine_shared.txt",
            "wine_test.py",
            batch + ".exe",
            "//tests/lib:golden",
            "//tests/lib:wine",
            linux,
            exe,
        ] + data,
    )
