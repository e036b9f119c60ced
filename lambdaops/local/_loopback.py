"""The HTTP/1.1 server the local Runtime API and the OTLP receiver share, on loopback.

Keep-alive clients (awslambdaric, OTLP exporters) hold their connections open, so the
server tracks them and hangs up on them when it stops, or their handler threads would
outlive it; and it binds without the reverse DNS lookup ``HTTPServer`` does, which can
stall a start for seconds on hosts with slow resolvers.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

_log = logging.getLogger("lambdaops.local")


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections and can hang up on them."""

    daemon_threads = True
    #: What its connections are, for the debug log.
    what = "loopback"

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # not HTTPServer's: no getfqdn
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def serve_in_thread(self, name: str, poll_interval: float) -> threading.Thread:
        """Serve on a daemon thread (started), so a stop never waits on a client."""
        thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": poll_interval},
            name=name,
            daemon=True,
        )
        thread.start()
        return thread

    def close_connections(self) -> None:
        """Unblock handler threads waiting on keep-alive sockets."""
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A killed client resets its connection: normal here, not worth a traceback.
        _log.debug("%s connection error from %s", self.what, client_address, exc_info=True)


class LoopbackHandler(BaseHTTPRequestHandler):
    """A handler whose connection its :class:`LoopbackServer` tracks while it is open.

    Every reply must carry a Content-Length, so keep-alive stays in step.
    """

    protocol_version = "HTTP/1.1"
    server_version = "lambdaops-local"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def setup(self) -> None:
        super().setup()
        server = cast(LoopbackServer, self.server)
        with server.connections_lock:
            server.connections.add(self.connection)

    def finish(self) -> None:
        server = cast(LoopbackServer, self.server)
        with server.connections_lock:
            server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug(cast(LoopbackServer, self.server).what + ": " + format, *args)
