"""The outputs a program can go to: the sound device, a file, or nowhere (audio/api.py says
what an output is). The names here are the ones the rest of Loa imports."""

from broadcaster.audio.api import OUTPUTS, AudioOutput, Chunk, PlaybackStopped
from broadcaster.audio.outputs.device import SimpleaudioOutput
from broadcaster.audio.outputs.files import FILE_OUTPUTS, file_output
from broadcaster.audio.outputs.silent import SilentOutput

__all__ = [
    "FILE_OUTPUTS",
    "OUTPUTS",
    "AudioOutput",
    "Chunk",
    "PlaybackStopped",
    "SilentOutput",
    "SimpleaudioOutput",
    "file_output",
]
