"""The csb-bwrap suites of tests/bwrap (behaviour) and tests/escape."""

load("//libs:defs.bzl", "csb_sh_test")

def csb_bwrap_suite(name, data):
    """NAME_test runs NAME_test.sh (real sandboxes on this machine) as the
    test's user, root in CI; NAME_unpriv_test runs it with --unprivileged:
    run by root, the suite runs again as uid 65534 (tests/lib/unpriv.py),
    and fails where this host forbids unprivileged user namespaces unless
    CSB_TEST_ALLOW_NO_USERNS=1. `data`: what the suite runs, besides the
    shared helpers. Exclusive: the cases time sandboxes and signals."""
    for suffix, args in [("_test", []), ("_unpriv_test", ["--unprivileged"])]:
        csb_sh_test(
            name = name + suffix,
            size = "medium",
            srcs = [name + "_test.sh"],
            args = args,
            data = data + ["//tests/lib:sandbox"],
            tags = ["exclusive"],
        )
