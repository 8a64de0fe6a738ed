"""What a launch says: Ctrl-C while starting, login without a keyboard, repeats, no prompt, templates, typos.

Each test asserts the message and that nothing was lost: what the emulator created is what
the history holds.
"""

from __future__ import annotations

import _thread
import threading

import pytest
from IPython.core.error import StdinNotImplementedError, UsageError

import weshop_nb
from weshop_nb import History

from .conftest import run_cell_capturing as _cell

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture
def demo(ip):
    ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
    ip.run_cell("%weshop demo --latency 0.3 --seed 4")
    return ip.magics_manager.registry["WeShopMagics"]


@pytest.fixture
def garments(make_image, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    for number, color in enumerate(("teal", "navy", "olive")):
        (folder / f"g{number}.png").write_bytes(make_image(640, 800, "PNG", color))
    return folder


def _nothing_lost(magics) -> None:
    """Every execution the emulator created is in the history, once."""
    created = magics.emulator.stats()["executions_created"]
    assert len(History().executions()) == created


def _interrupt_after(client, calls: int) -> None:
    """Ctrl-C in the main thread once ``calls`` executes have been sent (as a person would press it)."""
    execute = client.execute
    sent = []
    lock = threading.Lock()

    def interrupting(*args, **kwargs):
        with lock:
            sent.append(1)
            if len(sent) == calls:
                _thread.interrupt_main()
        return execute(*args, **kwargs)

    client.execute = interrupting


def test_ctrl_c_while_launching_keeps_what_started(ip, demo, garments) -> None:
    ip.run_cell("%config WeShopMagics.max_concurrent_launches = 2")
    _interrupt_after(demo.session.client, 4)
    prompts = "\n---\n".join(f"look {n}" for n in range(10))
    shown = _cell(ip, f"%%weshop run --image {garments} -o run\n{prompts}")
    run = ip.user_ns["run"]  # bound to the run of what started
    line = next(said for said in shown.stdout.splitlines() if said.startswith("Stopped launching"))
    started = demo.emulator.stats()["executions_created"]
    assert 4 <= started < 30
    assert line == (
        f"Stopped launching: {started} of 30 started; they are watched. "
        f"The other {30 - started} were not started: run.retry() starts them."
    )
    assert "Traceback" not in shown.stdout + shown.stderr and "`" not in line
    assert run.watching or run.done
    run.wait(timeout=30)
    assert sum(item.status == "success" for item in run.items) == started
    _nothing_lost(demo)
    again = run.retry(watch=True).wait(timeout=30)
    assert len(again.items) == 30 - started
    assert demo.emulator.stats()["executions_created"] == 30
    _nothing_lost(demo)


def test_ctrl_c_in_launch_from_python(ip, demo, garments, capsys) -> None:
    demo.session.max_concurrent = 2
    _interrupt_after(demo.session.client, 3)
    run = weshop_nb.launch(images=garments, prompts=[f"p{n}" for n in range(5)])
    said = capsys.readouterr().out
    started = demo.emulator.stats()["executions_created"]
    assert f"Stopped launching: {started} of 15 started; they are watched." in said
    assert len(run.items) == 15
    run.wait(timeout=30)
    _nothing_lost(demo)


def test_login_where_no_one_can_type(ip, monkeypatch) -> None:
    def no_stdin(prompt: str = "") -> str:
        raise StdinNotImplementedError("getpass was called, but this frontend does not support input requests.")

    monkeypatch.setattr("weshop_nb.notebook._magics.getpass.getpass", no_stdin)
    with pytest.raises(UsageError) as refused:
        ip.run_cell("%weshop login")
    message = str(refused.value)
    assert "No one can type a key here" in message and "Set WESHOP_API_KEY" in message
    assert "before starting Jupyter" in message and "`" not in message


@pytest.mark.parametrize(
    "line", [f"%weshop login --key {SECRET}", f"%weshop login --key={SECRET}", f"%weshop login {SECRET}"]
)
def test_a_key_on_the_line_is_refused_without_repeating_it(ip, line) -> None:
    with pytest.raises(UsageError) as refused:
        ip.run_cell(line)
    message = str(refused.value)
    assert SECRET not in message and "sk-live" not in message
    assert "saved with the notebook" in message and "%weshop login" in message and "`" not in message


def test_repeats_in_a_sweep_are_collapsed_and_said(ip, demo, garments) -> None:
    cell = (
        f'%%weshop run --image {garments}/g0.png --image {garments}/g0.png --location "Sunny Beach" '
        '--location "sunny beach" --param batchCount=1 --param batchCount=1 --wait -o run\nsummer\n---\nsummer'
    )
    shown = _cell(ip, cell)
    assert (
        "Collapsed 1 repeated prompt, 1 repeated location, 1 repeated picture, 1 repeated value of batchCount "
        "(identical executions): launching 1. --repeat N asks for N of each on purpose."
    ) in shown.stdout
    assert len(ip.user_ns["run"].items) == 1 and demo.emulator.stats()["executions_created"] == 1
    _nothing_lost(demo)


def test_repeat_asks_for_copies_spread_over_tasks(ip, demo, garments) -> None:
    _cell(ip, f"%%weshop run --image {garments}/g0.png --repeat 3 --wait -o run\nsummer\n---\nwinter")
    run = ip.user_ns["run"]
    assert len(run.items) == 6 and demo.emulator.stats()["executions_created"] == 6
    by_task: dict[str, list[str]] = {}
    for item in run.items:
        by_task.setdefault(item.job.task.id, []).append(item.job.prompt)
    assert len(by_task) == 3 and all(len(set(p)) == len(p) for p in by_task.values())  # no task holds two alike
    again = weshop_nb.launch(images=f"{garments}/g1.png", prompts="summer", repeat=2, wait=True)
    assert len(again.items) == 2 and len({item.job.task.id for item in again.items}) == 2
    _nothing_lost(demo)


def test_a_launch_without_a_prompt_says_so(ip, demo, garments, make_image, tmp_path) -> None:
    with pytest.raises(UsageError) as refused:
        _cell(ip, f'%weshop run --image {garments}/g0.png --location "Sunny Beach"')
    assert str(refused.value).startswith("No prompt: aimodel needs one to know what to make. To add one, write it")
    assert demo.emulator.stats()["executions_created"] == 0
    # An agent whose prompt is optional launches, and says how to add one.
    person = tmp_path / "person.png"
    person.write_bytes(make_image(640, 800, "PNG", "gray"))
    shown = _cell(
        ip,
        f"%weshop run --agent virtualtryon --image {garments}/g0.png --input fashionModelImage={person} "
        "--param generateVersion=weshopPro --param descriptionType=auto --wait",
    )
    assert "No prompt: virtualtryon launches without one (it is optional). To add one, write it" in shown.stdout
    assert demo.emulator.stats()["executions_created"] == 1
    _nothing_lost(demo)


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("A {x.upper} shirt", "{x.upper}: only plain names are filled in"),
        ("A {n:03d} shirt", "{n:03d}: only plain names are filled in, without a format"),
        ("A {0} shirt", "{0}: braces need a name from the notebook"),
        ("A {x!r} shirt", "{x!r}: only plain names are filled in"),
    ],
)
def test_prompt_templates_name_the_rule(ip, demo, garments, template, said) -> None:
    ip.user_ns.update(x="linen", n="7")
    with pytest.raises(UsageError) as refused:
        _cell(ip, f"%%weshop run --image {garments}/g0.png\n{template}")
    message = str(refused.value)
    assert message.startswith(said) and "PromptError" not in message and "`" not in message
    assert demo.emulator.stats()["executions_created"] == 0


def test_a_path_with_spaces_suggests_quotes(ip, demo, tmp_path) -> None:
    with pytest.raises(UsageError) as refused:
        _cell(ip, "%%weshop run --image photos dir/shirt.png\nsummer")
    assert 'A name with spaces needs quotes: --image "photos dir/shirt.png".' in str(refused.value)


def test_a_comment_after_a_line_magic_is_ignored(ip) -> None:
    shown = _cell(ip, "%weshop demo --latency 0.3   # start it")
    assert "Demo mode" in "".join(str(output.data) for output in shown.outputs)
    shown = _cell(ip, "%weshop help run  # every option")
    assert "--image" in shown.stdout


def test_one_prefix_per_message(ip, demo) -> None:
    with pytest.raises(UsageError) as refused:
        _cell(ip, "%weshop history --since yesterdayy")
    assert not str(refused.value).startswith("FilterError")
