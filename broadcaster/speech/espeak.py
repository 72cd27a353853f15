"""espeak-ng: robotic but offline and always there, the last voice before silence."""

import shutil
import subprocess
import tempfile
from pathlib import Path

from broadcaster.config import SpeechSettings
from broadcaster.i18n import _
from broadcaster.speech.base import SpeechUnavailable

TIMEOUT_S = 120


class EspeakEngine:
    name = "espeak"

    def __init__(self, settings: SpeechSettings) -> None:
        found = shutil.which("espeak-ng")
        if found is None:
            raise SpeechUnavailable(
                _("espeak-ng is not installed (on Debian/Ubuntu: sudo apt install espeak-ng).")
            )
        self.executable = found

    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        handle, name = tempfile.mkstemp(prefix="espeak-", suffix=".wav", dir=workdir)
        path = Path(name)
        try:
            with open(handle, "wb") as out:
                result = subprocess.run(
                    [self.executable, "-v", voice, "--stdin", "--stdout"],
                    input=text.encode("utf-8"),
                    stdout=out,
                    stderr=subprocess.PIPE,
                    timeout=TIMEOUT_S,
                    check=False,
                )
        except (OSError, subprocess.TimeoutExpired) as error:
            path.unlink(missing_ok=True)
            raise SpeechUnavailable(_("espeak-ng failed: {reason}").format(reason=error)) from error
        if result.returncode != 0 or path.stat().st_size <= 44:
            path.unlink(missing_ok=True)
            detail = result.stderr.decode("utf-8", "replace").strip() or result.returncode
            raise SpeechUnavailable(_("espeak-ng failed: {reason}").format(reason=detail))
        return path
