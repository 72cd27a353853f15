"""An officer's `say` or `play` for the running station: refused now if it could not air, or
turned into an item for the playout queue."""

import json
from datetime import datetime, timedelta

from broadcaster.control.protocol import Broadcast, RelayNow, Say
from broadcaster.core.compose import clean_text
from broadcaster.core.models import Announcement, Occurrence, Priority, StartPolicy
from broadcaster.core.playout import Item, in_quiet_hours, relay_occurrence_name
from broadcaster.core.settings import Station
from broadcaster.errors import QuietHoursError, StationConfigError
from broadcaster.i18n import _
from broadcaster.station.announcements import announcement_or_recording

ADHOC_LATE_LIMIT_S = 3600.0
SAY, PLAY, RELAY = "say", "play", "relay"
"""The entry ids of ad-hoc items in the as-run log."""


def adhoc_item(station: Station, request: Broadcast, now: datetime) -> Item:
    """The item for `request`, checked as a broadcast (text, voice, files) and against quiet
    hours: a LoaError says why it cannot air."""
    from broadcaster.broadcast import check_broadcast  # the speech engines: only when asked

    emergency = request.priority == Priority.EMERGENCY
    _refuse_in_quiet_hours(station, emergency, now)
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


def adhoc_relay(station: Station, request: RelayNow, now: datetime) -> Item:
    """The item for `loa relay now`: a source of station.yaml, within a session's length and
    outside quiet hours (unless an emergency), or a LoaError saying why not."""
    if request.source not in station.relay_sources:
        known = ", ".join(sorted(station.relay_sources))
        raise StationConfigError(
            _("No relay source '{name}' in station.yaml; sources there: {known}.").format(
                name=request.source, known=known
            )
            if known
            else _(
                "No relay source '{name}': station.yaml lists none; add it under "
                "'relay_sources:' (see the example there)."
            ).format(name=request.source)
        )
    limit_s = station.sessions.minutes * 60
    if request.seconds > limit_s:
        raise StationConfigError(
            _(
                "A relay of {minutes} minutes is longer than a session ({limit} minutes, "
                "sessions.minutes in station.yaml): relay for less, or raise sessions.minutes "
                "if the commune allows longer sessions."
            ).format(minutes=round(request.seconds / 60), limit=station.sessions.minutes)
        )
    emergency = request.priority == Priority.EMERGENCY
    _refuse_in_quiet_hours(station, emergency, now)
    return Item(
        Occurrence(RELAY, now, relay_occurrence_name(request.source), request.priority),
        start_policy=StartPolicy.INTERRUPT if emergency else StartPolicy.AFTER_CURRENT,
        relay=request.source,
        ends=now + timedelta(seconds=request.seconds),
    )


def _refuse_in_quiet_hours(station: Station, emergency: bool, now: datetime) -> None:
    if not emergency and in_quiet_hours(station.quiet_hours, now.time()):
        raise QuietHoursError(
            _(
                "It is quiet hours ({hours}): only emergencies are broadcast now. If this is "
                "one, add --emergency; otherwise broadcast it after the quiet hours."
            ).format(hours=station.quiet_hours)
        )


RELAY_NOW_STATE = "relay-now"
"""The as-run log's state key of the ad-hoc relay on the air: its row holds no end, and a relay
cut off by a crash comes back live until then."""


def relay_now_state(item: Item) -> str:
    """What `relay_now_again` needs to bring an ad-hoc relay back after a crash."""
    assert item.ends is not None and item.relay is not None
    occurrence = item.occurrence
    return json.dumps(
        {
            "scheduled": occurrence.scheduled.isoformat(),
            "source": item.relay,
            "priority": occurrence.priority,
            "ends": item.ends.isoformat(),
        }
    )


def relay_now_again(saved: str | None, scheduled: str, now: datetime) -> Item | None:
    """The ad-hoc relay whose row (scheduled at `scheduled`) was on the air when Loa died, if
    its time is not over; None otherwise (or if what was saved is not that relay)."""
    try:
        state = json.loads(saved or "null")
        if state is None or state["scheduled"] != scheduled:
            return None
        ends = datetime.fromisoformat(state["ends"])
        priority = Priority(state["priority"])
        source = str(state["source"])
    except (ValueError, KeyError, TypeError):
        return None
    if ends <= now:
        return None
    return Item(
        Occurrence(
            RELAY, datetime.fromisoformat(scheduled), relay_occurrence_name(source), priority
        ),
        start_policy=StartPolicy.INTERRUPT
        if priority == Priority.EMERGENCY
        else StartPolicy.AFTER_CURRENT,
        relay=source,
        ends=ends,
        retry=True,
    )
