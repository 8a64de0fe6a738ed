"""The %weshop magic through a testing shell that re-raises."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import tempfile

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from PIL import Image

from weshop_nb import emulator

from .conftest import API_KEY


def _text(captured) -> str:
    """Everything a cell showed: stdout, stderr and every display's text and HTML."""
    shown = [captured.stdout, captured.stderr]
    for output in captured.outputs:
        shown += [str(v) for v in output.data.values()]
    return "\n".join(shown)


@pytest.fixture
def demo(ip):
    ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
    ip.run_cell("%weshop demo --latency 0.4 --seed 1")
    return ip.magics_manager.registry["WeShopMagics"]


@pytest.fixture
def garment(make_image, tmp_path):
    path = tmp_path / "garment.png"
    path.write_bytes(make_image(640, 800))
    return path


def test_help_lists_every_subcommand(ip) -> None:
    for line in ("%weshop", "%weshop help"):
        with capture_output() as captured:
            ip.run_cell(line)
        for command in ("demo", "login", "info", "upload", "run", "status", "history", "compare", "delete", "panel"):
            assert f"%weshop {command}" in captured.stdout or f"%%weshop {command}" in captured.stdout
    with capture_output() as captured:
        ip.run_cell("%weshop help run")
    assert "--location" in captured.stdout and "--custom-mask" in captured.stdout


def test_unknown_subcommand_and_bad_options_are_usage_errors(ip) -> None:
    with pytest.raises(UsageError, match="Did you mean `run`"):
        ip.run_cell("%weshop rnu")
    with pytest.raises(UsageError, match="unrecognized arguments: --bogus"):
        ip.run_cell("%weshop info --bogus")
    with pytest.raises(UsageError, match="Only `%%weshop run` takes a cell body"):
        ip.run_cell("%%weshop info\nbody")


def test_without_key_the_error_says_how_to_get_one(ip) -> None:
    with pytest.raises(UsageError) as caught:
        ip.run_cell("%weshop info")
    assert "%weshop login" in str(caught.value) and "WESHOP_API_KEY" in str(caught.value)
    assert "%weshop demo" in str(caught.value)


def test_a_blank_key_is_no_key(ip, monkeypatch) -> None:
    # The client's rule (blank means unset): the magic says what to do, not the client's refusal.
    monkeypatch.setenv("WESHOP_API_KEY", "   ")
    with pytest.raises(UsageError) as caught:
        ip.run_cell("%weshop info")
    assert str(caught.value).startswith("No WeShop API key in this session. Run `%weshop login`")
    assert "AuthenticationError" not in str(caught.value)
    with emulator.serve(api_key=API_KEY, latency=0) as emu:  # a key from the environment, then blanked
        monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
        monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
        ip.run_cell("%weshop info")
        monkeypatch.setenv("WESHOP_API_KEY", " ")
        with pytest.raises(UsageError, match=r"^No WeShop API key in this session\."):
            ip.run_cell("%weshop info")


def test_demo_shows_a_banner_and_uses_the_emulator(ip) -> None:
    with capture_output() as captured:
        ip.run_cell("%weshop demo --latency 0.1")
    shown = _text(captured)
    assert "Demo mode" in shown and "offline emulator" in shown
    magics = ip.magics_manager.registry["WeShopMagics"]
    assert magics.client.base_url.startswith("http://127.0.0.1:")


def test_info_tables_and_filters(demo, ip) -> None:
    with capture_output() as captured:
        ip.run_cell("%weshop info")
    assert len(captured.outputs) == 2
    html = captured.outputs[0].data["text/html"]
    assert "White Studio" in html and "data:image/webp;base64," in html
    with capture_output() as captured:
        ip.run_cell('%weshop info --tag "film grain" --category menswear')
    text = captured.outputs[0].data["text/plain"]
    assert "French Flagstone Pavement" in text and "White Studio" not in text
    assert "none match" in captured.stdout  # no fashion model has the tag; choices listed
    assert "Smiling" in captured.stdout


def test_upload_returns_url_and_refuses_bad_images_locally(demo, ip, garment, make_image, tmp_path) -> None:
    ip.run_cell(f"url = %weshop upload '{garment}'")
    assert ip.user_ns["url"].startswith(demo.client.base_url)
    small = tmp_path / "small.png"
    small.write_bytes(make_image(640, 300))
    uploads = demo.emulator.stats()["uploads"]
    with pytest.raises(UsageError, match="height 300 px, must be above 512 px"):
        ip.run_cell(f"%weshop upload {small}")
    assert demo.emulator.stats()["uploads"] == uploads


def test_run_sweep_with_quoting_interpolation_and_wait(demo, ip, garment) -> None:
    ip.user_ns["season"] = "summer"
    spaced = garment.with_name("my garment.png")
    spaced.write_bytes(garment.read_bytes())
    cell = (
        f'%%weshop run --image "{spaced}" --name "spring look" --location "sunny beach" '
        "--location 6000402 --model eve --batch 1 --wait -o run\n"
        "walking in {season} with {{braces}}\n---\nat golden hour\n"
    )
    ip.run_cell(cell)
    run = ip.user_ns["run"]
    assert run.done and len(run.items) == 2 * 2 * 1
    prompts = sorted({item.job.prompt for item in run.items})
    assert prompts == ["at golden hour", "walking in summer with {braces}"]
    assert {item.job.location.name for item in run.items} == {"Sunny Beach", "Neon Street at Night"}
    assert {item.job.fashion_model.name for item in run.items} == {"Eve"}
    task = run.items[0].job.task
    assert task.name == "spring look"
    assert all(item.job.params["maskType"] == "autoApparelSegment" for item in run.items)
    frame = run.to_frame()
    assert (frame["status"] == "success").all() and frame["task_name"].iloc[0] == "spring look"


def test_run_without_wait_returns_at_once(demo, ip, garment) -> None:
    demo.emulator.emulator.store.latency = 5
    ip.run_cell(f"%%weshop run --image {garment} -o quick\na prompt")
    run = ip.user_ns["quick"]
    assert not run.done  # the cell did not block
    run.stop()


def test_run_reuses_a_task_and_reaches_every_parameter(demo, ip, garment) -> None:
    ip.run_cell(f"%%weshop run --image {garment} --wait -o first\nfirst")
    task_id = ip.user_ns["first"].items[0].job.task.id
    ip.run_cell(
        f"%%weshop run --task {task_id} --mode referToOrigin --pose freePose --batch 2 "
        '--negative "blurry, text" --mask autoUpperApparelSegment --wait -o second\nsecond'
    )
    (item,) = ip.user_ns["second"].items
    assert item.job.task.id == task_id
    assert item.execution.params == {
        "textDescription": "second",
        "generatedContent": "referToOrigin",
        "pose": "freePose",
        "batchCount": 2,
        "negTextDescription": "blurry, text",
        "maskType": "autoUpperApparelSegment",
    }
    assert len(item.execution.images) == 2


def test_custom_mask_is_uploaded(demo, ip, garment) -> None:
    ip.run_cell(f"%%weshop run --image {garment} --custom-mask {garment} --wait -o masked\nmasked")
    params = ip.user_ns["masked"].items[0].execution.params
    assert params["maskType"] == "custom" and params["customMaskUrl"].startswith(demo.client.base_url)


def test_aipose_run(demo, ip, garment) -> None:
    ip.run_cell(
        f"%%weshop run --agent aipose --image {garment} --generate-version pro --batch 1 --wait -o pose\narms up"
    )
    (item,) = ip.user_ns["pose"].items
    assert item.status == "success" and item.execution.params["generateVersion"] == "pro"
    with pytest.raises(UsageError, match="--location sets locationId, which aipose does not take"):
        ip.run_cell(f"%%weshop run --agent aipose --image {garment} --location 6000372\narms up")


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("--image {g}", "a {undefined_name}", "undefined_name} in the prompt is not defined"),
        ("--image {g}", "a } b", "Unbalanced brace"),
        ("--image {g}", "", "Nothing to generate"),
        ("--image {g}", "---\n---", "Nothing to generate"),
        ("", "x", "exactly one of --image"),
        ("--image {g} --task abc", "x", "exactly one of --image"),
        ("--image {g} --location 'sunny bech'", "x", "Did you mean 'Sunny Beach'"),
        ("--image {g} --model Nobody", "x", "Valid fashion models: Letitia (4020082)"),
        ("--image {g} --batch 17", "x", "--batch must be between 1 and 16, got 17"),
        ("--image {g} --batch two", "x", "invalid int value: 'two'"),
        ("--image {g} --mask everything", "x", "invalid choice: 'everything'"),
        ("--image {g} --mask custom", "x", "--mask custom needs --custom-mask"),
        ("--image {g} --agent aimodle", "x", "Unknown agent aimodle"),
        ("--image {g} -o 'not a name'", "x", "-o needs a variable name"),
        ("--task does-not-exist", "x", "not found"),
        ("--image /nowhere/garment.png", "x", "no file /nowhere/garment.png: the folder /nowhere does not exist"),
    ],
)
def test_run_mistakes_are_usage_errors(demo, ip, garment, line, body, message) -> None:
    executions = demo.emulator.stats()["executions_created"]
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        cell = f"%%weshop run {line.format(g=garment)}\n{body}" if body else f"%weshop run {line.format(g=garment)}"
        ip.run_cell(cell)
    assert demo.emulator.stats()["executions_created"] == executions  # nothing launched


def test_status_and_delete(demo, ip, garment) -> None:
    ip.run_cell(f"%%weshop run --image {garment} --wait -o done\nx")
    run = ip.user_ns["done"]
    execution_id, task_id = run.executions[0].id, run.items[0].job.task.id
    with capture_output() as captured:
        ip.run_cell(f"%weshop status {execution_id}")
    assert "success" in captured.outputs[0].data["text/plain"]
    assert captured.outputs[0].data["text/html"].count("data:image/webp;base64,") == 4
    with capture_output() as captured:
        ip.run_cell(f"%weshop status --task {task_id}")
    assert execution_id in captured.outputs[0].data["text/html"]
    with capture_output() as captured:
        ip.run_cell(f"%weshop delete {task_id}")
    assert f"Deleted task {task_id}" in captured.stdout
    with pytest.raises(UsageError, match="not found"):
        ip.run_cell(f"%weshop status --task {task_id}")


def test_pictures_are_embedded_at_twice_the_size_shown_in_the_format_asked(ip, garment) -> None:
    ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
    ip.run_cell('%config WeShopMagics.picture_format = "jpeg"')  # for a front-end without WebP
    ip.run_cell("%weshop demo --latency 0.2")
    with capture_output() as captured:
        ip.run_cell(f"%%weshop run --image {garment} --batch 2 --wait -o run\nx")
    (shown,) = [o for o in captured.outputs if "text/html" in o.data]
    pictures = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)" width="(\d+)"', shown.data["text/html"])
    assert len(pictures) == 2
    for data, width in pictures:
        with Image.open(io.BytesIO(base64.b64decode(data))) as picture:
            # Twice the width shown (94 CSS px), or a few pixels more where a whole-factor
            # reduction gets there (768 / 4 = 192 for 188: service._images.embed).
            assert picture.format == "JPEG" and int(width) == 94 and picture.width == 192


def test_login_asks_with_getpass_and_keeps_the_key_secret(ip, monkeypatch) -> None:
    with emulator.serve(api_key=API_KEY) as emu:
        monkeypatch.setattr("getpass.getpass", lambda prompt="": "wrong-key")
        with pytest.raises(UsageError, match="refused that key") as caught:
            ip.run_cell(f"%weshop login --base-url {emu.base_url}")
        assert "wrong-key" not in str(caught.value)
        monkeypatch.setattr("getpass.getpass", lambda prompt="": API_KEY)
        with capture_output() as captured:
            ip.run_cell(f"%weshop login --base-url {emu.base_url}")
            ip.run_cell("%weshop info")
        assert "Logged in" in captured.stdout
        assert API_KEY not in _text(captured)
        assert API_KEY not in repr(ip.magics_manager.registry["WeShopMagics"].client)
        assert API_KEY not in str(ip.user_ns)


def test_key_from_environment_never_shows(ip, monkeypatch, garment) -> None:
    with emulator.serve(api_key=API_KEY, latency=0.2) as emu:
        monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
        monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
        ip.run_cell("%config WeShopMagics.poll_interval = 0.1")
        shown = []
        with capture_output() as captured:
            ip.run_cell(f"%%weshop run --image {garment} --location 6000372 --wait -o run\nprompt")
            ip.run_cell("run")
            ip.run_cell("%weshop info")
        shown.append(_text(captured))
        run = ip.user_ns["run"]
        shown += [repr(run), run._repr_html_(), str(run._repr_mimebundle_()), run.to_frame().to_string()]
        for line in ("%weshop status nope", "%weshop delete nope", "%%weshop run --task nope\nx"):
            with pytest.raises(UsageError) as caught:
                ip.run_cell(line)
            shown.append(str(caught.value))
        assert all(API_KEY not in text for text in shown)
        assert any("Run of 1 execution" in text for text in shown)


def test_settings_are_traitlets_with_help(ip) -> None:
    ip.run_cell("%config WeShopMagics.poll_interval = 0.5")
    magics = ip.magics_manager.registry["WeShopMagics"]
    assert magics.poll_interval == 0.5
    for name in ("poll_interval", "agent", "agent_version", "thumbnail_size", "max_concurrent_launches"):
        assert magics.traits()[name].help


def test_loading_the_extension_loads_no_heavy_library() -> None:
    # %load_ext runs in every notebook that uses weshop_nb, so it must stay light: requests,
    # Pillow, pandas and the widgets load with the first command that needs them.
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'weshop_nb')\n"
        "print(','.join(m for m in ('requests', 'PIL', 'pandas', 'ipywidgets', 'werkzeug') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tempfile.gettempdir()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""
