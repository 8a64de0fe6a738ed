"""The emulator's WSGI application: the service's paths, envelope and refusals.

Envelope quirks are kept on purpose, as the reference shows them: create and execute
answer ``code: 0`` with ``message``; query, delete, info and upload answer ``code: "0"``
with ``msg``. Refusals carry ``success: false``, a numeric ``code`` and a ``msg`` that
says what to fix. No bad request ever gets a 5xx: bodies are read within limits
(:mod:`.bodies`), and an exception nobody foresaw is still answered in the envelope.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import statistics
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..contract import is_url
from . import agent_info, agent_pictures, bodies, pictures, runs_api
from . import catalogue as default_catalogue
from ._spliced_png import PngParts
from .callbacks import Callbacks
from .faults import BEFORE_WORK, Faults, parse_faults
from .params import Refusal, check_agent, check_execution_params, check_init_params
from .state import Store
from .uploads import Uploads, check_pixels

_API = "/openapi/v1"
# (path, endpoint, method); werkzeug Rules belong to one Map, so each emulator builds its own.
_ROUTES = [
    (f"{_API}/asset/upload/image", "upload", "POST"),
    (f"{_API}/agent/task/create", "create", "POST"),
    (f"{_API}/agent/task/execute", "execute", "POST"),
    (f"{_API}/agent/task/query", "query", "POST"),
    (f"{_API}/agent/task/delete", "delete", "POST"),
    (f"{_API}/agent/info", "info", "GET"),
    ("/files/uploads/<name>", "upload_file", "GET"),
    ("/files/results/<execution_id>-<int:slot>.png", "result_file", "GET"),
    ("/files/catalogue/<kind>-<int:entry_id>.png", "catalogue_file", "GET"),
    ("/_emulator/stats", "stats", "GET"),
    ("/", "home", "GET"),
]
_log = logging.getLogger(__name__)


class _ConnectionDropped(ConnectionError):
    """Raised after the socket is reset, so the server writes nothing more."""


def _envelope(data: Any = None, *, legacy: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = (
        {"success": True, "code": 0, "message": "success"}
        if legacy
        else {
            "success": True,
            "code": "0",
            "msg": "success",
        }
    )
    if data is not None:
        body["data"] = data
    return body


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=dict(headers or {}), mimetype="application/json")


def _refusal(message: str, status: int, code: int) -> Response:
    return _json({"success": False, "code": code, "msg": message}, status)


class Emulator:
    """An offline stand-in for the WeShop AI OpenAPI (a WSGI application).

    Parameters
    ----------
    api_key : str or iterable of str
        The keys accepted; each is its own account (tasks are not shared).
    latency : float or (min, max)
        Seconds an execution takes from acceptance to its final status.
    failure_rate : float
        Share of executions that end ``Failed``. A prompt containing ``#fail`` always fails.
    faults : mapping or "kind:rate,..."
        Injected faults, see :mod:`weshop_nb.emulator.faults`.
    seed : int, optional
        Makes ids, latencies, failures and faults repeatable.
    slow_delay : float
        Seconds a ``slow`` fault holds the reply.
    fault_endpoints : iterable of str, optional
        Limit faults to these endpoints (``upload``, ``create``, ``execute``, ``query``,
        ``delete``, ``info``, and the runs API's ``run_upload``, ``run_start``, ``run_poll``,
        ``run_estimate``); default all of them.
    catalogue : mapping, optional
        ``{"locations": [...], "fashionModels": [...]}`` to replace the built-in one.
    """

    def __init__(
        self,
        api_key: str | Iterable[str] = "demo-key",
        *,
        latency: float | tuple[float, float] = 2.0,
        failure_rate: float = 0.0,
        faults: str | Mapping[str, float] | None = None,
        seed: int | None = None,
        slow_delay: float = 35.0,
        fault_endpoints: Iterable[str] | None = None,
        catalogue: Mapping[str, list[dict[str, Any]]] | None = None,
        callback_retry_delay: float = 0.5,
    ) -> None:
        self.api_keys = {api_key} if isinstance(api_key, str) else set(api_key)
        self.store = Store(latency=latency, failure_rate=failure_rate, seed=seed)
        self.faults = Faults(parse_faults(faults), seed=seed, slow_delay=slow_delay)
        self.fault_endpoints = None if fault_endpoints is None else frozenset(fault_endpoints)
        self.callbacks = Callbacks(retry_delay=callback_retry_delay)
        catalogue = catalogue or {}
        self.locations = list(catalogue.get("locations", default_catalogue.LOCATIONS))
        self.fashion_models = list(catalogue.get("fashionModels", default_catalogue.FASHION_MODELS))
        self.uploads = Uploads()
        self.requests: Counter[str] = Counter()
        self.errors = 0  # requests answered by the last-resort guard in __call__
        self.drawn = pictures.PictureCache()  # result pictures and clips, by their file's path
        # CPU seconds of each result picture served (drawing it, or finding it drawn): the
        # emulator stands in for a service whose GPUs are elsewhere, so this must stay small.
        self.picture_cpu: deque[float] = deque(maxlen=100_000)
        self.drawing_ahead_cpu = 0.0  # CPU seconds of draw_ahead, counted apart
        self.drawing_ahead_skipped = 0  # executions whose pictures were due before the drawer got to them
        # CPU seconds of every connection served, from reading the request to writing the
        # reply (counted by the server, which also writes): in a kernel that runs the
        # emulator, the share of the kernel's CPU that stands in for the service.
        self.serving_cpu = 0.0
        self._ahead: queue.SimpleQueue | None = None
        self._lock = threading.Lock()
        self.runs = runs_api.RunsApi(self)  # the agent-runs API, over the same store
        routes = _ROUTES + runs_api.ROUTES
        self._urls = Map([Rule(p, endpoint=e, methods=[m]) for p, e, m in routes]).bind("localhost")

    # -- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._respond(request, environ)
        except _ConnectionDropped:
            raise
        except Exception as exc:  # a bug: still the envelope, never werkzeug's HTML page
            with self._lock:
                self.errors += 1
            _log.exception("The emulator failed on %s %s", request.method, request.path)
            message = f"The emulator failed on this request ({type(exc).__name__}); this is a bug in the emulator."
            if runs_api.owns(request.path):
                response = runs_api.error_response(500, message, "INTERNAL_ERROR")
            else:
                response = _refusal(message, 500, 50000)
        return response(environ, start_response)

    def close(self) -> None:
        """Stop callbacks and drawing ahead, remove the uploads' folder."""
        with self._lock:
            if self._ahead is not None:
                self._ahead.put(None)
                self._ahead = None
        self.callbacks.stop()
        self.uploads.close()

    def _respond(self, request: Request, environ: dict[str, Any]) -> Response:
        try:
            endpoint, args = self._urls.match(request.path, method=request.method)
        except MethodNotAllowed:
            return _refusal(f"Method {request.method} is not allowed on {request.path}.", 405, 40500)
        except NotFound:
            return _refusal(f"No such path: {request.path}.", 404, 40404)
        with self._lock:
            self.requests[endpoint] += 1
        if endpoint in runs_api.ENDPOINTS:
            return self.runs.respond(endpoint, request, environ, args)
        if not request.path.startswith(_API):
            return getattr(self, f"_on_{endpoint}")(request, **args)
        targeted = self.fault_endpoints is None or endpoint in self.fault_endpoints
        fault = self.faults.draw() if targeted else None
        if fault in BEFORE_WORK:
            return self._fault_reply(fault)
        response = self._api(endpoint, request)
        if fault == "slow":
            time.sleep(self.faults.slow_delay)
        elif fault == "reset":
            self._drop(environ)
        return response

    def _fault_reply(self, fault: str | None) -> Response:
        if fault == "429":
            return _json({"success": False, "code": 42900, "msg": "Too many requests."}, 429, {"Retry-After": "1"})
        if fault == "badjson":
            return Response('{"success": true, "code": "0", "data": {"exec', mimetype="application/json")
        return _refusal("Service temporarily unavailable.", 503, 50300)

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            # shutdown() acts at once even while the server still holds file objects on the
            # socket; linger 0 turns the final close into a reset.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        raise _ConnectionDropped("injected reset")

    def _api(self, endpoint: str, request: Request) -> Response:
        try:
            account = self._authenticate(request)
            return getattr(self, f"_on_{endpoint}")(request, account)
        except Refusal as refusal:
            return _refusal(refusal.message, refusal.status, refusal.code)
        except HTTPException as exc:
            return _refusal(exc.description or exc.name, exc.code or 400, 40000)

    def _authenticate(self, request: Request) -> str:
        key = request.headers.get("Authorization", "").strip()
        if not key:
            raise Refusal("Missing API key: send it in the Authorization header.", status=401, code=40100)
        if key.lower().startswith("bearer ") and key[7:].strip() in self.api_keys:
            raise Refusal("Send the raw API key in Authorization, without 'Bearer'.", status=401, code=40101)
        if key not in self.api_keys:
            raise Refusal("Invalid API key.", status=401, code=40101)
        return key

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        return bodies.json_object(request)

    @staticmethod
    def _id_field(body: Mapping[str, Any], key: str) -> str | None:
        value = body.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise Refusal(f"{key} must be a string, got {type(value).__name__}.", code=40002)
        return value

    # -- the service's endpoints ------------------------------------------------------

    def _on_upload(self, request: Request, account: str) -> Response:
        return _json(_envelope({"image": self.store_upload(request)}))

    def store_upload(self, request: Request) -> str:
        """Read, check and keep the ``image`` part of an upload (either API); its public URL."""
        upload = bodies.upload_file(request, "image")
        if upload is None:
            raise Refusal("Send the image as multipart form-data in a field named 'image'.", code=40001)
        data = upload.read()
        check_pixels(data)
        extension = pictures.accept_upload(data)
        name = f"{self.store.new_id()}.{extension}"
        self.uploads.add(name, data)
        return f"{request.host_url}files/uploads/{name}"

    def _on_create(self, request: Request, account: str) -> Response:
        body = self._body(request)
        check_agent(body.get("agentName"), body.get("agentVersion"))
        init = check_init_params(body.get("initParams"), body["agentName"])
        task = self.store.create_task(account, body["agentName"], body["agentVersion"], init)
        return _json(_envelope({"taskId": task.id}, legacy=True))

    def _on_execute(self, request: Request, account: str) -> Response:
        body = self._body(request)
        task_id = self._id_field(body, "taskId")
        if task_id is None:
            raise Refusal("taskId is required.", code=40001)
        task = self.store.task(account, task_id)
        params = check_execution_params(
            task.agent_name,
            body.get("params"),
            location_ids={entry["id"] for entry in self.locations},
            fashion_model_ids={entry["id"] for entry in self.fashion_models},
            background_ids={entry["id"] for entry in default_catalogue.BACKGROUNDS},
            inputs=task.init_params,  # a rule may read the task's images (kling's last frame)
        )
        callback = body.get("callbackUrl")
        if callback is not None and not is_url(callback):
            raise Refusal("callbackUrl must be a complete URL starting with http:// or https://.", code=40002)
        record = self.store.execute(task, params, request.host_url, callback)
        self.draw_ahead(record)
        if callback:
            self.callbacks.watch(record, lambda: _envelope(task.view([record], time.time())))
        return _json(_envelope({"executionId": record.id}, legacy=True))

    def _on_query(self, request: Request, account: str) -> Response:
        body = self._body(request)
        execution_id, task_id = self._id_field(body, "executionId"), self._id_field(body, "taskId")
        now = time.time()
        if execution_id is not None:  # the reference: executionId wins when both are given
            task, record = self.store.execution(account, execution_id)
            return _json(_envelope(task.view([record], now)))
        if task_id is not None:
            task = self.store.task(account, task_id)
            return _json(_envelope(task.view(self.store.recent(task), now)))
        raise Refusal("Give executionId or taskId.", code=40001)

    def _on_delete(self, request: Request, account: str) -> Response:
        task_id = self._id_field(self._body(request), "taskId")
        if task_id is None:
            raise Refusal("taskId is required.", code=40001)
        self.store.delete(self.store.task(account, task_id))
        return _json(_envelope())

    def _on_info(self, request: Request, account: str) -> Response:
        name, version = request.args.get("agentName"), request.args.get("agentVersion")
        check_agent(name, version)
        presets = {
            "locations": self.locations,
            "fashionModels": self.fashion_models,
            "backgrounds": default_catalogue.BACKGROUNDS,
        }
        return _json(_envelope(agent_info.page(name, version, request.args, request.host_url, presets)))

    # -- files (public, like the service's image CDN) ----------------------------------

    def _on_upload_file(self, request: Request, name: str) -> Response:
        data = self.uploads.original(name)
        if data is None:
            return _refusal(f"No uploaded file {name}.", 404, 40402)
        extension = name.rsplit(".", 1)[-1]
        return Response(data, mimetype={"jpg": "image/jpeg"}.get(extension, f"image/{extension}"))

    def _on_result_file(self, request: Request, execution_id: str, slot: int) -> Response:
        record = self.store.executions.get(execution_id)
        if record is None or slot >= record.progress(time.time())[1]:
            return _refusal("No such result image (yet).", 404, 40403)
        started = time.thread_time()
        data = self.drawn.get_or_draw(f"results/{execution_id}-{slot}.png", lambda: self._render(record, slot))
        with self._lock:
            self.picture_cpu.append(time.thread_time() - started)
        # A picture in parts is sent part after part: the photograph it shares is never copied.
        body = list(data) if isinstance(data, PngParts) else data
        return Response(body, mimetype="image/png", headers={"Cache-Control": "public, max-age=86400"})

    def _render(self, record: Any, slot: int) -> bytes | PngParts:
        drawn = agent_pictures.render(self, record, slot)
        if drawn is not None:
            return drawn
        return pictures.result_parts(
            **self._photograph_of(record), prompt=str(record.params.get("textDescription", "")), slot=slot
        )

    def _photograph_of(self, record: Any) -> dict[str, Any]:
        """What sets a generic result's photograph: source, scene colours and names, agent."""
        task = self.store.tasks.get(record.task_id)
        original = str(task.init_params.get("originalImage", "")) if task else ""
        # Only the bounded working copy: the original may hold 64 megapixels.
        source = (
            self.uploads.working_copy(original.rsplit("/files/uploads/", 1)[-1])
            if "/files/uploads/" in original
            else None
        )
        location = next((e for e in self.locations if e["id"] == record.params.get("locationId")), {})
        model = next((e for e in self.fashion_models if e["id"] == record.params.get("fashionModelId")), {})
        return {
            "source": source,
            "colors": location.get("colors"),
            "scene": str(location.get("name", "")),
            "model": str(model.get("name", "")),
            "agent": task.agent_name if task else "",
        }

    # -- drawing ahead ---------------------------------------------------------------

    def draw_ahead(self, record: Any) -> None:
        """Draw the photographs of a new execution's results while it runs, on one background thread.

        The service's pictures exist when an execution succeeds (drawn on its GPUs, within
        the latency); drawn here instead on the first request, a sweep's few photographs
        would be drawn just when the client fetches and shrinks its pictures, on the same
        cores. Only the photographs: each result's caption is still made when asked.
        """
        task = self.store.tasks.get(record.task_id)
        drawn_ahead = task is not None and task.agent_name in agent_pictures.CATALOGUE
        if record.fails or task is None or (task.agent_name in agent_pictures.AGENTS and not drawn_ahead):
            return
        with self._lock:
            if self._ahead is None:
                self._ahead = queue.SimpleQueue()
                threading.Thread(target=self._drawer, args=(self._ahead,), daemon=True, name="emulator-drawer").start()
            self._ahead.put(record)

    def _drawer(self, jobs: queue.SimpleQueue) -> None:
        while (record := jobs.get()) is not None:
            if record.progress(time.time())[1] > 0:
                # Its pictures may be asked for already, and are drawn when asked: drawing
                # them here too, late, would double the work. A catalogue launches its
                # executions faster than one thread draws ahead, and fell behind for good.
                with self._lock:
                    self.drawing_ahead_skipped += 1
                continue
            started = time.thread_time()
            try:
                if not agent_pictures.prepare(self, record):
                    pictures.prepare_result(**self._photograph_of(record), slots=range(record.batch))
            except Exception:  # drawn again on request, where a failure is reported
                _log.exception("The emulator failed to draw ahead for %s", record.id)
            with self._lock:
                self.drawing_ahead_cpu += time.thread_time() - started

    def _on_catalogue_file(self, request: Request, kind: str, entry_id: int) -> Response:
        entries = {
            "location": self.locations,
            "model": self.fashion_models,
            "background": default_catalogue.BACKGROUNDS,
        }
        entries = entries.get(kind, [])
        entry = next((e for e in entries if e["id"] == entry_id), None)
        if entry is None:
            return _refusal(f"No catalogue picture {kind}-{entry_id}.", 404, 40403)
        # A preset background is a plain colour, not a scene.
        picture = pictures.render_thumbnail(str(entry["name"]), entry.get("colors"), plain=kind == "background")
        return Response(picture, mimetype="image/png")

    def _on_stats(self, request: Request) -> Response:
        return _json(self.stats())

    def _on_home(self, request: Request) -> Response:
        return Response(f"WeShop OpenAPI emulator (weshop_nb). API under {request.host_url}openapi/v1/\n")

    def count_serving(self, seconds: float) -> None:
        """Add the CPU seconds of one connection served (called by the server)."""
        with self._lock:
            self.serving_cpu += seconds

    def stats(self) -> dict[str, Any]:
        """Counters: requests by endpoint, tasks and executions created, faults, callbacks, errors.

        ``errors`` counts requests that failed inside the emulator (answered with a 500
        envelope); it stays 0 unless the emulator has a bug. ``picture_cpu_ms`` is the CPU
        time the emulator spent per result picture served (median, mean, max);
        ``drawing_ahead_cpu_s`` what it spent drawing photographs ahead (:meth:`draw_ahead`),
        ``drawing_ahead_skipped`` the executions it did not (their pictures were due first);
        ``serving_cpu_s`` the CPU of every connection served by its server (pictures drawn on
        request included, drawing ahead not).
        """
        with self._lock:
            requests = dict(self.requests)
            picture_cpu = sorted(self.picture_cpu)
        return {
            "requests": requests,
            "uploads": self.uploads.count,
            **{name: self.store.counters[name] for name in ("tasks_created", "tasks_deleted")},
            "executions_created": self.store.counters["executions_created"],
            "faults": dict(self.faults.injected),
            "callbacks": len(self.callbacks.log),
            "errors": self.errors,
            "pictures_served": len(picture_cpu),
            "picture_cpu_ms": {
                "median": round(statistics.median(picture_cpu) * 1000, 3) if picture_cpu else None,
                "mean": round(statistics.fmean(picture_cpu) * 1000, 3) if picture_cpu else None,
                "max": round(picture_cpu[-1] * 1000, 3) if picture_cpu else None,
            },
            "drawing_ahead_cpu_s": round(self.drawing_ahead_cpu, 3),
            "drawing_ahead_skipped": self.drawing_ahead_skipped,
            "serving_cpu_s": round(self.serving_cpu, 3),
        }
