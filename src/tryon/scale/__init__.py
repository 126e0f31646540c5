"""Scale-out: the service on Ray Serve (``tryon serve --ray``), job state in Redis.

``tryon.scale.config`` holds the settings of the deployments, ``tryon.scale.deployments``
the deployments themselves and ``build_application``; nothing here imports Ray until a
deployment is built, so ``tryon`` works without the ``scale`` extra.
"""

from tryon.scale.config import ScaleConfig

__all__ = ["ScaleConfig"]
