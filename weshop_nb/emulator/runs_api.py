"""The agent-runs API beside v1, over the same accounts, tasks and executions.

Paths (under ``/openapi/agent``): ``POST assets/images`` (multipart ``image``), ``POST
runs`` (start; honours ``Idempotency-Key``), ``GET runs/{executionId}`` (task-shaped),
``POST power-estimates`` (cost, nothing created). Its envelope differs from v1:
``{"success": true, "data": ..., "meta": ...}`` and ``{"success": false, "error":
{"code", "message", "retryable"}}``; only 5xx and 429 answers are ``retryable``.

A run is a task with one execution, so v1's query sees runs too, and a run's poll reply
is v1's query reply for that execution. Agents with a mask (aimodel, aiproduct, removeBG)
pass through ``Segmenting`` between ``Pending`` and ``Running``, as on the service.
Idempotency: the first start with a key is remembered with a fingerprint of its body;
the same key and body answer the same run again, a different body is a 409 conflict.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from .. import contract
from . import agent_pictures, billing
from . import catalogue as default_catalogue
from .faults import BEFORE_WORK
from .params import DEFAULT_BATCH, Refusal, check_agent, check_execution_params

if TYPE_CHECKING:
    from .app import Emulator

_BASE = "/openapi/agent"
#: (path, endpoint, method), added to the emulator's routing table.
ROUTES = [
    (f"{_BASE}/assets/images", "run_upload", "POST"),
    (f"{_BASE}/runs", "run_start", "POST"),
    (f"{_BASE}/runs/<execution_id>", "run_poll", "GET"),
    (f"{_BASE}/power-estimates", "run_estimate", "POST"),
    ("/files/videos/<execution_id>-<int:slot>.webp", "video_file", "GET"),
    ("/files/frames/<execution_id>-<int:slot>.png", "frame_file", "GET"),
]
ENDPOINTS = frozenset(endpoint for _, endpoint, _ in ROUTES)
_PUBLIC = frozenset({"video_file", "frame_file"})

# Error codes by the emulator's refusal code, then by HTTP status.
_CODES = {40001: "MISSING_PARAMETER", 40002: "INVALID_TYPE", 40003: "INVALID_PARAMETER", 40004: "NOT_FOUND"}
_STATUS_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    402: "INSUFFICIENT_POWER",
    404: "NOT_FOUND",
    409: "IDEMPOTENCY_CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}
_IDEMPOTENCY_MEMORY = 10_000


def _ok(data: Any, meta: Mapping[str, Any] | None = None) -> Response:
    body = {"success": True, "data": data, "meta": dict(meta or {})}
    return Response(json.dumps(body), mimetype="application/json")


def error_response(status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None):
    """The runs API's error envelope; ``retryable`` is true exactly for 5xx and 429."""
    error = {"code": code or _STATUS_CODES.get(status, f"HTTP_{status}"), "message": message}
    error["retryable"] = status >= 500 or status == 429
    body = json.dumps({"success": False, "error": error})
    return Response(body, status=status, headers=dict(headers or {}), mimetype="application/json")


def owns(path: str) -> bool:
    """Whether ``path`` is the runs API's (answered in its envelope, even by the last-resort guard)."""
    return path.startswith(f"{_BASE}/")


def _fingerprint(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class RunsApi:
    """The runs endpoints of one :class:`~weshop_nb.emulator.app.Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.ledger = billing.Ledger()
        self._idempotent: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self._start_lock = threading.Lock()  # one start at a time: a key's check and its run are one step

    # -- dispatch, faults, envelope ----------------------------------------------------

    def respond(self, endpoint: str, request: Request, environ: dict[str, Any], args: dict[str, Any]) -> Response:
        emu = self.emulator
        if endpoint in _PUBLIC:
            return getattr(self, f"_on_{endpoint}")(request, **args)
        targeted = emu.fault_endpoints is None or endpoint in emu.fault_endpoints
        fault = emu.faults.draw() if targeted else None
        if fault in BEFORE_WORK:
            return self._fault_reply(fault)
        try:
            account = emu._authenticate(request)
            response = getattr(self, f"_on_{endpoint}")(request, account, **args)
        except Refusal as refusal:
            response = error_response(refusal.status, refusal.message, _CODES.get(refusal.code))
        except HTTPException as exc:
            response = error_response(exc.code or 400, exc.description or exc.name)
        if fault == "slow":
            time.sleep(emu.faults.slow_delay)
        elif fault == "reset":
            emu._drop(environ)
        return response

    @staticmethod
    def _fault_reply(fault: str | None) -> Response:
        if fault == "429":
            return error_response(429, "Too many requests.", headers={"Retry-After": "1"})
        if fault == "badjson":
            return Response('{"success": true, "data": {"exec', mimetype="application/json")
        return error_response(503, "Service temporarily unavailable.")

    # -- endpoints ---------------------------------------------------------------------

    def _on_run_upload(self, request: Request, account: str) -> Response:
        return _ok({"image": self.emulator.store_upload(request)})

    def _checked(self, body: Mapping[str, Any]) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
        """(agent, version, input, params) of a run body, every rule applied."""
        agent = body.get("agent")
        if not isinstance(agent, Mapping):
            raise Refusal('agent is required: {"name": "aimodel", "version": "v1.0"}.', code=40001)
        name, version = agent.get("name"), agent.get("version")
        check_agent(name, version)
        inputs = body.get("input", {})
        if not isinstance(inputs, Mapping):
            raise Refusal("input must be an object.", code=40002)
        emu = self.emulator
        params = check_execution_params(
            name,
            body.get("params"),
            location_ids={e["id"] for e in emu.locations},
            fashion_model_ids={e["id"] for e in emu.fashion_models},
            background_ids={e["id"] for e in default_catalogue.BACKGROUNDS},
            inputs=inputs,
            api="runs",
        )
        callback = body.get("callbackUrl")
        if callback is not None and not contract.is_url(callback):
            raise Refusal("callbackUrl must be a complete URL starting with http:// or https://.", code=40002)
        if body.get("safeGenerate") not in (None, "on", "off"):
            raise Refusal(f"safeGenerate must be on or off, got {body.get('safeGenerate')!r}.", code=40003)
        return name, version, dict(inputs), params

    def _price(self, agent: str, params: Mapping[str, Any]) -> int:
        batch = int(params.get("batchCount") or DEFAULT_BATCH)
        return billing.cost(agent, params, self.emulator.fashion_models, batch)

    def _on_run_start(self, request: Request, account: str) -> Response:
        body = self.emulator._body(request)
        key = request.headers.get("Idempotency-Key", "").strip()
        fingerprint = _fingerprint(body)
        with self._start_lock:
            if key and (account, key) in self._idempotent:
                seen, data = self._idempotent[(account, key)]
                if seen != fingerprint:
                    raise Refusal(
                        f"Idempotency-Key {key!r} was already used for a different request body; "
                        "use a new key for a new run.",
                        status=409,
                    )
                return _ok(data, {"executionId": data["executionId"]})
            data = self._start(request, account, body)
            if key:
                if len(self._idempotent) >= _IDEMPOTENCY_MEMORY:
                    self._idempotent.pop(next(iter(self._idempotent)))
                self._idempotent[(account, key)] = (fingerprint, data)
        return _ok(data, {"executionId": data["executionId"]})

    def _start(self, request: Request, account: str, body: Mapping[str, Any]) -> dict[str, Any]:
        name, version, inputs, params = self._checked(body)
        price = self._price(name, params)
        left = self.ledger.charge(account, price)
        if left is None:
            have = self.ledger.balance(account)
            raise Refusal(f"Not enough power: this run costs {price} points, {have} left.", status=402)
        store = self.emulator.store
        task = store.create_task(account, name, version, inputs)
        spec = contract.spec(name)
        segmenting = spec is not None and spec.param("maskType") is not None
        record = store.execute(task, params, request.host_url, body.get("callbackUrl"), segmenting=segmenting)
        self.emulator.draw_ahead(record)
        if body.get("callbackUrl"):
            self.emulator.callbacks.watch(
                record, lambda: {"success": True, "data": task.view([record], time.time()), "meta": {}}
            )
        return {"executionId": record.id, "taskId": task.id, "powerConsumption": price, "powerBalanceAmount": left}

    def _on_run_poll(self, request: Request, account: str, execution_id: str) -> Response:
        task, record = self.emulator.store.execution(account, execution_id)
        return _ok(task.view([record], time.time()), {"executionId": record.id})

    def _on_run_estimate(self, request: Request, account: str) -> Response:
        name, _, _, params = self._checked(self.emulator._body(request))
        total = self._price(name, params)
        estimate = {
            "totalPower": total,
            "type": "power",
            "exclusive": False,
            "paidPowerNotEnough": total > self.ledger.balance(account),
            "isEstimated": True,
        }
        return _ok(estimate)

    def _on_video_file(self, request: Request, execution_id: str, slot: int) -> Response:
        emu = self.emulator
        record = emu.store.executions.get(execution_id)
        if record is None or record.output != "video" or slot >= record.progress(time.time())[1]:
            return error_response(404, "No such video (yet).")
        key = f"videos/{execution_id}-{slot}.webp"
        data = emu.drawn.get_or_draw(key, lambda: agent_pictures.render_video(emu, record, slot))
        return Response(data, mimetype="image/webp", headers={"Cache-Control": "public, max-age=86400"})

    def _on_frame_file(self, request: Request, execution_id: str, slot: int) -> Response:
        """A video's last frame as a still (``result[*].lastFrame``), when it was given one."""
        emu = self.emulator
        record = emu.store.executions.get(execution_id)
        if record is None or not record.last_frame or slot >= record.progress(time.time())[1]:
            return error_response(404, "No such last frame (yet).")
        data = emu.drawn.get_or_draw(
            f"frames/{execution_id}-{slot}.png", lambda: agent_pictures.render_last_frame(emu, record, slot) or b""
        )
        return Response(data, mimetype="image/png", headers={"Cache-Control": "public, max-age=86400"})
