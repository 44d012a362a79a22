"""`edgex report merge`: join the out folders of `edgex build --shard K/N` jobs into one build output.

Each shard's out folder (as a CI job uploads it) holds its cell folders, its manifest and its edgex-build.json. The
merge copies the cell folders byte for byte into one folder and writes one manifest and one build report, in the
build file's cell order, so the result is what one machine would have written: the same files with the same
sha256, the same manifest rows, and a cache (`.edgex-cell.json`) a later `edgex build` there can use. Shards that
overlap, miss, or come from different build files are refused before anything is written.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgex.artifacts import inside, sha256_tree
from edgex.build.manifest import LABELS_NAME, MANIFEST_NAME
from edgex.build.runner import BUILD_SCHEMA, matrix_exit_code
from edgex.errors import ExitCode, UsageError
from edgex.report.files import write_text_atomic
from edgex.report.runs import read_document

BUILD_REPORT_NAME = "edgex-build.json"
SHARD_KEYS = {"index", "count", "of", "cells", "config_sha256"}  # edgex.build.runner.shard_record


@dataclass
class ShardOutput:
    report_path: Path
    report: dict[str, Any]  # edgex.build/1 with its "shard" record
    manifest: dict[str, Any]  # edgex.manifest/1 of the same folder

    @property
    def folder(self) -> Path:
        """The shard's out folder as uploaded: where its report and manifest lie."""
        return self.report_path.parent

    @property
    def shard(self) -> dict[str, Any]:
        record: dict[str, Any] = self.report["shard"]
        return record

    @property
    def label(self) -> str:
        return f"{self.report_path} (shard {self.shard['index']}/{self.shard['count']})"


@dataclass
class MergeResult:
    out: Path
    shards: list[ShardOutput]
    report: dict[str, Any]  # the merged edgex.build/1
    artifacts: int

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode(self.report["exit_code"])


def load_shard(path: Path) -> ShardOutput:
    """A shard's edgex-build.json (or its out folder) and the manifest beside it."""
    report_path = path / BUILD_REPORT_NAME if path.is_dir() else path
    report = read_document(report_path)
    if report.get("schema") != BUILD_SCHEMA:
        raise UsageError(f"{report_path}: not an edgex build report", hint=f"pass each shard's {BUILD_REPORT_NAME}")
    record = report.get("shard")
    if not isinstance(record, dict) or not set(record) >= SHARD_KEYS:
        raise UsageError(
            f"{report_path}: not a shard (built without --shard)", hint="build each CI job with edgex build --shard K/N"
        )
    manifest_path = report_path.parent / MANIFEST_NAME
    if not manifest_path.is_file():
        raise UsageError(
            f"{report_path}: no {MANIFEST_NAME} beside it",
            hint="upload and download each shard's whole out folder, its report left where the build wrote it",
        )
    return ShardOutput(report_path, report, read_document(manifest_path))


def check_shards(shards: list[ShardOutput]) -> list[str]:
    """Refuse shards that do not make one build exactly (one line each); return the cell ids in build file order."""
    first = shards[0]
    for other in shards[1:]:
        if other.shard["count"] != first.shard["count"]:
            raise UsageError(
                f"{first.label} and {other.label} split the matrix differently", hint="merge shards of one run"
            )
        if (other.shard["of"], other.shard["config_sha256"]) != (first.shard["of"], first.shard["config_sha256"]):
            raise UsageError(
                f"{first.report_path} and {other.report_path} were built from different build files or --only",
                hint="merge shards of one run",
            )
        if other.report.get("edgex") != first.report.get("edgex"):
            raise UsageError(
                f"{first.report_path} and {other.report_path} were built by different edgex versions "
                f"({first.report.get('edgex')}, {other.report.get('edgex')})",
                hint="build every shard with the same edgex",
            )
    owner: dict[str, ShardOutput] = {}
    for shard in shards:
        if [cell["id"] for cell in shard.report["cells"]] != shard.shard["cells"]:
            raise UsageError(f"{shard.report_path}: its cells are not those of its shard record", hint="rebuild it")
        for cell in shard.shard["cells"]:
            if cell in owner:
                raise UsageError(
                    f"cell {cell} is in both {owner[cell].label} and {shard.label}", hint="pass each shard once"
                )
            owner[cell] = shard
    indexes = {shard.shard["index"] for shard in shards}
    missing = [f"{k}/{first.shard['count']}" for k in range(1, first.shard["count"] + 1) if k not in indexes]
    cells: list[str] = first.shard["of"]
    if missing or set(owner) != set(cells):
        absent = missing or sorted(set(cells) - set(owner))
        raise UsageError(f"missing shard {', '.join(absent)}", hint="pass the edgex-build.json of every shard")
    return cells


def _copy_cells(shard: ShardOutput, out: Path) -> None:
    """The shard's cell folders and label files, byte for byte, replacing what `out` had for those cells."""
    models = set()
    for cell_id in shard.shard["cells"]:
        model, _, target = cell_id.partition("/")
        models.add(model)
        source = inside(shard.folder, Path(model) / target, f"cell {cell_id}")
        destination = inside(out, Path(model) / target, f"cell {cell_id}")
        if not source.is_dir() or source.resolve() == destination.resolve():
            continue
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(source, destination, symlinks=True)
    for model in sorted(models):
        labels = inside(shard.folder, Path(model) / LABELS_NAME, f"model {model}")
        destination = inside(out, Path(model) / LABELS_NAME, f"model {model}")
        if labels.is_file() and labels.resolve() != destination.resolve():
            shutil.copyfile(labels, destination)


def merge(paths: list[Path], out: Path) -> MergeResult:
    """Check the shards, copy their cells into `out`, write its manifest and edgex-build.json there."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: not a folder", hint="name a folder for the merged build")
    shards = [load_shard(path) for path in paths]
    cells = check_shards(shards)
    order = {cell: index for index, cell in enumerate(cells)}
    entries: list[dict[str, Any]] = []
    for shard in shards:
        own = set(shard.shard["cells"])
        entries += [_checked(entry, shard) for entry in shard.manifest["artifacts"] if entry["cell"] in own]
    entries.sort(key=lambda entry: order[entry["cell"]])  # stable: rows keep their order within a cell
    out.mkdir(parents=True, exist_ok=True)
    for shard in shards:
        _copy_cells(shard, out)
    manifest = {**shards[0].manifest, "artifacts": entries}
    write_text_atomic(out / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    report_cells = sorted((cell for shard in shards for cell in shard.report["cells"]), key=lambda c: order[c["id"]])
    code = matrix_exit_code([(cell["status"], cell["exit_code"], cell["counted"]) for cell in report_cells])
    report = {
        **{key: value for key, value in shards[0].report.items() if key != "shard"},
        "out": str(out),
        "verdict": "pass" if code is ExitCode.OK else "fail",
        "exit_code": int(code),
        "started": min(shard.report["started"] for shard in shards),
        "seconds": max(shard.report["seconds"] for shard in shards),  # the shards ran side by side
        "non_deterministic": [cell["id"] for cell in report_cells if cell["id"] in _non_deterministic(shards)],
        "merged": [
            {"shard": f"{s.shard['index']}/{s.shard['count']}", "report": str(s.report_path), "cells": s.shard["cells"]}
            for s in sorted(shards, key=lambda s: int(s.shard["index"]))
        ],
        "cells": report_cells,
    }
    write_text_atomic(out / BUILD_REPORT_NAME, json.dumps(report, indent=1) + "\n")
    return MergeResult(out, shards, report, len(entries))


def _checked(entry: dict[str, Any], shard: ShardOutput) -> dict[str, Any]:
    """A manifest row whose file is in the shard's folder with the listed sha256 (else the upload is damaged)."""
    path = inside(shard.folder, entry["path"], f"artifact {entry['path']}")
    if not path.exists() or sha256_tree(path) != entry["sha256"]:
        raise UsageError(
            f"{path}: missing or not the file {shard.folder / MANIFEST_NAME} lists for cell {entry['cell']}",
            hint="upload each shard's whole out folder unchanged",
        )
    return entry


def _non_deterministic(shards: list[ShardOutput]) -> set[str]:
    return {cell for shard in shards for cell in shard.report.get("non_deterministic", [])}
