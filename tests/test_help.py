"""Every command explains itself, with examples, in Vietnamese by default and in English."""

from collections.abc import Iterator

import click
import pytest

from broadcaster.cli.main import cli
from broadcaster.i18n import DEFAULT_LANGUAGE, set_language
from tests.schedule_station import run


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


def every_command() -> list[tuple[str, ...]]:
    set_language("en")
    try:
        return list(command_paths(cli))
    finally:
        set_language(DEFAULT_LANGUAGE)


@pytest.mark.parametrize("path", every_command(), ids=" ".join)
def test_each_command_has_help_with_examples_in_both_languages(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str], station: click.Path
) -> None:
    code, english, _ = run(capsys, station, *path, "--help")
    assert code == 0
    assert "Examples:" in english and f"loa {' '.join(path)}" in english
    code, vietnamese, _ = run(capsys, station, *path, "--help", language="vi")
    assert code == 0
    assert "Ví dụ:" in vietnamese and "Usage:" not in vietnamese
    assert vietnamese != english


def test_the_overview_lists_every_command(
    capsys: pytest.CaptureFixture[str], station: click.Path
) -> None:
    code, out, _ = run(capsys, station, "--help", language="vi")
    assert code == 0
    for path in every_command():
        if len(path) == 1:
            assert f"  {path[0]} " in out
