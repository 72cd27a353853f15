"""`loa completion`: the script that lets a shell complete loa's commands."""

import click
from click.shell_completion import get_completion_class

from broadcaster.cli.lazy import N_, argument, command, examples

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_LOA_COMPLETE"
"""What click's completion scripts set when they call `loa` back (`_{PROG}_COMPLETE`)."""


@command(
    help=N_(
        "Print the script that lets your shell (bash, zsh or fish) complete loa's commands "
        "and options with the Tab key. Bash: add the first example line to ~/.bashrc. "
        "Zsh: add the second to the end of ~/.zshrc. Fish: run the third once. The "
        "completion takes effect in new terminals."
    ),
    epilog=examples(
        "echo 'eval \"$(loa completion bash)\"' >> ~/.bashrc",
        "echo 'eval \"$(loa completion zsh)\"' >> ~/.zshrc",
        "loa completion fish > ~/.config/fish/completions/loa.fish",
    ),
)
@argument("shell", type=click.Choice(SHELLS), metavar="{bash|zsh|fish}")
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    completer = get_completion_class(shell)
    assert completer is not None  # click ships all of SHELLS
    root = ctx.find_root().command
    click.echo(completer(root, {}, "loa", COMPLETE_VAR).source())
