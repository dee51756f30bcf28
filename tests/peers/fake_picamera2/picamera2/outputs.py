"""Stand-in for picamera2.outputs: FileOutput writes each frame to a file object."""

import contextlib


class Output:
    def __init__(self, pts=None):
        self.recording = False

    def start(self):
        self.recording = True

    def stop(self):
        self.recording = False

    def outputframe(self, frame, keyframe=True, timestamp=None):
        raise NotImplementedError


class FileOutput(Output):
    def __init__(self, file=None, pts=None, split=None):
        super().__init__(pts=pts)
        self.fileoutput = file

    def outputframe(self, frame, keyframe=True, timestamp=None):
        if self.recording and self.fileoutput is not None:
            self.fileoutput.write(frame)

    def stop(self):
        super().stop()
        if self.fileoutput is not None:
            with contextlib.suppress(OSError):
                self.fileoutput.close()
