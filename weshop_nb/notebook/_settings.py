"""The magic's settings and environment: checked values, and a key or URL changed underneath.

``%config WeShopMagics.x = ...`` goes through :func:`check_setting`: a value outside its
range is refused with the setting's help text, and nothing changes. :class:`EnvWatch`
notices when ``WESHOP_API_KEY`` or ``WESHOP_BASE_URL`` changed since the session's
client was made, so the next command uses the new ones (as ``%weshop login`` would).
It keeps only digests of the values, never the key itself.
"""

from __future__ import annotations

import hashlib
from typing import Any

from traitlets import TraitError

from ..config import API_KEY_VAR, BASE_URL_VAR, environ_value

__all__ = ["SettingError", "RANGES", "check_setting", "EnvWatch"]

#: Allowed ranges of the numeric settings: (lowest, lowest allowed itself?, highest).
RANGES: dict[str, tuple[float, bool, float | None]] = {
    "poll_interval": (0.0, False, 3600.0),
    "max_poll_interval": (0.0, False, 3600.0),
    "thumbnail_size": (16, True, 2048),
    "max_concurrent_launches": (1, True, 64),
    "wait_timeout": (0.0, False, None),
    "demo_latency": (0.0, True, 600.0),
    "give_up_after": (0.0, False, None),
}


class SettingError(TraitError):
    """A setting given a value it cannot take; IPython shows the message alone, no traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"SettingError: {self}"]


def check_setting(name: str, value: Any, help_text: str) -> Any:
    """``value`` when ``name`` may take it; :class:`SettingError` with the help text otherwise."""
    low, low_allowed, high = RANGES[name]
    too_low = value < low or (value == low and not low_allowed)
    if too_low or (high is not None and value > high):
        lowest = f"at least {low:g}" if low_allowed else f"more than {low:g}"
        rule = lowest if too_low else f"at most {high:g}"
        raise SettingError(
            f"WeShopMagics.{name} must be {rule}, got {value!r}; it stays as it was. ({name}: {help_text})"
        )
    return value


def _digest(name: str) -> str:
    # A blank value is no value, as for the client: going from unset to blank changes nothing.
    return hashlib.sha256((environ_value(name) or "").encode()).hexdigest()


class EnvWatch:
    """Which of ``WESHOP_API_KEY`` and ``WESHOP_BASE_URL`` changed since :meth:`mark`."""

    NAMES = (API_KEY_VAR, BASE_URL_VAR)

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}
        self.mark()

    def mark(self) -> None:
        """Remember the variables as they are now."""
        self._seen = {name: _digest(name) for name in self.NAMES}

    def changed(self) -> list[str]:
        """The names whose value differs from the one last marked."""
        return [name for name in self.NAMES if _digest(name) != self._seen.get(name)]
