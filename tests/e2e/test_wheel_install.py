"""`pip install luminamind` from the built wheel, by the pip that ships with Python, works.

No lock, no uv, no `pip install --upgrade pip` first: the way many users and tools install. The
wheel must declare every distribution the code imports (lxml_html_clean among them, which
trafilatura's jusText imports but only asks for through an lxml extra that lxml 6 dropped).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.http_servers import LocalHttpServer, Reply

ROOT = Path(__file__).resolve().parents[2]

PAGE = """<html><head><title>Wheel check</title></head><body>
<nav>Home | About | Login</nav>
<article><h1>Installed from the wheel</h1>
<p>This paragraph must survive boilerplate removal, which runs jusText through lxml's cleaner.
It is long enough to count as content rather than navigation for the extractor.</p>
<p>A second paragraph, so that the page has a body of text worth keeping in Markdown.</p>
</article><footer>Copyright nobody</footer></body></html>"""

pytestmark = pytest.mark.slow


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_wheel_installed_by_pythons_own_pip_fetches_html(tmp_path: Path) -> None:
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        pytest.skip("uv is installed by `make` into the venv; run through make")
    dist = tmp_path / "dist"
    _run(str(uv), "build", "--wheel", "--out-dir", str(dist), str(ROOT))
    wheel = next(dist.glob("luminamind-*.whl"))
    fresh = tmp_path / "fresh"
    # The base interpreter's venv module bundles the pip that shipped with this Python.
    base = getattr(sys, "_base_executable", sys.executable)
    _run(base, "-m", "venv", str(fresh))
    pip_version = _run(str(fresh / "bin" / "python"), "-m", "pip", "--version")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run(str(fresh / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), env=env)

    workspace = tmp_path / "ws"
    workspace.mkdir()
    run_env = {
        **os.environ,
        "LUMINAMIND_WEB__ALLOWED_HOSTS": '["127.0.0.1"]',
        "LUMINAMIND_CACHE__ENABLED": "false",
    }
    exe = str(fresh / "bin" / "luminamind")
    with LocalHttpServer() as server:
        url = server.route("/page", Reply.html(PAGE))
        out = _run(
            exe, "--workspace", str(workspace), "tools", "call", "fetch_as_markdown",
            "--args", json.dumps({"url": url}), env=run_env, timeout=120,
        )  # fmt: skip
        result = json.loads(out)
        assert "Installed from the wheel" in result["markdown"], pip_version
        assert "must survive boilerplate removal" in result["markdown"]
        crawl = _run(
            exe, "--workspace", str(workspace), "tools", "call", "web_crawl",
            "--args", json.dumps({"url": url, "max_pages": 1}), env=run_env, timeout=120,
        )  # fmt: skip
        assert "Installed from the wheel" in crawl
    shutil.rmtree(fresh, ignore_errors=True)
