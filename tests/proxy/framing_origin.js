// framing_origin.js - an origin on loopback for framing_differential.py,
// built on node's own HTTP/1.1 implementation (llhttp, strict mode).
//
// `node framing_origin.js server`: prints its port, then one JSON line per
// request it parsed ({method, url, host, version, body (hex)}) and
// answers each with the same JSON (X-Echo: 1).
//
// `node framing_origin.js client PROXY_PORT URL1 URL2 [HEAD]`: sends two
// requests through the proxy on one keep-alive connection, one after the
// other, and prints what node's client read for each as a JSON line
// ({status, body (hex)} or {error}).
"use strict";
const http = require("http");

function server() {
  const srv = http.createServer({ keepAliveTimeout: 5000, requestTimeout: 10000 }, (req, res) => {
    const parts = [];
    req.on("data", (d) => parts.push(d));
    req.on("end", () => {
      const rec = {
        method: req.method,
        url: req.url,
        host: req.headers.host === undefined ? null : req.headers.host,
        version: req.httpVersion,
        body: Buffer.concat(parts).toString("hex"),
      };
      const line = JSON.stringify(rec);
      process.stdout.write(line + "\n");
      res.writeHead(200, { "Content-Type": "application/json", "X-Echo": "1", "Content-Length": Buffer.byteLength(line) });
      res.end(line);
    });
  });
  srv.on("clientError", (err, sock) => {
    process.stdout.write(JSON.stringify({ error: String(err.code || err.message) }) + "\n");
    sock.destroy();
  });
  srv.listen(0, "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({ port: srv.address().port }) + "\n");
  });
}

function client(port, urls, method) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out = [];
  let sockets = new Set();
  const one = (i) => {
    if (i >= urls.length) {
      process.stdout.write(JSON.stringify({ results: out, sockets: sockets.size }) + "\n");
      agent.destroy();
      return;
    }
    const u = new URL(urls[i]);
    const req = http.request({ host: "127.0.0.1", port, path: urls[i], method: i === 0 ? method : "GET",
                               headers: { Host: u.host }, agent, timeout: 5000 });
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      out.push(r);
      setTimeout(() => one(i + 1), 100);
    };
    req.on("socket", (s) => sockets.add(s));
    req.on("response", (res) => {
      const parts = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => finish({ status: res.statusCode, body: Buffer.concat(parts).toString("hex") }));
      res.on("error", (e) => finish({ error: String(e.code || e.message) }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => finish({ error: String(e.code || e.message) }));
    req.end();
  };
  one(0);
}

if (process.argv[2] === "server") server();
else client(Number(process.argv[3]), process.argv.slice(4, 6), process.argv[6] || "GET");
