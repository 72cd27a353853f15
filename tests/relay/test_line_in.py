"""The line-in as a relay source, on the PulseAudio rig: an FM receiver played into a second
null sink, whose monitor is the capture device; and a device that does not exist."""

import subprocess
from collections.abc import Iterator

import pytest

from broadcaster.core.settings import RelaySource
from broadcaster.relay.session import Relay
from tests.pulse_rig import PulseRig
from tests.relay.rig import OUTPUT, listen, wait_for

RECEIVER = "fm_receiver"

pytestmark = pytest.mark.usefixtures("english")  # the tests read its messages


@pytest.fixture
def receiver(pulse: PulseRig, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A second sink with a 440 Hz tone playing into it, and the rig's server for ffmpeg."""
    for name, value in pulse.env.items():
        monkeypatch.setenv(name, value)
    loaded = subprocess.run(
        ["pactl", "load-module", "module-null-sink", f"sink_name={RECEIVER}", "channels=1"],
        capture_output=True,
        text=True,
        check=True,
    )
    radio = subprocess.Popen(
        [
            *("ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi"),
            *("-i", "sine=frequency=440:sample_rate=44100", "-ac", "1"),
            *("-f", "pulse", "-device", RECEIVER, "radio"),
        ],
        stdin=subprocess.DEVNULL,
    )
    yield
    radio.kill()
    radio.wait()
    subprocess.run(["pactl", "unload-module", loaded.stdout.strip()], check=False)


@pytest.mark.usefixtures("receiver")
def test_the_line_in_is_relayed():
    with Relay(RelaySource("fm", line_in=f"{RECEIVER}.monitor"), OUTPUT) as relay:
        assert relay.wait_for_audio(5.0)
        wait_for(lambda: relay.latency_s > 0.2, timeout=2.0)
        heard = listen(relay, 1.5)
    assert heard.dominant_hz(heard.start + 0.5) == pytest.approx(440, abs=10)
    assert relay.summary().dropouts == ()


@pytest.mark.usefixtures("receiver")
def test_a_capture_device_that_does_not_exist_is_a_device_problem():
    with Relay(RelaySource("fm", line_in="no_such_receiver.monitor"), OUTPUT) as relay:
        wait_for(lambda: relay.outage() is not None, timeout=5.0)
        outage = relay.outage()
        assert outage is not None and outage.cause == "device"
        assert outage.url == "no_such_receiver.monitor"
        assert (relay.problem() or "").startswith("no_such_receiver.monitor: ")
