"""Time to audio for one announcement: from the cache, and from espeak-ng through Loa (both up to
decoded PCM, ready to play), against espeak-ng run directly to a WAV file. Prints medians over
several runs; never touches the Internet (the cache is filled through the test suite's local
Edge endpoint).

    .venv/bin/python -m bench.speech [RUNS]
"""

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from broadcaster.audio.decode import load_audio
from broadcaster.core.settings import SpeechSettings
from broadcaster.speech import Speaker
from broadcaster.speech.cache import AudioCache
from broadcaster.speech.normalize import Lexicon
from tests.edge_endpoint import EdgeEndpoint

TEXT = (
    "Kính thưa bà con nhân dân! Ủy ban nhân dân xã đề nghị bà con cài đặt ứng dụng Bluezone "
    "trên điện thoại thông minh, để phát hiện người tiếp xúc gần với người mắc bệnh."
)


def median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(runs: int = 10) -> dict[str, float]:
    """Median milliseconds to decoded audio: "cache" (a hit through Loa), "espeak" (espeak-ng
    through Loa), "direct" (espeak-ng to a WAV file); and "characters" of the text."""
    with tempfile.TemporaryDirectory() as folder, EdgeEndpoint() as endpoint:
        work = Path(folder)
        speaker = Speaker(
            SpeechSettings(edge_endpoint=endpoint.url),
            Lexicon({}),
            AudioCache(work / "cache", 10**8),
        )
        speaker.render(TEXT, "vi-VN-HoaiMyNeural", work)  # fills the cache
        cache_hit = median_ms(
            lambda: load_audio(speaker.render(TEXT, "vi-VN-HoaiMyNeural", work).path), runs
        )
        loa_espeak = median_ms(lambda: load_audio(speaker.render(TEXT, "vi", work).path), runs)
        direct = median_ms(
            lambda: subprocess.run(
                ["espeak-ng", "-v", "vi", "-w", str(work / "d.wav"), TEXT], check=True
            ),
            runs,
        )
    return {"cache": cache_hit, "espeak": loa_espeak, "direct": direct, "characters": len(TEXT)}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    found = measure(runs)
    print(f"runs: {runs}, text: {len(TEXT)} characters")
    print(f"cache hit (Loa)        {found['cache']:8.1f} ms")
    print(f"espeak-ng through Loa  {found['espeak']:8.1f} ms")
    print(f"espeak-ng directly     {found['direct']:8.1f} ms")
    print(f"ratio Loa/direct       {found['espeak'] / found['direct']:8.2f}")
    print(f"ratio cache/direct     {found['cache'] / found['direct']:8.2f}")


if __name__ == "__main__":
    main()
