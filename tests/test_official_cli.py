"""WeShop's own CLI (npm weshop-cli) against the emulator: every command we emulate works.

Runs ``node`` on the pinned CLI with ``WESHOP_BASE_URL`` pointing at a loopback emulator;
each result URL it prints must load. Skipped only where node or npm are missing.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from weshop_nb import emulator

from . import official_cli
from .conftest import API_KEY

pytestmark = pytest.mark.skipif(official_cli.missing_tools() is not None, reason=str(official_cli.missing_tools()))

AGENT_COMMANDS = {
    "aimodel": ["--mask-type", "autoApparelSegment", "--generation-mode", "freeCreation", "--prompt", "street"],
    "aipose": ["--prompt", "arms up", "--gen-version", "pro"],
    "virtualtryon": [
        "--gen-version",
        "bananaPro",
        "--prompt-mode",
        "auto",
        "--image-size",
        "2K",
        "--aspect-ratio",
        "2:3",
    ],
    "aiproduct": ["--mask-type", "autoSubjectSegment", "--generation-mode", "freeCreation", "--prompt", "marble"],
    "expandimage": ["--width", "1024", "--height", "1024"],
    "removebg": ["--mask-type", "autoSubjectSegment", "--bg-hex", "#ffffff"],
    "kling": ["--prompt", "slow pan", "--duration", "5s"],
    # The catalogue agents; GARMENT stands for the garment's path (a second picture).
    "ai-ghost-mannequin-generator": ["--aspect-ratio", "3:4", "--image-size", "2K"],
    "flat-lay": ["--prompt", "folded, sleeves out", "--aspect-ratio", "21:9"],
    "ai-clothes-changer": ["--image", "GARMENT"],
    "outfit-generator": ["--prompt", "streetwear"],
    "ai-photoshoot": ["--image", "GARMENT", "--model", "nano", "--aspect-ratio", "21:9", "--image-size", "2K"],
}


@pytest.fixture(scope="module")
def entry() -> Path:
    return official_cli.install()


@pytest.fixture(scope="module")
def server() -> Iterator[emulator.EmulatorServer]:
    with emulator.serve(api_key=API_KEY, latency=0.0, seed=11) as emu:
        yield emu


@pytest.fixture(scope="module")
def garment(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "garment.png"
    image = Image.new("RGB", (640, 800), "white")
    image.paste((30, 90, 160), (200, 200, 440, 640))
    image.save(path)
    return path


@pytest.fixture(scope="module")
def weshop(entry, server, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")  # the CLI's upload cache lives in ~/.weshop-cli
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "WESHOP_BASE_URL": f"{server.base_url}/openapi",
        "WESHOP_API_KEY": API_KEY,
    }

    def run(*args: str, ok: bool = True) -> str:
        done = subprocess.run(
            ["node", str(entry), *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert (done.returncode == 0) == ok, (args, done.stdout, done.stderr)
        return done.stdout + done.stderr

    return run


def _field(output: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name}: (\S+)\s*$", output, flags=re.MULTILINE)


def _loads(url: str) -> Image.Image:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    return Image.open(io.BytesIO(response.content))


def test_upload_and_info(weshop, garment) -> None:
    url = _field(weshop("upload", str(garment)), "imageUrl")[0]
    assert _loads(url).size == (640, 800)
    aimodel = weshop("info", "aimodel", "--page-size", "3")
    assert "page: 1  pageSize: 3" in aimodel and "isLastPage=false" in aimodel
    assert "fashionModels (use with --model-id): (3 items)" in aimodel
    assert "backgrounds (use with --bg-id)" in weshop("info", "removeBG")
    assert "No preset IDs" in weshop("info", "aipose")


@pytest.mark.parametrize("command", list(AGENT_COMMANDS))
def test_every_agent_command(weshop, garment, server, command) -> None:
    args = [str(garment) if arg == "GARMENT" else arg for arg in AGENT_COMMANDS[command]]
    output = weshop(command, "--image", str(garment), *args)
    assert "status: Success" in output, output
    assert _field(output, "powerConsumption") and _field(output, "powerBalanceAmount")
    urls = _field(output, "url") + _field(output, "poster")
    assert urls, output
    for url in urls:
        assert _loads(url).width > 0
    if command == "kling":
        assert "videoCount: 1" in output and _loads(_field(output, "url")[0]).format == "WEBP"


def test_status_and_calculate_power(weshop, garment, server) -> None:
    before = server.stats()["executions_created"]
    estimate = weshop("aipose", "--image", str(garment), "--prompt", "sit", "--calculate-power")
    assert "[power-estimate]" in estimate and int(_field(estimate, "totalPower")[0]) > 0
    assert server.stats()["executions_created"] == before
    started = weshop("aipose", "--image", str(garment), "--prompt", "sit", "--no-wait")
    execution = _field(started, "executionId")[0]
    status = weshop("status", execution)
    assert f"executionId: {execution}" in status and "status: Success" in status


def test_refusals_reach_the_user(weshop, garment) -> None:
    output = weshop(
        "virtualtryon", "--image", str(garment), "--gen-version", "bananaPro", "--prompt-mode", "auto", ok=False
    )
    assert "generateVersion=bananaPro needs imageSize" in output and "retryable: false" in output


def test_klings_last_frame_through_the_official_cli(weshop, garment, server) -> None:
    # The official client sends both frames as params.images and the first as input.originalImage.
    output = weshop(
        "kling", "--image", str(garment), "--image", str(garment), "--prompt", "walk", "--model", "Kling_2_6"
    )
    assert "status: Success" in output and "videoCount: 1" in output
    [record] = [r for r in server.emulator.store.executions.values() if r.last_frame]
    assert len(record.params["images"]) == 2


def test_the_catalogue_agents_rules_reach_the_user(weshop, garment) -> None:
    output = weshop(
        "ai-photoshoot", "--image", str(garment), "--image", str(garment), "--aspect-ratio", "21:9", ok=False
    )
    assert "aspectRatio '21:9' is not allowed with modelName qwen" in output and "retryable: false" in output
