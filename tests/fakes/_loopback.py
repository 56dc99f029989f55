"""The lifecycle every fake server shares: serve on 127.0.0.1 from a daemon thread.

A fake subclasses :class:`LoopbackFake`, sets ``handler`` (its request handler class) and
``name``, and gets ``start``/``close``, the ``with`` protocol and ``url``. The server is a
``ThreadingHTTPServer`` whose ``fake`` attribute points back at the fake (handlers route
through it), with daemon threads, and quiet about clients that hang up (fault tests do).
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LoopbackServer", "LoopbackFake"]


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out or hung up is expected in fault tests: stay quiet
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackFake:
    """Base of the fakes: ``start()`` binds a free port on 127.0.0.1."""

    handler: type[BaseHTTPRequestHandler]
    name = "fake"
    _server: LoopbackServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> Any:
        """Bind ``127.0.0.1`` on a free port and serve from a daemon thread."""
        if self._server is None:
            self._server = LoopbackServer(("127.0.0.1", 0), self.handler)
            self._server.fake = self
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not started; call start() or use it in a "
                               "with block")
        return f"http://127.0.0.1:{self._server.server_address[1]}"
