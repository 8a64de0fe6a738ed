"""A notebook session's working set: the client, the thumbnail cache, and how runs are launched.

The magic and the widget studio both hold one; widgets never send HTTP themselves, they
call these methods.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import contract
from ..config import home_dir
from ..service._errors import RateLimitError, ServiceError, WeShopError
from ..service._events import warn_once
from ..service._images import thumbnail
from ..service._polling import DEFAULT_GIVE_UP_AFTER
from ..service._thumbnails import ThumbnailCache
from ._html import ICON_WIDTH, pixels

if TYPE_CHECKING:
    import pandas as pd

    from ..service._catalogue import AgentInfo
    from ..service._client import WeShopClient
    from ..service._models import Task
    from ._estimate import SweepEstimate
    from ._history import History
    from ._jobs import Job
    from ._plan import LaunchPlan
    from ._run import Run


class Session:
    """One client and the settings that shape launches and pictures.

    Parameters
    ----------
    thumbnail_size : int
        CSS width in pixels of an execution's card in run grids.
    picture_format : {"webp", "jpeg"}
        How pictures are embedded in outputs: WebP (smaller; every current browser, GitHub,
        VS Code) or JPEG for a front-end that cannot show WebP.
    """

    def __init__(
        self,
        client: WeShopClient,
        *,
        thumbnail_size: int = 192,
        picture_format: str = "webp",
        poll_interval: float = 2.0,
        max_poll_interval: float = 15.0,
        max_concurrent: int = 8,
        give_up_after: float | None = DEFAULT_GIVE_UP_AFTER,
    ) -> None:
        self.client = client
        self.runs: list[Run] = []
        self._uploads: dict[tuple[str, str], str] = {}  # (service, sha256 of a picture) -> its uploaded URL
        self.configure(
            thumbnail_size=thumbnail_size,
            picture_format=picture_format,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            max_concurrent=max_concurrent,
            give_up_after=give_up_after,
        )

    def configure(
        self,
        *,
        thumbnail_size: int,
        poll_interval: float,
        max_poll_interval: float,
        max_concurrent: int,
        picture_format: str = "webp",
        give_up_after: float | None = DEFAULT_GIVE_UP_AFTER,
    ) -> None:
        """Change the settings; the next launch uses them (runs under way keep theirs)."""
        # The client's: its wait() and the runs made with it give up after the same outage.
        self.client.give_up_after = give_up_after
        self.width = thumbnail_size
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.max_concurrent = max_concurrent
        current = getattr(self, "thumbnails", None)
        if current is None or current.format != picture_format:
            # One cache for every small picture, each kept at the pixel widths it is shown at.
            folder = home_dir() / "thumbnails"
            self.thumbnails = ThumbnailCache(
                self.client.fetch_image, width=pixels(thumbnail_size), format=picture_format, directory=folder
            )
        self.thumbnails.width = pixels(thumbnail_size)

    def __repr__(self) -> str:
        return f"<Session {self.client!r}>"

    def agent_info(self, agent: str, version: str) -> AgentInfo:
        return self.client.agent_info(agent, version)

    def thumbnail(self, url: str | None, width: int | None = None) -> bytes:
        """``url`` small enough to show ``width`` CSS pixels wide (a card's by default), cached
        on disk; or ``b""`` when it cannot be had."""
        return self.thumbnails.get_or_empty(url, pixels(width or self.width)) if url else b""

    def icon(self, url: str | None) -> bytes:
        """``url`` as a catalogue thumbnail (tables and pickers), or ``b""``."""
        return self.thumbnail(url, ICON_WIDTH)

    def picture(self, url: str, max_side: int = 768) -> bytes:
        """A larger JPEG of ``url`` for a detail view (not cached)."""
        return thumbnail(self.client.fetch_image(url), max_side)

    def clip(self, url: str) -> bytes:
        """The bytes of a short clip (an animated picture) for a detail view, as the service sends them."""
        return self.client.fetch_image(url)

    def create_task(
        self,
        agent: str,
        version: str,
        image: Any = None,
        name: str | None = None,
        *,
        inputs: Any = None,
        draft: bool = False,
    ) -> Task:
        """The task a launch runs on: ``image`` fills the agent's main input, ``inputs`` the others.

        Local images (paths, bytes, PIL images) are all read and checked by the upload
        rules before the first upload, so a bad one sends nothing. On the v1 API the task
        is created; on the runs API every run makes its own task, so this is a draft (no
        id) that each job of the launch starts from. ``draft=True`` makes a draft on
        either API (for an estimate): nothing is created, and on v1 nothing is uploaded.
        """
        from ..contract import spec as agent_spec
        from ..service._models import Task

        found = agent_spec(agent)
        init: dict[str, Any] = dict(inputs or {})
        if image is not None:
            main = found.main_input if found is not None else None
            if main is None:
                init["originalImage"] = image
            else:
                init[main.name] = [image] if main.multiple else image
        init = self._prepared(init)
        if not draft or self.client.api == "runs":
            init = {key: self._uploaded(value) for key, value in init.items()}
        if name:
            init["taskName"] = name
        if draft or self.client.api == "runs":
            return Task(id="", agent_name=agent, agent_version=version, init_params=init)
        return self.client.create_task(agent, version, **init)

    @staticmethod
    def _prepared(inputs: dict[str, Any]) -> dict[str, Any]:
        """Local images read and checked (no request yet); URLs as they are."""
        from ..service._images import prepare_upload

        def one(value: Any) -> Any:
            if isinstance(value, list):
                return [one(v) for v in value]
            if contract.is_url(value):
                return value
            return prepare_upload(os.path.expanduser(value) if isinstance(value, str) else value)

        return {key: one(value) for key, value in inputs.items()}

    def _uploaded(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._uploaded(v) for v in value]
        if isinstance(value, str):
            return value
        # Each picture is sent once per session: the studio estimates on the runs API
        # (which reads uploaded URLs) whenever its choices change, then launches.
        key = (self.client.base_url, value.sha256)
        url = self._uploads.get(key)
        if url is None:
            url = self._uploads[key] = self.client.upload_image(value)
        return url

    # -- garment sets: many pictures, one sweep ------------------------------------------

    def check_pictures(self, names: Sequence[str]) -> dict[str, Any]:
        """Every local picture of ``names`` read and checked by the upload rules (URLs as they are).

        Nothing is sent. Every broken picture is named in one :class:`ImageValidationError`.
        """
        from ..service._errors import ImageValidationError
        from ..service._images import prepare_upload

        checked: dict[str, Any] = {}
        broken: list[tuple[str, ImageValidationError]] = []
        for name in names:
            if contract.is_url(name):
                checked[name] = name
                continue
            try:
                checked[name] = prepare_upload(name)
            except ImageValidationError as exc:
                broken.append((name, exc))
        if len(names) == 1 and broken:
            raise broken[0][1]  # one picture: its own sentence
        if broken:
            said = " ".join(
                str(exc) if str(exc).startswith(os.path.basename(name)) else f"{name}: {exc}" for name, exc in broken
            )
            verb = "breaks" if len(broken) == 1 else "break"
            raise ImageValidationError(
                f"{len(broken)} of {len(names)} pictures {verb} the upload rules; nothing was uploaded or launched. "
                + said,
                rule="set",
            )
        return checked

    def upload_once(self, picture: Any, history: History | None, *, again: bool = False) -> str:
        """The URL of a checked picture on this service: from the history's upload cache, else uploaded
        (and remembered there, so another kernel uploads nothing). ``again`` uploads anew (the service
        refused the cached URL)."""
        if isinstance(picture, str):
            return picture
        source = self.client.base_url
        key = (source, picture.sha256)
        if again:
            self._uploads.pop(key, None)
            # The client keeps its own cache by content; the refused URL must not come back from it.
            with self.client._lock:
                self.client._uploads.pop(picture.sha256, None)
            if history is not None:
                _quietly(history.remember_upload, source, picture.sha256, None)
        url = None if again else self._uploads.get(key)
        if url is None and history is not None and not again:
            url = _quietly(history.known_upload, source, picture.sha256)
        if url is None:
            url = self.client.upload_image(picture)
            if history is not None:
                _quietly(history.remember_upload, source, picture.sha256, url)
        self._uploads[key] = url
        return url

    def set_tasks(
        self, plan: LaunchPlan, checked: Mapping[str, Any], *, name: str | None = None, draft: bool = False
    ) -> list[tuple[str, Task]]:
        """One task per picture of the set (``checked``: name -> checked picture), made concurrently.

        Each distinct picture is uploaded once (across kernels: the history's upload cache). A
        task the service refuses on a cached URL is made again once with the picture uploaded anew.
        On the runs API (or with ``draft``) the tasks are drafts: each job starts its own run.
        """
        from concurrent.futures import ThreadPoolExecutor

        from ._history import default_history
        from ._records import remember_input_image

        history = default_history()
        main_name = self._main_name(plan)
        inputs = plan.inputs() or {}
        # The set's picture is the first of the main input; a list's further places (the
        # garment after the person: ai-clothes-changer) are the same for every picture.
        rest = inputs[main_name][1:] if isinstance(inputs.get(main_name), list) else []
        shared = self._prepared({key: value for key, value in inputs.items() if key != main_name})
        rest = self._prepared({main_name: rest})[main_name]
        if not draft or self.client.api == "runs":
            shared = {key: self._uploaded(value) for key, value in shared.items()}
            rest = self._uploaded(rest)

        def make(picture_name: str) -> Task:
            picture = checked[picture_name]
            if draft and self.client.api != "runs":
                url = picture if isinstance(picture, str) else contract.LOCAL_IMAGE
                return self._draft(plan, {**self._main(plan, url, contract.stand_in(rest)), **shared}, name)
            url = self.upload_once(picture, history)
            try:
                return self._task(plan, {**self._main(plan, url, rest), **shared}, name)
            except (ServiceError, RateLimitError):
                raise
            except WeShopError:
                if isinstance(picture, str):
                    raise
                # The service refused the task: a cached URL it no longer knows. Upload once more.
                url = self.upload_once(picture, history, again=True)
                return self._task(plan, {**self._main(plan, url, rest), **shared}, name)

        names = list(checked)
        with ThreadPoolExecutor(max_workers=max(1, min(self.max_concurrent, len(names)))) as pool:
            tasks = list(pool.map(make, names))
        for picture_name, task in zip(names, tasks, strict=True):
            if task.id:
                remember_input_image(self.client.base_url, picture_name, task_id=task.id)
        return list(zip(names, tasks, strict=True))

    @staticmethod
    def _main_name(plan: LaunchPlan) -> str:
        found = plan.spec
        main = found.main_input if found is not None else None
        return main.name if main is not None else "originalImage"

    def _main(self, plan: LaunchPlan, url: str, rest: Sequence[Any] = ()) -> dict[str, Any]:
        """The main input: ``url``, and for a list the places after it (``rest``)."""
        found = plan.spec
        main = found.main_input if found is not None else None
        return {self._main_name(plan): [url, *rest] if main is not None and main.multiple else url}

    def _draft(self, plan: LaunchPlan, init: dict[str, Any], name: str | None) -> Task:
        from ..service._models import Task

        init = {**init, **({"taskName": name} if name else {})}
        return Task(id="", agent_name=plan.agent, agent_version=plan.version, init_params=init)

    def _task(self, plan: LaunchPlan, init: dict[str, Any], name: str | None) -> Task:
        if self.client.api == "runs":
            return self._draft(plan, init, name)
        return self.client.create_task(plan.agent, plan.version, **init, **({"taskName": name} if name else {}))

    def estimate_set(self, plan: LaunchPlan) -> SweepEstimate:
        """What launching ``plan`` over its whole set of pictures would cost; nothing is created or billed.

        Each distinct execution (the same parameters and inputs) is estimated once.
        """
        from ._estimate import estimate_jobs

        names = plan.pictures()
        checked = self.check_pictures(names) if names else {}
        pairs = self.set_tasks(plan, checked, draft=True) if names else []
        jobs = [job for name, task in pairs for job in plan.jobs(task, input_image=name)]
        return estimate_jobs(self.client, jobs)

    def launch_set(
        self,
        plan: LaunchPlan,
        *,
        name: str | None = None,
        callback_url: str | None = None,
        skip_done: bool = False,
        budget: int | None = None,
        width: int | None = None,
        say: Callable[[str], None] = print,
        pictures: Mapping[str, Any] | None = None,
    ) -> Run:
        """Launch ``plan`` over every picture of its set: one task per picture, sharded at 20.

        Every picture is checked against the upload rules before anything is sent. With
        ``budget`` (points) the whole set is estimated first and refused when it costs more.
        With ``skip_done`` a combination (the picture's content and every parameter) that
        already succeeded here is taken from the history, and one still unfinished there is
        watched again; only the rest is launched. ``say`` hears the one-line notes.
        ``pictures`` (name -> checked picture, as the studio's source picker holds them)
        stands for the plan's set when the pictures are already read and checked.
        """
        from dataclasses import replace

        from ._history import default_history
        from ._jobs import Job
        from ._launch import LaunchInterrupted, done_combinations, launch

        checked = dict(pictures) if pictures is not None else self.check_pictures(plan.pictures())
        if budget is not None:
            self.check_budget(plan, budget)
        # Every combination on a draft of its picture's task first: what is already done needs no task.
        drafts = {picture: self._draft(plan, {}, name) for picture in checked}
        entries: list[Any] = [job for picture in checked for job in plan.jobs(drafts[picture], input_image=picture)]
        if skip_done:
            keys = {picture: _picture_key(value) for picture, value in checked.items()}
            entries, line = done_combinations(self.client.base_url, default_history(), entries, keys)
            say(line)
        wanted = {entry.input_image: None for entry in entries if isinstance(entry, Job)}
        tasks = dict(self.set_tasks(plan, {p: checked[p] for p in checked if p in wanted}, name=name))
        entries = [
            replace(entry, task=tasks[entry.input_image]) if isinstance(entry, Job) else entry for entry in entries
        ]
        try:
            run = launch(
                self.client,
                entries,
                max_concurrent=self.max_concurrent,
                callback_url=callback_url,
                first_poll=self.expected_latency(plan.agent),
                **self._watching(width),
            )
        except LaunchInterrupted as stopped:
            self.runs.append(stopped.run)
            raise
        self.runs.append(run)
        return run

    def check_budget(self, plan: LaunchPlan, budget: int) -> None:
        """Refuse (``BudgetError``) a launch whose estimate is over ``budget`` points, or that cannot be estimated."""
        from ._estimate import BudgetError

        if self.client.api != "runs":
            raise BudgetError(
                "--budget cannot be checked on the v1 API: it has no estimate of what a launch costs, so "
                "nothing was launched. Launch without --budget, or use the agent-runs API (WESHOP_API=runs)."
            )
        estimate = self.estimate_set(plan)
        if estimate.points is None:
            raise BudgetError(
                f"The cost is unknown ({estimate}); --budget {budget} cannot be checked. Nothing was launched."
            )
        if estimate.points > budget:
            raise BudgetError(
                f"Over budget: the launch would cost {estimate.points} points for {estimate.count} "
                f"{'execution' if estimate.count == 1 else 'executions'}, above --budget {budget}. "
                "Nothing was launched."
            )

    def estimate(self, plan: LaunchPlan) -> SweepEstimate:
        """What launching ``plan`` would cost; nothing is created or billed.

        On the runs API the service estimates each distinct execution (its images are
        uploaded first, once per session); on v1 the total is unknown and only the
        catalogue's price notes are summed.
        """
        from ._estimate import estimate_jobs

        task = self.create_task(plan.agent, plan.version, inputs=plan.inputs(), draft=True)
        return estimate_jobs(self.client, plan.jobs(task))

    def launch(
        self, jobs: Iterable[Job], *, callback_url: str | None = None, shard: bool = True, width: int | None = None
    ) -> Run:
        """Start ``jobs`` and watch them: spread over tasks of at most 20 unless ``shard=False``
        (jobs on a task the user named), first polled after the agent's expected latency.
        ``width``: the CSS width of the run's cards (the session's by default)."""
        from ._launch import LaunchInterrupted, launch

        jobs = list(jobs)
        try:
            run = launch(
                self.client,
                jobs,
                shard=shard,
                max_concurrent=self.max_concurrent,
                callback_url=callback_url,
                first_poll=self.expected_latency(jobs[0].task.agent_name) if jobs else None,
                **self._watching(width),
            )
        except LaunchInterrupted as stopped:  # what started is one of this session's runs all the same
            self.runs.append(stopped.run)
            raise
        self.runs.append(run)
        return run

    def retry(self, run: Run, which: Any = None) -> Run:
        """Launch again the failed executions of ``run`` (or those in ``which``), as ``run.retry`` does.

        The new run is launched the way ``run`` was (its ``launch_options``: thumbnails,
        polling, ``max_concurrent``, ``width``, ``callback_url``) and is one of this session's runs.
        """
        from ._launch import retry

        again = retry(run, which)
        self.runs.append(again)
        return again

    def expected_latency(self, agent: str | None) -> float:
        """Seconds an execution of ``agent`` takes here, learnt from the history; else the poll interval."""
        from ._history import default_history

        history = default_history()
        try:
            learnt = history.typical_latency(agent, self.client.base_url) if history is not None and agent else None
        except WeShopError:  # an unreadable history only costs the estimate
            learnt = None
        return self.poll_interval if learnt is None else learnt

    def _watching(self, width: int | None = None) -> dict[str, Any]:
        """How this session's runs are watched and drawn (cards ``width`` wide, the session's by default)."""
        return {
            "thumbnails": self.thumbnails,
            "poll_interval": self.poll_interval,
            "max_interval": self.max_poll_interval,
            "width": width or self.width,
        }

    def unfinished(self, history: History) -> pd.DataFrame:
        """The executions to watch again, once the tasks of unfinished runs were fetched from the service.

        A kernel that died mid-launch may have started executions whose replies it never
        read: the history has not seen them, but it has seen their task. Those tasks (and
        tasks with no execution recorded at all) are synced first, so resuming finds them.
        A task that cannot be fetched now is skipped with a warning; what the history
        holds of it is still watched. On the runs API nothing is synced: every run makes
        its own task when it starts, so a start whose reply was lost left no task behind.
        """
        source = self.client.base_url
        if self.client.api != "v1":
            return history.unfinished(source=source)
        tasks = dict.fromkeys([*history.unfinished(source=source)["task_id"].dropna(), *history.idle_task_ids(source)])
        for task_id in tasks:
            try:
                history.sync(self.client, str(task_id))
            except (ServiceError, RateLimitError) as exc:
                warn_once(f"could not fetch task {task_id} before resuming", exc)
        gone = set(history.task_ids(source, include_deleted=True)) - set(history.task_ids(source))
        unfinished = history.unfinished(source=source)
        ended = unfinished["task_id"].isin(gone)
        if ended.any():  # their tasks are gone: they will never be seen to finish
            self.end_gone(unfinished[ended], "the service no longer has it")
            unfinished = unfinished[~ended]
        return unfinished

    def end_gone(self, executions: pd.DataFrame, detail: str) -> None:
        """Give these executions (history records of tasks that are gone) their final state: failed,
        the reason saying the task is gone and the outcome unknown; the history hears it as from the client."""
        from dataclasses import replace

        from ..contract import FAILED
        from ..service._events import emit
        from ._records import job_from_row
        from ._watch import gone_reason

        for row in executions.to_dict("records"):
            _, execution = job_from_row(row)
            reason = gone_reason(execution.task_id or row.get("task_id"), detail)
            emit("execution", replace(execution, status=FAILED, raw={"message": reason}), source=self.client.base_url)

    def delete_task(self, task_id: str) -> None:
        """Delete a task at the service; its executions the history holds as unfinished end failed there."""
        from ._history import default_history

        self.client.delete_task(task_id)
        history = default_history()
        if history is not None:
            try:
                unfinished = history.unfinished(source=self.client.base_url)
            except WeShopError as exc:  # an unreadable history only costs the bookkeeping
                warn_once("could not end the deleted task's executions in the history", exc)
                return
            self.end_gone(unfinished[unfinished["task_id"] == task_id], "deleted with %weshop delete")

    def resume(self, unfinished: Any) -> Run:
        """Watch again the executions of ``History.unfinished()``."""
        from ._launch import resume

        run = resume(self.client, unfinished, max_concurrent=self.max_concurrent, **self._watching())
        self.runs.append(run)
        return run

    def close(self) -> None:
        for run in self.runs:
            run.stop()


def _listed(values: Any) -> list[Any]:
    """One value or several (a list, a tuple, a Series) as a list; None and "" as none."""
    if values is None or (isinstance(values, str) and not values.strip()):
        return []
    if isinstance(values, (str, int)) or not hasattr(values, "__iter__"):
        return [values]
    return list(values)


def launch_pictures(
    session: Session,
    images: Any,
    *,
    prompts: Any = (),
    locations: Any = (),
    models: Any = (),
    agent: str = "aimodel",
    version: str | None = None,
    params: Mapping[str, Any] | None = None,
    wait: bool = False,
    skip_done: bool = False,
    budget: int | None = None,
    repeat: int = 1,
    say: Callable[[str], None] = print,
    **options: Any,
) -> Run:
    """``weshop_nb.launch``: the launch plan of ``%%weshop run`` built from Python values, launched by ``session``."""
    from dataclasses import replace

    from ._launch import NOTHING_STARTED, LaunchInterrupted
    from ._pictures import expand_pictures
    from ._plan import LaunchPlan, PlanError

    unknown = sorted(set(options) - {*_PLAN_OPTIONS, "inputs", "name", "callback_url"})
    if unknown:
        known = ", ".join([*_PLAN_OPTIONS, "inputs", "name", "callback_url"])
        raise TypeError(f"launch() got unknown option(s) {', '.join(unknown)}; its options: {known}.")
    found = contract.spec(agent)
    pictures = expand_pictures(images, "images", unique=False)
    if not pictures:
        raise ValueError("launch() needs images: a file, an image URL, a glob, a folder, or a list of them.")
    values = tuple((key, tuple(_listed(value)) or (value,)) for key, value in (params or {}).items())
    pairs = tuple((key, one) for key, value in (options.get("inputs") or {}).items() for one in _listed(value))
    plan = LaunchPlan(
        agent=agent,
        version=version or (found.version if found is not None else "v1.0"),
        prompts=tuple(str(p) for p in _listed(prompts)),
        locations=tuple(_listed(locations)),
        fashion_models=tuple(_listed(models)),
        **{key: options[key] for key in _PLAN_OPTIONS if key in options},
        param_values=values,
        image=pictures[0],
        images=tuple(pictures),
        input_pairs=pairs,
        repeat=repeat,
        api=session.client.api,
    )
    plan.check()
    if plan.locations or plan.fashion_models:
        info = session.agent_info(plan.agent, plan.version)
        plan = replace(
            plan,
            locations=[info.location(key) for key in plan.locations],
            fashion_models=[info.fashion_model(key) for key in plan.fashion_models],
        )
    plan, line = plan.collapsed()
    if line:
        say(line)
    refused, sentence = plan.without_prompt('To add one: launch(..., prompts="...") (a list sweeps).')
    if refused:
        raise PlanError(sentence)
    if sentence:
        say(sentence)
    if plan.custom_mask is not None:
        mask = plan.custom_mask
        url = mask if contract.is_url(mask) else session.client.upload_image(os.path.expanduser(mask))
        plan = replace(plan, extra={"customMaskUrl": url})
    try:
        run = session.launch_set(
            plan,
            name=options.get("name"),
            callback_url=options.get("callback_url"),
            skip_done=skip_done,
            budget=budget,
            say=say,
        )
    except LaunchInterrupted as stopped:
        say(stopped.message("run"))
        return stopped.run
    except KeyboardInterrupt:
        say(NOTHING_STARTED)  # while uploading or making tasks: no execution was sent
        raise
    if wait:
        run.wait()
    return run


#: ``launch()``'s options that are fields of the launch plan (``--mask`` and the others).
_PLAN_OPTIONS = ("mask", "custom_mask", "mode", "pose", "generate_version", "batch", "negative")


def _picture_key(picture: Any) -> str:
    """What makes two pictures the same: the content hash of a local picture, the URL of a remote one."""
    return picture if isinstance(picture, str) else f"sha256:{picture.sha256}"


def _quietly(call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)``, or None when the history cannot be used (the cache only saves uploads)."""
    try:
        return call(*args)
    except WeShopError as exc:
        warn_once("the history's upload cache could not be used", exc)
        return None
