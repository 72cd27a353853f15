"""Commands defined once, at import, whose help is translated when it is shown.

The language is known only once the command line (or the station) says it, after the commands
are defined. So help texts, epilogs and metavars are kept as their English msgid, marked with
`N_` for the translation catalogue, and these click classes pass them through `_` each time
click reads them. (click runs `inspect.cleandoc` on help, so a str subclass would be flattened;
properties are not.)
"""

import importlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from broadcaster.i18n import _, click_gettext


class Msgid(str):
    """A text of Loa's catalogue, translated when click shows it."""


class ClickMessage(str):
    """A %-format text of click's own catalogue, translated when click formats it (click
    translates the defaults it fills in when the command is defined: too early for us)."""

    def __mod__(self, values: object) -> str:
        return click_gettext(str(self)) % values


def N_(msgid: str) -> str:
    """Mark `msgid` for the catalogue; the classes below translate it when click shows it."""
    return Msgid(msgid)


class Examples(str):
    """A help epilog listing example commands, kept as written (click rewraps other text)."""

    commands: tuple[str, ...]

    def __new__(cls, *commands: str) -> "Examples":
        made = super().__new__(cls, "\n".join(commands))
        made.commands = commands
        return made

    def render(self) -> str:
        return "\b\n" + _("Examples:") + "\n" + "\n".join(f"  {c}" for c in self.commands)


def examples(*commands: str) -> Examples:
    return Examples(*commands)


def _translated(value: str | None, marked_only: bool) -> str | None:
    if isinstance(value, Examples):
        return value.render()
    if not value or (marked_only and not isinstance(value, Msgid)):
        return value  # a metavar such as ID or N is the same in every language
    translated = _(value)
    return translated if translated != value else click_gettext(value)  # --version's help


def _lazy(name: str, marked_only: bool = False) -> property:
    """An attribute click sets to a msgid and reads back translated. click passes help texts
    through inspect.cleandoc first, which drops the Msgid mark: those are all translated."""
    stored = f"_lazy_{name}"

    def get(self: object) -> str | None:
        return _translated(getattr(self, stored, None), marked_only)

    def put(self: object, value: str | None) -> None:
        setattr(self, stored, value)

    return property(get, put)


class LoaCommand(click.Command):
    help = _lazy("help")
    short_help = _lazy("short_help")
    epilog = _lazy("epilog")
    options_metavar = _lazy("options_metavar")


class LoaGroup(click.Group):
    help = _lazy("help")
    short_help = _lazy("short_help")
    epilog = _lazy("epilog")
    options_metavar = _lazy("options_metavar")
    subcommand_metavar = _lazy("subcommand_metavar")
    command_class = LoaCommand
    group_class = type  # subgroups are LoaGroups too


class LazyGroup(LoaGroup):
    """A group whose subcommands are imported when used (`loa status` does not load the
    province's or the web console's commands): `lazy` maps a name to "module:attribute"."""

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attribute = self.lazy[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


class LoaOption(click.Option):
    help = _lazy("help")
    metavar = _lazy("metavar", marked_only=True)

    def get_help_extra(self, ctx: click.Context) -> Any:
        """click marks a required option "[required]" with a word its own catalogue cannot
        extract (it translates a variable): Loa's catalogue has it."""
        extra = super().get_help_extra(ctx)
        if "required" in extra:
            extra["required"] = _("required")
        return extra


class LoaArgument(click.Argument):
    metavar = _lazy("metavar", marked_only=True)


OPTIONS = N_("[OPTIONS]")
SUBCOMMANDS = N_("COMMAND [ARGS]...")

FunctionOrCommand = TypeVar("FunctionOrCommand", bound=Callable[..., Any])


def command(**attrs: Any) -> Callable[[Callable[..., Any]], LoaCommand]:
    return click.command(cls=LoaCommand, **{"options_metavar": OPTIONS, **attrs})


def group(**attrs: Any) -> Callable[[Callable[..., Any]], LoaGroup]:
    defaults = {"cls": LoaGroup, "options_metavar": OPTIONS, "subcommand_metavar": SUBCOMMANDS}
    decorator: Callable[[Callable[..., Any]], LoaGroup] = click.group(**{**defaults, **attrs})
    return decorator


def option(*names: str, **attrs: Any) -> Callable[[FunctionOrCommand], FunctionOrCommand]:
    return click.option(*names, cls=LoaOption, **attrs)


def argument(*names: str, **attrs: Any) -> Callable[[FunctionOrCommand], FunctionOrCommand]:
    return click.argument(*names, cls=LoaArgument, **attrs)
