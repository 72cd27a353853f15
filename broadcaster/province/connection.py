"""The province's MQTT connection (paho-mqtt 2, MQTT v5): connected or a BrokerError that names
the broker and the fix, and publishes that wait for the broker's PUBACK and read its reason
code (Mosquitto drops a publish its ACL refuses; with v5 the PUBACK says "Not authorized")."""

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from broadcaster.i18n import _
from broadcaster.province.directory import BrokerError, Province

CONNECT_TIMEOUT_S = 15.0
PUBLISH_TIMEOUT_S = 60.0
SESSION_EXPIRY_S = 14 * 24 * 3600
"""The collector's session outlives two weeks without it (the broker's
persistent_client_expiration is the same)."""
KEEPALIVE_S = 60


@dataclass
class _State:
    connected: threading.Event = field(default_factory=threading.Event)
    refused: ReasonCode | None = None
    session_present: bool = False
    published: dict[int, ReasonCode] = field(default_factory=dict)
    lock: threading.Condition = field(default_factory=threading.Condition)


class Connection:
    """One connected client of the province's broker, its network loop on paho's thread."""

    def __init__(
        self,
        province: Province,
        user: str,
        password: str,
        persistent: bool = False,
        manual_ack: bool = False,
    ) -> None:
        self.province = province
        self.user = user
        self.state = _State()
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=user,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=manual_ack,
        )
        self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = self._on_disconnect
        self.persistent = persistent
        self.after_connect: Callable[[bool], None] | None = None
        """Called on paho's thread after each accepted connection, with session_present."""
        broker = province.broker
        if broker.tls:
            context = ssl.create_default_context(
                cafile=str(broker.ca) if broker.ca is not None else None
            )
            self.client.tls_set_context(context)

    @property
    def session_present(self) -> bool:
        return self.state.session_present

    def connect(self) -> "Connection":
        broker = self.province.broker
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S if self.persistent else 0
        try:
            self.client.connect(
                broker.host,
                broker.port,
                keepalive=KEEPALIVE_S,
                clean_start=not self.persistent,
                properties=properties,
            )
        except ssl.SSLError as error:
            raise BrokerError(
                _(
                    "TLS with the broker {url} failed ({reason}): check the CA file ({ca}) and "
                    "that the broker's certificate names {host}."
                ).format(
                    url=broker.url,
                    reason=error.reason or error,
                    ca=broker.ca or _("the system's"),
                    host=broker.host,
                )
            ) from error
        except OSError as error:
            raise BrokerError(
                _(
                    "Cannot reach the broker {url}: {reason}. Check that mosquitto runs there "
                    "(systemctl status mosquitto), that the address and port in province.yaml are "
                    "right and that no firewall blocks the port."
                ).format(url=broker.url, reason=error.strerror or error)
            ) from error
        self.client.loop_start()
        if not self.state.connected.wait(CONNECT_TIMEOUT_S) or self.state.refused is not None:
            refused = self.state.refused
            self.close()
            if refused is None:
                raise BrokerError(
                    _(
                        "The broker {url} did not answer within {seconds} seconds: check that it "
                        "is mosquitto and that it runs."
                    ).format(url=broker.url, seconds=int(CONNECT_TIMEOUT_S))
                )
            raise BrokerError(
                _(
                    "The broker {url} refused the account '{user}' ({reason}): run 'loa province "
                    "broker-config' and reload mosquitto (systemctl reload mosquitto), and check "
                    "secrets.yaml."
                ).format(url=broker.url, user=self.user, reason=refused.getName())
            )
        return self

    def publish(
        self, topic: str, payload: bytes, retain: bool, expires_s: int | None = None
    ) -> int:
        """Publish at QoS 1; the mid, to `wait` for."""
        properties: Properties | None = None
        if expires_s is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = expires_s
        info = self.client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise BrokerError(
                _("Lost the broker {url} while sending: run the command again.").format(
                    url=self.province.broker.url
                )
            )
        return info.mid

    def wait(self, mids: list[tuple[int, str]], timeout: float = PUBLISH_TIMEOUT_S) -> None:
        """Wait for the broker to take every publish; a refusal names its topic."""
        with self.state.lock:
            done = self.state.lock.wait_for(
                lambda: all(mid in self.state.published for mid, _topic in mids), timeout
            )
            results = {mid: self.state.published.get(mid) for mid, _topic in mids}
        if not done:
            raise BrokerError(
                _(
                    "The broker {url} did not confirm what was sent within {seconds} seconds: "
                    "run the command again (stations ignore what they already have)."
                ).format(url=self.province.broker.url, seconds=int(timeout))
            )
        for mid, topic in mids:
            code = results[mid]
            if code is not None and code.is_failure:
                raise BrokerError(
                    _(
                        "The broker {url} refused {topic} ({reason}): run 'loa province "
                        "broker-config' and reload mosquitto."
                    ).format(url=self.province.broker.url, topic=topic, reason=code.getName())
                )

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # paho's thread ---------------------------------------------------------------------------

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self.state.refused = reason
            client.disconnect()
        else:
            self.state.session_present = flags.session_present
            if self.after_connect is not None:
                self.after_connect(flags.session_present)
        self.state.connected.set()

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not self.state.connected.is_set():
            # refused before CONNACK (e.g. bad credentials on some brokers close the socket)
            self.state.refused = reason
            self.state.connected.set()

    def _on_publish(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self.state.lock:
            self.state.published[mid] = reason
            self.state.lock.notify_all()
