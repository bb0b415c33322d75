#!/usr/bin/env python3
"""`make dev`'s front door: the only port a web page can reach.

`cargo lambda watch` serves the API's routes, and on the same port its Lambda Invoke API
(`/2015-03-31/functions/{name}/invocations`, whose body *is* the event: a forged Host header, a
forged `requestContext.authorizer`) and runtime API. So tools/dev.sh runs the watch on a port
browsers refuse to connect to (a Fetch-standard "bad port", e.g. 6669), and this front on the
public port:

- forwards the API's routes (those `Cargo.toml`'s `[workspace.metadata.lambda.watch.router]`
  names, and `/lambda-url/<function>/`) as they came (method, path, `Host`, `Origin`, body), so
  the functions' `ALLOWED_HOSTS` / `ALLOWED_ORIGINS` checks see the real request; no other path
  (the emulator's runtime API under `/.rt/`, say) is forwarded;
- forwards the Invoke API only for `cargo lambda invoke` as it runs on this machine: a loopback
  peer (the socket's address), a loopback `Host`, no `Origin` and no `Sec-Fetch-*` header (every
  browser request carries them); anything else under a `/YYYY-MM-DD/` path (the runtime,
  extensions and telemetry APIs) is 403;
- stamps what it forwards with this run's secret (`DEV_REQUEST_SECRET`, a header the functions
  require when it is set), so an event written by anyone who reaches the watch's own port
  without this front mints nothing.

Standard library only: `make dev` needs nothing beyond cargo-lambda.
"""

import argparse
import http.client
import tomllib
import http.server
import ipaddress
import json
import os
import re
import socket
import sys
import threading
from pathlib import Path

SECRET_HEADER = "x-dev-request-secret"
# Lambda's own limit on an invocation's payload.
MAX_BODY = 6 * 1024 * 1024
AWS_API = re.compile(r"^/\d{4}-\d{2}-\d{2}(/|$)")
INVOKE = re.compile(r"^/2015-03-31/functions/([A-Za-z0-9_.:-]+)/invocations/?$")
LAMBDA_URL = re.compile(r"^/lambda-url/([^/?]+)")


def route_patterns(cargo_toml):
    """The API's routes, as `cargo lambda watch` routes them: `{name}` matches one segment."""
    router = tomllib.loads(cargo_toml.read_text())["workspace"]["metadata"]["lambda"]["watch"]["router"]
    return [re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$") for path in router]
LOOPBACK_HOST = re.compile(r"^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$", re.IGNORECASE)
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def loopback(address):
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def refuse(handler, status, code, message):
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def stamp_event(body, secret):
    """The Invoke API's event with this run's secret among its headers (any given one replaced)."""
    try:
        event = json.loads(body)
    except ValueError:
        return body
    if not isinstance(event, dict):
        return body
    headers = event.get("headers")
    headers = {k: v for k, v in headers.items() if k.lower() != SECRET_HEADER} if isinstance(headers, dict) else {}
    headers[SECRET_HEADER] = secret
    event["headers"] = headers
    return json.dumps(event).encode()


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream_port = 0
    secret = ""
    # The product's functions: the workspace's other binaries (the stand-in, bench probes) are
    # neither listed nor invoked through make dev.
    functions = frozenset()
    routes = []

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def handle_any(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return refuse(self, 411, "length_required", "Send the body with a Content-Length.")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return refuse(self, 400, "malformed_request", "Content-Length is not a number.")
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            return refuse(self, 413, "payload_too_large", "The body is larger than Lambda takes (6 MiB).")
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        named = INVOKE.match(path) or LAMBDA_URL.match(path)
        if named and named.group(1) not in self.functions:
            return refuse(self, 404, "not_found", f"No function {named.group(1)!r} here; make dev serves "
                          f"{', '.join(sorted(self.functions))}.")
        if not self.path.startswith("/") or not (AWS_API.match(path) or LAMBDA_URL.match(path)
                                                 or any(r.match(path) for r in self.routes)):
            return refuse(self, 404, "not_found", "Not one of the API's routes (see docs/http-api.md).")
        if AWS_API.match(path):
            if not self.from_cargo_lambda_invoke(path):
                return refuse(self, 403, "forbidden",
                              "make dev serves the Lambda Invoke API only to `cargo lambda invoke` on this machine "
                              "(a loopback Host, no Origin); its runtime API is not served on this port.")
            body = stamp_event(body, self.secret)
        headers = [(k, v) for k, v in self.headers.items()
                   if k.lower() not in HOP_BY_HOP and k.lower() not in (SECRET_HEADER, "content-length")]
        headers.append((SECRET_HEADER, self.secret))
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=900)
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            answer = resp.read()
        except (OSError, http.client.HTTPException) as err:
            return refuse(self, 502, "dev_server_unavailable", f"The Lambda emulator did not answer: {err}.")
        self.send_response(resp.status, resp.reason)
        for name, value in resp.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)
        conn.close()

    def from_cargo_lambda_invoke(self, path):
        """A POST to the Invoke API from this machine's `cargo lambda invoke`, not from a page."""
        browser = self.headers.get("Origin") is not None or any(
            k.lower().startswith("sec-fetch-") for k in self.headers.keys())
        return (self.command == "POST" and INVOKE.match(path) is not None and loopback(self.client_address[0])
                and LOOPBACK_HOST.match(self.headers.get("Host", "")) is not None and not browser)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Server6(Server):
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="the public port (127.0.0.1 and [::1])")
    parser.add_argument("--upstream-port", type=int, required=True, help="cargo lambda watch's port on 127.0.0.1")
    parser.add_argument("--functions", required=True, help="the product's functions, comma-separated")
    parser.add_argument("--lan", help="also listen on this LAN address (make dev LAN=1); its peers get the "
                                      "API's routes only, never the Invoke API")
    args = parser.parse_args()
    secret = os.environ.get("DEV_REQUEST_SECRET", "")
    if len(secret) < 32:
        sys.exit("dev_front.py: DEV_REQUEST_SECRET (32 characters or more) must be set")
    Front.upstream_port, Front.secret = args.upstream_port, secret
    Front.functions = frozenset(f for f in args.functions.split(",") if f)
    Front.routes = route_patterns(Path(__file__).resolve().parents[1] / "Cargo.toml")
    servers = [Server(("127.0.0.1", args.port), Front)]
    try:
        servers.append(Server6(("::1", args.port), Front))
    except OSError as err:
        # No IPv6 loopback here: `cargo lambda invoke` then needs --invoke-address 127.0.0.1.
        print(f"make dev: not listening on [::1]:{args.port} ({err})", file=sys.stderr)
    if args.lan:
        servers.append(Server((args.lan, args.port), Front))
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
