"""Results of an export / validate run: one row per target x mode (or per artifact), and the run around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from edgex.errors import ExitCode
from edgex.parity.compare import Check, ParityResult
from edgex.specs import ModelSignature


class RowStatus(StrEnum):
    PASSED = "passed"  # exported and parity checks passed
    EXPORTED = "exported"  # exported, not validated (no validation data)
    PARITY_FAILED = "parity_failed"  # a parity check or an artifact gate (e.g. --min-delegated) failed
    EXPORT_FAILED = "export_failed"

    @property
    def icon(self) -> str:
        return STATUS_ICONS[self.value]


STATUS_ICONS = {"passed": "✅", "exported": "✅", "parity_failed": "✗", "export_failed": "❌"}
ICON_STYLES = {"✅": "green", "✗": "yellow", "❌": "red"}  # rich styles of the terminal rows


@dataclass
class ReportSection:
    """A target-specific table attached to a row (e.g. Edge TPU op mapping); rendered by every report writer."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    terminal: bool = True  # False: only in Markdown/JSON (details nobody needs on screen when all is well)


@dataclass
class ArtifactInfo:
    path: str
    format: str
    size_bytes: int
    sha256: str


@dataclass
class RowResult:
    target: str
    mode: str
    status: RowStatus
    artifact: ArtifactInfo | None = None
    export_seconds: float | None = None
    parity: ParityResult | None = None
    error: str | None = None
    error_exit_code: int | None = None  # exit code the error maps to (3 conversion, 4 missing dependency)
    error_details: str | None = None  # worker traceback / log tail, printed with --debug
    route: str | None = None
    runtime: str | None = None
    notes: list[str] = field(default_factory=list)
    extra_artifacts: list[ArtifactInfo] = field(default_factory=list)  # e.g. a compiled model beside the int8 one
    sections: list[ReportSection] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # target-specific structured results (JSON)
    checks: list[Check] = field(default_factory=list)  # gates on the artifact itself (e.g. delegated share)
    # -q auto: {"requested": "auto", "chosen": recipe, "kept_float": [layer names], "attempts": [...]}
    quantization: dict[str, Any] | None = None

    @property
    def failed_checks(self) -> list[Check]:
        parity = self.parity.failed_checks if self.parity is not None else []
        return [c for c in self.checks if not c.passed] + parity


@dataclass
class DataInfo:
    origin: str
    samples: int
    sha256: str
    labels: bool = False


@dataclass
class SourceInfo:
    spec: str
    format: str
    path: str | None
    sha256: str | None
    signature: ModelSignature | None = None
    runtime: str | None = None


@dataclass
class RunReport:
    command: str
    source: SourceInfo
    rows: list[RowResult]
    calibration: DataInfo | None = None
    validation: DataInfo | None = None
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    threads: int = 1
    started: str = ""
    seconds: float = 0.0

    @property
    def exit_code(self) -> ExitCode:
        """Export failures outrank parity failures: a missing artifact is worse than a drifting one."""
        failed = [row for row in self.rows if row.status is RowStatus.EXPORT_FAILED]
        if failed:
            return ExitCode(max(row.error_exit_code or ExitCode.CONVERSION_FAILED for row in failed))
        if any(row.status is RowStatus.PARITY_FAILED for row in self.rows):
            return ExitCode.PARITY_FAILED
        return ExitCode.OK

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        """A report read back from its JSON (edgex.report/1): what `edgex report` and `edgex build` render."""
        from edgex.report.serialize import from_jsonable

        report: RunReport = from_jsonable(cls, data)
        return report

    def to_dict(self) -> dict[str, Any]:
        """The edgex.report/1 document the JSON writer writes."""
        from edgex.report.json_report import report_dict

        return report_dict(self)

    @property
    def passed(self) -> bool:
        """Every row exported, and passed its parity checks where there was validation data."""
        return self.exit_code is ExitCode.OK

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"
