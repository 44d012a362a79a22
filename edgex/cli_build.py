"""`edgex build` (the edgex.toml matrix) and `edgex report` (HTML / JUnit from JSON reports). Click only here:
the build machinery and matplotlib are imported inside the commands."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from edgex.cli_options import accept_debug, spec_options
from edgex.cli_output import Verbosity, echo_failures, results_console, to_stdout, verbosity, verbosity_options
from edgex.options import BUILD_COMMAND, THRESHOLDS, options_for

EPILOG = (
    "Exit codes: 0 every counted cell passed, 1 parity failed, 2 bad config or input, 3 conversion failed, "
    "4 missing dependency or tool, 70 internal error."
)


@click.command("build", epilog=EPILOG)
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="Build file [default: edgex.toml, else [tool.edgex] in pyproject.toml, in this folder or the "
                   "nearest parent].")
@click.option("--only", multiple=True, help="Cells to build: MODEL/TARGET, MODEL, or patterns like '*/edgetpu'.")
@click.option("--force", is_flag=True, help="Rebuild cells even when up to date.")
@spec_options(BUILD_COMMAND)
@click.option("--debug", is_flag=True, help="Show tracebacks and framework logs.")
@verbosity_options
def build_command(config_path: Path | None, only: tuple[str, ...], force: bool, **options: Any) -> int:
    """Build every model x target cell of edgex.toml (the nearest one up from here); unchanged cells are skipped.

    \b
    edgex build                       # the whole matrix, then dist/edgex-manifest.json
    edgex build --only demo/tflite-int8 --force
    edgex build -j 2 --junit dist/junit.xml --report-html dist/report.html
    edgex build --shard 1/2           # one CI job's half; join with 'edgex report merge'
    edgex build --executor ray --ray-address ray://head:10001
    """
    from rich.console import Console

    from edgex.build.config import find_config, load_config
    from edgex.build.runner import Build, BuildOptions, build_cells, build_report
    from edgex.build.view import BuildProgress, failed_rows, render
    from edgex.report.files import check_report_paths, write_text_atomic
    from edgex.report.junit import write_junit_runs
    from edgex.report.rows import note
    from edgex.report.runs import runs_of
    from edgex.report.table import verdict_line

    debug = bool(options.pop("debug") or click.get_current_context().find_root().params.get("debug"))
    thresholds = [option for option in options_for(BUILD_COMMAND) if option.places == THRESHOLDS]
    overrides = {option.key: options.pop(option.name) for option in thresholds}
    shard = options.pop("shard")
    config = load_config(find_config(config_path, Path.cwd()))
    given = {key: value for key, value in options.items() if value is not None}
    for key in ("out", "report_json", "report_html", "junit"):
        if key in given and not to_stdout([given[key]]):
            given[key] = given[key].resolve()  # command-line paths are relative to the working directory
    settings = replace(config.settings, **given)
    config = replace(config, settings=settings)
    build_options = BuildOptions(
        only=only,
        force=force,
        overrides={k: v for k, v in overrides.items() if v is not None},
        debug=debug,
        shard=shard,
    )
    console = Console(stderr=True, quiet=verbosity() is Verbosity.QUIET)
    results = results_console(stderr=to_stdout([settings.report_json, settings.junit, settings.report_html]))
    report_json = settings.report_json or settings.out / "edgex-build.json"
    check_report_paths({"--report-json": report_json, "--junit": settings.junit, "--report-html": settings.report_html})
    cells = [cell.id for cell in build_cells(config, build_options)]
    with BuildProgress(console, cells) as progress:
        result = Build(config, build_options, progress.event, progress.done).run()
    document = build_report(result)
    written = [settings.out / "edgex-manifest.json"]
    write_text_atomic(report_json, json.dumps(document, indent=1) + "\n")
    written.append(report_json)
    runs = runs_of(document, str(report_json))
    if settings.junit:
        write_junit_runs(runs, settings.junit)
        written.append(settings.junit)
    if settings.report_html:
        from edgex.report.html import write_html_runs

        write_html_runs(runs, settings.report_html, f"edgex build: {config.path.name}")
        written.append(settings.report_html)
    if verbosity() is Verbosity.QUIET:
        results.print(verdict_line(result.verdict, int(result.exit_code), result.seconds))
    else:
        render(result, results, written)
    echo_failures(failed_rows(result), note)
    return int(result.exit_code)


class ReportGroup(click.Group):
    """`edgex report REPORTS...` renders, as it always has (the `render` subcommand); `edgex report merge ...`,
    `edgex report diff ...` and the other subcommands are dispatched by name."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["render", *args]
        return super().parse_args(ctx, args)


@click.group("report", cls=ReportGroup)
def report_command() -> None:
    """Render JSON reports as HTML / JUnit (`edgex report REPORTS...`, short for `edgex report render`), merge
    the outputs of sharded builds (`edgex report merge`), or compare two (`edgex report diff`)."""


@report_command.command("render")
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write a self-contained HTML page.")
@click.option("--junit", type=click.Path(path_type=Path), help="Write JUnit XML (one testsuite per run).")
@click.option("--title", default="edgex report", show_default=True, help="Page title.")
@accept_debug
def render_command(reports: tuple[Path, ...], html_path: Path | None, junit: Path | None, title: str) -> int:
    """Turn JSON reports (--report-json of export/validate, or edgex-build.json) into HTML with plots and JUnit.

    \b
    edgex report dist/edgex-build.json --html dist/report.html
    edgex report tflite.json executorch.json --html compare.html --junit junit.xml
    """
    from edgex.errors import UsageError
    from edgex.report.files import check_report_paths
    from edgex.report.junit import write_junit_runs
    from edgex.report.runs import load_runs

    if html_path is None and junit is None:
        raise UsageError("nothing to write", hint="pass --html FILE and/or --junit FILE")
    check_report_paths({"--html": html_path, "--junit": junit})
    runs = load_runs(list(reports))
    if html_path is not None:
        from edgex.report.html import write_html_runs

        write_html_runs(runs, html_path, title)
        click.echo(f"wrote {html_path}")
    if junit is not None:
        write_junit_runs(runs, junit, title)
        click.echo(f"wrote {junit}")
    return 0


@report_command.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Folder for the merged build: cell folders, edgex-manifest.json, edgex-build.json.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Also write the HTML report here.")
@click.option("--junit", type=click.Path(path_type=Path), help="Also write JUnit XML here.")
@accept_debug
def merge_command(shards: tuple[Path, ...], out: Path, html_path: Path | None, junit: Path | None) -> int:
    """Join the out folders of `edgex build --shard K/N` jobs into one: the same artifacts, manifest and reports as
    one machine's build. SHARDS are each shard's edgex-build.json (or its folder). Exits with the merged build's
    code (0 pass, 1 parity failed, 3 conversion failed, ...); 2 when shards overlap, miss or do not match.

    \b
    edgex report merge shard-1/edgex-build.json shard-2/edgex-build.json --out dist/build --junit dist/junit.xml
    """
    from edgex.build.manifest import MANIFEST_NAME
    from edgex.build.merge import BUILD_REPORT_NAME, merge
    from edgex.report.files import check_report_paths
    from edgex.report.junit import write_junit_runs
    from edgex.report.runs import runs_of

    check_report_paths({"--html": html_path, "--junit": junit})
    result = merge(list(shards), out.resolve())
    written = [result.out / MANIFEST_NAME, result.out / BUILD_REPORT_NAME]
    runs = runs_of(result.report, str(written[1]))
    if junit is not None:
        write_junit_runs(runs, junit)
        written.append(junit)
    if html_path is not None:
        from edgex.report.html import write_html_runs

        write_html_runs(runs, html_path, "edgex build (merged shards)")
        written.append(html_path)
    cells = len(result.report["cells"])
    click.echo(f"merged {len(result.shards)} shards: {cells} cells, {result.artifacts} artifacts into {result.out}")
    for path in written:
        click.echo(f"wrote {path}")
    code = result.exit_code
    click.echo(f"{'PASS' if code == 0 else 'FAIL'} exit {int(code)}")
    return int(code)


@report_command.command("diff")
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("head", type=click.Path(path_type=Path))
@click.option("--max-size-increase", type=float, default=5.0, show_default=True,
              help="Percent an artifact may grow before the row regresses.")
@click.option("--max-latency-increase", type=float, default=25.0, show_default=True,
              help="Percent the median latency may grow (shared CI runners are noisy: raise it there).")
@click.option("--max-agreement-drop", type=float, default=1.0, show_default=True,
              help="Percentage points of top-1 agreement a row may lose.")
@click.option("--max-snr-drop", type=float, default=3.0, show_default=True, help="dB of output SNR a row may lose.")
@accept_debug
def diff_command(base: Path, head: Path, **limits: float) -> int:
    """Markdown table of size, latency and parity deltas per row (model/target/mode) of two JSON reports, for a PR
    comment; exit 1 when a row regressed past a threshold or stopped passing, else 0.

    \b
    edgex report diff main/edgex-build.json dist/edgex-build.json > diff.md
    """
    from edgex.report.diff import DiffThresholds, diff_runs, markdown
    from edgex.report.runs import load_runs

    diffs = diff_runs(load_runs([base]), load_runs([head]), DiffThresholds(**limits))
    click.echo(markdown(diffs, base.name, head.name), nl=False)
    return 1 if any(diff.regressions for diff in diffs) else 0
