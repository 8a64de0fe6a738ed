"""Any agent, on either API: ``start``, ``estimate``, the registry, and the catalogue's pages.

:class:`AgentCalls` is part of :class:`~weshop_nb.service._client.WeShopClient`; it holds
what is the same whichever API the client speaks: the local checks of the agent registry
(:mod:`weshop_nb.contract`) before any request, the upload of local images, and the
announcements to the history. What differs is one branch: on ``v1`` a start creates a
task and executes it; on ``runs`` it posts one run (:mod:`._runs_api`).

Agents the registry does not know (or versions it does not describe) are passed through
unchecked, with one :class:`UncheckedAgentWarning` per agent and version saying so: the
service may well know agents this version of weshop_nb does not.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .. import contract
from ..contract import LOCAL_IMAGE, is_url
from . import _events as events
from . import _runs_api
from ._catalogue import AgentInfo, Estimate
from ._errors import InvalidRequestError, ParameterError
from ._models import PENDING, Execution, Task

__all__ = ["AgentCalls", "UncheckedAgentWarning", "read_info_pages"]

#: A catalogue is read a page at a time; this many at most (the service allows 100 per page).
INFO_PAGE_SIZE, INFO_MAX_PAGES = 100, 50
_POINTS = re.compile(r"(\d+)\s*points?", re.IGNORECASE)


class UncheckedAgentWarning(UserWarning):
    """An agent (or version) the registry does not describe: its parameters are sent unchecked."""


def read_info_pages(get: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Every page of an agent's catalogue, as one reply's ``data``.

    ``get(query)`` returns one page's ``data``. A reply without ``pagination`` is the whole
    catalogue (as the v1 reference shows it); otherwise pages are read until each list
    says it is on its last page.
    """
    first = get({**params, "page": 1, "pageSize": INFO_PAGE_SIZE})
    merged = dict(first)
    pages = first
    for number in range(2, INFO_MAX_PAGES + 1):
        pagination = pages.get("pagination")
        if not isinstance(pagination, Mapping):
            break
        going = [k for k, v in pagination.items() if isinstance(v, Mapping) and v.get("isLastPage") is False]
        if not going:
            break
        pages = get({**params, "page": number, "pageSize": INFO_PAGE_SIZE})
        for key in going:
            merged[key] = [*merged.get(key, []), *(pages.get(key) or [])]
    merged.pop("pagination", None)
    return merged


class AgentCalls:
    """The client's calls for any agent (mixed into ``WeShopClient``)."""

    api: str
    safe_generate: bool
    base_url: str

    # -- the registry ----------------------------------------------------------------

    def agents(self) -> list[str]:
        """Names of the agents weshop_nb describes (its registry), in order."""
        return contract.agents()

    def agent_spec(self, name: str) -> contract.AgentSpec | None:
        """The registry's description of agent ``name`` (inputs, parameters, rules), or None."""
        return contract.spec(name)

    # -- local checks and images -------------------------------------------------------

    def _prepared_inputs(
        self, agent: str, version: str, params: Mapping[str, Any], inputs: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """``inputs`` with local images checked by the upload rules, then the agent's rules; nothing sent yet.

        Returns the inputs with each local image as its checked :class:`ImageFile`.
        """
        from ._images import ImageFile, prepare_upload

        if not isinstance(params, Mapping):
            raise ParameterError("params must be a mapping of parameter names to values.")
        spec = contract.spec(agent)
        if spec is not None and version != spec.version:
            spec = None
        if spec is None:
            warnings.warn(
                f"{agent} {version} is not in weshop_nb's agent registry ({', '.join(contract.agents())} "
                f"{contract.VERSION}): its parameters are sent unchecked.",
                UncheckedAgentWarning,
                stacklevel=3,
            )
        images = {i.name for i in spec.inputs} if spec is not None else None

        def local(key: str, value: Any) -> bool:
            if isinstance(value, ImageFile):
                return True
            if isinstance(value, str):  # a path for an image input of a known agent, else a value as given
                return images is not None and key in images and not is_url(value)
            return not isinstance(value, (int, float, bool, type(None), Mapping))

        def prepare(key: str, value: Any) -> Any:
            if isinstance(value, list):
                return [prepare(key, v) for v in value]
            return (value if isinstance(value, ImageFile) else prepare_upload(value)) if local(key, value) else value

        prepared = {key: prepare(key, value) for key, value in dict(inputs or {}).items()}
        if spec is not None:
            stand_in = {k: _stand_in(v) for k, v in prepared.items()}
            problems = spec.check(params, stand_in if inputs is not None else None, api=self.api)
            if problems:
                raise ParameterError(f"{agent}: " + " ".join(p.message for p in problems), problems=problems)
        return prepared

    def _uploaded(self, prepared: Mapping[str, Any]) -> dict[str, Any]:
        from ._images import ImageFile

        def url(value: Any) -> Any:
            if isinstance(value, list):
                return [url(v) for v in value]
            return self.upload_image(value) if isinstance(value, ImageFile) else value

        return {key: url(value) for key, value in prepared.items()}

    # -- start -------------------------------------------------------------------------

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
        from ._envelope import check_url

        if callback_url is not None:
            check_url(callback_url, "callback_url")
        inputs = self._uploaded(self._prepared_inputs(agent, version, params, input))
        if self.api == "v1":
            task = self.create_task(agent, version, **inputs)  # type: ignore[attr-defined]
            execution = self.execute(task.id, params, callback_url=callback_url)  # type: ignore[attr-defined]
            return replace(execution, agent_name=agent)
        body = _runs_api.run_body(
            agent, version, inputs, params, safe_generate=self.safe_generate, callback_url=callback_url
        )
        data = _runs_api.start(self, body)  # type: ignore[arg-type]
        execution_id, task_id = str(data["executionId"]), str(data.get("taskId") or "")
        execution = Execution(
            id=execution_id,
            status=PENDING,
            params=dict(params),
            executed_at=None,
            results=(),
            task_id=task_id or None,
            agent_name=agent,
            power_consumption=_number(data.get("powerConsumption")),
            power_balance=_number(data.get("powerBalanceAmount")),
        )
        self._remember_run(execution)  # type: ignore[attr-defined]
        if task_id:
            task = Task(id=task_id, agent_name=agent, agent_version=version, init_params=inputs)
            events.emit("task", task, source=self.base_url)
        events.emit("execution", execution, source=self.base_url)
        return execution

    # -- estimate ------------------------------------------------------------------------

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
        prepared = self._prepared_inputs(agent, version, params, input)
        if self.api == "v1":
            return self._v1_estimate(agent, version, params)
        body = _runs_api.run_body(agent, version, self._uploaded(prepared), params, safe_generate=self.safe_generate)
        return _runs_api.estimate(self, body)  # type: ignore[arg-type]

    def _v1_estimate(self, agent: str, version: str, params: Mapping[str, Any]) -> Estimate:
        unknown = "unknown: the v1 API has no cost estimate (WESHOP_API=runs asks the service)"
        model_id = params.get("fashionModelId")
        if model_id is None:
            return Estimate(points=None, note=unknown)
        info: AgentInfo = self.agent_info(agent, version)  # type: ignore[attr-defined]
        model = info.fashion_model(model_id)
        found = _POINTS.search(model.price_description or "")
        if found is None:
            return Estimate(points=None, note=f"{unknown}; the fashion model {model.name} has no price note")
        each, batch = int(found.group(1)), _number(params.get("batchCount"))
        if batch is None:
            note = f"{unknown}; the fashion model {model.name} adds {each} points per image"
            return Estimate(points=None, note=note)
        note = f"{unknown}; the fashion model {model.name} adds {each} points per image, {each * batch} for {batch}"
        return Estimate(points=None, note=note, extra=each * batch)


def _stand_in(value: Any) -> Any:
    """A local image as the checks should see it: any http(s) URL (it becomes one when uploaded)."""
    from ._images import ImageFile

    if isinstance(value, list):
        return [_stand_in(v) for v in value]
    return LOCAL_IMAGE if isinstance(value, ImageFile) else value


def _number(value: Any) -> int | None:
    try:
        return None if value in (None, "") or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def check_api(value: Any, what: str) -> str:
    """``value`` as an API name (``v1`` or ``runs``); :class:`InvalidRequestError` naming the rule otherwise."""
    from ..config import APIS

    text = str(value).strip().lower() if isinstance(value, str) else value
    if text not in APIS:
        raise InvalidRequestError(f"{what} must be one of {', '.join(APIS)}, got {value!r}.")
    return text
