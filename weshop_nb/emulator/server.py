"""Running the emulator: a threaded werkzeug server on loopback, in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import Emulator


class _QuietHandler(WSGIRequestHandler):
    """No access log: in a notebook every request would print a line to stderr."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_error(self, *args: Any) -> None:
        pass


class EmulatorServer:
    """A running emulator. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Attributes
    ----------
    base_url : str
        ``http://127.0.0.1:PORT``, to pass to ``WeShopClient(base_url=...)``.
    api_key : str
        The key the emulator accepts (the first one, when it was given several).
    emulator : Emulator
        The application, for its counters (``emulator.stats()``) and state.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | Sequence[str] = "demo-key", **options: Any
    ) -> None:
        self.api_key = api_key if isinstance(api_key, str) else api_key[0]
        self.emulator = Emulator(api_key, **options)
        self._server: BaseWSGIServer = make_server(
            host, port, self.emulator, threaded=True, request_handler=_QuietHandler
        )
        serve_connection = self._server.process_request_thread

        def counted(request: Any, client_address: Any) -> None:
            # The whole of a connection's thread: its request, and closing the socket after it.
            started = time.thread_time()
            try:
                serve_connection(request, client_address)
            finally:
                self.emulator.count_serving(time.thread_time() - started)

        # The CPU of every connection served (``Emulator.count_serving``); the server's own
        # thread counts what it spends accepting them (``_serve``).
        self._server.process_request_thread = counted  # type: ignore[attr-defined]
        self.host, self.port = host, self._server.server_port
        self.base_url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<EmulatorServer {self.base_url} {state}>"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> EmulatorServer:
        if not self.running:
            self._thread = threading.Thread(target=self._serve, name="weshop-emulator", daemon=True)
            self._thread.start()
        return self

    def _serve(self) -> None:
        """Accept connections until stopped, counting this thread's CPU as serving too
        (accepting a connection and starting its thread), as its handlers count theirs."""
        counted = time.thread_time()

        def count() -> None:  # called by serve_forever after every request and every poll
            nonlocal counted
            now = time.thread_time()
            self.emulator.count_serving(now - counted)
            counted = now

        self._server.service_actions = count  # type: ignore[method-assign]
        try:
            self._server.serve_forever(poll_interval=0.1)
        finally:
            count()

    def stop(self) -> None:
        """Stop serving, then remove what the emulator kept on disk."""
        self.emulator.callbacks.stop()
        if self.running:
            self._server.shutdown()
            self._thread.join(timeout=5)  # type: ignore[union-attr]
        self._server.server_close()
        self.emulator.close()

    def stats(self) -> dict[str, Any]:
        return self.emulator.stats()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    *, port: int = 0, api_key: str | Sequence[str] = "demo-key", host: str = "127.0.0.1", **options: Any
) -> EmulatorServer:
    """Start an emulator in a background thread; returns the running :class:`EmulatorServer`.

    ``port=0`` picks a free port; several keys make several accounts. Options are those
    of :class:`Emulator` (``latency``, ``failure_rate``, ``faults``, ``fault_endpoints``,
    ``seed``, ``slow_delay``, ``catalogue``).

    Examples
    --------
    >>> from weshop_nb import emulator, WeShopClient
    >>> with emulator.serve(latency=0.5) as emu:
    ...     client = WeShopClient(api_key=emu.api_key, base_url=emu.base_url)
    """
    return EmulatorServer(host=host, port=port, api_key=api_key, **options).start()
