"""The magic's words and settings: help, misspellings, missing files, %config, a changed environment."""

from __future__ import annotations

import io

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from PIL import Image

from weshop_nb import emulator
from weshop_nb.notebook._settings import SettingError

from .conftest import API_KEY


def _magics(ip):
    return ip.magics_manager.registry["WeShopMagics"]


def test_help_reads_as_typed(ip) -> None:
    with capture_output() as shown:
        ip.run_cell("%weshop help run")
    assert "::" not in shown.stdout and shown.stdout.startswith("usage: %%weshop run [--image IMAGE]")
    assert "--batch N             images per execution, 1-16 (default: not sent; the" in shown.stdout
    with capture_output() as shown:
        ip.run_cell("%weshop help history")
    assert shown.stdout.startswith("usage: %weshop history [--task TASK]")
    assert "7d, 12h, today, yesterday" in shown.stdout
    with capture_output() as shown:
        ip.run_cell("%weshop help")
    assert "%weshop retry" in shown.stdout and "%weshop stop" in shown.stdout and "no cancel call" in shown.stdout


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        ("%%weshop run --image x.png --locaton 'Sunny Beach'\nhi", "Did you mean --location (not --locaton)?"),
        ("%weshop info --categroy womenswear", "Did you mean --category (not --categroy)?"),
        ("%weshop history --stauts failed", "Did you mean --status (not --stauts)?"),
    ],
)
def test_misspelled_options_suggest_the_right_one(ip, cell, hint) -> None:
    with pytest.raises(UsageError) as caught:
        ip.run_cell(cell)
    assert hint in str(caught.value) and "unrecognized arguments" in str(caught.value)


def test_missing_files_name_the_folder_and_close_matches(ip, make_image, tmp_path, monkeypatch) -> None:
    (tmp_path / "garment.jpg").write_bytes(make_image(fmt="JPEG"))
    monkeypatch.chdir(tmp_path)
    ip.run_cell("%weshop demo --latency 0")
    launched = _magics(ip).emulator.stats()["executions_created"]
    with pytest.raises(UsageError) as caught:
        ip.run_cell("%%weshop run --image garment.jpgg\nhello")
    message = str(caught.value)
    assert (
        message
        == f"--image: no file garment.jpgg in the kernel's working folder, {tmp_path}. Close matches: garment.jpg."
    )
    assert _magics(ip).emulator.stats()["executions_created"] == launched and "requests" not in message
    with pytest.raises(UsageError, match=r"upload: no file garmnt\.jpg in .*Close matches: garment\.jpg"):
        ip.run_cell("%weshop upload garmnt.jpg")
    with pytest.raises(UsageError, match=r"--custom-mask: no file mask\.png"):
        ip.run_cell("%%weshop run --image garment.jpg --mask custom --custom-mask mask.png\nhello")
    with pytest.raises(UsageError, match=r"no file photos/garment\.jpg in .*: the folder photos does not exist"):
        ip.run_cell("%weshop panel --image photos/garment.jpg")


def test_bad_settings_are_refused_with_their_help(ip, caplog) -> None:
    magics = _magics(ip)
    ip.run_cell("%config WeShopMagics.poll_interval = -1")  # %config logs what its setter raised
    (record,) = caplog.records
    assert record.getMessage().startswith("WeShopMagics.poll_interval must be more than 0, got -1.0; it stays as")
    assert "Seconds between polls of a task" in record.getMessage() and magics.poll_interval == 2.0
    for name, value, rule in (
        ("thumbnail_size", 0, "at least 16"),
        ("max_concurrent_launches", 0, "at least 1"),
        ("wait_timeout", 0, "more than 0"),
        ("max_poll_interval", 1e9, "at most 3600"),
    ):
        before = getattr(magics, name)
        with pytest.raises(SettingError, match=rule) as caught:
            setattr(magics, name, value)
        assert getattr(magics, name) == before and magics.traits()[name].help in str(caught.value)
    assert caught.value._render_traceback_() == [f"SettingError: {caught.value}"]


def test_settings_reach_the_next_run_after_the_session_started(ip, make_image, tmp_path) -> None:
    garment = tmp_path / "garment.png"
    garment.write_bytes(make_image())
    ip.run_cell("%weshop demo --latency 0")
    session = _magics(ip).session
    ip.run_cell("%config WeShopMagics.poll_interval = 0.7")
    ip.run_cell("%config WeShopMagics.thumbnail_size = 64")
    ip.run_cell("%config WeShopMagics.max_concurrent_launches = 3")
    ip.run_cell('%config WeShopMagics.picture_format = "jpeg"')
    assert _magics(ip).session is session  # the same session, changed in place
    ip.run_cell(f"%%weshop run --image {garment} --wait -o run\nhello")
    run = ip.user_ns["run"]
    assert run.poll_interval == 0.7 and run.width == 64 and run.thumbnails.format == "jpeg"
    with Image.open(io.BytesIO(run.items[0].thumbnails[0])) as picture:
        assert (picture.format, picture.width) == ("JPEG", 2 * (64 // 2 - 2))  # 2x its share of the 64 px card
    assert run.launch_options["max_concurrent"] == 3


def test_a_changed_environment_is_picked_up_by_the_next_command(ip, monkeypatch, make_image, tmp_path) -> None:
    with (
        emulator.serve(api_key=API_KEY, latency=0) as first,
        emulator.serve(api_key="other-key-9d2b", latency=0) as second,
    ):
        monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
        monkeypatch.setenv("WESHOP_BASE_URL", first.base_url)
        with capture_output() as shown:
            ip.run_cell("%weshop info")
        assert "changed in the environment" not in shown.stdout and _magics(ip).client.base_url == first.base_url

        monkeypatch.setenv("WESHOP_API_KEY", "other-key-9d2b")
        monkeypatch.setenv("WESHOP_BASE_URL", second.base_url)
        with capture_output() as shown:
            ip.run_cell("%weshop info")
        line = shown.stdout.splitlines()[0]
        assert line == f"WESHOP_API_KEY and WESHOP_BASE_URL changed in the environment: now using {second.base_url}."
        assert "other-key" not in shown.stdout and _magics(ip).client.base_url == second.base_url

        with capture_output() as shown:
            ip.run_cell("%weshop info")
        assert "changed in the environment" not in shown.stdout  # said once

        monkeypatch.delenv("WESHOP_API_KEY")
        with pytest.raises(UsageError, match="No WeShop API key"):
            ip.run_cell("%weshop info")
