"""Destination presets and paste-splitting for the destination page. Pure.

A creator copies a server URL and a stream key from a platform's app; some
apps (and some people) hand over both glued together. ``split_paste`` trims
them and, when the server field holds a whole URL with the key on its end,
splits it where the platform's application path ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    id: str
    name: str
    shape: str  # the server URL's shape, shown as help
    server: str  # filled in when the platform has one fixed server ("" otherwise)
    app_depth: int  # path segments of the application ("game", "live2", ...)
    key_expires: bool = False


PRESETS: tuple[Preset, ...] = (
    Preset("tiktok", "TikTok", "rtmps://push-rtmp-<edge>-<region>.tiktokcdn.com:443/game/", "", 1,
           key_expires=True),
    Preset("youtube", "YouTube", "rtmps://a.rtmps.youtube.com:443/live2",
           "rtmps://a.rtmps.youtube.com:443/live2", 1),
    Preset("twitch", "Twitch", "rtmp://<region>.contribute.live-video.net/app/",
           "rtmp://live.twitch.tv/app/", 1),
    Preset("facebook", "Facebook", "rtmps://live-api-s.facebook.com:443/rtmp/",
           "rtmps://live-api-s.facebook.com:443/rtmp/", 1),
    Preset("instagram", "Instagram", "rtmps://edgetee-upload-<region>.xx.fbcdn.net:443/rtmp/",
           "", 1),
    Preset("kick", "Kick", "rtmps://<id>.global-contribute.live-video.net:443/app/", "", 1),
    Preset("custom", "Custom server", "rtmp://<host>[:port]/<app>/ or rtmps://...", "", 0),
)  # fmt: skip
BY_ID = {p.id: p for p in PRESETS}


def split_paste(server: str, key: str, preset_id: str) -> tuple[str, str]:
    """Trim both fields; if ``server`` carries a key on its end and ``key`` is empty,
    split it off. Returns (server, key); the key is "" when none was pasted."""
    server, key = server.strip(), key.strip()
    m = re.match(r"^([A-Za-z]+://[^/]+)/?(.*)$", server)
    if not m:
        return server, key
    root, path = m.groups()
    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
        query = "?" + query
    segments = [s for s in path.split("/") if s]
    depth = BY_ID[preset_id].app_depth if preset_id in BY_ID else 0
    if depth == 0:  # custom: the last segment is the key if there is a query or two segments
        depth = len(segments) - 1 if (query or len(segments) >= 2) else len(segments)
    if len(segments) <= depth and not query:
        return server, key
    depth = max(1, min(depth, len(segments) - 1)) if len(segments) > 1 else len(segments)
    app, pasted = segments[:depth], "/".join(segments[depth:]) + query
    if not pasted or not app:
        return server, key
    new_server = f"{root}/{'/'.join(app)}/"
    return new_server, key or pasted
