"""loa doctor: checks the station PC, one line per check."""

import click


def add_doctor_commands(cli: click.Group) -> None:
    pass
