"""Try-on engines: same inputs, same result type; looked up by name.

``warp`` (the default, CPU), ``catvton`` and ``hybrid`` (diffusion). Every engine
prepares the person photo the same way (``person``) and returns a ``TryOnResult``.
"""

from tryon.engines.base import Engine
from tryon.engines.registry import ENGINES, create_engine
from tryon.engines.warp import WarpEngine

__all__ = ["ENGINES", "Engine", "WarpEngine", "create_engine"]
