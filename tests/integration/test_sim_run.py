"""install.sh --run's pieces, run in bash as install.sh runs them (the script sourced, one
function called): the simulation's ports (KIT_WEB_PORT, KIT_INGEST_PORT) written into
sim/kit.toml, a taken port named with what holds it, and the local nginx ingest stopped
whenever the kit exits (an error, Ctrl-C, a kill). The kit is a stand-in script here
(KIT_BIN): what is tested is the shell around it; the real nginx is the ingest."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit import config
from kit.net.checks import upload_test_url
from tests.peers.ingest import free_port

INSTALL = Path(__file__).resolve().parents[2] / "install.sh"
NGINX_RTMP = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")


def bash(function: str, env: dict[str, str], **kw: object) -> subprocess.Popen[str]:
    script = f'source "{INSTALL}" && {function}'
    return subprocess.Popen(
        ["bash", "-c", script], env={**os.environ, **env}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kw,
    )  # type: ignore[call-overload]  # fmt: skip


def listening(port: int) -> bool:
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True)
    return bool(out.stdout.strip())


def nginx_running(sim: Path) -> bool:
    pid_file = sim / "ingest" / "nginx.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().strip()), 0)
    except (ProcessLookupError, ValueError):
        return False
    return True


def test_the_ports_go_into_the_simulation_config_and_an_older_one_is_mended(
    tmp_path: Path,
) -> None:
    sim = tmp_path / "sim"
    env = {"KIT_SIM_DIR": str(sim), "KIT_WEB_PORT": "8181", "KIT_INGEST_PORT": "19350"}
    p = bash("sim_config", env)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    cfg = config.load(sim / "kit.toml")
    assert cfg.web.port == 8181
    assert cfg.stream.server == "rtmp://127.0.0.1:19350/live/"
    assert upload_test_url(cfg) == ""

    # An older file (before [network] and the ports): mended, nothing else touched.
    old = (sim / "kit.toml").read_text()
    old = old[: old.index("[network]")].replace("8181", "8080").replace("19350", "1935")
    (sim / "kit.toml").write_text(old + "# mine\n")
    p = bash("sim_config", {"KIT_SIM_DIR": str(sim), "KIT_WEB_PORT": "8282"})
    _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    cfg = config.load(sim / "kit.toml")
    assert (cfg.web.port, cfg.stream.server) == (8282, "rtmp://127.0.0.1:1935/live/")
    assert upload_test_url(cfg) == "" and "# mine" in (sim / "kit.toml").read_text()

    p = bash("sim_config", {"KIT_SIM_DIR": str(sim), "KIT_WEB_PORT": "80a"})
    _, err = p.communicate(timeout=30)
    assert p.returncode == 1
    assert "KIT_WEB_PORT must be a port number from 1024 to 65535 (got '80a')" in err


@pytest.mark.parametrize("which", ["KIT_WEB_PORT", "KIT_INGEST_PORT"])
def test_a_taken_port_is_named_with_what_holds_it(tmp_path: Path, which: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        ports = {"KIT_WEB_PORT": str(free_port()), "KIT_INGEST_PORT": str(free_port())}
        ports[which] = str(port)
        env = {"KIT_SIM_DIR": str(tmp_path / "sim"), "KIT_BIN": "/bin/false", **ports}
        p = bash("run_simulation", env)
        _, err = p.communicate(timeout=30)
    assert p.returncode == 1
    what = "the kit's page" if which == "KIT_WEB_PORT" else "the local RTMP ingest"
    # This test's own Python holds it: ss shows our own processes by name.
    assert f'port {port} ({what}) is in use by "python' in err, err
    assert f"{which}=<port> ./install.sh --dev --run" in err
    assert not nginx_running(tmp_path / "sim")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    if not (shutil.which("nginx") and NGINX_RTMP.exists()):
        pytest.skip("nginx with the RTMP module (install.sh --dev) is not installed")
    fake = tmp_path / "kit"
    # The stand-in kit: says the ingest was listening when it started, then behaves as
    # KIT_FAKE says (exit with an error, or run until stopped).
    fake.write_text(
        "#!/bin/sh\n"
        'ss -Hltn "sport = :$KIT_INGEST_PORT" > "$KIT_SIM_DIR/ingest-seen"\n'
        'touch "$KIT_SIM_DIR/kit-started"\n'
        '[ "$KIT_FAKE" = fail ] && exit 3\n'
        "exec sleep 60\n"
    )
    fake.chmod(0o755)
    env = {"KIT_SIM_DIR": str(tmp_path / "sim"), "KIT_BIN": str(fake),
           "KIT_WEB_PORT": str(free_port()), "KIT_INGEST_PORT": str(free_port())}  # fmt: skip
    yield tmp_path / "sim", env
    # Never leave an nginx behind, whatever the test did.
    pid_file = tmp_path / "sim" / "ingest" / "nginx.pid"
    if nginx_running(tmp_path / "sim"):
        os.kill(int(pid_file.read_text()), signal.SIGKILL)


def wait_for(path: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["kit fails", "Ctrl-C", "SIGTERM", "SIGHUP"])
def test_the_ingest_stops_whenever_the_kit_exits(
    sim: tuple[Path, dict[str, str]], how: str
) -> None:
    folder, env = sim
    port = int(env["KIT_INGEST_PORT"])
    p = bash("run_simulation", {**env, "KIT_FAKE": "fail" if how == "kit fails" else "run"})
    wait_for(folder / "kit-started")
    assert (folder / "ingest-seen").read_text().strip(), "the ingest was not listening"
    if how != "kit fails":
        # Ctrl-C in a terminal reaches the whole foreground process group.
        sig = {"Ctrl-C": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP}[how]
        os.killpg(p.pid, sig)
    out, err = p.communicate(timeout=30)
    assert p.returncode != 0
    assert "unbound variable" not in err, err
    assert not listening(port), "nginx still holds the ingest's port"
    assert not nginx_running(folder)
    assert f"127.0.0.1:{env['KIT_WEB_PORT']}" in out  # the page's address, said at the start


def test_kit_press_says_what_happens_next_on_a_running_kit(tmp_path: Path) -> None:
    # The press acts a moment after the API answers (on the release, in the daemon's own
    # thread): `kit press` waits for that and says it in words, not "state: idle".
    from tests.integration.kitproc import KitProcess, write_config

    server = f"rtmp://127.0.0.1:{free_port()}/live/"  # nothing listens: the checks fail
    kit = KitProcess(write_config(tmp_path, server), tmp_path / "daemon.log")
    kit.start()
    try:
        said = kit.cli("press").stdout.strip()
        assert said in (
            "Pressed: running the pre-flight checks, then a 3-second countdown, then live; "
            "press again to cancel. `kit status` shows how it goes.",
        ) or said.startswith("Pressed: it could not go live (check_failed): "), said
        kit.wait_state("check_failed")
        said = kit.cli("press", "--hold", "3").stdout.strip()
        assert said.startswith("Held 3 s: "), said  # not on air: a hold changes nothing
    finally:
        kit.stop()
