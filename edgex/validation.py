"""Run a reference model and exported artifacts on the same inputs and compare them (`edgex validate`).

Reference outputs, latency and memory are computed once per run; every artifact is loaded in a fresh worker so
its latency and peak memory are its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from edgex.artifacts import sha256_tree, size_bytes
from edgex.data.inputs import InputSet, sample_shape
from edgex.data.providers import check_label_range, check_up_front, open_stream
from edgex.data.stream import DEFAULT_BATCH, ArrayStream, DataError, DataStream, prefetched
from edgex.debugging import failure_summary
from edgex.errors import ConversionError, EdgexError, UsageError
from edgex.parity.compare import ParityResult, StreamComparison, class_outputs, latency_check, pair_names
from edgex.parity.layout import describe_permutation, inverse_permutation, layout_permutation
from edgex.parity.performance import LatencyStats, MemoryStats
from edgex.parity.task import load_task_metrics, task_checks
from edgex.parity.thresholds import Thresholds, thresholds_for
from edgex.pipeline import (
    BenchConfig,
    ParityConfig,
    demo_for,
    demo_parity,
    describe_data,
    describe_source,
    with_data_shapes,
)
from edgex.progress import progress
from edgex.quantize.recipes import FLOAT, Recipe, get_recipe, parse_recipes
from edgex.registry import get_registry
from edgex.results import ArtifactInfo, RowResult, RowStatus, RunReport
from edgex.sources import SourceOptions, SourceRef, ensure_loadable, get_format, resolve_source
from edgex.sources.remote import RemoteRunner
from edgex.specs import RunnerInfo, TensorSpec
from edgex.workers import WorkerPool, import_target

DEBUG_TIMEOUT = 1200.0  # seconds for the layer comparison of a failed int8 row
DEBUG_SAMPLES = 512  # samples of a streamed set the layer comparison runs on (it holds them in memory)


class OutputStore:
    """Outputs of every sample in memory-mapped .npy files, written batch by batch: the reference runs once for
    all artifacts, and --metric functions get whole arrays without the set ever being in memory."""

    def __init__(self, folder: Path, count: int) -> None:
        self.folder = folder
        self.count = count
        self.filled = 0  # samples written so far, in order
        self.arrays: dict[str, np.ndarray] = {}

    def write(self, start: int, outputs: dict[str, np.ndarray]) -> None:
        if not self.arrays:
            self.folder.mkdir(parents=True, exist_ok=True)
            for index, (name, value) in enumerate(outputs.items()):
                path = self.folder / f"{index}.npy"
                shape = (self.count, *value.shape[1:])
                self.arrays[name] = np.lib.format.open_memmap(path, mode="w+", dtype=value.dtype, shape=shape)
        size = len(next(iter(outputs.values())))
        for name, value in outputs.items():
            self.arrays[name][start : start + size] = value
        self.filled = max(self.filled, start + size)

    def read(self, start: int, stop: int) -> dict[str, np.ndarray]:
        return {name: np.asarray(array[start:stop]) for name, array in self.arrays.items()}


class ParitySession:
    """The reference and each artifact run side by side on the same batches, each in its own worker, while the
    next batch is read; metrics accumulate online. The reference's outputs are kept on disk for later artifacts."""

    def __init__(
        self,
        pool: WorkerPool,
        reference: RemoteRunner,
        data: DataStream | InputSet,
        bench: BenchConfig,
        class_output: str | None = None,
        metrics: tuple[str, ...] = (),
        state: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.pool = pool
        self.state = dict(state)  # input -> the output fed to it on the next call
        self.task_metrics = load_task_metrics(metrics)
        self.reference = reference
        self._inputs = data if isinstance(data, InputSet) else None
        self.data = data if isinstance(data, DataStream) else ArrayStream.of(data, reference.info.signature)
        self.bench = bench
        self.class_output = class_output
        self._first: InputSet | None = None  # sample 0: shapes, latency runs
        self._reference_names: list[str] = []
        self._reference_store = OutputStore(Path(pool.temp_dir()) / f"reference-{id(self)}", len(self.data))
        self._reference_latency: LatencyStats | None = None
        self._reference_memory: MemoryStats | None = None
        self.runtime_versions: dict[str, str] = {}  # of the runtimes that ran artifacts

    def start(self) -> None:
        """The reference on the first batch (kept for the pass): outputs and labels that do not fit the model
        fail the run up front, before any conversion or artifact."""
        if self._first is not None:
            return
        # a stateful run's later samples depend on the calls before them: only the first is independent
        head = self.data.head(1 if self.state else min(DEFAULT_BATCH, len(self.data)))
        self._first = InputSet({name: array[:1] for name, array in head.arrays.items()}, origin=head.origin)
        outputs = self.reference.run(head.arrays)
        self._reference_store.write(0, outputs)
        self._accept_reference(outputs)
        self._check_state(self._first.arrays, outputs)

    def _accept_reference(self, outputs: dict[str, np.ndarray]) -> None:
        """The reference's first outputs: they name its outputs and must fit the labels (else the run fails)."""
        if self._reference_names:
            return
        gated = class_outputs(outputs, self.class_output)
        try:
            if gated:
                check_label_range(self.data.labels, outputs[gated[0]].shape[-1], gated[0])
        except UsageError as exc:
            raise DataError(exc.message, hint=exc.hint) from None
        self._reference_names = list(outputs)

    def debug_inputs(self) -> InputSet:
        """Samples for the layer comparison of a failed int8 row: the set given, or the first DEBUG_SAMPLES."""
        return self._inputs if self._inputs is not None else self.data.head(min(DEBUG_SAMPLES, len(self.data)))

    def check(self, artifact: SourceRef, thresholds: Thresholds) -> tuple[ParityResult, RunnerInfo]:
        """Compare one artifact; returns the result and what the runtime that ran it says about itself."""
        if self.state:
            self.start()  # the --state names checked on the reference's first call, before the artifact loads
        first = self._first_sample()
        runner = RemoteRunner(self.pool, artifact, threads=self.bench.threads, load_failure=ConversionError)
        try:
            info = runner.load()
            wiring = self._wire(artifact, info)
            exported_store = OutputStore(Path(self.pool.temp_dir()) / f"exported-{id(runner)}", len(self.data))
            stream = self._stream_stateful if self.state else self._stream
            comparison = stream(artifact, runner, wiring, exported_store if self.task_metrics else None)
            metrics, checks = comparison.finish(thresholds)
            task_values, task_gates = task_checks(
                self.task_metrics, self._reference_store.arrays, exported_store.arrays, self.data.labels
            )
            self._measure_reference(first)
            result = ParityResult(
                samples=len(self.data),
                outputs=metrics,
                checks=checks + task_gates,
                thresholds=thresholds,
                input_mapping=dict(wiring.input_pairs),
                layouts=wiring.layouts,
                reference_latency=self._reference_latency,
                reference_memory=self._reference_memory,
                task_metrics=task_values,
                state=dict(self.state),
            )
            if self.bench.runs > 0:
                timings = runner.benchmark(wiring.feed(first.arrays), self.bench.warmup, self.bench.runs)
                result.exported_latency = LatencyStats.from_timings(timings, self.bench.threads)
                extra = latency_check(result)
                if extra is not None:
                    result.checks.append(extra)
            result.exported_memory = runner.memory()
            self.runtime_versions.update(runner.versions())
            return result, info
        finally:
            runner.close()

    def _first_sample(self) -> InputSet:
        """Sample 0 (input shapes, latency runs); read alone unless start() ran."""
        if self._first is None:
            self._first = self.data.head(1)
        return self._first

    def _wire(self, artifact: SourceRef, info: RunnerInfo) -> Wiring:
        ref_inputs = [spec.name for spec in self.reference.info.signature.inputs]
        input_pairs = pair_names(ref_inputs, [spec.name for spec in info.signature.inputs], "input")
        wiring = Wiring(input_pairs, [spec.name for spec in info.signature.outputs])
        exported_specs = {spec.name: spec for spec in info.signature.inputs}
        for ref, exported in input_pairs:
            first = self._first_sample().arrays[ref]
            want = sample_shape(exported_specs[exported], first)
            perm = layout_permutation(first.shape[1:], want)
            if perm is not None:
                wiring.input_perms[ref] = perm
                wiring.layouts[ref] = describe_permutation(perm)
            _check_input_shape(artifact, exported_specs[exported], want, first.shape[1:], perm)
        return wiring

    def _stream(
        self,
        artifact: SourceRef,
        runner: RemoteRunner,
        wiring: Wiring,
        exported_store: OutputStore | None,
    ) -> StreamComparison:
        """One pass: batch k goes to the reference (unless stored) and the artifact at once, batch k+1 is read
        meanwhile; the reference is collected first, so an artifact failure leaves no call open in its worker."""
        comparison: StreamComparison | None = None
        with progress(f"validating {artifact.path.name if artifact.path else artifact.spec}", len(self.data)) as step:
            for batch in prefetched(self.data.batches()):
                stop = batch.start + len(next(iter(batch.arrays.values())))
                comparison, _, _ = self._compare_chunk(
                    batch.start, stop, batch.arrays, batch.arrays, batch.labels, runner, wiring, comparison,
                    exported_store,
                )
                step(stop - batch.start)
        assert comparison is not None  # streams hold at least one sample
        return comparison

    def _compare_chunk(
        self,
        start: int,
        stop: int,
        reference_feed: dict[str, np.ndarray],
        exported_feed: dict[str, np.ndarray],
        labels: np.ndarray | None,
        runner: RemoteRunner,
        wiring: Wiring,
        comparison: StreamComparison | None,
        exported_store: OutputStore | None,
    ) -> tuple[StreamComparison, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Samples start..stop through the reference (unless its outputs are stored) and the artifact at once, the
        reference collected first so an artifact failure leaves no call open in its worker; the outputs are folded
        into the comparison (made on the first chunk, once the outputs are paired). Returns it and both outputs."""
        reference_call = None if stop <= self._reference_store.filled else self.reference.submit_run(reference_feed)
        exported_call = runner.submit_run(wiring.feed(exported_feed))
        if reference_call is None:
            reference_outputs = self._reference_store.read(start, stop)
        else:
            reference_outputs = reference_call.result()
            self._reference_store.write(start, reference_outputs)
            self._accept_reference(reference_outputs)
        exported_outputs = wiring.aligned(reference_outputs, exported_call.result())
        if comparison is None:
            labelled = self.data.labels is not None
            comparison = StreamComparison(wiring.output_pairs, len(self.data), labelled, self.class_output)
        try:
            comparison.add(reference_outputs, exported_outputs, labels)
        except ValueError as exc:
            raise UsageError(str(exc), hint="the artifact does not match this model's outputs") from None
        if exported_store is not None:
            exported_store.write(start, {ref: exported_outputs[e] for ref, e in wiring.output_pairs})
        return comparison, reference_outputs, exported_outputs

    def _stream_stateful(
        self,
        artifact: SourceRef,
        runner: RemoteRunner,
        wiring: Wiring,
        exported_store: OutputStore | None,
    ) -> StreamComparison:
        """The set as one sequence, one sample per call in order: each side's state outputs feed its own next
        call (the data's state inputs only the first), so errors that build up over time are measured."""
        comparison: StreamComparison | None = None
        reference_state: dict[str, np.ndarray] = {}  # by state input, in the reference's layout
        exported_state: dict[str, np.ndarray] = {}
        with progress(f"validating {artifact.path.name if artifact.path else artifact.spec}", len(self.data)) as step:
            for batch in prefetched(self.data.batches()):
                for offset in range(len(next(iter(batch.arrays.values())))):
                    index = batch.start + offset
                    sample = {name: array[offset : offset + 1] for name, array in batch.arrays.items()}
                    labels = None if batch.labels is None else batch.labels[offset : offset + 1]
                    comparison, reference_outputs, exported_outputs = self._compare_chunk(
                        index, index + 1, {**sample, **reference_state}, {**sample, **exported_state}, labels,
                        runner, wiring, comparison, exported_store,
                    )
                    exported_names = dict(wiring.output_pairs)
                    for name, output in self.state.items():
                        shape = sample[name].shape
                        reference_state[name] = reference_outputs[output].reshape(shape)
                        exported_state[name] = exported_outputs[exported_names[output]].reshape(shape)
                    step(1)
        assert comparison is not None  # streams hold at least one sample
        return comparison

    def _check_state(self, sample: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> None:
        """--state names an input and an output of the reference of equal per-call size; else a DataError: the run
        fails (exit 2) before any artifact."""
        for name, output in self.state.items():
            if name not in sample or output not in outputs:
                raise DataError(
                    f"--state {name}={output}: the model's inputs are {', '.join(sample)}; "
                    f"its outputs are {', '.join(outputs)}",
                    hint="name an input and the output that feeds it on the next call, e.g. --state h=h_next",
                )
            if outputs[output].size != sample[name].size:
                raise DataError(
                    f"--state {name}={output}: output '{output}' has shape {'x'.join(map(str, outputs[output].shape))}"
                    f" per call, input '{name}' {'x'.join(map(str, sample[name].shape))}",
                    hint="the output fed back must have the input's shape",
                )

    def _measure_reference(self, first: InputSet) -> None:
        """Latency and peak memory of the reference, once, after its first whole pass."""
        if self._reference_memory is not None:
            return
        if self.bench.runs > 0:
            timings = self.reference.benchmark(first.arrays, self.bench.warmup, self.bench.runs)
            self._reference_latency = LatencyStats.from_timings(timings, self.bench.threads)
        self._reference_memory = self.reference.memory()


@dataclass
class Wiring:
    """How an artifact's tensors pair with the reference's: by name or position, and layout permutations."""

    input_pairs: list[tuple[str, str]]
    exported_outputs: list[str]
    output_pairs: list[tuple[str, str]] = field(default_factory=list)  # from the first batch's reference outputs
    input_perms: dict[str, tuple[int, ...]] = field(default_factory=dict)  # by reference input
    output_perms: dict[str, tuple[int, ...]] | None = None  # by exported output, from the first batch
    layouts: dict[str, str] = field(default_factory=dict)  # tensor -> "NCHW -> NHWC" where the artifact differs

    def feed(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {exported: _permuted(arrays[ref], self.input_perms.get(ref)) for ref, exported in self.input_pairs}

    def aligned(self, reference: dict[str, np.ndarray], exported: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Exported outputs in the reference's layout (an NHWC output compared with an NCHW reference)."""
        if self.output_perms is None:
            self.output_perms = {}
            self.output_pairs = pair_names(list(reference), self.exported_outputs, "output")
            for ref, name in self.output_pairs:
                perm = layout_permutation(exported[name].shape[1:], reference[ref].shape[1:])
                if perm is not None:
                    self.output_perms[name] = perm
                    self.layouts[ref] = describe_permutation(inverse_permutation(perm))
        return {
            name: value.transpose(self.output_perms[name]) if name in self.output_perms else value
            for name, value in exported.items()
        }


def _check_input_shape(
    artifact: SourceRef,
    spec: TensorSpec,
    want: tuple[int | None, ...],
    data_shape: tuple[int, ...],
    perm: tuple[int, ...] | None,
) -> None:
    """An artifact built for another input size is bad input, not a runtime crash (exit 3) deep in the runtime."""
    fed = data_shape if perm is None else tuple(data_shape[i - 1] for i in perm[1:])
    if len(fed) == len(want) and all(w is None or w == f for w, f in zip(want, fed, strict=True)):
        return
    shown = "x".join("?" if d is None else str(d) for d in want)
    raise UsageError(
        f"{artifact.spec}: input '{spec.name}' expects samples of shape {shown}, "
        f"the model and its data have {'x'.join(map(str, data_shape))}",
        hint="validate the artifact against the model it was exported from",
    )


def _permuted(array: np.ndarray, permutation: tuple[int, ...] | None) -> np.ndarray:
    return array if permutation is None else np.ascontiguousarray(array.transpose(permutation))


@dataclass(frozen=True)
class ValidateConfig:
    source: str
    artifacts: tuple[str, ...]
    mode: str | None = None  # thresholds to apply; default: read from each artifact
    source_options: SourceOptions = field(default_factory=SourceOptions)
    parity: ParityConfig = field(default_factory=ParityConfig)
    timeout: float = 1200.0  # seconds per worker step (loading, running)
    debug: bool = False


def artifact_mode(artifact: SourceRef, requested: str | None) -> Recipe:
    """The recipe whose default thresholds apply: as given, else read from the artifact by its format's reader."""
    if requested:
        return parse_recipes((requested,), get_registry().recipes, artifact.format)[0]
    reader = get_format(artifact.format).recipe_reader
    if reader is None:
        return get_recipe(FLOAT)
    read_recipe: Callable[[Path], str] = import_target(reader)
    return get_recipe(read_recipe(artifact.file))


def run_validate(config: ValidateConfig, on_step: Callable[[str], None] = lambda _: None) -> RunReport:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    parity = config.parity
    warnings: list[str] = []
    notes: list[str] = []
    demo = demo_for(config.source)
    if demo is not None:
        parity = demo_parity(parity, demo)
        notes.append(f"demo model: {demo.description}; its held-out data is used unless --data is given")
    if parity.validation is None:
        raise UsageError(
            "validate needs validation inputs", hint="pass --data with an image folder, .npy/.npz or module:function"
        )
    check_up_front(parity.validation, "validation", parity.labels)
    ref = resolve_source(config.source, with_data_shapes(config.source_options, parity.validation))
    ensure_loadable(ref)
    artifacts = []
    for spec in config.artifacts:
        artifact = resolve_source(spec)
        if artifact.path is None:
            raise UsageError(f"artifact {spec}: no such file")
        artifacts.append((artifact, artifact_mode(artifact, config.mode)))
    with WorkerPool(threads=parity.bench.threads, debug=config.debug, timeout=config.timeout) as pool:
        reference = RemoteRunner(pool, ref, threads=parity.bench.threads)
        if artifacts:
            pool.prestart(get_format(artifacts[0][0].format).worker)  # starts while the reference loads
        on_step(f"loading {ref.spec}")
        info = reference.load()
        validation = open_stream(parity.validation, info.signature, "validation", labels_path=parity.labels)
        warnings += [f"{ref.spec}: {note}" for note in info.notes] + validation.notes
        session = ParitySession(
            pool, reference, validation, parity.bench, parity.class_output, parity.metrics, parity.state
        )
        if parity.state:
            session.start()  # a --state that does not fit the model fails the run before any artifact
        rows = []
        for artifact, mode in artifacts:
            on_step(f"validating {artifact.spec}")
            rows.append(_validate_one(session, artifact, mode, parity))
        versions = {**reference.versions(), **session.runtime_versions}
    return RunReport(
        command="validate",
        source=describe_source(ref, info),
        rows=rows,
        validation=describe_data(validation),
        versions=versions,
        notes=notes,
        warnings=warnings,
        threads=parity.bench.threads,
        started=started,
        seconds=time.perf_counter() - clock,
    )


def stateful_note(result: ParityResult) -> str:
    """What a --state run did: how many calls in sequence, and the worst call, where accumulated error shows."""
    fed = ", ".join(f"{output} -> {name}" for name, output in result.state.items())
    worst = min(result.outputs, key=lambda m: m.cosine_min)
    return (
        f"stateful: {result.samples} calls in sequence ({fed}); worst call cosine {worst.cosine_min:.6f} "
        f"[{worst.output}]"
    )


def _validate_one(session: ParitySession, artifact: SourceRef, mode: Recipe, parity: ParityConfig) -> RowResult:
    assert artifact.path is not None
    row = RowResult(
        target=artifact.format,
        mode=mode.name,
        status=RowStatus.PASSED,
        artifact=ArtifactInfo(
            str(artifact.path), artifact.format, size_bytes(artifact.path), sha256_tree(artifact.path)
        ),
    )
    try:
        result, info = session.check(artifact, thresholds_for(mode.thresholds, parity.threshold_overrides))
    except DataError:
        raise  # the data is bad for every artifact: the run fails (exit 2)
    except EdgexError as exc:  # row-scoped: the other artifacts are still validated
        row.status = RowStatus.EXPORT_FAILED
        row.error, row.error_exit_code, row.error_details = exc.one_line(), int(exc.exit_code), exc.details
        return row
    row.parity = result
    row.runtime = info.runtime
    row.notes.extend(info.notes)
    if result.state:
        row.notes.append(stateful_note(result))
    row.status = RowStatus.PASSED if result.passed else RowStatus.PARITY_FAILED
    if row.status is RowStatus.PARITY_FAILED and mode.name == "int8":
        # where the error jumps (a PT2E source is calibrated again on these samples)
        found = failure_summary(
            session.pool, session.reference.ref, artifact, None, session.debug_inputs(), DEBUG_TIMEOUT
        )
        if found is not None:
            row.notes.append(found[0])
            row.details["layer_debug"] = found[1]
    return row
