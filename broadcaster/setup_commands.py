"""loa voices, loa completion and loa service: setting the station PC up."""

import click


def add_setup_commands(cli: click.Group) -> None:
    pass
