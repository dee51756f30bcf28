"""A broadcast's segments as one MP4 with its moov first, without re-encoding or copying.

The recording is segments of fragmented MP4 (``part-NNNN.mp4``: ftyp, a moov without
samples, then moof+mdat fragments, one per keyframe). This module reads only their
boxes (a few KB per fragment, not the media) and lays out one ordinary MP4: ftyp, a
complete moov (every sample's size, time and keyframe flag, each fragment's data as one
chunk), then one mdat whose payload is the segments' own mdat bytes, in order. The
result is a *virtual file*: its header is built in memory, its payload is byte ranges
of the segments, so it has a known size at once, is served from the first byte without
waiting for a join, answers HTTP Range requests (the phone's player seeks in it before
it has arrived) and costs no disk.

Time: the first video track is the reference, its samples laid end to end across the
segments. Every other track (the sound) is placed per segment at the video's position
plus its own offset in that segment, so a sound that runs on from one segment into the
next stays gapless (within a tolerance of two of its frames) and a sound that starts
again after a restart of ffmpeg is put where it belongs, the gap filled by lengthening
the previous sample. ffmpeg's fragmented muxer stretches the first sound frame of a
segment when its time falls before the segment's cut; that stretch is undone.

A segment cut short (a power cut, a killed ffmpeg) is read up to its last whole
fragment. Only regular files are read: every segment is opened with ``O_NOFOLLOW``
inside a folder opened the same way, so a symlink is never followed.
"""

from __future__ import annotations

import os
import stat
import struct
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

NON_SYNC = 0x10000  # sample_is_non_sync_sample in an ISO BMFF sample_flags word
MOVIE_TIMESCALE = 1000
READ_CHUNK = 256 * 1024


class Mp4Error(ValueError):
    """A segment that is not fragmented MP4 as the kit writes it."""


# -- reading boxes ---------------------------------------------------------------------


def _boxes(buf: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in buf[start:end]; stops at a cut box."""
    end = len(buf) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", buf, pos)
        head = 8
        if size == 1:
            if pos + 16 > end:
                return
            size, head = struct.unpack_from(">Q", buf, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            return
        yield kind, pos + head, pos + size
        pos += size


def _child(buf: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, s, e in _boxes(buf, start, end):
        if k == kind:
            return s, e
    return None


def _path(buf: bytes, start: int, end: int, *kinds: bytes) -> tuple[int, int]:
    for kind in kinds:
        found = _child(buf, start, end, kind)
        if found is None:
            raise Mp4Error(f"no {kind.decode()} box")
        start, end = found
    return start, end


def _full(buf: bytes, pos: int) -> tuple[int, int]:
    """(version, flags) of a full box whose payload starts at pos."""
    word = struct.unpack_from(">I", buf, pos)[0]
    return word >> 24, word & 0xFFFFFF


@dataclass
class _TrackInit:
    id: int
    timescale: int
    handler: bytes  # b"vide", b"soun"
    tkhd: bytes  # the whole box
    hdlr: bytes
    media_header: bytes  # vmhd / smhd box
    dinf: bytes
    language: int
    stsd_entries: bytes  # the sample entries inside stsd (count excluded)
    stsd_count: int
    defaults: tuple[int, int, int, int]  # trex: description index, duration, size, flags


@dataclass
class Run:
    """One trun: samples whose data lies contiguous in one segment."""

    segment: int
    offset: int  # in the segment file
    durations: list[int]
    sizes: list[int]
    flags: list[int]
    cts: list[int]
    decode_time: int  # tfdt + what precedes in the traf
    description: int  # 1-based, of the segment's own stsd

    @property
    def length(self) -> int:
        return sum(self.sizes)


@dataclass
class Segment:
    path: Path
    size: int
    mtime_ns: int
    tracks: list[_TrackInit]
    runs: dict[int, list[Run]]  # track id -> its runs, in order
    order: list[tuple[int, int]]  # (track id, index in runs[track id]) in file order


def _read_init(buf: bytes, moov: tuple[int, int]) -> list[_TrackInit]:
    ms, me = moov
    trex: dict[int, tuple[int, int, int, int]] = {}
    mvex = _child(buf, ms, me, b"mvex")
    if mvex:
        for k, s, _ in _boxes(buf, *mvex):
            if k == b"trex":
                tid, *rest = struct.unpack_from(">5I", buf, s + 4)
                trex[tid] = tuple(rest)  # type: ignore[assignment]
    tracks = []
    for k, ts, te in _boxes(buf, ms, me):
        if k != b"trak":
            continue
        tkhd = _path(buf, ts, te, b"tkhd")
        version, _ = _full(buf, tkhd[0])
        tid = struct.unpack_from(">I", buf, tkhd[0] + (20 if version == 1 else 12))[0]
        mdia = _path(buf, ts, te, b"mdia")
        mdhd = _path(buf, *mdia, b"mdhd")
        version, _ = _full(buf, mdhd[0])
        at = mdhd[0] + (20 if version == 1 else 12)
        timescale = struct.unpack_from(">I", buf, at)[0]
        language = struct.unpack_from(">H", buf, at + (12 if version == 1 else 8))[0]
        hdlr = _path(buf, *mdia, b"hdlr")
        minf = _path(buf, *mdia, b"minf")
        stsd = _path(buf, *minf, b"stbl", b"stsd")
        media_header = next(
            (
                buf[s - 8 : e]
                for kk, s, e in _boxes(buf, *minf)
                if kk in (b"vmhd", b"smhd", b"nmhd")
            ),
            b"",
        )
        dinf = _child(buf, *minf, b"dinf")
        tracks.append(
            _TrackInit(
                id=tid,
                timescale=timescale,
                handler=buf[hdlr[0] + 8 : hdlr[0] + 12],
                tkhd=buf[tkhd[0] - 8 : tkhd[1]],
                hdlr=buf[hdlr[0] - 8 : hdlr[1]],
                media_header=media_header,
                dinf=buf[dinf[0] - 8 : dinf[1]] if dinf else b"",
                language=language,
                stsd_entries=buf[stsd[0] + 8 : stsd[1]],
                stsd_count=struct.unpack_from(">I", buf, stsd[0] + 4)[0],
                defaults=trex.get(tid, (1, 0, 0, 0)),
            )
        )
    if not tracks:
        raise Mp4Error("no tracks")
    return tracks


def _read_traf(
    buf: bytes, moof_pos: int, traf: tuple[int, int], tracks: dict[int, _TrackInit],
    seg: int, file_size: int,
) -> list[tuple[int, Run]]:  # fmt: skip
    """The runs of one traf of the moof at file position ``moof_pos`` (``buf`` is the
    moof); their data offsets in the file."""
    tfhd = _path(buf, *traf, b"tfhd")
    _, fl = _full(buf, tfhd[0])
    p = tfhd[0] + 4
    tid = struct.unpack_from(">I", buf, p)[0]
    p += 4
    if tid not in tracks:
        raise Mp4Error(f"a fragment of unknown track {tid}")
    sdi, d_dur, d_size, d_flags = tracks[tid].defaults
    data_base = moof_pos  # default-base-is-moof, and the first traf without it
    if fl & 0x1:
        data_base = struct.unpack_from(">Q", buf, p)[0]
        p += 8
    if fl & 0x2:
        sdi = struct.unpack_from(">I", buf, p)[0]
        p += 4
    if fl & 0x8:
        d_dur = struct.unpack_from(">I", buf, p)[0]
        p += 4
    if fl & 0x10:
        d_size = struct.unpack_from(">I", buf, p)[0]
        p += 4
    if fl & 0x20:
        d_flags = struct.unpack_from(">I", buf, p)[0]
    tfdt = _child(buf, *traf, b"tfdt")
    decode = 0
    if tfdt:
        v, _ = _full(buf, tfdt[0])
        decode = struct.unpack_from(">Q" if v == 1 else ">I", buf, tfdt[0] + 4)[0]
    out = []
    next_offset = data_base
    for kind, s, _ in _boxes(buf, *traf):
        if kind != b"trun":
            continue
        v, tf = _full(buf, s)
        count = struct.unpack_from(">I", buf, s + 4)[0]
        q = s + 8
        offset = next_offset
        if tf & 0x1:
            offset = data_base + struct.unpack_from(">i", buf, q)[0]
            q += 4
        first_flags = None
        if tf & 0x4:
            first_flags = struct.unpack_from(">I", buf, q)[0]
            q += 4
        fields = [bit for bit in (0x100, 0x200, 0x400, 0x800) if tf & bit]
        width = 4 * len(fields)
        if q + width * count > len(buf):
            raise Mp4Error("a cut trun")
        table = struct.unpack_from(f">{len(fields) * count}I", buf, q) if fields else ()
        column = {bit: list(table[i :: len(fields)]) for i, bit in enumerate(fields)}
        durs = column.get(0x100) or [d_dur] * count
        sizes = column.get(0x200) or [d_size] * count
        flags = column.get(0x400) or [d_flags] * count
        if 0x400 not in column and first_flags is not None and count:
            flags[0] = first_flags
        cts = column.get(0x800) or [0] * count
        if v == 1 and 0x800 in column:
            cts = [c - (1 << 32) if c >= 1 << 31 else c for c in cts]
        run = Run(seg, offset, durs, sizes, flags, cts, decode, sdi)
        if run.offset + run.length > file_size:
            raise Mp4Error("a cut fragment")
        decode += sum(durs)
        next_offset = offset + run.length
        out.append((tid, run))
    return out


def read_segment(folder_fd: int, name: str, index: int) -> Segment | None:
    """One segment's init and fragments (None: nothing whole in it). Opened relative to
    ``folder_fd`` without following a symlink; anything but a regular file is refused."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder_fd)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Mp4Error(f"{name} is not a regular file")
        size = st.st_size
        tracks: dict[int, _TrackInit] = {}
        runs: dict[int, list[Run]] = {}
        order: list[tuple[int, int]] = []
        pos = 0
        inits: list[_TrackInit] = []
        while pos + 8 <= size:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                break
            box, kind = struct.unpack_from(">I4s", head)
            if box == 1 and len(head) == 16:
                box = struct.unpack_from(">Q", head, 8)[0]
            elif box == 0:
                box = size - pos
            if box < 8 or pos + box > size:
                break  # cut short
            if kind in (b"moov", b"moof"):
                f.seek(pos)
                buf = f.read(box)
                if kind == b"moov":
                    inits = _read_init(buf, (8, box))
                    tracks = {t.id: t for t in inits}
                    runs = {t.id: [] for t in inits}
                else:
                    if not tracks:
                        raise Mp4Error(f"{name}: a fragment before the moov")
                    try:
                        got = [
                            item
                            for _, s, e in _boxes(buf, 8, box)
                            if _ == b"traf"
                            for item in _read_traf(buf, pos, (s, e), tracks, index, size)
                        ]
                    except Mp4Error:
                        break  # the fragment whose data was cut: stop before it
                    for tid, run in got:
                        runs[tid].append(run)
                        order.append((tid, len(runs[tid]) - 1))
            pos += box
    if not order:
        return None
    return Segment(Path(name), size, st.st_mtime_ns, inits, runs, order)


# -- the layout --------------------------------------------------------------------------


@dataclass
class Chunk:
    track: int
    segment: int
    src_offset: int
    length: int
    first_sample: int = 0  # index of its first sample in the track
    count: int = 0
    description: int = 1  # 1-based index in the output stsd


@dataclass
class Track:
    init: _TrackInit
    durations: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    sync: list[bool] = field(default_factory=list)
    cts: list[int] = field(default_factory=list)
    descriptions: list[bytes] = field(default_factory=list)  # unique sample entries

    @property
    def duration(self) -> int:
        return sum(self.durations)

    def times(self) -> list[int]:
        """Each sample's decode time."""
        out, t = [], 0
        for d in self.durations:
            out.append(t)
            t += d
        return out


@dataclass(frozen=True)
class Fragment:
    """One keyframe interval of the joined video: [start_s, end_s) and its source runs."""

    index: int
    start_s: float
    end_s: float


def _entries(stsd_entries: bytes, count: int) -> list[bytes]:
    out = []
    for _, s, e in _boxes(stsd_entries, 0, len(stsd_entries)):
        out.append(stsd_entries[s - 8 : e])
    return out[:count]


def _median(values: list[int]) -> int:
    return sorted(values)[len(values) // 2] if values else 0


class Joined:
    """The virtual MP4 of some of a folder's segments: ``size``, ``read(offset, n)``.

    ``fragments`` (keyframe intervals in the joined time) and ``keyframes_s`` let the clips
    choose where to cut; :meth:`part` makes the virtual MP4 of a span of fragments."""

    def __init__(
        self, folder: Path, segments: list[Segment], keep: list[int] | None = None
    ) -> None:
        self.folder = folder
        self._segments = segments
        self._layout(keep)

    # -- building -----------------------------------------------------------------

    def _layout(self, keep: list[int] | None) -> None:
        """Lay the runs out; with ``keep`` (fragment indexes, consecutive), only those."""
        first = self._segments[0].tracks
        ref_id = next((t.id for t in first if t.handler == b"vide"), first[0].id)
        tracks = {t.id: Track(t) for t in first}
        # Fragments: a new one at each run of the reference track; another track's run
        # belongs to the fragment of the reference run before it.
        frag_of: dict[tuple[int, int, int], int] = {}
        frag = -1
        for si, seg in enumerate(self._segments):
            for tid, ri in seg.order:
                frag += tid == ref_id
                frag_of[(si, tid, ri)] = max(frag, 0)
        wanted = set(range(frag + 1)) if keep is None else set(keep)
        ref_ts = tracks[ref_id].init.timescale
        ends = {tid: 0 for tid in tracks}  # each track's end so far, in its timescale
        chunks: list[Chunk] = []
        frag_starts: dict[int, int] = {}
        for si, seg in enumerate(self._segments):
            seg_tracks = {t.id: t for t in seg.tracks}
            origin: int | None = None  # the segment's time 0 in the output, reference time
            for tid, ri in seg.order:
                f = frag_of[(si, tid, ri)]
                if tid not in tracks or f not in wanted:
                    continue
                run, tr = seg.runs[tid][ri], tracks[tid]
                durs = list(run.durations)
                if tid == ref_id:
                    if origin is None:
                        origin = ends[tid] - run.decode_time
                    frag_starts.setdefault(f, ends[tid])
                else:
                    start = run.decode_time
                    nominal = _median(durs)
                    if ri == 0 and len(durs) > 1 and durs[0] > nominal:
                        # ffmpeg stretched the segment's first frame back to the cut.
                        start += durs[0] - nominal
                        durs[0] = nominal
                    if origin is not None and tr.durations:
                        want = origin * tr.init.timescale // ref_ts + start
                        if want > ends[tid] + 2 * max(nominal, 1):  # a gap: a restart
                            tr.durations[-1] += want - ends[tid]
                            ends[tid] = want
                entries = _entries(seg_tracks[tid].stsd_entries, seg_tracks[tid].stsd_count)
                desc = entries[min(run.description, len(entries)) - 1] if entries else b""
                if desc not in tr.descriptions:
                    tr.descriptions.append(desc)
                chunks.append(
                    Chunk(tid, si, run.offset, run.length, first_sample=len(tr.durations),
                          count=len(durs), description=tr.descriptions.index(desc) + 1)
                )  # fmt: skip
                tr.durations += durs
                tr.sizes += run.sizes
                tr.sync += [not (fl & NON_SYNC) for fl in run.flags]
                tr.cts += run.cts
                ends[tid] += sum(durs)
        self.tracks = [tracks[t.id] for t in first if tracks[t.id].durations]
        self._ref = tracks[ref_id]
        self._chunks = [c for c in chunks if tracks[c.track].durations]
        starts = sorted(frag_starts.items())
        self.fragments = [
            Fragment(f, t / ref_ts,
                     (starts[i + 1][1] if i + 1 < len(starts) else ends[ref_id]) / ref_ts)
            for i, (f, t) in enumerate(starts)
        ]  # fmt: skip
        self.duration_s = ends[ref_id] / ref_ts
        self._build()

    def _build(self) -> None:
        payload = sum(c.length for c in self._chunks)
        big = payload + 8 > 0xFFFFFFFF
        ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41")
        mdat_head = (
            struct.pack(">I4sQ", 1, b"mdat", payload + 16) if big else
            struct.pack(">I4s", payload + 8, b"mdat")
        )  # fmt: skip
        wide = False
        moov = self._moov(0, wide)
        start = len(ftyp) + len(moov) + len(mdat_head)
        wide = start + payload > 0xFFFFFFFF
        moov = self._moov(start, wide)
        self.header = ftyp + moov + mdat_head
        # Pieces of the payload: (out offset, segment, src offset, length), merged where
        # the source is contiguous.
        pieces: list[list[int]] = []
        at = len(self.header)
        for c in self._chunks:
            n = c.length
            if (
                pieces
                and pieces[-1][1] == c.segment
                and pieces[-1][2] + pieces[-1][3] == c.src_offset
            ):
                pieces[-1][3] += n
            else:
                pieces.append([at, c.segment, c.src_offset, n])
            at += n
        self._pieces = pieces
        self._piece_starts = [p[0] for p in pieces]
        self.size = at

    def _moov(self, data_start: int, wide: bool) -> bytes:
        # Chunk offsets in the output.
        at = data_start
        offsets: dict[int, list[int]] = {t.init.id: [] for t in self.tracks}
        chunks: dict[int, list[Chunk]] = {t.init.id: [] for t in self.tracks}
        for c in self._chunks:
            if c.track not in offsets:
                continue
            offsets[c.track].append(at)
            chunks[c.track].append(c)
            at += c.length
        movie = max(
            (t.duration * MOVIE_TIMESCALE // t.init.timescale for t in self.tracks), default=0
        )
        mvhd = _full_box(b"mvhd", 1, 0, struct.pack(">QQIQ", 0, 0, MOVIE_TIMESCALE, movie)
                         + struct.pack(">IH10x", 0x10000, 0x100) + _MATRIX + bytes(24)
                         + struct.pack(">I", max(t.init.id for t in self.tracks) + 1))  # fmt: skip
        traks = b"".join(
            self._trak(t, offsets[t.init.id], chunks[t.init.id], wide) for t in self.tracks
        )
        return _box(b"moov", mvhd + traks)

    def _trak(self, t: Track, offsets: list[int], chunks: list[Chunk], wide: bool) -> bytes:
        movie = t.duration * MOVIE_TIMESCALE // t.init.timescale
        old = t.init.tkhd
        version = old[8]
        body = old[12:]
        if version == 1:
            tid, dur_tail = body[16:20], body[32:]
        else:
            tid, dur_tail = body[8:12], body[20:]
        tkhd = _full_box(b"tkhd", 1, 3, struct.pack(">QQ", 0, 0) + tid + bytes(4)
                         + struct.pack(">Q", movie) + dur_tail)  # fmt: skip
        mdhd = _full_box(b"mdhd", 1, 0, struct.pack(">QQIQHH", 0, 0, t.init.timescale,
                                                    t.duration, t.init.language, 0))  # fmt: skip
        stsd = _full_box(b"stsd", 0, 0, struct.pack(">I", len(t.descriptions))
                         + b"".join(t.descriptions))  # fmt: skip
        stts = _full_box(b"stts", 0, 0, _runs(t.durations))
        tables = [stsd, stts]
        if any(t.cts):
            neg = any(c < 0 for c in t.cts)
            tables.append(_full_box(b"ctts", 1 if neg else 0, 0, _runs(t.cts, signed=neg)))
        if not all(t.sync):
            keys = [i + 1 for i, s in enumerate(t.sync) if s]
            tables.append(
                _full_box(b"stss", 0, 0, struct.pack(f">I{len(keys)}I", len(keys), *keys))
            )
        stsc_rows: list[tuple[int, int, int]] = []
        for i, c in enumerate(chunks):
            if not stsc_rows or stsc_rows[-1][1:] != (c.count, c.description):
                stsc_rows.append((i + 1, c.count, c.description))
        tables.append(_full_box(b"stsc", 0, 0, struct.pack(">I", len(stsc_rows))
                                + b"".join(struct.pack(">3I", *r) for r in stsc_rows)))  # fmt: skip
        if len(set(t.sizes)) == 1:
            tables.append(_full_box(b"stsz", 0, 0, struct.pack(">II", t.sizes[0], len(t.sizes))))
        else:
            sizes = struct.pack(f">II{len(t.sizes)}I", 0, len(t.sizes), *t.sizes)
            tables.append(_full_box(b"stsz", 0, 0, sizes))
        if wide:
            tables.append(
                _full_box(b"co64", 0, 0, struct.pack(f">I{len(offsets)}Q", len(offsets), *offsets))
            )
        else:
            tables.append(
                _full_box(b"stco", 0, 0, struct.pack(f">I{len(offsets)}I", len(offsets), *offsets))
            )
        minf = _box(b"minf", t.init.media_header + t.init.dinf + _box(b"stbl", b"".join(tables)))
        mdia = _box(b"mdia", mdhd + t.init.hdlr + minf)
        return _box(b"trak", tkhd + mdia)

    # -- reading ------------------------------------------------------------------

    def read(self, offset: int, length: int, fds: dict[int, int] | None = None) -> Iterator[bytes]:
        """The virtual file's bytes [offset, offset+length), in pieces of at most 256 KB."""
        end = min(self.size, offset + length)
        if offset < len(self.header):
            yield self.header[offset : min(end, len(self.header))]
            offset = len(self.header)
        if offset >= end:
            return
        folder_fd = os.open(
            self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        )
        opened: dict[int, int] = {}
        try:
            i = bisect_right(self._piece_starts, offset) - 1
            while offset < end and i < len(self._pieces):
                at, seg, src, n = self._pieces[i]
                if seg not in opened:
                    name = self._segments[seg].path.name
                    opened[seg] = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                          dir_fd=folder_fd)  # fmt: skip
                    if not stat.S_ISREG(os.fstat(opened[seg]).st_mode):
                        raise Mp4Error(f"{name} is not a regular file")
                take = min(end, at + n) - offset
                pos = src + (offset - at)
                while take > 0:
                    data = os.pread(opened[seg], min(take, READ_CHUNK), pos)
                    if not data:
                        raise Mp4Error("a segment shrank while it was read")
                    yield data
                    pos += len(data)
                    take -= len(data)
                    offset += len(data)
                i += 1
        finally:
            for fd in opened.values():
                os.close(fd)
            os.close(folder_fd)

    def write_to(self, path: Path) -> None:
        with open(path, "wb") as f:
            for data in self.read(0, self.size):
                f.write(data)

    # -- for the clips ------------------------------------------------------------

    @property
    def keyframes_s(self) -> list[float]:
        ts = self._ref.init.timescale
        return [t / ts for t, s in zip(self._ref.times(), self._ref.sync, strict=True) if s]

    @property
    def frames_s(self) -> list[float]:
        ts = self._ref.init.timescale
        return [t / ts for t in self._ref.times()]

    @property
    def video_description(self) -> bytes:
        return self._ref.descriptions[0] if self._ref.descriptions else b""

    def part(self, first: int, last: int) -> Joined:
        """The virtual MP4 of fragments first..last (indexes in :attr:`fragments`), its
        time starting at 0 at the first's keyframe."""
        keep = [f.index for f in self.fragments[first : last + 1]]
        return Joined(self.folder, self._segments, keep)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags) + payload)


def _runs(values: list[int], signed: bool = False) -> bytes:
    """stts/ctts: (count, value) runs."""
    rows: list[list[int]] = []
    for v in values:
        if rows and rows[-1][1] == v:
            rows[-1][0] += 1
        else:
            rows.append([1, v])
    fmt = ">Ii" if signed else ">II"
    return struct.pack(">I", len(rows)) + b"".join(struct.pack(fmt, n, v) for n, v in rows)


def index(folder: Path, names: list[str]) -> Joined | None:
    """The joined video of the segments ``names`` (in order) in ``folder``; None when none
    holds a whole fragment. ``folder`` must not be a symlink."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        segments = []
        for name in names:
            try:
                seg = read_segment(fd, name, len(segments))
            except (Mp4Error, struct.error):
                continue  # not a segment the kit could have written: left out
            if seg is not None:
                segments.append(seg)
    finally:
        os.close(fd)
    if not segments:
        return None
    first = {(t.id, t.handler) for t in segments[0].tracks}
    segments = [s for s in segments if {(t.id, t.handler) for t in s.tracks} == first]
    for i, s in enumerate(segments):  # renumber after leaving some out
        for runs in s.runs.values():
            for r in runs:
                r.segment = i
    return Joined(folder, segments)
