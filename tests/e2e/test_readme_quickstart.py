"""The README's quick start, run as written: `make run` on a fresh data directory, then the
README's first command block in another shell, with uv off the PATH (as on a fresh machine).

Only the port differs from the README (8000 may be taken on a shared machine): the server gets
CUSTOMERHUB_PORT and the block's `127.0.0.1:8000` is rewritten to it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0

pytestmark = pytest.mark.slow


def quickstart_block() -> str:
    """The first bash block of the README that mints a token."""
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)
    block = next(b for b in blocks if "make token" in b)
    assert "127.0.0.1:8000" in block
    return str(block)


def fresh_machine_env(data_dir: Path, port: int) -> dict[str, str]:
    """The caller's environment without customerhub settings and without uv on the PATH."""
    # A person's shell: no settings, and not inside a make run (CI's `make test` exports
    # MAKEFLAGS/MAKELEVEL, and a nested make prints "Entering directory" into `$(make token)`).
    prefixes = ("CUSTOMERHUB_", "UV_", "MAKE", "MFLAGS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    for name in ("VIRTUAL_ENV", "KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "KURRENTDB_URL"):
        env.pop(name, None)
    local_bin = str(Path.home() / ".local" / "bin")
    env["PATH"] = os.pathsep.join(
        entry for entry in env["PATH"].split(os.pathsep) if entry not in (local_bin, "")
    )
    env["UV_LINK_MODE"] = "copy"
    env["CUSTOMERHUB_DATA_DIR"] = str(data_dir)
    env["CUSTOMERHUB_PORT"] = str(port)
    return env


def wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.poll() is None, f"make run exited:\n{log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"make run did not serve within {START_TIMEOUT}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    port = free_port()
    env = fresh_machine_env(tmp_path / "var", port)
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log)
        yield url, env, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # make and the server it started, nothing else
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_readme_quick_start_works_as_written_on_a_fresh_data_directory(
    server: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    url, env, log = server
    block = quickstart_block().replace("http://127.0.0.1:8000", url)
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    created = json.loads(lines[-1])
    assert created["version"] == 1 and created["customer_number"].startswith("C"), created
    secret_file = tmp_path / "var" / "jwt-secret"
    assert f"signed with the HS256 secret from {secret_file}" in done.stderr
    assert "created just now" not in done.stderr, "the token must use the server's secret"

    started = log.read_text()
    assert f"HS256 secret: {secret_file}" in started
    printed = re.search(r"TOKEN=(\S+)", started)
    assert printed is not None, started
    request = urllib.request.Request(
        f"{url}/v1/customers", headers={"Authorization": f"Bearer {printed.group(1)}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200

    with urllib.request.urlopen(f"{url}/", timeout=10) as answer:
        assert answer.url == f"{url}/console/sign-in?next=/console/customers"
        assert "Development sign-in" in answer.read().decode()
    with urllib.request.urlopen(f"{url}/docs", timeout=10) as answer:
        assert answer.status == 200
