"""Power points: what a run costs and what each account has left.

The service bills runs in points (``powerConsumption``) and reports the balance left
(``powerBalanceAmount``); its price list is not public, so these prices are the
emulator's own, chosen only to be plausible and to differ by agent and settings. A
preset fashion model's extra cost is read from its ``priceDescription``
("Additional cost of 5 points / image").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

#: Points per result, by agent; kling per started 5 seconds of video.
PRICES = {
    "aimodel": 10,
    "aipose": 10,
    "aiproduct": 10,
    "virtualtryon": 20,
    "expandimage": 8,
    "removeBG": 4,
    "kling": 100,
    # The catalogue agents: the reference gives no prices; these flat ones are the emulator's own.
    "ai-ghost-mannequin-generator": 12,
    "flat-lay": 12,
    "ai-clothes-changer": 15,
    "outfit-generator": 15,
    "ai-photoshoot": 15,
}
DEFAULT_PRICE = 10
STARTING_BALANCE = 100_000
_EXTRA = re.compile(r"(\d+) points")


def cost(agent: str, params: Mapping[str, Any], fashion_models: Iterable[Mapping[str, Any]], batch: int) -> int:
    """Points a run of ``agent`` with ``params`` costs, ``batch`` results in all."""
    each = PRICES.get(agent, DEFAULT_PRICE)
    if params.get("generateVersion") in ("weshopPro", "bananaPro", "pro"):
        each *= 2
    if agent == "kling":
        seconds = int(str(params.get("duration") or "5s").rstrip("s") or 5)
        each *= -(-seconds // 5)
    model = next((m for m in fashion_models if m.get("id") == params.get("fashionModelId")), None)
    if model is not None:
        found = _EXTRA.search(str(model.get("profile", {}).get("priceDescription", "")))
        each += int(found.group(1)) if found else 0
    return each * batch


class Ledger:
    """Balances per account, starting at :data:`STARTING_BALANCE`; thread-safe."""

    def __init__(self, starting: int = STARTING_BALANCE) -> None:
        self.starting = starting
        self._balances: dict[str, int] = {}
        self._lock = threading.Lock()

    def balance(self, account: str) -> int:
        with self._lock:
            return self._balances.get(account, self.starting)

    def charge(self, account: str, points: int) -> int | None:
        """Take ``points``; returns the balance left, or ``None`` (nothing taken) if too few."""
        with self._lock:
            left = self._balances.get(account, self.starting) - points
            if left < 0:
                return None
            self._balances[account] = left
            return left
