#!/usr/bin/env python3
"""csb-resolve and csb-proxy with N network domains and N/4 Unix sockets.

The profile's `network.domains` table is split between the system and the
user layer (each file within the 4 MiB limit); a trusted project layer
turns `features.network_proxy` on with a table of its own that denies
every tenth of those domains and allows N/10 more, and allows N/4 Unix
socket paths. The document must hold exactly the merged table. csb-proxy
then loads that document and, for a client run under it, must refuse the
denied domains as `denied`, a host on neither list as `not_allowed`, an
unlisted socket path as not allowed, and pass an allowed one on (it does
not exist: 502).

Each run has a time limit of 90 seconds, far above what a run takes (a
few seconds with 200,000 domains): merging the tables key by key and
loading the lists rule by rule took time quadratic in them, minutes.

    many_domains_test.py CSB_RESOLVE CSB_PROXY [N]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

LIMIT_SECONDS = 90

# Run under csb-proxy: one request per line of argv[1:] (HOST or
# HOST|SOCKET) through HTTP_PROXY, each status line and body on stdout.
CLIENT = r"""
import os, socket, sys
addr = os.environ["HTTP_PROXY"][len("http://"):]
host, port = addr.rsplit(":", 1)
for arg in sys.argv[1:]:
    target, _, sock = arg.partition("|")
    head = "GET http://%s/ HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (target, target)
    if sock:
        head += "x-unix-socket: %s\r\n" % sock
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall((head + "\r\n").encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    status, _, rest = data.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    print(status.decode(), body.decode())
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def domains(lo, hi):
    return "".join('"d%d.ex" = "allow"\n' % i for i in range(lo, hi))


def expected(n):
    want = {"d%d.ex" % i: "deny" if i % 10 == 0 else "allow" for i in range(n)}
    want.update({"x%d.ex" % i: "allow" for i in range(0, n, 10)})
    return want


def main():
    resolve = os.path.abspath(sys.argv[1])
    proxy = os.path.abspath(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200000
    m = n // 4
    top = os.path.realpath(tempfile.mkdtemp(prefix="many_domains."))
    try:
        home = os.path.join(top, "home")
        repo = os.path.join(top, "repo")
        os.makedirs(os.path.join(repo, ".git"))
        system = os.path.join(top, "system.toml")
        write(system, "[permissions.p.network.domains]\n" + domains(0, n // 2))
        write(os.path.join(home, ".csb", "config.toml"),
              'default_permissions = "p"\n[projects."%s"]\ntrust_level = "trusted"\n' % repo
              + '[permissions.p.filesystem]\n":root" = "read"\n[permissions.p.network]\nenabled = true\n'
              + "[permissions.p.network.domains]\n" + domains(n // 2, n))
        write(os.path.join(repo, ".csb", "config.toml"),
              "[features.network_proxy]\nenabled = true\n[features.network_proxy.domains]\n"
              + "".join('"d%d.ex" = "deny"\n"x%d.ex" = "allow"\n' % (i, i) for i in range(0, n, 10))
              + "[permissions.p.network.unix_sockets]\n"
              + "".join('"/s/%d" = "allow"\n' % i for i in range(m)))
        env = {"HOME": home, "PATH": "/usr/bin:/bin"}
        p = subprocess.run([resolve, "--system-config", system, "--requirements", "/dev/null"],
                           env=env, cwd=repo, capture_output=True, text=True, timeout=LIMIT_SECONDS)
        if p.returncode != 0:
            raise SystemExit("csb-resolve failed (%d): %s" % (p.returncode, p.stderr[:2000]))
        doc = json.loads(p.stdout)
        net = doc["network"]
        if net["mode"] != "proxy" or set(net["proxy"]) != {"domains"}:
            raise SystemExit("network: mode %r, proxy keys %r" % (net["mode"], sorted(net["proxy"])))
        if net["proxy"]["domains"] != expected(n):
            raise SystemExit("domains differ (%d of them)" % len(net["proxy"]["domains"]))
        if net["unix_sockets"] != {"/s/%d" % i: "allow" for i in range(m)}:
            raise SystemExit("unix_sockets differ (%d of them)" % len(net["unix_sockets"]))
        policy = os.path.join(top, "policy.json")
        write(policy, p.stdout)
        requests = ["d0.ex", "d%d.ex" % (n - 10), "other.ex", "localhost|/s/%d" % (m - 1),
                    "localhost|/t/0"]
        p = subprocess.run([proxy, "--policy", policy, "--", sys.executable, "-c", CLIENT] + requests,
                           env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                           timeout=LIMIT_SECONDS)
        if p.returncode != 0:
            raise SystemExit("csb-proxy failed (%d): %s" % (p.returncode, p.stderr[:2000]))

        def blocked(host, reason, message):
            return ('HTTP/1.1 403 Forbidden {"status":"blocked","host":"%s","reason":"%s",'
                    '"decision":"deny","source":"baseline_policy","protocol":"http","port":80,'
                    '"message":"%s"}' % (host, reason, message))
        want = [
            blocked("d0.ex", "denied", "Domain denied by the sandbox policy."),
            blocked("d%d.ex" % (n - 10), "denied", "Domain denied by the sandbox policy."),
            blocked("other.ex", "not_allowed", "Domain not in allowlist."),
            "HTTP/1.1 502 Bad Gateway unix socket proxy failed",
            'HTTP/1.1 403 Forbidden {"status":"blocked","host":"unix-socket","reason":"not_allowed"}',
        ]
        got = p.stdout.splitlines()
        if got != want:
            raise SystemExit("csb-proxy answers:\n%s\nwanted:\n%s" % ("\n".join(got), "\n".join(want)))
        print("ok: %d domains and %d unix sockets" % (len(expected(n)), m))
    finally:
        shutil.rmtree(top)


if __name__ == "__main__":
    main()
