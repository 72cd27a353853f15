"""The helper programs Loa runs (ffmpeg, ffprobe, espeak-ng) and the file names it hands them."""

import os
import shutil
from pathlib import Path


def find_program(name: str) -> str | None:
    """The full path of `name` from the PATH's absolute folders, never from the current folder.

    Windows looks in the current folder first (Python's shutil.which too, before 3.12), and a
    station's folder is one officers copy files into: an `ffmpeg.exe` there must not be run.
    """
    here = os.path.normcase(os.path.abspath(os.getcwd()))
    folders = [
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if os.path.isabs(folder) and os.path.normcase(os.path.abspath(folder)) != here
    ]
    if os.name != "nt":
        return shutil.which(name, path=os.pathsep.join(folders))
    suffixes = os.environ.get("PATHEXT", ".COM;.EXE;.BAT;.CMD").split(os.pathsep)
    for folder in folders:
        for suffix in suffixes:
            candidate = Path(folder) / f"{name}{suffix}"
            if candidate.is_file():
                return str(candidate)
    return None


def ffmpeg_input(path: Path) -> str:
    """`path` as ffmpeg and ffprobe must read it: a file, whatever its name (`http:x.mp3` or
    `x:y.m4a` would otherwise be taken for a network protocol)."""
    return f"file:{path.absolute()}"
