"""The moto server answering one request at a time, on HTTP/1.0 (a connection per request).

moto's own server is threaded, and its conditional writes are not atomic under concurrency:
two conditional updates of one item can both succeed. Served one request at a time, each
request is atomic as DynamoDB's are, while clients still interleave their requests freely, so
tests of optimistic locking under contention are exact against it.

Usage: python moto_serial.py HOST PORT
"""

import os
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    run_simple(
        host,
        port,
        DomainDispatcherApplication(create_backend_app),
        threaded=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
