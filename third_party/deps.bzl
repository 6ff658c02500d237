"""Third-party repositories of csb (called from WORKSPACE).

Every dependency is built from source by Bazel: Debian source packages pinned
in //third_party/debian:pins.bzl (fetched by debian_source), and GoogleTest
from Debian's `googletest` binary package (/usr/src/googletest). Nothing is
vendored in the repository; only our BUILD files live here.
"""

load("//third_party/debian:debsrc.bzl", "debian_source")
load("//third_party/debian:pins.bzl", "DEBIAN_PINS")

def _debian(name, package, build_file, **kw):
    pin = DEBIAN_PINS[package]
    debian_source(
        name = name,
        package = package,
        version = pin["version"],
        files = pin["files"],
        build_file = build_file,
        **kw
    )

def csb_third_party_deps():
    _debian(
        name = "boringssl",
        package = "android-platform-external-boringssl",
        build_file = "//third_party/boringssl:boringssl.BUILD",
    )
    _debian(
        name = "libseccomp",
        package = "libseccomp",
        build_file = "//third_party/libseccomp:libseccomp.BUILD",
    )
    _debian(
        name = "cjson",
        package = "cjson",
        build_file = "//third_party/cjson:cjson.BUILD",
    )
    _debian(
        name = "libcap",
        package = "libcap2",
        build_file = "//third_party/libcap:libcap.BUILD",
    )
    _debian(
        name = "bubblewrap",
        package = "bubblewrap",
        build_file = "//third_party/bubblewrap:bubblewrap.BUILD",
        overlay = {"//third_party/bubblewrap:config.h": "csb/config.h"},
    )
    native.new_local_repository(
        name = "googletest",
        path = "/usr/src/googletest",
        build_file = "//third_party/googletest:googletest.BUILD",
    )
