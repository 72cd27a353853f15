"""An officer's `say` or `play` for the running station: refused now if it could not air, or
turned into an item for the playout queue."""

from datetime import datetime

from broadcaster.control.protocol import Broadcast, Say
from broadcaster.core.compose import clean_text
from broadcaster.core.models import Announcement, Occurrence, Priority, StartPolicy
from broadcaster.core.playout import Item, in_quiet_hours
from broadcaster.core.settings import Station
from broadcaster.errors import QuietHoursError
from broadcaster.i18n import _
from broadcaster.station.announcements import announcement_or_recording

ADHOC_LATE_LIMIT_S = 3600.0
SAY, PLAY = "say", "play"
"""The entry ids of ad-hoc items in the as-run log."""


def adhoc_item(station: Station, request: Broadcast, now: datetime) -> Item:
    """The item for `request`, checked as a broadcast (text, voice, files) and against quiet
    hours: a LoaError says why it cannot air."""
    from broadcaster.broadcast import check_broadcast  # the speech engines: only when asked

    emergency = request.priority == Priority.EMERGENCY
    if not emergency and in_quiet_hours(station.quiet_hours, now.time()):
        raise QuietHoursError(
            _(
                "It is quiet hours ({hours}): only emergencies are broadcast now. If this is "
                "one, add --emergency; otherwise broadcast it after the quiet hours."
            ).format(hours=station.quiet_hours)
        )
    if isinstance(request, Say):
        announcement, text = Announcement(id=SAY, text=request.text), request.text
        occurrence = Occurrence(SAY, now, clean_text(text), request.priority)
    else:
        announcement, text = announcement_or_recording(station, request.announcement), None
        occurrence = Occurrence(PLAY, now, request.announcement, request.priority)
    check_broadcast(
        station,
        announcement,
        voice=request.voice,
        repeat=request.repeat,
        gap_s=request.gap_s,
        emergency=emergency,
    )
    return Item(
        occurrence,
        late_limit_s=ADHOC_LATE_LIMIT_S,
        start_policy=StartPolicy.INTERRUPT if emergency else StartPolicy.AFTER_CURRENT,
        repeat=request.repeat,
        gap_s=request.gap_s,
        text=text,
        voice=request.voice,
    )
