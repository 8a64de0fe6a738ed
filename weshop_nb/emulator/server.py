"""Running the emulator: a threaded werkzeug server on loopback, in a background thread."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import Emulator

#: A request body up to this size is read before the application runs, so the connection
#: can take the next request whatever the application read of it; a larger one (or a
#: chunked one, or one that waits for "100 Continue") is served as werkzeug serves it,
#: and its connection closed after it.
_BODY_READ_FIRST = 64 * 1024 * 1024
#: Seconds a kept-alive connection may sit idle (or a request take to arrive) before it is closed.
_IDLE = 60.0


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler, quiet, and keeping connections alive as a real service does.

    Werkzeug's development server closes every connection after one reply, so each
    picture of a sweep would cost its client a new connection and the emulator a new
    thread. Here a reply with a known length keeps its connection for the next request,
    as HTTP/1.1 means. The CPU of each request is counted as it ends (``server.count``),
    not when its connection closes; ``server.connections`` holds the open ones, which
    :meth:`EmulatorServer.stop` closes: a stopped emulator answers nothing more.
    """

    server: Any  # the BaseWSGIServer, given count and connections by EmulatorServer
    timeout = _IDLE

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass  # no access log: in a notebook every request would print a line to stderr

    def log_error(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go as two writes: without this, the body may wait for the
        # client's delayed acknowledgement of the headers (40 ms on Linux).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            self.server.count()

    def run_wsgi(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if (
            self.close_connection
            or "Transfer-Encoding" in self.headers
            or "Expect" in self.headers
            or not length.isdigit()
            or int(length) > _BODY_READ_FIRST
        ):
            self.close_connection = True
            super().run_wsgi()  # which closes the connection after its reply
            return
        body = self.rfile.read(int(length)) if int(length) else b""
        if len(body) < int(length):  # the client went away mid-body
            self.close_connection = True
            return
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        reply: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            reply[:] = [status, headers]
            return self._no_write

        try:
            answer = self.server.app(environ, start_response)
            try:
                parts = list(answer)  # bytes, as WSGI's are (a picture's parts are not copied)
            finally:
                getattr(answer, "close", lambda: None)()
        except ConnectionError:  # the emulator dropped this connection on purpose (a fault)
            self.close_connection = True
            return
        status, headers = reply
        self._send(status, headers, parts)

    def _send(self, status: str, headers: list[tuple[str, str]], parts: list[bytes]) -> None:
        code = int(status.split(None, 1)[0])
        lines = [f"HTTP/1.1 {status}", f"Server: {self.version_string()}", f"Date: {self.date_time_string()}"]
        lines += [f"{name}: {value}" for name, value in headers]
        bodiless = code < 200 or code in (204, 304)
        if not bodiless and not any(name.lower() == "content-length" for name, _ in headers):
            lines.append(f"Content-Length: {sum(map(len, parts))}")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if self.command != "HEAD" and not bodiless:
            for part in parts:
                self.wfile.write(part)

    @staticmethod
    def _no_write(data: bytes) -> None:
        raise NotImplementedError("the emulator answers with an iterable, never WSGI's write()")


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
        self._server: BaseWSGIServer = make_server(host, port, self.emulator, threaded=True, request_handler=_Handler)
        self._server.connections = _Connections()  # type: ignore[attr-defined]
        self._server.count = self._count  # type: ignore[attr-defined]
        self._counted = threading.local()  # each serving thread's CPU when it was last counted
        serve_connection = self._server.process_request_thread

        def counted(request: Any, client_address: Any) -> None:
            self._counted.at = time.thread_time()
            try:
                serve_connection(request, client_address)
            finally:
                self._count()  # what followed its last request: closing the socket

        # The CPU of every connection served (``Emulator.count_serving``), as each of its
        # requests ends; the server's own thread counts what it spends accepting them (``_serve``).
        self._server.process_request_thread = counted  # type: ignore[attr-defined]
        self.host, self.port = host, self._server.server_port
        self.base_url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def _count(self) -> None:
        """Count this serving thread's CPU since it was last counted as the emulator's serving."""
        now = time.thread_time()
        self.emulator.count_serving(now - getattr(self._counted, "at", now))
        self._counted.at = now

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
        self._server.connections.close_all()  # type: ignore[attr-defined]
        self.emulator.close()

    def stats(self) -> dict[str, Any]:
        return self.emulator.stats()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Connections:
    """The sockets of the connections being served, so that stopping closes the kept-alive ones."""

    def __init__(self) -> None:
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def add(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)

    def discard(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def close_all(self) -> None:
        """Shut every open connection: a thread waiting for its next request sees it end."""
        with self._lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            with contextlib.suppress(OSError):  # closed meanwhile
                connection.shutdown(socket.SHUT_RDWR)


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
