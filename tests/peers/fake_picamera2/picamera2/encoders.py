"""Stand-in for picamera2.encoders: the plain Encoder passes raw frames to its outputs."""

import threading

from picamera2.outputs import Output


class Encoder:
    def __init__(self):
        self._output = []
        self._running = False
        self._lock = threading.Lock()

    @property
    def running(self):
        return self._running

    @property
    def output(self):
        return self._output[0] if len(self._output) == 1 else self._output

    @output.setter
    def output(self, value):
        value = value if isinstance(value, list) else [value]
        if not all(isinstance(o, Output) for o in value):
            raise RuntimeError("Must pass Output")
        self._output = value

    def start(self, quality=None):
        with self._lock:
            if self._running:
                raise RuntimeError("Encoder already running")
            self._running = True
            for out in self._output:
                out.start()

    def stop(self):
        with self._lock:
            if not self._running:
                raise RuntimeError("Encoder already stopped")
            self._running = False
            for out in self._output:
                out.stop()

    def outputframe(self, frame, keyframe=True, timestamp=None):
        for out in self._output:
            out.outputframe(frame, keyframe, timestamp)
