"""Command line: parse, build a config dataclass, call the API, print. No framework is imported here."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from edgex import __version__
from edgex.cli_build import build_command, report_command
from edgex.cli_edgetpu import edgetpu_group
from edgex.cli_options import SpecType, accept_debug, check_conflicts, spec_options
from edgex.errors import EdgexError, ExitCode
from edgex.options import MODEL_THRESHOLDS, TARGET_OPTIONS, Text, options_for

EPILOG = "Exit codes: 0 ok, 1 parity failed, 2 bad input, 3 conversion failed, 4 missing dependency, 70 internal error."


debug_option = click.option("--debug", is_flag=True, help="Show tracebacks and framework logs.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}, epilog=EPILOG)
@click.version_option(__version__, prog_name="edgex")
@debug_option
def cli(debug: bool) -> None:
    """Convert trained models for on-device runtimes, quantize them, and prove they still behave."""


def _parity_config(options: dict[str, Any], data_spec: str | None):
    from edgex.data.providers import DataSpec
    from edgex.pipeline import BenchConfig, ParityConfig

    validation = DataSpec(data_spec, options["validation_samples"], _preprocess(options)) if data_spec else None
    thresholds = [option.key for option in options_for("validate") if MODEL_THRESHOLDS in option.places]
    return ParityConfig(
        validation=validation,
        labels=options["labels"],
        class_output=options["class_output"],
        threshold_overrides={key: options[key] for key in thresholds if options[key] is not None},
        bench=BenchConfig(threads=options["threads"], warmup=options["warmup"], runs=options["runs"]),
    )


def _with_backend(targets: tuple[str, ...], backend: str | None) -> tuple[str, ...]:
    """`--to executorch --backend portable` is spelled `--to executorch-portable` in the registry."""
    if backend is None:
        return targets
    from edgex.errors import UsageError
    from edgex.targets import get_target

    chosen = tuple(f"executorch-{backend}" if get_target(name).format == "pte" else name for name in targets)
    if chosen == targets and not any(name.startswith("executorch-") for name in targets):
        raise UsageError("--backend applies to ExecuTorch targets", hint="add --to executorch")
    return chosen


def _target_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options that only some targets read (each target's module validates its own), keyed as in edgex.toml."""
    chosen = (option for option in options_for("export") if TARGET_OPTIONS in option.places)
    given = {option.key: options[option.name] for option in chosen if options[option.name] not in (None, False)}
    return {key: str(value) if isinstance(value, Path) else value for key, value in given.items()}


def _source_options(options: dict[str, Any]):
    from edgex.sources import SourceOptions

    return SourceOptions(
        signature=options["signature"],
        input_shapes=options["input_shapes"],
        input_dtypes=tuple(options["input_dtypes"]),
        weights=options["weights"],
        dynamic_dims=options.get("dynamic_dims", ()),  # export only
    )


def _preprocess(options: dict[str, Any]):
    from edgex.data.images import ImagePreprocess

    defaults = ImagePreprocess()
    return ImagePreprocess(
        scale=options["scale"] if options["scale"] is not None else defaults.scale,
        mean=options["mean"] or defaults.mean,
        std=options["std"] or defaults.std,
    )


def _progress(debug: bool):
    """A spinner on stderr for interactive runs; plain step lines under --debug."""
    from rich.console import Console

    console = Console(stderr=True)
    if debug:
        return None, lambda message: console.print(f"[dim]... {message}[/dim]")
    status = console.status("starting")
    return status, lambda message: status.update(message)


def _finish(report, options: dict[str, Any], debug: bool) -> int:
    from rich.console import Console

    from edgex.report.html import write_html
    from edgex.report.json_report import write_json
    from edgex.report.junit import write_junit
    from edgex.report.markdown import write_markdown
    from edgex.report.table import render

    console = Console()
    if not console.is_terminal:  # CI logs: do not fold the table into 80 columns
        console = Console(width=max(console.width, 200))
    render(report, console)
    if debug:
        for row in report.rows:
            if row.error_details:
                click.echo(f"--- {row.target} {row.mode} ---\n{row.error_details}", err=True)
    writers = (("report_json", write_json), ("report_md", write_markdown), ("junit", write_junit))
    for key, writer in (*writers, ("report_html", write_html)):
        if options.get(key):
            writer(report, options[key])
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
def export(source: str, **options: Any) -> int:
    """Convert SOURCE (a model file, folder, or 'demo') to each target and quantization mode, then validate.

    \b
    edgex export model.keras --to tflite -q int8 --calib calib/ --validate val/ --out dist/
    edgex export demo -q all
    """
    from edgex.data.providers import DataSpec
    from edgex.export import ExportConfig, run_export
    from edgex.exporters import ExportOptions

    check_conflicts("export")
    debug = _debug(options)
    calibration = options["calibration"]
    calibration_spec = (
        DataSpec(calibration, options["calibration_samples"], _preprocess(options)) if calibration else None
    )
    config = ExportConfig(
        source=source,
        targets=_with_backend(options["targets"], options["backend"]),
        modes=options["quantize"],
        out_dir=options["out"],
        force=options["force"],
        name=options["name"],
        source_options=_source_options(options),
        export_options=ExportOptions(
            io_dtype=options["io_dtype"],
            batch_size=None if options["dynamic_batch"] else options["batch_size"] or 1,
            channels_last_io=options["channels_last_io"],
            target_options=_target_options(options),
        ),
        calibration=calibration_spec,
        parity=_parity_config(options, options["validation"]),
        timeout=options["timeout"],
        route=options["route"],
        keep_intermediates=options["keep_intermediates"],
        debug=debug,
    )
    report = _run_with_progress(debug, lambda on_step: run_export(config, on_step))
    return _finish(report, options, debug)


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
def validate(source: str, artifacts: tuple[str, ...], **options: Any) -> int:
    """Run SOURCE and each exported ARTIFACT on the same data and gate on parity.

    \b
    edgex validate model.keras dist/model_int8.tflite --data val.npz --labels val_labels.npy
    """
    from edgex.validation import ValidateConfig, run_validate

    debug = _debug(options)
    config = ValidateConfig(
        source=source,
        artifacts=artifacts,
        mode=options["mode"],
        source_options=_source_options(options),
        parity=_parity_config(options, options["data"]),
        debug=debug,
    )
    report = _run_with_progress(debug, lambda on_step: run_validate(config, on_step))
    return _finish(report, options, debug)


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


def main(argv: list[str] | None = None) -> None:
    """Entry point: map every failure to one line on stderr and a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
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
