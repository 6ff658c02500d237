#!/usr/bin/env python3
"""Randomized differential check of csb-proxy's HTTP/1.1 framing against
real parsers on loopback.

Requests: seeded sequences of requests with mutated framing go over one
keep-alive client connection, in absolute form, to an allowed origin that
is node's http server (llhttp) or Python's http.server. Each origin echoes
and logs what it parsed. The property: every request the proxy let through
reaches the origin as exactly that one request (method, target, Host,
body) and answers exactly that client request; a request the generator
knows is ambiguous or malformed gets a 4xx/5xx and the connection ends
after it; the origin never sees a request nobody checked (bodies carry
requests for /smuggled on a denied host); nothing hangs.

Responses: a raw origin answers the first of two requests on one client
connection with mutated framing (the body carries a whole fake response);
node's client (keep-alive agent) and Python's http.client must read the
second response as the origin's second answer, or see an error or a new
connection, never bytes of the first.

    CSB_PROXY=... CSB_TESTCERT=... python3 framing_differential.py [--seed N] [--count N] [--only requests|responses]

(FRAMING_SHOW_REFUSED=1 prints each request that could have gone through
but got an error answer, from the proxy or the origin.)
"""
import argparse
import http.client
import http.server
import json
import os
import random
import re
import select
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import proxy_test as pt  # noqa: E402

ORIGIN_JS = os.path.join(HERE, "framing_origin.js")
SMUGGLE = b"GET /smuggled HTTP/1.1\r\nHost: denied.test\r\nContent-Length: 0\r\n\r\n"


# ---- origins -------------------------------------------------------------------------------------


class NodeOrigin:
    def __init__(self, node):
        self.proc = subprocess.Popen([node, ORIGIN_JS, "server"], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.port = json.loads(self.proc.stdout.readline())["port"]
        self.log = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.log.append(json.loads(line))

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class PyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline(65537)
                n = int(line.split(b";")[0].strip(), 16)
                if n == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b""):
                        pass
                    return data
                data += self.rfile.read(n)
                if self.rfile.read(2) != b"\r\n":
                    raise ValueError("chunk")
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        try:
            body = self._body()
        except Exception:
            self.server.log.append({"error": "body"})
            self.close_connection = True
            return
        rec = {"method": self.command, "url": self.path, "host": self.headers.get("Host"),
               "version": self.request_version[5:], "body": body.hex()}
        line = json.dumps(rec).encode()
        self.server.log.append(rec)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo", "1")
        self.send_header("Content-Length", str(len(line)))
        self.end_headers()
        self.wfile.write(line)

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)


class PyOrigin(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self):
        self.log = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), PyHandler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def get_request(self):
        s, a = super().get_request()
        s.settimeout(10)
        return s, a

    def handle_error(self, *a):
        pass

    def stop(self):
        self.shutdown()
        self.server_close()


# ---- request generator ---------------------------------------------------------------------------

OK, EITHER, BAD = "ok", "either", "bad"


def worst(a, b):
    order = {OK: 0, EITHER: 1, BAD: 2}
    return a if order[a] >= order[b] else b


def chunked(rng, body):
    """(encoding, class) of body in chunked framing, maybe mutated."""
    out = b""
    cls = OK
    i = 0
    while i < len(body):
        n = rng.randint(1, max(1, len(body) - i))
        part = body[i:i + n]
        size = "%x" % n
        r = rng.random()
        if r < 0.1:
            size = size.upper()
        elif r < 0.15:
            size = "0" * rng.randint(1, 7 - len(size) if len(size) < 7 else 1) + size
            cls = worst(cls, EITHER)
        elif r < 0.18:
            size = "1" + "0" * 16 + size  # overflows 64 bits
            cls = BAD
        elif r < 0.2:
            size = "0x" + size
            cls = BAD
        ext = b""
        r = rng.random()
        if r < 0.1:
            ext = rng.choice([b";a=b", b";a", b" ;a=\"q\\\"\"", b";a=b;c=d"])
            cls = worst(cls, EITHER)
        elif r < 0.14:
            ext = rng.choice([b";\x00", b";a=\"open", b";a=b\\", b"\n", b";a=b\rX"])
            cls = BAD
        end = b"\r\n"
        if rng.random() < 0.03:
            end = rng.choice([b"\n", b"\r", b"\r\r\n"])
            cls = BAD
        out += size.encode() + ext + end + part
        if rng.random() < 0.03:
            out += rng.choice([b"\n", b"X\r\n", b""])
            cls = BAD
        else:
            out += b"\r\n"
        i += n
    out += b"0" * rng.choice([1, 1, 1, 3]) + b"\r\n"
    if rng.random() < 0.15:
        out += rng.choice([b"X-Trailer: 1\r\n", b"X-T: a\r\nY-T: b\r\n"])
        cls = worst(cls, EITHER)
    elif rng.random() < 0.05:
        out += rng.choice([b" folded\r\n", b"X-T: \x00\r\n", b"X-T\r\n", b"X-T: a\n"])
        cls = BAD
    out += b"\r\n"
    return out, cls


def gen_request(rng, port, idx, case):
    """One request: (bytes, class, expect) where expect is what the origin
    must see if the request goes through."""
    method = rng.choice(["GET", "POST", "PUT", "GET", "POST", "DELETE", "OPTIONS", "PATCH"])
    minor = 1 if rng.random() < 0.9 else 0
    path = "/c%d/r%d?case=%d&q=%d" % (case, idx, case, rng.randint(0, 99))
    host = "allowed.test:%d" % port
    target = "http://" + host + path
    body = b""
    if method in ("POST", "PUT", "PATCH") or rng.random() < 0.2:
        kind = rng.random()
        if kind < 0.3:
            body = SMUGGLE + b"x" * rng.randint(0, 4)
        elif kind < 0.5:
            body = ("POST %s HTTP/1.1\r\nHost: denied.test\r\nContent-Length: 3\r\n\r\nabc" % (
                "http://denied.test:%d/smuggled" % port)).encode()
        else:
            body = bytes(rng.randint(0x20, 0x7e) for _ in range(rng.randint(0, 40)))
    cls = OK
    headers = []
    # the Host header
    r = rng.random()
    if r < 0.7:
        headers.append(b"Host: " + host.encode())
    elif r < 0.75:
        headers.append(b"Host: " + host.upper().encode())
    elif r < 0.8:
        pass  # the proxy adds one
    elif r < 0.84:
        headers.append(b"Host: denied.test:%d" % port)
        cls = BAD
    elif r < 0.87:
        headers.append(b"Host: allowed.test:%d" % (port + 1))
        cls = BAD
    elif r < 0.9:
        headers += [b"Host: " + host.encode(), b"Host: denied.test"]
        cls = BAD
    elif r < 0.93:
        headers.append(b"Host: x@denied.test:%d" % port)
        cls = BAD
    elif r < 0.96:
        headers.append(b"Host: allowed.test")  # port 80: not the target's
        cls = BAD
    else:
        headers.append(b"Host: " + host.encode())
        target = "http://denied.test:%d%s" % (port, path)
        cls = BAD
    # framing
    framed = body
    fr = rng.random()
    n = len(body)
    if minor == 1 and fr < 0.35:
        framed, c = chunked(rng, body)
        cls = worst(cls, c)
        te = rng.random()
        if te < 0.6:
            headers.append(b"Transfer-Encoding: chunked")
        elif te < 0.65:
            headers.append(rng.choice([b"Transfer-Encoding: Chunked", b"Transfer-Encoding: CHUNKED",
                                       b"transfer-encoding: chunked", b"Transfer-Encoding:\tchunked",
                                       b"Transfer-Encoding:   chunked   "]))
            cls = worst(cls, EITHER)
        else:
            headers.append(rng.choice([
                b"Transfer-Encoding: chunked, identity", b"Transfer-Encoding: identity",
                b"Transfer-Encoding : chunked", b"Transfer-Encoding: \x0bchunked", b"Transfer-Encoding:\r\n chunked",
                b"Transfer-Encoding: xchunked", b"Transfer-Encoding: chunked\rX: y", b" Transfer-Encoding: chunked",
                b"Transfer_Encoding: chunked", b"Transfer-Encoding: gzip, chunked",
                b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
                b"Transfer-Encoding: chunked\r\nContent-Length: %d" % len(framed),
                b"Content-Length: %d\r\nTransfer-Encoding: chunked" % n,
                b"Transfer-Encoding: identity, chunked", b"Transfer-Encoding: \"chunked\"",
                b"Transfer-Encoding: chunked;q=1", b"X: y\nTransfer-Encoding: chunked"]))
            cls = BAD
    elif body or rng.random() < 0.3:
        r = rng.random()
        if r < 0.55:
            headers.append(b"Content-Length: %d" % n)
        elif r < 0.62:
            headers.append(rng.choice([b"Content-Length: 0%d" % n, b"Content-Length:  %d  " % n,
                                       b"Content-Length: %d, %d" % (n, n), b"Content-Length: %d,%d" % (n, n),
                                       b"Content-Length: %d\r\nContent-Length: %d" % (n, n),
                                       b"content-length:\t%d" % n]))
            cls = worst(cls, EITHER)
        else:
            headers.append(rng.choice([
                b"Content-Length: +%d" % n, b"Content-Length: -%d" % n, b"Content-Length: %d, %d" % (n, n + 1),
                b"Content-Length: %d\r\nContent-Length: %d" % (n, n + 1), b"Content-Length: 99999999999999999999",
                b"Content-Length: 0x%x" % n, b"Content-Length: %d %d" % (n, n), b"Content-Length : %d" % n,
                b"Content_Length: %d" % n, b"Content-Length: %d\r\n Content-Length: 0" % n,
                b"Content-Length: %d\x00" % n, b"Content-Length: \x0b%d" % n, b"Content-Length: %d," % n,
                b"Content-Length: ,%d" % n, b"Content-Length: %d\rX: y" % n]))
            cls = BAD
        if minor == 0 and rng.random() < 0.1:
            headers.append(b"Transfer-Encoding: chunked")
            cls = BAD
    elif body:
        body = b""
    if not framed and not any(h.lower().startswith((b"content-length", b"transfer-encoding")) for h in headers):
        body = framed = b""
    # other headers
    for _ in range(rng.randint(0, 3)):
        r = rng.random()
        if r < 0.3:
            headers.append(b"Expect: 100-continue")
        elif r < 0.5:
            headers.append(b"X-Odd: " + bytes([rng.choice([0x80, 0xff, 0xe9])]) + b"v")
            cls = worst(cls, EITHER)
        elif r < 0.6:
            headers.append(b"X-Long: " + b"a" * rng.choice([100, 4000, 20000]))
            cls = worst(cls, EITHER)
        elif r < 0.75:
            headers.append(rng.choice([b"X\x00Y: 1", b"X Y: 1", b"X\x80: 1", b"X-V: a\x00b", b"X-V: a\x7fb",
                                       b"X:\x01", b"X-Y\t: 1", b": empty", b"X-V: a\rb"]))
            cls = BAD
        else:
            headers.append(rng.choice([b"Connection: keep-alive", b"Accept: */*", b"X-A: 1"]))
    rng.shuffle(headers)
    r = rng.random()
    if minor == 0 and r < 0.8:
        headers.append(rng.choice([b"Connection: keep-alive", b"Proxy-Connection: keep-alive"]))
    elif minor == 1 and r < 0.05:
        headers.append(rng.choice([b"Connection: close", b"Connection: keep-alive, close"]))
    eol = b"\r\n"
    if rng.random() < 0.02:
        eol = rng.choice([b"\n", b"\r"])
        cls = BAD
    line = "%s %s HTTP/1.%d" % (method, target, minor)
    r = rng.random()
    if r < 0.04 and cls != BAD:
        q = path.split("?")[1]
        line = "%s %s HTTP/1.%d" % (method, rng.choice(["HTTP://", "http://", "Http://"]) + host.upper() + "?" + q, minor)
        path = "/?" + q
        cls = worst(cls, EITHER)
    elif r < 0.08:
        line = rng.choice(["%s  %s HTTP/1.%d", "%s %s  HTTP/1.%d", "%s %s HTTP/1.%d ", "%s\t%s HTTP/1.%d",
                           "%s %s http/1.%d", "%s %s HTTP/1.%d0", " %s %s HTTP/1.%d", "%s %s#f HTTP/1.%d",
                           "%s %s\x00 HTTP/1.%d", "%s %s\xff HTTP/1.%d"]) % (method, target, minor)
        cls = BAD
    head = line.encode("latin-1") + eol
    head += b"".join(h + eol for h in headers) + eol
    expect = {"method": method, "url": path, "host": host, "body": body.hex()}
    return head + framed, cls, expect


# ---- running a request case ------------------------------------------------------------------------


def dechunk(data):
    """(body, bytes used) of a complete chunked body at the start of data
    (the proxy's own output: strict), or (None, 0)."""
    body = b""
    i = 0
    while True:
        e = data.find(b"\r\n", i)
        if e < 0:
            return None, 0
        n = int(data[i:e].split(b";")[0], 16)
        i = e + 2
        if n == 0:
            while True:
                e = data.find(b"\r\n", i)
                if e < 0:
                    return None, 0
                if e == i:
                    return body, e + 2
                i = e + 2
        if len(data) < i + n + 2:
            return None, 0
        body += data[i:i + n]
        i += n + 2


def read_responses(sock, want, idle=1.5, total=12.0, buf=b""):
    """Reads responses until `want` final ones, EOF or `idle` s of silence.
    Returns (responses [(status, headers, body)], closed, rest)."""
    resps = []
    closed = False
    deadline = time.monotonic() + total
    last = time.monotonic()
    sock.setblocking(False)
    while len(resps) < want and time.monotonic() < deadline:
        # parse what we have
        while True:
            m = re.match(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n", buf)
            if not m:
                break
            status = int(m.group(1))
            hdrs = {}
            for line in m.group(2).split(b"\r\n"):
                if line:
                    k, _, v = line.partition(b":")
                    hdrs.setdefault(k.strip().lower().decode("latin-1"), []).append(v.strip().decode("latin-1"))
            rest = buf[m.end():]
            if 100 <= status < 200:
                buf = rest
                continue
            cl = hdrs.get("content-length")
            if status in (204, 304):
                resps.append((status, hdrs, b""))
                buf = rest
                continue
            if "chunked" in ",".join(hdrs.get("transfer-encoding", [])).lower():
                body, used = dechunk(rest)
                if body is None:
                    break
                resps.append((status, hdrs, body))
                buf = rest[used:]
                continue
            if cl is None:
                if closed:
                    resps.append((status, hdrs, rest))
                    buf = b""
                break
            n = int(cl[0])
            if len(rest) < n:
                break
            resps.append((status, hdrs, rest[:n]))
            buf = rest[n:]
        if len(resps) >= want or closed:
            break
        rl, _, _ = select.select([sock], [], [], 0.2)
        if rl:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, BlockingIOError):
                chunk = b""
            if not chunk:
                closed = True
                continue
            buf += chunk
            last = time.monotonic()
        elif time.monotonic() - last > idle:
            break
    if not closed and (len(resps) < want or "x-echo" not in resps[-1][1]):
        # is it closed now? (a refusal must end the connection)
        end = time.monotonic() + 0.6
        while time.monotonic() < end:
            rl, _, _ = select.select([sock], [], [], 0.1)
            if rl:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    closed = True
                    break
                buf += chunk
    return resps, closed, buf


def read_head_then(sock):
    """A HEAD response then a GET one, or what came before the end."""
    sock.settimeout(5)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = sock.recv(65536)
            if not d:
                return []
            buf += d
    except OSError:
        return []
    head, _, rest = buf.partition(b"\r\n\r\n")
    st = int(head[9:12])
    if st < 200:
        return [(st, {}, b"")]  # (not expected here)
    rs, _, _ = read_responses(sock, 1, idle=3, buf=rest)
    return [(st, {}, b"")] + rs


STATS = {}


class Failure(Exception):
    pass


def run_request_case(px_addr, origin, name, case, rng):
    port = origin.port
    n = rng.choice([1, 1, 2, 2, 3, 4])
    reqs = [gen_request(rng, port, i, case) for i in range(n)]
    if rng.random() < 0.15:
        # a request the policy refuses, as the next one on the connection
        reqs.append((rng.choice([
            b"GET http://denied.test:%d/smuggled HTTP/1.1\r\nHost: denied.test:%d\r\n\r\n" % (port, port),
            b"GET /smuggled HTTP/1.1\r\nHost: denied.test:%d\r\n\r\n" % port,
            b"GET http://other.test:%d/smuggled HTTP/1.1\r\n\r\n" % port,
            b"GET http://allowed.test:%d/smuggled HTTP/1.1\r\nHost: denied.test:%d\r\n\r\n" % (port, port)]),
            BAD, None))
    if rng.random() < 0.1:
        i = rng.randrange(len(reqs))
        reqs[i] = (b"\r\n" * rng.randint(1, 2) + reqs[i][0],) + reqs[i][1:]
    data = [r[0] for r in reqs]
    host, p = px_addr.rsplit(":", 1)
    s = socket.create_connection((host, int(p)), timeout=10)
    try:
        r = rng.random()
        if r < 0.4:
            s.sendall(b"".join(data))
        elif r < 0.6:
            # in pieces cut anywhere, each its own segment
            whole = b"".join(data)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            i = 0
            while i < len(whole):
                k = rng.choice([1, 2, 3, 7, 100, 600, 5000])
                s.sendall(whole[i:i + k])
                i += k
                time.sleep(0.001)
        else:
            for d in data:
                s.sendall(d)
                time.sleep(0.002)
        # the answers that can come: up to the first malformed one
        want = 0
        for _, cls, _ in reqs:
            want += 1
            if cls == BAD:
                break
        resps, closed, rest = read_responses(s, want)
    finally:
        s.close()
    problems = []
    echoes = []
    for i, (status, hdrs, body) in enumerate(resps):
        raw, cls, expect = reqs[i]
        if "x-echo" in hdrs:
            got = json.loads(body)
            echoes.append(got)
            if cls == BAD:
                problems.append("request %d is malformed but was forwarded: %r" % (i, raw[:400]))
            for k in ("method", "url", "body"):
                if got.get(k) != expect[k]:
                    problems.append("request %d: origin saw %s=%r, client sent %r: %r" % (i, k, got.get(k), expect[k], raw[:400]))
            if (got.get("host") or "").lower() != expect["host"]:
                problems.append("request %d: origin saw Host %r: %r" % (i, got.get("host"), raw[:400]))
            if hdrs.get("connection", [""])[0].lower() == "close":
                break
        else:
            if cls == EITHER and os.environ.get("FRAMING_SHOW_REFUSED"):
                print("refused %d %r: %r" % (status, body[:80], raw[:300]))
            if cls == OK and status not in (431,):
                problems.append("request %d: well-formed request got %d %r: %r" % (i, status, body[:200], raw[:400]))
            if status < 400:
                problems.append("request %d: refused with status %d" % (i, status))
            # a refusal ends the connection
            if not closed and i == len(resps) - 1:
                problems.append("request %d: connection stays open after %d: %r" % (i, status, raw[:400]))
            break
    # the last wanted request had no answer at all
    if len(resps) < want:
        i = len(resps)
        if reqs[i][1] == OK and not (resps and resps[-1][1].get("connection", [""])[0].lower() == "close"):
            problems.append("request %d: no answer (closed=%s, rest=%r): %r" % (i, closed, rest[:200], reqs[i][0][:400]))
        elif not closed:
            problems.append("request %d: neither answered nor closed: %r" % (i, reqs[i][0][:400]))
    # what the origin parsed for this case, in order
    time.sleep(0.05)
    with origin.lock:
        seen = [r for r in origin.log if "case=%d&" % case in r.get("url", "") or "smuggled" in r.get("url", "")
                or "denied" in str(r.get("host", ""))]
        origin.log[:] = [r for r in origin.log if r not in seen and "error" not in r]
    if seen != echoes:
        problems.append("origin %s parsed %r, the client got answers for %r" % (name, seen, echoes))
    for i, (_, cls, _) in enumerate(reqs):
        outcome = "echoed" if i < len(echoes) else ("refused" if i < len(resps) else "unanswered")
        STATS[(cls, outcome)] = STATS.get((cls, outcome), 0) + 1
    if problems:
        raise Failure("\n  ".join(["case %d (%s):" % (case, name)] + problems))


# ---- responses direction ------------------------------------------------------------------------------

FAKE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Fake: 1\r\n\r\nEVIL!"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSECOND"


def gen_response(rng):
    """(bytes of response 1, the body a client must read or None when any
    answer but a desync will do, whether the origin closes after it)."""
    body = FAKE
    n = len(body)
    ch = b"%x\r\n%s\r\n0\r\n\r\n" % (n, body)
    choices = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n + body, body),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + ch, body),
        (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: %d\r\n\r\n" % (n, n) + body, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: 0\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: %d\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: %d, 0\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" + ch, None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n" % len(ch) + ch, None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\n%s\r\n0\r\n\r\n" % (
            rng.choice([b"ffffffffffffffffff", b"-5", b"0x%x" % n, b"%x zz" % n, b"1" + b"0" * 8]), body), None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + ch, None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n" + body, None),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n + body, body),
        (b"HTTP/1.1 102 Processing\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n + body,
         None),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: %d\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: %d\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n" + ch, None),
        (b"HTTP/1.1 200 OK\r\n\r\n" + body, body, True),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n" + body, body, True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" + body, body, True),
        (b"HTTP/1.1 200 OK\r\nContent-Length : %d\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (n + 10) + body, None, True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: +%d\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n chunked\r\n\r\n" + ch, None),
        (b"HTTP/1.1 200 OK\nContent-Length: %d\n\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (n - 3) + body, None),
        (b"HTTP/1.1 200\r\nContent-Length: %d\r\n\r\n" % n + body, body),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: %d\r\n\r\n" % n + body, body),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\nX: y\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
         % n + body, body),
        (b"HTTP/1.1 2000 OK\r\nContent-Length: %d\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\tfolded\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: %d\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0%d\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: content-length\r\n\r\n" % n + body, None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n\r\n" + ch, None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x;a=b\r\n%s\r\n0\r\nX-T: 1\r\n\r\n" % (n, body), None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s0\r\n\r\n" % (n, body), None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n" + ch, None),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n" + body, None),
        (b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n" + ch, None),
    ]
    if rng.random() < 0.15:
        # a clean answer, then (a moment later) a whole response nobody asked for
        return (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", FAKE), b"ok", False
    c = rng.choice(choices)
    return c[0], c[1], len(c) > 2


class RawResponder(pt.TcpOrigin):
    """Answers the first request of each connection with `self.script`, the
    next ones with SECOND."""

    def __init__(self):
        self.script = b""
        self.close = False
        super().__init__()

    def serve(self, c):
        c.settimeout(8)
        buf = b""
        k = 0
        try:
            while True:
                got = pt.read_head(c, buf)
                if got is None:
                    return
                head, buf = got
                first = k == 0 and b"/first" in head.split(b"\r\n")[0]
                if first and isinstance(self.script, tuple):
                    c.sendall(self.script[0])
                    time.sleep(0.005)
                    c.sendall(self.script[1])
                else:
                    c.sendall(self.script if first else SECOND)
                k += 1
                if first and self.close:
                    return
        except OSError:
            pass
        finally:
            c.close()


def run_response_case(px_addr, node, responder, case, rng):
    resp, must, close = gen_response(rng)
    responder.script = resp
    responder.close = close
    head_first = rng.random() < 0.2
    u1 = "http://allowed.test:%d/first/%d" % (responder.port, case)
    u2 = "http://allowed.test:%d/second/%d" % (responder.port, case)
    problems = []
    results = {}
    # Python http.client
    host, p = px_addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(p), timeout=6)
    py = []
    for i, (m, u) in enumerate([("HEAD" if head_first else "GET", u1), ("GET", u2)]):
        if i:
            time.sleep(0.1)  # what the origin sends meanwhile reaches an idle connection
        try:
            conn.request(m, u)
            r = conn.getresponse()
            py.append({"status": r.status, "body": r.read().hex()})
        except Exception as e:
            py.append({"error": type(e).__name__})
            conn.close()
    conn.close()
    results["python"] = py
    # a raw client pipelining both requests
    s = socket.create_connection((host, int(p)), timeout=10)
    try:
        # some as HTTP/1.0 with keep-alive (a chunked answer reaches it
        # dechunked, delimited by the close)
        v = "1.0\r\nConnection: keep-alive" if rng.random() < 0.3 else "1.1"
        s.sendall(("%s %s HTTP/%s\r\nHost: allowed.test:%d\r\n\r\nGET %s HTTP/%s\r\nHost: allowed.test:%d\r\n\r\n" % (
            "HEAD" if head_first else "GET", u1, v, responder.port, u2, v, responder.port)).encode())
        if head_first:
            # a HEAD answer has no body whatever its framing says
            rs = read_head_then(s)
        else:
            rs, closed, _ = read_responses(s, 2, idle=3)
        results["pipelined"] = [{"status": st, "body": b.hex()} for st, _, b in rs] + [
            {"error": "closed"}] * (2 - len(rs))
    finally:
        s.close()
    if node:
        out = subprocess.run([node, ORIGIN_JS, "client", p, u1, u2, "HEAD" if head_first else "GET"],
                             stdout=subprocess.PIPE, timeout=20)
        results["node"] = json.loads(out.stdout)["results"]
    if isinstance(resp, tuple):
        # Pipelined, the next request may have gone out before the
        # unsolicited response came: no intermediary can tell it from the
        # answer (each client waited before its second request).
        del results["pipelined"]
    for who, rs in results.items():
        if len(rs) != 2:
            problems.append("%s: %d results" % (who, len(rs)))
            continue
        r1, r2 = rs
        if "status" in r2 and not (r2["status"] == 200 and bytes.fromhex(r2["body"]) == b"SECOND"):
            problems.append("%s: second response read as %r" % (who, r2))
        if "status" in r1 and r1["status"] == 200 and not head_first:
            b1 = bytes.fromhex(r1["body"])
            if must is not None and b1 != must:
                problems.append("%s: first response body %r, origin sent %r" % (who, b1, must))
            if b"SECOND" in b1:
                problems.append("%s: first response holds the second: %r" % (who, b1))
        if head_first and "status" in r1 and r1.get("body"):
            problems.append("%s: HEAD response with a body %r" % (who, r1))
        if must is not None and not head_first and r1.get("status") != 200:
            problems.append("%s: a clean response was not passed on: %r" % (who, r1))
    if problems:
        raise Failure("\n  ".join(["response case %d: %r (HEAD first: %s)" % (case, resp, head_first)] + problems))


# ---- driver ----------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--only", choices=["requests", "responses"])
    ap.add_argument("--keep-going", action="store_true")
    a = ap.parse_args(argv)
    return run(a.seed, a.count, a.only, a.keep_going)


def setup_certs():
    if pt.CERTS is None:
        pt.CERTS = pt.fresh_dir("certs")
        subprocess.run([pt.TESTCERT, pt.CERTS] + pt.NAMES, check=True)


def run(seed, count, only=None, keep_going=False, out=sys.stdout):
    setup_certs()
    node = shutil.which("node")
    if not node:
        print("framing_differential: node is not installed: node-based origin and client skipped", file=out)
    rng = random.Random(seed)
    failures = []
    origins = [("python", PyOrigin())]
    if node:
        origins.append(("node", NodeOrigin(node)))
    responder = RawResponder()
    n_req = n_resp = 0
    try:
        with pt.Proxy() as px:
            addr = px.addrs["http"]
            for case in range(count):
                try:
                    if only != "responses":
                        for name, o in origins:
                            run_request_case(addr, o, name, case, random.Random("%d/%d/%s" % (seed, case, name)))
                            n_req += 1
                    if only != "requests":
                        run_response_case(addr, node, responder, case, random.Random("%d/%d/r" % (seed, case)))
                        n_resp += 1
                except Failure as e:
                    failures.append(str(e))
                    print(str(e), file=out)
                    if not keep_going:
                        break
                if px.proc.poll() is not None:
                    failures.append("proxy exited with %s" % px.proc.returncode)
                    break
    finally:
        for _, o in origins:
            o.stop()
        responder.sock.close()
    print("framing_differential: request outcomes by class: %s" % ", ".join(
        "%s/%s %d" % (k[0], k[1], v) for k, v in sorted(STATS.items())), file=out)
    print("framing_differential: seed %d: %d request cases, %d response cases, %d failures" % (
        seed, n_req, n_resp, len(failures)), file=out)
    return failures


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
