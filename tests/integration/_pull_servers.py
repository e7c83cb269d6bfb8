#!/usr/bin/env python3
"""Test servers for tests/integration/50_pull.sh (only loopback, only the
standard library plus the openssl command).

  token   a registry token server (Docker's token auth): HTTPS, basic auth
          against a users list, JWTs signed RS256 with `openssl dgst` and an
          x5c header, which docker-registry accepts with the signing
          certificate as its rootcertbundle. Anonymous clients get "pull"
          on library/*; known users get everything they ask for.
  proxy   a TLS-terminating proxy in front of a registry: logs each request
          line and its Range header, and can cut one connection after N bytes
          of a response (once), stall one (stop sending, keep it open: a read
          timeout), flip one byte of a response body (once), or slow every
          response down to --slow bytes per second.
          It presents its own certificate (wrong name, expired... tests).
  front   an HTTPS reverse proxy in front of a registry that answers every
          blob GET with a 307 to a "CDN" on another host name and port (as
          Docker Hub and S3-backed registries do); the CDN serves the blob
          from the registry's storage folder with chunked encoding and logs
          whether an Authorization header reached it (it must not).
          With --flaky, the first manifest GET answers 503 (retried).

Each server writes its port into --port-file once listening, and runs until
killed. Logs go to --log (one line per event).
"""
import argparse
import base64
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse


def log(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(args, sub, access):
    with open(args.sign_cert) as f:
        pem = f.read()
    der = ssl.PEM_cert_to_DER_cert(pem)
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    now = int(time.time())
    claims = {"iss": args.issuer, "sub": sub, "aud": args.service, "exp": now + args.ttl,
              "nbf": now - 60, "iat": now, "jti": b64url(os.urandom(12)), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.sign_key],
                         input=signing_input, capture_output=True, check=True).stdout
    return signing_input.decode() + "." + b64url(sig)


def token_handler(args):
    users = dict(u.split(":", 1) for u in args.users)

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(url.query)
            user = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                if users.get(u) != p:
                    log(args.log, "token 401 user=%s" % u)
                    return self.reply(401, {"details": "incorrect username or password"})
                user = u
            scopes = q.get("scope", [])
            log(args.log, "token user=%s service=%s scopes=%s account=%s" % (
                user, q.get("service", [""])[0], " ".join(scopes), q.get("account", [""])[0]))
            access = []
            for s in scopes:
                parts = s.split(":")
                if len(parts) != 3:
                    continue
                typ, name, actions = parts
                want = actions.split(",")
                if user is None:
                    want = [a for a in want if a == "pull" and name.startswith("library/")]
                if want:
                    access.append({"type": typ, "name": name, "actions": want})
            tok = make_jwt(args, user or "", access)
            self.reply(200, {"token": tok, "access_token": tok, "expires_in": args.ttl})
    return H


def serve_token(args):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), token_handler(args))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    write_port(args.port_file, srv.server_address[1])
    srv.serve_forever()


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(path + ".tmp", path)


class Once:
    def __init__(self):
        self.lock = threading.Lock()
        self.done = False

    def take(self):
        with self.lock:
            if self.done:
                return False
            self.done = True
            return True


def serve_proxy(args):
    host, port = args.upstream.rsplit(":", 1)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(args.cert, args.key)
    cctx = ssl.create_default_context(cafile=args.upstream_ca)
    cut, corrupt, stall = Once(), Once(), Once()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    write_port(args.port_file, ls.getsockname()[1])

    def up(cs, us, n):
        # client -> registry: log request lines and Range headers
        try:
            while True:
                d = cs.recv(65536)
                if not d:
                    break
                for line in d.split(b"\r\n"):
                    if line.startswith((b"GET ", b"HEAD ", b"POST ")) or line.lower().startswith(b"range:"):
                        log(args.log, "conn%d %s" % (n, line.decode(errors="replace")))
                us.sendall(d)
        except OSError:
            pass
        for s in (cs, us):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def down(cs, us, n):
        # registry -> client: count, maybe cut once, maybe flip a byte once
        total = 0
        try:
            while True:
                d = us.recv(65536)
                if not d:
                    break
                if args.corrupt and total <= args.corrupt < total + len(d) and corrupt.take():
                    i = args.corrupt - total
                    d = d[:i] + bytes([d[i] ^ 0x55]) + d[i + 1:]
                    log(args.log, "conn%d corrupted byte %d" % (n, args.corrupt))
                if args.cut and total + len(d) > args.cut and cut.take():
                    cs.sendall(d[:args.cut - total])
                    log(args.log, "conn%d cut after %d bytes" % (n, args.cut))
                    break
                if args.stall and total + len(d) > args.stall and stall.take():
                    cs.sendall(d[:args.stall - total])
                    log(args.log, "conn%d stalled after %d bytes" % (n, args.stall))
                    time.sleep(60)
                    break
                for i in range(0, len(d), 4096):
                    cs.sendall(d[i:i + 4096])
                    if args.slow:
                        time.sleep(4096 / args.slow)
                total += len(d)
        except OSError:
            pass
        for s in (cs, us):
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    n = 0
    while True:
        raw, _ = ls.accept()
        n += 1
        try:
            cs = sctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log(args.log, "conn%d handshake failed: %s" % (n, e))
            raw.close()
            continue
        log(args.log, "conn%d cipher %s %s" % (n, cs.cipher()[0], cs.version()))
        us = cctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
        threading.Thread(target=up, args=(cs, us, n), daemon=True).start()
        threading.Thread(target=down, args=(cs, us, n), daemon=True).start()


def serve_front(args):
    import http.client
    host, port = args.upstream.rsplit(":", 1)
    uctx = ssl.create_default_context(cafile=args.upstream_ca)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(args.cert, args.key)

    class Cdn(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            log(args.log, "cdn %s authorization=%s" % (
                self.path, "yes" if self.headers.get("Authorization") else "no"))
            hexd = self.path.split("?")[0].rsplit(":", 1)[-1]
            path = os.path.join(args.storage, "docker/registry/v2/blobs/sha256", hexd[:2], hexd, "data")
            try:
                data = open(path, "rb").read()
            except OSError:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 8191):
                c = data[i:i + 8191]
                self.wfile.write(b"%x;ext=1\r\n" % len(c) + c + b"\r\n")
            self.wfile.write(b"0\r\nX-Trailer: 1\r\n\r\n")

    cdn = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Cdn)
    cdn.socket = sctx.wrap_socket(cdn.socket, server_side=True)
    cdn_port = cdn.server_address[1]
    threading.Thread(target=cdn.serve_forever, daemon=True).start()

    flaky = Once()

    class Front(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            log(args.log, "front %s authorization=%s" % (
                self.path, "yes" if self.headers.get("Authorization") else "no"))
            if args.flaky and "/manifests/" in self.path and flaky.take():
                log(args.log, "front 503")
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if "/blobs/sha256:" in self.path:
                self.send_response(307)
                self.send_header("Location", "https://localhost:%d/cdn/%s?sig=x" % (
                    cdn_port, self.path.rsplit("/", 1)[-1]))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            c = http.client.HTTPSConnection(host, int(port), context=uctx)
            hdrs = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept")}
            c.request("GET", self.path, headers=hdrs)
            r = c.getresponse()
            body = r.read()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() in ("content-type", "docker-content-digest", "www-authenticate"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            c.close()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Front)
    srv.socket = sctx.wrap_socket(srv.socket, server_side=True)
    write_port(args.port_file, srv.server_address[1])
    srv.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["token", "proxy", "front"])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--sign-key")
    ap.add_argument("--sign-cert")
    ap.add_argument("--issuer", default="minirun-test-issuer")
    ap.add_argument("--service", default="minirun-test-registry")
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("--users", nargs="*", default=[])
    ap.add_argument("--upstream")
    ap.add_argument("--upstream-ca")
    ap.add_argument("--cut", type=int, default=0)
    ap.add_argument("--corrupt", type=int, default=0)
    ap.add_argument("--stall", type=int, default=0)
    ap.add_argument("--slow", type=int, default=0)
    ap.add_argument("--storage")
    ap.add_argument("--flaky", action="store_true")
    args = ap.parse_args()
    open(args.log, "a").close()
    if args.mode == "token":
        serve_token(args)
    elif args.mode == "front":
        serve_front(args)
    else:
        serve_proxy(args)


if __name__ == "__main__":
    sys.exit(main())
