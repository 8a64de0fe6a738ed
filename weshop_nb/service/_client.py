"""``WeShopClient``: the one place that speaks HTTP to the WeShop AI OpenAPI.

Every call goes through :meth:`WeShopClient._request`, which adds the key, the timeouts
and the envelope handling (``success``/``code``/``message`` or ``msg``, or the runs API's
``error``), turns every failure into an error of :mod:`weshop_nb.service._errors`, and
sends a call again only as the one retry policy allows (its table is at the top of
:mod:`weshop_nb.service._transport`). An execute whose reply was lost is reconciled
before it is sent again (:mod:`weshop_nb.service._identity`). What the two APIs share
(the registry's local checks, uploads of local inputs) is in :mod:`._agents`; the
runs API's bodies and replies in :mod:`._runs_api`.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import requests

from .. import contract
from ..config import API_VAR, BASE_URL_VAR, insecure_allowed
from ..contract import is_url
from . import _events as events
from . import _polling, _runs_api, _settings, _transport
from ._agents import check_api, prepare_inputs, read_info_pages, uploaded, v1_estimate
from ._catalogue import AgentInfo, Estimate
from ._envelope import check_url as _check_url
from ._envelope import detach as _detach
from ._envelope import raise_for_envelope as _raise_for_envelope
from ._errors import (
    AuthenticationError,
    ExecutionFailed,
    InvalidRequestError,
    RateLimitError,
    ServiceError,
    WaitTimeout,
    WeShopError,
)
from ._fields import integer
from ._identity import Ledger, Slot
from ._models import FAILED, PENDING, Execution, Task
from ._rate import RateBudget
from ._transport import Call

__all__ = ["WeShopClient", "DEFAULT_BASE_URL", "DEFAULT_GIVE_UP_AFTER"]

DEFAULT_GIVE_UP_AFTER = _polling.DEFAULT_GIVE_UP_AFTER

DEFAULT_BASE_URL = _settings.DEFAULT_BASE_URL
#: (connect, read) seconds. Uploads of 10 MB over a slow link need the long read.
DEFAULT_TIMEOUT = (5.0, 30.0)
#: Result images are public URLs; refuse anything bigger than this.
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
_NO_KEY = (
    "No WeShop API key. Set the WESHOP_API_KEY environment variable, run `%weshop login`, "
    "or pass WeShopClient(api_key=...). Without a key, `%weshop demo` uses the offline emulator."
)
# What one failed send tells the retry policy.
_NOT_SENT, _BUSY, _LOST, _REFUSED, _SERVICE_SAYS_AGAIN = "not sent", "busy", "lost", "refused", "again"


class WeShopClient:
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
        How many times a call is sent again after a 429 or a connection that could not be
        opened; default 3. What a lost reply allows, and the calls with bounds of their own
        (an execute, a runs-API start), is the retry policy's table at the top of
        ``weshop_nb/service/_transport.py``.
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
    give_up_after : float or None, optional
        Seconds of nothing but failed polls after which :meth:`wait` (and the watching of
        runs made with this client) stops and says why; default
        :data:`DEFAULT_GIVE_UP_AFTER`; None never gives up.

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
        give_up_after: float | None = DEFAULT_GIVE_UP_AFTER,
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
        self._max_retries = _settings.check_retries(max_retries)
        self.api = (
            check_api(api, "api") if api is not None else check_api(_settings.environ_value(API_VAR) or "v1", API_VAR)
        )
        self.safe_generate = bool(safe_generate)
        self.give_up_after = give_up_after
        #: One pace for every thread of this client: a 429 anywhere holds them all.
        self.rate = RateBudget(limit=_transport.MAX_RETRY_AFTER)
        self._session = _transport.build_session(self.base_url, auth=self._auth)
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
        self,
        call: Call,
        path: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        take: Callable[[requests.Response], Any] = _detach,
        read: Callable[[Any], Any] = _raise_for_envelope,
        settle: Callable[[], Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send ``call`` (to its path plus ``path``), again while the retry policy allows; its reply's ``data``.

        ``take`` copies what is needed of a reply at once (by default :func:`._envelope.detach`:
        no frame of a traceback may hold the reply's request, whose headers hold the key);
        ``read`` turns that copy into the result (by default the envelope's ``data``, or
        the typed error it describes). ``settle`` is asked after a lost reply of a
        :data:`~._transport.RECONCILE` call: it returns what the lost send did (returned
        as is), or None when it provably did nothing (the call is sent again).
        """
        if call.lost == _transport.RECONCILE and settle is None:
            raise TypeError(f"{call.name} is reconciled after a lost reply: pass settle")
        if call.signed and self._auth is None:
            raise AuthenticationError(_NO_KEY)
        url = self.base_url + call.path + path if call.path else path
        headers = dict(headers or {})
        if call.signed:
            headers["Accept"] = "application/json"  # the key is added by the session's KeyAuth
        if call.keyed:
            headers["Idempotency-Key"] = str(uuid.uuid4())  # one per logical call: every send carries it
        if call.signed or call.method != "GET":
            send = functools.partial(self._session.request, call.method)
        else:  # a picture: the same GET without the session's work per request (see plain_get)
            send = self._session.plain_get
        lost_before = False
        for attempt in range(call.most_sends(self._max_retries)):
            if call.signed:
                self.rate.wait()  # another thread of this client was told to slow down: so is this one
            try:
                reply = take(send(url, headers=headers, timeout=self.timeout, **kwargs))
                return read(reply)
            except requests.exceptions.RequestException as exc:
                error: WeShopError = self._transport_error(exc, call.path + path or url)
                outcome = _NOT_SENT if _transport.never_sent(exc) else _LOST
            except RateLimitError as exc:
                if call.signed:
                    self.rate.hold(exc.retry_after)
                error, outcome = exc, _BUSY
            except ServiceError as exc:
                error, outcome = exc, _LOST if exc.fate_unknown else _REFUSED
            except WeShopError as exc:
                error, outcome = exc, _REFUSED
            # Decided here, outside the except: requests' error (holding the request) is no error's context.
            if error.retryable is not None:  # the runs API's word wins
                outcome = _SERVICE_SAYS_AGAIN if error.retryable else _REFUSED
            if isinstance(error, AuthenticationError):  # the message names where the key went
                error = error.sent_to(self.base_url)
            if outcome == _REFUSED:
                if lost_before and call.lost == _transport.GONE_IS_DONE and isinstance(error, InvalidRequestError):
                    return {}  # refused now because the send whose reply was lost did it
                raise error
            if outcome == _LOST:
                lost_before = True
                if call.lost == _transport.RECONCILE and settle is not None:
                    done = settle()
                    if done is not None:
                        return done
            if attempt + 1 >= call.limit(outcome in (_NOT_SENT, _BUSY), self._max_retries):
                raise error
            if not isinstance(error, RateLimitError):  # after a 429 the rate budget holds every thread (waited above)
                time.sleep(_transport.retry_pause(attempt))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _transport_error(self, exc: requests.exceptions.RequestException, path: str) -> ServiceError:
        if _transport.never_sent(exc):
            return ServiceError(f"Could not reach the WeShop service at {self.base_url} (is it up, is the URL right?).")
        if isinstance(exc, requests.exceptions.Timeout):
            return ServiceError(f"No reply from {self.base_url} within the timeout for {path}.", fate_unknown=True)
        return ServiceError(
            f"The connection to {self.base_url} failed during {path}: {type(exc).__name__}.", fate_unknown=True
        )

    # -- the registry ----------------------------------------------------------------

    def agents(self) -> list[str]:
        """Names of the agents weshop_nb describes (its registry), in order."""
        return contract.agents()

    def agent_spec(self, name: str) -> contract.AgentSpec | None:
        """The registry's description of agent ``name`` (inputs, parameters, rules), or None."""
        return contract.spec(name)

    # -- assets ----------------------------------------------------------------------

    def upload_image(self, image: Any) -> str:
        """Upload an image and return its URL on the service.

        ``image`` may be a path, bytes, a PIL image or a binary file object. The upload
        rules are checked first, locally (see :func:`weshop_nb.service._images.check_upload_rules`);
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
            url = str(self._request(_transport.UPLOAD, files=files).get("image") or "")
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
        # Sent again after a lost reply (the retry policy): at worst an empty task is left behind.
        data = self._request(_transport.CREATE_TASK, json=body)
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
            data = self._request(_transport.QUERY_TASK, json={"executionId": execution_id})
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
        return self._read_task(str(task_id), _transport.QUERY_TASK)

    def _read_task(self, task_id: str, call: Call) -> Task:
        data = self._request(call, json={"taskId": task_id})
        task = Task.from_api(data, task_id=task_id)
        task = replace(task, executions=tuple(map(self._billed, task.executions)))
        self._ledger.see(task_id, (e.id for e in task.executions))
        events.emit("task", task, source=self.base_url)
        return task

    def delete_task(self, task_id: str) -> None:
        """Delete a task and its execution records on the service."""
        self._request(_transport.DELETE_TASK, json={"taskId": str(task_id)})
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
            data = read_info_pages(lambda page: self._request(_transport.AGENT_INFO, params=page), query)
            self._agent_info[key] = AgentInfo.from_api(data, agent_name=agent_name, agent_version=agent_version)
            events.emit("agent_info", self._agent_info[key], source=self.base_url)
        return self._agent_info[key]

    # -- execute, on the v1 task API ------------------------------------------------

    def execute(self, task_id: str, params: Mapping[str, Any], callback_url: str | None = None) -> Execution:
        """Start an execution of ``task_id`` with ``params``; returns it as ``pending``.

        If the reply is lost after the request was sent, the task is queried for the new
        execution before anything is sent again, so a retry never starts a duplicate. Two
        executes of the same parameters on the same task from this client go one after the
        other (the second waits for the first's id), which keeps that check unambiguous; see
        :mod:`weshop_nb.service._identity`.
        """
        task_id = str(task_id)
        body: dict[str, Any] = {"taskId": task_id, "params": dict(params)}
        if callback_url is not None:
            body["callbackUrl"] = _check_url(callback_url, "callback_url")
        with self._ledger.slot(task_id, body["params"]) as slot:
            if not self._ledger.knows(task_id):
                self.get_task(task_id)  # remember what exists, to recognise ours later
            self._ledger.mark(slot)
            # A lost reply is settled by reading the task before anything is sent again.
            reply = self._request(_transport.EXECUTE, json=body, settle=lambda: self._reconcile(slot))
            if isinstance(reply, Execution):
                return reply  # the lost send started it: adopted, not sent again
            data = reply
            execution_id = str(data.get("executionId") or "")
            if not execution_id:
                raise ServiceError("The service started an execution but sent no executionId.")
            self._ledger.claim(task_id, execution_id)
        execution = Execution(
            id=execution_id, status=PENDING, params=dict(params), executed_at=None, results=(), task_id=task_id
        )
        events.emit("execution", execution, source=self.base_url)
        return execution

    def _reconcile(self, slot: Slot) -> Execution | None:
        """After a lost execute reply: the execution it started, or None when it did not start.

        Raises ServiceError when it cannot tell (the task cannot be read, or ours may be
        out of the query's window): then nothing is sent again, since that could start a
        duplicate.
        """
        task_id = slot.task_id
        unknown = (
            f"An execute on task {task_id} may or may not have started, and {{why}}. It was not sent again, "
            f"to avoid a duplicate; check get_task({task_id!r}) later."
        )
        with self._ledger.reconciling(task_id):
            try:
                # Reading is harmless and the answer decides between a duplicate and an
                # orphan: its row of the retry policy insists.
                task = self._read_task(task_id, _transport.RECONCILE_QUERY)
            except (ServiceError, RateLimitError) as exc:
                why = f"the task could not be read to tell ({exc})"
                error = ServiceError(unknown.format(why=why), fate_unknown=True)
            else:
                error = None
            if error is not None:
                raise error  # outside the except: the read's error is in the message, not the context
            choice = self._ledger.choose(slot, task.executions)
        if choice.hidden:
            why = f"all {len(task.executions)} executions a task query shows are newer than it, hiding it if it did"
            raise ServiceError(unknown.format(why=why), fate_unknown=True)
        return choice.execution

    # -- any agent, on either API ------------------------------------------------------

    def start(
        self,
        agent: str,
        params: Mapping[str, Any],
        *,
        input: Mapping[str, Any] | None = None,
        version: str = contract.VERSION,
        callback_url: str | None = None,
    ) -> Execution:
        """Start one execution of ``agent`` with ``params`` on the source images ``input``.

        On the v1 API this creates a task (``input`` as its ``initParams``) and executes it;
        on the runs API it posts one run with an ``Idempotency-Key``, and the execution
        keeps the billing figures the service returns. Local images in ``input`` (paths,
        bytes, PIL images) are checked by the upload rules and uploaded; everything is
        checked against the agent's rules first, so a mistake sends nothing.

        Parameters
        ----------
        agent : str
            An agent name, e.g. ``"virtualtryon"`` (see :meth:`agents`).
        params : mapping
            The execution parameters (see :meth:`agent_spec`).
        input : mapping, optional
            The source images by name, e.g. ``{"originalImage": "garment.jpg"}``, and ``taskName``.
        version : str
            The agent version, ``"v1.0"``.
        callback_url : str, optional
            Where the service posts status changes.

        Raises
        ------
        ParameterError
            When ``params`` or ``input`` break the agent's rules (``.problems`` lists them).
        """
        if callback_url is not None:
            _check_url(callback_url, "callback_url")
        inputs = uploaded(prepare_inputs(agent, version, params, input, api=self.api), self.upload_image)
        if self.api == "v1":
            task = self.create_task(agent, version, **inputs)
            execution = self.execute(task.id, params, callback_url=callback_url)
            return replace(execution, agent_name=agent)
        body = _runs_api.run_body(
            agent, version, inputs, params, safe_generate=self.safe_generate, callback_url=callback_url
        )
        data = _runs_api.start(self, body)
        execution_id, task_id = str(data["executionId"]), str(data.get("taskId") or "")
        execution = Execution(
            id=execution_id,
            status=PENDING,
            params=dict(params),
            executed_at=None,
            results=(),
            task_id=task_id or None,
            agent_name=agent,
            power_consumption=integer(data.get("powerConsumption")),
            power_balance=integer(data.get("powerBalanceAmount")),
        )
        self._remember_run(execution)
        if task_id:
            task = Task(id=task_id, agent_name=agent, agent_version=version, init_params=inputs)
            events.emit("task", task, source=self.base_url)
        events.emit("execution", execution, source=self.base_url)
        return execution

    def estimate(
        self,
        agent: str,
        params: Mapping[str, Any],
        *,
        input: Mapping[str, Any] | None = None,
        version: str = contract.VERSION,
    ) -> Estimate:
        """What starting ``agent`` with ``params`` would cost, in points; nothing is started.

        On the runs API the service estimates it (``power-estimates``; local images in
        ``input`` are uploaded, as the estimate reads the same body as a start). The v1
        API has no estimate: ``points`` is None, and ``extra`` holds what the catalogue's
        price notes tell (a preset fashion model's extra points per image).
        """
        prepared = prepare_inputs(agent, version, params, input, api=self.api)
        if self.api == "v1":
            return v1_estimate(params, lambda: self.agent_info(agent, version))
        inputs = uploaded(prepared, self.upload_image)
        return _runs_api.estimate(
            self, _runs_api.run_body(agent, version, inputs, params, safe_generate=self.safe_generate)
        )

    # -- waiting ---------------------------------------------------------------------

    def wait(
        self,
        execution_id: str,
        *,
        timeout: float | None = 600.0,
        poll_interval: float = 2.0,
        max_interval: float = 15.0,
        raise_on_failure: bool = True,
        on_update: Callable[[Execution], None] | None = None,
    ) -> Execution:
        """Poll an execution until it is ``success`` or ``failed``.

        The interval starts at ``poll_interval`` and grows by half each time nothing
        changed, up to ``max_interval``. A poll that fails for a transient reason
        (service error, rate limit, network) is retried, for up to the client's
        ``give_up_after`` seconds of nothing but failures; the execution is never lost.

        Raises
        ------
        ExecutionFailed
            When it ended ``failed`` and ``raise_on_failure`` (``.execution`` holds it).
        WaitTimeout
            When ``timeout`` seconds passed first (``.execution`` holds the last state seen).
        ServiceError
            When every poll failed for ``give_up_after`` seconds (the message says since when and why).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = poll_interval
        last: Execution | None = None
        failing: tuple[float, float, WeShopError] | None = None  # (monotonic, wall clock, last error)
        while True:
            try:
                current = self.get_execution(execution_id)
            except (ServiceError, RateLimitError) as exc:
                current, pause = last, max(interval, getattr(exc, "retry_after", None) or 0)
                failing = (failing[0], failing[1], exc) if failing else (time.monotonic(), time.time(), exc)
                limit = self.give_up_after
                if limit is not None and time.monotonic() - failing[0] >= limit:
                    since = time.strftime("%H:%M:%S", time.localtime(failing[1]))
                    raise ServiceError(
                        f"Gave up waiting for execution {execution_id}: every poll failed for {limit:g} s "
                        f"(since {since}): {exc}. It goes on at the service; call wait() again later."
                    ) from None
            else:
                failing = None
                changed = last is None or current.status != last.status or len(current.images) != len(last.images)
                interval = _polling.next_interval(interval, poll_interval, max_interval, changed=changed)
                pause = interval
                if changed and on_update is not None:
                    on_update(current)
                if current.done:
                    break
            last = current
            if deadline is not None and time.monotonic() + pause > deadline:
                state = last.status if last else "unknown"
                trouble = f" (polls failing: {failing[2]})" if failing else ""
                raise WaitTimeout(
                    f"Execution {execution_id} still {state} after {timeout:g} s{trouble}; it goes on, "
                    f"call wait() again or get_execution() later.",
                    execution=last,
                )
            time.sleep(pause)
        if current.status == FAILED and raise_on_failure:
            reason = current.error or "no reason given"
            raise ExecutionFailed(f"Execution {execution_id} failed: {reason}", execution=current)
        return current

    # -- result images -----------------------------------------------------------------

    def fetch_image(self, url: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """Download a result or catalogue image (public URL; the key is never sent with it)."""
        _check_url(url, "image URL")

        def take(response: requests.Response) -> tuple[requests.Response, bytes, bool]:
            with response:
                chunks, size = [], 0
                if response.status_code < 400:
                    # In large pieces: a result picture is about 0.7 MB, and each piece costs a pass of Python.
                    for chunk in response.iter_content(1024 * 1024):
                        size += len(chunk)
                        if size > max_bytes:
                            break
                        chunks.append(chunk)
                return _detach(response, read=False), b"".join(chunks), size > max_bytes

        def read(taken: tuple[requests.Response, bytes, bool]) -> bytes:
            reply, data, too_big = taken
            status = reply.status_code
            if status >= 400:
                # A busy or failing host may serve it on the next send; a 404 will not.
                busy = status == 429 or status >= 500
                raise ServiceError(f"Fetching {url} failed with HTTP {status}.", response=reply, fate_unknown=busy)
            if too_big:
                raise ServiceError(f"{url} is larger than {max_bytes} bytes; not downloaded.")
            return data

        return self._request(_transport.PICTURE, url, take=take, read=read, stream=True)
