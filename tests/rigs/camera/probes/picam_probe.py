"""Probes run inside the camera rig (through tests/rigs/camera/enter) by the rig's tests.

    python3 picam_probe.py COMMAND [ARGS...]

Each command prints one JSON object as the last line of its output. They use only the
real picamera2 API, as the kit does.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import os
import sys
import time
import zipfile
from pathlib import Path

RIG_LIB = Path("/usr/local/lib/kit-camera-rig")


def emit(obj: object) -> None:
    print(json.dumps(obj), flush=True)


def provenance() -> dict:
    """Where picamera2 and libcamera come from, and whether picamera2 is the wheel's."""
    import importlib.metadata

    import libcamera
    import picamera2

    dist = importlib.metadata.distribution("picamera2")
    wheel = next(RIG_LIB.joinpath("wheels").glob("picamera2-*.whl"))
    site = Path(picamera2.__file__).parent.parent
    mismatched, checked = [], 0
    with zipfile.ZipFile(wheel) as whl:
        record = next(n for n in whl.namelist() if n.endswith(".dist-info/RECORD"))
        for line in whl.read(record).decode().splitlines():
            name, digest, _size = line.rsplit(",", 2)
            if not digest:
                continue
            algo, _, want = digest.partition("=")
            data = (site / name).read_bytes()
            got = base64.urlsafe_b64encode(hashlib.new(algo, data).digest()).rstrip(b"=")
            checked += 1
            if got.decode() != want:
                mismatched.append(name)
        shipped = {n for n in whl.namelist() if n.startswith("picamera2/") and n.endswith(".py")}
    installed = {
        str(p.relative_to(site)) for p in (site / "picamera2").rglob("*.py") if p.is_file()
    }
    maps = Path("/proc/self/maps").read_text()
    libs = sorted({line.split()[-1] for line in maps.splitlines() if "libcamera.so" in line})
    return {
        "version": dist.version,
        "installer": (dist.read_text("INSTALLER") or "").strip(),
        "wheel": wheel.name,
        "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "files_checked": checked,
        "mismatched": mismatched,
        "extra_py": sorted(installed - shipped),
        "picamera2_file": picamera2.__file__,
        "libcamera_file": libcamera.__file__,
        "libcamera_libs": libs,
        "libcamera_source": (
            Path("/usr/local/src/kit-camera-rig/libcamera-source").read_text()
        ).strip(),
    }


def measure(cam, seconds: float) -> dict:
    """Frames for `seconds`. The sensor's rate comes from sequence numbers against
    SensorTimestamp and against wall time (a frame the app was too slow for is dropped
    and its number skipped, as on a Pi); `delivered_fps` counts what reached the app."""
    seen = []  # (sequence, SensorTimestamp ns, monotonic ns on arrival)
    cam.capture_metadata()  # the first frame, so that start-up is not measured
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        req = cam.capture_request()
        try:
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            # The frame's own number (the sensor's count), not the request's.
            sequence = next(iter(req.request.buffers.values())).metadata.sequence
            seen.append((sequence, req.get_metadata()["SensorTimestamp"], now))
        finally:
            req.release()
    wall = time.monotonic() - t0
    (s0, t0_ns, w0), (s1, t1_ns, w1) = seen[0], seen[-1]
    deltas = [b[1] - a[1] for a, b in itertools.pairwise(seen)]
    return {
        "frames": len(seen),
        "delivered_fps": len(seen) / wall,
        "stamp_fps": 1e9 * (s1 - s0) / (t1_ns - t0_ns),
        "wall_fps": 1e9 * (s1 - s0) / (w1 - w0),
        "frame_ms": sorted(
            {
                round(d / 1e6 / max(1, b[0] - a[0]), 3)
                for d, a, b in zip(deltas, seen, seen[1:], strict=False)
            }
        ),
        "dropped": (s1 - s0 + 1) - len(seen),
        "last_stamp_age_ms": (w1 - t1_ns) / 1e6,
    }


def facts() -> dict:
    """What Picamera2 sees, and how it configures, as the kit asks."""
    from picamera2 import Picamera2
    from picamera2.outputs import FileOutput

    out: dict = {"provenance": provenance()}
    cam = Picamera2()
    props = cam.camera_properties
    out["properties"] = {k: v for k, v in props.items() if k != "SystemDevices"}
    out["controls"] = sorted(cam.camera_controls)
    out["sensor_modes"] = [
        {
            "size": m["size"],
            "fps": m["fps"],
            "crop_limits": m["crop_limits"],
            "format": str(m["format"]),
            "bit_depth": m["bit_depth"],
        }
        for m in cam.sensor_modes
    ]

    # The kit's default: 720x1280 YUV420, 30 fps.
    cfg = cam.create_video_configuration(
        main={"size": (720, 1280), "format": "YUV420"}, controls={"FrameRate": 30.0}
    )
    cam.configure(cfg)
    conf = cam.camera_configuration()
    out["portrait"] = {
        "main": {k: conf["main"][k] for k in ("size", "format", "stride", "framesize")},
        "sensor": conf["sensor"],
        "raw": {k: conf["raw"][k] for k in ("size", "format")},
        "frame_duration_limits": cam.camera_controls["FrameDurationLimits"],
        "scaler_crop": cam.camera_controls["ScalerCrop"],
    }
    cam.start()
    a = cam.capture_array("main")
    b = cam.capture_array("main")
    out["portrait"]["array_shape"] = list(a.shape)
    out["portrait"]["frames_differ"] = bool((a != b).any())
    out["portrait"]["luma_range"] = [int(a[:1280].min()), int(a[:1280].max())]
    md = cam.capture_metadata()
    out["portrait"]["metadata"] = {
        k: md.get(k)
        for k in (
            "SensorTimestamp",
            "FrameDuration",
            "ExposureTime",
            "AnalogueGain",
            "Lux",
            "ScalerCrop",
            "SensorBlackLevels",
        )
    }
    out["portrait"]["now_ns"] = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    out["portrait"]["pacing"] = measure(cam, 2.0)

    # FileOutput on an unbuffered pipe: what the real picamera2 says.
    r, w = os.pipe()
    try:
        FileOutput(open(w, "wb", buffering=0))  # noqa: SIM115
        out["fileoutput_raw"] = "accepted"
    except RuntimeError as e:
        out["fileoutput_raw"] = f"RuntimeError: {e}"
    finally:
        os.close(r)
    r, w = os.pipe()
    with open(w, "wb") as buffered:
        FileOutput(buffered)
        out["fileoutput_buffered"] = isinstance(buffered, io.BufferedIOBase)
    os.close(r)
    cam.stop()

    # A 1080x1920 main stream, no sensor or raw choice: the Pi picks the full mode.
    cfg = cam.create_video_configuration(
        main={"size": (1080, 1920), "format": "YUV420"}, controls={"FrameRate": 30.0}
    )
    cam.configure(cfg)
    out["tall_default"] = {
        "sensor": cam.camera_configuration()["sensor"],
        "frame_duration_limits": cam.camera_controls["FrameDurationLimits"],
        "stride": cam.camera_configuration()["main"]["stride"],
    }
    cam.start()
    out["tall_default"]["pacing"] = measure(cam, 1.5)
    cam.stop()

    # The same with the binned mode chosen: 30 fps.
    cfg = cam.create_video_configuration(
        main={"size": (1080, 1920), "format": "YUV420"},
        sensor={"output_size": (2304, 1296), "bit_depth": 10},
        controls={"FrameRate": 30.0, "ScalerCrop": (1575, 0, 1458, 2592)},
    )
    cam.configure(cfg)
    out["tall_binned"] = {
        "sensor": cam.camera_configuration()["sensor"],
        "frame_duration_limits": cam.camera_controls["FrameDurationLimits"],
    }
    cam.start()
    out["tall_binned"]["pacing"] = measure(cam, 1.5)
    out["tall_binned"]["scaler_crop"] = cam.capture_metadata()["ScalerCrop"]
    cam.stop()
    cam.close()
    return out


def h264(seconds: float) -> dict:
    """LibavH264Encoder into a custom Output: the packets and their timestamps."""
    from picamera2 import Picamera2
    from picamera2.encoders import LibavH264Encoder
    from picamera2.outputs import Output

    class Collect(Output):
        def __init__(self) -> None:
            super().__init__()
            self.packets: list[tuple[int, bool, int | None]] = []

        def outputframe(self, frame, keyframe=True, timestamp=None, packet=None, audio=False):
            self.packets.append((len(frame), bool(keyframe), timestamp))

    cam = Picamera2()
    cam.configure(
        cam.create_video_configuration(
            main={"size": (720, 1280), "format": "YUV420"}, controls={"FrameRate": 30.0}
        )
    )
    out = Collect()
    enc = LibavH264Encoder(bitrate=2_000_000, iperiod=30, framerate=30)
    cam.start_recording(enc, out)
    time.sleep(seconds)
    cam.stop_recording()
    cam.close()
    p = out.packets
    stamps = [t for _, _, t in p if t is not None]
    first = p[0][0] if p else 0
    return {
        "packets": len(p),
        "keyframes": sum(1 for _, k, _ in p if k),
        "first_is_key": bool(p and p[0][1]),
        "first_bytes": first,
        "timestamps_us": stamps[:5] + stamps[-2:],
        "increasing": all(b > a for a, b in itertools.pairwise(stamps)),
        "span_us": (stamps[-1] - stamps[0]) if stamps else 0,
    }


def stall(path: str) -> dict:
    """Frames before, during and after the stall file exists."""
    from picamera2 import Picamera2

    cam = Picamera2()
    cam.configure(
        cam.create_video_configuration(
            main={"size": (720, 1280), "format": "YUV420"}, controls={"FrameRate": 30.0}
        )
    )
    counts = []

    def count(_request) -> None:
        counts[-1] += 1

    cam.pre_callback = count
    counts.append(0)
    cam.start()
    time.sleep(0.7)
    Path(path).touch()
    time.sleep(0.1)  # a frame in flight may still land
    counts.append(0)
    time.sleep(1.0)
    os.unlink(path)
    counts.append(0)
    time.sleep(0.7)
    cam.stop()
    cam.close()
    return {"before": counts[0], "during": counts[1], "after": counts[2]}


def open_camera(hold: float) -> dict:
    """Open the camera; hold it `hold` seconds (printing 'open' first) or report the failure."""
    from picamera2 import Picamera2

    try:
        cam = Picamera2()
    except Exception as e:  # what the kit's PiCamera catches: IndexError, RuntimeError
        cause = e.__cause__ or e.__context__
        return {"opened": False, "error": type(e).__name__, "message": str(e), "cause": repr(cause)}
    if hold:
        print("open", flush=True)
        time.sleep(hold)
    cam.close()
    return {"opened": True}


def main() -> None:
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "facts":
        emit(facts())
    elif cmd == "h264":
        emit(h264(float(args[0]) if args else 2.0))
    elif cmd == "stall":
        emit(stall(args[0]))
    elif cmd == "open":
        emit(open_camera(float(args[0]) if args else 0.0))
    else:
        raise SystemExit(f"unknown probe {cmd}")


if __name__ == "__main__":
    main()
