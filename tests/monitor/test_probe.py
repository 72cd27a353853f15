"""`loa doctor`'s check of the monitor input, on the rig: quick, and clear when it is wrong."""

import time

import pytest

from broadcaster.monitor.probe import CHECK_S, check_device
from tests.pulse_rig import SINK, PulseRig

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def on_rig(pulse: PulseRig, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in pulse.env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("on_rig")
def test_the_rigs_sink_monitor_can_be_heard() -> None:
    assert check_device(f"{SINK}.monitor") is None


@pytest.mark.usefixtures("on_rig")
@pytest.mark.parametrize("device", ["no_such_card.monitor", "hw:9,0"])
def test_an_input_that_does_not_exist_is_named_with_the_fix(device: str) -> None:
    began = time.monotonic()
    problem = check_device(device)
    assert time.monotonic() - began < CHECK_S + 1
    assert problem is not None and problem.startswith(f"The monitor input {device} cannot be")
    assert "station.yaml" in problem
