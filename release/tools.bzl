"""The binaries csb ships (single source of truth for release and tests)."""

CSB_TOOLS = [
    "csb-resolve",
    "csb-bwrap",
    "csb-seatbelt",
    "csb-winacl",
    "csb-proxy",
    "csb-applypatch",
]

# //tools/<tool>:<tool> - the static musl binary of each tool.
CSB_TOOL_LABELS = ["//tools/%s:%s" % (t, t) for t in CSB_TOOLS]

# Shipped as libexec/csb/bwrap.
CSB_BWRAP_LABEL = "//third_party:bwrap"
