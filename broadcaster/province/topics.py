"""The MQTT topic tree of a province, in one place: the province and its stations, the broker's
ACL (`broker`) and the tests all take their names from here.

A *target* is where the province sends: `all`, a group (`grp/ven-bien`) or one station
(`st/xa-an-binh`). Groups are data in province.yaml, never an administrative level in the topic
names (districts were abolished on 1 July 2025; groups may change again).

    loa/v1/{target}/campaign/{id}   province → stations, QoS 1, retained: a campaign's content
    loa/v1/{target}/desired         province → stations, QoS 1, retained: the live campaigns
    loa/v1/{target}/cmd             province → stations, QoS 1: emergencies and their stops
    loa/v1/st/{station}/state       station → province, retained: online/offline (the Will)
    loa/v1/st/{station}/hb          station → province, QoS 0, retained: the heartbeat
    loa/v1/st/{station}/asrun       station → province, QoS 1: one as-run row each
    loa/v1/st/{station}/ack         station → province, QoS 1: received / refused / expired
"""

import re
from dataclasses import dataclass

ROOT = "loa/v1"
NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
"""Station, group and campaign ids: lower-case ASCII letters, digits and inner dashes, so that an
id is one topic level, one file name and one ACL word (no `/`, `+`, `#`, `..`, NUL or space)."""
ALL = "all"


def is_name(value: object) -> bool:
    return isinstance(value, str) and NAME.fullmatch(value) is not None


@dataclass(frozen=True)
class Target:
    """`all`, a group or one station."""

    kind: str
    """"all", "grp" or "st"."""
    name: str = ""

    @property
    def prefix(self) -> str:
        return f"{ROOT}/{ALL}" if self.kind == ALL else f"{ROOT}/{self.kind}/{self.name}"

    def campaign(self, campaign_id: str) -> str:
        return f"{self.prefix}/campaign/{campaign_id}"

    @property
    def campaigns(self) -> str:
        """The wildcard a station subscribes to."""
        return f"{self.prefix}/campaign/+"

    @property
    def desired(self) -> str:
        return f"{self.prefix}/desired"

    @property
    def cmd(self) -> str:
        return f"{self.prefix}/cmd"


EVERYONE = Target(ALL)


def group(name: str) -> Target:
    return Target("grp", name)


def station(name: str) -> Target:
    return Target("st", name)


def targets_of(station_id: str, groups: tuple[str, ...]) -> tuple[Target, ...]:
    """What a station listens to: everyone's, its groups' and its own."""
    return (EVERYONE, *(group(name) for name in groups), station(station_id))


def target_of(topic: str) -> Target | None:
    """The target a province → station topic was sent to; None for any other topic."""
    parts = topic.split("/")
    if parts[:2] != ROOT.split("/") or len(parts) < 4:
        return None
    if parts[2] == ALL:
        return EVERYONE
    if parts[2] in ("grp", "st") and is_name(parts[3]):
        return Target(parts[2], parts[3])
    return None


def state(station_id: str) -> str:
    return f"{ROOT}/st/{station_id}/state"


def heartbeat(station_id: str) -> str:
    return f"{ROOT}/st/{station_id}/hb"


def asrun(station_id: str) -> str:
    return f"{ROOT}/st/{station_id}/asrun"


def ack(station_id: str) -> str:
    return f"{ROOT}/st/{station_id}/ack"


FROM_STATIONS = (f"{ROOT}/st/+/state", f"{ROOT}/st/+/hb", f"{ROOT}/st/+/asrun", f"{ROOT}/st/+/ack")
"""What the province's collector subscribes to."""


def station_of(topic: str) -> str | None:
    """The station a station → province topic came from."""
    parts = topic.split("/")
    if len(parts) == 5 and "/".join(parts[:3]) == f"{ROOT}/st" and is_name(parts[3]):
        return parts[3]
    return None
