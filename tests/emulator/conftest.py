"""Raw HTTP helpers: the emulator is tested as a service, without our client."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from ..conftest import API_KEY


class Raw:
    """Sends requests to an emulator exactly as given, and decodes the envelope."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def post(
        self, path: str, body: Any = None, *, key: str | None = API_KEY, data: Any = None, **kw
    ) -> requests.Response:
        headers = {"Authorization": key} if key is not None else {}
        if body is not None:
            kw["json"] = body
        return requests.post(self.base_url + "/openapi/v1" + path, headers=headers, data=data, timeout=10, **kw)

    def get(self, path: str, *, key: str | None = API_KEY, **kw) -> requests.Response:
        headers = {"Authorization": key} if key is not None else {}
        return requests.get(self.base_url + path, headers=headers, timeout=10, **kw)

    def ok(self, response: requests.Response) -> dict:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and str(body["code"]) == "0", body
        return body.get("data", {})

    def task(self, image: str = "https://cdn.test/garment.png", agent: str = "aimodel") -> str:
        body = {"agentName": agent, "agentVersion": "v1.0", "initParams": {"originalImage": image}}
        return self.ok(self.post("/agent/task/create", body))["taskId"]


@pytest.fixture
def raw(emu) -> Raw:
    return Raw(emu.base_url)
