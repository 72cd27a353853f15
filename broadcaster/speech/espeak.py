"""espeak-ng: robotic but offline and always there, the last voice before silence."""

import functools
import subprocess
from pathlib import Path

from broadcaster.core.settings import SpeechSettings
from broadcaster.i18n import _
from broadcaster.programs import find_program
from broadcaster.speech.base import SpeechUnavailable, save_speech

TIMEOUT_S = 120
WAV_HEADER_BYTES = 44
NORMAL_WPM = 175
MIN_WPM, MAX_WPM = 80, 450


class EspeakEngine:
    name = "espeak"

    def __init__(self, settings: SpeechSettings) -> None:
        found = find_program("espeak-ng")
        if found is None:
            raise SpeechUnavailable(
                _("espeak-ng is not installed (on Debian/Ubuntu: sudo apt install espeak-ng).")
            )
        self.executable = found
        self.settings = settings

    @functools.cached_property
    def version(self) -> str:
        answer = subprocess.run(
            [self.executable, "--version"],
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT_S,
        )
        return answer.stdout.split("text-to-speech:")[-1].split()[0] if answer.stdout else "?"

    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        try:
            result = subprocess.run(
                [
                    self.executable,
                    "-v",
                    voice,
                    "-s",
                    str(self.words_per_minute),
                    "--stdin",
                    "--stdout",
                ],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SpeechUnavailable(_("espeak-ng failed: {reason}").format(reason=error)) from error
        if result.returncode != 0 or len(result.stdout) <= WAV_HEADER_BYTES:
            detail = result.stderr.decode("utf-8", "replace").strip() or result.returncode
            raise SpeechUnavailable(_("espeak-ng failed: {reason}").format(reason=detail))
        return save_speech(workdir, self.name, ".wav", result.stdout)

    @property
    def words_per_minute(self) -> int:
        """The station's rate (e.g. -10%) applied to espeak-ng's normal pace."""
        return max(MIN_WPM, min(MAX_WPM, round(NORMAL_WPM * self.settings.speed)))
