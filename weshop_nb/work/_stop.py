"""Stopping: Ctrl-C during a wait, and stopping the watchers of a run.

The service has no call that cancels an execution: once launched it runs to the end
(and is billed) whatever the notebook does. So Ctrl-C ends only the *wait*, and
``Run.stop()`` ends only the *watching*; both say so, and say how to watch again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._runs import Run

__all__ = ["WaitInterrupted", "interrupted_message", "stopped_message", "NO_CANCEL"]

NO_CANCEL = "it has no cancel call"


def _unfinished(run: Run) -> int:
    return sum(not item.done for item in run.items)


def interrupted_message(run: Run, name: str = "run") -> str:
    """The one line shown when Ctrl-C ends a wait."""
    return (
        f"Stopped waiting: {_unfinished(run)} of {len(run.items)} execution(s) go on at the service "
        f"({NO_CANCEL}) and are still watched here; `{name}.wait()` waits again, `{name}.stop()` stops watching."
    )


def stopped_message(run: Run, name: str = "run") -> str:
    """What ``Run.stop()`` leaves behind, in one line (shown with the run's counts)."""
    return (
        f"stopped watching; {_unfinished(run)} execution(s) go on at the service ({NO_CANCEL}): "
        f"`{name}.start()` watches them again"
    )


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C ended ``Run.wait()``; the executions go on and are still watched.

    IPython shows it as its one-line message instead of a traceback (through
    ``_render_traceback_``), since the interrupted frames are only the wait's.
    """

    def __init__(self, message: str, run: Run) -> None:
        super().__init__(message)
        self.run = run

    def __str__(self) -> str:
        return str(self.args[0])

    def _render_traceback_(self) -> list[str]:
        return [str(self)]
