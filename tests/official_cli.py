"""WeShop's official command-line client (npm ``weshop-cli``), installed into ``.cache/``.

The pinned version is written here once; ``make cli`` (and the test, when the CLI is
missing) run ``python -m tests.official_cli`` to install it with npm. node_modules stays
in the git-ignored ``.cache/weshop-cli`` folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

VERSION = "0.2.22"
FOLDER = Path(__file__).resolve().parent.parent / ".cache" / "weshop-cli"
ENTRY = FOLDER / "node_modules" / "weshop-cli" / "dist" / "index.js"
STAMP = FOLDER / f".installed-{VERSION}"


def missing_tools() -> str | None:
    """Why the CLI cannot run here (no node, no npm), or ``None``."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(absent)} not found on PATH: the official CLI needs Node.js" if absent else None


def install(timeout: float = 300) -> Path:
    """Install the pinned CLI once (a stamp file remembers); returns its entry script."""
    if STAMP.exists() and ENTRY.exists():
        return ENTRY
    FOLDER.mkdir(parents=True, exist_ok=True)
    command = ["npm", "install", "--prefix", str(FOLDER), "--no-audit", "--no-fund", f"weshop-cli@{VERSION}"]
    subprocess.run(command, check=True, timeout=timeout, capture_output=True)
    STAMP.touch()
    return ENTRY


if __name__ == "__main__":
    reason = missing_tools()
    if reason:
        print(f"Skipping the official CLI: {reason}.")
        sys.exit(0)
    print(f"weshop-cli {VERSION}: {install()}")
