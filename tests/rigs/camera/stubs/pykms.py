"""A stand-in for pykms (the Pi's KMS++ bindings) inside the camera test rig.

picamera2 imports pykms for its DRM preview, which the kit never opens. This
module lets that import succeed; anything that actually uses it fails loudly.
"""


class _Unavailable:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> "_Unavailable":
        return _Unavailable(f"{self._name}.{attr}")

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError(
            f"pykms.{self._name} is not available in the camera test rig (no DRM display)"
        )


def __getattr__(name: str) -> _Unavailable:
    if name.startswith("__"):
        raise AttributeError(name)
    return _Unavailable(name)
