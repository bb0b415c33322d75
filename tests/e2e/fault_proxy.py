"""An HTTP proxy in front of moto that makes one AWS API misbehave, chosen by the request's
`X-Amz-Target` (`AWSEvents.PutEvents`, `DynamoDB_20120810.PutItem`, or a prefix such as
`DynamoDB_20120810.`): "refuse" answers 503 as an overloaded service does, "hang" never answers.
Everything else is passed to moto unchanged. It counts the calls it saw, per target."""

import collections
import http.client
import http.server
import threading
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


class FaultProxy:
    def __init__(self, upstream):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.faults = {}
        self.seen = collections.Counter()
        self.lock = threading.Lock()
        self.closed = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                fault = proxy.fault_for(target)
                if fault == "hang":
                    proxy.closed.wait(30)
                    self.close_connection = True
                    return
                if fault == "refuse":
                    refused = b'{"__type":"ServiceUnavailableException","message":"Service unavailable"}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(refused)))
                    self.end_headers()
                    self.wfile.write(refused)
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fault_for(self, target):
        with self.lock:
            self.seen[target] += 1
            return next((f for prefix, f in self.faults.items() if target.startswith(prefix)), None)

    def set(self, target, fault):
        """`fault` ("refuse", "hang" or None) for calls whose X-Amz-Target starts with `target`."""
        with self.lock:
            if fault is None:
                self.faults.pop(target, None)
            else:
                self.faults[target] = fault

    def count(self, target):
        with self.lock:
            return sum(n for t, n in self.seen.items() if t.startswith(target))

    def close(self):
        self.closed.set()
        self.server.shutdown()
