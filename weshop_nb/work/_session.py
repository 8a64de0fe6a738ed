"""A notebook session's working set: the client, the thumbnail cache, and how runs are launched.

The magic and the widget studio both hold one; widgets never send HTTP themselves, they
call these methods.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import contract
from ..config import home_dir
from ..service._errors import RateLimitError, ServiceError, WeShopError
from ..service._events import warn_once
from ..service._images import thumbnail
from ..service._thumbnails import ThumbnailCache
from ..service._transport import DEFAULT_GIVE_UP_AFTER
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
        from ._launch import launch

        jobs = list(jobs)
        run = launch(
            self.client,
            jobs,
            shard=shard,
            max_concurrent=self.max_concurrent,
            callback_url=callback_url,
            first_poll=self.expected_latency(jobs[0].task.agent_name) if jobs else None,
            **self._watching(width),
        )
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
