"""The kit daemon as a real process (``kit run --simulate``), driven through its own CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers.ingest import free_port

# Expires in 2100: the ingest check reads expire= and fails a key whose time has passed.
KEY = "stream-7311111111111111111?expire=4102444800&sign=0123abcd"


# The pre-flight's upload test reaches a public host by default (kit.config): a test kit
# never does. A test that measures gives its own [network] section in `extra`.
NO_UPLOAD_TEST = '[network]\nupload_test_url = "off"'


def write_config(
    root: Path,
    server: str,
    key: str = KEY,
    title: str = "Test 🎉",
    ca_file: Path | None = None,
    extra: str = "",
) -> Path:
    """The kit's config for a test; `extra` is more TOML (whole sections) at the end."""
    cfg = root / "kit.toml"
    cfg.write_text(
        f"""
[stream]
server = {json.dumps(server)}
key = {json.dumps(key)}
width = 720
height = 1280
fps = 30
bitrate_kbps = 2500
{f'ca_file = "{ca_file}"' if ca_file else ""}
[recording]
dir = "{root}/recordings"
segment_seconds = 10
[state]
dir = "{root}/state"
[web]
host = "127.0.0.1"
port = {free_port()}
[broadcast]
title = {json.dumps(title, ensure_ascii=False)}
{"" if "[network]" in extra else NO_UPLOAD_TEST}
{extra}
"""
    )
    return cfg


class KitProcess:
    def __init__(self, config: Path, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kit", "run", "--simulate", "--config", str(self.config)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kit exited at start:\n{self.log()}")
            r = self.cli("status", "--json", check=False)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"kit did not come up in {timeout} s:\n{self.log()}")

    def cli(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(
            [sys.executable, "-m", "kit", *args, "--config", str(self.config)],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if check and r.returncode != 0:
            raise AssertionError(
                f"kit {' '.join(args)} failed ({r.returncode}):\n"
                f"{r.stdout}{r.stderr}\n--- daemon log ---\n{self.log()}"
            )
        return r

    def status(self) -> dict[str, Any]:
        return json.loads(self.cli("status", "--json").stdout)

    def press(self, hold: float = 0) -> None:
        self.cli("press", *(["--hold", str(hold)] if hold else []))

    def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float, what: str = ""
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        st: dict[str, Any] = {}
        while time.monotonic() < deadline:
            st = self.status()
            if pred(st):
                return st
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what}; last status: {st}\n--- daemon log ---\n{self.log()}"
        )

    def wait_state(self, state: str, timeout: float = 20.0) -> dict[str, Any]:
        return self.wait_for(lambda s: s["state"] == state, timeout, f"state {state}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def recordings(self) -> Path:
        return self.config.parent / "recordings"

    @property
    def state_dir(self) -> Path:
        return self.config.parent / "state"


@pytest.fixture
def kit_process(tmp_path: Path) -> Iterator[Callable[..., KitProcess]]:
    """Factory: ``kit_process(server, key=..., title=...)`` -> a started KitProcess."""
    started: list[KitProcess] = []

    def make(server: str, **kwargs: Any) -> KitProcess:
        root = tmp_path / f"kit{len(started)}"
        root.mkdir()
        kp = KitProcess(write_config(root, server, **kwargs), root / "daemon.log")
        started.append(kp)
        kp.start()
        return kp

    yield make
    for kp in started:
        kp.stop()
        # Never leave an ffmpeg behind for the next test.
        if kp.proc is not None:
            os.system(f"pkill -f {kp.recordings} >/dev/null 2>&1")
