"""ALSA capture devices made of files, for tests on a machine with no sound card.

Each device is alsa-lib's ``file`` PCM plugin over a ``null`` slave: capture from it gives
the bytes of its ``infile``, a raw S16_LE file the test writes (a tone at a known level,
silence, a clipping square wave). Any ALSA program opens it by name, pyalsaaudio in this
process as well as ``ffmpeg -f alsa -i NAME`` or ``arecord -D NAME``.

How alsa-lib finds them: it reads the files listed in ``ALSA_CONFIG_PATH`` instead of its
own ``/usr/share/alsa/alsa.conf``. The config written here defines the test's devices and
nothing else, so no system or user file (``/etc/asound.conf``, ``~/.asoundrc``, a sound
server's hooks) can change them, and nothing on the machine is touched:

- a subprocess: ``subprocess.run([...], env=devices.env())``;
- pyalsaaudio in this process: ``monkeypatch.setenv("ALSA_CONFIG_PATH", str(devices.config))``.
  alsa-lib rereads its configuration at the next open whenever that list of files changes,
  so this works after earlier opens in the process, and restoring the variable restores
  the machine's own devices.

Two things a real microphone does differently:

- No clock: the null slave has none, so reads return at once and a program reads as fast
  as it asks. ffmpeg's alsa input stamps packets with the wall clock, so ``-t 1`` gives an
  unpredictable number of samples: cut by count instead (``-af atrim=end_sample=48000``).
- An end: past the end of ``infile`` the plugin stops filling the buffer and the reader
  gets whatever was in it before (pyalsaaudio: the previous period again; ffmpeg: stale
  memory). Make each sound longer than anything will read from it.
"""

from __future__ import annotations

import math
import os
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RATE = 48000
CHANNELS = 2  # what ffmpeg's alsa input opens when given no -ac
FULL_SCALE = 32768


def _frames(values: list[int], channels: int) -> bytes:
    """Mono sample values as interleaved S16_LE frames, the same value in every channel."""
    samples = array("h", (v for v in values for _ in range(channels)))
    if array("h", [1]).tobytes() != b"\x01\x00":
        samples.byteswap()
    return samples.tobytes()


def tone(
    frequency: float = 1000,
    peak_dbfs: float = -12.0,
    seconds: float = 5.0,
    *,
    rate: int = RATE,
    channels: int = CHANNELS,
) -> bytes:
    """A sine whose peak is at ``peak_dbfs``; its RMS is 3.01 dB lower."""
    amplitude = min(FULL_SCALE * 10 ** (peak_dbfs / 20), FULL_SCALE - 1)
    step = 2 * math.pi * frequency / rate
    values = [round(amplitude * math.sin(step * i)) for i in range(round(seconds * rate))]
    return _frames(values, channels)


def silence(seconds: float = 5.0, *, rate: int = RATE, channels: int = CHANNELS) -> bytes:
    return bytes(2 * channels * round(seconds * rate))


def square(
    frequency: float = 1000, seconds: float = 5.0, *, rate: int = RATE, channels: int = CHANNELS
) -> bytes:
    """A full-scale square wave: every sample at the limit, as a microphone that clips."""
    half = rate / frequency / 2
    values = [
        FULL_SCALE - 1 if int(i / half) % 2 == 0 else -FULL_SCALE
        for i in range(round(seconds * rate))
    ]
    return _frames(values, channels)


@dataclass(frozen=True)
class AlsaDevices:
    config: Path  # the file for ALSA_CONFIG_PATH
    names: tuple[str, ...]

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment for a subprocess that sees these devices."""
        return {**(os.environ if base is None else base), "ALSA_CONFIG_PATH": str(self.config)}


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_devices(folder: Path, sounds: Mapping[str, bytes]) -> AlsaDevices:
    """One capture device per sound, named by its key (letters, digits and _)."""
    folder.mkdir(parents=True, exist_ok=True)
    blocks = []
    for name, data in sounds.items():
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a usable ALSA PCM name: {name!r}")
        raw = folder / f"{name}.raw"
        raw.write_bytes(data)
        blocks.append(
            f"pcm.{name} {{\n"
            "    type file\n"
            "    slave.pcm { type null }\n"
            '    file "/dev/null"  # the plugin also writes what is read; nowhere\n'
            f"    infile {_quoted(os.fspath(raw))}\n"
            '    format "raw"\n'
            "}\n"
        )
    config = folder / "asound.conf"
    config.write_text("".join(blocks))
    return AlsaDevices(config, tuple(sounds))


# -- a sound card: hw:CARD=<id>,DEV=0 and a mixer with a capture volume ------------------
#
# The kit controls the gain of a sound card (kit.media.mic.CaptureGain: the card's mixer,
# found from a hw:/plughw: device name), which a file device has not. make_card gives the
# test's ALSA configuration a card of its own: the hw PCM and the hw control are redefined
# (the config is the whole of alsa-lib's configuration, so this touches nothing else),
#
# - ``hw:CARD=<id>,...`` captures the card's sound file, as the devices above do;
# - ``hw:CARD=<id>`` (the control) is a small alsa-lib control plugin, compiled here from
#   the C below, with one element, "Mic Capture Volume", as most USB microphones name it.
#   Its value lives in a file, so every program that opens the card (the kit's
#   pyalsaaudio, ``amixer -D hw:CARD=<id>``) sees the same gain, as with a real card.
#
# A card that is not there (no sound file) fails to open with ENOENT/ENODEV, as an
# unplugged microphone does. Needs a C compiler and alsa-lib's headers: install.sh --dev.

MIXER_PLUGIN = "kit_file_mixer"
_MIXER_C = r"""
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <alsa/asoundlib.h>
#include <alsa/control_external.h>

#define MAX_CHANNELS 8

typedef struct {
    snd_ctl_ext_t ext;
    char path[4096];
    char control[64];
    long min, max;
    unsigned int channels;
    int wake[2];
} kit_mixer_t;

static int load(kit_mixer_t *m, long *value)
{
    FILE *f = fopen(m->path, "r");
    unsigned int i;
    if (!f)
        return -ENODEV;
    for (i = 0; i < m->channels; i++) {
        if (fscanf(f, "%ld", &value[i]) != 1) {
            fclose(f);
            return -EIO;
        }
    }
    fclose(f);
    return 0;
}

static int save(kit_mixer_t *m, const long *value)
{
    char tmp[4200];
    FILE *f;
    unsigned int i;
    snprintf(tmp, sizeof tmp, "%s.%d", m->path, (int)getpid());
    f = fopen(tmp, "w");
    if (!f)
        return -errno;
    for (i = 0; i < m->channels; i++)
        fprintf(f, "%ld%c", value[i], i + 1 < m->channels ? ' ' : '\n');
    if (fclose(f) != 0 || rename(tmp, m->path) != 0) {
        unlink(tmp);
        return -EIO;
    }
    return 0;
}

static int elem_count(snd_ctl_ext_t *ext)
{
    (void)ext;
    return 1;
}

static int elem_list(snd_ctl_ext_t *ext, unsigned int offset, snd_ctl_elem_id_t *id)
{
    kit_mixer_t *m = ext->private_data;
    if (offset != 0)
        return -EINVAL;
    snd_ctl_elem_id_set_interface(id, SND_CTL_ELEM_IFACE_MIXER);
    snd_ctl_elem_id_set_name(id, m->control);
    return 0;
}

static snd_ctl_ext_key_t find_elem(snd_ctl_ext_t *ext, const snd_ctl_elem_id_t *id)
{
    kit_mixer_t *m = ext->private_data;
    if (strcmp(snd_ctl_elem_id_get_name(id), m->control) == 0 &&
        snd_ctl_elem_id_get_index(id) == 0)
        return 0;
    return SND_CTL_EXT_KEY_NOT_FOUND;
}

static int get_attribute(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, int *type,
             unsigned int *acc, unsigned int *count)
{
    kit_mixer_t *m = ext->private_data;
    if (key != 0)
        return -EINVAL;
    *type = SND_CTL_ELEM_TYPE_INTEGER;
    *acc = SND_CTL_EXT_ACCESS_READWRITE;
    *count = m->channels;
    return 0;
}

static int get_integer_info(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, long *imin,
                long *imax, long *istep)
{
    kit_mixer_t *m = ext->private_data;
    if (key != 0)
        return -EINVAL;
    *imin = m->min;
    *imax = m->max;
    *istep = 1;
    return 0;
}

static int read_integer(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, long *value)
{
    if (key != 0)
        return -EINVAL;
    return load(ext->private_data, value);
}

static int write_integer(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, long *value)
{
    kit_mixer_t *m = ext->private_data;
    long now[MAX_CHANNELS];
    unsigned int i;
    int err, changed = 0;
    if (key != 0)
        return -EINVAL;
    for (i = 0; i < m->channels; i++)
        if (value[i] < m->min || value[i] > m->max)
            return -EINVAL;
    err = load(m, now);
    if (err < 0)
        return err;
    for (i = 0; i < m->channels; i++)
        changed |= now[i] != value[i];
    if (!changed)
        return 0;
    err = save(m, value);
    return err < 0 ? err : 1;
}

static int read_event(snd_ctl_ext_t *ext, snd_ctl_elem_id_t *id, unsigned int *event_mask)
{
    (void)ext; (void)id; (void)event_mask;
    return -EAGAIN;
}

static void close_mixer(snd_ctl_ext_t *ext)
{
    kit_mixer_t *m = ext->private_data;
    close(m->wake[0]);
    close(m->wake[1]);
    free(m);
}

static const snd_ctl_ext_callback_t callbacks = {
    .elem_count = elem_count,
    .elem_list = elem_list,
    .find_elem = find_elem,
    .get_attribute = get_attribute,
    .get_integer_info = get_integer_info,
    .read_integer = read_integer,
    .write_integer = write_integer,
    .read_event = read_event,
    .close = close_mixer,
};

SND_CTL_PLUGIN_DEFINE_FUNC(kit_file_mixer)
{
    snd_config_iterator_t i, next;
    const char *path = NULL, *card = "kit", *control = "Mic Capture Volume";
    long min = 0, max = 16, channels = 1, probe[MAX_CHANNELS];
    kit_mixer_t *m;
    int err;
    (void)root;
    snd_config_for_each(i, next, conf) {
        snd_config_t *n = snd_config_iterator_entry(i);
        const char *id;
        if (snd_config_get_id(n, &id) < 0)
            continue;
        if (!strcmp(id, "comment") || !strcmp(id, "type") || !strcmp(id, "hint"))
            continue;
        if (!strcmp(id, "file"))
            err = snd_config_get_string(n, &path);
        else if (!strcmp(id, "card"))
            err = snd_config_get_string(n, &card);
        else if (!strcmp(id, "control"))
            err = snd_config_get_string(n, &control);
        else if (!strcmp(id, "min"))
            err = snd_config_get_integer(n, &min);
        else if (!strcmp(id, "max"))
            err = snd_config_get_integer(n, &max);
        else if (!strcmp(id, "channels"))
            err = snd_config_get_integer(n, &channels);
        else {
            SNDERR("Unknown field %s", id);
            return -EINVAL;
        }
        if (err < 0) {
            SNDERR("Invalid value for %s", id);
            return -EINVAL;
        }
    }
    if (!path || channels < 1 || channels > MAX_CHANNELS || min > max) {
        SNDERR("kit_file_mixer needs file, 1 to 8 channels and min <= max");
        return -EINVAL;
    }
    m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    snprintf(m->path, sizeof m->path, "%s", path);
    snprintf(m->control, sizeof m->control, "%s", control);
    m->min = min;
    m->max = max;
    m->channels = (unsigned int)channels;
    err = load(m, probe);  /* no value file: no such card */
    if (err < 0) {
        free(m);
        return err;
    }
    if (pipe(m->wake) < 0) {  /* a poll descriptor that never wakes: no events */
        err = -errno;
        free(m);
        return err;
    }
    m->ext.version = SND_CTL_EXT_VERSION;
    m->ext.card_idx = 0;
    snprintf(m->ext.id, sizeof m->ext.id, "%s", card);
    snprintf(m->ext.driver, sizeof m->ext.driver, "kit-file");
    snprintf(m->ext.name, sizeof m->ext.name, "%s", card);
    snprintf(m->ext.longname, sizeof m->ext.longname, "%s (a test's file-backed mixer)", card);
    snprintf(m->ext.mixername, sizeof m->ext.mixername, "kit file mixer");
    m->ext.poll_fd = m->wake[0];
    m->ext.callback = &callbacks;
    m->ext.private_data = m;
    err = snd_ctl_ext_create(&m->ext, name, mode);
    if (err < 0) {
        close(m->wake[0]);
        close(m->wake[1]);
        free(m);
        return err;
    }
    *handlep = m->ext.handle;
    return 0;
}

SND_CTL_PLUGIN_SYMBOL(kit_file_mixer);
"""


def build_mixer_plugin(folder: Path) -> Path:
    """Compile the control plugin; returns the shared library's path."""
    import shutil
    import subprocess

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler for the test's ALSA mixer: run ./install.sh --dev")
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{MIXER_PLUGIN}.c"
    source.write_text(_MIXER_C)
    lib = folder / f"libasound_module_ctl_{MIXER_PLUGIN}.so"
    done = subprocess.run(
        [cc, "-shared", "-fPIC", "-DPIC", "-O2", "-Wall", "-Werror", "-o", os.fspath(lib),
         os.fspath(source), "-lasound"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"building the test's ALSA mixer failed:\n{done.stderr}")
    return lib


@dataclass(frozen=True)
class AlsaCard:
    config: Path  # the file for ALSA_CONFIG_PATH
    card: str  # the card's id, as in hw:CARD=<id>
    sound_file: Path  # what capture gives
    gain_file: Path  # the capture volume, raw, one number per channel
    low: int
    high: int
    control: str = "Mic"  # the simple mixer control, as amixer and pyalsaaudio name it

    @property
    def device(self) -> str:
        """The capture device as [audio] device names a USB microphone."""
        return f"hw:CARD={self.card},DEV=0"

    @property
    def ctl(self) -> str:
        """The card's control device, for ``amixer -D``."""
        return f"hw:CARD={self.card}"

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**(os.environ if base is None else base), "ALSA_CONFIG_PATH": str(self.config)}

    def play(self, sound: bytes) -> None:
        """Change what the microphone hears, from its next open on (a reader that has the
        device open keeps the old sound: the file is replaced, not rewritten)."""
        fresh = self.sound_file.with_suffix(".new")
        fresh.write_bytes(sound)
        fresh.replace(self.sound_file)

    def unplug(self) -> None:
        self.sound_file.unlink(missing_ok=True)
        self.gain_file.unlink(missing_ok=True)


def make_card(
    folder: Path,
    card: str,
    sound: bytes,
    *,
    gain: int = 12,
    low: int = 0,
    high: int = 16,  # a C-Media USB microphone's "Mic Capture Volume": 0 to 16
    channels: int = 1,
) -> AlsaCard:
    """A sound card ``card`` whose microphone hears ``sound`` (raw S16_LE, as the sounds
    above) and whose "Mic Capture Volume" starts at the raw value ``gain``."""
    if not card.replace("_", "").isalnum() or not card[0].isalpha():
        raise ValueError(f"not a usable ALSA card id: {card!r}")
    if not low <= gain <= high:
        raise ValueError(f"gain {gain} is outside {low}..{high}")
    folder.mkdir(parents=True, exist_ok=True)
    lib = build_mixer_plugin(folder)
    sound_file, gain_file = folder / f"card-{card}.raw", folder / f"card-{card}.gain"
    sound_file.write_bytes(sound)
    gain_file.write_text(" ".join([str(gain)] * channels) + "\n")
    prefix = _quoted(os.fspath(folder / "card-"))
    config = folder / "asound.conf"
    config.write_text(
        f"ctl_type.{MIXER_PLUGIN} {{\n    lib {_quoted(os.fspath(lib))}\n}}\n"
        "pcm.hw {\n"
        "    @args [ CARD DEV SUBDEV ]\n"
        "    @args.CARD { type string }\n"
        "    @args.DEV { type integer default 0 }\n"
        "    @args.SUBDEV { type integer default -1 }\n"
        "    type file\n"
        "    slave.pcm { type null }\n"
        '    file "/dev/null"\n'
        f'    infile {{ @func concat strings [ {prefix} $CARD ".raw" ] }}\n'
        '    format "raw"\n'
        "}\n"
        "ctl.hw {\n"
        "    @args [ CARD ]\n"
        "    @args.CARD { type string }\n"
        f"    type {MIXER_PLUGIN}\n"
        "    card $CARD\n"
        f'    file {{ @func concat strings [ {prefix} $CARD ".gain" ] }}\n'
        f"    min {low}\n"
        f"    max {high}\n"
        f"    channels {channels}\n"
        "}\n"
    )
    return AlsaCard(config, card, sound_file, gain_file, low, high)
