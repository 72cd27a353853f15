"""The Vietnamese voices an officer can choose from on this PC, for `loa voices`.

The online voices are fixed; the offline ones are those espeak-ng really has installed, read from
`espeak-ng --voices=vi`. Nothing here prints: the CLI words the list.
"""

import subprocess
from dataclasses import dataclass

from broadcaster.core.voices import EDGE_VOICES, ESPEAK_VOICES
from broadcaster.i18n import _
from broadcaster.programs import find_program

SAMPLE_TEXT = (
    "Kính thưa bà con, đây là giọng đọc thử của đài truyền thanh. "
    "Chúc bà con một ngày làm việc vui vẻ."
)
"""What `loa voices --sample` reads: Vietnamese whatever the language of Loa's messages."""
ESPEAK_TIMEOUT_S = 10


@dataclass(frozen=True)
class Voice:
    name: str
    engine: str
    """'edge' or 'espeak', as the station config and `loa text --engine` name them."""
    description: str
    """Gender and accent, translated."""
    installed: bool = True


def edge_voices() -> list[Voice]:
    genders = {"vi-VN-HoaiMyNeural": _("female"), "vi-VN-NamMinhNeural": _("male")}
    return [Voice(name, "edge", genders.get(name, "")) for name in EDGE_VOICES]


def parse_espeak_voices(listing: str) -> dict[str, tuple[str, str]]:
    """`espeak-ng --voices=vi` as {language: (gender letter, voice name)}, Vietnamese only.

    Its columns: Pty, Language, Age/Gender, VoiceName, File, Other Languages.
    """
    found = {}
    for line in listing.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 4 and parts[1].lower().startswith("vi"):
            found[parts[1].lower()] = (parts[2].rpartition("/")[2].upper(), parts[3])
    return found


def read_espeak_voices(executable: str | None = None) -> dict[str, tuple[str, str]] | None:
    """The Vietnamese voices espeak-ng (`executable`, else the one on the PATH) has installed,
    or None when espeak-ng is missing or does not answer."""
    executable = executable or find_program("espeak-ng")
    if executable is None:
        return None
    try:
        answer = subprocess.run(
            [executable, "--voices=vi"],
            capture_output=True,
            text=True,
            timeout=ESPEAK_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_espeak_voices(answer.stdout) if answer.returncode == 0 else None


def espeak_voices(installed: dict[str, tuple[str, str]]) -> list[Voice]:
    """Loa's offline voices, marked installed or not; installed voices Loa does not know yet
    cannot be chosen in station.yaml, so they are left out."""
    accents = {
        "vi": _("northern accent"),
        "vi-vn-x-central": _("central accent"),
        "vi-vn-x-south": _("southern accent"),
    }
    genders = {"M": _("male"), "F": _("female")}
    voices = []
    for name in ESPEAK_VOICES:
        gender, voice_name = installed.get(name, ("", ""))
        accent = accents.get(name) or voice_name.replace("_", " ")
        description = ", ".join(part for part in (genders.get(gender, ""), accent) if part)
        voices.append(Voice(name, "espeak", description, name in installed))
    return voices
