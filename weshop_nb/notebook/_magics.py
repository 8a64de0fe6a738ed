"""``%weshop`` and ``%%weshop``: the service from a notebook cell.

Settings are traitlets (``%config WeShopMagics.poll_interval = 2``); arguments parse
like a shell; user mistakes and service refusals raise ``UsageError``, which IPython
shows as one line, without a traceback. Heavy modules (requests, Pillow, pandas,
ipywidgets, werkzeug) are imported by the subcommands that need them, not at load.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.utils.text import dedent
from traitlets import Enum, Float, Int, Unicode, observe, validate

from ..config import API_KEY_VAR
from ..service._errors import AuthenticationError, ServiceError, WeShopError
from ..work._catalogue import catalogue_choices, filter_catalogue
from ..work._filters import FilterError
from ..work._launch import RetryError
from ..work._run import NO_CANCEL
from . import _parsers as magic_parsers
from ._display import show as _show
from ._paths import local_file
from ._prompts import PromptError
from ._run_command import RunCommand
from ._settings import RANGES, EnvWatch, check_setting

__all__ = ["WeShopMagics", "load_ipython_extension", "unload_ipython_extension"]

_NO_CLIENT = (
    "No WeShop API key in this session. Run `%weshop login` (asks for the key without echoing it), "
    "set WESHOP_API_KEY before starting Jupyter, or run `%weshop demo` to use the offline emulator."
)


@magics_class
class WeShopMagics(RunCommand, Magics):
    """The ``%weshop`` magic. Its settings are traitlets, set with ``%config``."""

    poll_interval = Float(2.0, help="Seconds between polls of a task while its executions change.").tag(config=True)
    max_poll_interval = Float(15.0, help="Longest pause between polls while nothing changes.").tag(config=True)
    agent = Unicode("aimodel", help="Agent used by `run` and `info` when none is given.").tag(config=True)
    agent_version = Unicode("v1.0", help="Agent version used when none is given.").tag(config=True)
    mask_type = Unicode("autoApparelSegment", help="maskType sent by `run` unless --mask is given.").tag(config=True)
    generated_content = Unicode("freeCreation", help="generatedContent sent by `run` unless --mode is given.").tag(
        config=True
    )
    thumbnail_size = Int(
        192, help="CSS width in pixels of each execution's card in run grids; pictures are embedded at 2x."
    ).tag(config=True)
    picture_format = Enum(
        ["webp", "jpeg"],
        "webp",
        help="Format of the pictures embedded in outputs: webp (smaller; every current browser, GitHub, "
        "VS Code) or jpeg (for a front-end that cannot show webp).",
    ).tag(config=True)
    max_concurrent_launches = Int(8, help="Executions started at the same time by one `run`.").tag(config=True)
    wait_timeout = Float(1800.0, help="Seconds `run --wait` blocks before returning the unfinished run.").tag(
        config=True
    )
    demo_latency = Float(2.0, help="Seconds each execution takes in `%weshop demo`.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.session: Any = None
        self._emulator: Any = None
        self._env = EnvWatch()
        self._from_env = False  # the session's client came from WESHOP_API_KEY

    # -- settings --------------------------------------------------------------------------

    @validate(*RANGES)
    def _check_range(self, proposal: Any) -> Any:
        trait = proposal["trait"]
        return check_setting(trait.name, proposal["value"], trait.help)

    @observe("poll_interval", "max_poll_interval", "max_concurrent_launches", "thumbnail_size", "picture_format")
    def _on_setting_change(self, change: Any) -> None:
        # `%config` after the session started: the next run uses the new value.
        if self.session is not None:
            self.session.configure(**self._settings())

    def _settings(self) -> dict[str, Any]:
        return {
            "thumbnail_size": self.thumbnail_size,
            "picture_format": self.picture_format,
            "poll_interval": self.poll_interval,
            "max_poll_interval": self.max_poll_interval,
            "max_concurrent": self.max_concurrent_launches,
        }

    # -- the session's client ------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The client of this session: from `login`, `demo`, or WESHOP_API_KEY."""
        return self._session().client

    def _session(self) -> Any:
        from ..service._client import WeShopClient

        changed = self._env.changed()
        if changed and self.session is not None and (self._from_env or os.environ.get(API_KEY_VAR)):
            # The environment moved under a running session: follow it, as `%weshop login` would.
            self.session.close()
            self.session = None
            if os.environ.get(API_KEY_VAR):
                self._use(WeShopClient(), from_env=True)
                names = " and ".join(changed)
                print(f"{names} changed in the environment: now using {self.session.client.base_url}.")
        if self.session is None:
            if not os.environ.get(API_KEY_VAR):
                raise UsageError(_NO_CLIENT)
            self._use(WeShopClient(), from_env=True)
        return self.session

    def _use(self, client: Any, *, from_env: bool = False) -> None:
        from ..work._session import Session

        if self.session is not None:
            self.session.close()
        self.session = Session(client, **self._settings())
        self._from_env = from_env
        self._env.mark()

    def close(self) -> None:
        """Stop watching runs and the demo emulator (on unload)."""
        if self.session is not None:
            self.session.close()
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    # -- dispatch ------------------------------------------------------------------------

    @line_cell_magic
    def weshop(self, line: str = "", cell: str | None = None) -> Any:
        """Use the WeShop AI service. ``%weshop help`` lists the subcommands."""
        command, args = magic_parsers.parse(line)
        if command == "help":
            return self._help(args.topic)
        if cell is not None and command != "run":
            raise UsageError(f"Only `%%weshop run` takes a cell body; use `%weshop {command}` on one line.")
        try:
            return getattr(self, f"_cmd_{command}")(args, cell)
        except (WeShopError, PromptError, FilterError, RetryError) as exc:
            raise UsageError(f"{type(exc).__name__}: {exc}") from None
        except OSError as exc:  # a local file that is missing or unreadable
            raise UsageError(str(exc)) from None

    def _help(self, topic: str | None) -> None:
        if topic:
            print(magic_parsers.help_for(topic))
        else:
            print(dedent(magic_parsers.OVERVIEW))

    # -- subcommands ---------------------------------------------------------------------

    def _cmd_demo(self, args: Any, cell: str | None) -> None:
        from .. import emulator
        from ..service._client import WeShopClient
        from ..work._html import banner_html

        if self._emulator is None:
            latency = self.demo_latency if args.latency is None else args.latency
            self._emulator = emulator.serve(latency=latency, failure_rate=args.failure_rate, seed=args.seed)
        self._use(WeShopClient(api_key=self._emulator.api_key, base_url=self._emulator.base_url))
        message = (
            f"Demo mode: weshop_nb now talks to the offline emulator at {self._emulator.base_url}. "
            "Its pictures are synthetic and nothing is billed. `%weshop login` switches to the real service."
        )
        _show(banner_html(message, tone="warning"), message)

    def _cmd_login(self, args: Any, cell: str | None) -> None:
        from ..service._client import WeShopClient

        # The key is never a local here: this frame is in the traceback of every error below.
        client = WeShopClient(api_key=_ask_key(), base_url=args.base_url)
        try:
            client.agent_info(self.agent, self.agent_version)
        except AuthenticationError:
            raise UsageError(f"{client.base_url} refused that key; nothing changed. Check it and try again.") from None
        except ServiceError as exc:
            print(f"Could not check the key now ({exc}); using it anyway.")
        self._use(client)
        print(f"Logged in to {client.base_url}. The key stays in this kernel's memory only.")

    def _cmd_info(self, args: Any, cell: str | None) -> None:
        from ..work._html import catalogue_html

        agent = args.agent or self.agent
        info = self.client.agent_info(agent, args.version or self.agent_version)
        sections = [
            (title, entries)
            for title, entries in (
                ("Locations", info.locations),
                ("Fashion models", info.fashion_models),
                ("Backgrounds", info.backgrounds),
            )
            if entries
        ]
        if not sections:
            print(f"{agent} has no presets (no locations, fashion models or backgrounds).")
        for title, entries in sections:
            chosen = filter_catalogue(entries, args.category, args.tag)
            if not chosen and (args.category or args.tag):
                print(f"{title}: none match; {catalogue_choices(entries)}")
                continue
            thumbs = self._catalogue_thumbnails([entry.image for entry in chosen])
            text = f"{title} ({len(chosen)}): " + ", ".join(f"{e.name} ({e.id})" for e in chosen)
            _show(catalogue_html(chosen, thumbs, title), text)

    def _catalogue_thumbnails(self, urls: list[str | None]) -> list[bytes]:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=8) as pool:  # a missing one is drawn as "unavailable"
            return list(pool.map(self._session().icon, urls))

    def _cmd_upload(self, args: Any, cell: str | None) -> str:
        return self.client.upload_image(local_file(args.path, "upload"))

    def _cmd_status(self, args: Any, cell: str | None) -> None:
        from ..work._html import EXECUTION_WIDTH, execution_html, task_html

        if args.task:
            task = self.client.get_task(args.task)
            _show(task_html(task), f"Task {task.id}: {len(task.executions)} recent execution(s)")
            return
        if not args.execution_id:
            raise UsageError("Give an execution id, or --task ID.")
        execution = self.client.get_execution(args.execution_id)
        thumbs = [self.session.thumbnail(url, EXECUTION_WIDTH) for url in execution.stills]
        _show(execution_html(execution, thumbs), f"Execution {execution.id}: {execution.status}")

    def _cmd_delete(self, args: Any, cell: str | None) -> None:
        self.client.delete_task(args.task_id)
        print(f"Deleted task {args.task_id} and its executions.")

    def _history(self) -> Any:
        from ..work._history import require_history

        return require_history()

    @staticmethod
    def _filters(args: Any) -> dict[str, Any]:
        return {
            "task": args.task,
            "status": args.status,
            "since": args.since,
            "until": args.until,
            "text": args.text,
            "limit": args.limit,
        }

    def _cmd_history(self, args: Any, cell: str | None) -> Any:
        history = self._history()
        if args.sync:
            seen = history.sync(self.client, args.task)
            print(f"Synced: the service holds {seen} recent execution(s) of the known tasks.")
        return history.executions(**self._filters(args))

    def _cmd_compare(self, args: Any, cell: str | None) -> Any:
        fetch = self.session.client.fetch_image if self.session is not None else None
        try:
            return self._history().compare(args.by, fetch=fetch, **self._filters(args))
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def _cmd_resume(self, args: Any, cell: str | None) -> Any:
        session = self._session()
        unfinished = session.unfinished(self._history())  # syncs their tasks first
        if unfinished.empty:
            print(f"Nothing to resume: no unfinished execution from {session.client.base_url} in the history.")
            return None
        run = session.resume(unfinished)
        print(f"Watching {len(run.items)} unfinished execution(s) again.")
        return self._finish(run, args)

    def _cmd_retry(self, args: Any, cell: str | None) -> Any:
        session = self._session()
        if not session.runs:
            raise UsageError("Nothing to retry: no run in this session yet. `%%weshop run` launches one.")
        target = session.runs[-1]
        if args.execution_id:  # ids name executions of any run of this session, the latest holding them all
            wanted = set(args.execution_id)
            holders = [run for run in session.runs if wanted <= {i.execution.id for i in run.items if i.execution}]
            target = holders[-1] if holders else target
        run = session.retry(target, args.execution_id or None)
        print(f"Launched {len(run.items)} execution(s) again with the same parameters (a new run).")
        return self._finish(run, args)

    def _cmd_stop(self, args: Any, cell: str | None) -> None:
        watched = [run for run in (self.session.runs if self.session is not None else []) if run.watching]
        if not watched:
            print("Nothing is being watched.")
            return
        unfinished = sum(not item.done for run in watched for item in run.items)
        for run in watched:
            run.stop()
        print(
            f"Stopped watching {len(watched)} run(s); their {unfinished} unfinished execution(s) go on at the "
            f"service ({NO_CANCEL}). run.start() or `%weshop resume` watches them again."
        )

    def _cmd_panel(self, args: Any, cell: str | None) -> Any:
        from .widgets._studio import Studio

        session = self._session()
        studio = Studio(session, start_dir=os.path.expanduser(args.dir) if args.dir else None)
        info = studio.choices.info
        if (args.location or args.model) and info is None:
            raise UsageError("Scenes and models could not be loaded; see the message in the panel.")
        if info is not None:
            studio.choices.locations.value = tuple(info.location(key).id for key in args.location)
            studio.choices.fashion_models.value = tuple(info.fashion_model(key).id for key in args.model)
        if args.prompt:
            studio.choices.prompts.value = args.prompt
        if args.image:
            studio.source.choose_path(local_file(args.image, "--image"))
        return studio

    def _cmd_agents(self, args: Any, cell: str | None) -> None:
        from ._agent_help import agents_text

        print(agents_text())


def _ask_key() -> str:
    """The key typed at a getpass prompt (never echoed), or UsageError when none was."""
    key = getpass.getpass("WeShop API key (not shown, not saved): ").strip()
    if not key:
        raise UsageError("No key entered; nothing changed.")
    return key


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext weshop_nb``: register ``%weshop`` / ``%%weshop``."""
    magics = WeShopMagics(shell=ipython)
    ipython.register_magics(magics)
    ipython.configurables.append(magics)


def unload_ipython_extension(ipython: Any) -> None:
    magics = ipython.magics_manager.registry.get("WeShopMagics")
    if magics is not None:
        magics.close()
