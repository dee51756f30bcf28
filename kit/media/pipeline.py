"""Settings -> the ffmpeg argument list. Pure: tested as tables of expected argv.

One ffmpeg process encodes once and writes two outputs through the ``tee``
muxer: the local recording (segments of fragmented MP4, playable when cut
short) and the network push (through the ``fifo`` muxer, so a stalled or lost
connection drops packets and reconnects instead of blocking the encoder and
with it the recording).

Every user value is placed where ffmpeg reads it as data: the stream key is the
RTMP play path inside the fifo's ``format_opts`` (escaped by av_get_token's
rules at each of the three nested levels of the tee syntax), the recording
path is built by us from a slug, and no user value starts an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import ffmpeg

from kit.destination import Destination

# Audio: AAC-LC, 48 kHz stereo, as every platform's ingest expects.
AUDIO_RATE = 48000
AUDIO_CHANNELS = 2
# Seconds between reconnect attempts of the fifo muxer. Short on purpose: a
# connect attempt to a server that is down costs nothing, and the budget is
# "live again within 3 s of the ingest's return".
RECOVERY_WAIT_S = 1
# Packets the fifo may hold while the network is slow (about 5 s of a 30 fps
# stream with its audio); beyond that it drops until the next keyframe.
FIFO_QUEUE_PACKETS = 400


@dataclass(frozen=True)
class VideoFeed:
    """H.264 that the camera source writes into ffmpeg through an inherited pipe.

    The pipe carries NUT, whose packets keep their timestamps: each frame's capture
    time as CLOCK_REALTIME microseconds (the camera's own SensorTimestamp moved to that
    clock, because ffmpeg's ALSA input stamps the sound with it). SPS and PPS are in the
    header, so every output's header (the MP4 segments', the FLV push's) has them.
    """

    fd: int
    width: int
    height: int
    # The camera's real frame rate as configured (read back from it), for the log.
    fps: float
    # CLOCK_REALTIME second that becomes time 0 of this ffmpeg run: both inputs are
    # moved back by it (-itsoffset), so the picture and the sound keep their own
    # capture times relative to each other.
    t0: float
    # Degrees clockwise to turn the picture: a camera mounted sideways gives a
    # landscape picture that ffmpeg turns into portrait (and so encodes again).
    rotate: Literal[0, 90, 270] = 0


@dataclass(frozen=True)
class AudioFeed:
    """The microphone (an ALSA capture device) or, in simulation, a tone."""

    # "silence" stands in for a microphone unplugged while live; "sync" is the
    # simulation's beep once a second on the wall clock (with the test pattern's flash).
    kind: Literal["alsa", "tone", "silence", "sync"]
    device: str = ""
    frequency: int = 440


@dataclass(frozen=True)
class Encode:
    encoder: Literal["libx264", "h264_v4l2m2m"]
    width: int
    height: int
    fps: int
    bitrate_kbps: int
    audio_bitrate_kbps: int = 128
    keyframe_seconds: int = 2
    x264_preset: str = "veryfast"


@dataclass(frozen=True)
class Outputs:
    segment_pattern: Path  # e.g. /var/lib/kit/recordings/<session>/part-%04d.mp4
    segment_seconds: int
    segment_start: int
    destination: Destination | None
    # For rtmps://: verify the server's certificate against this CA bundle
    # (None: do not verify). A stream key sent to an impostor is a stolen key.
    ca_file: Path | None = None


@dataclass(frozen=True)
class Spec:
    video: VideoFeed
    audio: AudioFeed
    encode: Encode
    outputs: Outputs


def escape(value: str, specials: str) -> str:
    """Backslash-escape for av_get_token: quotes, backslashes, whitespace and ``specials``."""
    return "".join("\\" + c if c in specials or c in "\\'" or c.isspace() else c for c in value)


def _tee_slave(options: list[tuple[str, str]], target: str) -> str:
    # Level 1: option values are read with av_get_token(":]").
    opts = ":".join(f"{k}={escape(v, ':]')}" for k, v in options)
    # Level 0: the whole slave is read with av_get_token("|").
    return escape(f"[{opts}]{target}", "|")


def recording_slave(out: Outputs) -> str:
    return _tee_slave(
        [
            ("f", "segment"),
            ("segment_time", str(out.segment_seconds)),
            ("segment_start_number", str(out.segment_start)),
            ("segment_format", "mp4"),
            # Fragmented MP4: the header is written first and each keyframe
            # starts a fragment, so a segment cut by a crash plays up to it.
            ("segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof"),
            ("reset_timestamps", "1"),
            ("onfail", "ignore"),
        ],
        str(out.segment_pattern),
    )


def push_format_opts(dest: Destination, ca_file: Path | None = None) -> str:
    """The fifo's format_opts: RTMP app and play path (the key), level 2 escaped.

    The fifo passes these to the protocol when it opens the URL, and the RTMP
    protocol hands what it does not use on to TLS, so ``tls_verify`` and
    ``ca_file`` reach the certificate check.
    """
    opts = [
        ("rtmp_app", dest.app),
        ("rtmp_playpath", dest.key.reveal()),
        # nginx-rtmp and most ingests cannot seek back to patch the FLV header.
        ("flvflags", "no_duration_filesize"),
    ]
    if dest.secure and ca_file is not None:
        opts += [("tls_verify", "1"), ("ca_file", str(ca_file))]
    return ":".join(f"{k}={escape(v, ':')}" for k, v in opts)


def push_slave(dest: Destination, ca_file: Path | None = None) -> str:
    return _tee_slave(
        [
            ("f", "fifo"),
            ("fifo_format", "flv"),
            ("format_opts", push_format_opts(dest, ca_file)),
            ("queue_size", str(FIFO_QUEUE_PACKETS)),
            ("drop_pkts_on_overflow", "1"),
            ("attempt_recovery", "1"),
            # A server closing the connection is EOF, which the fifo would
            # otherwise treat as final; the supervisor decides when to give up.
            ("recover_any_error", "1"),
            ("recovery_wait_time", str(RECOVERY_WAIT_S)),
            ("restart_with_keyframe", "1"),
            ("onfail", "ignore"),
        ],
        dest.server_url,
    )


def tee_target(out: Outputs) -> str:
    slaves = [recording_slave(out)]
    if out.destination is not None:
        slaves.append(push_slave(out.destination, out.ca_file))
    return "|".join(slaves)


def secret_forms(dest: Destination | None) -> list[str]:
    """Every form in which the key appears in the argv, for redacting ffmpeg's log."""
    if dest is None or not dest.key:
        return []
    key = dest.key.reveal()
    level2 = escape(key, ":")
    level1 = escape(level2, ":]")
    level0 = escape(level1, "|")
    return [key, level2, level1, level0]


def _offset(t0: float) -> str:
    """-itsoffset's value: moves an input stamped in CLOCK_REALTIME back to time 0 at t0."""
    return f"{-t0:.6f}"


def _video_input(v: VideoFeed) -> ffmpeg.nodes.FilterableStream:
    # The NUT header says all there is to know (codec, size, SPS/PPS): no probing,
    # which would hold the first frame back by up to analyzeduration.
    return ffmpeg.input(
        f"pipe:{v.fd}",
        f="nut",
        thread_queue_size=64,
        probesize=32,
        analyzeduration=0,
        itsoffset=_offset(v.t0),
    ).video


SYNC_BEEP_S = 0.1
SYNC_BEEP_HZ = 1000


def sync_beep(t0: float) -> str:
    """aevalsrc's expression: a 1 kHz beep for the first 0.1 s of every wall-clock second.

    The source's t counts from 0 at ``t0`` (this run's time 0), so the wall clock is
    t0 + t; the test pattern flashes at the same whole seconds (kit.media.camera)."""
    frac = f"{t0 % 1:.6f}"
    return f"if(lt(mod(t+{frac}\\,1)\\,{SYNC_BEEP_S})\\,0.5*sin(2*PI*{SYNC_BEEP_HZ}*t)\\,0)"


def _audio_input(a: AudioFeed, t0: float) -> ffmpeg.nodes.FilterableStream:
    # Generated sound starts at time 0 of the run (-re paces it in real time); a
    # microphone is stamped by ffmpeg with CLOCK_REALTIME, moved back by t0 as the video.
    if a.kind == "tone":
        spec = f"sine=frequency={a.frequency}:sample_rate={AUDIO_RATE}"
        return ffmpeg.input(spec, f="lavfi", re=None).audio
    if a.kind == "sync":
        spec = f"aevalsrc=exprs={sync_beep(t0)}:sample_rate={AUDIO_RATE}"
        return ffmpeg.input(spec, f="lavfi", re=None).audio
    if a.kind == "silence":
        spec = f"anullsrc=sample_rate={AUDIO_RATE}:channel_layout=stereo"
        return ffmpeg.input(spec, f="lavfi", re=None).audio
    return ffmpeg.input(a.device, f="alsa", thread_queue_size=1024, itsoffset=_offset(t0)).audio


def _video_codec_args(e: Encode, copy: bool) -> dict[str, object]:
    if copy:
        # The NUT input's codec tag ("H264") would be handed on by the tee and the fifo to
        # the FLV muxer, which refuses it; FLV's own tag for H.264 is 7. The segment
        # muxer sets MP4's tag (avc1) itself, whatever the tee says.
        return {"c:v": "copy", "tag:v": "7"}
    gop = e.fps * e.keyframe_seconds
    args: dict[str, object] = {
        "c:v": e.encoder,
        "b:v": f"{e.bitrate_kbps}k",
        "g": gop,
        "pix_fmt": "yuv420p",
        "flags:v": "+global_header",
        # A frame the camera dropped becomes a repeated frame here, never a shift.
        "fps_mode": "cfr",
        "r": e.fps,
    }
    if e.encoder == "libx264":
        args |= x264_args(e)
    return args


def x264_args(e: Encode) -> dict[str, object]:
    """libx264's options for a live link, wherever it runs (the camera source or ffmpeg)."""
    gop = e.fps * e.keyframe_seconds
    return {
        "preset:v": e.x264_preset,
        "profile:v": "high",
        # Constant-ish bitrate for a live link: cap and a 2 s buffer.
        "maxrate:v": f"{e.bitrate_kbps}k",
        "bufsize:v": f"{e.bitrate_kbps * 2}k",
        # Keyframes exactly every keyframe_seconds, never on scene cuts.
        "keyint_min": gop,
        "sc_threshold": 0,
        # No B-frames and no lookahead: the first frame leaves the encoder
        # in 0.3 s instead of 0.75 s (measured), so the stream is on the
        # ingest within a second of the countdown's end. Costs some
        # compression; the hardware encoder has neither anyway.
        "bf": 0,
        "rc-lookahead": 0,
    }


def build(spec: Spec, ffmpeg_bin: str = "ffmpeg") -> list[str]:
    e = spec.encode
    v = spec.video
    # The camera source encodes (the Pi 4's hardware from the camera's own buffers, x264
    # elsewhere); ffmpeg copies the video, unless a sideways camera must be turned.
    copy = not v.rotate
    out_kwargs: dict[str, object] = {
        "f": "tee",
        **_video_codec_args(e, copy),
        "c:a": "aac",
        "profile:a": "aac_low",
        "b:a": f"{e.audio_bitrate_kbps}k",
        "ar": AUDIO_RATE,
        "ac": AUDIO_CHANNELS,
        "flags:a": "+global_header",
    }
    video = _video_input(v)
    if not copy:
        # transpose=1 turns clockwise, 2 counter-clockwise.
        video = video.filter("transpose", 1 if v.rotate == 90 else 2)
        if (v.height, v.width) != (e.width, e.height):
            video = video.filter("scale", e.width, e.height)
    audio = _audio_input(spec.audio, v.t0)
    stream = ffmpeg.output(video, audio, tee_target(spec.outputs), **out_kwargs)
    stream = stream.global_args(
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "level+verbose",
        "-progress",
        "pipe:1",
        "-stats_period",
        "1",
        # Timestamps as the inputs give them (each moved back by t0): the picture and
        # the sound keep their capture times, so a dropped or late frame shifts nothing.
        "-copyts",
        # The copied video keeps the camera's microsecond time base; ffmpeg would
        # otherwise round its times to the nominal frame rate's ticks.
        "-copytb",
        "1",
    )
    return stream.compile(cmd=ffmpeg_bin)
