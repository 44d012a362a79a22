"""Command line: parse, build a config dataclass, call the API, print. No framework is imported here."""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from edgex import __version__
from edgex.cli_build import build_command, report_command
from edgex.cli_edgetpu import edgetpu_group
from edgex.cli_options import SpecType, accept_debug, check_conflicts, spec_options
from edgex.cli_output import Verbosity, echo_failures, results_console, to_stdout, verbosity, verbosity_options
from edgex.errors import EdgexError, ExitCode, Terminated
from edgex.options import Text

if TYPE_CHECKING:
    from rich.status import Status

EPILOG = "Exit codes: 0 ok, 1 parity failed, 2 bad input, 3 conversion failed, 4 missing dependency, 70 internal error."


debug_option = click.option("--debug", is_flag=True, help="Show tracebacks and framework logs.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}, epilog=EPILOG)
@click.version_option(__version__, prog_name="edgex")
@debug_option
@verbosity_options
def cli(debug: bool) -> None:
    """Convert trained models for on-device runtimes, quantize them, and prove they still behave."""


def _progress(debug: bool) -> tuple[Status | None, Callable[[str], None]]:
    """A spinner on stderr for interactive runs; plain step lines under --debug and -v; nothing under --quiet."""
    from edgex.progress import stderr_console

    console = stderr_console()
    if verbosity() is Verbosity.QUIET and not debug:
        return None, lambda message: None
    if debug or verbosity() is Verbosity.VERBOSE:
        return None, lambda message: console.print(f"[dim]... {message}[/dim]", highlight=False)
    status = console.status("starting")
    return status, lambda message: status.update(message)


def _finish(report: Any, debug: bool, stdout_taken: bool) -> int:
    """Print the table (the API wrote the report files; a report on stdout sends the table to stderr), each failed
    row's reason on stderr and, under --debug, its traceback."""
    from edgex.report.rows import note
    from edgex.report.table import render, verdict_line

    console = results_console(stderr=stdout_taken)
    if verbosity() is Verbosity.QUIET:
        console.print(verdict_line(report.verdict, int(report.exit_code), report.seconds))
    else:
        render(report, console)
    echo_failures(((row.target, row) for row in report.rows), note)
    if debug:
        for row in report.rows:
            if row.error_details:
                click.echo(f"--- {row.target} {row.mode} ---\n{row.error_details}", err=True)
    return int(report.exit_code)


def _run_with_progress(debug: bool, function: Callable[[Callable[[str], None]], Any]) -> Any:
    status, on_step = _progress(debug)
    if status is None:
        return function(on_step)
    with status:
        return function(on_step)


@cli.command(epilog=EPILOG)
@click.argument("source")
@spec_options("export")
@debug_option
@verbosity_options
def export(source: str, **options: Any) -> int:
    """Convert SOURCE (a model file, folder, or 'demo') to each target and quantization mode, then validate.

    \b
    edgex export model.keras --to tflite -q int8 --calib calib/ --validate val/ --out dist/
    edgex export demo -q all
    """
    from edgex import api

    check_conflicts("export")
    debug = _debug(options)
    stdout_taken = to_stdout(options[key] for key in api.REPORT_OPTIONS)
    report = _run_with_progress(
        debug,
        lambda on_step: api.export(
            source,
            to=options.pop("targets"),
            quantize=options.pop("quantize"),
            calib=options.pop("calibration"),
            validate=options.pop("validation"),
            labels=options.pop("labels"),
            out=options.pop("out"),
            debug=debug,
            on_step=on_step,
            **options,
        ),
    )
    return _finish(report, debug, stdout_taken)


@cli.command(epilog=EPILOG)
@click.argument("source")
@click.argument("artifacts", nargs=-1, required=True)
@click.option("--data", "data", help="Validation data: image folder, .npy/.npz or module:function.")
@click.option(
    "--quantize",
    "-q",
    "mode",
    type=SpecType(Text()),
    help="Apply this mode's default thresholds [default: read from the artifact].",
)
@spec_options("validate")
@debug_option
@verbosity_options
def validate(source: str, artifacts: tuple[str, ...], **options: Any) -> int:
    """Run SOURCE and each exported ARTIFACT on the same data and gate on parity.

    \b
    edgex validate model.keras dist/model_int8.tflite --data val.npz --labels val_labels.npy
    """
    from edgex import api

    debug = _debug(options)
    stdout_taken = to_stdout(options[key] for key in api.REPORT_OPTIONS)
    report = _run_with_progress(
        debug,
        lambda on_step: api.validate(
            source, artifacts, data=options.pop("data"), labels=options.pop("labels"), debug=debug, on_step=on_step,
            **options,
        ),
    )
    return _finish(report, debug, stdout_taken)


@cli.command("debug", epilog=EPILOG)
@click.argument("source")
@click.argument("artifact")
@click.option("--data", "data", help="Samples to compare on: image folder, .npy/.npz or module:function.")
@spec_options("debug")
@debug_option
def debug_command(source: str, artifact: str, **options: Any) -> int:
    """Compare a quantized ARTIFACT with its float SOURCE layer by layer and name the layers where int8 fails.

    \b
    edgex debug model.keras dist/model_int8.tflite --data val.npz
    edgex debug model.py:build dist/model_xnnpack_int8.pte --data val.npz --calib calib.npz --report-json d.json
    """
    from edgex import api
    from edgex.report.debug_view import print_debug

    debug = _debug(options)
    report_json = options["report_json"]
    report = _run_with_progress(
        debug,
        lambda on_step: api.debug(
            source, artifact, data=options.pop("data"), calib=options.pop("calibration"), debug=debug,
            on_step=on_step, **options,
        ),
    )
    print_debug(report, stderr=to_stdout([report_json]))
    return 0


@cli.command()
@click.argument("artifact", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@accept_debug
def inspect(artifact: Path, as_json: bool) -> int:
    """Show an artifact's inputs/outputs, quantization, operators and size (reads the file; no framework)."""
    from edgex.inspection import inspect_path
    from edgex.report.inspect_view import print_inspection

    print_inspection(inspect_path(artifact), as_json)
    return 0


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@accept_debug
def targets(as_json: bool) -> int:
    """List deployment targets, their quantization modes, and whether this environment can build them."""
    from edgex.report.targets_view import print_targets

    print_targets(as_json)
    return 0


cli.add_command(edgetpu_group)
cli.add_command(build_command)
cli.add_command(report_command)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@accept_debug
def routes(as_json: bool) -> int:
    """Show the format graph: converters, whether they are installed here, and the route edgex picks."""
    from edgex.report.routes_view import print_routes

    print_routes(as_json)
    return 0


@cli.command()
@accept_debug
def schema() -> int:
    """Print the JSON Schema of edgex.toml (also shipped as edgex/schemas/edgex.schema.json), for editors.

    \b
    edgex schema > edgex.schema.json    # then, first line of edgex.toml: #:schema ./edgex.schema.json
    """
    import json

    from edgex.build.schema import build_file_schema

    click.echo(json.dumps(build_file_schema(), indent=2))
    return 0


def _debug(options: dict[str, Any]) -> bool:
    parent = click.get_current_context().find_root().params.get("debug", False)
    return bool(options.pop("debug", False) or parent)


def _report_error(error: EdgexError, debug: bool) -> int:
    click.echo(f"edgex: error: {error.one_line()}", err=True)
    if debug:
        traceback.print_exception(error)
        if error.details:
            click.echo(error.details, err=True)
    return int(error.exit_code)


def _usage_line(problem: click.ClickException) -> str:
    """A click usage error as one line, pointing at the command's --help."""
    line = " ".join(problem.format_message().split())
    ctx = getattr(problem, "ctx", None)
    if ctx is not None:
        line += f"; see '{ctx.command_path} --help'"
    return line


def _terminated(_signum: int, _frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    """Entry point: map every failure to one line on stderr and a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    signal.signal(signal.SIGTERM, _terminated)
    try:
        code = cli.main(args=args, prog_name="edgex", standalone_mode=False)
    except click.exceptions.Exit as stop:
        code = stop.exit_code
    except click.ClickException as problem:
        click.echo(f"edgex: error: {_usage_line(problem)}", err=True)
        code = ExitCode.USAGE
    except click.Abort:
        click.echo("edgex: aborted", err=True)
        code = 130
    except EdgexError as error:
        code = _report_error(error, debug)
    except KeyboardInterrupt:
        click.echo("edgex: interrupted", err=True)
        code = 130
    except Terminated:
        click.echo("edgex: terminated (SIGTERM); workers stopped", err=True)
        code = 128 + signal.SIGTERM
    except Exception as error:  # noqa: BLE001 - the last line of defence
        click.echo(
            f"edgex: internal error: {type(error).__name__}: {error} (a bug in edgex; re-run with --debug "
            "and report it)",
            err=True,
        )
        if debug:
            traceback.print_exc()
        code = ExitCode.INTERNAL
    sys.exit(int(code or 0))
