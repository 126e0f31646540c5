"""A real server: ``tryon serve`` in a subprocess, a real try-on over loopback HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import GARMENTS, PHOTOS
from tests.service.conftest import decoded

PERSON = PHOTOS / "people" / "p1_studio.jpg"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_tryon_serve_answers_a_real_tryon(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "tryon", "serve", "--port", str(port), "--catalog", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TRYON_API_KEYS": ""},
    )
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.2)
            shirt = next(g for g in GARMENTS if g.name.startswith("shirts"))
            added = http.post("/v1/garments", files={"photo": (shirt.name, shirt.read_bytes())})
            assert added.status_code == 201, added.text
            response = http.post(
                "/v1/tryon",
                files={"person": (PERSON.name, PERSON.read_bytes())},
                data={"garment_id": added.json()["id"]},
                headers={"Accept": "image/jpeg"},
            )
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "image/jpeg"
            assert decoded(response.content).size == decoded(PERSON.read_bytes()).size
            bad = http.post(
                "/v1/tryon",
                files={"person": ("p.jpg", b"nope")},
                data={"garment_id": added.json()["id"]},
            )
            assert bad.status_code == 415 and bad.json()["error"]["type"] == "InvalidImageError"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output = server.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            output = server.communicate()[0].decode()
    assert server.returncode == 0, output
    assert "Uvicorn running on" in output or "Application startup complete" in output
    # The log has request lines, never image bytes.
    assert "POST /v1/tryon" in output and "\\x" not in output and "JFIF" not in output
