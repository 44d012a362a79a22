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
from edgex.cli_edgetpu import edgetpu_export_options, edgetpu_group
from edgex.errors import EdgexError, ExitCode

EPILOG = "Exit codes: 0 ok, 1 parity failed, 2 bad input, 3 conversion failed, 4 missing dependency, 70 internal error."


def _floats(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        return tuple(float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a number or comma-separated numbers") from None


def _compose(*decorators: Callable[[Callable], Callable]) -> Callable[[Callable], Callable]:
    def apply(function: Callable) -> Callable:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


debug_option = click.option("--debug", is_flag=True, help="Show tracebacks and framework logs.")


def _shape(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[tuple[int, ...], ...]:
    shapes = []
    for value in values:
        try:
            shapes.append(tuple(int(part) for part in value.lower().split("x")))
        except ValueError:
            raise click.BadParameter(f"'{value}' is not a shape like 1x3x224x224") from None
    return tuple(shapes)


def _dynamic_dims(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]):
    from edgex.sources import DynamicDim

    dims = []
    for value in values:
        name, _, bounds = value.partition("=")
        name, _, axis = name.partition(":")
        low, _, high = bounds.partition("..")
        try:
            axis_index = int(axis) if axis else (0 if name == "batch" else None)
            if axis_index is None:
                raise ValueError
            dims.append(DynamicDim(name, axis_index, int(low), int(high)))
        except ValueError:
            raise click.BadParameter(
                f"'{value}' is not NAME[:AXIS]=MIN..MAX (AXIS defaults to 0 for 'batch')"
            ) from None
    return tuple(dims)


source_options = _compose(
    click.option("--signature", help="SavedModel / TFLite signature to use [default: serving_default]."),
    click.option("--input-shape", "input_shapes", multiple=True, callback=_shape,
                 help="PyTorch: input shape like 1x3x224x224, one per input (when the factory gives no examples)."),
    click.option("--input-dtype", "input_dtypes", multiple=True, help="PyTorch: input dtype per input [float32]."),
    click.option("--weights", type=click.Path(path_type=Path),
                 help="PyTorch: state_dict checkpoint, loaded with torch.load(weights_only=True)."),
)

data_options = _compose(
    click.option(
        "--labels", type=click.Path(path_type=Path), help="Class labels for the validation data (.npy/.npz/.txt)."
    ),
    click.option(
        "--class-output",
        help="The class-score output: labels and top-k gates apply to it [default: softmax-like outputs].",
    ),
    click.option("--mean", callback=_floats, help="Image folders: subtract after scaling (one value or per channel)."),
    click.option("--std", callback=_floats, help="Image folders: divide by (one value or per channel)."),
    click.option("--scale", type=float, help="Image folders: pixel multiplier before mean/std [default: 1/255]."),
    click.option("--val-samples", type=click.IntRange(min=1), help="Use at most N validation samples."),
)

threshold_options = _compose(
    click.option("--max-abs-error", type=float, help="Fail if any output's max |error| exceeds this."),
    click.option("--max-mean-abs-error", type=float, help="Fail if an output's mean |error| exceeds this."),
    click.option("--min-cosine", type=float, help="Fail below this mean per-sample cosine similarity."),
    click.option("--min-snr-db", type=float, help="Fail below this signal-to-noise ratio (dB)."),
    click.option("--min-top1-agreement", type=float, help="Fail below this top-1 agreement (%)."),
    click.option("--min-top5-agreement", type=float, help="Fail below this top-5 agreement (%)."),
    click.option("--max-top1-drop", type=float, help="Fail if accuracy drops by more than this (percentage points)."),
    click.option("--max-latency-ratio", type=float, help="Fail if exported median latency / reference exceeds this."),
)

bench_options = _compose(
    click.option(
        "--threads",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Threads for reference and exported model alike.",
    ),
    click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True, help="Untimed runs first."),
    click.option(
        "--runs",
        type=click.IntRange(min=0),
        default=50,
        show_default=True,
        help="Timed runs per model (0: no latency).",
    ),
)

report_options = _compose(
    click.option("--report-json", type=click.Path(path_type=Path), help="Write the JSON report here."),
    click.option("--report-md", type=click.Path(path_type=Path), help="Write a Markdown report here."),
    click.option("--junit", type=click.Path(path_type=Path), help="Write JUnit XML (one testcase per check)."),
    click.option("--report-html", type=click.Path(path_type=Path), help="Write an HTML report with plots here."),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}, epilog=EPILOG)
@click.version_option(__version__, prog_name="edgex")
@debug_option
def cli(debug: bool) -> None:
    """Convert trained models for on-device runtimes, quantize them, and prove they still behave."""


def _progress(debug: bool):
    """A spinner on stderr for interactive runs; plain step lines under --debug."""
    from rich.console import Console

    console = Console(stderr=True)
    if debug:
        return None, lambda message: console.print(f"[dim]... {message}[/dim]")
    status = console.status("starting")
    return status, lambda message: status.update(message)


def _finish(report, debug: bool) -> int:
    """Print the table (report files were written by the API) and, under --debug, each failed row's traceback."""
    from rich.console import Console

    from edgex.report.table import render

    console = Console()
    if not console.is_terminal:  # CI logs: do not fold the table into 80 columns
        console = Console(width=max(console.width, 200))
    render(report, console)
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
@click.option(
    "--to",
    "targets",
    multiple=True,
    default=("tflite",),
    show_default=True,
    help="Target(s); see 'edgex targets'. Repeat for several.",
)
@click.option(
    "--quantize",
    "-q",
    "modes",
    multiple=True,
    help="none, fp16, dynamic, int8, int16x8 or all; repeat or comma-separate. [default: target's]",
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("dist"), show_default=True)
@click.option("--name", help="Artifact file stem [default: the source's].")
@click.option("--force", is_flag=True, help="Overwrite existing artifacts.")
@click.option("--calib", help="Calibration data: image folder, .npy/.npz, module:function, or 'random'.")
@click.option("--calib-samples", type=click.IntRange(min=1), help="Calibration samples to use [default: 200].")
@click.option("--validate", "validate_data", help="Validation data (same forms as --calib); enables the parity gate.")
@click.option(
    "--io-dtype",
    type=click.Choice(["int8", "uint8", "int16", "float32"]),
    help="I/O type of integer models [int8 mode: int8; int16x8: float32].",
)
@source_options
@click.option("--dynamic-dim", "dynamic_dims", multiple=True, callback=_dynamic_dims,
              help="PyTorch export: a dimension that may vary, e.g. batch=1..16 or seq:1=1..128.")
@click.option("--route", help="Force a conversion route by format names, e.g. keras>onnx>torch-export>pte.")
@click.option("--channels-last-io", is_flag=True,
              help="4-D NCHW inputs/outputs become NHWC in the artifact (litert-torch, onnx2tf routes).")
@click.option("--keep-intermediates", is_flag=True, help="Keep a multi-hop route's intermediate models in --out.")
@click.option("--backend", type=click.Choice(["xnnpack", "portable"]),
              help="ExecuTorch backend for --to executorch [default: xnnpack].")
@click.option("--min-delegated", type=float,
              help="ExecuTorch XNNPACK: fail (exit 1) if fewer than this fraction of nodes are delegated.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Static batch baked into the artifact (devices run batch 1).",
)
@click.option("--dynamic-batch", is_flag=True, help="Keep the source's dynamic batch dimension instead.")
@click.option("--timeout", type=float, default=1200.0, show_default=True, help="Seconds per conversion.")
# Edge TPU options (edgex/cli_edgetpu.py): gathered into ExportOptions.target_options
@edgetpu_export_options
@data_options
@threshold_options
@bench_options
@report_options
@debug_option
def export(source: str, **options: Any) -> int:
    """Convert SOURCE (a model file, folder, or 'demo') to each target and quantization mode, then validate.

    \b
    edgex export model.keras --to tflite -q int8 --calib calib/ --validate val/ --out dist/
    edgex export demo -q all
    """
    from edgex import api

    debug = _debug(options)
    report = _run_with_progress(
        debug,
        lambda on_step: api.export(
            source,
            to=options.pop("targets"),
            quantize=options.pop("modes"),
            calib=options.pop("calib"),
            validate=options.pop("validate_data"),
            labels=options.pop("labels"),
            out=options.pop("out_dir"),
            debug=debug,
            on_step=on_step,
            **options,
        ),
    )
    return _finish(report, debug)


@cli.command(epilog=EPILOG)
@click.argument("source")
@click.argument("artifacts", nargs=-1, required=True)
@click.option("--data", "data", help="Validation data: image folder, .npy/.npz or module:function.")
@click.option(
    "--quantize", "-q", "mode", help="Apply this mode's default thresholds [default: read from the artifact]."
)
@source_options
@data_options
@threshold_options
@bench_options
@report_options
@debug_option
def validate(source: str, artifacts: tuple[str, ...], **options: Any) -> int:
    """Run SOURCE and each exported ARTIFACT on the same data and gate on parity.

    \b
    edgex validate model.keras dist/model_int8.tflite --data val.npz --labels val_labels.npy
    """
    from edgex import api

    debug = _debug(options)
    report = _run_with_progress(
        debug,
        lambda on_step: api.validate(
            source, artifacts, data=options.pop("data"), labels=options.pop("labels"), debug=debug, on_step=on_step,
            **options,
        ),
    )
    return _finish(report, debug)


@cli.command()
@click.argument("artifact", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def inspect(artifact: Path, as_json: bool) -> int:
    """Show an artifact's inputs/outputs, quantization, operators and size (reads the file; no framework)."""
    from edgex.inspection import inspect_path
    from edgex.report.inspect_view import print_inspection

    print_inspection(inspect_path(artifact), as_json)
    return 0


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: map every failure to one line on stderr and a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        code = cli.main(args=args, prog_name="edgex", standalone_mode=False)
    except click.exceptions.Exit as stop:
        code = stop.exit_code
    except click.ClickException as problem:
        problem.show()
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
