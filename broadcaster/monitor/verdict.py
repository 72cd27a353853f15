"""Whether what was sent was heard: the delay found by correlation, then frame by frame.

The sent and the heard envelopes (envelope.py) of one stretch are correlated at every delay from
0 to MAX_DELAY_S (the levels in dB, so that the monitor's own gain does not matter); the best
delay lines them up. Then every frame in which something audible was sent counts as heard if the
monitor heard anything above its presence threshold there (give or take TOLERANCE_FRAMES). The
share heard makes the verdict. Pure: the monitor hands in copies of its envelopes.
"""

import math

import numpy as np

from broadcaster.core.models import Heard, Hearing
from broadcaster.i18n import _, format_decimal
from broadcaster.monitor.envelope import FRAME_S, SILENT_DB, Frames

MAX_DELAY_S = 3.0
"""The longest way back looked for: the capture's latency, a long cable run, a microphone far
from the loudspeaker. A delay outside is not found (and the stretch may come out `no`)."""
MAX_LAG = round(MAX_DELAY_S / FRAME_S)
SENT_AUDIBLE_DB = -40.0
"""A sent frame this loud (dBFS RMS) is one the loudspeakers must play: speech at the -16 LUFS
target is -30…-10 dBFS, the pauses between words and the gaps below -50."""
TOLERANCE_FRAMES = 2
"""A heard frame this near (100 ms) to where it should be still counts: echo, jitter."""
YES_SHARE = 0.9
"""At least this share of the audible sent frames heard: `yes`."""
NO_SHARE = 0.1
"""At most this share heard: `no`; in between: `partly`."""
HOLE_S = 5.0
"""This long of audible sound sent and none of it heard makes `partly`, however much else was
heard: a relay's 10 s dropout in an hour is not `yes`."""
MIN_CORRELATION = 0.3
"""A weaker best correlation finds no delay: the one found before is used (or any within
MAX_DELAY_S)."""
MIN_COVERED = 0.5
"""Less of the stretch captured than this (the device was gone): `unknown`."""


def find_delay(sent_db: np.ndarray, heard_db: np.ndarray, floor_db: float) -> tuple[float, float]:
    """The delay in frames (with a fraction, from the peak's neighbours) at which `heard_db`
    (len(sent_db) + MAX_LAG frames) best matches `sent_db`, and that best correlation; NaN
    levels are silence. (nan, 0) when either side does not vary (a steady tone, silence)."""
    sent = np.nan_to_num(np.maximum(sent_db, SILENT_DB), nan=SILENT_DB)
    heard = np.nan_to_num(np.maximum(heard_db, floor_db), nan=floor_db)
    size = len(sent)
    lags = min(MAX_LAG, len(heard) - size)
    if size < 2 or lags < 0 or np.ptp(sent) == 0:
        return math.nan, 0.0
    centred = sent - sent.mean()
    spread = math.sqrt(float(centred @ centred))
    scores = np.zeros(lags + 1)
    for lag in range(lags + 1):
        window = heard[lag : lag + size]
        moved = window - window.mean()
        norm = math.sqrt(float(moved @ moved))
        scores[lag] = float(centred @ moved) / (spread * norm) if norm > 0 else 0.0
    best = int(np.argmax(scores))
    if scores[best] <= 0:
        return math.nan, 0.0
    fraction = 0.0
    if 0 < best < lags:
        before, peak, after = scores[best - 1], scores[best], scores[best + 1]
        curve = before - 2 * peak + after
        if curve < 0:
            fraction = 0.5 * (before - after) / curve
    return best + fraction, float(scores[best])


def judge_frames(
    sent: Frames,
    heard: Frames,
    present_db: float,
    known_lag: float | None = None,
    not_listening: str = "",
) -> tuple[Hearing, float | None]:
    """The verdict on `sent` (the stretch's frames) given `heard` (the same frames and MAX_LAG
    more), the level above which a heard frame counts as sound, the delay found before (frames)
    and why the monitor could not listen, if it could not. Also the delay found (frames)."""
    assert heard.first == sent.first and len(heard) >= len(sent)
    sent_db = sent.levels_db()
    heard_db = heard.levels_db()
    audible = np.nan_to_num(sent_db, nan=SILENT_DB) >= SENT_AUDIBLE_DB
    audible_s = float(audible.sum()) * FRAME_S
    if not audible.any():
        return Hearing(Heard.UNKNOWN, reason=_("nothing audible was sent")), None
    lag, correlation = find_delay(sent_db, heard_db[: len(sent) + MAX_LAG], present_db - 6)
    found = lag if correlation >= MIN_CORRELATION else None
    shift = found if found is not None else known_lag
    present = np.nan_to_num(heard_db, nan=SILENT_DB) >= present_db
    captured = heard.covered
    if shift is None:
        low, high = 0, MAX_LAG  # no delay known: sound anywhere it could have come counts
    else:
        whole = round(shift)
        low, high = max(0, whole - TOLERANCE_FRAMES), whole + TOLERANCE_FRAMES
    heard_at = _any_in_window(present, low, high, len(sent))
    covered_at = _any_in_window(captured, low, high, len(sent))
    judged = audible & covered_at
    if judged.sum() < MIN_COVERED * audible.sum():
        reason = not_listening or _("the monitor was not listening")
        return Hearing(Heard.UNKNOWN, reason=reason), found
    share = float((judged & heard_at).sum()) / float(judged.sum())
    lost_s = float((judged & ~heard_at).sum()) * FRAME_S
    loudness = _loudness_db(heard, judged, round(shift) if shift is not None else 0)
    delay_ms = round(shift * FRAME_S * 1000) if shift is not None else None
    if share >= YES_SHARE and _longest_hole_s(judged, heard_at) < HOLE_S:
        verdict, reason = Heard.YES, ""
    elif share <= NO_SHARE:
        verdict = Heard.NO
        reason = _("nothing heard of {sent} s sent").format(sent=format_decimal(audible_s))
    else:
        verdict = Heard.PARTLY
        reason = _("{lost} s of {sent} s not heard").format(
            lost=format_decimal(lost_s), sent=format_decimal(audible_s)
        )
    return Hearing(verdict, loudness, delay_ms, reason), found


def _longest_hole_s(judged: np.ndarray, heard_at: np.ndarray) -> float:
    """The longest stretch from one unheard audible frame to another with none heard between."""
    index = np.flatnonzero(judged)
    unheard = ~heard_at[index]
    if not unheard.any():
        return 0.0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], unheard.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2] - 1
    return float((index[ends] - index[starts] + 1).max()) * FRAME_S


def _any_in_window(flags: np.ndarray, low: int, high: int, size: int) -> np.ndarray:
    """For each of `size` frames k: whether any of flags[k+low … k+high] is set."""
    padded = np.concatenate([flags.astype(bool), np.zeros(high + 1, dtype=bool)])
    result = np.zeros(size, dtype=bool)
    for offset in range(low, high + 1):
        result |= padded[offset : offset + size]
    return result


def _loudness_db(heard: Frames, judged: np.ndarray, lag: int) -> float:
    """dBFS RMS of what came back where something audible was sent."""
    index = np.flatnonzero(judged) + lag
    index = index[index < len(heard)]
    count = float(heard.count[index].sum())
    if count == 0:
        return SILENT_DB
    mean = float(heard.energy[index].sum()) / count
    return round(max(SILENT_DB, 10 * math.log10(mean)) if mean > 0 else SILENT_DB, 1)
