"""``WeShopClient``: the one place that speaks HTTP to the WeShop AI OpenAPI.

Every call goes through :meth:`WeShopClient._request`, which adds the key, the
timeouts and the envelope handling (``success``/``code``/``message`` or ``msg``, or the
runs API's ``error``), and turns every failure into an error of :mod:`weshop_nb.errors`.
Retries are the transport's (see :mod:`weshop_nb._transport`), and on the agent-runs API
the service's ``retryable`` decides (see :mod:`._runs_api`). Starting any agent on either
API, estimates and the registry are in :mod:`._agents`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import replace
from typing import Any

import requests

from ..config import API_VAR, BASE_URL_VAR, insecure_allowed
from ..contract import is_url
from . import _events as events
from . import _runs_api, _settings, _transport
from ._agents import AgentCalls, check_api, read_info_pages
from ._catalogue import AgentInfo
from ._envelope import check_url as _check_url
from ._envelope import detach as _detach
from ._envelope import raise_for_envelope as _raise_for_envelope
from ._errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    ServiceError,
)
from ._execute import ExecuteCalls
from ._identity import Ledger
from ._models import Execution, Task
from ._rate import RateBudget

__all__ = ["WeShopClient", "DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = _settings.DEFAULT_BASE_URL
#: (connect, read) seconds. Uploads of 10 MB over a slow link need the long read.
DEFAULT_TIMEOUT = (5.0, 30.0)
#: Result images are public URLs; refuse anything bigger than this.
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
_NO_KEY = (
    "No WeShop API key. Set the WESHOP_API_KEY environment variable, run `%weshop login`, "
    "or pass WeShopClient(api_key=...). Without a key, `%weshop demo` uses the offline emulator."
)


class WeShopClient(ExecuteCalls, AgentCalls):
    """A client for the whole WeShop AI OpenAPI: the v1 task API and the agent-runs API.

    Parameters
    ----------
    api_key : str, optional
        Sent raw in the ``Authorization`` header of API calls. Defaults to ``WESHOP_API_KEY``.
        Never shown in a repr, an error, a traceback's locals or a log, and never pickled.
    base_url : str, optional
        Defaults to ``WESHOP_BASE_URL``, then ``https://openapi.weshop.ai``. An http(s) URL
        without user name, password, query or fragment; a trailing ``/openapi/v1`` is taken
        off (the client adds it).
    timeout : float or (connect, read), optional
        Seconds for every call, above 0; default ``(5, 30)``. ``None`` (forever) is refused.
    max_retries : int, optional
        Retries of the transport (see :mod:`weshop_nb._transport`); default 3.
    api : {"v1", "runs"}, optional
        Which API :meth:`start`, :meth:`upload_image`, :meth:`get_execution` and
        :meth:`wait` speak; defaults to ``WESHOP_API``, then ``"v1"``. Tasks
        (:meth:`create_task`, :meth:`execute`, :meth:`get_task`) and :meth:`agent_info`
        are v1 calls on either.
    safe_generate : bool, optional
        The runs API's content safety (``safeGenerate`` ``on``); default True.
    allow_insecure : bool, optional
        Allow ``http://`` to a host other than this machine, which carries the key in
        clear text; default False, or ``WESHOP_ALLOW_INSECURE=1``.

    Raises
    ------
    InvalidRequestError
        When a setting breaks its rule (the message names it); nothing is sent then.

    Examples
    --------
    >>> client = WeShopClient()                                   # doctest: +SKIP
    >>> url = client.upload_image("garment.png")                  # doctest: +SKIP
    >>> task = client.create_task("aimodel", "v1.0", originalImage=url)  # doctest: +SKIP
    >>> exe = client.execute(task.id, {"textDescription": "on a beach"})  # doctest: +SKIP
    >>> client.wait(exe.id).images                                # doctest: +SKIP
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        api: str | None = None,
        safe_generate: bool = True,
        allow_insecure: bool = False,
    ) -> None:
        # The key goes straight into its auth object, and the name is dropped: this frame
        # is in the traceback of any setting refused below.
        key = api_key or _settings.key_from_environment()
        self._auth = _transport.KeyAuth(key) if key else None
        del api_key, key
        allow_insecure = allow_insecure or insecure_allowed()
        if base_url is None:  # a blank WESHOP_BASE_URL counts as unset; a blank argument is refused
            base_url, what = _settings.environ_value(BASE_URL_VAR) or DEFAULT_BASE_URL, BASE_URL_VAR
        else:
            what = "base_url"
        self.base_url = _settings.check_base_url(base_url, what=what, allow_insecure=allow_insecure)
        self.timeout = _settings.check_timeout(timeout)
        max_retries = _settings.check_retries(max_retries)
        self.api = (
            check_api(api, "api") if api is not None else check_api(_settings.environ_value(API_VAR) or "v1", API_VAR)
        )
        self.safe_generate = bool(safe_generate)
        #: One pace for every thread of this client: a 429 anywhere holds them all.
        self.rate = RateBudget(limit=_transport.MAX_RETRY_AFTER)
        self._session = _transport.build_session(
            self.base_url, max_retries=max_retries, auth=self._auth, budget=self.rate
        )
        _runs_api.mount(self._session, self.base_url, max_retries)
        self._lock = threading.Lock()
        self._uploads: dict[str, str] = {}  # sha256 of the bytes -> URL the service gave
        self._agent_info: dict[tuple[str, str], AgentInfo] = {}
        # The executions this client has seen and started per task, so an execute whose
        # reply was lost is told apart from every other (see service/_identity.py).
        self._ledger = Ledger()
        self._billing: dict[str, tuple[int | None, int | None]] = {}  # run id -> the start's figures

    def __repr__(self) -> str:
        # getattr: a client refused half-way through __init__ is still shown in tracebacks.
        base_url, api = getattr(self, "base_url", None), getattr(self, "api", None)
        key = "set" if getattr(self, "_auth", None) else "missing"
        return f"WeShopClient(base_url={base_url!r}, api={api!r}, api_key={key})"

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def __enter__(self) -> WeShopClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the choke point -------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, prefix: str = _transport.API_PREFIX, headers: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        if self._auth is None:
            raise AuthenticationError(_NO_KEY)
        url = self.base_url + prefix + path
        headers = {**(headers or {}), "Accept": "application/json"}  # the key is added by the session's KeyAuth
        self.rate.wait()  # another thread of this client was told to slow down: so is this one
        try:
            # Detached at once: the reply keeps no request (whose headers hold the key).
            response = _detach(self._session.request(method, url, headers=headers, timeout=self.timeout, **kwargs))
        except requests.exceptions.RequestException as exc:
            error = self._transport_error(exc, path)
        else:
            try:
                return _raise_for_envelope(response)
            except RateLimitError as exc:
                self.rate.hold(exc.retry_after)
                raise
        # Raised here, outside the except: requests' error (holding the request) is not its context.
        raise error

    def _transport_error(self, exc: requests.exceptions.RequestException, path: str) -> ServiceError:
        if _transport.never_sent(exc):
            return ServiceError(f"Could not reach the WeShop service at {self.base_url} (is it up, is the URL right?).")
        if isinstance(exc, requests.exceptions.Timeout):
            return ServiceError(f"No reply from {self.base_url} within the timeout for {path}.", fate_unknown=True)
        return ServiceError(
            f"The connection to {self.base_url} failed during {path}: {type(exc).__name__}.", fate_unknown=True
        )

    def _request_again(self, method: str, path: str, attempts: int = 3, **kwargs: Any) -> dict[str, Any]:
        """``_request`` for calls that may be repeated: again after an unreadable or lost reply.

        The transport already retries status codes and dropped connections; what it
        cannot see is a reply that arrived whole but unreadable.
        """
        for attempt in range(attempts - 1):
            try:
                return self._request(method, path, **kwargs)
            except ServiceError as exc:
                if not exc.fate_unknown:
                    raise
                time.sleep(_transport.retry_pause(attempt))
        return self._request(method, path, **kwargs)

    # -- assets ----------------------------------------------------------------------

    def upload_image(self, image: Any) -> str:
        """Upload an image and return its URL on the service.

        ``image`` may be a path, bytes, a PIL image or a binary file object. The upload
        rules are checked first, locally (see :func:`weshop_nb.images.check_upload_rules`);
        the same bytes are uploaded once per client.
        """
        from ._images import ImageFile, prepare_upload

        prepared = image if isinstance(image, ImageFile) else prepare_upload(image)
        with self._lock:
            cached = self._uploads.get(prepared.sha256)
        if cached:
            return cached
        if self.api == "runs":
            url = _runs_api.upload(self, prepared)
        else:
            files = {"image": (prepared.filename, prepared.data, prepared.mime_type)}
            url = str(self._request_again("POST", "/asset/upload/image", files=files).get("image") or "")
        if not url:
            raise ServiceError("The service accepted the upload but sent no image URL.")
        with self._lock:
            self._uploads[prepared.sha256] = url
        return url

    # -- tasks -----------------------------------------------------------------------

    def create_task(self, agent_name: str = "aimodel", agent_version: str = "v1.0", **init_params: Any) -> Task:
        """Create a task and return it (``task.id``).

        ``init_params`` are the agent's initial parameters, e.g. ``originalImage`` and
        ``taskName``. An ``originalImage`` that is not an http(s) URL (a path, bytes, a
        PIL image) is uploaded first.
        """
        source = init_params.get("originalImage")
        if source is not None and not is_url(source):
            init_params["originalImage"] = self.upload_image(source)
        body = {"agentName": agent_name, "agentVersion": agent_version, "initParams": init_params}
        # A task holds nothing until it is executed, so a create whose reply was lost is
        # simply sent again; at worst an empty task is left behind, which costs nothing.
        data = self._request_again("POST", "/agent/task/create", json=body)
        task_id = str(data.get("taskId") or "")
        if not task_id:
            raise ServiceError("The service created a task but sent no taskId.")
        self._ledger.see(task_id)  # new, so empty: what an execute adds to it is ours or another program's
        task = Task(id=task_id, agent_name=agent_name, agent_version=agent_version, init_params=init_params)
        events.emit("task", task, source=self.base_url)
        return task

    def _remember_run(self, execution: Execution) -> None:
        """A started run: its task, and the billing figures later polls do not repeat."""
        if execution.task_id:
            self._ledger.claim(execution.task_id, execution.id)
        with self._lock:
            self._billing[execution.id] = (execution.power_consumption, execution.power_balance)

    def _billed(self, execution: Execution) -> Execution:
        with self._lock:
            figures = self._billing.get(execution.id)
        if figures is None or execution.power_consumption is not None:
            return execution
        return replace(execution, power_consumption=figures[0], power_balance=figures[1])

    def get_execution(self, execution_id: str) -> Execution:
        """Query one execution by id (a run on the runs API): status, parameters and results."""
        execution_id = str(execution_id)
        task_id = self._ledger.task_of(execution_id)
        if self.api == "runs":
            task = _runs_api.poll(self, execution_id, task_id)
        else:
            data = self._request_again("POST", "/agent/task/query", json={"executionId": execution_id})
            task = Task.from_api(data, task_id=task_id or "")
        found = task.execution(execution_id) or (task.executions[0] if len(task.executions) == 1 else None)
        if found is None:
            raise InvalidRequestError(f"The service returned no execution {execution_id!r}.")
        if found.id != execution_id:  # the one asked for, whatever its record says its id is
            found = replace(found, id=execution_id)
        found = self._billed(found)
        events.emit("execution", found, source=self.base_url)
        return found

    def get_task(self, task_id: str) -> Task:
        """Query a task: its agent, initial parameters and up to 20 recent executions, oldest first."""
        task_id = str(task_id)
        data = self._request_again("POST", "/agent/task/query", json={"taskId": task_id})
        task = Task.from_api(data, task_id=task_id)
        task = replace(task, executions=tuple(map(self._billed, task.executions)))
        self._ledger.see(task_id, (e.id for e in task.executions))
        events.emit("task", task, source=self.base_url)
        return task

    def delete_task(self, task_id: str) -> None:
        """Delete a task and its execution records on the service."""
        try:
            self._request("POST", "/agent/task/delete", json={"taskId": str(task_id)})
        except ServiceError as exc:
            if not exc.fate_unknown:
                raise
            with contextlib.suppress(InvalidRequestError):  # the first may have worked: "not found" is fine
                self._request_again("POST", "/agent/task/delete", json={"taskId": str(task_id)})
        self._ledger.forget(str(task_id))
        events.emit("task_deleted", str(task_id), source=self.base_url)

    def agent_info(
        self, agent_name: str = "aimodel", agent_version: str = "v1.0", *, refresh: bool = False
    ) -> AgentInfo:
        """Locations, fashion models and backgrounds of an agent version, every page of them.

        Cached per client unless ``refresh``; a v1 call on either API.
        """
        key = (agent_name, agent_version)
        if refresh or key not in self._agent_info:
            query = {"agentName": agent_name, "agentVersion": agent_version}
            data = read_info_pages(lambda page: self._request_again("GET", "/agent/info", params=page), query)
            self._agent_info[key] = AgentInfo.from_api(data, agent_name=agent_name, agent_version=agent_version)
            events.emit("agent_info", self._agent_info[key], source=self.base_url)
        return self._agent_info[key]

    # -- waiting ---------------------------------------------------------------------

    # -- result images -----------------------------------------------------------------

    def fetch_image(self, url: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """Download a result or catalogue image (public URL; the key is never sent with it)."""
        _check_url(url, "image URL")
        try:
            with self._session.get(url, timeout=self.timeout, stream=True) as response:
                status = response.status_code
                chunks, size = [], 0
                if status < 400:
                    for chunk in response.iter_content(64 * 1024):
                        size += len(chunk)
                        if size > max_bytes:
                            break
                        chunks.append(chunk)
                reply = _detach(response, read=False)
        except requests.exceptions.RequestException as exc:
            error = self._transport_error(exc, url)
        else:
            if status >= 400:
                error = ServiceError(f"Fetching {url} failed with HTTP {status}.", response=reply)
            elif size > max_bytes:
                error = ServiceError(f"{url} is larger than {max_bytes} bytes; not downloaded.")
            else:
                return b"".join(chunks)
        raise error  # outside the except, so requests' error is not its context
