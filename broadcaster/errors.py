"""One error type for everything an officer can cause or fix; the CLI turns it into a message.

Each error carries its exit code and an already translated, one-sentence message that says what
is wrong and what to do. Nothing below the CLI prints or exits.
"""

import errno
from enum import IntEnum

from broadcaster.i18n import _


class ExitCode(IntEnum):
    """Exit codes of `loa`, documented in the README; scripts may rely on them."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    EMPTY_TEXT = 3
    TEXT_TOO_LONG = 4
    UNKNOWN_VOICE = 5
    OUTPUT_FILE = 6
    STATION_NOT_FOUND = 7
    STATION_CONFIG = 8
    NO_AUDIO_DEVICE = 9
    SPEECH_FAILED = 10
    ANNOUNCEMENT = 11
    AUDIO_FILE = 12
    LEXICON = 13
    CACHE = 14
    DISK = 15
    REPEAT = 16
    SCHEDULE = 17
    DAEMON = 18
    CHECKS_FAILED = 19
    QUIET_HOURS = 20
    EDIT_REFUSED = 21
    SERVICE = 22
    INTERRUPTED = 130


class LoaError(Exception):
    """Base of all expected failures; `message` is shown to the officer as is."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyTextError(LoaError):
    exit_code = ExitCode.EMPTY_TEXT


class TextTooLongError(LoaError):
    exit_code = ExitCode.TEXT_TOO_LONG


class UnknownVoiceError(LoaError):
    exit_code = ExitCode.UNKNOWN_VOICE


class OutputFileError(LoaError):
    exit_code = ExitCode.OUTPUT_FILE


class StationNotFoundError(LoaError):
    exit_code = ExitCode.STATION_NOT_FOUND


class StationConfigError(LoaError):
    exit_code = ExitCode.STATION_CONFIG


class NoAudioDeviceError(LoaError):
    exit_code = ExitCode.NO_AUDIO_DEVICE


class SpeechFailedError(LoaError):
    exit_code = ExitCode.SPEECH_FAILED


class AnnouncementError(LoaError):
    exit_code = ExitCode.ANNOUNCEMENT


class AudioFileError(LoaError):
    exit_code = ExitCode.AUDIO_FILE


class LexiconError(LoaError):
    exit_code = ExitCode.LEXICON


class CacheError(LoaError):
    exit_code = ExitCode.CACHE


class RepeatError(LoaError):
    exit_code = ExitCode.REPEAT


class ScheduleError(LoaError):
    exit_code = ExitCode.SCHEDULE


class DaemonError(LoaError):
    """The running `loa run` cannot be started or reached."""

    exit_code = ExitCode.DAEMON


class EditRefusedError(LoaError):
    """The running station would not take the edited files; the last good schedule stays."""

    exit_code = ExitCode.EDIT_REFUSED


class ServiceError(LoaError):
    """`loa service install|remove` could not (or must not) install or remove the service."""

    exit_code = ExitCode.SERVICE


class QuietHoursError(LoaError):
    """A request the running station would only hold back: quiet hours are on."""

    exit_code = ExitCode.QUIET_HOURS


class DiskError(LoaError):
    """The station PC's own disk failed us (full, read-only) while preparing a broadcast."""

    exit_code = ExitCode.DISK

    @classmethod
    def preparing(cls, folder: object, error: OSError) -> "DiskError":
        return cls(
            _(
                "Cannot prepare the broadcast in {folder}: {reason}. Free some disk space and "
                "try again."
            ).format(folder=folder, reason=describe_os_error(error))
        )


def describe_os_error(error: OSError) -> str:
    """The reason in the officer's language: the system's own text is English on most PCs."""
    reasons = {
        errno.ENOSPC: _("the disk is full"),
        errno.EDQUOT: _("the disk is full"),
        errno.EROFS: _("the disk is read-only"),
        errno.EACCES: _("permission denied"),
        errno.EPERM: _("permission denied"),
        errno.ENOENT: _("it does not exist"),
        errno.ENAMETOOLONG: _("the name is too long"),
        errno.EISDIR: _("it is a folder"),
    }
    return reasons.get(error.errno or 0, error.strerror or str(error))


def caused_by_interrupt(error: BaseException) -> bool:
    """Whether `error` is Ctrl+C, or came of it: a KeyboardInterrupt that lands while a C
    extension initialises surfaces as "ImportError: initialization failed", the interrupt kept
    as its context."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
