"""Telling our executions apart: identical parameters under lost execute replies."""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest

from weshop_nb import WeShopClient, emulator
from weshop_nb.service._identity import Ledger, params_key
from weshop_nb.service._models import Execution

from .conftest import API_KEY

TRIALS = 25
#: The emulator does the work, then resets the connection (the reply is lost) or answers late
#: but within the client's read timeout (0.5 s): a lost reply is reconciled while the replies
#: of other executes are still on their way, the race that once adopted the wrong execution.
LOST_REPLIES = {"faults": {"reset": 0.3, "slow": 0.3}, "slow_delay": 0.25, "fault_endpoints": {"execute"}}


def _execution(execution_id: str, prompt: str, second: int = 0) -> Execution:
    when = datetime(2026, 11, 1, 12, 0, second)
    return Execution(execution_id, "pending", {"textDescription": prompt}, when, (), "t")


def test_params_key_equates_what_the_service_may_echo_differently() -> None:
    assert params_key({"locationId": 6000401, "a": 1.0}) == params_key({"a": "1", "locationId": "6000401"})
    assert params_key({"batchCount": 1}) != params_key({"batchCount": 2})


def test_ledger_adopts_only_what_is_new_and_not_ours() -> None:
    ledger = Ledger(window=20)
    ledger.see("t", ["old"])
    ledger.claim("t", "mine")
    with ledger.slot("t", {"textDescription": "x"}) as slot:
        ledger.mark(slot)
        ledger.see("t", ["new"])  # learnt after sending (a watcher's query): still a candidate
        window = [_execution("old", "x", 1), _execution("mine", "x", 2), _execution("new", "x", 3)]
        choice = ledger.choose(slot, window)
    assert choice.execution is not None and choice.execution.id == "new" and not choice.execution.warnings
    with ledger.slot("t", {"textDescription": "x"}) as slot:
        ledger.mark(slot)
        assert ledger.choose(slot, window).execution is None  # "new" is ours now: never adopted twice


def test_ledger_says_when_it_cannot_tell() -> None:
    ledger = Ledger(window=3)
    ledger.see("t")
    with ledger.slot("t", {"textDescription": "x"}) as slot:
        ledger.mark(slot)
        twins = [_execution("a", "x", 1), _execution("b", "x", 2)]
        choice = ledger.choose(slot, twins)  # another program did the same at the same moment
        assert choice.execution.id == "b" and "another program" in choice.execution.warnings[0]
        assert ledger.choose(slot, [*twins, _execution("c", "x", 3)]).execution.id == "c"  # "a" never adopted
    with ledger.slot("t", {"textDescription": "y"}) as slot:
        ledger.mark(slot)
        full = [_execution(n, "other", i) for i, n in enumerate("def")]
        assert ledger.choose(slot, full).hidden  # ours may be older than the whole window


def test_one_slot_per_task_and_parameters() -> None:
    ledger, inside, overlaps = Ledger(), [], []
    lock = threading.Lock()

    def execute(params: dict) -> None:
        with ledger.slot("t", params):
            with lock:
                inside.append(params_key(params))
                overlaps.append(len(inside) - len(set(inside)))
            threading.Event().wait(0.02)
            with lock:
                inside.remove(params_key(params))

    threads = [threading.Thread(target=execute, args=({"p": n % 2},)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert max(overlaps) == 0  # never two of the same parameters in flight at once
    assert ledger._slots == {}  # nothing left behind


@pytest.mark.parametrize("where", ["own tasks", "--task"])
def test_three_identical_executions_under_lost_replies(ip, where, capsys) -> None:
    """The same execution three times (--repeat 3), launched through the magic while execute replies are lost."""
    magics = ip.magics_manager.registry["WeShopMagics"]
    ip.run_cell("%config WeShopMagics.poll_interval = 0.1")
    with emulator.serve(api_key=API_KEY, latency=0.2, seed=21, **LOST_REPLIES) as emu:
        magics._use(WeShopClient(api_key=API_KEY, base_url=emu.base_url, timeout=(2, 0.5)))
        picture = f"{emu.base_url}/files/uploads/garment.png"  # a URL: created tasks never upload
        shared = magics.client.create_task(originalImage=picture).id
        target = f"--task {shared}" if where == "--task" else f"--image {picture}"
        wrong, distinct, created = 0, set(), 0
        for _ in range(TRIALS):
            before = emu.stats()["executions_created"]
            # Three identical executions on purpose (a prompt written three times is collapsed to one).
            ip.run_cell(f"%%weshop run {target} --repeat 3 -o run\nsame look")
            run = ip.user_ns["run"]
            run.stop()
            ids = [item.execution.id for item in run.items if item.execution is not None]
            made = emu.stats()["executions_created"] - before
            wrong += len(set(ids)) != 3 or made != 3
            distinct |= set(ids)
            created += made
            tasks = [item.job.task.id for item in run.items]
            assert len(set(tasks)) == (1 if where == "--task" else 3)  # sharded: never two alike on one task
        injected = emu.stats()["faults"]
        stored = set(emu.emulator.store.executions)
    with capsys.disabled():
        figures = {
            "where": where,
            "trials": TRIALS,
            "wrong": wrong,
            "created": created,
            "distinct_in_runs": len(distinct),
        }
        print("\nidentical-trials", json.dumps({**figures, "lost_replies": injected}))
    assert sum(injected.values()) >= TRIALS  # replies were lost, many times
    assert wrong == 0
    assert created == len(distinct) == 3 * TRIALS  # no double, no orphan
    assert distinct <= stored
