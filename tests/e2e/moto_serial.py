"""moto_server, each request handled whole before the next: `python moto_serial.py HOST PORT`.

DynamoDB applies conditional writes to an item one at a time, which is what makes a conditional
UpdateItem a race-free counter. moto's own server handles requests on parallel threads without
that guarantee, so parallel conditional updates of one item can both pass there. This is the
same moto application (same backends, same request handler) behind one lock, so that a test of
concurrent callers measures the functions, not moto's threading. Connections are still
accepted in parallel."""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def one_at_a_time(environ, start_response):
    with lock:
        return list(app(environ, start_response))


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    run_simple(host, port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)
