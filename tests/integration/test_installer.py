"""`sudo ./install.sh` in a clean Debian 12 root made with debootstrap.

picamera2 is not available there (it comes from the Raspberry Pi OS
repository): the installer must say so and install everything else. systemd
is not running in a chroot, so the service is enabled (its symlink) and would
start at the next boot. A second run must change nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MIRROR = os.environ.get("KIT_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What the installer owns: the manifest of these must not change on a second run.
OWNED = [
    "opt/kit",
    "etc/kit",
    "var/lib/kit",
    "etc/systemd/system/kit.service",
    "etc/systemd/system/multi-user.target.wants/kit.service",
    "etc/polkit-1/rules.d/50-kit-networkmanager.rules",
    "etc/systemd/system/kit-hidepid.service",
    "etc/systemd/system/sysinit.target.wants/kit-hidepid.service",
    "etc/systemd/system/systemd-logind.service.d/kit-proc.conf",
    "etc/systemd/system/NetworkManager.service.d/kit-proc.conf",
    "usr/local/bin/kit",
]
HIDEPID = "etc/systemd/system/kit-hidepid.service"

pytestmark = pytest.mark.slow


def need_root() -> None:
    if os.geteuid() == 0 and shutil.which("debootstrap"):
        return
    if os.environ.get("CI"):
        pytest.fail("the installer test needs root and debootstrap (install.sh --dev installs it)")
    pytest.skip("needs root and debootstrap")


@pytest.fixture(scope="module")
def debian(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    need_root()
    root = tmp_path_factory.mktemp("debian") / "root"
    subprocess.run(
        ["debootstrap", "--variant=minbase", "bookworm", str(root), MIRROR],
        check=True,
        capture_output=True,
        timeout=900,
    )
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    # This sandbox reaches PyPI through a TLS-inspecting proxy whose CA is in
    # the host's bundle only; a real Pi uses its own trust store.
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", root / "root/host-ca.crt")
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    subprocess.run(["mount", "--bind", "/dev", str(root / "dev")], check=True)
    src = root / "src"
    src.mkdir()
    for name in ("kit", "web", "systemd"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "install.sh"):
        shutil.copy2(REPO / name, src / name)
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root / "dev")], check=False)
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)


def run_in(
    root: Path, *cmd: str, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = [
        # sudo's secure_path on Debian: /usr/local/bin comes first.
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root",
        "LANG=C.UTF-8",
        "PIP_CERT=/root/host-ca.crt",
    ]
    r = subprocess.run(
        ["chroot", str(root), "env", "-i", *env, *cmd],
        capture_output=True,
        text=True,
        timeout=1200,
        input=input,
    )
    if check and r.returncode != 0:
        raise AssertionError(
            f"{cmd} failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
        )
    return r


def manifest(root: Path) -> dict[str, tuple[int, int, int, int, str]]:
    """Every owned path: mode, owner, group, mtime, and the content's hash."""
    out = {}
    for rel in OWNED:
        top = root / rel
        paths = [top, *top.rglob("*")] if top.is_dir() and not top.is_symlink() else [top]
        for p in paths:
            if not p.exists() and not p.is_symlink():
                continue
            st = p.lstat()
            digest = ""
            if p.is_symlink():
                digest = os.readlink(p)
            elif p.is_file():
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            out[str(p.relative_to(root))] = (
                st.st_mode,
                st.st_uid,
                st.st_gid,
                st.st_mtime_ns,
                digest,
            )
    return out


def test_install_twice_then_uninstall(debian: Path) -> None:
    first = run_in(debian, "bash", "/src/install.sh")
    said = first.stdout + first.stderr
    assert "python3-picamera2 is not available here" in said
    assert "everything else is being installed" in said
    assert "http://" in said and ".local:8080" in said

    # The files, their modes and owners.
    kit = run_in(debian, "id", "-nG", "kit").stdout.split()
    assert {"kit", "video", "audio"} <= set(kit)
    assert (
        run_in(debian, "getent", "passwd", "kit").stdout.split(":")[6].strip()
        == "/usr/sbin/nologin"
    )
    cfg = debian / "etc/kit/kit.toml"
    assert oct(cfg.stat().st_mode & 0o777) == "0o640"
    assert run_in(debian, "stat", "-c", "%U:%G", "/etc/kit/kit.toml").stdout.strip() == "root:kit"
    state = debian / "var/lib/kit"
    assert oct(state.stat().st_mode & 0o777) == "0o700"
    assert run_in(debian, "stat", "-c", "%U", "/var/lib/kit").stdout.strip() == "kit"
    unit = debian / "etc/systemd/system/kit.service"
    assert unit.read_text() == (REPO / "systemd/kit.service").read_text()
    wants = debian / "etc/systemd/system/multi-user.target.wants/kit.service"
    assert os.readlink(wants) == "/etc/systemd/system/kit.service"
    # NetworkManager's polkit rule for the kit user (tests/integration/test_polkit.py).
    rule = debian / "etc/polkit-1/rules.d/50-kit-networkmanager.rules"
    assert rule.read_text() == (REPO / "systemd/kit-networkmanager.rules").read_text()
    assert oct(rule.stat().st_mode & 0o777) == "0o644"
    assert (rule.stat().st_uid, rule.stat().st_gid) == (0, 0)
    # /proc hides each user's processes from the others from the next boot (the key in
    # ffmpeg's argv), and the services that must see them are in the group proc.
    assert (debian / HIDEPID).read_text() == (REPO / "systemd/kit-hidepid.service").read_text()
    hidepid_wants = debian / "etc/systemd/system/sysinit.target.wants/kit-hidepid.service"
    assert os.readlink(hidepid_wants) == "/" + HIDEPID
    for unit in ("systemd-logind", "NetworkManager"):
        dropin = debian / f"etc/systemd/system/{unit}.service.d/kit-proc.conf"
        assert dropin.read_text() == (REPO / "systemd/kit-proc.conf").read_text()
    run_in(debian, "getent", "group", "proc")
    # The installed kit works: its command, its config, the ALSA binding.
    run_in(debian, "/opt/kit/venv/bin/kit", "config", "--check", "--config", "/etc/kit/kit.toml")
    run_in(debian, "/opt/kit/venv/bin/python", "-c", "import alsaaudio, flask, gpiozero")
    venv_cfg = (debian / "opt/kit/venv/pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in venv_cfg  # sees the system's picamera2

    # `kit` is on PATH, and `sudo kit passwd` leaves a password the service's user reads.
    link = debian / "usr/local/bin/kit"
    assert os.readlink(link) == "/opt/kit/venv/bin/kit"
    assert run_in(debian, "sh", "-c", "command -v kit").stdout.strip() == "/usr/local/bin/kit"
    said = run_in(debian, "kit", "passwd", input="a new password\na new password\n").stdout
    assert "password set" in said
    assert run_in(debian, "stat", "-c", "%U:%G %a", "/var/lib/kit/web-password").stdout.split() == [
        "kit:kit",
        "600",
    ]
    check = "from pathlib import Path; from kit.api import auth; "
    check += "assert auth.verify_password(Path('/var/lib/kit'), 'a new password')"
    run_in(debian, "runuser", "-u", "kit", "--", "/opt/kit/venv/bin/python", "-c", check)

    # A config the creator edited is kept; a second run changes nothing.
    cfg.write_text(cfg.read_text().replace('server = ""', 'server = "rtmp://example.com/live/"'))
    before = manifest(debian)
    second = run_in(debian, "bash", "/src/install.sh")
    assert manifest(debian) == before
    assert "keeping /etc/kit/kit.toml" in second.stdout
    assert "up to date" in second.stdout
    assert "installing" not in second.stdout.replace("everything else is being installed", "")

    # Uninstall keeps the recordings unless asked.
    (state / "recordings/keep.mp4").write_bytes(b"x")
    run_in(debian, "bash", "/src/install.sh", "--uninstall")
    for rel in ("opt/kit", "etc/kit", "etc/systemd/system/kit.service"):
        assert not (debian / rel).exists(), rel
    assert not rule.exists()
    assert not link.is_symlink()
    assert not (debian / HIDEPID).exists() and not hidepid_wants.is_symlink()
    assert not (debian / "etc/systemd/system/NetworkManager.service.d").exists()
    # The folders the installer made for the rule (no polkit in a minimal root) go too.
    polkit_dir = debian / "etc/polkit-1"
    owned = run_in(debian, "dpkg-query", "-S", "/etc/polkit-1", check=False).returncode == 0
    assert owned or not polkit_dir.exists()
    assert not wants.is_symlink()
    assert (state / "recordings/keep.mp4").exists()
    assert sorted(p.name for p in state.iterdir()) == ["recordings"]
    run_in(debian, "bash", "/src/install.sh", "--uninstall", "--purge-recordings")
    assert not state.exists()
    assert run_in(debian, "getent", "passwd", "kit", check=False).returncode != 0


def test_other_systems_get_a_clear_message(debian: Path) -> None:
    os_release = debian / "etc/os-release"
    saved = os_release.read_bytes()
    if os_release.is_symlink():  # ../usr/lib/os-release on Debian
        link = os.readlink(os_release)
        target = debian / link.lstrip("/") if link.startswith("/") else os_release.parent / link
        saved, os_release = target.read_bytes(), target
    try:
        os_release.write_text('PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nVERSION_ID="24.04"\n')
        r = run_in(debian, "bash", "/src/install.sh", check=False)
    finally:
        os_release.write_bytes(saved)
    assert r.returncode != 0
    assert "Raspberry Pi OS Bookworm or Debian 12; this is Ubuntu 24.04 LTS" in r.stderr
    assert "--dev" in r.stderr
    assert not (debian / "opt/kit").exists()


def test_shellcheck_clean() -> None:
    if not shutil.which("shellcheck"):
        if os.environ.get("CI"):
            pytest.fail("shellcheck is missing (install.sh --dev installs it)")
        pytest.skip("needs shellcheck")
    r = subprocess.run(
        ["shellcheck", str(REPO / "install.sh"), str(REPO / ".ci/run")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout
