"""kit.media.ffmpeg_log: lines captured from ffmpeg 5.1 -> events; -progress blocks."""

from __future__ import annotations

import pytest

from kit.media.ffmpeg_log import Kind, LogEvent, LogLine, Progress, ProgressParser, classify
from kit.media.ffmpeg_log import parse_line as parse

CLASSIFY = [
    ("[tcp @ 0x7f43b4001740] [verbose] Successfully connected to 127.0.0.1 port 19350",
     LogEvent(Kind.TCP_CONNECTED, "Successfully connected to 127.0.0.1 port 19350")),
    ("[tcp @ 0x7f43b400c6c0] [verbose] Connection attempt to 127.0.0.1 port 19350 failed: "
     "Connection refused",
     LogEvent(Kind.TCP_FAILED, "Connection refused")),
    ("[tcp @ 0x7f43b400c6c0] [error] Connection to tcp://127.0.0.1:19350?tcp_nodelay=0 "
     "failed: Connection refused",
     LogEvent(Kind.TCP_FAILED, "Connection refused")),
    ("[rtmp @ 0x7f43b4004140] [error] Cannot open connection tcp://127.0.0.1:19350?tcp_nodelay=0",
     LogEvent(Kind.ERROR, "Cannot open connection tcp://127.0.0.1:19350?tcp_nodelay=0")),
    ("[fifo @ 0x563963838580] [error] Error opening rtmp://127.0.0.1:19350/game: "
     "Connection refused",
     LogEvent(Kind.OPEN_FAILED, "Connection refused")),
    ("[fifo @ 0x563963838580] [info] Recovery failed: Connection refused", None),
    ("[fifo @ 0x563963838580] [verbose] Recovery attempt #3",
     LogEvent(Kind.RECOVERY_ATTEMPT, "Recovery attempt #3")),
    ("[fifo @ 0x563963838580] [info] Recovery successful", LogEvent(Kind.RECOVERY_OK)),
    ("[fifo @ 0x563963838580] [verbose] Keyframe received, recovering...", None),
    ("[segment @ 0x557e13402240] [info] Opening "
     "'/var/lib/kit/recordings/2026-11-25_034815_friday-sale/part-0001.mp4' for writing",
     LogEvent(Kind.SEGMENT_OPENED,
              "/var/lib/kit/recordings/2026-11-25_034815_friday-sale/part-0001.mp4")),
    ("[flv @ 0x563963839d80] [warning] Failed to update header with correct duration.", None),
    ("[libx264 @ 0x5652b5951ec0] [error] width not divisible by 2 (7x2)",
     LogEvent(Kind.ERROR, "width not divisible by 2 (7x2)")),
    ("[info] Output #0, tee, to '...':", None),
    ("[rtmp @ 0x7f43b4004140] [error] Server error: Unauthorized",
     LogEvent(Kind.SERVER_ERROR, "Unauthorized")),
    ("[alsa @ 0x55d0c1a2b3c0] [error] cannot open audio device hw:CARD=Mic,DEV=0 "
     "(No such file or directory)",
     LogEvent(Kind.MIC_ERROR,
              "cannot open audio device hw:CARD=Mic,DEV=0 (No such file or directory)")),
    ("[fifo @ 0x563963838580] [error] Error opening rtmp://127.0.0.1:19350/game: "
     "Input/output error",
     LogEvent(Kind.OPEN_FAILED, "Input/output error")),
    # Not log lines at all (banner remnants, progress, blank, ANSI noise).
    ("frame=238", None),
    ("", None),
    ("  Stream #0:0: Video: h264", None),
    ("Successfully connected to 127.0.0.1 port 19350", None),
    ("[tcp @ 0xZZ] [verbose] Successfully connected to 127.0.0.1 port 19350", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "expected"),
    CLASSIFY,
    ids=["tcp-connected", "tcp-attempt-refused", "tcp-error-refused", "rtmp-cannot-open",
         "fifo-open-refused", "fifo-recovery-failed", "fifo-recovery-attempt",
         "fifo-recovery-ok", "fifo-keyframe", "segment-opened", "flv-warning",
         "libx264-error", "output-info", "server-error", "alsa-error", "fifo-open-eio",
         "progress-line", "empty", "banner", "no-level", "bad-address"],
)  # fmt: skip
def test_classify(line: str, expected: LogEvent | None) -> None:
    assert classify(line) == expected


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_line_endings_are_ignored(ending: str) -> None:
    line = "[fifo @ 0x563963838580] [error] Error opening rtmp://h/game: Connection refused"
    assert classify(line + ending) == LogEvent(Kind.OPEN_FAILED, "Connection refused")


def test_parse_line_without_component() -> None:
    assert parse("[info] Output #0, tee, to '...':") == LogLine(
        "", "info", "Output #0, tee, to '...':"
    )


def test_parse_line_fields() -> None:
    assert parse("[libx264 @ 0x5652b5951ec0] [error] width not divisible by 2 (7x2)") == LogLine(
        "libx264", "error", "width not divisible by 2 (7x2)"
    )


END_BLOCK = """\
frame=238
fps=29.87
stream_0_0_q=-1.0
bitrate=N/A
total_size=N/A
out_time_us=7866667
out_time_ms=7866667
out_time=00:00:07.866667
dup_frames=0
drop_frames=0
speed=0.987x
progress=end
"""


def _feed_all(parser: ProgressParser, block: str) -> list[Progress]:
    results = [parser.feed(line) for line in block.splitlines(keepends=True)]
    return [r for r in results if r is not None]


def test_progress_end_block() -> None:
    assert _feed_all(ProgressParser(), END_BLOCK) == [
        Progress(
            frame=238,
            fps=29.87,
            out_time_s=7.866667,
            dup_frames=0,
            drop_frames=0,
            speed=0.987,
            ended=True,
        )
    ]


def test_progress_continue_blocks_are_separate() -> None:
    first = "frame=30\nfps=30.00\nout_time_us=1000000\ndup_frames=2\ndrop_frames=1\nspeed=1.01x\n"
    # The second block omits fields: they must not carry over from the first.
    second = "frame=60\nout_time_us=2000000\n"
    parser = ProgressParser()
    out = _feed_all(parser, first + "progress=continue\n" + second + "progress=continue\n")
    assert out == [
        Progress(frame=30, fps=30.0, out_time_s=1.0, dup_frames=2, drop_frames=1, speed=1.01),
        Progress(frame=60, out_time_s=2.0),
    ]
    assert not any(p.ended for p in out)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("frame=N/A\nfps=N/A\nout_time_us=N/A\nspeed=N/A\nprogress=continue\n", Progress()),
        ("speed=   0x\nfps=0.00\nprogress=continue\n", Progress()),
        ("frame=12\ngarbage line\n\n=\nfps=bad\nprogress=continue\n", Progress(frame=12)),
    ],
    ids=["n-a-values", "zero-speed", "garbage-lines"],
)  # fmt: skip
def test_progress_odd_values(block: str, expected: Progress) -> None:
    assert _feed_all(ProgressParser(), block) == [expected]


def test_progress_not_emitted_before_progress_line() -> None:
    parser = ProgressParser()
    assert [parser.feed(line) for line in END_BLOCK.splitlines()[:-1]] == [None] * 11
