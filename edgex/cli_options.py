"""Click options generated from the option spec (edgex/options.py), so a flag and its build-file key cannot drift."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

from edgex.errors import UsageError
from edgex.options import BUILD_COMMAND, THRESHOLDS, Kind, Option, conflict, options_for

DEFAULT = ParameterSource.DEFAULT

# Commands without framework logs still accept --debug: main() reads it from the arguments for tracebacks.
accept_debug = click.option(
    "--debug", is_flag=True, expose_value=False, help="Show tracebacks on errors (accepted by every command)."
)


class SpecType(click.ParamType[Any, Any]):
    """A click type that reads a flag's text with the same check as the build file's key."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.name = kind.metavar.lower()

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.kind.metavar

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):  # a default, already typed
            return value
        try:
            return self.kind.text(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def click_option(option: Option, command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The click decorator of one option; on `edgex build` a flag only overrides the file, so its default is None."""
    overrides_file = command == BUILD_COMMAND
    settings: dict[str, Any] = {"help": option.help}
    if option.is_flag and "/" in option.flags[0]:
        settings.update(default=None)
    elif option.is_flag:
        settings.update(is_flag=True, default=None if overrides_file else False)
    else:
        settings.update(type=SpecType(option.kind), multiple=option.multiple)
        if option.default is not None and not overrides_file:
            settings.update(default=option.default, show_default=True)
    if overrides_file and option.places:
        what = "thresholds" if set(option.places) == set(THRESHOLDS) else option.key
        settings["help"] = f"{option.help} [overrides the build file's {what}]"
    return click.option(*option.flags, option.name, **settings)


def spec_options(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command with every option the spec gives it, in spec order, plus the conflict check."""
    options = options_for(command)

    def apply(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            function = click_option(option, command)(function)
        return function

    return apply


def check_conflicts(command: str) -> None:
    """Refuse two options the spec says exclude each other, when both were given on the command line."""
    ctx = click.get_current_context()
    typed = {name: value for name, value in ctx.params.items() if ctx.get_parameter_source(name) != DEFAULT}
    pair = conflict(typed, options_for(command))
    if pair is not None:
        raise UsageError(f"{pair[0].flag} conflicts with {pair[1].flag}", hint="keep one of them")
