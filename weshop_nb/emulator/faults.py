"""Fault injection: the failures a real network and a busy service produce.

One draw per API request picks at most one fault, each kind with its own rate. The
drawing has its own random generator, so turning faults on never changes the ids or
outcomes the emulator hands out.

Kinds, and whether the request's work is done:

``5xx``     answered 503 before any work.
``429``     answered 429 with ``Retry-After`` before any work.
``badjson`` answered 200 with a cut-off body, before any work.
``reset``   the work is done, then the connection is dropped without a reply, exactly
            like a network failure after the service accepted the request.
``slow``    the work is done, then the reply waits ``slow_delay`` seconds (longer than
            a client's timeout).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Mapping

KINDS = ("5xx", "429", "reset", "slow", "badjson")
BEFORE_WORK = frozenset({"5xx", "429", "badjson"})


def parse_faults(spec: str | Mapping[str, float] | None) -> dict[str, float]:
    """``"5xx:0.2,429:0.1"`` or a mapping -> ``{kind: rate}``, checked."""
    if not spec:
        return {}
    if isinstance(spec, str):
        pairs: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            kind, sep, rate = item.partition(":")
            if not sep:
                raise ValueError(f"fault {item!r} must look like kind:rate, e.g. 5xx:0.2")
            pairs[kind.strip()] = float(rate)
        spec = pairs
    rates = {str(kind): float(rate) for kind, rate in spec.items()}
    for kind, rate in rates.items():
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate for {kind} must be between 0 and 1, got {rate}")
    if sum(rates.values()) > 1.0:
        raise ValueError("fault rates add up to more than 1")
    return rates


class Faults:
    """Draws which fault, if any, hits the next request; counts what it injected."""

    def __init__(self, rates: Mapping[str, float], *, seed: int | None, slow_delay: float) -> None:
        self.rates = dict(rates)
        self.slow_delay = slow_delay
        self.injected: Counter[str] = Counter()
        self._rng = random.Random(None if seed is None else seed + 1)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        if not self.rates:
            return None
        with self._lock:
            roll = self._rng.random()
            for kind, rate in self.rates.items():
                if roll < rate:
                    self.injected[kind] += 1
                    return kind
                roll -= rate
        return None
