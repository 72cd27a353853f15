"""Render speed against ffmpeg doing the same work, and peak memory for a 60-minute program.

    .venv/bin/python -m bench.render

1. A 10-minute program from cached audio: intro, a ~3-minute speech (MP3, as the cache holds
   online speech) three times with 30 s gaps, outro, everything at -16 LUFS. Loa renders it to a
   WAV file; ffmpeg does the same with one filter graph (concat + loudnorm). Times and ratio.
2. Peak RSS of a process that renders intro + a 60-minute recording + outro to a WAV file, and
   of processes that only import the broadcast path and the renderer.
Needs espeak-ng and ffmpeg; touches nothing outside a temporary folder.
"""

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import miniaudio

from broadcaster.audio.outputs import file_output
from broadcaster.audio.render import bundled_jingle, render_program
from broadcaster.core.models import Gap, Jingle, Program, Recording
from broadcaster.core.settings import OutputSettings

ROOT = Path(__file__).resolve().parent.parent

SENTENCE = (
    "Kính thưa bà con nhân dân, Ủy ban nhân dân xã đề nghị bà con cài đặt ứng dụng Bluezone trên "
    "điện thoại thông minh, để phát hiện người tiếp xúc gần với người mắc bệnh. "
)


def make_speech(folder: Path, minutes: float) -> Path:
    """Real espeak-ng speech of about `minutes`, as MP3."""
    one = folder / "one.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(one), SENTENCE * 10], check=True)
    seconds = miniaudio.get_file_info(str(one)).duration
    loops = max(0, round(minutes * 60 / seconds) - 1)
    speech = folder / f"speech-{minutes}.mp3"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-stream_loop",
            str(loops),
            "-i",
            str(one),
            "-b:a",
            "48k",
            str(speech),
        ],
        check=True,
    )
    return speech


def loa_render(program: Program, out: Path) -> float:
    started = time.perf_counter()
    file_output(out).play(render_program(program, {}, {}, OutputSettings()))
    return time.perf_counter() - started


def ffmpeg_render(speech: Path, out: Path) -> float:
    intro, outro = bundled_jingle("intro"), bundled_jingle("outro")
    inputs = [
        "-i",
        str(intro),
        "-i",
        str(speech),
        "-i",
        str(outro),
        "-f",
        "lavfi",
        "-t",
        "30",
        "-i",
        "anullsrc=r=44100:cl=mono",
    ]
    graph = (
        "[0]aresample=44100,aformat=channel_layouts=mono[a];"
        "[1]aresample=44100,aformat=channel_layouts=mono,asplit=3[s1][s2][s3];"
        "[2]aresample=44100,aformat=channel_layouts=mono[z];"
        "[3]asplit=2[g1][g2];"
        "[a][s1][g1][s2][g2][s3][z]concat=n=7:v=0:a=1,loudnorm=I=-16:TP=-1[out]"
    )
    started = time.perf_counter()
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            *inputs,
            "-filter_complex",
            graph,
            "-map",
            "[out]",
            "-ar",
            "44100",
            str(out),
        ],
        check=True,
    )
    return time.perf_counter() - started


PRINT_PEAK_KB = (
    "from pathlib import Path;"
    "status = Path('/proc/self/status');"
    "print(next(line.split()[1] for line in status.read_text().splitlines()"
    " if line.startswith('VmHWM')) if status.exists()"
    " else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)
"""A child's own peak: Linux carries ru_maxrss over exec, so a child started by a large parent
would report the parent's size; VmHWM starts afresh."""


def peak_rss_mb(recording: Path, out: Path) -> float:
    """Render in a child process, so its peak memory is the program's alone."""
    code = (
        "import sys, resource;"
        "from pathlib import Path;"
        "from bench.render import loa_render;"
        "from broadcaster.core.models import Jingle, Program, Recording;"
        "loa_render(Program((Jingle('intro'), Recording(Path(sys.argv[1])), Jingle('outro'))),"
        " Path(sys.argv[2]));"
        f"{PRINT_PEAK_KB}"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(recording), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip()) / 1024


def import_rss_mb(module: str) -> float:
    """Peak RSS of a process that only imports `module`: what a station costs before it airs."""
    code = f"import resource, {module}; {PRINT_PEAK_KB}"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return int(result.stdout.strip()) / 1024


def measure() -> dict[str, float]:
    """Seconds of the 10-minute program rendered by "loa" and by "ffmpeg", their "ratio", the
    "minutes" Loa rendered, "peak_rss_mb" of rendering the 60-minute program, and the peak RSS
    of importing the broadcast path ("import_mb") and the renderer ("render_import_mb")."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        speech = make_speech(folder, 3.2)
        message = Recording(speech)
        program = Program(
            (Jingle("intro"), message, Gap(30), message, Gap(30), message, Jingle("outro"))
        )
        loa = loa_render(program, folder / "loa.wav")
        peer = ffmpeg_render(speech, folder / "ffmpeg.wav")
        minutes = (folder / "loa.wav").stat().st_size / 2 / 44100 / 60
        hour = make_speech(folder, 60)
        rss = peak_rss_mb(hour, folder / "hour.wav")
    return {
        "loa": loa,
        "ffmpeg": peer,
        "ratio": loa / peer,
        "minutes": minutes,
        "peak_rss_mb": rss,
        "import_mb": import_rss_mb("broadcaster.broadcast"),
        "render_import_mb": import_rss_mb("broadcaster.audio.render"),
    }


def main() -> None:
    found = measure()
    print(f"10-minute program ({found['minutes']:.1f} min rendered), -16 LUFS:")
    print(f"  Loa render          {found['loa']:7.2f} s")
    print(f"  ffmpeg filter graph {found['ffmpeg']:7.2f} s")
    print(f"  ratio Loa/ffmpeg    {found['ratio']:7.2f}")
    print(
        f"60-minute program: peak RSS {found['peak_rss_mb']:.0f} MB "
        f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    print(
        f"Importing: broadcaster.broadcast {found['import_mb']:.0f} MB, "
        f"broadcaster.audio.render {found['render_import_mb']:.0f} MB (peak RSS)"
    )


if __name__ == "__main__":
    main()
