"""Relay (tiếp sóng): a live radio stream, or the sound card's line-in, as an audio source.

`Relay` is one relay session (an ffmpeg child, supervised); `probe` tries sources for
`loa relay test` and `loa doctor`. The names here are the ones the rest of Loa imports.
"""

from broadcaster.relay.child import Cause
from broadcaster.relay.level import GainStore
from broadcaster.relay.probe import (
    SourceFinding,
    SourceReport,
    check_sources,
    gains_of,
    source_named,
    try_source,
)
from broadcaster.relay.session import Dropout, Relay, RelayError, RelayResult, RelaySummary

__all__ = [
    "Cause",
    "Dropout",
    "GainStore",
    "Relay",
    "RelayError",
    "RelayResult",
    "RelaySummary",
    "SourceFinding",
    "SourceReport",
    "check_sources",
    "gains_of",
    "source_named",
    "try_source",
]
