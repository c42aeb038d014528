"""The loopback HTTP server both cloud stand-ins run in (standin_vertex, standin_twelvelabs)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

S = TypeVar("S")


class StandInServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that gave up on a deliberately slow answer is what the test asked for; the
        # stand-in writing its late answer to a closed socket is not an error worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextmanager
def standin_server(make_standin: Callable[[str], S],
                   make_handler: Callable[[S], type[BaseHTTPRequestHandler]]) -> Iterator[S]:
    """Serve `make_handler(standin)` on a free loopback port; the stand-in gets its URL."""
    server = StandInServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    standin = make_standin(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = make_handler(standin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
