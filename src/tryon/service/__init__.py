"""The HTTP service (``tryon serve``): FastAPI app, catalog and try-ons over HTTP.

Needs the ``service`` extra (``pip install tryon[service]``). ``create_app`` lives in
``tryon.service.app``; it is not imported here so that ``tryon`` works without FastAPI.
"""
