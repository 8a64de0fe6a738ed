"""How everything that polls asks again: one backoff, and when to give up.

Polling (``WeShopClient.wait`` and the run watchers) is not retrying (that is
:mod:`._transport`'s table): it asks again on a schedule. Kept apart from the transport
so the watchers, which the magic loads with the extension, do not load ``requests``.
"""

from __future__ import annotations

__all__ = ["DEFAULT_GIVE_UP_AFTER", "next_interval"]

#: Seconds of nothing but failed polls after which waiting and watching stop and say so
#: (``WeShopClient(give_up_after=...)``, ``%config WeShopMagics.give_up_after``). Longer
#: than a service restart or a laptop's network coming back (a minute or two; at the
#: longest pause of 15 s that is still twenty polls), short enough that a person reads
#: "gave up" with the reason rather than a run that polls silently for ever.
DEFAULT_GIVE_UP_AFTER = 300.0


def next_interval(current: float, base: float, ceiling: float, *, changed: bool) -> float:
    """The pause before the next poll: back to ``base`` after a change, else 1.5x longer up to ``ceiling``.

    The one backoff of everything that polls (``WeShopClient.wait`` and the run watchers).
    """
    return base if changed else min(current * 1.5, ceiling)
