"""Stand-in for picamera2.Picamera2 (see README.md): a camera that makes real frames."""

# The signatures are upstream's, mutable and call defaults included.
# ruff: noqa: B006, B008

import os
import threading
import time

import libcamera

_SENSOR = tuple(int(v) for v in os.environ.get("FAKE_PICAMERA2_SENSOR", "4608x2592").split("x"))
_AF = os.environ.get("FAKE_PICAMERA2_AF", "1") == "1"


def _align(n, to):
    return (n + to - 1) // to * to


class Picamera2:
    def __init__(self, camera_num=0, tuning=None):
        if camera_num != 0:
            raise IndexError("list index out of range")
        self.camera_properties = {"Model": "imx708" if _AF else "imx219", "PixelArraySize": _SENSOR}
        self.camera_controls = {
            "FrameRate": (1.0, 120.0, 30.0),
            "ScalerCrop": ((0, 0, 64, 64), (0, 0, *_SENSOR), (0, 0, *_SENSOR)),
        }
        if _AF:
            self.camera_controls["AfMode"] = (0, 2, 0)
        self.camera_config = None
        self.controls = {}
        self.started = False
        self._encoder = None
        self._thread = None
        self._last = None

    # The signature is upstream's, mutable defaults included.
    def create_video_configuration(
        self,
        main={},
        lores=None,
        raw={},
        transform=libcamera.Transform(),
        colour_space=None,
        buffer_count=6,
        controls={},
        display="main",
        encode="main",
        queue=True,
        sensor={},
        use_case="video",
    ):
        main = {"format": "XBGR8888", "size": (1280, 720)} | dict(main)
        return {
            "use_case": use_case,
            "transform": transform,
            "colour_space": colour_space,
            "buffer_count": buffer_count,
            "queue": queue,
            "main": main,
            "lores": lores,
            "raw": raw,
            "controls": dict(controls),
            "sensor": sensor,
            "display": display,
            "encode": encode,
        }

    def configure(self, camera_config=None):
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        main = dict(camera_config["main"])
        w, h = main["size"]
        if main["format"] != "YUV420":
            raise RuntimeError("this stand-in only makes YUV420 frames")
        main["stride"] = _align(w, 64)
        main["framesize"] = main["stride"] * h * 3 // 2
        crop = camera_config["controls"].get("ScalerCrop")
        if crop is not None:
            x, y, cw, ch = crop
            if x < 0 or y < 0 or x + cw > _SENSOR[0] or y + ch > _SENSOR[1]:
                raise RuntimeError(f"ScalerCrop {crop} is outside the sensor")
        self.camera_config = dict(camera_config, main=main)
        self.controls = dict(camera_config["controls"])

    def camera_configuration(self):
        return self.camera_config

    def set_controls(self, controls):
        self.controls.update(controls)

    def start(self, config=None, show_preview=False):
        if self.camera_config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True

    def stop(self):
        self.stop_encoder()
        self.started = False

    def close(self):
        self.stop()

    def start_encoder(self, encoder=None, output=None, pts=None, quality=None, name=None):
        if not self.started:
            raise RuntimeError("Camera must be started")
        if output is not None:
            encoder.output = output
        encoder.start(quality)
        self._encoder = encoder
        self._thread = threading.Thread(target=self._frames, args=(encoder,), daemon=True)
        self._thread.start()

    def stop_encoder(self, encoders=None):
        enc, self._encoder = self._encoder, None
        if enc is not None and enc.running:
            enc.stop()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None

    def _frames(self, encoder):
        main = self.camera_config["main"]
        stride, (w, h) = main["stride"], main["size"]
        fps = float(self.controls.get("FrameRate", 30.0))
        ramp = bytes(min(255, 16 + x * 220 // max(1, w)) for x in range(w)) + bytes(stride - w)
        chroma = bytes([128]) * (stride * h // 2)
        frames = []
        for i in range(15):  # a bright bar moving down the picture
            bar = (i * h // 15, (i * h // 15) + h // 10)
            luma = b"".join(
                b"\xeb" * w + bytes(stride - w) if bar[0] <= y < bar[1] else ramp for y in range(h)
            )
            frames.append(luma + chroma)
        start, n = time.monotonic(), 0
        while encoder.running:
            frame = frames[n % len(frames)]
            self._last = frame
            try:
                encoder.outputframe(frame, keyframe=True, timestamp=int(n * 1e6 / fps))
            except (BrokenPipeError, ValueError, OSError):
                break  # the reader went away, as on the Pi: the encoder thread ends
            n += 1
            delay = start + n / fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if encoder.running:
            encoder._running = False  # an output failure stops the encoder, as upstream

    def capture_array(self, name="main"):
        if self._last is None:
            main = self.camera_config["main"]
            return bytes(main["framesize"])
        return self._last

    def capture_metadata(self):
        return {
            "Lux": 180.0,
            "ExposureTime": 16000,
            "AnalogueGain": 2.0,
            "ScalerCrop": self.controls.get("ScalerCrop"),
        }
