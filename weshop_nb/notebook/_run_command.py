"""``%%weshop run``: from the cell to a launched run (mixed into the magic).

The arguments become a checked launch plan (:mod:`weshop_nb.work._plan`) before any
request; local files are looked for, names are looked up in the catalogue, the task is
made, and the session launches the plan's jobs. ``--estimate`` prices the sweep instead;
``--wait`` and ``-o VAR`` are :meth:`RunCommand._finish`'s, shared with ``retry`` and
``resume``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .. import contract
from ..contract import is_url
from ..service._errors import WaitTimeout
from ..work._run import WaitInterrupted, interrupted_message
from . import _parsers as magic_parsers
from ._paths import local_file
from ._prompts import prompts_from_cell

__all__ = ["RunCommand"]


class RunCommand:
    """The ``run`` subcommand and what it shares with ``retry`` and ``resume``."""

    # The magic provides these.
    shell: Any
    client: Any
    session: Any
    agent: str
    agent_version: str
    mask_type: str
    generated_content: str
    wait_timeout: float

    def _cmd_run(self, args: Any, cell: str | None) -> Any:
        prompts = prompts_from_cell(cell, self.shell.user_ns if self.shell is not None else {})
        client = self.client
        agent, version = args.agent or self.agent, args.version or self.agent_version
        plan = magic_parsers.launch_plan(
            args,
            prompts,
            agent=agent,
            version=version,
            defaults=(self.mask_type, self.generated_content),
            api=client.api,
        )
        # Local files are looked for before anything is sent.
        pictures = [("--image", args.image), ("--custom-mask", args.custom_mask)]
        pictures += [(f"--input {key}", value) for key, value in getattr(args, "input", None) or []]
        for option, path in pictures:
            if isinstance(path, str) and path and not is_url(path):
                local_file(path, option)
        if plan.locations or plan.fashion_models:  # names or ids as typed: look them up
            info = client.agent_info(agent, version)
            plan = replace(
                plan,
                locations=[info.location(key) for key in plan.locations],
                fashion_models=[info.fashion_model(key) for key in plan.fashion_models],
            )
        if args.estimate:
            return self._estimate(args, plan)
        if plan.custom_mask is not None:
            plan = replace(plan, extra={"customMaskUrl": self._as_url(plan.custom_mask)})
        task = self._task_for(args, plan)
        # A task the user named keeps every execution; tasks made here are sharded (20 at most each).
        run = self.session.launch(plan.jobs(task), callback_url=args.callback, shard=not args.task)
        return self._finish(run, args)

    def _estimate(self, args: Any, plan: Any) -> None:
        """Print what the launch would cost (nothing is started; the runs API needs the images uploaded)."""
        from ..work._estimate import estimate_jobs

        if plan.custom_mask is not None:
            # The mask's URL is part of the body; on v1 nothing is sent, so any URL stands in.
            url = self._as_url(plan.custom_mask) if self.client.api == "runs" else contract.LOCAL_IMAGE
            plan = replace(plan, extra={"customMaskUrl": url})
        task = self._task_for(args, plan, draft=True)
        estimate = estimate_jobs(self.client, plan.jobs(task))
        if args.output:
            self.shell.user_ns[args.output] = estimate
        print(estimate)

    def _as_url(self, source: str) -> str:
        if is_url(source):
            return source
        return self.client.upload_image(local_file(source, "--custom-mask"))

    def _task_for(self, args: Any, plan: Any, *, draft: bool = False) -> Any:
        if args.task:
            return self.client.get_task(args.task)
        return self.session.create_task(plan.agent, plan.version, name=args.name, inputs=plan.inputs(), draft=draft)

    def _finish(self, run: Any, args: Any) -> Any:
        """Store a run in ``-o VAR`` and wait for it when asked (``run``, ``retry`` and ``resume``)."""
        if args.output:
            self.shell.user_ns[args.output] = run
        if args.wait:
            try:
                run.wait(timeout=self.wait_timeout)
            except WaitTimeout:
                name = args.output or "the run"
                print(f"Still running after {self.wait_timeout:g} s; {name} keeps updating (call .wait() again).")
            except WaitInterrupted:
                # Ctrl-C: the run is returned (and shown) as it stands; `_` holds it without -o.
                print(interrupted_message(run, args.output or "_"))
        return run
