"""The camera test rig is the real thing, and answers as a Raspberry Pi Camera Module 3.

The real picamera2 0.3.38 from PyPI, unmodified, on a libcamera built from Debian's
source with the project's patch to its virtual pipeline handler (tests/rigs/camera/).
Each check runs picamera2 inside the rig through ``tests/rigs/camera/enter``, with the
probes in tests/rigs/camera/probes/. A missing rig fails these tests: run
``./install.sh --dev``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.peers import camrig

PROBE = str(camrig.RIG_SOURCE / "probes" / "picam_probe.py")
PICAMERA2_WHEEL_SHA256 = "ecf34dfb6c987d2c0948debeb3762a27755d5befc674fe210c3fd2ad8e3cd6cc"


def probe(*args: str, env: dict[str, str] | None = None, timeout: float = 40) -> dict:
    """Run a probe in the rig; its last line of output, as JSON."""
    camrig.ensure_rig()
    result = subprocess.run(
        camrig.rig_python_argv(PROBE, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, f"probe {args} failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def facts() -> dict:
    return probe("facts")


def test_picamera2_is_pypis_0_3_38_unmodified(facts: dict) -> None:
    p = facts["provenance"]
    assert p["version"] == "0.3.38"
    assert p["installer"] == "pip"
    assert p["wheel"] == "picamera2-0.3.38-py3-none-any.whl"
    assert p["wheel_sha256"] == PICAMERA2_WHEEL_SHA256
    assert p["files_checked"] > 50
    assert p["mismatched"] == []
    assert p["extra_py"] == []
    assert p["picamera2_file"].startswith("/usr/local/lib/python3")


def test_libcamera_is_the_one_built_from_debians_source(facts: dict) -> None:
    p = facts["provenance"]
    assert p["libcamera_source"] == "libcamera-0.7.2"
    assert p["libcamera_file"] == "/usr/local/lib/python3/dist-packages/libcamera/__init__.py"
    assert p["libcamera_libs"] == ["/usr/local/lib/x86_64-linux-gnu/libcamera.so.0.7.2"]
    assert facts["properties"]["PipelineHandler"] == "virtual"


def test_camera_answers_as_an_imx708(facts: dict) -> None:
    props = facts["properties"]
    assert props["Model"] == "imx708"
    assert tuple(props["PixelArraySize"]) == (4608, 2592)
    assert "ColorFilterArrangement" in props  # picamera2's test for a Pi camera
    for name in ("FrameDurationLimits", "ScalerCrop", "ExposureTime", "AnalogueGain"):
        assert name in facts["controls"]
    assert "NoiseReductionMode" in facts["controls"]
    assert "AfMode" in facts["controls"]


def test_sensor_modes_are_the_imx708s(facts: dict) -> None:
    modes = {tuple(m["size"]): m for m in facts["sensor_modes"]}
    assert set(modes) == {(1536, 864), (2304, 1296), (4608, 2592)}
    assert modes[(1536, 864)]["fps"] == pytest.approx(120.13, abs=0.01)
    assert modes[(2304, 1296)]["fps"] == pytest.approx(56.03, abs=0.01)
    assert modes[(4608, 2592)]["fps"] == pytest.approx(14.35, abs=0.01)
    assert tuple(modes[(1536, 864)]["crop_limits"]) == (768, 432, 3072, 1728)
    assert tuple(modes[(2304, 1296)]["crop_limits"]) == (0, 0, 4608, 2592)
    assert tuple(modes[(4608, 2592)]["crop_limits"]) == (0, 0, 4608, 2592)
    assert {m["format"] for m in facts["sensor_modes"]} == {"SRGGB10_CSI2P"}


def test_portrait_yuv420_has_the_pis_stride(facts: dict) -> None:
    p = facts["portrait"]
    assert tuple(p["main"]["size"]) == (720, 1280)
    assert p["main"]["format"] == "YUV420"
    assert p["main"]["stride"] == 768
    assert p["main"]["framesize"] == 768 * 1280 * 3 // 2
    assert p["array_shape"] == [1920, 768]
    assert p["sensor"] == {"bit_depth": 10, "output_size": [2304, 1296]}
    assert p["frame_duration_limits"][0] == 17847


def test_frames_move_and_carry_the_pis_metadata(facts: dict) -> None:
    p = facts["portrait"]
    assert p["frames_differ"]
    md = p["metadata"]
    assert md["FrameDuration"] == pytest.approx(33333, abs=2)
    assert 0 < md["ExposureTime"] <= 33333
    assert md["AnalogueGain"] >= 1.0
    assert md["Lux"] > 30
    assert len(md["ScalerCrop"]) == 4
    # SensorTimestamp is CLOCK_MONOTONIC, and recent.
    assert 0 < p["now_ns"] - md["SensorTimestamp"] < 1e9


def test_frames_are_paced_at_the_configured_rate(facts: dict) -> None:
    pacing = facts["portrait"]["pacing"]
    assert pacing["frames"] >= 45
    assert pacing["stamp_fps"] == pytest.approx(30, abs=0.05)
    assert pacing["frame_ms"] == [33.333]  # every frame, from one to the next
    assert pacing["wall_fps"] == pytest.approx(30, abs=1)
    # A sensor timestamp is the frame's start, before it is delivered.
    assert 0 < pacing["last_stamp_age_ms"] < 200


def test_tall_main_stream_gets_the_full_mode_as_on_a_pi(facts: dict) -> None:
    """The real behaviour the kit must work around: 1080x1920 picks 4608x2592, 14.35 fps."""
    tall = facts["tall_default"]
    assert tall["sensor"]["output_size"] == [4608, 2592]
    assert tall["frame_duration_limits"][0] == pytest.approx(69686, abs=1)
    assert tall["pacing"]["stamp_fps"] == pytest.approx(14.35, abs=0.05)
    assert tall["pacing"]["wall_fps"] == pytest.approx(14.35, abs=1)
    assert tall["stride"] == 1088


def test_tall_main_stream_with_binned_mode_gets_30_fps(facts: dict) -> None:
    binned = facts["tall_binned"]
    assert binned["sensor"] == {"bit_depth": 10, "output_size": [2304, 1296]}
    assert binned["frame_duration_limits"][0] == 17847
    assert binned["pacing"]["stamp_fps"] == pytest.approx(30, abs=0.05)
    assert binned["pacing"]["wall_fps"] == pytest.approx(30, abs=1)
    # The crop goes through the binned mode's pixels: even coordinates.
    assert binned["scaler_crop"] == [1574, 0, 1458, 2592]


def test_fileoutput_refuses_an_unbuffered_file(facts: dict) -> None:
    assert facts["fileoutput_raw"] == "RuntimeError: Must pass io.BufferedIOBase"
    assert facts["fileoutput_buffered"] is True


def test_libav_h264_encoder_delivers_timestamped_packets() -> None:
    h = probe("h264", "2")
    assert h["packets"] >= 45  # 2 s at 30 fps, less the encoder's start
    assert h["first_is_key"]
    assert h["keyframes"] >= 1
    assert h["increasing"]
    # Timestamps (us) from SensorTimestamp: 30 fps over the packets seen.
    assert h["span_us"] / (h["packets"] - 1) == pytest.approx(33333, rel=0.05)


def test_stall_file_stops_the_frames(tmp_path: Path) -> None:
    stall = tmp_path / "stall"
    s = probe("stall", str(stall), env={"KIT_RIG_STALL_FILE": str(stall)})
    assert s["before"] >= 8
    assert s["during"] == 0
    assert s["after"] >= 8


def test_camera_is_one_processs_at_a_time() -> None:
    camrig.ensure_rig()
    holder = subprocess.Popen(
        camrig.rig_python_argv(PROBE, "open", "10"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        second = probe("open")
        assert second["opened"] is False
        assert second["error"] == "RuntimeError"
        assert "busy" in second["cause"].lower()
    finally:
        holder.kill()
        holder.wait()
    assert probe("open")["opened"] is True


def test_no_camera_knob() -> None:
    s = probe("open", env={"KIT_RIG_NO_CAMERA": "1"})
    assert s["opened"] is False
    assert s["error"] in ("IndexError", "RuntimeError")


def test_enter_passes_fds_environment_and_exit_status() -> None:
    camrig.ensure_rig()
    r, w = os.pipe()
    try:
        code = (
            "import os, sys;"
            "os.write(int(sys.argv[1]), os.environ['KIT_RIG_PROBE'].encode());"
            "sys.exit(7)"
        )
        proc = subprocess.run(
            camrig.enter_argv("python3", "-c", code, str(w)),
            pass_fds=(w,),
            env={**os.environ, "KIT_RIG_PROBE": "through"},
            timeout=20,
            check=False,
        )
        os.close(w)
        w = -1
        assert proc.returncode == 7
        assert os.read(r, 100) == b"through"
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_enter_runs_the_repo_at_its_own_path() -> None:
    camrig.ensure_rig()
    code = "import tests.peers.camrig as c, sys; print(c.__file__, sys.version_info[:2])"
    out = subprocess.run(
        camrig.rig_python_argv("-c", code), capture_output=True, text=True, timeout=20
    )
    assert out.returncode == 0, out.stderr
    path, _, version = out.stdout.strip().partition(" ")
    assert path == str(camrig.REPO / "tests" / "peers" / "camrig.py")
    assert version == "(3, 13)"  # trixie's python, not this machine's


def test_enter_without_a_rig_says_what_to_run(tmp_path: Path) -> None:
    start = time.monotonic()
    out = subprocess.run(
        [str(camrig.ENTER), "--", "true"],
        env={**os.environ, "KIT_CAMERA_RIG": str(tmp_path / "none")},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert out.returncode == 2
    assert "tests/rigs/camera/build.sh" in out.stderr
    assert time.monotonic() - start < 5
