"""The catalogue of bad input: each refused with a clear message; local checks send nothing."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from PIL import Image

from weshop_nb import WeShopClient
from weshop_nb.service._errors import (
    AuthenticationError,
    ImageValidationError,
    InvalidRequestError,
    RateLimitError,
    ServiceError,
    WeShopError,
)


def _requests(emu) -> int:
    return sum(emu.stats()["requests"].values())


def _png(width: int, height: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, format=fmt)
    return buffer.getvalue()


def _bomb() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


UPLOADS = {
    "too narrow": (_png(500, 700), "width 500 px, must be above 512 px"),
    "too short": (_png(700, 400), "height 400 px, must be above 512 px"),
    "exactly 512": (_png(512, 800), "width 512 px, must be above 512 px"),
    "aspect ratio": (_png(1300, 600), "aspect ratio 2.17 (1300x600), must be below 2"),
    "too big": (b"\x89PNG" + b"\0" * (11 * 1024 * 1024), "file size 11.0 MB, must be at most 10 MB"),
    "gif": (_png(700, 700, "GIF"), "format GIF, must be one of png, jpeg, jpg, webp"),
    "bmp": (_png(700, 700, "BMP"), "format BMP"),
    "truncated": (_png(700, 900)[:900], "damaged or truncated"),
    "not an image": (b"%PDF-1.7 this is a document", "not an image Pillow can read"),
    "decompression bomb": (_bomb(), "decompression bomb"),
}


@pytest.mark.parametrize("case", UPLOADS)
def test_upload_breaches_are_refused_locally(client, emu, tmp_path, case) -> None:
    data, message = UPLOADS[case]
    path = tmp_path / "garment.jpg"  # an image extension whatever the content
    path.write_bytes(data)
    before = _requests(emu)
    with pytest.raises(ImageValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        client.upload_image(path)
    assert _requests(emu) == before


MAGIC_MISTAKES = {
    "unknown agent": ("--image {g} --agent aimodle", "x", "Unknown agent aimodle", True),
    "unknown version": ("--image {g} --version v9", "x", "Unknown agent aimodel v9", True),
    "unknown location": ("--image {g} --location Atlantis", "x", "Valid locations: White Studio", False),
    "unknown model": ("--image {g} --model Nobody", "x", "Valid fashion models: Letitia", False),
    "unknown mask": ("--image {g} --mask everything", "x", "invalid choice: 'everything'", True),
    "batch 0": ("--image {g} --batch 0", "x", "--batch must be between 1 and 16, got 0", True),
    "batch 17": ("--image {g} --batch 17", "x", "--batch must be between 1 and 16, got 17", True),
    "empty prompt, no scene": ("--image {g}", "   \n---\n  ", "Nothing to generate", True),
    "undefined {name}": ("--image {g}", "a {nowhere} look", "{nowhere} in the prompt is not defined", True),
    "unbalanced {": ("--image {g}", "a { look", "Unbalanced brace", True),
    "unbalanced }": ("--image {g}", "a } look", "Unbalanced brace", True),
    "task that does not exist": ("--task 0000", "x", "not found", False),
}


@pytest.mark.parametrize("case", MAGIC_MISTAKES)
def test_magic_mistakes(ip, monkeypatch, emu, tmp_path, case) -> None:
    from .conftest import API_KEY

    line, body, message, local = MAGIC_MISTAKES[case]
    photo = tmp_path / "garment.png"
    photo.write_bytes(_png(640, 800))
    monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
    monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
    before = _requests(emu)
    with pytest.raises(UsageError) as caught:
        ip.run_cell(f"%%weshop run {line.format(g=photo)}\n{body}")
    assert message in str(caught.value)
    if local:
        assert _requests(emu) == before
    assert emu.stats()["executions_created"] == 0


def test_deleted_task_and_bad_urls(client, emu) -> None:
    task = client.create_task(originalImage="https://cdn.test/garment.png")
    client.delete_task(task.id)
    with pytest.raises(InvalidRequestError, match="not found"):
        client.execute(task.id, {"textDescription": "x"})
    with pytest.raises(InvalidRequestError, match="is not an http"):
        WeShopClient(api_key="k", base_url="ftp://example.test")
    with pytest.raises(InvalidRequestError, match="is not an http"):
        WeShopClient(api_key="k", base_url="openapi.weshop.ai")


def test_service_down_is_one_sentence_without_urllib3(ip, monkeypatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("WESHOP_API_KEY", "k")
    monkeypatch.setenv("WESHOP_BASE_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(UsageError) as caught:
        ip.run_cell("%weshop info")
    text = str(caught.value)
    assert text.startswith("ServiceError: Could not reach the WeShop service")
    assert "urllib3" not in text and "Traceback" not in text
    with pytest.raises(ServiceError) as direct:
        WeShopClient(api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0).agent_info()
    assert direct.value.__context__ is None  # requests' error, holding the request, is not kept


# What reaches the service anyway: raw HTTP (not our client), each refused with a 4xx in
# the service's envelope that names the rule, and never a 5xx.
_MB = 1024 * 1024
SERVICE_REFUSALS = {
    "JSON nested 100000 deep": ("/agent/task/create", lambda: {"data": b"[" * 100_000}, 400, "100000 levels deep"),
    "5000-digit batchCount": (
        "/agent/task/execute",
        lambda: {"data": b'{"taskId": "t", "params": {"batchCount": %s}}' % (b"9" * 5000)},
        400,
        "number of 5000 digits (the value of batchCount)",
    ),
    "body not UTF-8": ("/agent/task/create", lambda: {"data": b'{"agentName": "\xff"}'}, 400, "not UTF-8"),
    "unpaired surrogate": ("/agent/task/create", lambda: {"data": b'{"a": "\\ud800"}'}, 400, "unpaired surrogate"),
    "JSON body over 1 MB": (
        "/agent/task/query",
        lambda: {"data": b" " * _MB + b"{}"},
        413,
        "JSON request body is 1.0 MB (1048578 bytes), 2 bytes over",
    ),
    "upload body over 11 MB": (
        "/asset/upload/image",
        lambda: {"files": {"image": ("g.png", b"\0" * (12 * _MB))}},
        413,
        "upload body is 12.0 MB",
    ),
    "1500 multipart parts": (
        "/asset/upload/image",
        lambda: {"files": {f"f{n}": (f"{n}.png", b"x") for n in range(1500)}},
        413,
        "1500 parts; at most 1000",
    ),
    "600 KB field without a file name": (
        "/asset/upload/image",
        lambda: {"files": {"image": (None, b"x" * 600_000)}},
        413,
        "without a file name is over 500 KB",
    ),
    "decompression bomb upload": (
        "/asset/upload/image",
        lambda: {"files": {"image": ("g.png", _bomb())}},
        400,
        "decompression bomb",
    ),
}


@pytest.mark.parametrize("case", SERVICE_REFUSALS)
def test_hostile_requests_get_a_4xx_envelope(emu, case) -> None:
    import requests

    from .conftest import API_KEY

    path, send, status, message = SERVICE_REFUSALS[case]
    url = f"{emu.base_url}/openapi/v1{path}"
    response = requests.post(url, headers={"Authorization": API_KEY}, timeout=30, **send())
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and isinstance(body["code"], int)
    assert message in body["msg"]
    assert emu.stats()["errors"] == 0


# -- client settings: refused when the client is made, before anything is sent -----------

CLIENT_SETTINGS = {
    "timeout 0": ({"timeout": 0}, "timeout must be above 0 seconds, got 0"),
    "timeout -1": ({"timeout": -1}, "timeout must be above 0 seconds, got -1"),
    "timeout text": ({"timeout": "abc"}, "timeout must be seconds (a number) or (connect, read), got 'abc'"),
    "timeout None": ({"timeout": None}, "timeout=None would wait forever"),
    "timeout inf": ({"timeout": float("inf")}, "timeout=inf would wait forever"),
    "timeout nan": ({"timeout": float("nan")}, "timeout must be above 0 seconds, got nan"),
    "timeout True": ({"timeout": True}, "timeout must be seconds (a number) or (connect, read), got True"),
    "read timeout 0": ({"timeout": (5, 0)}, "read timeout must be above 0 seconds, got 0"),
    "three timeouts": ({"timeout": (1, 2, 3)}, "timeout must be seconds (a number) or (connect, read), got (1, 2, 3)"),
    "max_retries -1": ({"max_retries": -1}, "max_retries must be a whole number from 0, got -1"),
    "empty base_url": ({"base_url": ""}, "base_url is empty; leave it out for https://openapi.weshop.ai"),
    "blank base_url": ({"base_url": "  "}, "base_url is empty"),
    "http to another host": ({"base_url": "http://weshop.example.test"}, "would send the API key unencrypted"),
    "http to a LAN address": ({"base_url": "http://192.168.1.20:8765"}, "allow_insecure=True"),
    "user and password": (
        {"base_url": "https://ann:hunter2@openapi.weshop.ai"},
        "must not hold a user name or password",
    ),
    "query": ({"base_url": "https://openapi.weshop.ai?region=eu"}, "must not have a query (?region=eu)"),
    "fragment": ({"base_url": "https://openapi.weshop.ai/#top"}, "must not have a fragment (#top)"),
    "port out of range": ({"base_url": "https://openapi.weshop.ai:99999"}, "port 99999 is out of range"),
    "from the environment": ({"env": "http://10.0.0.5"}, "WESHOP_BASE_URL 'http://10.0.0.5' would send"),
}


@pytest.mark.parametrize("case", CLIENT_SETTINGS)
def test_client_settings_are_refused_at_once(monkeypatch, case) -> None:
    settings, message = CLIENT_SETTINGS[case]
    settings = dict(settings)
    if "env" in settings:
        monkeypatch.setenv("WESHOP_BASE_URL", settings.pop("env"))
    with pytest.raises(InvalidRequestError) as caught:
        WeShopClient(api_key="k", **settings)
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_base_urls_that_are_fine(emu, recwarn) -> None:
    from .conftest import API_KEY

    # The API prefix is the client's to add: given with it, it is not doubled.
    for suffix in ("/openapi/v1", "/openapi/v1/", "/openapi/agent"):
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url + suffix)
        assert client.base_url == emu.base_url
        assert client.agent_info().locations
    for url in ("http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765", "https://openapi.weshop.ai/"):
        assert WeShopClient(api_key="k", base_url=url).base_url == url.rstrip("/")
    lan = WeShopClient(api_key="k", base_url="http://192.168.1.20:8765", allow_insecure=True)
    assert lan.base_url == "http://192.168.1.20:8765"
    assert WeShopClient(api_key="k", timeout=(2, 5)).timeout == (2.0, 5.0)
    assert WeShopClient(api_key="k", timeout=12).timeout == 12.0
    assert not recwarn.list


# -- errors: none of them, nor what they lead to, holds the API key ------------------------

KEY = "sk-live-2b7d9e41-never-in-an-error"
FETCH_NOTHING = object()
ERRORS = {
    # case: (emulator options and the client's api, the call, the error)
    "key refused": ({"api_key": "another-key"}, lambda c: c.agent_info(), AuthenticationError),
    "5xx": ({"faults": {"5xx": 1.0}}, lambda c: c.agent_info(), ServiceError),
    "429": ({"faults": {"429": 1.0}}, lambda c: c.agent_info(), RateLimitError),
    "timeout": ({"faults": {"slow": 1.0}, "slow_delay": 1.0}, lambda c: c.agent_info(), ServiceError),
    "connection reset": ({"faults": {"reset": 1.0}}, lambda c: c.agent_info(), ServiceError),
    "unreadable reply": ({"faults": {"badjson": 1.0}}, lambda c: c.get_task("t"), ServiceError),
    "invalid request": ({}, lambda c: c.get_task("nope"), InvalidRequestError),
    "execute on a task that is gone": ({}, lambda c: c.execute("nope", {"textDescription": "x"}), InvalidRequestError),
    "picture not found": ({}, FETCH_NOTHING, ServiceError),
    "service down": (None, lambda c: c.agent_info(), ServiceError),
    "runs API: key refused": (
        {"api_key": "another-key", "api": "runs"},
        lambda c: c.get_execution("e"),
        AuthenticationError,
    ),
    "runs API: 5xx": ({"faults": {"5xx": 1.0}, "api": "runs"}, lambda c: c.get_execution("e"), ServiceError),
    "runs API: unknown run": ({"api": "runs"}, lambda c: c.get_execution("nope"), InvalidRequestError),
}


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is not None and all(item is not seen for seen in chain):
            chain.append(item)
            todo += [item.__cause__, item.__context__]
    return chain


def _reaches_the_key(root: object, limit: int = 20000) -> list[str]:
    """Paths from ``root`` to a string holding KEY, through attributes, containers and frame locals.

    A client is not entered: holding the key is its job (inside an auth object no repr
    or pickle shows). Frames outside weshop_nb (the test's own) are not entered either.
    """
    import types

    package = str(Path(__file__).resolve().parent.parent / "weshop_nb")
    found, seen = [], set()
    todo: list[tuple[object, str]] = [(root, "exc")]
    while todo and len(seen) < limit:
        obj, path = todo.pop()
        if id(obj) in seen or isinstance(obj, (WeShopClient, type, types.ModuleType, types.FunctionType)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (str, bytes)):
            if (KEY if isinstance(obj, str) else KEY.encode()) in obj:
                found.append(path)
            continue
        if isinstance(obj, types.TracebackType):
            todo += [(obj.tb_frame, path + ".frame"), (obj.tb_next, path + ".next")]
        elif isinstance(obj, types.FrameType):
            if obj.f_code.co_filename.startswith(package):
                todo += [(v, f"{path}[{obj.f_code.co_name}].{k}") for k, v in obj.f_locals.items()]
        elif isinstance(obj, dict):
            todo += [(v, f"{path}[{k!r}]") for k, v in obj.items()] + [(k, path + ".key") for k in obj]
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo += [(v, f"{path}[{n}]") for n, v in enumerate(obj)]
        else:
            if isinstance(obj, BaseException):
                todo += [
                    (getattr(obj, a), f"{path}.{a}") for a in ("__cause__", "__context__", "__traceback__", "args")
                ]
            todo += [(v, f"{path}.{k}") for k, v in getattr(obj, "__dict__", {}).items()]
            for cls in type(obj).__mro__:
                slots = cls.__dict__.get("__slots__", ())
                for name in [slots] if isinstance(slots, str) else slots:
                    todo.append((getattr(obj, name, None), f"{path}.{name}"))
    return found


def _shown(exc: BaseException) -> dict[str, str]:
    """Everything a user, a log or a crash reporter may show of one exception."""
    import pickle
    import traceback

    with_locals = traceback.TracebackException.from_exception(exc, capture_locals=True)
    return {
        "repr": repr(exc),
        "str": str(exc),
        "traceback with locals": "".join(with_locals.format()),
        "pickle": pickle.dumps(exc).decode("latin-1"),
    }


def _assert_keyless(exc: BaseException) -> None:
    for item in _chain(exc):
        for view, text in _shown(item).items():
            assert KEY not in text, f"the key is in the {view} of {type(item).__name__} ({exc!r})"
    assert not _reaches_the_key(exc)


@pytest.mark.parametrize("case", ERRORS)
def test_no_error_holds_the_key(case) -> None:
    from weshop_nb import emulator

    options, call, error = ERRORS[case]
    if options is None:  # nothing listens on that port
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
        with pytest.raises(error) as caught:
            call(WeShopClient(api_key=KEY, base_url=base_url, max_retries=0))
    else:
        options = dict(options)
        api = options.pop("api", "v1")
        # Never a local holding the key here: this frame is in the traceback too.
        with emulator.serve(**{"api_key": KEY, **options}) as emu:
            client = WeShopClient(api_key=KEY, base_url=emu.base_url, timeout=(2, 0.3), max_retries=0, api=api)
            with pytest.raises(error) as caught:
                if call is FETCH_NOTHING:
                    client.fetch_image(emu.base_url + "/files/results/nothing-0.png")
                else:
                    call(client)
    assert caught.value.__context__ is None or isinstance(caught.value.__context__, WeShopError)
    _assert_keyless(caught.value)


def test_login_refused_holds_no_key(ip, monkeypatch) -> None:
    from weshop_nb import emulator

    with emulator.serve(api_key="another-key") as emu:
        monkeypatch.setattr("getpass.getpass", lambda prompt="": KEY)
        with pytest.raises(UsageError) as caught:
            ip.run_cell(f"%weshop login --base-url {emu.base_url}")
    assert "refused that key" in str(caught.value)
    _assert_keyless(caught.value)


def test_an_error_made_with_a_bad_setting_holds_no_key() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        WeShopClient(api_key=KEY, base_url="http://weshop.example.test")
    _assert_keyless(caught.value)


# -- a home folder that cannot be written ------------------------------------------------

BROKEN_HOMES = {
    # how: (the history's diagnosis, words of its message, the history still readable, thumbnails warned about)
    "home is a file": ("not_a_folder", "is a file, not a folder", False, True),
    "thumbnails folder is a file": (None, None, True, True),
    "history is a folder": ("not_a_file", "is a folder, not a history file", False, False),
    "corrupt history": ("corrupt", "Move the file aside to start a new history", False, False),
    "locked history": ("locked", "locked by another program", True, False),
    "read-only": ("read_only", "read-only", True, True),
    "full": ("full", "is full", True, True),
}


@pytest.mark.parametrize("how", BROKEN_HOMES)
def test_broken_home(how, tmp_path, monkeypatch) -> None:
    from ._broken_home import MOUNTS, break_home, in_mount_namespace, look, mounts_work, seed_history

    reason, words, readable, thumbnails_warned = BROKEN_HOMES[how]
    home = tmp_path / "home"
    seed_history(home)
    if how in MOUNTS:
        if not mounts_work():
            pytest.skip("making a read-only or full folder needs a private mount namespace (root on Linux)")
        seen = in_mount_namespace(how, home)
    else:
        monkeypatch.setenv("WESHOP_NB_HOME", str(home))
        holder = break_home(home, how)
        try:
            seen = look(home)
        finally:
            if holder is not None:
                holder.close()
    if reason is None:
        assert "write_error" not in seen and "read_error" not in seen
    else:
        assert seen["write_error"]["reason"] == reason
        assert words in seen["write_error"]["message"]
        for error in (seen.get("write_error"), seen.get("read_error")):
            if error and reason != "corrupt":  # an intact history is never to be thrown away
                assert "Move the file aside" not in error["message"], error
    if readable:
        assert seen["rows"] == 1, seen  # the intact history is still read
    else:
        assert seen["read_error"]["reason"] == reason
    # Pictures show whatever the folder's state; a folder that cannot keep them is named once.
    assert seen["thumbnail"] > 0 and seen["icon"] > 0 and seen["thumbnail_again"] == seen["thumbnail"]
    assert seen["downloads"] == 1  # the icon is made from the kept card-size copy, not fetched again
    if thumbnails_warned:
        assert len(seen["warnings"]) == 1, seen["warnings"]
        assert str(home / "thumbnails") in seen["warnings"][0]
        assert "kept in memory" in seen["warnings"][0]
    else:
        assert seen["warnings"] == []
