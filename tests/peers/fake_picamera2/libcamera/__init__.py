"""Stand-in for libcamera's Python bindings: Transform and the AfMode enum."""

import enum


class Transform:
    def __init__(self, hflip: int = 0, vflip: int = 0, transpose: int = 0) -> None:
        if transpose:
            # The Pi's ISP cannot transpose: libcamera rejects such a configuration.
            raise ValueError("transpose is not supported by the Raspberry Pi ISP")
        self.hflip, self.vflip, self.transpose = bool(hflip), bool(vflip), bool(transpose)

    def __repr__(self) -> str:
        return f"<libcamera.Transform hflip={int(self.hflip)} vflip={int(self.vflip)}>"


class controls:  # mirrors the module attribute libcamera.controls
    class AfModeEnum(enum.IntEnum):
        Manual = 0
        Auto = 1
        Continuous = 2
