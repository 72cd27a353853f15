"""The child process that plays a live stream on ALSA's default device: raw PCM from stdin.

    python -I -S alsa_writer.py RATE CHANNELS LATENCY_MS START_AT PARENT_PID

Run by outputs/live.py, never imported: standard library only, so it starts in a few tens of
milliseconds. It exists because none of the tools at hand keeps the device's buffer small: ffmpeg's
ALSA output takes up to 131072 frames (2-3 s measured on the test rig, no option to bound it),
aplay is not installed with Loa (alsa-utils) and pacat needs PulseAudio. Here the buffer is
LATENCY_MS (snd_pcm_set_params) and every write waits for the device, so the device's clock paces
the stream and the latency stays what it was at the start.

Until START_AT (a time.time() value; 0 for at once) it plays silence, and the silence before the
first frame from stdin is cut so that frame is heard on START_AT (snd_pcm_delay says how long
until a frame written now is heard). When stdin has nothing in time, it plays STARVED_S of
silence at a time instead of letting the device run dry (an underrun restarts the device with a
click). Every frame of stdin is held to its due time on the wall clock (the first one's plus its
index over RATE): one frame in a few hundred is dropped while it would be heard late (after such
a silence, or with a sound card slower than the wall clock), repeated while early. At the end of
stdin it drains the device, prints `done STARVED_SECONDS UNDERRUNS` and exits 0; exits 2 when
the device does not open or fails, with the reason on stderr. Prints `ready BUFFER_FRAMES
PERIOD_FRAMES` once open.
"""

import ctypes
import ctypes.util
import os
import select
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PLAYBACK = 0
S16_LE = 2
RW_INTERLEAVED = 3
SAMPLE_BYTES = 2
HOLD_S = 0.005
"""How far from its due time the stream may be heard before it is nudged back (at most 0.5 %:
a stream 50 ms late is back on time ten seconds later)."""
SMOOTHING = 0.1
"""Each block moves the measured lateness this much of the way (snd_pcm_delay jitters)."""
STARVED_S = 0.01
"""Silence played at a time while the stream is late: what comes late is heard soon after."""
NUDGE_SHARE = 200
"""At most one frame in this many is dropped or repeated (0.5 %, a pitch change nobody hears)."""


def on_time(block: bytes, late: float, frame_bytes: int) -> bytes:
    """`block` with one frame in NUDGE_SHARE dropped if the stream is heard late, or repeated
    if early: the source keeps the wall clock, the sound card its own (a few hundred ppm apart),
    and each frame stays where the wall clock puts it. Single frames, spread out: a tone loses a
    hundredth of a cycle at each, where a run of them would click."""
    frames = len(block) // frame_bytes
    if abs(late) <= HOLD_S or frames < 2:
        return block
    nudges = max(frames // NUDGE_SHARE, 1)
    step = frames // nudges
    parts = []
    for index in range(nudges):
        start = index * step * frame_bytes
        end = len(block) if index == nudges - 1 else (index + 1) * step * frame_bytes
        if late > 0:
            parts.append(block[start + frame_bytes : end])
        else:
            parts.append(block[start : start + frame_bytes] + block[start:end])
    return b"".join(parts)


def die_with(parent: int) -> None:
    """Be killed by the kernel when the thread that started us ends, Loa killed with -9
    included; if Loa died before this ran, end now. Done here rather than in a preexec_fn,
    which may deadlock in a parent with threads (the daemon has several)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        sys.exit(2)


def main(arguments: list[str]) -> int:
    rate, channels, latency_ms = (int(value) for value in arguments[:3])
    start_at = float(arguments[3])
    die_with(int(arguments[4]))
    library = ctypes.util.find_library("asound")
    if library is None:
        print("libasound not found", file=sys.stderr)
        return 2
    alsa = ctypes.CDLL(library)
    alsa.snd_strerror.restype = ctypes.c_char_p
    alsa.snd_pcm_writei.restype = ctypes.c_long
    alsa.snd_pcm_writei.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong]
    handler_type = ctypes.CFUNCTYPE(
        None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
    )
    quiet = handler_type(lambda *_args: None)
    alsa.snd_lib_error_set_handler(quiet)  # one message from the parent, not libasound's noise

    pcm = ctypes.c_void_p()
    failed = alsa.snd_pcm_open(ctypes.byref(pcm), b"default", PLAYBACK, 0)
    if failed >= 0:
        failed = alsa.snd_pcm_set_params(
            pcm, S16_LE, RW_INTERLEAVED, channels, rate, 1, latency_ms * 1000
        )
    if failed < 0:
        print(f"open: {alsa.snd_strerror(failed).decode()}", file=sys.stderr)
        return 2
    buffer_frames, period_frames = ctypes.c_ulong(), ctypes.c_ulong()
    alsa.snd_pcm_get_params(pcm, ctypes.byref(buffer_frames), ctypes.byref(period_frames))
    period = max(int(period_frames.value), 1)
    frame_bytes = SAMPLE_BYTES * channels
    silence = bytes(period * frame_bytes)
    wait = bytes(max(int(rate * STARVED_S), 1) * frame_bytes)

    def write(data: bytes) -> int:
        """Write all of `data`, waiting for room; how many underruns were recovered."""
        offset = recovered = 0
        while offset < len(data):
            frames = (len(data) - offset) // frame_bytes
            written = alsa.snd_pcm_writei(pcm, data[offset:], frames)
            if written < 0:
                if alsa.snd_pcm_recover(pcm, int(written), 1) < 0:
                    raise OSError(alsa.snd_strerror(int(written)).decode())
                recovered += 1
                continue
            offset += written * frame_bytes
        return recovered

    def seconds_queued() -> float:
        delay = ctypes.c_long()
        if alsa.snd_pcm_delay(pcm, ctypes.byref(delay)) < 0:
            return 0.0
        return max(delay.value, 0) / rate

    print(f"ready {buffer_frames.value} {period}", flush=True)
    starved = underruns = 0
    try:
        write(silence)
        alsa.snd_pcm_start(pcm)
        while (lead := start_at - time.time() - seconds_queued()) * rate > period:
            write(silence)  # waits for room once the buffer is full: the device paces this
        if lead > 0:
            write(bytes(int(lead * rate) * frame_bytes))
        stdin = sys.stdin.fileno()
        pending = b""
        played = 0
        """Frames of the stream played or dropped: frame N is due at first_due + N / rate."""
        first_due = 0.0
        late = 0.0
        """How late the stream is heard against its due time, smoothed over a few blocks."""
        while True:
            margin = max(seconds_queued() - period / rate, 0.0)
            if not select.select([stdin], [], [], margin)[0]:
                write(wait)  # nothing came in time: silence, not an underrun
                starved += played > 0
                continue
            data = os.read(stdin, period * frame_bytes * 4)
            if not data:
                break
            pending += data
            frames = len(pending) // frame_bytes
            heard = time.time() + seconds_queued()
            if played == 0:
                first_due = max(start_at, heard)  # a stream that came late starts when it can
            late += (heard - (first_due + played / rate) - late) * SMOOTHING
            block = on_time(pending[: frames * frame_bytes], late, frame_bytes)
            pending = pending[frames * frame_bytes :]
            played += frames
            underruns += write(block)
        alsa.snd_pcm_drain(pcm)
    except OSError as error:
        print(f"write: {error}", file=sys.stderr)
        return 2
    finally:
        alsa.snd_pcm_close(pcm)
    print(f"done {starved * STARVED_S:.3f} {underruns}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
