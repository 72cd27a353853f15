"""The station's end of the province link: campaigns and emergencies from the province's MQTT
broker, into the station's files and onto its air — nothing lost, nothing aired twice, and the air
never waiting on the network.

- One persistent MQTT v5 session per station (clean start off, 14 days of session expiry, QoS 1,
  the station id as client id and user name): what the province sends while the station is off
  waits at the broker. Reconnects back off with a random delay of the station's own, so a broker
  restart does not bring every station back in the same second.
- Every message is committed to the inbox (SQLite) *before* the broker hears it was received
  (`manual_ack`): after `kill -9` or a power cut the broker sends again what was not committed,
  and the inbox recognises by id what was (QoS 1 duplicates).
- The network thread decodes, commits and acknowledges; an emergency it hands to the station at
  once (`Say`/`Play` at emergency priority, the bulletin id as request id). Campaigns go to a
  thread of their own, which writes their files (decoding a recording may take seconds) and asks
  the station to read them again. Neither ever waits on the network.
- An emergency's deadline is the moment it arrived (monotonic clock) plus the expiry the broker
  forwards, which counts down while the message waits there: no clock needs to be right.

The link talks to the station only through `LinkedStation` (control requests, events, the
directory and the clock), so that a benchmark can run thousands of light stations through it.
"""

import contextlib
import functools
import hashlib
import logging
import os
import random
import shutil
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml  # type: ignore[import-untyped]
from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from broadcaster.control.protocol import (
    Play,
    Refused,
    Reload,
    Reply,
    Request,
    Say,
    Status,
    StatusReply,
    Stop,
)
from broadcaster.core.compose import clean_text
from broadcaster.core.models import Occurrence, Priority, Result
from broadcaster.core.settings import ProvinceSettings
from broadcaster.core.settings import Station as StationSettings
from broadcaster.errors import LoaError, ScheduleError
from broadcaster.files import write_atomically
from broadcaster.i18n import _
from broadcaster.onair.asrun import LOG_FILE, AsRunLog
from broadcaster.onair.events import Listener
from broadcaster.province import topics
from broadcaster.province.inbox import (
    AIRED,
    CANCELLED,
    EXPIRED,
    LINK_FAILING,
    LINK_LOST,
    LINK_STOPPED,
    LINK_UP,
    RECEIVED,
    REFUSED,
    WAITING,
    EmergencyRow,
    Inbox,
    Landed,
)
from broadcaster.province.landing import (
    PREFIX,
    announcement_document,
    announcement_file,
    local_id,
    schedule_document,
)
from broadcaster.province.messages import (
    Ack,
    BadMessage,
    Campaign,
    Desired,
    Emergency,
    Presence,
    StopEmergency,
    decode,
    encode,
    utc_now_iso,
)

log = logging.getLogger("loa")

KEEPALIVE_S = 30
SESSION_EXPIRY_S = 14 * 24 * 3600
"""How long the broker keeps a silent station's session and queue (the broker caps it too)."""
WILL_DELAY_S = 30
"""A drop shorter than this (4G) does not mark the station offline."""
RECONNECT_MIN_S = (1, 5)
RECONNECT_MAX_S = (60, 120)
"""Each station draws its own first and longest wait between reconnects from these ranges."""
CHECK_EVERY_S = 30.0
"""How often the province's files are compared with what was written (edits by hand), and the
heartbeat's period."""
FAILURE_LOG_EVERY_S = 600.0
"""A connection failing the same way is logged again after this long, not at every retry."""
JOIN_S = 5.0
CHECK_DIR = ".loa/province-check"
"""Where a campaign's files are written and read back before they go into the station."""
SCHEDULES = "schedules"
ANNOUNCEMENTS = "announcements"


class LinkedStation(Protocol):
    """What the link needs of a station: the running Daemon has it, and so can a light station
    in a benchmark."""

    @property
    def directory(self) -> Path: ...

    def handle(self, request: Request) -> Reply: ...

    def subscribe(self, listener: Listener) -> None: ...

    def now(self) -> datetime: ...


Publish = Callable[[str, bytes, int, bool], int | None]
"""Publish (topic, payload, qos, retain): the message id, None when not connected."""


class Reporting(Protocol):
    """What the station reports to the province (province/reports.py): the link calls it."""

    def connected(self, connection: int) -> None: ...

    def published(self, mid: int) -> None: ...

    def beat(self) -> None: ...

    def closing(self) -> None: ...


MakeReporter = Callable[[str, Path, Publish, LinkedStation], Reporting]
"""Builds the reporter: station id, the inbox database, publish, the station."""


class NetworkLoop(Protocol):
    """Drives the sockets of many links' clients from one thread, instead of paho's thread per
    client: for a benchmark of thousands of stations in one process (bench/province_loop.py)."""

    def add(self, client: Client, delays: tuple[float, float]) -> None:
        """Drive `client` (connecting), reconnecting it after `delays` (first, longest)."""


class _Client(Client):
    """paho's client, remembering why the last connection attempt failed (paho retries and
    tells `on_connect_fail` nothing)."""

    last_error: OSError | None = None

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as error:
            self.last_error = error
            raise


class StationLink(Listener):
    """The link of one station. `start` after the station is on the air, `stop` before it
    shuts down; between them, nothing the network does can stop or delay the air."""

    def __init__(
        self,
        settings: ProvinceSettings,
        station: LinkedStation,
        reporter: MakeReporter | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.station = station
        self.directory = station.directory
        self.inbox = Inbox.for_station(self.directory)
        self._monotonic = monotonic
        self.targets = topics.targets_of(settings.station_id, settings.groups)
        self._by_prefix = {target.prefix: target for target in self.targets}
        self._stops: set[str] = set()
        """The emergencies the province cancelled, as known to this run of the link…"""
        self._cancelled: set[str] = set()
        """…and their announcements: one that starts anyway is stopped."""
        self._on_air_now: set[str] = set()
        """The announcements of the emergencies on the air, to note them aired at their end."""
        self._reconcile = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failure: tuple[str, float] | None = None
        self._driven = False
        rng = rng or random.Random()
        self._client = self._make_client(rng)
        self._beat_phase_s = rng.uniform(0.0, CHECK_EVERY_S)
        self.reporter = (
            reporter(settings.station_id, self.inbox.path, self.publish, station)
            if reporter is not None
            else None
        )

    # Start and stop -------------------------------------------------------------------------

    def start(self, network: NetworkLoop | None = None) -> None:
        """Hand over the emergencies a crash left waiting, then connect in the background, on
        paho's own thread unless a `network` loop drives the client."""
        self.station.subscribe(self)
        if isinstance(self.reporter, Listener):
            self.station.subscribe(self.reporter)
        self._recover()
        self._spawn("loa-province-campaigns", self._campaign_worker)
        if self.reporter is not None:
            self._spawn("loa-province-beat", self._beat)
        self._reconcile.set()
        self._client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=KEEPALIVE_S,
            clean_start=False,
            properties=_properties(PacketTypes.CONNECT, SessionExpiryInterval=SESSION_EXPIRY_S),
        )
        if network is None:
            self._client.loop_start()
        else:
            network.add(self._client, self.reconnect_delays)
        self._driven = network is not None
        log.info(
            _("Province link: connecting to %s as %s."),
            self.settings.broker,
            self.settings.station_id,
        )

    def stop(self) -> None:
        """Say offline, disconnect cleanly (the session stays at the broker), stop the threads."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        try:
            if self.reporter is not None:
                self.reporter.closing()
            else:
                self._say_presence(False)
        except Exception:
            log.exception(_("Province link: could not say offline."))
        self._client.disconnect()
        with contextlib.suppress(LoaError):
            self.inbox.set_link(LINK_STOPPED, "", self.station.now())
        if not self._driven:
            self._client.loop_stop()
        self._reconcile.set()
        for thread in self._threads:
            thread.join(JOIN_S)
        self.inbox.close()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> int | None:
        """Publish now; None when the broker is not connected (the caller keeps it to resend)."""
        if not self._client.is_connected():
            return None
        return self._client.publish(topic, payload, qos, retain).mid

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # The MQTT client ------------------------------------------------------------------------

    def _make_client(self, rng: random.Random) -> _Client:
        settings = self.settings
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.station_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        client.username_pw_set(settings.station_id, settings.password)
        if settings.tls:
            client.tls_set(ca_certs=str(settings.ca) if settings.ca else None)
        client.will_set(
            topics.state(settings.station_id),
            encode(Presence(False, self.inbox.connections() + 1, utc_now_iso())),
            qos=1,
            retain=True,
            properties=_properties(PacketTypes.WILLMESSAGE, WillDelayInterval=WILL_DELAY_S),
        )
        self.reconnect_delays = (rng.randint(*RECONNECT_MIN_S), rng.randint(*RECONNECT_MAX_S))
        client.reconnect_delay_set(*self.reconnect_delays)
        client.on_connect = self._guarded(self._on_connect)
        client.on_connect_fail = self._guarded(self._on_connect_fail)
        client.on_disconnect = self._guarded(self._on_disconnect)
        client.on_message = self._on_message
        client.on_publish = self._guarded(self._on_publish)
        return client

    def _guarded(self, callback: Callable[..., None]) -> Callable[..., None]:
        """A callback whose exception is logged: one escaping would stop paho's thread, and
        with it every reconnect."""

        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:
                log.exception(_("Province link: an unexpected error; the link goes on."))

        return guarded

    def _on_connect(
        self,
        client: Client,
        _userdata: object,
        flags: ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._connection_failed(_refusal_fix(reason))
            return
        self._failure = None
        self.inbox.set_link(LINK_UP, "", self.station.now())
        connection = self.inbox.next_connection()
        log.info(
            _("Province link: connected to %s (connection %d, %s)."),
            self.settings.broker,
            connection,
            _("session kept") if flags.session_present else _("new session"),
        )
        # Retained messages only for a subscription the broker did not keep: a kept session
        # has them already, and an idempotent subscribe costs nothing.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        client.subscribe(
            [
                (wanted, options)
                for target in self.targets
                for wanted in (target.campaigns, target.desired, target.cmd)
            ]
        )
        if self.reporter is not None:
            self.reporter.connected(connection)
        else:
            self._say_presence(True, connection)

    def _on_connect_fail(self, client: _Client, _userdata: object) -> None:
        self._connection_failed(_network_fix(client.last_error, self.settings))

    def _on_disconnect(
        self,
        _client: Client,
        _userdata: object,
        _flags: DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if not self._stopping.is_set():
            log.warning(
                _("Province link: lost %s (%s); trying again. The station airs on meanwhile."),
                self.settings.broker,
                reason,
            )
            self.inbox.set_link(LINK_LOST, str(reason), self.station.now())

    def _on_publish(
        self,
        _client: Client,
        _userdata: object,
        mid: int,
        _reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self.reporter is not None:
            self.reporter.published(mid)

    def _connection_failed(self, fix: str) -> None:
        """Log why, once per kind of failure (again after a while): paho retries with back-off."""
        now = self._monotonic()
        if (
            self._failure is not None
            and self._failure[0] == fix
            and now - self._failure[1] < FAILURE_LOG_EVERY_S
        ):
            return
        self._failure = (fix, now)
        self.inbox.set_link(LINK_FAILING, fix, self.station.now())
        log.error(
            _("Province link: cannot connect to %s: %s The station airs on; retrying."),
            self.settings.broker,
            fix,
        )

    def _say_presence(self, online: bool, connection: int | None = None) -> None:
        """Online/offline, retained, when no reporter does it."""
        count = connection if connection is not None else self.inbox.connections()
        info = self._client.publish(
            topics.state(self.settings.station_id),
            encode(Presence(online, count, utc_now_iso())),
            qos=1,
            retain=True,
        )
        if not online and self._client.is_connected():
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(2.0)

    def _ack(self, bulletin: str, state: str, version: int = 0, detail: str = "") -> None:
        """Tell the province; paho keeps it until the broker is back if it is not now."""
        self._client.publish(
            topics.ack(self.settings.station_id),
            encode(Ack(bulletin, state, version, detail[:2000])),
            qos=1,
        )

    # Receiving ------------------------------------------------------------------------------

    def _on_message(self, client: Client, _userdata: object, message: MQTTMessage) -> None:
        """Decode, commit, then acknowledge: the broker forgets a message only once it is on
        the station's disk. A message that is not ours is logged and dropped (acknowledged)."""
        try:
            self._receive(message.topic, bytes(message.payload), message.properties)
        except Exception:  # the disk, or a bug: not acknowledged, so sent again on reconnect
            log.exception(
                _("Province link: could not keep a message on %s; the broker will resend it."),
                message.topic,
            )
            return
        client.ack(message.mid, message.qos)

    def _receive(self, topic: str, payload: bytes, properties: Properties | None) -> None:
        target = topics.target_of(topic)
        if target is None or target not in self.targets:
            log.warning(_("Province link: dropped a message on %s: not a topic of ours."), topic)
            return
        if not payload:  # the province cleared a retained message
            return
        try:
            message = decode(payload)
        except BadMessage as error:
            log.warning(_("Province link: dropped a message on %s: %s"), topic, error)
            return
        if isinstance(message, Campaign) and topic == target.campaign(message.id):
            if self.inbox.add_campaign(message, target.prefix, payload, self.station.now()):
                self._reconcile.set()
        elif isinstance(message, Desired) and topic == target.desired:
            if self.inbox.set_desired(target.prefix, message):
                self._reconcile.set()
        elif isinstance(message, Emergency) and topic == target.cmd:
            self._receive_emergency(message, payload, properties)
        elif isinstance(message, StopEmergency) and topic == target.cmd:
            self._receive_stop(message)
        else:
            log.warning(
                _("Province link: dropped a message on %s: a %s does not belong there."),
                topic,
                type(message).__name__,
            )

    def _receive_emergency(
        self, emergency: Emergency, payload: bytes, properties: Properties | None
    ) -> None:
        """One transaction (the inbox row, and whether a stop came first), then to the station
        at once, on this thread: the station's queue, not the network, waits for the air, and a
        stop that follows finds the emergency already with the station."""
        arrived, now = self._monotonic(), self.station.now()
        remaining = _remaining_s(emergency, properties, now)
        state = self.inbox.receive_emergency(
            emergency, payload, now, remaining, _announcement_of(emergency)
        )
        if state is None:
            log.info(_("Province link: emergency %s came again; it airs once."), emergency.id)
        elif state == RECEIVED:
            self._hand_over(emergency, arrived + remaining)
        elif state == EXPIRED:
            self._expired(emergency.id, -remaining)
        else:
            self._ack(emergency.id, CANCELLED)

    def _receive_stop(self, stop: StopEmergency) -> None:
        """Kept before anything else: an emergency that has not come yet never airs, one handed
        over (or on the air) is stopped. Emergencies are handed over on this same thread, so
        one is either not yet here or already with the station."""
        if not self.inbox.add_stop(stop.id, self.station.now()):
            return
        log.warning(_("Province link: the province cancels emergency %s."), stop.id)
        self._stops.add(stop.id)
        row = self.inbox.emergency(stop.id)
        if row is None or row.state not in (*WAITING, AIRED):
            return
        self._cancelled.add(row.announcement)
        self.inbox.set_emergency(stop.id, CANCELLED)
        if self._on_air(row.announcement):
            self.station.handle(Stop())
        self._ack(stop.id, CANCELLED)

    def _on_air(self, announcement: str) -> bool:
        """Whether the emergency with this announcement is what plays now."""
        reply = self.station.handle(Status())
        playing = reply.playing if isinstance(reply, StatusReply) else None
        return (
            playing is not None
            and playing.priority == Priority.EMERGENCY
            and playing.announcement == announcement
        )

    # Emergencies ----------------------------------------------------------------------------

    def _recover(self) -> None:
        """Emergencies committed but never heard (a crash, a power cut) go on the air if their
        deadline, counted on the station's clock from their arrival, has not passed — unless
        the as-run log has them on the air already: the player may have started one before
        the link noted it was handed over."""
        now, steady = self.station.now(), self._monotonic()
        for row in self.inbox.emergencies(WAITING):
            emergency = row.emergency
            left = (row.received + timedelta(seconds=row.remaining_s) - now).total_seconds()
            if self.inbox.stopped(emergency.id):
                self._stops.add(emergency.id)
                self._cancelled.add(row.announcement or _announcement_of(emergency))
            if row.announcement and self._began_on_air(row):
                self.inbox.set_emergency(emergency.id, AIRED)
            elif left <= 0:
                self.inbox.set_emergency(emergency.id, EXPIRED)
                self._expired(emergency.id, -left)
            else:
                announcement = row.announcement or _announcement_of(emergency)
                self.inbox.set_emergency(emergency.id, RECEIVED, announcement=announcement)
                self._hand_over(emergency, steady + left)

    def _began_on_air(self, row: EmergencyRow) -> bool:
        """Whether the as-run log has it on the air since it arrived: Loa killed between its
        first sound and our note of it must not air it twice (the log calls it interrupted)."""
        try:
            log_file = AsRunLog(self.directory / LOG_FILE)
        except LoaError as error:
            log.error("%s", error)
            return False
        try:
            rows = log_file.rows(since=row.received)
        finally:
            log_file.close()
        return any(
            aired.priority == Priority.EMERGENCY
            and aired.announcement == row.announcement
            and aired.started is not None
            for aired in rows
        )

    def _hand_over(self, emergency: Emergency, deadline: float) -> None:
        """To the station at once; the province is told after. Its inbox row stays `received`
        until the station starts it (`occurrence_started` notes it aired): after a crash it is
        handed over again unless the as-run log has it on the air. Whatever goes wrong is
        logged here: the row is kept and the broker's copy acknowledged all the same."""
        emergency_id = emergency.id
        if emergency_id in self._stops:
            self.inbox.set_emergency(emergency_id, CANCELLED)
            self._ack(emergency_id, CANCELLED)
            return
        late = self._monotonic() - deadline
        if late >= 0:
            self.inbox.set_emergency(emergency_id, EXPIRED)
            self._expired(emergency_id, late)
            return
        try:
            reply = self.station.handle(self._emergency_request(emergency))
        except LoaError as error:
            reply = Refused(error.message)
        except Exception:
            log.exception(_("Province link: emergency %s could not be handed over."), emergency_id)
            return
        if isinstance(reply, Refused):
            log.error(_("Province link: emergency %s refused: %s"), emergency_id, reply.error)
            self.inbox.set_emergency(emergency_id, REFUSED, reply.error)
            self._ack(emergency_id, REFUSED, detail=reply.error)
            return
        log.warning(
            _("Province link: emergency %s (%s) goes on the air."),
            emergency_id,
            emergency.content.title or emergency_id,
        )
        self._ack(emergency_id, RECEIVED)

    def _emergency_request(self, emergency: Emergency) -> Request:
        """The control request that airs it (a recording is written into the announcements)."""
        content = emergency.content
        if content.recording is None:
            text = content.text or ""
            return Say(text, Priority.EMERGENCY, voice=content.voice, request_id=emergency.id)
        name = _announcement_of(emergency)
        write_atomically(self.directory / ANNOUNCEMENTS / name, content.recording)
        return Play(name, Priority.EMERGENCY, request_id=emergency.id)

    def _expired(self, emergency_id: str, late_s: float) -> None:
        """Logged, in the as-run log too (`loa log`, the province's report), and told."""
        log.warning(
            _("Province link: emergency %s expired %d s before it could air: not aired."),
            emergency_id,
            round(late_s),
        )
        row = self.inbox.emergency(emergency_id)
        title = row.emergency.content.title if row is not None else ""
        occurrence = Occurrence(
            local_id(emergency_id), self.station.now(), title or emergency_id, Priority.EMERGENCY
        )
        reason = _("Arrived {seconds} s after its expiry.").format(seconds=round(late_s))
        try:
            log_file = AsRunLog(self.directory / LOG_FILE)
            try:
                log_file.decide(occurrence, Result.EXPIRED, reason)
            finally:
                log_file.close()
        except LoaError as error:
            log.error("%s", error)
        self._ack(emergency_id, EXPIRED)

    # Station events -------------------------------------------------------------------------

    def occurrence_started(self, occurrence: Occurrence, started: datetime) -> None:
        """An emergency is heard: stopped if the province cancelled it meanwhile (nothing is
        read or written here: the start of every station's air is what the province waits
        for). Its as-run row, synced before this first sound, is what keeps it from being
        handed over again after a crash; the inbox notes it aired at its end."""
        if occurrence.priority != Priority.EMERGENCY or self._stopping.is_set():
            return
        if occurrence.announcement in self._cancelled:
            self.station.handle(Stop())
        else:
            self._on_air_now.add(occurrence.announcement)

    def occurrence_finished(self, occurrence: Occurrence, result: Result, error: str) -> None:
        """An emergency that was on the air is noted aired; its recording, once heard, leaves
        the announcements folder."""
        name = occurrence.announcement
        if self._stopping.is_set() or occurrence.priority != Priority.EMERGENCY:
            return
        if name in self._on_air_now:
            self._on_air_now.discard(name)
            self.inbox.aired(name)
        if name.startswith(PREFIX):
            path = self.directory / ANNOUNCEMENTS / name
            if path.suffix != ".yaml" and path.stem[len(PREFIX) :] not in self.inbox.landed():
                with contextlib.suppress(OSError):
                    path.unlink()

    def reload_succeeded(self, entries: int) -> None:
        self._reconcile.set()

    # Campaigns ------------------------------------------------------------------------------

    def _campaign_worker(self) -> None:
        while not self._stopping.is_set():
            self._reconcile.wait(CHECK_EVERY_S)
            self._reconcile.clear()
            if self._stopping.is_set():
                return
            try:
                self.reconcile()
            except LoaError as error:  # station.yaml broken, the disk full: tried again later
                log.error(_("Province link: campaigns wait: %s"), error.message)
            except Exception:
                log.exception(_("Province link: campaigns could not be brought up to date."))

    def _beat(self) -> None:
        """Every CHECK_EVERY_S, from a moment of the station's own: stations started together
        (a power cut over a district, a benchmark) do not all beat in the same second."""
        if self._stopping.wait(self._beat_phase_s):
            return
        while not self._stopping.wait(CHECK_EVERY_S):
            if self.reporter is not None:
                try:
                    self.reporter.beat()
                except Exception:
                    log.exception(_("Province link: the heartbeat failed; it goes on."))

    def reconcile(self) -> None:
        """Make the station's province files what the desired states say: land new campaigns
        and versions, remove cancelled ones, undo edits by hand; then have the station read its
        files again if anything changed."""
        from broadcaster.station.station_file import load_station

        # station.yaml is read only if a campaign lands: most rounds change nothing.
        station = functools.cache(lambda: load_station(self.directory))
        live = self.inbox.live_campaigns()
        landed = self.inbox.landed()
        changed = False
        for campaign_id, gone in landed.items():
            replacing = live.get(campaign_id)
            if replacing is None or (
                replacing.version != gone.version and self.inbox.refusal(replacing) is not None
            ):
                self._remove(gone)
                changed = True
                if replacing is None:
                    self.inbox.forget_campaign(campaign_id)
                    log.warning(_("Province link: campaign %s cancelled."), campaign_id)
                    self._ack(campaign_id, CANCELLED, gone.version)
        landed = self.inbox.landed()
        for campaign_id, campaign in live.items():
            have = landed.get(campaign_id)
            if self.inbox.refusal(campaign) is not None:
                continue
            if have is None or have.version != campaign.version:
                changed |= self._land_new(station(), campaign, have)
            else:
                changed |= self._restore(campaign, have)
        if changed:
            reply = self.station.handle(Reload())
            if isinstance(reply, Refused):
                log.error(_("Province link: the station did not take the files: %s"), reply.error)

    def _land_new(self, station: StationSettings, campaign: Campaign, have: Landed | None) -> bool:
        approved = self.settings.accept == "auto" or campaign.priority == Priority.PRIORITY
        try:
            files = self._land(station, campaign, approved)
        except LoaError as error:
            log.error(
                _("Province link: campaign %s version %d refused: %s"),
                campaign.id,
                campaign.version,
                error.message,
            )
            self.inbox.refuse(campaign, error.message)
            self._ack(campaign.id, REFUSED, campaign.version, error.message)
            if have is not None:
                self._remove(have)
                return True
            return False
        if have is not None:
            self._remove(have, keep=files)
        self.inbox.set_landed(Landed(campaign.id, campaign.version, files, approved))
        self.inbox.forget_campaign(campaign.id, below=campaign.version)
        if approved:
            log.info(
                _("Province link: campaign %s version %d is in the schedules."),
                campaign.id,
                campaign.version,
            )
        else:
            log.warning(
                _("Province link: campaign %s version %d waits for approval: loa approve %s"),
                campaign.id,
                campaign.version,
                local_id(campaign.id),
            )
        self._ack(campaign.id, RECEIVED, campaign.version)
        return True

    def _land(self, station: StationSettings, campaign: Campaign, approved: bool) -> dict[str, str]:
        """Write the campaign's files into a folder of their own, read them back as the station
        would (the recording decoded, the schedule read), and only then move them in: a refused
        campaign leaves nothing behind. The files and their sha256."""
        documents = _documents(campaign, approved, None)
        check = self.directory / CHECK_DIR
        shutil.rmtree(check, ignore_errors=True)
        try:
            for name, data in documents.items():
                (check / name).parent.mkdir(parents=True, exist_ok=True)
                write_atomically(check / name, data)
            try:
                _check_campaign(replace(station, directory=check), campaign, self.directory)
            except LoaError as error:  # named as the station's own files, not the check folder
                message = error.message.replace(str(check), str(self.directory))
                raise type(error)(message) from error
            for name in documents:  # the announcement first: the schedule names it
                os.replace(check / name, self.directory / name)
        except OSError as error:
            raise ScheduleError(
                _("cannot write the campaign's files: {reason}").format(reason=error)
            ) from error
        finally:
            shutil.rmtree(check, ignore_errors=True)
        return {name: _sha256(data) for name, data in documents.items()}

    def _remove(self, have: Landed, keep: dict[str, str] | None = None) -> None:
        """Delete a landed campaign's files, the schedule first (it names the announcement)."""
        for name in sorted(have.files, key=lambda name: not name.startswith(SCHEDULES)):
            if keep is None or name not in keep:
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / name).unlink()
        self.inbox.drop_landed(have.id)

    def _restore(self, campaign: Campaign, have: Landed) -> bool:
        """Write back files edited by hand. An approval (`loa approve`, or status: approved
        written by hand) is the one change a station may make: it is kept."""
        edited = [
            name for name, sha in have.files.items() if _file_sha256(self.directory / name) != sha
        ]
        if not edited:
            return False
        schedule = f"{SCHEDULES}/{local_id(campaign.id)}.yaml"
        approved, by = have.approved, have.approved_by
        found = _entry_in(self.directory / schedule)
        if not approved and found.get("status") == "approved":
            approved = True
            by = found.get("approved_by") if isinstance(found.get("approved_by"), str) else None
        documents = _documents(campaign, approved, by)
        only_approval = edited == [schedule] and found == yaml.safe_load(documents[schedule])[0]
        for name in edited:
            write_atomically(self.directory / name, documents[name])
        shas = {name: _sha256(data) for name, data in documents.items()}
        self.inbox.set_landed(Landed(campaign.id, campaign.version, shas, approved, by))
        if only_approval:
            log.info(_("Province link: campaign %s approved by %s."), campaign.id, by or "-")
        else:
            log.warning(
                _("Province link: %s edited by hand; the province's version is written back."),
                ", ".join(edited),
            )
        return True


def _documents(campaign: Campaign, approved: bool, approved_by: str | None) -> dict[str, bytes]:
    """The campaign's files by their path in the station, announcement first."""
    content = campaign.content
    announcement = (
        content.recording
        if content.recording is not None
        else announcement_document(campaign).encode()
    )
    return {
        f"{ANNOUNCEMENTS}/{announcement_file(campaign)}": announcement,
        f"{SCHEDULES}/{local_id(campaign.id)}.yaml": schedule_document(
            campaign, approved, approved_by
        ).encode(),
    }


def _check_campaign(check: StationSettings, campaign: Campaign, directory: Path) -> None:
    """Read the campaign's files in the check folder as the station will: a LoaError says
    why they would not air, naming the station's own paths."""
    from broadcaster.audio.decode import probe_audio
    from broadcaster.station.announcements import load_announcement
    from broadcaster.station.schedules import ScheduleCache, read_schedules, schedule_files

    if campaign.content.recording is not None:
        probe_audio(
            check.announcements_dir / announcement_file(campaign),
            check.max_recording_minutes * 60,
        )
    else:
        load_announcement(check, local_id(campaign.id))
    found = read_schedules(check, cache=ScheduleCache())
    if found.problems:
        raise ScheduleError(found.problems[0])
    ours = directory / SCHEDULES / f"{local_id(campaign.id)}.yaml"
    station = replace(check, directory=directory)
    for entry in read_schedules(station, [p for p in schedule_files(station) if p != ours]).entries:
        if entry.id == local_id(campaign.id):
            raise ScheduleError(
                _("{place}: the station already has an entry '{id}'.").format(
                    place=entry.place, id=entry.id
                )
            )


def _announcement_of(emergency: Emergency) -> str:
    """What the station's as-run row of this emergency will name: its text as the station
    cleans it, or the recording's file in the announcements."""
    content = emergency.content
    if content.recording is not None:
        return f"{local_id(emergency.id)}{content.suffix}"
    try:
        return clean_text(content.text or "")
    except LoaError:  # too long, or only invisible characters: the station refuses it
        return content.text or ""


def _entry_in(path: Path) -> dict[str, Any]:
    """The one entry of a province schedule file as it is now; empty if it does not read."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        return data[0]
    return {}


def _remaining_s(emergency: Emergency, properties: Properties | None, now: datetime) -> float:
    """Seconds left to air it: the expiry the broker forwards (it counts down while the message
    waits there), else `sent` + `expires_s` on the station's clock."""
    forwarded = getattr(properties, "MessageExpiryInterval", None)
    if isinstance(forwarded, int):
        return float(min(forwarded, emergency.expires_s))
    sent = datetime.fromisoformat(emergency.sent)
    return (sent + timedelta(seconds=emergency.expires_s) - now).total_seconds()


def _properties(packet: int, **values: int) -> Properties:
    properties = Properties(packet)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(properties, name, value)
    return properties


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str | None:
    try:
        return _sha256(path.read_bytes())
    except OSError:
        return None


def _refusal_fix(reason: ReasonCode) -> str:
    if reason.value in (0x86, 0x87, 0x85):  # bad user name or password, not authorized, bad id
        return _(
            "the broker refused this station ({reason}): check province id and password in "
            "station.yaml (the province gives them)."
        ).format(reason=reason)
    return _("the broker refused the connection ({reason}).").format(reason=reason)


def _network_fix(error: OSError | None, settings: ProvinceSettings) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return _(
            "the broker's certificate is not trusted ({reason}): check 'ca:' in the province "
            "block of station.yaml (the province's CA file) and the broker's name."
        ).format(reason=error.verify_message or error)
    if isinstance(error, ssl.SSLError):
        return _("TLS failed ({reason}): is the broker really mqtts:// on port {port}?").format(
            reason=error.reason or error, port=settings.port
        )
    return _(
        "{reason}: check the network, and broker in the province block of station.yaml."
    ).format(reason=error.strerror or error if error is not None else _("no answer"))
