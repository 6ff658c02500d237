#!/usr/bin/env python3
"""Behaviour tests for csb-proxy with real clients (curl, Python urllib, git)
against origin servers on loopback (plain HTTP, TLS, a Unix socket, UDP).

Environment: CSB_PROXY (the binary under test), CSB_TESTCERT (the test CA
helper). Needs curl, git, python3; the rebinding test also needs unshare and
ip (it runs in a private network namespace). Nothing here leaves loopback.
"""
import datetime
import http.server
import json
import os
import pty
import re
import resource
import select
import shutil
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import policy_gen  # noqa: E402

BIN = os.environ.get("CSB_PROXY", "")
TESTCERT = os.environ.get("CSB_TESTCERT", "")
BWRAP = os.environ.get("CSB_BWRAP", "")          # csb-bwrap, for SandboxEndToEnd
BUBBLEWRAP = os.environ.get("CSB_BUBBLEWRAP", "")  # the bubblewrap it should use
TMP = tempfile.mkdtemp(prefix="pxtest", dir=os.environ.get("TEST_TMPDIR"))
NAMES = ["allowed.test", "api.wild.test", "deep.api.wild.test", "wild.test", "apex.test", "sub.apex.test",
         "denied.test", "other.test", "evilallowed.test", "hooked.test", "ask.test", "once.test", "never.test",
         "die.test", "dedupe.test", "odd.test", "localhost.test", "rebind.test"]
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PROXY_VARS = [k for k in os.environ if k.lower().endswith("_proxy") or k.lower() in (
    "ssl_cert_file", "ssl_cert_dir", "requests_ca_bundle", "curl_ca_bundle", "git_ssl_cainfo",
    "node_extra_ca_certs")]


def base_env():
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS and not k.startswith("CSB_NETWORK")}
    env["HOME"] = TMP
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


# ---- origin servers ----------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te.lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    while True:
                        t = self.rfile.readline()
                        if t in (b"\r\n", b""):
                            return data
                        self.trailers.append(t.decode("latin-1").rstrip("\r\n"))
                data += self.rfile.read(n)
                self.rfile.read(2)
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body, ctype="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        srv = self.server
        srv.requests += 1
        srv.log.append((self.command, self.path))
        self.trailers = []
        body = self._body()
        path = self.path
        if path.startswith("/files/"):
            fp = os.path.join(srv.files, path[len("/files/"):].split("?")[0])
            if os.path.isfile(fp):
                with open(fp, "rb") as f:
                    self._send(200, f.read(), "application/octet-stream")
            else:
                self._send(404, b"not found", "text/plain")
            return
        if path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for part in (b"one,", b"two,", b"three"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if path.startswith("/big"):
            n = int(path.split("=")[1])
            self._send(200, b"x" * n, "application/octet-stream")
            return
        if path.startswith("/pattern"):
            self._send(200, pattern(int(path.split("=")[1])), "application/octet-stream")
            return
        if path.startswith("/close"):
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until-close body")
            self.close_connection = True
            return
        info = {"method": self.command, "path": path, "body": body.decode("latin-1"),
                "headers": {k.lower(): v for k, v in self.headers.items()}, "server": srv.label,
                "trailers": self.trailers}
        self._send(200, json.dumps(info).encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _handle


class Cl0Handler(Handler):
    """Reads no body on GET, HEAD or OPTIONS, whatever their framing says (the
    "CL.0" reading of some servers): the bytes behind such a head are parsed
    as the next request on the connection."""

    def _body(self):
        return b"" if self.command in ("GET", "HEAD", "OPTIONS") else super()._body()


class Origin(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, label="plain", tls_dir=None, family=socket.AF_INET, host="127.0.0.1", files=None,
                 handler=None):
        self.address_family = family
        self.requests = 0
        self.log = []  # (method, target) of every request, in order
        self.connections = 0
        self.label = label
        self.files = files or TMP
        super().__init__((host, 0), handler or Handler)
        if tls_dir:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(tls_dir, "server.pem"), os.path.join(tls_dir, "server.key"))
            self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def get_request(self):
        s, a = super().get_request()
        self.connections += 1
        s.settimeout(10)
        return s, a

    def handle_error(self, request, client_address):
        pass

    def stop(self):
        self.shutdown()
        self.server_close()


class UnixOrigin(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path):
        self.requests = 0
        self.log = []
        self.label = "unix"
        self.files = TMP
        super().__init__(path, UnixHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class UnixHandler(Handler):
    def address_string(self):
        return "unix"


class TcpOrigin:
    """A loopback TCP listener serving each connection on a thread of its own
    with `serve(*self.accepted(conn))` (subclasses define both)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def accepted(self, c):
        return (c,)

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=self.accepted(c), daemon=True).start()

    def stop(self):
        self.sock.close()


def read_head(c, buf):
    """(head, rest) of the next request head on socket c, given the bytes
    `buf` already read from it; None when the peer closed first."""
    while b"\r\n\r\n" not in buf:
        chunk = c.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


class ScriptedOrigin(TcpOrigin):
    """A TCP origin that answers with exact bytes: `script(conn, n)` serves
    the n-th request read from conn (bytes; (bytes, True) to close after
    them; None to close). Keeps every head and body it read in `received`."""

    def __init__(self, script):
        self.script = script
        self.received = []
        super().__init__()

    def serve(self, c):
        c.settimeout(10)
        buf = b""
        try:
            while True:
                got = read_head(c, buf)
                if got is None:
                    return
                head, buf = got
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                while m and len(buf) < int(m.group(1)):
                    buf += c.recv(65536)
                n = int(m.group(1)) if m else 0
                self.received.append(head + b"\r\n\r\n" + buf[:n])
                buf = buf[n:]
                answer = self.script(c, len(self.received))
                if answer is None:
                    return
                if isinstance(answer, tuple):
                    c.sendall(answer[0])
                    return
                c.sendall(answer)
        except OSError:
            pass
        finally:
            c.close()


class UdpEcho:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                return
            self.sock.sendto(b"echo:" + data, addr)


# ---- the proxy ------------------------------------------------------------------------------------


def policy_doc(network):
    doc = policy_gen.doc(TMP, [("/", "read", ":root")], net="proxy", local_binding=True,
                         profile=(":workspace", "builtin"), projection_error="custom", roots=[])
    doc["network"].update(network)
    return doc


DEFAULT_DOMAINS = {"allowed.test": "allow", "*.wild.test": "allow", "**.apex.test": "allow",
                   "denied.test": "deny", "hooked.test": "allow", "localhost.test": "allow",
                   "rebind.test": "allow"}

_counter = [0]


def pattern(n):
    """n bytes whose order can be checked (period 251)."""
    return (bytes(range(251)) * (n // 251 + 1))[:n]


def pipe_fds(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("pipe:")
        except OSError:
            pass
    return n


def fresh_dir(name):
    _counter[0] += 1
    d = os.path.join(TMP, "%s%d" % (name, _counter[0]))
    os.makedirs(d)
    return d


class Proxy:
    def __init__(self, proxy=None, network=None, args=(), hosts=None, env=None, config=None, policy=True,
                 upstream_ca=None, ca_dir=None, nofile=None):
        self.dir = fresh_dir("proxy")
        net = dict(network or {})
        p = {"domains": dict(DEFAULT_DOMAINS)}
        p.update(proxy or {})
        net["proxy"] = p
        self.policy = os.path.join(self.dir, "policy.json")
        with open(self.policy, "w") as f:
            json.dump(policy_doc(net), f)
        self.hosts = os.path.join(self.dir, "hosts")
        self.write_hosts(hosts if hosts is not None and hosts is not False else {n: "127.0.0.1" for n in NAMES})
        self.audit_path = os.path.join(self.dir, "audit.jsonl")
        self.ca_dir = ca_dir or os.path.join(self.dir, "ca")
        self.stderr_path = os.path.join(self.dir, "stderr")
        cmd = [BIN]
        if policy:
            cmd += ["--policy", self.policy]
        if config is not None:
            cpath = os.path.join(self.dir, "config.toml")
            with open(cpath, "w") as f:
                f.write(config)
            cmd += ["--config", cpath]
        if hosts is not False:  # False: the system's resolver
            cmd += ["--hosts-file", self.hosts]
        cmd += ["--audit", self.audit_path, "--ca-dir", self.ca_dir,
                "--upstream-ca", upstream_ca or os.path.join(CERTS, "ca.pem"), "--print-env", "--format", "json", "-v"]
        # Single-valued options are given once: a test's own listener
        # replaces the default one.
        for opt, default in (("--listen", "127.0.0.1:0"), ("--socks-listen", "127.0.0.1:0")):
            if not any(a == opt or a.startswith(opt + "=") for a in args):
                cmd += [opt, default]
        cmd += list(args)
        r, w = os.pipe()
        cmd += ["--ready-fd", str(w)]
        self.cmd = cmd
        self.errf = open(self.stderr_path, "w")
        penv = base_env()
        penv.update(env or {})
        def limit():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.errf,
                                     pass_fds=(w,), env=penv, preexec_fn=limit)
        os.close(w)
        ready = b""
        deadline = time.monotonic() + 20
        while not ready.endswith(b"\n") and time.monotonic() < deadline:
            rl, _, _ = select.select([r], [], [], 0.5)
            if rl:
                chunk = os.read(r, 4096)
                if not chunk:
                    break
                ready += chunk
        os.close(r)
        if not ready:
            self.proc.wait(10)
            raise RuntimeError("proxy did not start (exit %s): %s" % (self.proc.returncode, self.stderr()))
        self.addrs = json.loads(ready)
        self.http = "http://" + self.addrs["http"]
        self.socks = "socks5h://" + self.addrs.get("socks", "")
        self.changes = json.loads(self.proc.stdout.readline())

    def write_hosts(self, mapping):
        tmp = self.hosts + ".new"
        with open(tmp, "w") as f:
            for name, addrs in mapping.items():
                for a in ([addrs] if isinstance(addrs, str) else addrs):
                    f.write("%s %s\n" % (a, name))
        os.rename(tmp, self.hosts)

    def env(self, extra=None):
        e = base_env()
        for k, v in self.changes.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        e.update(extra or {})
        return e

    def audit(self):
        if not os.path.exists(self.audit_path):
            return []
        with open(self.audit_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stderr(self):
        if not self.errf.closed:
            self.errf.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errf.close()
        self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        code = self.stop()
        if code not in (0, None) and exc[0] is None:
            raise AssertionError("proxy exited with %s: %s" % (code, self.stderr()))


def run(cmd, env=None, timeout=30, input=None):
    return subprocess.run(cmd, env=env, timeout=timeout, input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)


def curl(args, env, timeout=30):
    return run(["curl", "-sS", "--max-time", "20"] + args, env=env, timeout=timeout)


def raw(addr, data, timeout=10, read_until_close=True):
    """Sends bytes to host:port and returns what comes back until EOF."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
            if not read_until_close:
                break
        return out
    finally:
        s.close()


def status_of(resp):
    # skip the proxy's answer to curl's CONNECT
    while resp.startswith(b"HTTP/1.1 200 Connection established\r\n") and resp.partition(b"\r\n\r\n")[2]:
        resp = resp.partition(b"\r\n\r\n")[2]
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    return int(m.group(1)) if m else None


CERTS = None
ORIGIN = TLS = None


def setUpModule():
    global CERTS, ORIGIN, TLS
    if not BIN or not os.path.exists(BIN):
        raise RuntimeError("CSB_PROXY does not point at the binary")
    for tool in ("curl", "git"):
        if not shutil.which(tool):
            raise RuntimeError("%s is required by these tests (see the setup script)" % tool)
    CERTS = fresh_dir("certs")
    subprocess.run([TESTCERT, CERTS] + NAMES, check=True)
    ORIGIN = Origin()
    TLS = Origin("tls", tls_dir=CERTS)


def tearDownModule():
    ORIGIN.stop()
    TLS.stop()


# ---- tests --------------------------------------------------------------------------------------------


class HostPolicy(unittest.TestCase):
    def test_http_allow_deny_and_wildcards(self):
        with Proxy() as px:
            env = px.env()
            base = ":%d/echo" % ORIGIN.port
            allowed = ["allowed.test", "ALLOWED.test", "api.wild.test", "deep.api.wild.test", "apex.test",
                       "sub.apex.test"]
            for host in allowed:
                r = curl(["-w", "\n%{http_code}", "http://" + host + base], env)
                self.assertTrue(r.stdout.endswith(b"\n200"), (host, r.stdout, r.stderr))
            cases = {"denied.test": ("denied", "blocked-by-denylist"),
                     "other.test": ("not_allowed", "blocked-by-allowlist"),
                     "wild.test": ("not_allowed", "blocked-by-allowlist"),
                     "evilallowed.test": ("not_allowed", "blocked-by-allowlist")}
            for host, (reason, header) in cases.items():
                r = curl(["-i", "http://" + host + base], env)
                head, _, body = r.stdout.partition(b"\r\n\r\n")
                self.assertEqual(status_of(head), 403, host)
                self.assertIn(("x-proxy-error: " + header).encode(), head)
                self.assertIn(b"content-type: application/json", head)
                doc = json.loads(body)
                self.assertEqual(list(doc), ["status", "host", "reason", "decision", "source", "protocol", "port",
                                             "message"])
                self.assertEqual(doc["status"], "blocked")
                self.assertEqual(doc["host"], host)
                self.assertEqual(doc["reason"], reason)
                self.assertEqual(doc["decision"], "deny")
                self.assertEqual(doc["source"], "baseline_policy")
                self.assertEqual(doc["protocol"], "http")
                self.assertEqual(doc["port"], ORIGIN.port)
            events = px.audit()
            denied = [e for e in events if e["server.address"] == "denied.test"]
            self.assertEqual(denied[0]["network.policy.reason"], "denied")

    def test_https_connect(self):
        with Proxy() as px:
            env = px.env()
            ca = os.path.join(CERTS, "ca.pem")
            r = curl(["--cacert", ca, "https://allowed.test:%d/echo" % TLS.port], env)
            self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)
            r = curl(["--cacert", ca, "-w", "%{http_connect}", "https://denied.test:%d/echo" % TLS.port], env)
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(r.stdout, b"403")
            resp = raw(px.addrs["http"], b"CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n")
            self.assertEqual(status_of(resp), 403)
            self.assertIn(b"content-type: text/plain", resp)
            self.assertIn(b"x-proxy-error: blocked-by-allowlist", resp)
            self.assertTrue(resp.endswith(b"Domain not in allowlist."), resp)
            ev = [e for e in px.audit() if e["server.address"] == "other.test"][0]
            self.assertEqual(ev["network.transport.protocol"], "https_connect")
            self.assertEqual(ev["http.request.method"], "CONNECT")

    def test_socks5h(self):
        with Proxy() as px:
            env = px.env()
            r = curl(["-x", px.socks, "http://allowed.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(json.loads(r.stdout)["method"], "GET", r.stderr)
            r = curl(["-x", px.socks, "--cacert", os.path.join(CERTS, "ca.pem"),
                      "https://api.wild.test:%d/echo" % TLS.port], env)
            self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)
            r = curl(["-x", px.socks, "http://denied.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(r.returncode, 97)
            ev = [e for e in px.audit() if e["server.address"] == "denied.test"][0]
            self.assertEqual(ev["network.transport.protocol"], "socks5_tcp")
            self.assertEqual(ev["http.request.method"], "none")

    def test_python_urllib(self):
        with Proxy() as px:
            env = px.env()
            code = ("import urllib.request,ssl,json,sys\n"
                    "r=urllib.request.urlopen('http://allowed.test:%d/echo',timeout=20).read()\n"
                    "ctx=ssl.create_default_context(cafile=sys.argv[1])\n"
                    "s=urllib.request.urlopen('https://allowed.test:%d/echo',timeout=20,context=ctx).read()\n"
                    "print(json.loads(r)['server'],json.loads(s)['server'])\n"
                    "try:\n urllib.request.urlopen('http://denied.test:%d/echo',timeout=20)\n"
                    "except urllib.error.HTTPError as e: print(e.code, e.headers['x-proxy-error'])\n"
                    % (ORIGIN.port, TLS.port, ORIGIN.port))
            r = run([sys.executable, "-c", code, os.path.join(CERTS, "ca.pem")], env=env)
            self.assertEqual(r.stdout.decode().split(), ["plain", "tls", "403", "blocked-by-denylist"], r.stderr)
            try:
                import requests  # noqa: F401  (optional client)
            except ImportError:
                return
            code = ("import requests,sys;print(requests.get('http://allowed.test:%d/echo',timeout=20).status_code)"
                    % ORIGIN.port)
            r = run([sys.executable, "-c", code], env=env)
            self.assertEqual(r.stdout.strip(), b"200", r.stderr)

    def test_git_over_http(self):
        work = fresh_dir("git")
        bare = os.path.join(ORIGIN.files, "repo%d.git" % _counter[0])
        genv = base_env()
        genv.update({"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                     "GIT_COMMITTER_EMAIL": "t@t"})
        for cmd in (["git", "init", "-q", "--bare", bare], ["git", "init", "-q", work]):
            run(cmd, env=genv).check_returncode()
        with open(os.path.join(work, "f.txt"), "w") as f:
            f.write("content\n")
        for cmd in (["git", "-C", work, "add", "f.txt"], ["git", "-C", work, "commit", "-qm", "c"],
                    ["git", "-C", work, "push", "-q", bare, "HEAD:refs/heads/main"],
                    ["git", "-C", bare, "symbolic-ref", "HEAD", "refs/heads/main"],
                    ["git", "-C", bare, "update-server-info"]):
            run(cmd, env=genv).check_returncode()
        with Proxy() as px:
            env = px.env(genv)
            dest = os.path.join(fresh_dir("clone"), "c")
            url = "http://allowed.test:%d/files/%s" % (ORIGIN.port, os.path.basename(bare))
            r = run(["git", "clone", "-q", url, dest], env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(dest, "f.txt")) as f:
                self.assertEqual(f.read(), "content\n")
            r = run(["git", "clone", "-q", url.replace("allowed.test", "denied.test"), dest + "2"], env=env)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"403", r.stderr)


class LocalGuard(unittest.TestCase):
    def test_private_destinations_blocked(self):
        hosts = {n: "127.0.0.1" for n in NAMES}
        hosts["rebind.test"] = "169.254.169.254"
        hosts["api.wild.test"] = ["127.0.0.1", "10.0.0.1"]
        with Proxy(network={"allow_local_binding": False},
                   proxy={"domains": dict(DEFAULT_DOMAINS, **{"127.0.0.1": "allow", "*": "allow",
                                                              "denied.test": "deny"})},
                   hosts=hosts) as px:
            before = ORIGIN.requests
            for url in ["http://allowed.test:%d/echo", "http://rebind.test:%d/echo", "http://api.wild.test:%d/echo",
                        "http://10.0.0.1:%d/echo", "http://[::ffff:127.0.0.1]:%d/echo",
                        "http://[64:ff9b::7f00:1]:%d/echo", "http://localhost:%d/echo", "http://127.0.0.2:%d/echo",
                        "http://169.254.169.254:%d/"]:
                r = curl(["-i", "-x", px.http, "--noproxy", "", url % ORIGIN.port], px.env())
                head, _, body = r.stdout.partition(b"\r\n\r\n")
                self.assertEqual(status_of(head), 403, (url, r.stdout, r.stderr))
                self.assertEqual(json.loads(body)["reason"], "not_allowed_local", url)
            self.assertEqual(ORIGIN.requests, before, "a blocked destination was dialled")
            # numeric tricks are refused as hosts
            resp = raw(px.addrs["http"], b"GET http://2130706433:%d/ HTTP/1.1\r\n\r\n" % ORIGIN.port)
            self.assertEqual(status_of(resp), 403)
            resp = raw(px.addrs["http"], b"CONNECT 0177.0.0.1:%d HTTP/1.1\r\n\r\n" % TLS.port)
            self.assertEqual(status_of(resp), 403)
            self.assertEqual(ORIGIN.requests, before)
            # an exactly allow-listed literal is reachable
            r = curl(["-x", px.http, "--noproxy", "", "http://127.0.0.1:%d/echo" % ORIGIN.port], px.env())
            self.assertEqual(json.loads(r.stdout)["method"], "GET", r.stderr)

    def test_unresolvable_name_is_blocked_as_local(self):
        # A name the local resolver cannot show to be public is blocked as
        # local, with an upstream proxy too: that proxy could resolve it to
        # a private address (an internal name) and dial it.
        up = ScriptedOrigin(lambda c, n: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        try:
            for env in ({}, {"HTTP_PROXY": "http://127.0.0.1:%d" % up.port}):
                with Proxy(network={"allow_local_binding": False}, proxy={"domains": {"*": "allow"}},
                           hosts={"allowed.test": "93.184.216.34"}, env=env) as px:
                    for req in (b"GET http://internal.test/ HTTP/1.1\r\nHost: internal.test\r\n\r\n",
                                b"CONNECT internal.test:443 HTTP/1.1\r\n\r\n"):
                        resp = raw(px.addrs["http"], req)
                        self.assertEqual(status_of(resp), 403, (env, req, resp))
                        self.assertIn(b"x-proxy-error: blocked-by-allowlist", resp, (env, req))
                    self.assertEqual({e["network.policy.reason"] for e in px.audit()}, {"not_allowed_local"}, env)
            self.assertEqual(up.received, [], "the upstream proxy was asked")
        finally:
            up.stop()

    def test_denied_literal_in_other_spellings(self):
        # a deny entry for an address holds however the literal is written
        victim = socket.socket()
        victim.bind(("127.0.0.3", 0))
        victim.listen(16)
        victim.settimeout(0.2)
        port = victim.getsockname()[1]
        with Proxy(proxy={"domains": {"*": "allow", "127.0.0.3": "deny", "::1": "deny"}}) as px:
            for host in ["127.0.0.3", "[::ffff:127.0.0.3]", "[::ffff:7f00:3]", "[0:0:0:0:0:ffff:127.0.0.3]",
                         "[64:ff9b::127.0.0.3]", "[0::1]", "[0000:0000::0001]", "[::0:1]"]:
                resp = raw(px.addrs["http"], b"GET http://%s:%d/ HTTP/1.1\r\n\r\n" % (host.encode(), port))
                self.assertEqual(status_of(resp), 403, (host, resp))
                self.assertEqual(json.loads(resp.partition(b"\r\n\r\n")[2])["reason"], "denied", host)
                resp = raw(px.addrs["http"], b"CONNECT %s:%d HTTP/1.1\r\n\r\n" % (host.encode(), port))
                self.assertIn(b"x-proxy-error: blocked-by-denylist", resp, host)
            socks = b"\x05\x01\x00\x05\x01\x00\x04" + socket.inet_pton(socket.AF_INET6, "::ffff:127.0.0.3")
            self.assertEqual(raw(px.addrs["socks"], socks + struct.pack("!H", port))[2:4], b"\x05\x02")
            with self.assertRaises(socket.timeout):
                victim.accept()
        victim.close()

    def test_zone_ids_are_read_as_the_rfc_6874_encoding_says(self):
        # "%25" is how a URI writes the zone separator: [fe80::1%25lo] is
        # fe80::1%lo to the deny list and the exact allow list alike
        with Proxy(network={"allow_local_binding": True},
                   proxy={"domains": {"*": "allow", "fe80::1%lo": "deny"}}) as px:
            for host in (b"[fe80::1%lo]", b"[fe80::1%25lo]", b"[FE80::1%25lo]"):
                resp = raw(px.addrs["http"], b"GET http://%s:80/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (host, host))
                self.assertEqual(status_of(resp), 403, (host, resp))
                doc = json.loads(resp.partition(b"\r\n\r\n")[2])
                self.assertEqual((doc["host"], doc["reason"]), ("fe80::1%lo", "denied"), host)
                resp = raw(px.addrs["http"], b"CONNECT %s:443 HTTP/1.1\r\n\r\n" % host)
                self.assertEqual(resp, b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                       b"x-proxy-error: blocked-by-denylist\r\ncontent-length: 36\r\n"
                                       b"connection: close\r\n\r\nDomain denied by the sandbox policy.", host)
            self.assertEqual([e["network.policy.reason"] for e in px.audit()], ["denied"] * 6)
        with Proxy(network={"allow_local_binding": False}, proxy={"domains": {"fe80::1%lo": "allow"}}) as px:
            for host in (b"[fe80::1%lo]", b"[fe80::1%25lo]"):
                raw(px.addrs["http"], b"CONNECT %s:443 HTTP/1.1\r\n\r\n" % host)
            self.assertEqual([(e["server.address"], e["network.policy.decision"], e["network.policy.reason"])
                              for e in px.audit()], [("fe80::1%lo", "allow", "allow")] * 2)

    def test_rebinding_in_network_namespace(self):
        for tool in ("unshare", "ip"):
            if not shutil.which(tool):
                self.fail("%s is required (see the setup script)" % tool)
        r = run(["unshare", "-rn", sys.executable, os.path.abspath(__file__), "--netns-rebinding"],
                env=dict(os.environ, PXTEST_CERTS=CERTS), timeout=120)
        self.assertEqual(r.returncode, 0, (r.stdout.decode(), r.stderr.decode()[-3000:]))
        self.assertIn(b"rebinding ok", r.stdout)


    def test_addresses_of_this_host_are_local_in_network_namespace(self):
        for tool in ("unshare", "ip"):
            if not shutil.which(tool):
                self.fail("%s is required (see the setup script)" % tool)
        r = run(["unshare", "-rn", sys.executable, os.path.abspath(__file__), "--netns-host-addresses"],
                env=dict(os.environ, PXTEST_CERTS=CERTS), timeout=120)
        self.assertEqual(r.returncode, 0, (r.stdout.decode(), r.stderr.decode()[-3000:]))
        self.assertIn(b"host addresses ok", r.stdout)

    def test_search_domains_in_network_namespace(self):
        for tool in ("unshare", "ip"):
            if not shutil.which(tool):
                self.fail("%s is required (see the setup script)" % tool)
        r = run(["unshare", "-rmn", sys.executable, os.path.abspath(__file__), "--netns-search-domains"],
                env=dict(os.environ, PXTEST_CERTS=CERTS), timeout=120)
        self.assertEqual(r.returncode, 0, (r.stdout.decode(), r.stderr.decode()[-3000:]))
        self.assertIn(b"search domains ok", r.stdout)

    def test_wildcard_listener_loop_guard_in_network_namespaces(self):
        for tool in ("unshare", "ip"):
            if not shutil.which(tool):
                self.fail("%s is required (see the setup script)" % tool)
        r = run(["unshare", "-rn", sys.executable, os.path.abspath(__file__), "--netns-loop-guard"],
                env=dict(os.environ, PXTEST_CERTS=CERTS), timeout=120)
        self.assertEqual(r.returncode, 0, (r.stdout.decode(), r.stderr.decode()[-3000:]))
        self.assertIn(b"loop guard ok", r.stdout)


def netns_rebinding():
    """Runs inside a private network namespace joined by a veth pair to a
    second one (netns_loop_peer, the "remote" host at 2001:db8::10, an
    address that counts as public); the remote origin and a listener on
    127.0.0.1 share a port, and the name flips between the two."""
    global CERTS
    CERTS = os.environ["PXTEST_CERTS"]
    # the same port on 127.0.0.1 is the rebinding target: count any dial
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    port = s.getsockname()[1]
    hits = []

    def accept_loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            hits.append(1)
            c.close()
    threading.Thread(target=accept_loop, daemon=True).start()
    peer = veth_peer(["2001:db8::1/64"], ["2001:db8::10/64"])
    px = None
    try:
        peer.stdin.write(b"%d\n" % port)
        peer.stdin.flush()
        assert peer.stdout.readline() == b"ready\n"
        px = Proxy(network={"allow_local_binding": False}, proxy={"domains": {"rebind.test": "allow"}},
                   hosts={"rebind.test": "2001:db8::10"})
        url = "http://rebind.test:%d/echo" % port
        r = curl(["-x", px.http, url], px.env())
        assert r.stdout == b"remote", r
        px.write_hosts({"rebind.test": "127.0.0.1"})
        r = curl(["-i", "-x", px.http, url], px.env())
        assert status_of(r.stdout) == 403 and b"not_allowed_local" in r.stdout, r
        px.write_hosts({"rebind.test": ["2001:db8::10", "127.0.0.1"]})
        r = curl(["-i", "-x", px.http, url], px.env())
        assert status_of(r.stdout) == 403, r
        r = curl(["-x", px.socks, url], px.env())
        assert r.returncode == 97, r
        assert not hits, "the local address was dialled"
        print("rebinding ok")
    finally:
        if px:
            px.stop()
        peer.stdin.close()
        peer.wait(10)
        s.close()


def netns_host_addresses():
    """Runs inside a private network namespace whose lo also holds
    2001:db8::10 and 93.184.216.34, and local routes for 2001:db8:100::/64
    and 93.184.215.0/24 (which no interface lists), addresses that count as
    public by their range but are this host's own: a service listening on
    the wildcard address (a dual-stack origin, a UDP echo) is reached
    through them as through 127.0.0.1, so they are local to the guard too."""
    global CERTS
    CERTS = os.environ["PXTEST_CERTS"]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # nodad: usable at once, not "tentative" while duplicate detection runs
    subprocess.run(["ip", "addr", "add", "2001:db8::10/128", "dev", "lo", "nodad"], check=True)
    subprocess.run(["ip", "addr", "add", "93.184.216.34/32", "dev", "lo"], check=True)
    subprocess.run(["ip", "-6", "route", "add", "local", "2001:db8:100::/64", "dev", "lo"], check=True)
    subprocess.run(["ip", "route", "add", "local", "93.184.215.0/24", "dev", "lo"], check=True)
    for attempt in range(50):  # and should the kernel still say "not yet" (EADDRNOTAVAIL)
        try:
            probe = socket.socket(socket.AF_INET6)
            probe.bind(("2001:db8::10", 0))
            probe.close()
            break
        except OSError as e:
            probe.close()
            if e.errno != 99 or attempt == 49:
                raise
            time.sleep(0.1)
    origin = Origin("this-host", family=socket.AF_INET6, host="::")
    echo = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    echo.bind(("::", 0))
    echoed = []

    def serve_echo():
        while True:
            try:
                data, a = echo.recvfrom(65535)
            except OSError:
                return
            echoed.append(data)
            echo.sendto(b"echo:" + data, a)
    threading.Thread(target=serve_echo, daemon=True).start()
    hosts = {"pub.test": "2001:db8::10", "pub4.test": "93.184.216.34"}
    literals = [b"[2001:db8::10]", b"93.184.216.34", b"[::ffff:93.184.216.34]", b"[2001:0db8:0::10]",
                b"[2001:db8:100::5]", b"93.184.215.9"]

    def get(px, host):
        return raw(px.addrs["http"], b"GET http://%s:%d/echo HTTP/1.1\r\nConnection: close\r\n\r\n"
                   % (host, origin.port))

    try:
        with Proxy(network={"allow_local_binding": False}, proxy={"domains": {"*": "allow"}}, hosts=hosts) as px:
            for host in literals + [b"pub.test", b"pub4.test"]:
                resp = get(px, host)
                assert status_of(resp) == 403, (host, resp)
                assert json.loads(resp.partition(b"\r\n\r\n")[2])["reason"] == "not_allowed_local", (host, resp)
                resp = raw(px.addrs["http"], b"CONNECT %s:%d HTTP/1.1\r\n\r\n" % (host, origin.port))
                assert resp.startswith(b"HTTP/1.1 403 ") and b"x-proxy-error: blocked-by-allowlist" in resp, \
                    (host, resp)
            for dst in (b"\x04" + socket.inet_pton(socket.AF_INET6, "2001:db8::10"),
                        b"\x01" + socket.inet_aton("93.184.216.34"), b"\x03\x08pub.test"):
                socks = b"\x05\x01\x00\x05\x01\x00" + dst + struct.pack("!H", origin.port)
                assert raw(px.addrs["socks"], socks)[2:4] == b"\x05\x02", dst
            c, rep, relay = socks_udp_associate(px.addrs["socks"])
            assert rep == 0, rep
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(1)
            eport = struct.pack("!H", echo.getsockname()[1])
            for dst in (b"\x04" + socket.inet_pton(socket.AF_INET6, "2001:db8::10"),
                        b"\x01" + socket.inet_aton("93.184.216.34"), b"\x03\x09pub4.test"):
                u.sendto(b"\x00\x00\x00" + dst + eport + b"ping", relay)
            try:
                data = u.recvfrom(65535)
            except socket.timeout:
                data = None
            assert data is None and not echoed, (data, echoed)
            u.close()
            c.close()
            reasons = {(e["server.address"], e["network.policy.reason"]) for e in px.audit()
                       if e["network.transport.protocol"] == "socks5_udp"}
            assert reasons == {("2001:db8::10", "not_allowed_local"), ("93.184.216.34", "not_allowed_local"),
                               ("pub4.test", "not_allowed_local")}, reasons
        assert origin.requests == 0, "a local service was reached"
        # an upstream proxy would reach them as well: literals are refused before it is asked, as names are
        up = ScriptedOrigin(lambda c, n: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        try:
            upstream = "http://127.0.0.1:%d" % up.port
            with Proxy(network={"allow_local_binding": False}, proxy={"domains": {"*": "allow"}}, hosts=hosts,
                       env={"HTTP_PROXY": upstream, "HTTPS_PROXY": upstream}) as px:
                for host in literals + [b"pub.test"]:
                    resp = get(px, host)
                    assert status_of(resp) == 403 and b"not_allowed_local" in resp, (host, resp)
                    resp = raw(px.addrs["http"], b"CONNECT %s:%d HTTP/1.1\r\n\r\n" % (host, origin.port))
                    assert resp.startswith(b"HTTP/1.1 403 "), (host, resp)
                for dst in (b"\x04" + socket.inet_pton(socket.AF_INET6, "2001:db8::10"),
                            b"\x01" + socket.inet_aton("93.184.216.34")):
                    socks = b"\x05\x01\x00\x05\x01\x00" + dst + struct.pack("!H", origin.port)
                    assert raw(px.addrs["socks"], socks)[2:4] == b"\x05\x02", dst
            assert up.received == [], up.received
            with Proxy(network={"allow_local_binding": False},
                       proxy={"domains": {"*": "allow", "93.184.216.34": "allow"}}, hosts=hosts,
                       env={"HTTP_PROXY": upstream}) as px:
                resp = get(px, b"93.184.216.34")
                assert status_of(resp) == 200 and resp.endswith(b"ok"), resp
            assert len(up.received) == 1 and up.received[0].startswith(b"GET http://93.184.216.34:%d/echo "
                                                                          % origin.port), up.received
        finally:
            up.stop()
        # an exactly allow-listed literal is reachable, as a local one is; names are not
        with Proxy(network={"allow_local_binding": False},
                   proxy={"domains": {"*": "allow", "2001:db8::10": "allow", "93.184.216.34": "allow"}},
                   hosts=hosts) as px:
            for host in (b"[2001:db8::10]", b"93.184.216.34"):
                resp = get(px, host)
                assert status_of(resp) == 200 and b'"server": "this-host"' in resp, (host, resp)
            resp = get(px, b"pub.test")
            assert status_of(resp) == 403 and b"not_allowed_local" in resp, resp
        with Proxy(network={"allow_local_binding": True}, proxy={"domains": {"*": "allow"}}, hosts=hosts) as px:
            for host in literals + [b"pub.test"]:
                resp = get(px, host)
                assert status_of(resp) == 200 and b'"server": "this-host"' in resp, (host, resp)
        print("host addresses ok")
    finally:
        origin.stop()
        echo.close()


def netns_search_domains():
    """Runs inside private network and mount namespaces: resolv.conf names
    a search domain and a DNS server on 127.0.0.1 that knows one name in
    it, secret.corp.test, which the policy denies. "secret" is a name the
    policy allows (`*`): it must be looked up as itself, never completed
    to the denied one."""
    global CERTS
    CERTS = os.environ["PXTEST_CERTS"]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    d = fresh_dir("resolv")
    for name, text in (("resolv.conf", "search corp.test\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n"),
                       ("hosts", "127.0.0.1 localhost\n127.0.0.1 files.test\n")):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        subprocess.run(["mount", "--bind", os.path.join(d, name), "/etc/" + name], check=True)
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 53))
    asked = []

    def serve():
        while True:
            try:
                q, peer = dns.recvfrom(512)
            except OSError:
                return
            i, labels = 12, []
            while q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode().lower())
                i += 1 + q[i]
            qtype, end = struct.unpack("!H", q[i + 1:i + 3])[0], i + 5
            name = ".".join(labels)
            asked.append(name)
            if name == "secret.corp.test" and qtype == 1:
                ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
                dns.sendto(q[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1, 0, 0) + q[12:end] + ans, peer)
            else:  # NXDOMAIN
                dns.sendto(q[:2] + b"\x81\x83" + struct.pack("!HHHH", 1, 0, 0, 0) + q[12:end], peer)
    threading.Thread(target=serve, daemon=True).start()
    origin = Origin()
    px = Proxy(network={"allow_local_binding": True},
               proxy={"domains": {"*": "allow", "secret.corp.test": "deny"}}, hosts=False)
    try:
        def get(host):
            return raw(px.addrs["http"], b"GET http://%s:%d/echo HTTP/1.1\r\nConnection: close\r\n\r\n"
                       % (host, origin.port))
        resp = get(b"secret.corp.test")
        assert status_of(resp) == 403 and b"x-proxy-error: blocked-by-denylist" in resp, resp
        del asked[:]
        resp = get(b"secret")
        assert resp.endswith(b"\r\n\r\nupstream failure") and status_of(resp) == 502, resp
        socks = b"\x05\x01\x00\x05\x01\x00\x03\x06secret" + struct.pack("!H", origin.port)
        assert raw(px.addrs["socks"], socks)[2:4] == b"\x05\x04", "SOCKS reached a completed name"
        assert set(asked) == {"secret"}, asked
        assert origin.requests == 0, "the denied name was reached"
        # names of /etc/hosts are found as before
        for host in (b"files.test", b"localhost"):
            resp = get(host)
            assert status_of(resp) == 200 and b'"server": "plain"' in resp, (host, resp)
        print("search domains ok")
    finally:
        px.stop()
        origin.stop()
        dns.close()


def netns_loop_guard():
    """Runs inside a private network namespace joined by a veth pair to a
    second one (the "remote" host, 10.200.0.2 and fd00:200::2). csb-proxy
    listens on a wildcard address; a remote origin listens on the proxy's
    own port. Requests to it go through; requests to this namespace's own
    addresses on that port are refused as loops."""
    global CERTS
    CERTS = os.environ["PXTEST_CERTS"]
    peer = veth_peer(["10.200.0.1/24", "fd00:200::1/64"], ["10.200.0.2/24", "fd00:200::2/64"])
    try:
        for listen in ("0.0.0.0:0", "[::]:0"):
            domains = {"10.200.0.1": "allow", "10.200.0.2": "allow", "fd00:200::1": "allow",
                       "fd00:200::2": "allow", "127.0.0.1": "allow", "::1": "allow"}
            with Proxy(network={"allow_local_binding": False}, proxy={"domains": domains},
                       args=["--listen", listen]) as px:
                port = int(px.addrs["http"].rsplit(":", 1)[1])
                addr = ("::1:%d" if listen.startswith("[") else "127.0.0.1:%d") % port
                peer.stdin.write(b"%d\n" % port)
                peer.stdin.flush()
                assert peer.stdout.readline() == b"ready\n"
                remote = ["10.200.0.2", "[fd00:200::2]"] if listen.startswith("[") else ["10.200.0.2"]
                for host in remote:
                    hp = "%s:%d" % (host, port)
                    resp = raw(addr, ("GET http://%s/ HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                                      % (hp, hp)).encode())
                    assert resp.endswith(b"\r\n\r\nremote"), (listen, host, resp)
                    resp = raw(addr, ("CONNECT %s HTTP/1.1\r\n\r\n" % hp).encode(), read_until_close=False)
                    assert resp.startswith(b"HTTP/1.1 200 Connection established\r\n"), (listen, host, resp)
                for host in ("10.200.0.1", "127.0.0.1", "[fd00:200::1]", "[::1]"):
                    hp = "%s:%d" % (host, port)
                    resp = raw(addr, ("GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (hp, hp)).encode())
                    assert status_of(resp) == 502 and resp.endswith(b"\r\n\r\nupstream failure"), (listen, host, resp)
                peer.stdin.write(b"0\n")
                peer.stdin.flush()
                assert peer.stdout.readline() == b"stopped\n"
        print("loop guard ok")
    finally:
        peer.stdin.close()
        peer.wait(10)


def veth_peer(local, remote):
    """Joins this private network namespace by a veth pair to a second one,
    the "remote" host: `local` addresses (ADDR/PREFIX) on this end, `remote`
    ones on the other, where netns_loop_peer serves. Returns its process."""
    ip = lambda *a: subprocess.run(["ip"] + list(a), check=True)
    ip("link", "set", "lo", "up")
    ip("link", "add", "pxv0", "type", "veth", "peer", "name", "pxv1")
    peer = subprocess.Popen(["unshare", "-n", sys.executable, os.path.abspath(__file__), "--netns-loop-peer"] + remote,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        # the peer runs in its own namespace once it speaks (not before unshare)
        assert peer.stdout.readline() == b"started\n"
        ip("link", "set", "pxv1", "netns", str(peer.pid))
        for a in local:
            ip("addr", "add", a, "dev", "pxv0", *(["nodad"] if ":" in a else []))
        ip("link", "set", "pxv0", "up")
    except BaseException:
        peer.stdin.close()
        peer.wait(10)
        raise
    return peer


def netns_loop_peer():
    """The remote host of veth_peer, with the addresses (ADDR/PREFIX) of its
    arguments: for each port read from stdin, an origin answering "remote"
    on each of them at that port, until 0 is read."""
    addrs = sys.argv[2:]
    print("started", flush=True)
    for _ in range(100):
        if subprocess.run(["ip", "link", "show", "pxv1"], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    for a in addrs:
        subprocess.run(["ip", "addr", "add", a, "dev", "pxv1"] + (["nodad"] if ":" in a else []), check=True)
    subprocess.run(["ip", "link", "set", "pxv1", "up"], check=True)
    socks = []

    def serve(ls):
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nremote")
            c.close()
    for line in sys.stdin:
        for ls in socks:
            ls.close()
        socks = []
        port = int(line)
        if port == 0:
            print("stopped", flush=True)
            continue
        for a in addrs:
            host = a.split("/")[0]
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            for attempt in range(50):  # the address may not be usable yet
                try:
                    ls = socket.socket(fam, socket.SOCK_STREAM)
                    ls.bind((host, port))
                    break
                except OSError:
                    ls.close()
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
            ls.listen(16)
            socks.append(ls)
            threading.Thread(target=serve, args=(ls,), daemon=True).start()
        print("ready", flush=True)


class LimitedMode(unittest.TestCase):
    def test_methods_and_protocols(self):
        with Proxy(proxy={"mode": "limited"}) as px:
            env = px.env()
            r = curl(["http://allowed.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(json.loads(r.stdout)["method"], "GET")
            r = curl(["-I", "http://allowed.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(status_of(r.stdout), 200)
            r = curl(["-i", "-X", "POST", "-d", "x", "http://allowed.test:%d/echo" % ORIGIN.port], env)
            head, _, body = r.stdout.partition(b"\r\n\r\n")
            self.assertEqual(status_of(head), 403)
            self.assertIn(b"x-proxy-error: blocked-by-method-policy", head)
            self.assertEqual(json.loads(body)["source"], "mode_guard")
            # HTTPS is intercepted so that the method can be checked; trust comes from the env only
            r = curl(["https://allowed.test:%d/echo" % TLS.port], env)
            self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)
            r = curl(["-i", "-X", "PUT", "-d", "x", "https://allowed.test:%d/echo" % TLS.port], env)
            self.assertEqual(status_of(r.stdout), 403)
            self.assertIn(b"x-proxy-error: blocked-by-method-policy", r.stdout)
            self.assertTrue(r.stdout.endswith(b"Method not allowed in limited mode."))
            # SOCKS: other ports are refused, UDP too
            r = curl(["-x", px.socks, "http://allowed.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(r.returncode, 97)
            self.assertEqual(socks_udp_associate(px.addrs["socks"])[1], 2)
            evs = px.audit()
            self.assertTrue(any(e["network.transport.protocol"] == "socks5_udp" and
                                e["network.policy.reason"] == "method_not_allowed" for e in evs))

    def test_method_override_headers_count_as_the_method(self):
        # frameworks that obey X-HTTP-Method-Override (and kin) would run a
        # GET carrying one as a DELETE: limited mode refuses it, plain and
        # intercepted; an override naming an allowed method passes
        with Proxy(proxy={"mode": "limited"}) as px:
            env = px.env()
            for url in ("http://allowed.test:%d/echo" % ORIGIN.port, "https://allowed.test:%d/echo" % TLS.port):
                # also written with '_': CGI-style servers (wsgiref, WEBrick, PHP-CGI)
                # read X_HTTP_Method_Override as the HTTP_X_HTTP_METHOD_OVERRIDE variable
                for name in ("X-HTTP-Method-Override", "x-http-method", "X-Method-Override",
                             "X_HTTP_Method_Override", "x_http-method", "X-Method_Override"):
                    r = curl(["-i", "-H", name + ": delete", url], env)
                    self.assertEqual(status_of(r.stdout), 403, (url, name))
                    self.assertIn(b"x-proxy-error: blocked-by-method-policy", r.stdout)
                # long method names (RFC 3253), on either side of the proxy's buffer for them
                for method in ("VERSION-CONTROL", "BASELINE-CONTROL", "BASELINE-CONTROL" * 8):
                    r = curl(["-i", "-H", "X-HTTP-Method-Override: " + method, url], env)
                    self.assertEqual(status_of(r.stdout), 403, (url, method))
                    self.assertIn(b"x-proxy-error: blocked-by-method-policy", r.stdout)
                r = curl(["-H", "X-HTTP-Method-Override: HEAD", url], env)
                self.assertEqual(json.loads(r.stdout)["method"], "GET", url)
        with Proxy() as px:
            r = curl(["-H", "X-HTTP-Method-Override: DELETE", "http://allowed.test:%d/echo" % ORIGIN.port], px.env())
            self.assertEqual(json.loads(r.stdout)["method"], "GET")

    def test_connection_header_cannot_unframe_a_body(self):
        # "Connection: content-length" must not strip the length that frames
        # the body: the origin would read the body as a second request, one
        # no policy saw (plain, and intercepted for a hook; limited mode
        # refuses bodies outright, see the next test)
        smuggled = b"POST /smuggled HTTP/1.1\r\nHost: allowed.test\r\n\r\n"
        hooks = {"mitm": {"hooks": {"h": {"host": "hooked.test", "methods": ["GET"], "path_prefixes": ["/"],
                                          "action": ["s"]}},
                          "actions": {"s": {"strip_request_headers": ["authorization"]}}}}
        with Proxy(proxy=hooks) as px:
            for origin, name in ((ORIGIN, b"allowed.test"), (TLS, b"hooked.test")):
                s, f, prefix = origin_conn(px, origin, name)
                before = len(origin.log)
                s.sendall(b"GET %s/a HTTP/1.1\r\nHost: %s:%d\r\nConnection: content-length\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (prefix, name, origin.port, len(smuggled), smuggled))
                head, body = read_response(f)
                self.assertEqual(status_of(head), 200)
                self.assertEqual(json.loads(body)["body"], smuggled.decode())
                s.sendall(b"GET %s/b HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                          % (prefix, name, origin.port))
                head, body = read_response(f)
                self.assertEqual(json.loads(body)["path"], "/b")
                s.close()
                self.assertEqual(origin.log[before:], [("GET", "/a"), ("GET", "/b")], origin.label)

    def test_requests_with_bodies_are_refused_unsent(self):
        # limited mode is read-only, and an origin that reads no body on a
        # GET would parse the body as a request of its own, one the method
        # check never saw: a body on GET, HEAD or OPTIONS (Content-Length
        # above 0, or chunked) is refused before anything goes upstream,
        # answered as a refused method, and the connection ends (the body
        # left unread is never taken for a request), plain and intercepted
        cases = [(b"GET", b"Content-Length: 5\r\n", b"hello"),
                 (b"GET", b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
                 (b"GET", b"Connection: content-length\r\nContent-Length: 5\r\n", b"hello"),
                 (b"GET", b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"),
                 (b"HEAD", b"Content-Length: 1\r\n", b"x"),
                 (b"HEAD", b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"),  # empty, but chunked
                 (b"OPTIONS", b"Content-Length: 5\r\n", b"hello"),
                 (b"OPTIONS", b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n")]
        with Proxy(proxy={"mode": "limited"}) as px:
            for origin in (ORIGIN, TLS):
                for method, framing, body in cases:
                    s, _, prefix = origin_conn(px, origin)
                    before = (len(origin.log), origin.connections)
                    # and a second request behind it, which must not be read either
                    s.sendall(b"%s %s/echo HTTP/1.1\r\nHost: allowed.test:%d\r\n%s\r\n%sGET %s/next HTTP/1.1\r\n"
                              b"Host: allowed.test:%d\r\n\r\n"
                              % (method, prefix, origin.port, framing, body, prefix, origin.port))
                    self.assertEqual(rest(s), body_refusal(origin), (origin.label, method, framing))
                    self.assertEqual((len(origin.log), origin.connections), before, (origin.label, method, framing))
            evs = [(e["http.request.method"], e["network.transport.protocol"], e["server.port"],
                    e["network.policy.source"], e["network.policy.reason"])
                   for e in px.audit() if e["network.policy.decision"] == "deny"]
            self.assertEqual(evs, [(m.decode(), proto, origin.port, "mode_guard", "method_not_allowed")
                                   for origin, proto in ((ORIGIN, "http"), (TLS, "https_connect"))
                                   for m, _, _ in cases])
            # Content-Length: 0 is no body: answered, and the connection goes on
            for origin in (ORIGIN, TLS):
                s, f, prefix = origin_conn(px, origin)
                before = len(origin.log)
                for method in (b"GET", b"HEAD", b"OPTIONS"):
                    s.sendall(b"%s %s/echo HTTP/1.1\r\nHost: allowed.test:%d\r\nContent-Length: 0\r\n\r\n"
                              % (method, prefix, origin.port))
                    head, resp = read_response(f, head_only=method == b"HEAD")
                    self.assertEqual(status_of(head), 200, (origin.label, method, head))
                    if method != b"HEAD":
                        doc = json.loads(resp)
                        self.assertEqual((doc["method"], doc["body"], doc["headers"]["content-length"]),
                                         (method.decode(), "", "0"))
                s.close()
                self.assertEqual(origin.log[before:], [("GET", "/echo"), ("HEAD", "/echo"), ("OPTIONS", "/echo")])
        # a Unix-socket target in limited mode: the same
        short = tempfile.mkdtemp(prefix="pxu", dir="/tmp")
        sock = os.path.join(short, "api.sock")
        srv = UnixOrigin(sock)
        try:
            with Proxy(proxy={"mode": "limited"}, network={"unix_sockets": {sock: "allow"}}) as px:
                req = b"GET http://localhost/echo HTTP/1.1\r\nHost: localhost\r\nX-Unix-Socket: %s\r\n" % sock.encode()
                r = raw(px.addrs["http"], req + b"Content-Length: 5\r\n\r\nhello")
                body = b'{"status":"blocked","host":"unix-socket","reason":"method_not_allowed"}'
                self.assertEqual(r, b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n"
                                    b"x-proxy-error: blocked-by-method-policy\r\ncontent-length: %d\r\n"
                                    b"connection: close\r\n\r\n%s" % (len(body), body))
                self.assertEqual(srv.log, [])
                r = raw(px.addrs["http"], req + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                self.assertEqual(status_of(r), 200, r)
                self.assertEqual(srv.log, [("GET", "/echo")])
        finally:
            srv.shutdown()
            srv.server_close()
            shutil.rmtree(short, ignore_errors=True)

    def test_a_body_an_origin_would_read_as_a_request_never_reaches_it(self):
        # the CL.0 desync: an origin that reads no body on GET takes the body
        # for its next request, here a POST limited mode exists to refuse
        smuggled = b"POST /delete HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 0\r\n\r\n"
        plain, tls = Origin("cl0", handler=Cl0Handler), Origin("cl0-tls", tls_dir=CERTS, handler=Cl0Handler)
        try:
            with Proxy(proxy={"mode": "limited"}) as px:
                for origin in (plain, tls):
                    s, _, prefix = origin_conn(px, origin)
                    s.sendall(b"GET %s/a HTTP/1.1\r\nHost: allowed.test:%d\r\nContent-Length: %d\r\n\r\n%s"
                              % (prefix, origin.port, len(smuggled), smuggled))
                    self.assertEqual(rest(s), body_refusal(origin), origin.label)
                    self.assertEqual((origin.log, origin.connections), ([], 0), origin.label)
            # what it would have done: in full mode the origin runs the POST
            with Proxy() as px:
                s, f, prefix = origin_conn(px, plain)
                s.sendall(b"GET %s/a HTTP/1.1\r\nHost: allowed.test:%d\r\nContent-Length: %d\r\n\r\n%s"
                          % (prefix, plain.port, len(smuggled), smuggled))
                head, _ = read_response(f)
                self.assertEqual(status_of(head), 200)
                s.close()
                deadline = time.monotonic() + 10
                while len(plain.log) < 2 and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertEqual(plain.log, [("GET", "/a"), ("POST", "/delete")])
        finally:
            plain.stop()
            tls.stop()

    def test_full_mode_forwards_bodies_of_every_method(self):
        hooks = {"mitm": {"hooks": {"h": {"host": "hooked.test", "methods": ["GET", "HEAD", "OPTIONS"],
                                          "path_prefixes": ["/echo"], "action": ["s"]}},
                          "actions": {"s": {"strip_request_headers": ["authorization"]}}}}
        with Proxy(proxy=hooks) as px:
            for origin, name in ((ORIGIN, b"allowed.test"), (TLS, b"hooked.test")):
                s, f, prefix = origin_conn(px, origin, name)
                before = len(origin.log)
                for method in (b"GET", b"OPTIONS"):
                    for framing, body in ((b"Content-Length: 5\r\n", b"hello"),
                                          (b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n")):
                        s.sendall(b"%s %s/echo HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n%s"
                                  % (method, prefix, name, origin.port, framing, body))
                        head, resp = read_response(f)
                        self.assertEqual(status_of(head), 200, (origin.label, method, framing, head))
                        self.assertEqual(json.loads(resp)["body"], "hello")
                s.sendall(b"HEAD %s/echo HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: 1\r\n\r\nx"
                          % (prefix, name, origin.port))
                head, _ = read_response(f, head_only=True)
                self.assertEqual(status_of(head), 200, (origin.label, head))
                s.close()
                self.assertEqual(origin.log[before:], [("GET", "/echo")] * 2 + [("OPTIONS", "/echo")] * 2 +
                                 [("HEAD", "/echo")], origin.label)

    def test_https_is_intercepted(self):
        # the origin's own CA no longer verifies: the client talks to the proxy's leaf
        with Proxy(proxy={"mode": "limited"}) as px:
            r = curl(["--cacert", os.path.join(CERTS, "ca.pem"), "https://allowed.test:%d/echo" % TLS.port],
                     px.env())
            self.assertEqual(r.returncode, 60)  # the proxy's leaf is not trusted with --cacert: intercepted


class Mitm(unittest.TestCase):
    def test_clients_trust_the_managed_ca_through_the_env(self):
        with Proxy(proxy={"mode": "limited"}) as px:
            env = px.env()
            bundle = env["SSL_CERT_FILE"]
            self.assertTrue(os.path.basename(bundle).startswith("ca-bundle-"))
            for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "NODE_EXTRA_CA_CERTS",
                      "CSB_CA_CERTIFICATE"):
                self.assertTrue(env[k].startswith(px.ca_dir), k)
            self.assertEqual(env["CSB_NETWORK_PROXY_MITM_CA_ENV_ACTIVE"], "1")
            code = ("import urllib.request,json\n"
                    "print(json.loads(urllib.request.urlopen('https://sub.apex.test:%d/echo',timeout=20).read())"
                    "['server'])" % TLS.port)
            r = run([sys.executable, "-c", code], env=env)
            self.assertEqual(r.stdout.strip(), b"tls", r.stderr)
            key = os.path.join(px.ca_dir, "ca.key")
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            # the test policy reads `/`, so a sandbox built from it could read the key
            self.assertIn("warning: the MITM CA key %s is readable under the policy" % key, px.stderr())
            # inner requests must stay on the CONNECT target
            r = curl(["-i", "-H", "Host: denied.test", "https://allowed.test:%d/echo" % TLS.port], env)
            self.assertEqual(status_of(r.stdout), 400)
            self.assertIn(b"host mismatch", r.stdout)

    def test_no_ca_key_warning_when_the_policy_denies_it(self):
        ca = fresh_dir("deniedca")
        doc = policy_doc({"proxy": {"domains": dict(DEFAULT_DOMAINS), "mode": "limited"}})
        doc["filesystem"]["entries"].append({"access": "deny", "origin": "test", "path": ca})
        path = os.path.join(fresh_dir("denypolicy"), "policy.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        with Proxy(policy=False, ca_dir=ca, args=("--policy", path)) as px:
            self.assertTrue(os.path.exists(os.path.join(ca, "ca.key")))
            self.assertNotIn("CA key", px.stderr())

    def test_inherited_ca_variables_are_kept_meaningful(self):
        def ca_pem(name):
            d = fresh_dir(name)
            subprocess.run([TESTCERT, d, name + ".test"], check=True)
            with open(os.path.join(d, "ca.pem")) as f:
                return d, f.read()
        extra, extra_pem = ca_pem("extraca")      # readable under the policy
        hidden, _ = ca_pem("hiddenca")            # denied by the policy
        _, dir_pem = ca_pem("dirca")              # comes through SSL_CERT_DIR
        certdir = fresh_dir("certdir")
        with open(os.path.join(certdir, "dir.pem"), "w") as f:
            f.write(dir_pem)
        doc = policy_doc({"proxy": {"domains": dict(DEFAULT_DOMAINS), "mode": "limited"}})
        doc["filesystem"]["entries"].append({"access": "deny", "origin": "test", "path": hidden})
        path = os.path.join(fresh_dir("capolicy"), "policy.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        extra_file = os.path.join(extra, "ca.pem")
        hidden_file = os.path.join(hidden, "ca.pem")
        with Proxy(policy=False, args=("--policy", path),
                   env={"REQUESTS_CA_BUNDLE": extra_file, "NODE_EXTRA_CA_CERTS": hidden_file,
                        "SSL_CERT_DIR": certdir}) as px:
            ch = px.changes
            with open(os.path.join(px.ca_dir, "ca.pem")) as f:
                managed = f.read()
            # the readable inherited bundle: that file first, then SSL_CERT_DIR, then the managed bundle
            req = ch["REQUESTS_CA_BUNDLE"]
            self.assertEqual(os.path.dirname(req), px.ca_dir)
            with open(req) as f:
                content = f.read()
            self.assertTrue(content.startswith(extra_pem), content[:200])
            self.assertIn(dir_pem, content)
            self.assertTrue(content.endswith(managed))
            # the one the child may not read is left alone, with a warning
            self.assertNotIn("NODE_EXTRA_CA_CERTS", ch)
            self.assertIn("csb-proxy: warning: NODE_EXTRA_CA_CERTS=%s is kept as is: %s is not readable under "
                          "the policy\n" % (hidden_file, hidden_file), px.stderr())
            # SSL_CERT_DIR is folded into the default bundle and removed
            self.assertIsNone(ch["SSL_CERT_DIR"])
            default = ch["SSL_CERT_FILE"]
            self.assertNotEqual(default, req)
            with open(default) as f:
                content = f.read()
            self.assertIn(dir_pem, content)
            self.assertNotIn(extra_pem, content)
            self.assertTrue(content.endswith(managed))
            listed = ch["CSB_NETWORK_PROXY_CA_BUNDLES"].split(":")
            self.assertEqual(listed, sorted(set(listed)))
            self.assertIn(default, listed)
            self.assertIn(req, listed)
            # a client using the inherited variable trusts the interception
            code = ("import urllib.request,ssl,json,os\n"
                    "ctx=ssl.create_default_context(cafile=os.environ['REQUESTS_CA_BUNDLE'])\n"
                    "print(json.loads(urllib.request.urlopen('https://allowed.test:%d/echo',timeout=20,"
                    "context=ctx).read())['server'])" % TLS.port)
            r = run([sys.executable, "-c", code], env=px.env())
            self.assertEqual(r.stdout.strip(), b"tls", r.stderr)
            # --strip-env gives back what was replaced or removed and keeps what was left alone
            inherited = {"REQUESTS_CA_BUNDLE": extra_file, "NODE_EXTRA_CA_CERTS": hidden_file,
                         "SSL_CERT_DIR": certdir}
            child = dict(base_env(), **inherited)
            for k, v in ch.items():
                if v is None:
                    child.pop(k, None)
                else:
                    child[k] = v
            show = [sys.executable, "-c", "import os,json;print(json.dumps({k:os.environ.get(k) for k in %r}))"
                    % sorted(inherited)]
            r = run([BIN, "--strip-env", "--"] + show, env=child)
            self.assertEqual(json.loads(r.stdout), inherited, r.stderr)

    def test_origin_certificate_is_verified(self):
        other = fresh_dir("otherca")
        subprocess.run([TESTCERT, other, "unrelated.test"], check=True)
        with Proxy(proxy={"mode": "limited"}, upstream_ca=os.path.join(other, "ca.pem")) as px:
            r = curl(["-i", "https://allowed.test:%d/echo" % TLS.port], px.env())
            self.assertEqual(status_of(r.stdout), 502)
            self.assertIn(b"mitm upstream error", r.stdout)
            self.assertIn("csb-proxy: warning: TLS to allowed.test:%d failed: unable to get local issuer certificate\n"
                          % TLS.port, px.stderr())

    def test_origin_certificate_for_another_name_is_refused(self):
        # the origin's certificate is from a trusted CA but names other hosts
        hosts = {n: "127.0.0.1" for n in NAMES}
        hosts["notnamed.test"] = "127.0.0.1"
        with Proxy(proxy={"mode": "limited", "domains": dict(DEFAULT_DOMAINS, **{"notnamed.test": "allow"})},
                   hosts=hosts) as px:
            r = curl(["-i", "https://notnamed.test:%d/echo" % TLS.port], px.env())
            self.assertEqual(status_of(r.stdout), 502, r)
            self.assertIn(b"mitm upstream error", r.stdout)
            self.assertIn("csb-proxy: warning: TLS to notnamed.test:%d failed: Hostname mismatch\n" % TLS.port,
                          px.stderr())
            # the same origin under a name its certificate gives is fine
            r = curl(["https://allowed.test:%d/echo" % TLS.port], px.env())
            self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)

    def test_origin_offering_only_tls_1_0_or_1_1_is_refused(self):
        # a certificate the roots vouch for does not make an old protocol
        # acceptable; the proxy's message names the protocol, not a verdict
        # on a certificate it never looked at
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(os.path.join(CERTS, "server.pem"), os.path.join(CERTS, "server.key"))
        sctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        served = []

        def serve():
            while True:
                try:
                    conn, _ = lsock.accept()
                except OSError:
                    return
                try:
                    t = sctx.wrap_socket(conn, server_side=True)
                    served.append(t.version())
                    t.close()
                except (OSError, ssl.SSLError):
                    conn.close()

        threading.Thread(target=serve, daemon=True).start()
        port = lsock.getsockname()[1]
        try:
            with Proxy(proxy={"mode": "limited"}) as px:
                for v in ("TLSv1", "TLSv1_1"):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", DeprecationWarning)
                        sctx.minimum_version = ssl.TLSVersion.TLSv1
                        sctx.maximum_version = getattr(ssl.TLSVersion, v)
                    r = curl(["-i", "https://allowed.test:%d/echo" % port], px.env())
                    self.assertEqual(r.stdout.partition(b"\r\n\r\n")[2],
                                     b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                     b"content-length: 19\r\nconnection: close\r\n\r\nmitm upstream error", v)
                self.assertEqual(served, [])
                lines = [l for l in px.stderr().splitlines() if "TLS to allowed.test:%d failed" % port in l]
                self.assertEqual(len(lines), 2, px.stderr())
                for line in lines:
                    self.assertRegex(line, r"^csb-proxy: warning: TLS to allowed\.test:%d failed: "
                                           r"error:[0-9a-f]+:SSL routines:OPENSSL_internal:"
                                           r"(UNSUPPORTED_PROTOCOL|TLSV1_ALERT_PROTOCOL_VERSION)$" % port)
        finally:
            lsock.close()

    def test_origin_certificate_from_the_managed_ca_is_refused(self):
        # the CA that signs every interception leaf never vouches for an
        # origin, even when the upstream roots hold it
        ca_dir = fresh_dir("ownca")
        srv = fresh_dir("ownsrv")
        subprocess.run([TESTCERT, ca_dir, "allowed.test"], check=True)
        for name in ("server.pem", "server.key"):
            os.rename(os.path.join(ca_dir, name), os.path.join(srv, name))
        roots = os.path.join(srv, "roots.pem")
        with open(roots, "w") as out:
            for p in (os.path.join(CERTS, "ca.pem"), os.path.join(ca_dir, "ca.pem")):
                with open(p) as f:
                    out.write(f.read())
        own = Origin("own", tls_dir=srv)
        try:
            with Proxy(proxy={"mode": "limited"}, upstream_ca=roots, ca_dir=ca_dir) as px:
                r = curl(["-i", "https://allowed.test:%d/echo" % own.port], px.env())
                self.assertEqual(status_of(r.stdout), 502, r.stdout)
                self.assertIn(b"mitm upstream error", r.stdout)
                self.assertEqual(own.requests, 0)
                # the other root still verifies
                r = curl(["https://allowed.test:%d/echo" % TLS.port], px.env())
                self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)
        finally:
            own.stop()

    def test_truncated_close_delimited_body_is_not_vouched_for(self):
        # a body read until close that ends without the origin's TLS
        # close_notify may have been cut short on the way: the client must
        # see an unclean end too, not the proxy's close_notify
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(os.path.join(CERTS, "server.pem"), os.path.join(CERTS, "server.key"))

        def serve():
            for clean in (True, False):
                conn, _ = lsock.accept()
                try:
                    t = sctx.wrap_socket(conn, server_side=True)
                    t.settimeout(10)
                    head = b""
                    while b"\r\n\r\n" not in head:
                        head += t.recv(4096)
                    t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part")
                    if clean:
                        t = t.unwrap()  # close_notify
                    t.close()
                except (OSError, ssl.SSLError):
                    conn.close()

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        port = lsock.getsockname()[1]
        try:
            with Proxy(proxy={"mode": "limited"}) as px:
                host, pport = px.addrs["http"].rsplit(":", 1)
                ctx = ssl.create_default_context(cafile=px.env()["SSL_CERT_FILE"])
                # some Python builds ignore an EOF without close_notify by default
                ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
                for clean in (True, False):
                    s = socket.create_connection((host, int(pport)), timeout=10)
                    s.sendall(b"CONNECT allowed.test:%d HTTP/1.1\r\n\r\n" % port)
                    self.assertEqual(status_of(s.recv(4096)), 200)
                    t = ctx.wrap_socket(s, server_hostname="allowed.test", suppress_ragged_eofs=False)
                    t.sendall(b"GET / HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % port)
                    data, end = b"", None
                    while end is None:
                        try:
                            chunk = t.recv(4096)
                        except ssl.SSLError as e:  # SSLEOFError, or UNEXPECTED_EOF_WHILE_READING
                            if not isinstance(e, ssl.SSLEOFError) and "UNEXPECTED_EOF" not in str(e):
                                raise
                            end = "unclean"
                            continue
                        if chunk:
                            data += chunk
                        else:
                            end = "close_notify"
                    t.close()
                    self.assertTrue(data.endswith(b"first part"), data)
                    self.assertEqual(end, "close_notify" if clean else "unclean")
        finally:
            th.join(10)
            lsock.close()

    def test_ca_is_created_once_and_checked(self):
        ca_dir = os.path.join(fresh_dir("ca"), "proxy")
        with Proxy(proxy={"mode": "limited"}, ca_dir=ca_dir):
            pass
        with open(os.path.join(ca_dir, "ca.pem")) as f:
            first = f.read()
        with Proxy(proxy={"mode": "limited"}, ca_dir=ca_dir):
            pass
        with open(os.path.join(ca_dir, "ca.pem")) as f:
            self.assertEqual(f.read(), first)
        os.chmod(os.path.join(ca_dir, "ca.key"), 0o644)
        with self.assertRaises(RuntimeError) as cm:
            Proxy(proxy={"mode": "limited"}, ca_dir=ca_dir)
        self.assertIn("group/world accessible", str(cm.exception))

    def test_proxies_starting_together_share_one_new_ca(self):
        ca_dir = os.path.join(fresh_dir("raceca"), "proxy")
        pxs, errors = [None] * 4, []

        def start(i):
            try:
                pxs[i] = Proxy(proxy={"mode": "limited"}, ca_dir=ca_dir)
            except RuntimeError as e:
                errors.append(str(e))

        threads = [threading.Thread(target=start, args=(i,)) for i in range(len(pxs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            self.assertEqual(errors, [])
            with open(os.path.join(ca_dir, "ca.pem")) as f:
                ca = f.read()
            self.assertEqual(sum("created the MITM CA" in p.stderr() for p in pxs), 1)
            self.assertEqual([n for n in sorted(os.listdir(ca_dir)) if not n.startswith("ca-bundle-")],
                             ["ca.key", "ca.pem"])
            for p in pxs:
                with open(p.env()["SSL_CERT_FILE"]) as f:
                    self.assertTrue(f.read().endswith(ca))
                r = curl(["https://allowed.test:%d/echo" % TLS.port], p.env())
                self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)
        finally:
            for p in pxs:
                if p:
                    p.stop()

    def test_leaf_names_the_connect_host_whatever_the_sni(self):
        with Proxy(proxy={"mode": "limited"}) as px:
            host, pport = px.addrs["http"].rsplit(":", 1)
            ctx = ssl.create_default_context(cafile=px.env()["SSL_CERT_FILE"])
            ctx.check_hostname = False
            cases = [("Allowed.TEST.:%d" % TLS.port, "denied.test", (("DNS", "allowed.test"),)),
                     ("allowed.test:%d" % TLS.port, None, (("DNS", "allowed.test"),)),
                     ("sub.apex.test:%d" % TLS.port, "allowed.test", (("DNS", "sub.apex.test"),))]
            for target, sni, san in cases:
                s = socket.create_connection((host, int(pport)), timeout=10)
                s.sendall(b"CONNECT %s HTTP/1.1\r\n\r\n" % target.encode())
                self.assertEqual(s.recv(4096), b"HTTP/1.1 200 Connection established\r\n\r\n")
                t = ctx.wrap_socket(s, server_hostname=sni)
                self.assertEqual(t.getpeercert()["subjectAltName"], san, target)
                # the SNI decides nothing: the request goes to the CONNECT host
                name = san[0][1]
                t.sendall(b"GET /echo HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                          % (name.encode(), TLS.port))
                data = b""
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                t.close()
                self.assertEqual(json.loads(data.partition(b"\r\n\r\n")[2])["headers"]["host"],
                                 "%s:%d" % (name, TLS.port))
            # a wildcard-looking CONNECT host is no host: no wildcard leaf
            r = raw(px.addrs["http"], b"CONNECT *.wild.test:443 HTTP/1.1\r\n\r\n")
            self.assertEqual(r, b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                b"content-length: 12\r\nconnection: close\r\n\r\ninvalid host")

    def test_leaf_certificates_are_cached_per_host(self):
        def leaves(px, targets):
            host, pport = px.addrs["http"].rsplit(":", 1)
            ctx = ssl.create_default_context(cafile=px.env()["SSL_CERT_FILE"])
            ctx.check_hostname = False
            out = []
            for target in targets:
                s = socket.create_connection((host, int(pport)), timeout=10)
                s.sendall(b"CONNECT %s:%d HTTP/1.1\r\n\r\n" % (target.encode(), TLS.port))
                self.assertEqual(s.recv(4096), b"HTTP/1.1 200 Connection established\r\n\r\n")
                t = ctx.wrap_socket(s, server_hostname=target)
                out.append(t.getpeercert(binary_form=True))
                t.close()
            return out

        with Proxy(proxy={"mode": "limited"}) as px:
            a1, b, a2 = leaves(px, ["allowed.test", "sub.apex.test", "Allowed.Test"])
            self.assertEqual(a1, a2)  # issued once, served again
            self.assertNotEqual(a1, b)
        with Proxy(proxy={"mode": "limited"}, args=["--leaf-cache", "0"]) as px:
            a1, a2 = leaves(px, ["allowed.test", "allowed.test"])
            self.assertNotEqual(a1, a2)  # no cache: a new leaf per handshake

    def test_hooks(self):
        hooks = {"mitm": {"hooks": {"gh": {"host": "hooked.test", "methods": ["POST", "GET"],
                                           "path_prefixes": ["/repos/"], "action": ["strip", "inject"]}},
                          "actions": {"strip": {"strip_request_headers": ["authorization"]},
                                      "inject": {"inject_request_headers": [
                                          {"name": "x-token", "secret_env_var": "PXTEST_SECRET",
                                           "prefix": "Bearer "}]}}}}
        with Proxy(proxy=hooks, env={"PXTEST_SECRET": "s3cr3t"}) as px:
            env = px.env()
            r = curl(["-X", "POST", "-d", "b", "-H", "Authorization: Basic dXNlcg==", "-H", "X-Token: forged",
                      "https://hooked.test:%d/repos/x" % TLS.port], env)
            doc = json.loads(r.stdout)
            self.assertNotIn("authorization", doc["headers"], r.stderr)
            self.assertEqual(doc["headers"]["x-token"], "Bearer s3cr3t")
            # as spelt for origins that read '_' as '-' (CGI, WSGI): stripped and replaced too
            r = curl(["-H", "Authorization_: x", "-H", "authorization: Basic dXNlcg==", "-H", "X_Token: forged",
                      "-H", "x_token: forged", "https://hooked.test:%d/repos/y" % TLS.port], env)
            doc = json.loads(r.stdout)
            self.assertEqual({k: v for k, v in doc["headers"].items() if "auth" in k or "token" in k},
                             {"authorization_": "x", "x-token": "Bearer s3cr3t"}, r.stderr)
            r = curl(["-i", "https://hooked.test:%d/other" % TLS.port], env)
            self.assertEqual(status_of(r.stdout), 403)
            self.assertIn(b"x-proxy-error: blocked-by-mitm-hook", r.stdout)
            # a hooked prefix followed by dot segments (the origin would resolve them) matches no hook
            before = len(TLS.log)
            for path in ("/repos/../other", "/repos/%2e%2e/other", "/repos/x%2f..%2f..%2fother"):
                r = curl(["-i", "--path-as-is", "https://hooked.test:%d%s" % (TLS.port, path)], env)
                self.assertEqual(status_of(r.stdout), 403, (path, r.stdout))
                self.assertIn(b"x-proxy-error: blocked-by-mitm-hook", r.stdout)
            self.assertEqual(TLS.log[before:], [])
            # a host without hooks is tunnelled, not intercepted
            r = curl(["--cacert", os.path.join(CERTS, "ca.pem"), "-H", "Authorization: keep",
                      "https://allowed.test:%d/echo" % TLS.port], env)
            self.assertEqual(json.loads(r.stdout)["headers"]["authorization"], "keep")
            # hooked host on another port through SOCKS: interception required and impossible
            r = curl(["-x", px.socks, "http://hooked.test:%d/repos/x" % ORIGIN.port], env)
            self.assertEqual(r.returncode, 97)
            # nor does plain HTTP get around the hooks
            before = len(ORIGIN.log)
            for method in ("GET", "POST"):
                r = curl(["-i", "-X", method, "http://hooked.test:%d/other" % ORIGIN.port], env)
                head, _, body = r.stdout.partition(b"\r\n\r\n")
                self.assertEqual(status_of(head), 403, r.stdout)
                self.assertIn(b"x-proxy-error: blocked-by-mitm-required", head)
                self.assertEqual(json.loads(body)["reason"], "mitm_required")
            self.assertEqual(ORIGIN.log[before:], [])
            self.assertTrue(any(e["network.policy.reason"] == "mitm_required" for e in px.audit()))


    def test_method_override_headers_are_matched_by_the_hook(self):
        # an origin that obeys X-HTTP-Method-Override runs the method it
        # names: a GET-only hook must not vouch for a GET naming DELETE
        # (any spelling of the header); a method the same hook lists passes
        hooks = {"mitm": {"hooks": {"w": {"host": "hooked.test", "methods": ["GET", "POST"],
                                          "path_prefixes": ["/echo/w"], "action": ["s"]},
                                    "r": {"host": "hooked.test", "methods": ["GET"], "path_prefixes": ["/echo"],
                                          "action": ["s"]}},
                          "actions": {"s": {"strip_request_headers": ["authorization"]}}}}
        with Proxy(proxy=hooks) as px:
            env = px.env()
            url = "https://hooked.test:%d/echo" % TLS.port
            before = len(TLS.log)
            for name in ("X-HTTP-Method-Override", "X-HTTP-Method", "x-method-override", "X_HTTP_Method_Override"):
                for value in ("DELETE", "post", ""):
                    r = curl(["-i", "-H", "%s: %s" % (name, value) if value else name + ";", url + "/r"], env)
                    self.assertEqual(status_of(r.stdout), 403, (name, value, r.stdout))
                    self.assertIn(b"x-proxy-error: blocked-by-mitm-hook", r.stdout)
            self.assertEqual(TLS.log[before:], [])
            # the request line's own method, or one the matching hook lists too (a
            # method only another hook lists is refused: that hook's actions were not applied)
            r = curl(["-i", "-H", "X-HTTP-Method-Override: POST", url + "/r/w"], env)
            self.assertIn(b"x-proxy-error: blocked-by-mitm-hook", r.stdout)
            for value, path in (("get", "/r"), ("POST", "/w/1")):
                r = curl(["-H", "X-HTTP-Method-Override: " + value, url + path], env)
                self.assertEqual(json.loads(r.stdout)["path"], "/echo" + path, (value, r.stderr))
            # a header named in Connection does not reach the origin
            r = curl(["-H", "Connection: x-http-method-override", "-H", "X-HTTP-Method-Override: DELETE",
                      url + "/r"], env)
            self.assertEqual(json.loads(r.stdout)["path"], "/echo/r", r.stderr)

    def test_hook_headers_are_matched_as_the_origin_gets_them(self):
        hooks = {"mitm": {"hooks": {"h": {"host": "hooked.test", "methods": ["GET"], "path_prefixes": ["/echo"],
                                          "headers": {"x-scope": ["read"]}, "action": ["s"]}},
                          "actions": {"s": {"strip_request_headers": ["authorization"]}}}}
        with Proxy(proxy=hooks) as px:
            env = px.env()
            url = "https://hooked.test:%d/echo" % TLS.port
            r = curl(["-H", "X-Scope: read", url], env)
            self.assertEqual(json.loads(r.stdout)["headers"]["x-scope"], "read", r.stderr)
            # a header named in Connection is not forwarded: the hook cannot vouch for it
            before = len(TLS.log)
            r = curl(["-i", "-H", "X-Scope: read", "-H", "Connection: x-scope", url], env)
            self.assertEqual(status_of(r.stdout), 403, r.stdout)
            self.assertIn(b"x-proxy-error: blocked-by-mitm-hook", r.stdout)
            # X_Scope is X-Scope to origins that read '_' as '-' (CGI, WSGI): another occurrence
            for args in (["-H", "X_Scope: write"], ["-H", "x_scope: read", "-H", "X-Scope: write"]):
                r = curl(["-i", "-H", "X-Scope: read"] + args + [url], env)
                self.assertEqual(status_of(r.stdout), 403, (args, r.stdout))
            self.assertEqual(TLS.log[before:], [])
            r = curl(["-H", "X_Scope: read", url], env)
            self.assertEqual(json.loads(r.stdout)["headers"]["x_scope"], "read", r.stderr)

    def test_hooked_request_trailers_are_refused(self):
        """A trailer field could carry past a hook what its rules strip or
        match in the head: a hooked chunked request with one gets 400 and
        the origin never sees the field; other requests keep theirs."""
        hooks = {"mitm": {"hooks": {"h": {"host": "hooked.test", "methods": ["POST"], "path_prefixes": ["/echo"],
                                          "action": ["s"]}},
                          "actions": {"s": {"strip_request_headers": ["authorization"]}}}}
        body = b"3\r\nabc\r\n0\r\n"
        with Proxy(proxy=hooks) as px:
            ctx = ssl.create_default_context(cafile=px.env()["SSL_CERT_FILE"])
            for trailer, status in ((b"", 200), (b"Authorization: Basic dXNlcg==\r\n", 400)):
                t = ctx.wrap_socket(http_tunnel(px, b"hooked.test:%d" % TLS.port), server_hostname="hooked.test")
                t.sendall(b"POST /echo HTTP/1.1\r\nHost: hooked.test:%d\r\nAuthorization: Basic dXNlcg==\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n%s%s\r\n" % (TLS.port, body, trailer))
                head, resp = read_response(t.makefile("rb"))
                t.close()
                self.assertEqual(status_of(head), status, (trailer, head, resp))
                if status == 200:
                    doc = json.loads(resp)
                    self.assertEqual((doc["body"], doc["trailers"]), ("abc", []))
                    self.assertNotIn("authorization", doc["headers"])
                else:
                    self.assertEqual(resp, b"trailer fields not accepted")
            # not hooked: the trailer section goes on as it came
            r = raw(px.addrs["http"], b"POST http://allowed.test:%d/echo HTTP/1.1\r\nHost: allowed.test:%d\r\n"
                    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%sX-Sum: 1\r\n\r\n"
                    % (ORIGIN.port, ORIGIN.port, body))
            head, _, resp = r.partition(b"\r\n\r\n")
            self.assertEqual(status_of(head), 200, r)
            self.assertEqual(json.loads(resp)["trailers"], ["X-Sum: 1"])

    def test_hook_bypasses(self):
        """Every way to name a hooked origin either meets its hooks or is refused."""
        hooks = {"domains": dict(DEFAULT_DOMAINS, **{"127.0.0.1": "allow", "::1": "allow"}),
                 "mitm": {"hooks": {
                     "gh": {"host": "hooked.test", "methods": ["GET"], "path_prefixes": ["/echo"], "action": ["s"]},
                     "ip": {"host": "127.0.0.1", "methods": ["GET"], "path_prefixes": ["/echo"], "action": ["s"]}},
                     "actions": {"s": {"strip_request_headers": ["authorization"]}}}}
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE

        def tunnel(px, authority, sni):
            s = socket.create_connection(tuple(px.addrs["http"].rsplit(":", 1)), timeout=10)
            s.sendall(b"CONNECT %s HTTP/1.1\r\n\r\n" % authority)
            head = s.recv(4096)
            if status_of(head) != 200:
                s.close()
                return status_of(head), None
            return 200, unverified.wrap_socket(s, server_hostname=sni)

        def ask(t, requests):
            t.sendall(requests)
            f = t.makefile("rb")
            out = []
            for _ in range(requests.count(b"\r\n\r\n")):
                try:
                    out.append(read_response(f))
                except (OSError, ValueError):
                    break
            t.close()
            return out

        with Proxy(proxy=hooks) as px:
            before = len(TLS.log)
            # spellings of the name and of the port: intercepted, hooks apply (a path no hook matches -> 403)
            for auth, sni in ((b"HOOKED.TEST:%d", "HOOKED.TEST"), (b"hooked.test.:%d", "hooked.test."),
                              (b"HoOkEd.TeSt..:%d", "hooked.test"), (b" hooked.test:%d", "hooked.test"),
                              (b"127.0.0.1:%d", None), (b"[::ffff:127.0.0.1]:%d", None),
                              (b"[::FFFF:7f00:1]:%d", None), (b"[64:ff9b::7f00:1]:%d", None),
                              # the SNI the client sends does not choose the origin: the CONNECT host does
                              (b"hooked.test:%d", "allowed.test")):
                st, t = tunnel(px, auth % TLS.port, sni)
                if st != 200:
                    self.assertIn(st, (400, 403), auth)
                    continue
                host = auth.strip() % TLS.port
                (head, body), = ask(t, b"GET /other HTTP/1.1\r\nHost: %s\r\n\r\n" % host)
                self.assertEqual(status_of(head), 403, (auth, head))
                self.assertIn(b"x-proxy-error: blocked-by-mitm-hook", head, auth)
            # spellings that are not the name: refused before any tunnel (invalid or numeric forms)
            for auth in (b"hooked%%2etest:%d", b"user@hooked.test:%d", b"hooked.test:%d@allowed.test:1",
                         b"\xef\xbd\x88ooked.test:%d", b"2130706433:%d", b"0x7f.1:%d", b"0177.0.0.1:%d",
                         b"127.1:%d", b"[::ffff:127.0.0.1%%25lo]x:%d"):
                st, t = tunnel(px, auth.replace(b"%d", b"%d" % TLS.port), None)
                self.assertIsNone(t, auth)
                self.assertIn(st, (400, 403), auth)
            self.assertEqual(TLS.log[before:], [])
            # inside an intercepted tunnel the Host must stay the CONNECT host, request after request
            st, t = tunnel(px, b"hooked.test:%d" % TLS.port, "hooked.test")
            self.assertEqual(st, 200)
            out = ask(t, b"GET /echo HTTP/1.1\r\nHost: hooked.test:%d\r\nAuthorization: x\r\n\r\n"
                         b"GET /echo HTTP/1.1\r\nHost: allowed.test:%d\r\nAuthorization: x\r\n\r\n"
                         % (TLS.port, TLS.port))
            self.assertEqual(status_of(out[0][0]), 200, out)
            self.assertNotIn("authorization", json.loads(out[0][1])["headers"])
            self.assertEqual(status_of(out[1][0]), 400, out)
            self.assertEqual(out[1][1], b"host mismatch")
            p = TLS.port
            for req in (b"GET https://allowed.test:%d/echo HTTP/1.1\r\nHost: hooked.test:%d\r\n\r\n" % (p, p),
                        b"GET https://allowed.test:%d/echo HTTP/1.1\r\n\r\n" % p,
                        b"GET /echo HTTP/1.1\r\nHost: hooked.test:%d\r\nHost: allowed.test:%d\r\n\r\n" % (p, p),
                        b"GET /echo HTTP/1.1\r\nHost: hooked.test\r\n\r\n"):
                st, t = tunnel(px, b"hooked.test:%d" % p, "hooked.test")
                (head, body), = ask(t, req)
                self.assertEqual(status_of(head), 400, (req, head))
                self.assertEqual(body, b"host mismatch", req)
            # plain HTTP to any spelling of a hooked host is refused
            before = len(ORIGIN.log)
            for url in (b"http://HOOKED.test.:%d/echo", b"http://127.0.0.1:%d/echo", b"http://[::ffff:127.0.0.1]:%d/echo"):
                r = raw(px.addrs["http"], b"GET %s HTTP/1.1\r\n\r\n" % (url % ORIGIN.port))
                self.assertEqual(status_of(r), 403, (url, r))
                self.assertIn(b"mitm_required", r)
            self.assertEqual(ORIGIN.log[before:], [])
            # SOCKS5 CONNECT to a hooked name or address off port 443 cannot be intercepted: refused (code 2)
            for dst in (b"\x03\x0bHOOKED.TEST", b"\x01\x7f\x00\x00\x01",
                        b"\x04" + socket.inet_pton(socket.AF_INET6, "::ffff:127.0.0.1")):
                s = socket.create_connection(tuple(px.addrs["socks"].rsplit(":", 1)), timeout=10)
                s.sendall(b"\x05\x01\x00")
                self.assertEqual(s.recv(2), b"\x05\x00")
                s.sendall(b"\x05\x01\x00" + dst + struct.pack("!H", TLS.port))
                self.assertEqual(s.recv(10)[1], 2, dst)
                s.close()
            # SOCKS5 UDP (HTTP/3) to a hooked name or address is dropped
            echo = UdpEcho()
            s, rep, relay = socks_udp_associate(px.addrs["socks"])
            self.assertEqual(rep, 0)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(2)
            for dst in (b"\x03\x0bhooked.test", b"\x03\x0cHooked.Test.",
                        b"\x04" + socket.inet_pton(socket.AF_INET6, "::ffff:127.0.0.1")):
                u.sendto(b"\x00\x00\x00" + dst + struct.pack("!H", echo.port) + b"ping", relay)
            with self.assertRaises(socket.timeout):
                u.recvfrom(65535)
            name = b"allowed.test"
            u.sendto(b"\x00\x00\x00\x03" + bytes([len(name)]) + name + struct.pack("!H", echo.port) + b"ok", relay)
            u.settimeout(10)
            self.assertTrue(u.recvfrom(65535)[0].endswith(b"echo:ok"))
            s.close()
            u.close()
            echo.sock.close()
            udp = {(e["server.address"], e["network.policy.reason"]) for e in px.audit()
                   if e["network.transport.protocol"] == "socks5_udp"}
            self.assertEqual(udp, {("hooked.test", "mitm_required"), ("::ffff:127.0.0.1", "mitm_required"),
                                   ("allowed.test", "allow")})
        # hooks next to an allow-everything entry cannot hold: a warning names the entry and the fix
        self.assertNotIn("mitm.hooks", px.stderr())
        with Proxy(proxy=dict(hooks, domains={"*": "allow"})) as px:
            self.assertIn("csb-proxy: warning: network.proxy.mitm.hooks: the allow entry `*` lets a tunnel",
                          px.stderr())
            self.assertIn('set network.proxy.mode = "limited" to intercept every tunnel', px.stderr())


class Audit(unittest.TestCase):
    def test_event_lines(self):
        # a local time zone far from UTC: the timestamps stay UTC
        with Proxy(args=["--audit-meta", "conversation.id=c-1", "--audit-meta", "originator=tests"],
                   env={"TZ": "XST-5:30"}) as px:
            before = int(time.time() * 1000) / 1000.0 - 0.0005  # the event's own millisecond, rounding aside
            curl(["http://allowed.test:%d/echo?secret=1" % ORIGIN.port], px.env())
            curl(["http://denied.test:%d/p" % ORIGIN.port], px.env())
            after = time.time()
            evs = px.audit()
        for e in evs:
            when = datetime.datetime.strptime(e["event.timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
            when = when.replace(tzinfo=datetime.timezone.utc).timestamp()
            self.assertTrue(before <= when <= after + 0.0005, (before, e["event.timestamp"], after))
        self.assertGreaterEqual(len(evs), 2)
        allow = [e for e in evs if e["server.address"] == "allowed.test"][0]
        self.assertEqual(list(allow), ["event.name", "event.timestamp", "conversation.id", "originator",
                                       "network.policy.scope", "network.policy.decision", "network.policy.source",
                                       "network.policy.reason", "network.transport.protocol", "server.address",
                                       "server.port", "http.request.method", "client.address",
                                       "network.policy.override"])
        self.assertEqual(allow["event.name"], "codex.network_proxy.policy_decision")
        self.assertRegex(allow["event.timestamp"], TS_RE)
        self.assertEqual(allow["conversation.id"], "c-1")
        self.assertEqual(allow["network.policy.scope"], "domain")
        self.assertEqual(allow["network.policy.decision"], "allow")
        self.assertEqual(allow["network.policy.reason"], "allow")
        self.assertEqual(allow["server.port"], ORIGIN.port)
        self.assertEqual(allow["http.request.method"], "GET")
        self.assertRegex(allow["client.address"], r"^127\.0\.0\.1:\d+$")
        self.assertIs(allow["network.policy.override"], False)
        deny = [e for e in evs if e["server.address"] == "denied.test"][0]
        self.assertEqual(deny["network.policy.decision"], "deny")
        self.assertEqual(deny["network.policy.reason"], "denied")
        for e in evs:
            self.assertNotIn("secret", json.dumps(e))


# ---- opaque tunnels and TLS server names ---------------------------------------------------------


class RecordingOrigin(TcpOrigin):
    """A TCP origin that keeps every byte each connection sent it, in order
    (`conns`: one dict per accepted connection with its bytes and an event set
    when the client side closed). It may speak first (`banner`) and answers
    every chunk with b"echo:" + chunk when `echo`."""

    def __init__(self, banner=b"", echo=True):
        self.banner = banner
        self.echo = echo
        self.conns = []
        super().__init__()

    def accepted(self, c):
        rec = {"data": bytearray(), "closed": threading.Event()}
        self.conns.append(rec)  # in the order of accept
        return c, rec

    def serve(self, c, rec):
        c.settimeout(20)
        try:
            if self.banner:
                c.sendall(self.banner)
            while True:
                data = c.recv(65536)
                if not data:
                    break
                rec["data"] += data
                if self.echo:
                    c.sendall(b"echo:" + data)
        except OSError:
            pass
        finally:
            rec["closed"].set()
            c.close()

    def conn(self, i, timeout=10):
        """The bytes of the i-th connection (from 0), once its client side closed."""
        deadline = time.monotonic() + timeout
        while len(self.conns) <= i and time.monotonic() < deadline:
            time.sleep(0.02)
        rec = self.conns[i]
        rec["closed"].wait(timeout)
        assert rec["closed"].is_set(), "the origin connection stayed open"
        return bytes(rec["data"])

    def last(self, timeout=10):
        return self.conn(len(self.conns) - 1, timeout)


def real_hello(sni):
    """The first flight of Python's TLS client (OpenSSL) for server name `sni`."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def built_hello(sni, ech=False, record=16384):
    """A minimal ClientHello written by hand: TLS 1.2 legacy_version, one
    suite, supported_versions, server_name (when sni) and an empty
    encrypted_client_hello extension (when ech), in records of `record` bytes."""
    exts = b"\x00\x2b\x00\x05\x04\x03\x04\x03\x03"
    if sni is not None:
        name = sni.encode() if isinstance(sni, str) else sni
        exts += struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    if ech:
        exts += b"\xfe\x0d\x00\x00"
    body = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    return records(b"\x01" + struct.pack("!I", len(body))[1:] + body, record)


def records(msg, size):
    return b"".join(b"\x16\x03\x01" + struct.pack("!H", len(msg[i:i + size])) + msg[i:i + size]
                    for i in range(0, len(msg), size))


def resplit(flight, size):
    """The handshake bytes of `flight` (TLS records) in records of `size` bytes."""
    msg, off = b"", 0
    while off + 5 <= len(flight):
        n = struct.unpack("!H", flight[off + 3:off + 5])[0]
        msg += flight[off + 5:off + 5 + n]
        off += 5 + n
    return records(msg, size)


# A HelloRetryRequest (RFC 8446 §4.1.3): a ServerHello whose random is this value.
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
HRR_BODY = (b"\x03\x03" + HRR_RANDOM + b"\x00" + b"\x13\x01" + b"\x00" +
            b"\x00\x0c" + b"\x00\x2b\x00\x02\x03\x04" + b"\x00\x33\x00\x02\x00\x17")
HRR = records(b"\x02" + struct.pack("!I", len(HRR_BODY))[1:] + HRR_BODY, 16384).replace(b"\x16\x03\x01", b"\x16\x03\x03", 1)


class HrrOrigin(RecordingOrigin):
    """A RecordingOrigin that answers the first bytes of each connection
    with a HelloRetryRequest and then says nothing (split: the first that
    many bytes of it go alone, the rest a moment later)."""

    def __init__(self, split=0):
        self.split = split
        super().__init__()

    def serve(self, c, rec):
        c.settimeout(20)
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                if not rec["data"]:
                    if self.split:
                        c.sendall(HRR[:self.split])
                        time.sleep(0.3)
                    c.sendall(HRR[self.split:])
                rec["data"] += data
        except OSError:
            pass
        finally:
            rec["closed"].set()
            c.close()


def http_tunnel(px, authority, first=b""):
    """CONNECT authority; returns the socket once `200` came (first: bytes
    sent right behind the request, in the same segment)."""
    s = socket.create_connection(tuple(px.addrs["http"].rsplit(":", 1)), timeout=10)
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority) + first)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    assert status_of(head) == 200, head
    return s


def socks_tunnel(px, dst, port):
    """SOCKS5 CONNECT (dst: ATYP + address bytes); returns the socket after the success reply."""
    s = socket.create_connection(tuple(px.addrs["socks"].rsplit(":", 1)), timeout=10)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00" + dst + struct.pack("!H", port))
    rep = b""
    while len(rep) < 10:
        chunk = s.recv(10 - len(rep))
        if not chunk:
            break
        rep += chunk
    assert rep[:2] == b"\x05\x00", rep
    return s


def rest(s, timeout=10):
    """What the peer sends until it closes (a reset counts as a close)."""
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except ConnectionResetError:
        pass
    s.close()
    return out


class SniTunnels(unittest.TestCase):
    """The TLS server name sent through an opaque tunnel must be the
    tunnel's host or a host the policy would tunnel to itself."""

    HOOKS = {"mitm": {"hooks": {"h": {"host": "hooked.test", "methods": ["GET"], "path_prefixes": ["/"],
                                      "action": ["s"]}},
                      "actions": {"s": {"strip_request_headers": ["authorization"]}}}}

    @classmethod
    def setUpClass(cls):
        cls.rec = RecordingOrigin()

    @classmethod
    def tearDownClass(cls):
        cls.rec.stop()

    def proxy(self, **kw):
        proxy = dict(self.HOOKS)
        proxy["domains"] = dict(DEFAULT_DOMAINS, **{"127.0.0.1": "allow"})
        return Proxy(proxy=proxy, **kw)

    def http(self, px, authority, first=b""):
        """A CONNECT tunnel; self.mark notes which origin connection is its."""
        self.mark = len(self.rec.conns)
        return http_tunnel(px, authority, first)

    def socks(self, px, dst):
        self.mark = len(self.rec.conns)
        return socks_tunnel(px, dst, self.rec.port)

    def refused(self, px, s, flight, sni, reason, proto="https_connect", source="baseline_policy", before=None):
        """Sends `flight` through tunnel s: the tunnel must close, the origin
        must have received nothing, and the audit (after line `before`) must
        say why."""
        if before is None:
            before = len(px.audit())
        s.sendall(flight)
        self.assertEqual(rest(s), b"", sni)
        self.assertEqual(self.rec.conn(self.mark), b"", sni)
        deadline = time.monotonic() + 5
        while len(px.audit()) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        ev = px.audit()[before:]
        self.assertEqual(len(ev), 1, ev)
        ev = ev[0]
        self.assertEqual(ev["network.policy.reason"], reason, ev)
        self.assertEqual(ev["network.policy.decision"], "deny")
        self.assertEqual(ev["network.policy.source"], source)
        self.assertEqual(ev["server.address"], sni)
        self.assertEqual(ev["server.port"], self.rec.port)
        self.assertEqual(ev["network.transport.protocol"], proto)
        self.assertEqual(ev["http.request.method"], "CONNECT" if proto == "https_connect" else "none")
        self.assertEqual(ev["network.policy.override"], False)
        return ev

    def passed(self, s, flight, more=b"GET / HTTP/1.1\r\n\r\n", earlier=b""):
        """Sends `flight`, then `more` through tunnel s (after `earlier`): the
        origin must get exactly those bytes, and its answers must come back."""
        s.sendall(flight)
        time.sleep(0.05)
        s.sendall(more)
        s.shutdown(socket.SHUT_WR)
        got = rest(s)
        self.assertEqual(self.rec.conn(self.mark), earlier + flight + more)
        self.assertTrue(got.startswith(b"echo:"), got[:40])
        self.assertEqual(got.replace(b"echo:", b""), earlier + flight + more)

    def test_matching_or_allowed_names_work_end_to_end(self):
        ca = os.path.join(CERTS, "ca.pem")
        with self.proxy() as px:
            env = px.env()
            # real clients: the server name is the tunnel's host
            r = curl(["--cacert", ca, "https://allowed.test:%d/echo" % TLS.port], env)
            self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)
            r = curl(["--cacert", ca, "-x", px.socks, "https://api.wild.test:%d/echo" % TLS.port], env)
            self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)
            # the same name however the tunnel spelt it
            ctx = ssl.create_default_context(cafile=ca)
            for authority, sni in ((b"ALLOWED.test.:%d", "allowed.test"), (b"allowed.test:%d", "Allowed.TEST.")):
                t = ctx.wrap_socket(http_tunnel(px, authority % TLS.port), server_hostname=sni.rstrip("."))
                t.sendall(b"GET /echo HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
                head, body = read_response(t.makefile("rb"))
                self.assertEqual(status_of(head), 200)
                t.close()
                self.passed(self.http(px, authority % self.rec.port), built_hello(sni))
            # another name the policy allows: tunnelled, and audited as a decision
            before = len(px.audit())
            t = ctx.wrap_socket(http_tunnel(px, b"allowed.test:%d" % TLS.port), server_hostname="sub.apex.test")
            t.sendall(b"GET /echo HTTP/1.1\r\nHost: sub.apex.test\r\n\r\n")
            self.assertEqual(status_of(read_response(t.makefile("rb"))[0]), 200)
            t.close()
            ev = [e for e in px.audit()[before:] if e["server.address"] == "sub.apex.test"]
            self.assertEqual([(e["network.policy.decision"], e["network.policy.reason"]) for e in ev],
                             [("allow", "allow")])
            # no server name, Encrypted Client Hello with an allowed outer name: passed unchanged
            self.passed(self.http(px, b"allowed.test:%d" % self.rec.port), built_hello(None))
            self.passed(self.http(px, b"allowed.test:%d" % self.rec.port), built_hello("allowed.test", ech=True))
            # an IP-literal tunnel has no name: any server name is judged on its own
            self.passed(self.http(px, b"127.0.0.1:%d" % self.rec.port), real_hello("allowed.test"))
            self.refused(px, self.http(px, b"127.0.0.1:%d" % self.rec.port), real_hello("other.test"),
                         "other.test", "sni_not_allowed")

    def test_names_the_policy_refuses_close_the_tunnel_unsent(self):
        with self.proxy() as px:
            ca = os.path.join(CERTS, "ca.pem")
            tunnel = lambda: self.http(px, b"allowed.test:%d" % self.rec.port)  # noqa: E731
            # a denied host fronted by an allowed one
            self.refused(px, tunnel(), real_hello("denied.test"), "denied.test", "sni_denied")
            self.refused(px, tunnel(), real_hello("DENIED.test."), "denied.test", "sni_denied")
            # a hooked host through a tunnel that is not intercepted
            ev = self.refused(px, tunnel(), real_hello("hooked.test"), "hooked.test", "sni_mitm_required",
                              source="mode_guard")
            self.assertEqual(ev["network.policy.scope"], "non_domain")
            # a host on neither list
            ev = self.refused(px, tunnel(), real_hello("other.test"), "other.test", "sni_not_allowed")
            self.assertEqual(ev["network.policy.scope"], "domain")
            # the ClientHello right behind the CONNECT request, in the same segment
            before = len(px.audit()) + 1  # after the tunnel's own line
            s = self.http(px, b"allowed.test:%d" % self.rec.port, first=real_hello("denied.test"))
            self.refused(px, s, b"", "denied.test", "sni_denied", before=before)
            # a real client against the real origin: the handshake never reaches it
            before = len(TLS.log)
            ctx = ssl.create_default_context(cafile=ca)
            with self.assertRaises((ssl.SSLError, OSError)):
                t = ctx.wrap_socket(http_tunnel(px, b"allowed.test:%d" % TLS.port), server_hostname="denied.test")
                t.sendall(b"GET /echo HTTP/1.1\r\nHost: denied.test\r\n\r\n")
                t.recv(100)
            self.assertEqual(TLS.log[before:], [])
            # curl sends the name of the URL and connects where --connect-to says
            r = curl(["--cacert", ca, "--connect-to", "denied.test:443:allowed.test:%d" % TLS.port,
                      "https://denied.test/echo"], px.env())
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(r.stdout, b"")
            self.assertEqual(TLS.log[before:], [])
            ev = px.audit()[-1]
            self.assertEqual((ev["server.address"], ev["network.policy.reason"]), ("denied.test", "sni_denied"))

    def test_split_hellos(self):
        with self.proxy() as px:
            hello = real_hello("api.wild.test")
            for size in (1, 3, 100):
                # over records and TCP segments (one record per segment)
                flight = resplit(hello, size)
                s = self.http(px, b"allowed.test:%d" % self.rec.port)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                parts = [flight[i:i + 7 * size] for i in range(0, len(flight), 7 * size)]
                for part in parts[:-1]:
                    s.sendall(part)
                    time.sleep(0.01)
                self.passed(s, parts[-1], b"after", earlier=b"".join(parts[:-1]))
            # split, with a name that is refused: nothing of it arrives
            s = self.http(px, b"allowed.test:%d" % self.rec.port)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            flight = resplit(real_hello("denied.test"), 50)
            for i in range(0, len(flight) - 10, 10):
                s.sendall(flight[i:i + 10])
                time.sleep(0.005)
            self.refused(px, s, flight[i + 10:], "denied.test", "sni_denied")

    def test_malformed_handshakes_fail_closed(self):
        with self.proxy(args=["--handshake-timeout", "1s"]) as px:
            tunnel = lambda: self.http(px, b"allowed.test:%d" % self.rec.port)  # noqa: E731
            host = "allowed.test"
            for flight in (b"\x16garbage after the handshake type\r\n",
                           b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00",          # a ServerHello
                           resplit(built_hello("a.test"), 40)[:45] + b"\x17\x03\x03\x00\x01x",  # another record inside
                           built_hello("bad:name.test"),
                           built_hello(b"allowed.test\x00.denied.test"),
                           built_hello("allowed.test")[:5] + b"\x00" * 5,             # not a handshake message
                           b"\x16\x03\x01\x00\x00",                                   # an empty record
                           # another TLS record first: BoringSSL and Go servers skip a warning
                           # alert and read the ClientHello behind it
                           b"\x15\x03\x01\x00\x02\x01\x5a" + real_hello("denied.test"),
                           b"\x14\x03\x03\x00\x01\x01" + real_hello("other.test"),
                           b"\x17\x03\x03junk"):
                self.refused(px, tunnel(), flight, host, "sni_malformed")
            # a ClientHello that stops halfway: refused when the handshake timeout expires
            s = tunnel()
            s.sendall(real_hello("allowed.test")[:100])
            t0 = time.monotonic()
            self.assertEqual(rest(s), b"")
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual(self.rec.conn(self.mark), b"")
            self.assertEqual(px.audit()[-1]["network.policy.reason"], "sni_malformed")
            # the handshake timeout does not apply before a client's first byte
            s = tunnel()
            time.sleep(1.5)
            self.passed(s, b"late but fine")

    def test_second_client_hello_after_a_retry_request(self):
        # TLS 1.3: a server that answers the first ClientHello with a
        # HelloRetryRequest reads a second one, and OpenSSL takes its server
        # name again (the name a virtual host is chosen by): it must be the
        # first one's
        hrr = HrrOrigin()
        try:
            with self.proxy(args=["--handshake-timeout", "2s"]) as px:
                ccs = b"\x14\x03\x03\x00\x01\x01"
                for first, second, ok in (("allowed.test", "denied.test", False),
                                          ("allowed.test", "other.test", False),
                                          ("allowed.test", None, False),
                                          (None, "denied.test", False),
                                          ("allowed.test", "ALLOWED.test.", True),
                                          (None, None, True)):
                    for pre in (b"", ccs):
                        mark = len(hrr.conns)
                        ch1, ch2 = built_hello(first), built_hello(second, record=50)
                        s = self.retried(px, hrr, ch1)
                        before = len(px.audit())
                        s.sendall(pre + ch2 + b"after")
                        if ok:
                            s.shutdown(socket.SHUT_WR)
                            self.assertEqual(rest(s), b"")
                            self.assertEqual(hrr.conn(mark), ch1 + pre + ch2 + b"after")
                            continue
                        self.assertEqual(rest(s), b"", (first, second))
                        self.assertEqual(hrr.conn(mark), ch1, (first, second))
                        ev = px.audit()[before:]
                        self.assertEqual([(e["network.policy.reason"], e["server.address"]) for e in ev],
                                         [("sni_malformed", "allowed.test")], (first, second))
                # a real client and server: the server's one group makes it ask again
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(os.path.join(CERTS, "server.pem"), os.path.join(CERTS, "server.key"))
                ctx.set_ecdh_curve("prime256v1")  # Python's client offers a key share for x25519 only
                names = []
                ctx.sni_callback = lambda sock, name, c: names.append(name)
                srv = socket.create_server(("127.0.0.1", 0))
                port = srv.getsockname()[1]

                def serve():
                    c = srv.accept()[0]
                    with ctx.wrap_socket(c, server_side=True) as t:
                        t.sendall(t.version().encode())

                th = threading.Thread(target=serve, daemon=True)
                th.start()
                cctx = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.pem"))
                with cctx.wrap_socket(http_tunnel(px, b"allowed.test:%d" % port), server_hostname="allowed.test") as t:
                    self.assertEqual(t.recv(100), b"TLSv1.3")
                th.join(10)
                srv.close()
                self.assertEqual(names, ["allowed.test", "allowed.test"])
                # without a retry request nothing after the first ClientHello is looked at
                mark = len(self.rec.conns)
                s = http_tunnel(px, b"allowed.test:%d" % self.rec.port)
                self.mark = mark
                self.passed(s, built_hello("allowed.test"), ccs + built_hello("denied.test"))
        finally:
            hrr.stop()

    def retried(self, px, hrr, first):
        """A tunnel to hrr whose ClientHello `first` was answered by the
        HelloRetryRequest; returns the socket."""
        s = http_tunnel(px, b"allowed.test:%d" % hrr.port)
        s.sendall(first)
        s.settimeout(10)
        got = b""
        while len(got) < len(HRR):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, HRR)
        return s

    def assert_second_refused(self, px, hrr, mark, ch1, s, msg=None):
        """The tunnel s was closed with only the first ClientHello ch1 sent
        upstream, as sni_malformed."""
        self.assertEqual(rest(s, timeout=15), b"", msg)
        self.assertEqual(hrr.conn(mark), ch1, msg)
        self.assertEqual(px.audit()[-1]["network.policy.reason"], "sni_malformed")

    def test_retry_request_whose_record_header_comes_alone(self):
        # the server's first read holds a record header and none of its
        # bytes: the proxy waits for them instead of taking the answer for
        # something else and letting the second ClientHello through unread
        hrr = HrrOrigin(split=5)
        try:
            with self.proxy(args=["--handshake-timeout", "2s"]) as px:
                for second, ok in (("denied.test", False), ("allowed.test", True)):
                    mark = len(hrr.conns)
                    ch1, ch2 = built_hello("allowed.test"), built_hello(second)
                    s = self.retried(px, hrr, ch1)
                    s.sendall(ch2 + b"after")
                    if ok:
                        s.shutdown(socket.SHUT_WR)
                        self.assertEqual(rest(s), b"")
                        self.assertEqual(hrr.conn(mark), ch1 + ch2 + b"after")
                        continue
                    self.assert_second_refused(px, hrr, mark, ch1, s)
        finally:
            hrr.stop()

    def test_empty_handshake_record_before_the_second_client_hello(self):
        # a server may skip an empty handshake record (BoringSSL does) and
        # read the ClientHello behind it: the proxy refuses it, as in the
        # first flight, instead of taking the next record's first byte for
        # a message type
        hrr = HrrOrigin()
        try:
            with self.proxy(args=["--handshake-timeout", "2s"]) as px:
                ccs = b"\x14\x03\x03\x00\x01\x01"
                empty = b"\x16\x03\x03\x00\x00"
                for pre in (empty, ccs + empty):
                    for second in ("denied.test", "allowed.test"):
                        mark = len(hrr.conns)
                        ch1 = built_hello("allowed.test")
                        s = self.retried(px, hrr, ch1)
                        s.sendall(pre + built_hello(second) + b"after")
                        self.assert_second_refused(px, hrr, mark, ch1, s, second)
        finally:
            hrr.stop()

    def test_second_client_hello_past_the_bound_is_refused_at_once(self):
        # skipped records fill the second flight up to just below the bytes
        # the proxy reads of it, so that the ClientHello behind them cannot
        # be whole within them: refused when that is known, not at the
        # handshake timeout
        hrr = HrrOrigin()
        try:
            with self.proxy(args=["--handshake-timeout", "20s"]) as px:
                ccs = b"\x14\x03\x03\x00\x01\x01"
                for fill in (32768 - 40, 32768 - 3):
                    mark = len(hrr.conns)
                    ch1 = built_hello("allowed.test")
                    s = self.retried(px, hrr, ch1)
                    pre = ccs * (fill // len(ccs))
                    start = time.monotonic()
                    s.sendall(pre + built_hello("allowed.test"))
                    self.assert_second_refused(px, hrr, mark, ch1, s, fill)
                    self.assertLess(time.monotonic() - start, 10, "refused only at the handshake timeout")
        finally:
            hrr.stop()

    def test_other_protocols_pass_unchanged(self):
        ssh = RecordingOrigin(banner=b"SSH-2.0-OpenSSH_test\r\n")
        try:
            for args in ((), ("--relay", "copy")):
                with self.proxy(args=args) as px:
                    # the origin speaks first, the client answers
                    s = http_tunnel(px, b"allowed.test:%d" % ssh.port)
                    s.settimeout(10)
                    self.assertEqual(s.recv(100), b"SSH-2.0-OpenSSH_test\r\n")
                    s.sendall(b"SSH-2.0-client\r\n")
                    self.assertEqual(s.recv(100), b"echo:SSH-2.0-client\r\n")
                    payload = pattern(300000)
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    got = rest(s, 20)
                    self.assertEqual(ssh.last(), b"SSH-2.0-client\r\n" + payload)
                    self.assertEqual(len(got), len(payload) + 5 * got.count(b"echo:"))
                    # plain HTTP inside a tunnel, through both listeners
                    for s in (http_tunnel(px, b"allowed.test:%d" % ORIGIN.port),
                              socks_tunnel(px, b"\x03\x0callowed.test", ORIGIN.port)):
                        s.sendall(b"GET /echo HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n")
                        self.assertEqual(status_of(rest(s)), 200)
                    # a first byte other than a TLS record's is not looked at further
                    self.passed(self.http(px, b"allowed.test:%d" % self.rec.port), b"\x17\x02\x03junk")
                    self.passed(self.http(px, b"allowed.test:%d" % self.rec.port), b"\x19\x03\x03junk")
                    self.assertFalse(any(e["network.policy.reason"].startswith("sni_") for e in px.audit()))
        finally:
            ssh.stop()

    def test_socks5(self):
        with self.proxy() as px:
            name = lambda n: b"\x03" + bytes([len(n)]) + n  # noqa: E731
            ip = b"\x01\x7f\x00\x00\x01"
            self.passed(self.socks(px, name(b"allowed.test")), real_hello("allowed.test"))
            self.passed(self.socks(px, ip), real_hello("api.wild.test"))
            for dst in (name(b"allowed.test"), ip):
                self.refused(px, self.socks(px, dst), real_hello("denied.test"), "denied.test",
                             "sni_denied", proto="socks5_tcp")
                self.refused(px, self.socks(px, dst), real_hello("other.test"), "other.test",
                             "sni_not_allowed", proto="socks5_tcp")
                self.refused(px, self.socks(px, dst), real_hello("hooked.test"), "hooked.test",
                             "sni_mitm_required", proto="socks5_tcp", source="mode_guard")
            self.refused(px, self.socks(px, ip), b"\x16\x03\x01\x00\x01\x00", "127.0.0.1",
                         "sni_malformed", proto="socks5_tcp")
            # the socks5h client of a real program
            ca = os.path.join(CERTS, "ca.pem")
            r = curl(["--cacert", ca, "-x", px.socks, "--connect-to", "denied.test:443:allowed.test:%d" % TLS.port,
                      "https://denied.test/echo"], px.env())
            self.assertNotEqual(r.returncode, 0)
            ev = px.audit()[-1]
            self.assertEqual((ev["server.address"], ev["network.policy.reason"], ev["network.transport.protocol"]),
                             ("denied.test", "sni_denied", "socks5_tcp"))


DECIDER = r'''
import json, os, sys, time
log = os.environ["PXTEST_DECIDER_LOG"]
for line in sys.stdin:
    q = json.loads(line)
    with open(log, "a") as f:
        f.write(line)
    host = q["host"]
    if host == "never.test":
        continue
    if host == "die.test":
        sys.exit(0)
    if host == "dedupe.test":
        while not os.path.exists(log + ".release"):
            time.sleep(0.05)
    if host == "odd.test":
        # ids that name no question, then the answer with a scope of unclear reach
        for bad in ("-1", "1e999", str(q["id"]) + ".5", '"%d"' % q["id"], "null"):
            print('{"id":%s,"decision":"allow"}' % bad, flush=True)
        print(json.dumps({"id": q["id"], "decision": "allow", "scope": "forever"}), flush=True)
        continue
    reply = {"id": q["id"], "decision": "allow" if host in ("ask.test", "once.test", "dedupe.test") else "deny",
             "scope": "once" if host in ("once.test", "dedupe.test") else "session", "reason": "test"}
    print(json.dumps(reply), flush=True)
'''


class Decider(unittest.TestCase):
    def start(self, timeout="20s"):
        d = fresh_dir("decider")
        script = os.path.join(d, "decider.py")
        with open(script, "w") as f:
            f.write(DECIDER)
        self.log = os.path.join(d, "log")
        return Proxy(args=["--decider", "%s %s" % (sys.executable, script), "--decider-timeout", timeout],
                     env={"PXTEST_DECIDER_LOG": self.log})

    def questions(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def test_protocol_cache_and_override(self):
        with self.start() as px:
            env = px.env()
            for _ in range(3):
                r = curl(["http://ask.test:%d/echo" % ORIGIN.port], env)
                self.assertEqual(json.loads(r.stdout)["method"], "GET", r.stderr)
            qs = self.questions()
            self.assertEqual(len(qs), 1)
            self.assertEqual(set(qs[0]), {"id", "type", "host", "port", "protocol", "method", "client"})
            self.assertEqual((qs[0]["host"], qs[0]["protocol"], qs[0]["port"]), ("ask.test", "http", ORIGIN.port))
            # another protocol or port is another question
            r = curl(["-x", px.socks, "http://ask.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.questions()[-1]["protocol"], "socks5-tcp")
            # "once" answers are not cached
            for _ in range(2):
                curl(["http://once.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(len([q for q in self.questions() if q["host"] == "once.test"]), 2)
            # denial
            r = curl(["-i", "http://other.test:%d/echo" % ORIGIN.port], env)
            body = json.loads(r.stdout.partition(b"\r\n\r\n")[2])
            self.assertEqual((body["reason"], body["source"], body["decision"]), ("not_allowed", "decider", "deny"))
            # explicit deny lists are never referred
            curl(["http://denied.test:%d/echo" % ORIGIN.port], env)
            self.assertFalse(any(q["host"] == "denied.test" for q in self.questions()))
            evs = [e for e in px.audit() if e["server.address"] == "ask.test"]
            self.assertEqual(evs[0]["network.policy.override"], True)
            self.assertEqual(evs[0]["network.policy.reason"], "not_allowed")
            self.assertEqual(evs[0]["network.policy.source"], "decider")

    def test_tls_server_names_are_referred_like_tunnels(self):
        rec = RecordingOrigin()
        try:
            with self.start() as px:
                hello = real_hello("ask.test")
                s = http_tunnel(px, b"allowed.test:%d" % rec.port)
                s.sendall(hello)
                time.sleep(0.05)
                s.sendall(b"more")
                s.shutdown(socket.SHUT_WR)
                self.assertEqual(rest(s).replace(b"echo:", b""), hello + b"more")
                self.assertEqual(rec.last(), hello + b"more")
                q = [q for q in self.questions() if q["host"] == "ask.test"]
                self.assertEqual([(x["protocol"], x["port"], x["method"]) for x in q], [("https", rec.port, "CONNECT")])
                ev = [e for e in px.audit() if e["server.address"] == "ask.test"]
                self.assertEqual([(e["network.policy.decision"], e["network.policy.source"],
                                   e["network.policy.override"]) for e in ev], [("allow", "decider", True)])
                # a name the decider refuses
                n = len(rec.conns)
                s = http_tunnel(px, b"allowed.test:%d" % rec.port)
                s.sendall(real_hello("other.test"))
                self.assertEqual(rest(s), b"")
                self.assertEqual(rec.conn(n), b"")
                ev = px.audit()[-1]
                self.assertEqual((ev["server.address"], ev["network.policy.reason"], ev["network.policy.source"],
                                  ev["network.policy.decision"]), ("other.test", "sni_not_allowed", "decider", "deny"))
        finally:
            rec.stop()

    def test_concurrent_asks_are_deduplicated(self):
        with self.start() as px:
            env = px.env()
            procs = [subprocess.Popen(["curl", "-sS", "--max-time", "30", "http://dedupe.test:%d/echo" % ORIGIN.port],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
            # the decider answers once released: release it when all four
            # requests wait, so that none comes after the answer and asks again
            deadline = time.monotonic() + 30
            while px.stderr().count("waiting for the decider on dedupe.test") < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            open(self.log + ".release", "w").close()
            outs = [p.communicate(timeout=40)[0] for p in procs]
            for o in outs:
                self.assertEqual(json.loads(o)["method"], "GET")
            self.assertEqual(len([q for q in self.questions() if q["host"] == "dedupe.test"]), 1)

    def test_replies_naming_no_question_are_ignored_and_unknown_scopes_do_not_cache(self):
        with self.start() as px:
            env = px.env()
            for _ in range(2):
                r = curl(["-i", "http://odd.test:%d/echo" % ORIGIN.port], env)
                self.assertEqual(status_of(r.stdout), 200, (r.stdout, px.stderr()))
            self.assertEqual(len([q for q in self.questions() if q["host"] == "odd.test"]), 2)
            err = px.stderr()
            self.assertEqual(err.count("ignoring malformed decider reply"), 10, err)
            self.assertEqual(err.count("unknown decider scope `forever`; using once"), 2, err)

    def test_answers_for_an_address_hold_for_its_other_spellings(self):
        # a session answer for an address is the answer for that address
        # however a later request writes it; the question names it plainly
        with self.start() as px:
            for a, b in (((b"93.184.216.34", b"[::ffff:93.184.216.34]", b"[::ffff:5db8:d822]", b"[64:ff9b::5db8:d822]"),
                          "93.184.216.34"),
                         ((b"[2001:db8::5]", b"[2001:0DB8:0::5]", b"[2001:db8:0:0:0:0:0:5]"), "2001:db8::5")):
                for host in a:
                    resp = raw(px.addrs["http"], b"CONNECT %s:443 HTTP/1.1\r\n\r\n" % host)
                    self.assertTrue(resp.startswith(b"HTTP/1.1 403 Forbidden\r\n"), (host, resp))
                    self.assertTrue(resp.endswith(b"\r\n\r\nDomain not in allowlist."), (host, resp))
                self.assertEqual([(q["host"], q["protocol"], q["port"]) for q in self.questions()
                                  if q["host"] == b], [(b, "https", 443)])
            self.assertEqual(len(self.questions()), 2)
            evs = [(e["network.policy.decision"], e["network.policy.source"], e["network.policy.reason"])
                   for e in px.audit()]
            self.assertEqual(evs, [("deny", "decider", "not_allowed")] * 7)

    def test_timeout_and_dead_decider_deny(self):
        with self.start(timeout="1s") as px:
            env = px.env()
            r = curl(["-i", "http://never.test:%d/echo" % ORIGIN.port], env)
            body = json.loads(r.stdout.partition(b"\r\n\r\n")[2])
            self.assertEqual((body["reason"], body["source"]), ("not_allowed", "decider"))
            r = curl(["-i", "http://die.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(status_of(r.stdout), 403)
            r = curl(["-i", "http://ask.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(status_of(r.stdout), 403)
            self.assertIn("decider stopped", px.stderr())

    def test_a_slow_answer_outlasts_the_handshake_timeout(self):
        # answers after 2 s, past the 1 s handshake timeout but within the decider's
        slow = ("while read -r l; do sleep 2; id=${l#*\\\"id\\\":}; id=${id%%,*}; "
                "echo \"{\\\"id\\\":$id,\\\"decision\\\":\\\"allow\\\",\\\"scope\\\":\\\"once\\\"}\"; done")
        with Proxy(args=["--decider", slow, "--decider-timeout", "10s", "--handshake-timeout", "1s"]) as px:
            env = px.env()
            r = curl(["-i", "http://ask.test:%d/echo" % ORIGIN.port], env)
            self.assertEqual(status_of(r.stdout), 200, (r.stdout, r.stderr))
            r = curl(["-i", "--cacert", os.path.join(CERTS, "ca.pem"), "https://ask.test:%d/echo" % TLS.port], env)
            self.assertEqual(status_of(r.stdout), 200, (r.stdout, r.stderr))

    def test_questions_left_by_closed_connections_are_bounded(self):
        # a decider that reads nothing: questions of clients that hang up
        # at once stay pending until their timeout
        with Proxy(args=["--decider", "sleep 1000", "--decider-timeout", "60s"]) as px:
            host, port = px.addrs["http"].rsplit(":", 1)
            for batch in range(11):
                socks = []
                for i in range(batch * 100, batch * 100 + 100):
                    s = socket.create_connection((host, int(port)), timeout=10)
                    s.sendall(b"CONNECT q%d.test:443 HTTP/1.1\r\nHost: q%d.test:443\r\n\r\n" % (i, i))
                    socks.append(s)
                time.sleep(0.3)
                for s in socks:
                    # a reset: the proxy drops the connection, its question stays
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
            deadline = time.monotonic() + 20
            while px.stderr().count("closed") < 1100 and time.monotonic() < deadline:
                time.sleep(0.05)
            # refused at once instead of waiting for a decider that will never read it
            r = raw(px.addrs["http"], b"CONNECT last.test:443 HTTP/1.1\r\nHost: last.test:443\r\n\r\n", timeout=5)
            self.assertEqual(status_of(r), 403, r)
            self.assertIn("new ones are denied", px.stderr())


class Protocol(unittest.TestCase):
    def test_keep_alive_chunked_and_hop_by_hop(self):
        with Proxy() as px:
            before = ORIGIN.connections
            s, f = proxy_client(px)
            u = "http://allowed.test:%d" % ORIGIN.port
            s.sendall(("GET %s/echo HTTP/1.1\r\nHost: allowed.test:%d\r\nConnection: keep-alive, X-Secret\r\n"
                       "X-Secret: 1\r\nKeep-Alive: 5\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\n"
                       "X-Forwarded-For: 1.2.3.4\r\n\r\n" % (u, ORIGIN.port)).encode())
            doc = json.loads(read_response(f)[1])
            for h in ("x-secret", "keep-alive", "proxy-authorization", "te"):
                self.assertNotIn(h, doc["headers"])
            self.assertEqual(doc["headers"]["x-forwarded-for"], "1.2.3.4")
            s.sendall(("POST %s/echo HTTP/1.1\r\nHost: allowed.test:%d\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" % (u, ORIGIN.port)).encode())
            self.assertEqual(json.loads(read_response(f)[1])["body"], "hello world")
            s.sendall(("GET %s/chunked HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % (u, ORIGIN.port)).encode())
            head, body = read_response(f)
            self.assertIn(b"chunked", head.lower())
            self.assertEqual(body, b"one,two,three")
            s.sendall(("HEAD %s/echo HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % (u, ORIGIN.port)).encode())
            head, body = read_response(f, head_only=True)
            self.assertEqual(status_of(head), 200)
            s.sendall(("GET %s/close HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % (u, ORIGIN.port)).encode())
            rest = f.read()
            self.assertIn(b"until-close body", rest)
            s.close()
            # one upstream connection up to the HEAD (never reused after one), a new one after it
            self.assertEqual(ORIGIN.connections - before, 2, "upstream connections")

    def test_framing_headers_are_the_proxys_own(self):
        """Content-Length goes on as one header with the checked value (never a list or a
        repeat another parser could read differently), interim responses carry no framing,
        and a body read until close keeps its announced codings."""
        def script(c, n):
            return ([None,
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", True)]
                    + [None] * 9)[n]

        origin = ScriptedOrigin(script)
        with Proxy() as px:
            s, f = proxy_client(px)
            u, hh = allowed_url(origin)
            s.sendall(b"POST " + u + b"/a HTTP/1.1\r\n" + hh + b"Content-Length: 2, 2\r\n\r\nhi")
            self.assertEqual(read_response(f), (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"hello"))
            s.sendall(b"POST " + u + b"/b HTTP/1.1\r\n" + hh + b"Content-Length: 2\r\ncontent-length: 2\r\n\r\nhi")
            self.assertEqual(read_response(f), (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok"))
            s.sendall(b"GET " + u + b"/c HTTP/1.1\r\n" + hh + b"\r\n")
            self.assertEqual(read_response(f), (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"ok"))
            s.sendall(b"PUT " + u + b"/d HTTP/1.1\r\n" + hh + b"Expect: 100-continue\r\nContent-Length: 0\r\n\r\n")
            self.assertEqual(f.readline() + f.readline(), b"HTTP/1.1 100 Continue\r\n\r\n")
            self.assertEqual(read_response(f, head_only=True)[0], b"HTTP/1.1 204 No Content\r\n\r\n")
            s.sendall(b"GET " + u + b"/e HTTP/1.1\r\n" + hh + b"\r\n")
            self.assertEqual(f.read(), b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n"
                                       b"\r\n2\r\nok\r\n0\r\n\r\n")
            s.close()
            self.assertEqual(origin.received[:2], [
                b"POST /a HTTP/1.1\r\n" + hh + b"Content-Length: 2\r\n\r\nhi",
                b"POST /b HTTP/1.1\r\n" + hh + b"Content-Length: 2\r\n\r\nhi"])
            # a malformed chunked request body gets a 400 (its head already went on)
            resp = raw(px.addrs["http"], b"POST " + u + b"/f HTTP/1.1\r\n" + hh +
                       b"Transfer-Encoding: chunked\r\n\r\n0x1\r\nx\r\n0\r\n\r\n")
            self.assertEqual(resp, b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                   b"content-length: 20\r\nconnection: close\r\n\r\nmalformed chunk size")
        origin.stop()

    def test_no_content_length_on_interim_or_204_responses(self):
        """A 1xx or 204 response has no content and must not carry Content-Length
        (RFC 9110 8.6): one from the origin is not passed on, so that no client reads
        the next response as this one's body; HEAD and 304 keep theirs (they describe
        the representation)."""
        def script(c, n):
            return ([None,
                     b"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n"
                     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                     b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n",
                     b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
                     b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"] + [None] * 9)[n]

        origin = ScriptedOrigin(script)
        with Proxy() as px:
            s, f = proxy_client(px)
            u, hh = allowed_url(origin)
            s.sendall(b"GET " + u + b"/a HTTP/1.1\r\n" + hh + b"\r\n")
            self.assertEqual(f.readline() + f.readline(), b"HTTP/1.1 100 Continue\r\n\r\n")
            self.assertEqual(read_response(f), (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok"))
            s.sendall(b"GET " + u + b"/b HTTP/1.1\r\n" + hh + b"\r\n")
            self.assertEqual(read_response(f, head_only=True)[0], b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")
            s.sendall(b"GET " + u + b"/c HTTP/1.1\r\n" + hh + b"\r\n")
            self.assertEqual(read_response(f, head_only=True)[0],
                             b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n")
            s.sendall(b"HEAD " + u + b"/d HTTP/1.1\r\n" + hh + b"Connection: close\r\n\r\n")
            self.assertEqual(f.read(), b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
            s.close()
        origin.stop()

    def test_head_responses_do_not_reuse_the_upstream(self):
        """After a HEAD the origin may still send the body it described (a common
        server bug): what arrives later on that connection must not be read as the
        answer to the next request, so the next request gets a new connection."""
        first = []

        def script(c, n):
            if not first:
                first.append(c)
            if n == 1:
                return b"HTTP/1.1 200 OK\r\nContent-Length: 38\r\n\r\n"
            if c is first[0]:  # the "body" of the HEAD response, sent late
                return b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

        origin = ScriptedOrigin(script)
        with Proxy() as px:
            s, f = proxy_client(px)
            u, hh = allowed_url(origin)
            s.sendall(b"HEAD " + u + b"/a HTTP/1.1\r\n" + hh + b"\r\n")
            self.assertEqual(read_response(f, head_only=True)[0],
                             b"HTTP/1.1 200 OK\r\nContent-Length: 38\r\n\r\n")
            s.sendall(b"GET " + u + b"/b HTTP/1.1\r\n" + hh + b"\r\n")
            self.assertEqual(read_response(f), (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok"))
            s.close()
        origin.stop()

    def test_http10_requests_do_not_reuse_the_upstream(self):
        """An HTTP/1.0 request goes on as HTTP/1.0 without keep-alive, so the origin may
        close once it has answered (even with an HTTP/1.1 response that does not say
        so): the next request from a keep-alive HTTP/1.0 client gets a new upstream
        connection instead of a 502 from the closed one."""
        origin = ScriptedOrigin(lambda c, n: (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True))
        with Proxy() as px:
            u, hh = allowed_url(origin)
            ka = b"GET " + u + b"/ HTTP/1.0\r\n" + hh + b"Connection: keep-alive\r\n\r\n"
            last = b"GET " + u + b"/ HTTP/1.0\r\n" + hh + b"\r\n"
            for _ in range(3):
                resp = raw(px.addrs["http"], ka + ka + last)
                self.assertEqual(resp, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok" * 2
                                 + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            self.assertEqual(origin.received, [b"GET / HTTP/1.0\r\n" + hh + b"\r\n"] * 9)
        origin.stop()

    def test_chunk_extensions_outside_the_grammar_are_refused(self):
        """A chunk-size line goes on as it came, so an extension outside RFC 9112's
        grammar (junk after the size, an unclosed quote, a backslash before the CR),
        which a next hop might end elsewhere, gets a 400: the origin sees the head,
        never that line."""
        origin = RecordingOrigin(echo=False)
        with Proxy() as px:
            u, hh = allowed_url(origin)
            for i, line in enumerate((b"2 1", b"2 x", b"2;a=\"b", b"2;a=\"b\\", b"2;", b"2;a=\"b\"c")):
                resp = raw(px.addrs["http"], b"POST " + u + b"/x HTTP/1.1\r\n" + hh +
                           b"Transfer-Encoding: chunked\r\n\r\n" + line + b"\r\nok\r\n0\r\n\r\n")
                self.assertEqual(resp, b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                       b"content-length: 25\r\nconnection: close\r\n\r\nmalformed chunk extension",
                                 line)
                self.assertEqual(origin.conn(i), b"POST /x HTTP/1.1\r\n" + hh + b"Transfer-Encoding: chunked\r\n\r\n",
                                 line)
        origin.stop()

    def test_chunked_response_to_an_http10_client_is_dechunked(self):
        """An HTTP/1.0 client cannot read chunked framing: it gets the chunk data,
        delimited by the close, without Transfer-Encoding (also when it asked to keep
        the connection alive); an HTTP/1.1 client on the same origin keeps the chunks."""
        chunked = (b"HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
        origin = ScriptedOrigin(lambda c, n: chunked)
        with Proxy() as px:
            u, hh = allowed_url(origin)
            for extra in (b"", b"Proxy-Connection: keep-alive\r\n", b"Connection: keep-alive\r\n"):
                resp = raw(px.addrs["http"], b"GET " + u + b"/ HTTP/1.0\r\n" + hh + extra + b"\r\n")
                self.assertEqual(resp, b"HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\nhello world",
                                 extra)
            resp = raw(px.addrs["http"], b"GET " + u + b"/ HTTP/1.1\r\n" + hh + b"Connection: close\r\n\r\n")
            self.assertEqual(resp, b"HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n"
                                   b"Connection: close\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n"
                                   b"X-Trailer: t\r\n\r\n")
        origin.stop()

    def test_interim_responses_then_a_failure_stay_well_formed(self):
        """An origin that sends interim (1xx) responses and then fails (closes, or sends
        a malformed head): the client gets every interim head whole, then a whole 502;
        none that was queued is dropped or cut short by the error response."""
        hint = b"HTTP/1.1 103 Early Hints\r\nLink: <" + b"/a" * 8000 + b">; rel=preload\r\n\r\n"
        cont = b"HTTP/1.1 100 Continue\r\n\r\n"
        bad = (b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\n"
               b"content-length: 16\r\nconnection: close\r\n\r\nupstream failure")
        cases = {"/close": (cont, 1, b""), "/flood": (hint, 40, b""),
                 "/garbage": (hint, 40, b"HTTP/1.1 99 Nope\r\n\r\n"), "/garbage1": (cont, 1, b"junk\r\n\r\n"),
                 # Upgrade is hop-by-hop and never forwarded, so a 101 is no answer to the request
                 "/switch": (cont, 1, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n")}
        origin = ScriptedOrigin(lambda c, n: (lambda i, k, tail: (i * k + tail, True))(
            *cases[origin.received[-1].split(b" ")[1].decode()]))
        with Proxy(args=["--max-header-bytes", "65536"]) as px:
            host, port = px.addrs["http"].rsplit(":", 1)
            for path, (interim, count, _) in sorted(cases.items()):
                s = socket.create_connection((host, int(port)), timeout=10)
                s.sendall(b"GET http://allowed.test:%d%s HTTP/1.1\r\nHost: allowed.test:%d\r\n"
                          b"Connection: upgrade\r\nUpgrade: x\r\n\r\n" % (origin.port, path.encode(), origin.port))
                data = b""
                for _ in range(10000):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                s.close()
                n = 0
                while data.startswith(interim):
                    data = data[len(interim):]
                    n += 1
                self.assertEqual((n, data), (count, bad), path)
                self.assertEqual(origin.received[-1], b"GET %s HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n"
                                 % (path.encode(), origin.port))
        origin.stop()

    def test_quiet_upstream_or_client_times_out_with_a_status(self):
        """Within --idle-timeout: an origin that never answers gets the client a 504, a
        client that stops sending its body a 408; neither connection is kept."""
        def script(c, n):
            time.sleep(5)
            return None

        origin = ScriptedOrigin(script)
        with Proxy(args=["--idle-timeout", "1s"]) as px:
            u = b"http://allowed.test:%d" % origin.port
            for req, status, body in (
                    (b"GET " + u + b"/ HTTP/1.1\r\n\r\n", b"504 Gateway Timeout", b"upstream timeout"),
                    (b"POST " + u + b"/ HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", b"408 Request Timeout",
                     b"request timeout")):
                t0 = time.monotonic()
                resp = raw(px.addrs["http"], req, timeout=10)
                self.assertLess(time.monotonic() - t0, 4)
                self.assertEqual(resp, b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                 b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)
        origin.stop()

    def test_large_bodies(self):
        with Proxy() as px:
            r = curl(["-o", "/dev/null", "-w", "%{size_download}", "http://allowed.test:%d/big=5000000"
                      % ORIGIN.port], px.env())
            self.assertEqual(r.stdout, b"5000000")
            data = os.path.join(TMP, "upload.bin")
            with open(data, "wb") as f:
                f.write(os.urandom(3000000))
            r = curl(["--data-binary", "@" + data, "http://allowed.test:%d/echo" % ORIGIN.port], px.env())
            self.assertEqual(len(json.loads(r.stdout)["body"]), 3000000)
            r = curl(["--cacert", os.path.join(CERTS, "ca.pem"), "-o", "/dev/null", "-w", "%{size_download}",
                      "https://allowed.test:%d/big=5000000" % TLS.port], px.env())
            self.assertEqual(r.stdout, b"5000000")

    def test_copy_relay(self):
        with Proxy(args=["--relay", "copy"]) as px:
            ca = os.path.join(CERTS, "ca.pem")
            r = curl(["--cacert", ca, "-o", "/dev/null", "-w", "%{size_download}",
                      "https://allowed.test:%d/big=5000000" % TLS.port], px.env())
            self.assertEqual(r.stdout, b"5000000", r.stderr)
            data = os.path.join(TMP, "upload2.bin")
            with open(data, "wb") as f:
                f.write(os.urandom(2000000))
            r = curl(["-x", px.socks, "--data-binary", "@" + data, "http://allowed.test:%d/echo" % ORIGIN.port],
                     px.env())
            self.assertEqual(len(json.loads(r.stdout)["body"]), 2000000)

    def test_tunnel_pipes_are_bounded_and_shared(self):
        n = 40
        with Proxy() as px:
            host, port = px.addrs["http"].rsplit(":", 1)
            base = pipe_fds(px.proc.pid)
            conns, files = [], []

            def get_all(path, check):
                for s in conns:
                    s.sendall(b"GET %s HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % (path, ORIGIN.port))
                for f in files:
                    head, body = read_response(f)
                    self.assertEqual(status_of(head), 200)
                    check(body)

            for i in range(n):
                s = socket.create_connection((host, int(port)), timeout=60)
                s.sendall(b"CONNECT allowed.test:%d HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n"
                          % (ORIGIN.port, ORIGIN.port))
                f = s.makefile("rb")
                head, _ = read_response(f, head_only=True)
                self.assertEqual(status_of(head), 200)
                conns.append(s)
                files.append(f)
            # idle tunnels hold no pipes, only the few spare ones do
            get_all(b"/pattern=300000", lambda body: self.assertTrue(body == pattern(300000)))
            time.sleep(0.2)
            self.assertLessEqual(pipe_fds(px.proc.pid) - base, 2 * 16)
            # With no descriptor for another pipe, bursts go through buffers.
            # The bodies are larger than what the sockets can queue (4 MiB
            # send buffers), so every tunnel holds bytes in flight while its
            # client is not reading; every byte must still arrive, in order.
            limits = resource.prlimit(px.proc.pid, resource.RLIMIT_NOFILE)
            resource.prlimit(px.proc.pid, resource.RLIMIT_NOFILE,
                             (len(os.listdir("/proc/%d/fd" % px.proc.pid)), limits[1]))
            big = 6000000
            get_all(b"/pattern=%d" % big, lambda body: self.assertTrue(body == pattern(big),
                                                                      "tunnel bytes lost or reordered"))
            self.assertIn("relaying through a buffer", px.stderr())
            resource.prlimit(px.proc.pid, resource.RLIMIT_NOFILE, limits)
            get_all(b"/echo", lambda body: self.assertEqual(json.loads(body)["path"], "/echo"))
            for s, f in zip(conns, files):
                f.close()
                s.close()

    def test_a_long_head_with_bare_lf_line_ends_is_refused_at_once(self):
        # A head that never has CRLF CRLF, past the size below which every
        # read is parsed, is refused when its first bad line end arrives:
        # it does not wait for the handshake timeout.
        with Proxy() as px:
            for head in (b"GET http://allowed.test:%d/ HTTP/1.1\nHost: allowed.test:%d\nX-Pad: %s\n\n",
                         b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: allowed.test:%d\r\nX-Pad: %s\rX: y\r\n"):
                req = head % (ORIGIN.port, ORIGIN.port, b"a" * 2000)
                t = time.monotonic()
                resp = raw(px.addrs["http"], req, timeout=5)
                self.assertEqual(status_of(resp), 400, resp)
                self.assertIn(b"malformed line ending", resp)
                self.assertLess(time.monotonic() - t, 3)

    def test_malformed_requests_get_400_without_harm(self):
        with Proxy() as px:
            a = px.addrs["http"]
            cases = [b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40,
                     b"GET /echo HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
                     b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: denied.test\r\n\r\n" % ORIGIN.port,
                     b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" % ORIGIN.port,
                     b"POST http://allowed.test:%d/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                     b"\r\n\r\n" % ORIGIN.port,
                     b"POST http://allowed.test:%d/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
                     % ORIGIN.port,
                     b"GET http://allowed.test/ HTTP/1.1\r\n Folded: x\r\n\r\n",
                     b"GET http://allowed.test/ HTTP/1.1\nHost: x\n\n",
                     b"GET http://user@allowed.test/ HTTP/1.1\r\n\r\n",
                     b"GET http://allowed.test:99999/ HTTP/1.1\r\n\r\n",
                     b"CONNECT allowed.test HTTP/1.1\r\n\r\n",
                     b"CONNECT :443 HTTP/1.1\r\n\r\n",
                     b"GET ftp://allowed.test/ HTTP/1.1\r\n\r\n",
                     b"GET http://allowed.test/ HTTP/2.0\r\n\r\n"]
            for c in cases:
                resp = raw(a, c)
                self.assertEqual(status_of(resp), 400, (c, resp))
            resp = raw(a, b"get http://allowed.test/ HTTP/1.1\r\n\r\n")
            self.assertIn(status_of(resp), (400, 501))
            # a broken chunked body ends the exchange without harming others
            resp = raw(a, b"POST http://allowed.test:%d/echo HTTP/1.1\r\nHost: allowed.test:%d\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" % (ORIGIN.port, ORIGIN.port))
            self.assertNotEqual(status_of(resp), 200)
            # SOCKS garbage
            self.assertEqual(raw(px.addrs["socks"], b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00"), b"")
            self.assertEqual(raw(px.addrs["socks"], b"\x05\x01\x02"), b"\x05\xff")
            self.assertEqual(raw(px.addrs["socks"], b"\x05\x00"), b"\x05\xff")  # no method offered
            # empty domain, unknown address type, split across reads: a reply, then the close
            for req, rep in ((b"\x05\x01\x00\x03\x00\x00\x50", 1), (b"\x05\x01\x00\x07\x00\x00", 8)):
                s = socket.create_connection(px.addrs["socks"].rsplit(":", 1), timeout=10)
                s.sendall(b"\x05\x01\x00")
                for i in range(len(req)):
                    s.sendall(req[i:i + 1])
                    time.sleep(0.01)
                self.assertEqual(s.recv(2) + s.recv(2) + s.recv(10) + s.recv(10),
                                 b"\x05\x00\x05" + bytes([rep]) + b"\x00\x01" + b"\x00" * 6)
                s.close()
            r = curl(["http://allowed.test:%d/echo" % ORIGIN.port], px.env())
            self.assertEqual(json.loads(r.stdout)["method"], "GET")

    def test_requests_to_the_proxy_itself_are_refused(self):
        """Every spelling of the proxy's own listeners (0.0.0.0, IPv4-mapped IPv6) is
        refused before connecting, instead of looping through the proxy."""
        with Proxy(proxy={"domains": {"*": "allow"}}) as px:
            hport = int(px.addrs["http"].rsplit(":", 1)[1])
            sport = int(px.addrs["socks"].rsplit(":", 1)[1])
            n = 0
            for host in ("127.0.0.1", "0.0.0.0", "[::ffff:127.0.0.1]", "[::ffff:0.0.0.0]"):
                for port in (hport, sport):
                    for req in (b"GET http://%s:%d/ HTTP/1.1\r\n\r\n", b"CONNECT %s:%d HTTP/1.1\r\n\r\n"):
                        resp = raw(px.addrs["http"], req % (host.encode(), port), timeout=5)
                        n += 1
                        self.assertEqual(status_of(resp), 502, (host, port, resp))
                        self.assertTrue(resp.endswith(b"\r\n\r\nupstream failure"), resp)
            for ip in ("::ffff:127.0.0.1", "::ffff:0.0.0.0"):
                s = socket.create_connection(px.addrs["socks"].rsplit(":", 1), timeout=5)
                n += 1
                s.sendall(b"\x05\x01\x00")
                self.assertEqual(s.recv(2), b"\x05\x00")
                s.sendall(b"\x05\x01\x00\x04" + socket.inet_pton(socket.AF_INET6, ip) + struct.pack("!H", hport))
                self.assertEqual(s.recv(10)[:2], b"\x05\x01")
                s.close()
            time.sleep(0.2)
            self.assertEqual(px.stderr().count(" accepted "), n, px.stderr())

    def test_unix_socket_targets(self):
        # sun_path is short: keep the socket in a short directory
        short = tempfile.mkdtemp(prefix="pxu", dir="/tmp")
        sock = os.path.join(short, "api.sock")
        srv = UnixOrigin(sock)
        try:
            with Proxy(network={"unix_sockets": {sock: "allow"}}) as px:
                r = curl(["--noproxy", "", "-x", px.http, "-H", "x-unix-socket: " + sock, "http://localhost/echo?q=1"], px.env())
                doc = json.loads(r.stdout)
                self.assertEqual((doc["server"], doc["path"]), ("unix", "/echo?q=1"))
                self.assertNotIn("x-unix-socket", doc["headers"])
                r = curl(["-i", "--noproxy", "", "-x", px.http, "-H", "x-unix-socket: /run/other.sock", "http://localhost/"],
                         px.env())
                head, _, body = r.stdout.partition(b"\r\n\r\n")
                self.assertEqual(status_of(head), 403)
                self.assertEqual(json.loads(body), {"status": "blocked", "host": "unix-socket",
                                                    "reason": "not_allowed"})
                ev = [e for e in px.audit() if e["server.address"] == "unix-socket"]
                self.assertEqual([e["network.policy.decision"] for e in ev], ["allow", "deny"])
                self.assertEqual(ev[0]["server.port"], 0)
        finally:
            srv.shutdown()
            srv.server_close()
            shutil.rmtree(short, ignore_errors=True)

    def test_unix_socket_path_swapped_after_the_check(self):
        # a link that flips between an allowed and another socket: the
        # proxy must connect to the path it checked, not look it up again
        short = tempfile.mkdtemp(prefix="pxu", dir="/tmp")
        good, other = os.path.join(short, "good.sock"), os.path.join(short, "other.sock")
        srv, victim = UnixOrigin(good), UnixOrigin(other)
        link = os.path.join(short, "l")
        os.symlink(good, link)
        stop = threading.Event()

        def flip():
            i = 0
            while not stop.is_set():
                tmp = "%s.%d" % (link, i % 2)
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                os.symlink(other if i % 2 else good, tmp)
                os.rename(tmp, link)
                i += 1
        flipper = threading.Thread(target=flip, daemon=True)
        try:
            with Proxy(network={"unix_sockets": {good: "allow"}}) as px:
                flipper.start()
                codes = set()
                deadline = time.monotonic() + 10
                for _ in range(300):
                    if victim.requests or time.monotonic() > deadline:
                        break
                    codes.add(status_of(raw(px.addrs["http"], b"GET http://localhost/x HTTP/1.1\r\nx-unix-socket: "
                                            b"%s\r\nConnection: close\r\n\r\n" % link.encode())))
                self.assertEqual(victim.requests, 0, "a request reached a socket the policy does not allow")
                self.assertLessEqual(codes, {200, 403})
        finally:
            stop.set()
            if flipper.is_alive():
                flipper.join(5)
            for s in (srv, victim):
                s.shutdown()
                s.server_close()
            shutil.rmtree(short, ignore_errors=True)

    def test_allowed_unix_socket_replaced_by_a_link(self):
        # the allowed path itself, in a directory a client may write,
        # replaced by a link to another socket once the proxy runs:
        # neither name reaches that socket (the allowed entries are
        # resolved when the proxy starts, never again per request)
        short = tempfile.mkdtemp(prefix="pxu", dir="/tmp")
        good, other = os.path.join(short, "good.sock"), os.path.join(short, "other.sock")
        srv, victim = UnixOrigin(good), UnixOrigin(other)

        def get(path):
            return status_of(raw(px.addrs["http"], b"GET http://localhost/x HTTP/1.1\r\nx-unix-socket: "
                                 b"%s\r\nConnection: close\r\n\r\n" % path.encode()))
        try:
            with Proxy(network={"unix_sockets": {good: "allow"}}) as px:
                self.assertEqual(get(good), 200)
                os.unlink(good)
                os.symlink(other, good)
                self.assertEqual((get(good), get(other)), (403, 403))
                self.assertEqual(victim.requests, 0, "a request reached a socket the policy does not allow")
        finally:
            for s in (srv, victim):
                s.shutdown()
                s.server_close()
            shutil.rmtree(short, ignore_errors=True)

    def test_socks_udp(self):
        echo = UdpEcho()
        with Proxy() as px:
            s, rep, relay = socks_udp_associate(px.addrs["socks"])
            self.assertEqual(rep, 0)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(10)
            name = b"allowed.test"
            hdr = b"\x00\x00\x00\x03" + bytes([len(name)]) + name + struct.pack("!H", echo.port)
            u.sendto(hdr + b"ping", relay)
            data, _ = u.recvfrom(65535)
            self.assertTrue(data.endswith(b"echo:ping"), data)
            self.assertEqual(data[3], 1)  # reply carries the IPv4 source
            bad = b"denied.test"
            u.sendto(b"\x00\x00\x00\x03" + bytes([len(bad)]) + bad + struct.pack("!H", echo.port) + b"x", relay)
            u.sendto(hdr + b"again", relay)
            data, _ = u.recvfrom(65535)
            self.assertTrue(data.endswith(b"echo:again"))
            s.close()
            u.close()
            evs = [e for e in px.audit() if e["network.transport.protocol"] == "socks5_udp"]
            self.assertEqual({(e["server.address"], e["network.policy.decision"]) for e in evs},
                             {("allowed.test", "allow"), ("denied.test", "deny")})
        echo.sock.close()

    def test_socks_udp_only_when_enabled(self):
        with Proxy(proxy={"enable_socks5_udp": False}) as px:
            s, rep, relay = socks_udp_associate(px.addrs["socks"])
            self.assertEqual((rep, relay), (7, ("0.0.0.0", 0)))  # command not supported
            self.assertEqual(s.recv(16), b"")
            s.close()
            # TCP CONNECT through the same listener still works
            r = curl(["-x", px.socks, "http://allowed.test:%d/echo" % ORIGIN.port], px.env())
            self.assertEqual(json.loads(r.stdout)["method"], "GET", r.stderr)

    def test_socks_udp_declared_source(self):
        """RFC 1928 section 7: a non-zero DST.ADDR/DST.PORT in UDP ASSOCIATE names the
        only source whose datagrams are relayed; a zero port keeps the first-datagram lock."""
        echo = UdpEcho()
        name = b"allowed.test"
        hdr = b"\x00\x00\x00\x03" + bytes([len(name)]) + name + struct.pack("!H", echo.port)

        def udp():
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 0))
            u.settimeout(0.5)
            return u

        def silent(sock):
            try:
                data = sock.recv(65535)
            except socket.timeout:
                return True
            self.fail("unexpected datagram %r" % data)

        with Proxy() as px:
            for ip in (b"\x7f\x00\x00\x01", b"\x00\x00\x00\x00"):
                mine, other = udp(), udp()
                dst = b"\x01" + ip + struct.pack("!H", mine.getsockname()[1])
                s, rep, relay = socks_udp_associate(px.addrs["socks"], dst)
                self.assertEqual(rep, 0)
                # another local socket speaks first: neither relayed nor locked in
                other.sendto(hdr + b"intruder", relay)
                silent(other)
                mine.settimeout(10)
                mine.sendto(hdr + b"mine", relay)
                self.assertTrue(mine.recv(65535).endswith(b"echo:mine"))
                other.sendto(hdr + b"intruder", relay)
                silent(other)
                silent(mine)
                s.close()
                mine.close()
                other.close()
            # zero port: the first datagram's source port is locked in
            first, second = udp(), udp()
            s, rep, relay = socks_udp_associate(px.addrs["socks"], b"\x01\x7f\x00\x00\x01\x00\x00")
            self.assertEqual(rep, 0)
            first.settimeout(10)
            first.sendto(hdr + b"first", relay)
            self.assertTrue(first.recv(65535).endswith(b"echo:first"))
            second.sendto(hdr + b"second", relay)
            silent(second)
            s.close()
            first.close()
            second.close()
            # an address other than the client's own, or a name: refused
            for dst, code in ((b"\x01\x7f\x00\x00\x02\x30\x39", 2),
                              (b"\x04" + socket.inet_pton(socket.AF_INET6, "::1") + b"\x30\x39", 2),
                              (b"\x03\x09localhost\x30\x39", 8)):
                s, rep, relay = socks_udp_associate(px.addrs["socks"], dst)
                self.assertEqual((rep, relay), (code, ("0.0.0.0", 0)), dst)
                self.assertEqual(s.recv(10), b"")
                s.close()
        echo.sock.close()

    def test_socks_udp_datagrams_waiting_for_a_decision_are_bounded(self):
        def rss_kib(pid):
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
            return 0

        # a decider that never answers: every destination stays pending
        with Proxy(args=["--decider", "sleep 1000", "--decider-timeout", "60s"]) as px:
            s, rep, relay = socks_udp_associate(px.addrs["socks"])
            self.assertEqual(rep, 0)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            time.sleep(0.2)
            before = rss_kib(px.proc.pid)
            name = b"ask.test"
            payload = b"x" * 60000
            for port in range(1000, 1064):
                for _ in range(8):
                    u.sendto(b"\x00\x00\x00\x03" + bytes([len(name)]) + name + struct.pack("!H", port) + payload,
                             relay)
                    time.sleep(0.001)
            time.sleep(0.5)
            grown = rss_kib(px.proc.pid) - before
            # 64 destinations x 8 datagrams x 60000 bytes would be 30 MiB
            self.assertLess(grown, 8 * 1024, "the proxy grew by %d KiB" % grown)
            s.close()
            u.close()

    def test_upstream_proxy_chain(self):
        with Proxy() as outer:
            with Proxy(env={"HTTP_PROXY": outer.http, "HTTPS_PROXY": outer.http}) as inner:
                r = curl(["http://allowed.test:%d/echo" % ORIGIN.port], inner.env())
                self.assertEqual(json.loads(r.stdout)["method"], "GET", r.stderr)
                r = curl(["--cacert", os.path.join(CERTS, "ca.pem"), "https://allowed.test:%d/echo" % TLS.port],
                         inner.env())
                self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)
                r = curl(["-x", inner.socks, "http://api.wild.test:%d/echo" % ORIGIN.port], inner.env())
                self.assertEqual(r.returncode, 0, r.stderr)
            protos = {(e["server.address"], e["network.transport.protocol"]) for e in outer.audit()}
            self.assertIn(("allowed.test", "http"), protos)
            self.assertIn(("allowed.test", "https_connect"), protos)
            self.assertIn(("api.wild.test", "https_connect"), protos)

    def test_upstream_proxy_only_when_allowed(self):
        with Proxy() as outer:
            with Proxy(proxy={"allow_upstream_proxy": False},
                       env={"HTTP_PROXY": outer.http, "HTTPS_PROXY": outer.http, "ALL_PROXY": outer.http}) as inner:
                r = curl(["http://allowed.test:%d/echo" % ORIGIN.port], inner.env())
                self.assertEqual(json.loads(r.stdout)["method"], "GET", r.stderr)
                r = curl(["--cacert", os.path.join(CERTS, "ca.pem"), "https://allowed.test:%d/echo" % TLS.port],
                         inner.env())
                self.assertEqual(json.loads(r.stdout)["server"], "tls", r.stderr)
                self.assertEqual(len(inner.audit()), 2)
            self.assertEqual(outer.audit(), [])  # both went direct

    def test_upstream_proxy_gets_the_checked_authority(self):
        """A plain request goes to the upstream proxy with the authority that was checked,
        written by the proxy: never the client's spelling, which another parser may read as
        another host (`http://allowed.test?@denied.test/` is denied.test to one that ends the
        authority only at '/' and takes what precedes an '@' for userinfo)."""
        up = ScriptedOrigin(lambda c, n: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        try:
            with Proxy(env={"HTTP_PROXY": "http://127.0.0.1:%d" % up.port}) as px:
                for target, want in ((b"http://allowed.test?@denied.test/", b"http://allowed.test/?@denied.test/"),
                                     (b"HTTP://ALLOWED.test.:0080/x", b"http://allowed.test/x"),
                                     (b"http://allowed.test:8080", b"http://allowed.test:8080/")):
                    resp = raw(px.addrs["http"], b"GET %s HTTP/1.1\r\nConnection: close\r\n\r\n" % target)
                    self.assertEqual(status_of(resp), 200, resp)
                    self.assertTrue(up.received[-1].startswith(b"GET %s HTTP/1.1\r\n" % want),
                                    (target, up.received[-1]))
        finally:
            up.stop()

    def test_upstream_proxy_bytes_after_its_200_reach_the_client(self):
        # a server-first greeting that arrives in the same read as the
        # upstream proxy's answer to CONNECT
        class GreetingProxy(TcpOrigin):
            def serve(self, c):
                c.settimeout(10)
                buf = b""
                try:
                    while b"\r\n\r\n" not in buf:
                        chunk = c.recv(4096)
                        if not chunk:
                            return
                        buf += chunk
                    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n220 greeting\r\n")
                    c.recv(1)
                except OSError:
                    pass
                finally:
                    c.close()

        up = GreetingProxy()
        try:
            upstream = "http://127.0.0.1:%d" % up.port
            with Proxy(env={"HTTP_PROXY": upstream, "HTTPS_PROXY": upstream}) as px:
                def first_bytes(sock, want):
                    sock.settimeout(10)
                    got = b""
                    while len(got) < want:
                        chunk = sock.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                    return got

                host, port = px.addrs["http"].rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=10) as s:
                    s.sendall(b"CONNECT allowed.test:25 HTTP/1.1\r\nHost: allowed.test:25\r\n\r\n")
                    want = b"HTTP/1.1 200 Connection established\r\n\r\n220 greeting\r\n"
                    self.assertEqual(first_bytes(s, len(want)), want)
                host, port = px.addrs["socks"].rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=10) as s:
                    s.sendall(b"\x05\x01\x00")
                    self.assertEqual(first_bytes(s, 2), b"\x05\x00")
                    name = b"allowed.test"
                    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", 25))
                    reply = first_bytes(s, 10 + len(b"220 greeting\r\n"))
                    self.assertEqual(reply[:2], b"\x05\x00")
                    self.assertEqual(reply[10:], b"220 greeting\r\n")
        finally:
            up.stop()

    def test_upstream_proxy_failures_are_told_to_socks_clients_in_socks(self):
        class ClosingProxy(TcpOrigin):
            def serve(self, c):
                try:
                    c.settimeout(10)
                    c.recv(4096)
                except OSError:
                    pass
                c.close()

        up = ClosingProxy()
        try:
            upstream = "http://127.0.0.1:%d" % up.port
            with Proxy(env={"HTTP_PROXY": upstream, "HTTPS_PROXY": upstream}) as px:
                host, port = px.addrs["socks"].rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=10) as s:
                    s.sendall(b"\x05\x01\x00")
                    self.assertEqual(s.recv(2), b"\x05\x00")
                    name = b"allowed.test"
                    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", 25))
                    reply = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        reply += chunk
                    self.assertEqual(len(reply), 10, reply)
                    self.assertEqual(reply[0], 5, reply)
                    self.assertNotEqual(reply[1], 0, reply)
        finally:
            up.stop()

    def test_proxy_disabled(self):
        with Proxy(network={"mode": "restricted"}) as px:
            r = curl(["-i", "http://allowed.test:%d/echo" % ORIGIN.port], px.env())
            self.assertEqual(status_of(r.stdout), 503)
            self.assertTrue(r.stdout.endswith(b"network proxy is disabled"))
            ev = px.audit()[0]
            self.assertEqual((ev["network.policy.source"], ev["network.policy.reason"],
                              ev["network.policy.scope"]), ("proxy_state", "proxy_disabled", "non_domain"))

    def test_config_toml(self):
        cfg = ('mode = "limited"\nallow_local_binding = true\n[domains]\n"allowed.test" = "allow"\n'
               '"denied.test" = "deny"\n[limits]\nmax_header_bytes = 2048\n')
        with Proxy(policy=False, config=cfg) as px:
            r = curl(["-w", "%{http_code}", "-o", "/dev/null", "http://allowed.test:%d/echo" % ORIGIN.port],
                     px.env())
            self.assertEqual(r.stdout, b"200")
            r = curl(["-w", "%{http_code}", "-o", "/dev/null", "-X", "POST", "http://allowed.test:%d/echo"
                      % ORIGIN.port], px.env())
            self.assertEqual(r.stdout, b"403")
            resp = raw(px.addrs["http"], b"GET http://allowed.test/ HTTP/1.1\r\nX: " + b"a" * 3000 + b"\r\n\r\n")
            self.assertEqual(status_of(resp), 431)
        d = fresh_dir("badcfg")
        p = os.path.join(d, "c.toml")
        with open(p, "w") as f:
            f.write('mode = "fast"\n')
        r = run([BIN, "--config", p, "--print-env"])
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn(b"mode", r.stderr)


class Limits(unittest.TestCase):
    def test_hosts_file_swapped_for_a_fifo_or_device_resolves_nothing(self):
        # the loop thread re-reads the file: a FIFO blocked it at open for
        # good, /dev/zero kept it reading for ever (no signal got through)
        with Proxy() as px:
            env = px.env()
            url = "http://allowed.test:%d/echo" % ORIGIN.port
            r = curl(["-w", "\n%{http_code}", url], env)
            self.assertTrue(r.stdout.endswith(b"\n200"), r)
            fifo = px.hosts + ".fifo"
            os.mkfifo(fifo)
            for swap in (lambda: os.rename(fifo, px.hosts), lambda: os.symlink("/dev/zero", px.hosts)):
                os.unlink(px.hosts)
                swap()
                r = curl(["-w", "\n%{http_code}", url], env, timeout=40)
                self.assertTrue(r.stdout.endswith(b"\n502"), r)
            px.write_hosts({"allowed.test": "127.0.0.1"})
            r = curl(["-w", "\n%{http_code}", url], env)
            self.assertTrue(r.stdout.endswith(b"\n200"), r)

    def test_connection_limit(self):
        with Proxy(args=["--max-connections", "2"]) as px:
            host, port = px.addrs["http"].rsplit(":", 1)
            held = [socket.create_connection((host, int(port)), timeout=10) for _ in range(2)]
            for h in held:
                h.sendall(b"GET http://allowed.test/ HTTP/1.1\r\n")
            deadline = time.monotonic() + 20
            while px.stderr().count("accepted") < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            resp = raw(px.addrs["http"], b"GET http://allowed.test/ HTTP/1.1\r\n\r\n")
            self.assertEqual(status_of(resp), 503)
            for h in held:
                h.close()

    def test_out_of_descriptors_refuses_without_spinning(self):
        # the proxy's descriptor limit is reached by held connections: the
        # ones it cannot take are refused (not left pending, which would
        # wake a level-triggered listener forever), and it serves again
        # once descriptors are free
        with Proxy(nofile=40) as px:
            host, port = px.addrs["http"].rsplit(":", 1)
            held = []
            for _ in range(60):
                c = socket.create_connection((host, int(port)), timeout=10)
                c.sendall(b"GET http://allowed.test/ HTTP/1.1\r\n")
                held.append(c)
            refused = 0
            for c in held:
                c.settimeout(0.2)
                try:
                    data = c.recv(4096)
                    refused += data == b"" or status_of(data) == 503
                except socket.timeout:
                    pass
            self.assertGreater(refused, 0)

            def cpu():
                with open("/proc/%d/stat" % px.proc.pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            before = cpu()
            time.sleep(2)
            self.assertLess(cpu() - before, 0.5, "proxy CPU while out of descriptors")
            for c in held:
                c.close()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                r = curl(["http://allowed.test:%d/echo" % ORIGIN.port], px.env())
                if r.returncode == 0:
                    break
                time.sleep(0.2)
            self.assertEqual(json.loads(r.stdout)["method"], "GET")

    def test_slow_clients_time_out_without_starving_others(self):
        with Proxy(args=["--handshake-timeout", "1s", "--idle-timeout", "2s"]) as px:
            host, port = px.addrs["http"].rsplit(":", 1)
            slow = socket.create_connection((host, int(port)), timeout=20)
            slow.sendall(b"GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.te")
            silent = socket.create_connection((host, int(port)), timeout=20)
            r = curl(["http://allowed.test:%d/echo" % ORIGIN.port], px.env())
            self.assertEqual(json.loads(r.stdout)["method"], "GET")
            self.assertEqual(status_of(slow.recv(4096)), 408)
            self.assertEqual(silent.recv(4096), b"")
            # an idle tunnel is closed
            tun = socket.create_connection((host, int(port)), timeout=20)
            tun.sendall(b"CONNECT allowed.test:%d HTTP/1.1\r\n\r\n" % TLS.port)
            self.assertEqual(status_of(tun.recv(4096)), 200)
            self.assertEqual(tun.recv(4096), b"")
            for s in (slow, silent, tun):
                s.close()

    def test_dripping_clients_do_not_extend_the_handshake_deadline(self):
        # slow loris: a byte now and then never completes the head (HTTP) or
        # the request (SOCKS5); the deadline runs from the first byte
        with Proxy(args=["--handshake-timeout", "1s", "--idle-timeout", "30s"]) as px:
            def drip(addr, first, filler):
                host, port = addr.rsplit(":", 1)
                s = socket.create_connection((host, int(port)), timeout=20)
                s.sendall(first)
                start = time.monotonic()
                got = b""
                s.settimeout(0.2)
                while time.monotonic() - start < 6:
                    try:
                        s.sendall(filler)
                    except OSError:
                        break
                    try:
                        chunk = s.recv(4096)
                    except socket.timeout:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        break
                    got += chunk
                s.close()
                return got, time.monotonic() - start

            got, took = drip(px.addrs["http"], b"GET http://allowed.test/ HTTP/1.1\r\n", b"X")
            self.assertEqual(status_of(got), 408, got)
            self.assertLess(took, 3.5)
            # SOCKS5: greeting done, then the request a byte at a time (a long domain name)
            got, took = drip(px.addrs["socks"], b"\x05\x01\x00\x05\x01\x00\x03\xff", b"a")
            self.assertEqual(got, b"\x05\x00", got)
            self.assertLess(took, 3.5)
            r = curl(["http://allowed.test:%d/echo" % ORIGIN.port], px.env())
            self.assertEqual(json.loads(r.stdout)["method"], "GET")

    def test_header_limit(self):
        with Proxy(args=["--max-header-bytes", "1024"]) as px:
            resp = raw(px.addrs["http"], b"GET http://allowed.test/ HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n")
            self.assertEqual(status_of(resp), 431)
            resp = raw(px.addrs["http"], b"GET http://allowed.test/ HTTP/1.1\r\n" + b"A: b\r\n" * 120 + b"\r\n")
            self.assertEqual(status_of(resp), 431)

    def test_response_head_larger_than_the_buffer(self):
        big = b"x" * 100000
        origin = ScriptedOrigin(lambda c, n: b"HTTP/1.1 200 OK\r\nX-Big: " + big + b"\r\nContent-Length: 2\r\n\r\nok")
        try:
            with Proxy(config="[limits]\nbuffer_bytes = 4096\nidle_timeout_ms = 5000\n",
                       args=["--max-header-bytes", "200000"]) as px:
                start = time.monotonic()
                resp = raw(px.addrs["http"], b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: allowed.test:%d\r\n"
                           b"Connection: close\r\n\r\n" % (origin.port, origin.port), timeout=20)
                self.assertEqual(status_of(resp), 200, resp[:200])
                self.assertIn(b"X-Big: " + big + b"\r\n", resp)
                self.assertTrue(resp.endswith(b"\r\n\r\nok"))
                self.assertLess(time.monotonic() - start, 4)
        finally:
            origin.stop()


class ChainLoading(unittest.TestCase):
    def proxy_cmd(self, policy_net=None):
        d = fresh_dir("chain")
        p = os.path.join(d, "policy.json")
        net = {"proxy": {"domains": dict(DEFAULT_DOMAINS)}}
        net.update(policy_net or {})
        with open(p, "w") as f:
            json.dump(policy_doc(net), f)
        h = os.path.join(d, "hosts")
        with open(h, "w") as f:
            f.write("127.0.0.1 allowed.test denied.test\n")
        return [BIN, "--policy", p, "--hosts-file", h, "--ca-dir", os.path.join(d, "ca")]

    def test_runs_the_command_with_the_env_and_returns_its_status(self):
        code = ("import os,json,urllib.request,sys\n"
                "r=urllib.request.urlopen('http://allowed.test:%d/echo',timeout=20).read()\n"
                "print(json.dumps({'proxy':os.environ.get('HTTP_PROXY'),'all':os.environ.get('ALL_PROXY'),"
                "'np':os.environ.get('NO_PROXY'),'active':os.environ.get('CSB_NETWORK_PROXY_ACTIVE'),"
                "'server':json.loads(r)['server']}))\nsys.exit(7)" % ORIGIN.port)
        env = base_env()
        env["HTTP_PROXY"] = "http://user.proxy:1"
        r = run(self.proxy_cmd() + ["--", sys.executable, "-c", code], env=env)
        self.assertEqual(r.returncode, 7, r.stderr)
        doc = json.loads(r.stdout)
        self.assertRegex(doc["proxy"], r"^http://127\.0\.0\.1:\d+$")
        self.assertRegex(doc["all"], r"^socks5h://127\.0\.0\.1:\d+$")
        self.assertEqual(doc["np"], "localhost,127.0.0.1,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16")
        self.assertEqual((doc["active"], doc["server"]), ("1", "plain"))
        r = run(self.proxy_cmd() + ["--", "sh", "-c", "kill -TERM $$"], env=env)
        self.assertEqual(r.returncode, 128 + 15)
        r = run(self.proxy_cmd() + ["--", "/nonexistent/cmd"], env=env)
        self.assertEqual(r.returncode, 127)

    def test_relative_ca_dir_gives_the_child_absolute_bundle_paths(self):
        # the child may change directory: a bundle named relative to the
        # proxy's working directory would then name another file, or none
        cmd = self.proxy_cmd({"proxy": {"domains": dict(DEFAULT_DOMAINS), "mode": "limited"}})
        i = cmd.index("--ca-dir")
        work = fresh_dir("relca")
        cmd[i + 1] = "ca"
        show = [sys.executable, "-c", "import os,json;print(json.dumps({k:os.environ.get(k) for k in "
                "('SSL_CERT_FILE','CSB_NETWORK_PROXY_CA_BUNDLES')}))"]
        r = subprocess.run(cmd + ["--"] + show, cwd=work, env=base_env(), capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        ca = os.path.join(work, "ca")
        self.assertEqual(os.path.dirname(doc["SSL_CERT_FILE"]), ca, doc)
        for b in doc["CSB_NETWORK_PROXY_CA_BUNDLES"].split(":"):
            self.assertEqual(os.path.dirname(b), ca, doc)
        self.assertIn(b"the MITM CA key %s/ca.key is readable" % ca.encode(), r.stderr)

    def test_policy_from_piped_stdin_without_option(self):
        cmd = self.proxy_cmd()
        i = cmd.index("--policy")
        with open(cmd[i + 1]) as f:
            doc = f.read()
        del cmd[i:i + 2]
        show = [sys.executable, "-c", "import os,sys;print(os.environ.get('HTTP_PROXY'), repr(sys.stdin.read()))"]
        r = run(cmd + ["--"] + show, env=base_env(), input=doc.encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r"^http://127\.0\.0\.1:\d+ ''\n$")
        # --policy - likewise; --policy FILE leaves standard input to the command
        r = run(self.proxy_cmd() + ["--"] + show, env=base_env(), input=b"for-cmd")
        self.assertRegex(r.stdout.decode(), r"^http://127\.0\.0\.1:\d+ 'for-cmd'\n$", r.stderr)
        r = run(cmd + ["--policy", "-", "--"] + show, env=base_env(), input=doc.encode())
        self.assertRegex(r.stdout.decode(), r"^http://127\.0\.0\.1:\d+ ''\n$", r.stderr)

    def test_bad_numbers_and_times_are_usage_errors(self):
        # each printed its usage error and then exited 0, as if it had run
        for opt, value, msg in (
                ("--ready-fd", "-1", b"option '--ready-fd' needs a non-negative integer, not '-1'"),
                ("--ready-fd", " 3", b"option '--ready-fd' needs a non-negative integer, not ' 3'"),
                ("--max-connections", "18446744073709551616",
                 b"option '--max-connections' needs an integer between 0 and 1000000"),
                ("--resolver-threads", "65", b"option '--resolver-threads' needs an integer between 0 and 64"),
                ("--leaf-cache", "1x", b"option '--leaf-cache' needs an integer between 0 and 1000000"),
                ("--idle-timeout", "0", b"--idle-timeout: time out of range `0`"),
                ("--dns-timeout", "-1s", b"--dns-timeout: invalid time `-1s`"),
                ("--handshake-timeout", " 5", b"--handshake-timeout: invalid time ` 5`"),
                ("--decider-timeout", "1y", b"--decider-timeout: invalid time `1y` (use 5, 5s or 500ms)"),
                ("--decider-timeout", "99999999999999999999", b"--decider-timeout: time out of range"),
                # 18446744073709552 s wraps to 384 ms when multiplied by 1000
                ("--idle-timeout", "18446744073709552", b"--idle-timeout: time out of range"),
                ("--idle-timeout", "86401s", b"--idle-timeout: time out of range"),
                # after the policy is loaded (a leak there failed ASan builds)
                ("--listen", "x", b"--listen: invalid address `x`"),
                ("--socks-listen", "127.0.0.1:99999", b"--socks-listen: invalid port")):
            r = run(self.proxy_cmd() + [opt, value, "--", "true"], env=base_env())
            self.assertEqual(r.returncode, 64, (opt, value, r.stderr))
            self.assertTrue(r.stderr.startswith(b"csb-proxy: error: " + msg), (opt, value, r.stderr))
            self.assertIn(b"Try 'csb-proxy --help'.", r.stderr)
        r = run(self.proxy_cmd() + ["--idle-timeout", "86400s", "--", "true"], env=base_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        # an --audit-meta before a usage error was allocated and never freed
        r = run([BIN, "--audit-meta", "model=x", "--bogus"], env=base_env())
        self.assertEqual((r.returncode, r.stderr), (64, b"csb-proxy: error: unknown option '--bogus'\n"
                                                        b"Try 'csb-proxy --help'.\n"))

    def test_audit_meta_key_given_twice_is_a_usage_error(self):
        # repeatable for different keys; one key twice would have the
        # audit lines carry the last value without a word
        audit = os.path.join(fresh_dir("metatwice"), "audit.jsonl")
        r = run(self.proxy_cmd() + ["--audit", audit, "--audit-meta", "model=a", "--audit-meta", "slug=s",
                                    "--audit-meta", "model=b", "--", "true"], env=base_env())
        self.assertEqual((r.returncode, r.stderr),
                         (64, b"csb-proxy: error: --audit-meta: key `model` given twice ('a', then 'b'); "
                              b"give it once\nTry 'csb-proxy --help'.\n"))

    def test_hosts_file_that_is_not_a_regular_file_is_refused(self):
        cmd = self.proxy_cmd()
        d = fresh_dir("hostsfifo")
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        for bad in (fifo, "/dev/zero", d):
            c = list(cmd)
            c[c.index("--hosts-file") + 1] = bad
            r = run(c + ["--", "true"], env=base_env(), timeout=30)
            self.assertEqual(r.returncode, 78, (bad, r.stderr))
            self.assertIn(b"csb-proxy: error: --hosts-file %s: not a regular file" % bad.encode(), r.stderr)

    def test_relative_home_gives_no_ca_directory(self):
        # csb-resolve has no csb home then (so protects none): the CA key
        # went to HOME/.csb/proxy below whatever directory this ran in
        cmd = self.proxy_cmd({"proxy": {"domains": dict(DEFAULT_DOMAINS), "mode": "limited"}})
        i = cmd.index("--ca-dir")
        del cmd[i:i + 2]
        work = fresh_dir("relhome")
        env = base_env()
        env["HOME"] = "rel/home"
        env.pop("CSB_HOME", None)
        r = subprocess.run(cmd + ["--", "true"], cwd=work, env=env, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn(b"csb-proxy: error: MITM: no CA directory: CSB_HOME is not set and HOME is not an absolute "
                      b"path; set CSB_HOME or pass --ca-dir DIR", r.stderr)
        self.assertEqual(os.listdir(work), [])
        # CSB_HOME, relative or not, still says where
        env["CSB_HOME"] = "csbhome"
        r = subprocess.run(cmd + ["--", "true"], cwd=work, env=env, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(work, "csbhome", "proxy", "ca.key")))

    def test_no_policy_with_terminal_stdin_is_64(self):
        master, slave = pty.openpty()
        try:
            r = subprocess.run([BIN, "--", "true"], stdin=slave, capture_output=True, env=base_env(),
                               timeout=30)
        finally:
            os.close(master)
            os.close(slave)
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"--policy or --config is required: standard input is a terminal", r.stderr)

    def test_strip_env_removes_only_what_was_added(self):
        env = base_env()
        env["HTTP_PROXY"] = "http://user.proxy:1"
        env["KEEP_ME"] = "1"
        show = [sys.executable, "-c", "import os,json;print(json.dumps({k:v for k,v in os.environ.items() "
                "if 'PROXY' in k.upper() or k in ('KEEP_ME','CSB_NETWORK_PROXY_ACTIVE')}))"]
        r = run(self.proxy_cmd() + ["--", BIN, "--strip-env", "--"] + show, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc, {"HTTP_PROXY": "http://user.proxy:1", "KEEP_ME": "1"})
        # a variable the command changed itself is kept
        r = run(self.proxy_cmd() + ["--", "sh", "-c", 'NO_PROXY=mine exec "$0" --no-proxy -- "$@"', BIN] + show,
                env=env)
        self.assertEqual(json.loads(r.stdout).get("NO_PROXY"), "mine", r.stderr)

    def test_print_env_sh(self):
        cmd = self.proxy_cmd() + ["--listen", "127.0.0.1:0", "--socks-listen", "127.0.0.1:0", "--print-env"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base_env())
        lines = []
        while True:
            line = p.stdout.readline().decode()
            lines.append(line)
            if line.startswith("export wss_proxy"):
                break
        p.terminate()
        p.wait(10)
        text = "".join(lines)
        r = run(["sh", "-c", text + '\necho "$HTTPS_PROXY|$CSB_NETWORK_PROXY_ACTIVE"'])
        self.assertRegex(r.stdout.decode().strip(), r"^http://127\.0\.0\.1:\d+\|1$")

    def test_print_env_to_a_full_stdout_is_71(self):
        # an environment that did not get out is an error, not a proxy left serving
        cmd = self.proxy_cmd() + ["--listen", "127.0.0.1:0", "--socks-listen", "127.0.0.1:0", "--print-env"]
        with open("/dev/full", "wb") as full:
            r = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, env=base_env(), timeout=30)
        self.assertEqual(r.returncode, 71, r.stderr)
        self.assertIn(b"csb-proxy: error: cannot write the environment to standard output: No space left on device",
                      r.stderr)

    DAEMON = ["--listen", "127.0.0.1:0", "--socks-listen", "127.0.0.1:0", "--print-env"]

    def ready_fd_run(self, fd, tail, timeout=30):
        """Runs the proxy with --ready-fd fd, then tail; fd passed to it as it is here (closed or open)."""
        pass_fds = ()
        try:
            os.fstat(fd)
            pass_fds = (fd,)
        except OSError:
            pass
        return subprocess.run(self.proxy_cmd() + ["--ready-fd", str(fd)] + tail, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, pass_fds=pass_fds, env=base_env(), timeout=timeout)

    def test_ready_fd_gets_the_listener_addresses_then_eof(self):
        for socks, pat in ((True, rb'\{"http":"127\.0\.0\.1:(\d+)","socks":"127\.0\.0\.1:(\d+)"\}\n'),
                           (False, rb'\{"http":"127\.0\.0\.1:(\d+)"\}\n')):
            with self.subTest(socks=socks):
                net = {"proxy": {"domains": dict(DEFAULT_DOMAINS), "enable_socks5": socks}}
                cmd = self.proxy_cmd(net) + ["--listen", "127.0.0.1:0", "--socks-listen", "127.0.0.1:0"]
                r, w = os.pipe()
                p = subprocess.Popen(cmd + ["--ready-fd", str(w)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, pass_fds=(w,), env=base_env())
                os.close(w)
                try:
                    with os.fdopen(r, "rb") as f:  # EOF: the proxy closed its end once written
                        line = f.read()
                    m = re.fullmatch(pat, line)
                    self.assertIsNotNone(m, line)
                    self.assertIsNone(p.poll(), "the proxy must keep serving")
                    for port in m.groups():  # the addresses are the listeners'
                        socket.create_connection(("127.0.0.1", int(port)), timeout=10).close()
                finally:
                    p.terminate()
                    _, err = p.communicate(timeout=15)
                self.assertEqual(p.returncode, 0, err)

    def test_ready_fd_not_open_is_71_before_anything_runs(self):
        d = fresh_dir("ready")
        marker = os.path.join(d, "ran")
        fd = 57
        self.assertRaises(OSError, os.fstat, fd)
        # a chained command must not run, and a daemon must not print its environment or serve
        for tail in (["--", "sh", "-c", 'touch "$0"', marker], self.DAEMON):
            with self.subTest(chained=tail[0] == "--"):
                r = self.ready_fd_run(fd, tail)
                self.assertEqual(r.returncode, 71, r.stderr)
                self.assertEqual(r.stderr, b"csb-proxy: error: --ready-fd 57: not an open file descriptor "
                                           b"(Bad file descriptor); nothing was served\n")
                self.assertEqual(r.stdout, b"")
                self.assertFalse(os.path.exists(marker))
        # an fd open for reading only cannot take the line either
        r, w = os.pipe()
        try:
            res = self.ready_fd_run(r, self.DAEMON)
        finally:
            os.close(r)
            os.close(w)
        self.assertEqual(res.returncode, 71, res.stderr)
        self.assertEqual(res.stderr, b"csb-proxy: error: --ready-fd %d: not open for writing; nothing was served\n" % r)
        self.assertEqual(res.stdout, b"")

    def test_ready_fd_whose_reader_is_gone_is_71_not_sigpipe(self):
        d = fresh_dir("ready")
        marker = os.path.join(d, "ran")
        for tail in (["--", "sh", "-c", 'touch "$0"', marker], self.DAEMON):
            with self.subTest(chained=tail[0] == "--"):
                r, w = os.pipe()
                os.close(r)
                try:
                    res = self.ready_fd_run(w, tail)
                finally:
                    os.close(w)
                self.assertEqual(res.returncode, 71, res.stderr)
                self.assertEqual(res.stderr, b"csb-proxy: error: --ready-fd %d: cannot write the listener addresses: "
                                             b"Broken pipe; nothing was served\n" % w)
                self.assertEqual(res.stdout, b"")
                self.assertFalse(os.path.exists(marker))

    def test_ready_fd_on_stdout_stays_open_for_the_command(self):
        # a standard stream is written, not closed: the chained command still prints to it
        res = self.ready_fd_run(1, ["--", "sh", "-c", "echo command-out"])
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertRegex(res.stdout, rb'^\{"http":"127\.0\.0\.1:\d+"(,"socks":"127\.0\.0\.1:\d+")?\}\ncommand-out\n$')


class FramingDifferential(unittest.TestCase):
    """A short fixed-seed run of framing_differential.py: mutated request
    framing against node's and Python's HTTP servers, mutated response
    framing against node's and Python's clients (see docs/csb-proxy.md;
    run it by hand with other seeds and counts)."""

    def test_fixed_seed(self):
        import framing_differential as fd
        fd.pt = sys.modules[__name__]
        failures = fd.run(seed=20261125, count=int(os.environ.get("PXTEST_FRAMING_CASES", "40")),
                          keep_going=True)
        self.assertEqual(failures, [])


class Load(unittest.TestCase):
    """Many concurrent clients of every kind, with aborts and garbage; the
    proxy must keep answering and exit cleanly (run under --config=asan by
    proxy_load_test). Run alone: proxy_test.py Load."""

    def test_mixed_load(self):
        if os.environ.get("PXTEST_LOAD") != "1":
            self.skipTest("run by proxy_load_test")
        hooks = {"mitm": {"hooks": {"h": {"host": "hooked.test", "methods": ["GET"], "path_prefixes": ["/"],
                                          "action": ["s"]}},
                          "actions": {"s": {"strip_request_headers": ["authorization"]}}}}
        errors = []
        with Proxy(proxy=hooks, args=["--max-connections", "4096"]) as px:
            host, port = px.addrs["http"].rsplit(":", 1)
            port = int(port)
            ctx = ssl.create_default_context(cafile=px.env()["SSL_CERT_FILE"])

            def keepalive(n):
                s = socket.create_connection((host, port), timeout=30)
                f = s.makefile("rb")
                for i in range(n):
                    s.sendall(b"GET http://allowed.test:%d/echo?i=%d HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n"
                              % (ORIGIN.port, i, ORIGIN.port))
                    head, body = read_response(f)
                    if status_of(head) != 200:
                        errors.append(("keepalive", head))
                        break
                s.close()

            def tunnel(n):
                for _ in range(n):
                    s = socket.create_connection((host, port), timeout=30)
                    s.sendall(b"CONNECT api.wild.test:%d HTTP/1.1\r\n\r\n" % TLS.port)
                    if status_of(s.recv(4096)) != 200:
                        errors.append("connect")
                    c = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.pem"))
                    t = c.wrap_socket(s, server_hostname="api.wild.test")
                    t.sendall(b"GET /big=200000 HTTP/1.1\r\nHost: api.wild.test\r\n\r\n")
                    head, body = read_response(t.makefile("rb"))
                    if len(body) != 200000:
                        errors.append("tunnel body")
                    t.close()

            def mitm(n):
                for _ in range(n):
                    s = socket.create_connection((host, port), timeout=30)
                    s.sendall(b"CONNECT hooked.test:%d HTTP/1.1\r\n\r\n" % TLS.port)
                    s.recv(4096)
                    t = ctx.wrap_socket(s, server_hostname="hooked.test")
                    for i in range(3):
                        t.sendall(b"GET /echo HTTP/1.1\r\nHost: hooked.test:%d\r\nAuthorization: x\r\n\r\n"
                                  % TLS.port)
                        head, body = read_response(t.makefile("rb"))
                        if b"authorization" in body:
                            errors.append("hook")
                    t.close()

            def abusive(n):
                for i in range(n):
                    s = socket.create_connection((host, port), timeout=30)
                    kind = i % 4
                    if kind == 0:
                        s.sendall(os.urandom(300))
                    elif kind == 1:
                        s.sendall(b"GET http://allowed.test:%d/big=3000000 HTTP/1.1\r\n\r\n" % ORIGIN.port)
                        s.recv(1000)
                    elif kind == 2:
                        s.sendall(b"POST http://allowed.test:%d/echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\nab"
                                  % ORIGIN.port)
                    else:
                        s.sendall(b"CONNECT denied.test:443 HTTP/1.1\r\n\r\n")
                        s.recv(1000)
                    s.close()
                for _ in range(n):
                    s = socket.create_connection((host, int(px.addrs["socks"].rsplit(":", 1)[1])), timeout=30)
                    s.sendall(b"\x05\x01\x00\x05\x01\x00\x03\x0callowed.test" + struct.pack("!H", ORIGIN.port))
                    s.recv(12)
                    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    while s.recv(65536):
                        pass
                    s.close()

            def guarded(fn, n):
                try:
                    fn(n)
                except Exception as e:  # noqa: BLE001 - collected and reported
                    errors.append(repr(e))

            threads = ([threading.Thread(target=guarded, args=(keepalive, 300)) for _ in range(8)] +
                       [threading.Thread(target=guarded, args=(tunnel, 20)) for _ in range(4)] +
                       [threading.Thread(target=guarded, args=(mitm, 20)) for _ in range(3)] +
                       [threading.Thread(target=guarded, args=(abusive, 40)) for _ in range(3)])
            for t in threads:
                t.start()
            for t in threads:
                t.join(600)
            r = curl(["http://allowed.test:%d/echo" % ORIGIN.port], px.env())
            self.assertEqual(json.loads(r.stdout)["method"], "GET")
        self.assertEqual(errors, [])
        self.assertNotIn("AddressSanitizer", px.stderr())
        self.assertNotIn("runtime error", px.stderr())


class SandboxEndToEnd(unittest.TestCase):
    """csb-proxy -- csb-bwrap (network mode proxy) -- curl: the sandbox reaches
    allowed sites through the proxy and nothing else. Run by proxy_bwrap_test."""

    def setUp(self):
        if not BWRAP:
            self.skipTest("needs CSB_BWRAP (the proxy_bwrap_test target)")

    def run_chain(self, proxy, script, extra_env=None):
        d = fresh_dir("e2e")
        p = os.path.join(d, "policy.json")
        p2 = dict({"domains": dict(DEFAULT_DOMAINS)}, **proxy)
        with open(p, "w") as f:
            json.dump(policy_doc({"proxy": p2}), f)
        h = os.path.join(d, "hosts")
        with open(h, "w") as f:
            f.write("127.0.0.1 %s\n" % " ".join(NAMES))
        cmd = [BIN, "--policy", p, "--hosts-file", h, "--ca-dir", os.path.join(d, "ca"), "--upstream-ca",
               os.path.join(CERTS, "ca.pem"), "--audit", os.path.join(d, "audit"), "--", BWRAP, "--policy", p]
        if BUBBLEWRAP:
            cmd += ["--bwrap", BUBBLEWRAP]
        env = base_env()
        env.update(extra_env or {})
        r = run(cmd + ["--", "sh", "-c", script], env=env, timeout=120)
        with open(os.path.join(d, "audit")) as f:
            audit = [json.loads(line) for line in f]
        return r, audit

    def test_curl_reaches_allowed_sites_only(self):
        script = ("curl -sS -o /dev/null -w 'allowed=%%{http_code}\\n' http://allowed.test:%d/echo; "
                  "curl -sS -o /dev/null -w 'other=%%{http_code}\\n' http://other.test:%d/echo; "
                  "curl -sS -o /dev/null -w 'tls=%%{http_code}\\n' --cacert %s https://api.wild.test:%d/echo; "
                  "curl -sS -o /dev/null -w 'socks=%%{http_code}\\n' -x \"$ALL_PROXY\" http://apex.test:%d/echo; "
                  "curl -sS -m 5 --noproxy '*' -o /dev/null http://127.0.0.1:%d/ || echo direct-ip=blocked; "
                  "curl -sS -m 5 --noproxy '*' -o /dev/null http://allowed.test:%d/ || echo direct-name=blocked"
                  % (ORIGIN.port, ORIGIN.port, os.path.join(CERTS, "ca.pem"), TLS.port, ORIGIN.port, ORIGIN.port,
                     ORIGIN.port))
        before = ORIGIN.requests
        r, audit = self.run_chain({}, script)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, (out, r.stderr.decode()))
        for want in ("allowed=200", "other=403", "tls=200", "socks=200", "direct-ip=blocked", "direct-name=blocked"):
            self.assertIn(want, out, (out, r.stderr.decode()))
        self.assertEqual(ORIGIN.requests - before, 2)  # allowed + socks; the direct attempts never arrived
        self.assertEqual({(e["server.address"], e["network.policy.decision"]) for e in audit},
                         {("allowed.test", "allow"), ("other.test", "deny"), ("api.wild.test", "allow"),
                          ("apex.test", "allow")})

    def test_interception_inside_the_sandbox(self):
        script = ("curl -sS https://sub.apex.test:%d/echo >/dev/null && echo get=ok; "
                  "curl -sS -o /dev/null -w 'post=%%{http_code}\\n' -X POST -d x https://sub.apex.test:%d/echo"
                  % (TLS.port, TLS.port))
        r, audit = self.run_chain({"mode": "limited"}, script)
        out = r.stdout.decode()
        self.assertIn("get=ok", out, (out, r.stderr.decode()))
        self.assertIn("post=403", out)


def proxy_client(px):
    """A connection to the proxy's HTTP listener and a binary reader on it."""
    host, port = px.addrs["http"].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    return s, s.makefile("rb")


def origin_conn(px, origin, name=b"allowed.test"):
    """A client connection on which requests reach `origin` as `name`
    through px: its HTTP listener (absolute-form targets) for a plain
    origin, an intercepted CONNECT tunnel for a TLS one. Returns the socket,
    a binary reader on it and the prefix of request targets."""
    if not isinstance(origin.socket, ssl.SSLSocket):
        s, f = proxy_client(px)
        return s, f, b"http://%s:%d" % (name, origin.port)
    ctx = ssl.create_default_context(cafile=px.env()["SSL_CERT_FILE"])
    s = ctx.wrap_socket(http_tunnel(px, b"%s:%d" % (name, origin.port)), server_hostname=name.decode())
    return s, s.makefile("rb"), b""


def body_refusal(origin, host="allowed.test"):
    """The exact answer to a request with a body in limited mode: to plain
    HTTP (JSON) or inside an intercepted tunnel (text), for `origin`."""
    msg = b"Request body not allowed in limited mode."
    if isinstance(origin.socket, ssl.SSLSocket):
        ctype, body = b"text/plain; charset=utf-8", msg
    else:
        ctype = b"application/json"
        body = (b'{"status":"blocked","host":"%s","reason":"method_not_allowed","decision":"deny",'
                b'"source":"mode_guard","protocol":"http","port":%d,"message":"%s"}' % (host.encode(), origin.port, msg))
    return (b"HTTP/1.1 403 Forbidden\r\ncontent-type: %s\r\nx-proxy-error: blocked-by-method-policy\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (ctype, len(body), body))


def allowed_url(origin):
    """The absolute-form URL prefix of `origin` as allowed.test, and its Host line."""
    return b"http://allowed.test:%d" % origin.port, b"Host: allowed.test:%d\r\n" % origin.port


def read_response(f, head_only=False):
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = f.readline()
        if not line:
            break
        head += line
    if head_only:
        return head, b""
    m = re.search(rb"(?i)content-length: (\d+)", head)
    if m:
        return head, f.read(int(m.group(1)))
    if re.search(rb"(?i)transfer-encoding: chunked", head):
        body = b""
        while True:
            n = int(f.readline().split(b";")[0], 16)
            if n == 0:
                f.readline()
                return head, body
            body += f.read(n)
            f.readline()
    return head, f.read()


def socks_udp_associate(addr, dst=b"\x01\x00\x00\x00\x00\x00\x00"):
    """UDP ASSOCIATE with DST.ADDR/DST.PORT `dst` (ATYP ADDR PORT; default all zeros)."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x03\x00" + dst)
    rep = s.recv(10)
    relay = (socket.inet_ntoa(rep[4:8]), struct.unpack("!H", rep[8:10])[0]) if len(rep) >= 10 else None
    return s, rep[1], relay


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--netns-rebinding":
        netns_rebinding()
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--netns-search-domains":
        netns_search_domains()
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--netns-host-addresses":
        netns_host_addresses()
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--netns-loop-guard":
        netns_loop_guard()
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--netns-loop-peer":
        netns_loop_peer()
        sys.exit(0)
    unittest.main(verbosity=2)
