"""Pair reference and exported tensors, compute metrics, apply thresholds, give a verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgex.errors import UsageError
from edgex.parity.embedding import is_normalized, output_kind
from edgex.parity.metrics import OutputAccumulator, OutputMetrics, is_classifier_like
from edgex.parity.performance import LatencyStats, MemoryStats
from edgex.parity.thresholds import Thresholds

NO_CLASS_OUTPUT = "none"  # --class-output none: judge every output as an embedding, sequence or values
FAILED_RELATION = {">=": "<", "<=": ">"}  # what a failed check's value is to its threshold


@dataclass(frozen=True)
class Check:
    name: str  # metric name, e.g. "cosine", "top1_agreement", "latency_ratio"
    output: str | None
    value: float
    threshold: float
    comparison: str  # ">=" (value must be at least threshold) or "<="
    passed: bool
    unit: str = ""

    def describe(self) -> str:
        where = f"[{self.output}]" if self.output else ""
        relation = self.comparison if self.passed else FAILED_RELATION[self.comparison]
        verdict = "ok" if self.passed else "FAILED"
        return f"{self.name}{where} {self.value:.6g}{self.unit} {relation} {self.threshold:g}{self.unit} ({verdict})"


@dataclass
class ParityResult:
    samples: int
    outputs: list[OutputMetrics]
    checks: list[Check]
    thresholds: Thresholds
    input_mapping: dict[str, str] = field(default_factory=dict)  # reference input -> exported input
    layouts: dict[str, str] = field(default_factory=dict)  # tensor -> "NCHW -> NHWC" where the artifact differs
    reference_latency: LatencyStats | None = None
    exported_latency: LatencyStats | None = None
    reference_memory: MemoryStats | None = None
    exported_memory: MemoryStats | None = None
    task_metrics: dict[str, float] = field(default_factory=dict)  # --metric values by name (parity/task.py)
    state: dict[str, str] = field(default_factory=dict)  # stateful run (--state): input -> output fed back

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    @property
    def latency_ratio(self) -> float | None:
        if self.reference_latency is None or self.exported_latency is None or self.reference_latency.median_ms <= 0:
            return None
        return self.exported_latency.median_ms / self.reference_latency.median_ms

    def headline(self) -> OutputMetrics | None:
        """The output shown in one-line summaries: the class output, else the first."""
        return next((m for m in self.outputs if m.class_output), self.outputs[0] if self.outputs else None)


def pair_names(reference: list[str], exported: list[str], what: str) -> list[tuple[str, str]]:
    """By name when both sides use the same names, else by position (converters rename but keep order)."""
    if set(reference) == set(exported):
        return [(name, name) for name in reference]
    if len(reference) == len(exported):
        return list(zip(reference, exported, strict=True))
    raise UsageError(
        f"the reference model has {len(reference)} {what}s {reference}, the exported one {len(exported)} {exported}",
        hint="validate the artifact against the model it was exported from",
    )


def _probability_like(values: np.ndarray) -> bool:
    rows = values.astype(np.float64)
    return bool(np.all(rows >= -1e-6) and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3))


def class_outputs(outputs: dict[str, np.ndarray], requested: str | None) -> list[str]:
    """Outputs that top-k gates and labels apply to.

    --class-output if given ('none': no output is class scores); else [N, C] outputs whose rows are probabilities
    (softmax); else a model's only output when it is [N, C] and its rows are not unit vectors (an L2-normalised
    embedding). Other outputs are judged as embeddings or sequences (edgex/parity/embedding.py), without top-k.
    """
    if requested == NO_CLASS_OUTPUT and requested not in outputs:
        return []
    if requested is not None:
        if requested not in outputs:
            raise UsageError(f"--class-output '{requested}' is not an output", hint=f"outputs: {', '.join(outputs)}")
        return [requested]
    candidates = [name for name, value in outputs.items() if is_classifier_like(value.shape)]
    probabilities = [name for name in candidates if _probability_like(outputs[name])]
    if probabilities:
        return probabilities
    return candidates if len(outputs) == 1 and not any(is_normalized(outputs[name]) for name in candidates) else []


class StreamComparison:
    """Every output pair's metrics, accumulated batch by batch; the verdict comes once all samples are in."""

    def __init__(
        self,
        output_pairs: list[tuple[str, str]],
        count: int,
        labels: bool = False,
        class_output: str | None = None,
    ) -> None:
        self.output_pairs = output_pairs
        self.labels = labels
        self.class_output = class_output
        self.accumulators = {ref: OutputAccumulator(ref, exp, count) for ref, exp in output_pairs}

    def add(
        self, reference: dict[str, np.ndarray], exported: dict[str, np.ndarray], labels: np.ndarray | None = None
    ) -> None:
        for ref_name, exp_name in self.output_pairs:
            self.accumulators[ref_name].add(reference[ref_name], exported[exp_name], labels)

    def class_outputs(self) -> list[str]:
        """class_outputs over the whole set, from what the accumulators saw."""
        if self.class_output == NO_CLASS_OUTPUT and self.class_output not in self.accumulators:
            return []
        if self.class_output is not None:
            if self.class_output not in self.accumulators:
                raise UsageError(
                    f"--class-output '{self.class_output}' is not an output",
                    hint=f"outputs: {', '.join(self.accumulators)}",
                )
            return [self.class_output]
        shapes = {name: (0, *(acc.sample_shape or ())) for name, acc in self.accumulators.items()}
        candidates = [name for name, shape in shapes.items() if is_classifier_like(shape)]
        probabilities = [name for name in candidates if self.accumulators[name].probability_like]
        if probabilities:
            return probabilities
        single = len(self.accumulators) == 1 and not any(self.accumulators[name].normalized for name in candidates)
        return candidates if single else []

    def finish(self, thresholds: Thresholds) -> tuple[list[OutputMetrics], list[Check]]:
        gated = self.class_outputs()
        if self.labels and not gated:
            raise UsageError(
                "labels were given but no output looks like class scores", hint="name it with --class-output"
            )
        labelled = gated[0] if self.labels else None
        metrics = [
            self.accumulators[ref].result(
                class_output=ref in gated,
                labelled=ref == labelled,
                kind=output_kind((0, *(self.accumulators[ref].sample_shape or ())), ref in gated),
            )
            for ref, _ in self.output_pairs
        ]
        return metrics, [check for m in metrics for check in output_checks(m, thresholds)]


def compare(
    reference: dict[str, np.ndarray],
    exported: dict[str, np.ndarray],
    output_pairs: list[tuple[str, str]],
    thresholds: Thresholds,
    labels: np.ndarray | None = None,
    class_output: str | None = None,
) -> tuple[list[OutputMetrics], list[Check]]:
    """All samples at once: one batch through StreamComparison."""
    count = len(next(iter(reference.values())))
    comparison = StreamComparison(output_pairs, count, labels is not None, class_output)
    comparison.add(reference, exported, labels)
    return comparison.finish(thresholds)


def output_checks(m: OutputMetrics, t: Thresholds) -> list[Check]:
    topk = m.class_output
    planned: list[tuple[str, float | None, float | None, str, str]] = [
        ("max_abs_error", m.max_abs_error, t.max_abs_error, "<=", ""),
        ("mean_abs_error", m.mean_abs_error, t.max_mean_abs_error, "<=", ""),
        ("cosine", m.cosine, t.min_cosine, ">=", ""),
        ("snr", m.snr_db, t.min_snr_db, ">=", " dB"),
        ("top1_agreement", m.top1_agreement if topk else None, t.min_top1_agreement, ">=", "%"),
        ("top5_agreement", m.top5_agreement if topk else None, t.min_top5_agreement, ">=", "%"),
        ("top1_drop", m.top1_drop, t.max_top1_drop, "<=", " pp"),
        ("step_cosine", m.step_cosine, t.min_cosine, ">=", ""),  # the worst time step meets the cosine gate too
        ("retrieval_agreement", m.retrieval_agreement, t.min_retrieval_agreement, ">=", "%"),
    ]
    return [
        Check(name, m.output, float(value), float(limit), op, _holds(value, limit, op), unit)
        for name, value, limit, op, unit in planned
        if value is not None and limit is not None
    ]


def latency_check(result: ParityResult) -> Check | None:
    ratio, limit = result.latency_ratio, result.thresholds.max_latency_ratio
    if ratio is None or limit is None:
        return None
    return Check("latency_ratio", None, ratio, limit, "<=", _holds(ratio, limit, "<="), "x")


def _holds(value: float, limit: float, comparison: str) -> bool:
    if np.isnan(value):
        return False
    return value >= limit if comparison == ">=" else value <= limit
