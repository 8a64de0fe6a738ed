"""The reference's Quick Start, sent by curl to the emulator started from the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

KEY = "cli-key-42"


@pytest.fixture
def cli_emulator() -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "weshop_nb.emulator",
            "--port",
            "0",
            "--api-key",
            KEY,
            "--latency",
            "0.6",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert "listening on http://127.0.0.1:" in line, line
        yield line.split("listening on ", 1)[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=10)


def _curl(*args: str) -> dict:
    out = subprocess.run(
        ["curl", "--silent", "--show-error", "--location", *args], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["success"] is True, body
    return body.get("data", {})


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed on this machine")
def test_quick_start_with_curl(cli_emulator, make_image, tmp_path) -> None:
    base = cli_emulator
    auth = f"Authorization: {KEY}"
    json_type = "Content-Type: application/json"
    garment = tmp_path / "model.png"
    garment.write_bytes(make_image(640, 800))

    # 1. Upload
    image = _curl(f"{base}/openapi/v1/asset/upload/image", "--header", auth, "--form", f'image=@"{garment}"')["image"]
    # 2. Create task
    create = {
        "agentName": "aimodel",
        "agentVersion": "v1.0",
        "initParams": {"taskName": "Create Task Api Test", "originalImage": image},
    }
    task_id = _curl(
        f"{base}/openapi/v1/agent/task/create", "--header", auth, "--header", json_type, "--data", json.dumps(create)
    )["taskId"]
    # 3. Execute
    params = {
        "generatedContent": "freeCreation",
        "maskType": "autoApparelSegment",
        "textDescription": "A young caucasian woman with highly detailed skin, standing on the street on a sunny day.",
    }
    execute = {"taskId": task_id, "params": params}
    execution_id = _curl(
        f"{base}/openapi/v1/agent/task/execute", "--header", auth, "--header", json_type, "--data", json.dumps(execute)
    )["executionId"]
    # 4. Query until 5. the status is Success
    deadline = time.monotonic() + 10
    while True:
        data = _curl(
            f"{base}/openapi/v1/agent/task/query",
            "--header",
            auth,
            "--header",
            json_type,
            "--data",
            json.dumps({"executionId": execution_id}),
        )
        status = data["executions"][0]["status"]
        if status == "Success" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == "Success"
    assert len(data["executions"][0]["result"]) == 4
    # The agent info and delete examples too.
    info = _curl(f"{base}/openapi/v1/agent/info?agentName=aimodel&agentVersion=v1.0", "--header", auth)
    assert info["agentVersion"] == "v1.0" and info["locations"]
    _curl(
        f"{base}/openapi/v1/agent/task/delete",
        "--header",
        auth,
        "--header",
        json_type,
        "--data",
        json.dumps({"taskId": task_id}),
    )
