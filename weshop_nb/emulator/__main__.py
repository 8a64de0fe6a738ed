"""``python -m weshop_nb.emulator``: run the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .faults import KINDS, parse_faults
from .server import EmulatorServer


def _latency(text: str) -> float | tuple[float, float]:
    low, sep, high = text.partition(",")
    return (float(low), float(high)) if sep else float(low)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (kill, a test's teardown, a container stop) stops like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m weshop_nb.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--api-key", default="demo-key", help="the key the emulator accepts (default demo-key)")
    parser.add_argument("--latency", type=_latency, default=2.0, help="seconds per execution, or MIN,MAX (default 2)")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of executions that fail (default 0)")
    parser.add_argument("--faults", type=parse_faults, default={}, help=f"kind:rate,... over {', '.join(KINDS)}")
    parser.add_argument("--slow-delay", type=float, default=35.0, help="seconds a 'slow' fault holds a reply")
    parser.add_argument("--seed", type=int, default=None, help="make ids, outcomes and faults repeatable")
    args = parser.parse_args(argv)
    server = EmulatorServer(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        latency=args.latency,
        failure_rate=args.failure_rate,
        faults=args.faults,
        slow_delay=args.slow_delay,
        seed=args.seed,
    ).start()
    print(f"WeShop emulator listening on {server.base_url} (Ctrl-C to stop)", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
