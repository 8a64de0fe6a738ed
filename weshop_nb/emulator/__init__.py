"""An offline emulator of the WeShop AI OpenAPI, for tutorials, demos and tests.

It serves the service's v1 paths (``/openapi/v1/...``) and the agent-runs API
(``/openapi/agent/...``, see :mod:`.runs_api`) with the same envelopes, refusals,
upload rules, agents, 20-execution window and callbacks, and makes deterministic
synthetic result images with Pillow. It imports nothing from the rest of weshop_nb.

>>> from weshop_nb import emulator
>>> with emulator.serve(port=0, api_key="demo-key") as emu:   # doctest: +SKIP
...     emu.base_url

From a shell: ``python -m weshop_nb.emulator --port 8765 --api-key demo-key``.
"""

from .app import Emulator
from .faults import KINDS as FAULT_KINDS
from .server import EmulatorServer, serve

__all__ = ["FAULT_KINDS", "Emulator", "EmulatorServer", "serve"]
