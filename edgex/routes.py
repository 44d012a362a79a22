"""The format graph: formats are nodes, converters are edges. `edgex export` picks the shortest available route
(a direct converter when there is one); `--route a>b>c` forces one; `edgex routes` shows the graph.

Intermediate models of a multi-hop route are written to a temporary folder and converted in float32; only the
last hop quantizes, and parity is always measured against the original source.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from edgex.errors import MissingDependencyError, UsageError
from edgex.exporters import Converter, all_converters
from edgex.suggest import did_you_mean

MAX_HOPS = 4


@dataclass(frozen=True)
class Route:
    hops: tuple[Converter, ...]
    formats: tuple[str, ...]  # source format, intermediate formats..., artifact format

    def describe(self) -> str:
        steps = [self.formats[0]] + [
            f"{fmt} ({hop.name})" for fmt, hop in zip(self.formats[1:], self.hops, strict=True)
        ]
        return " > ".join(steps)

    @property
    def missing(self) -> list[tuple[Converter, list[str]]]:
        return [(hop, hop.missing()) for hop in self.hops if hop.missing()]


def graph_formats() -> set[str]:
    converters = all_converters().values()
    return {c.produces for c in converters} | {s for c in converters for s in c.sources}


def all_routes(source: str, target: str) -> list[Route]:
    """Every simple path from `source` to `target` up to MAX_HOPS, shortest first (registration order breaks ties)."""
    converters = list(all_converters().values())
    found: list[Route] = []
    queue: deque[tuple[tuple[Converter, ...], tuple[str, ...]]] = deque([((), (source,))])
    while queue:
        hops, formats = queue.popleft()
        if len(hops) >= MAX_HOPS:
            continue
        for converter in converters:
            if formats[-1] in converter.sources and converter.produces not in formats:
                route = ((*hops, converter), (*formats, converter.produces))
                if converter.produces == target:
                    found.append(Route(*route))
                else:
                    queue.append(route)
    return found


def choose_route(source: str, target: str, forced: str | None = None) -> Route:
    """The forced route, else the shortest whose converters are all installed."""
    if forced:
        return _forced(source, target, forced)
    routes = all_routes(source, target)
    if not routes:
        raise UsageError(f"no route from {source} to {target}", hint="see 'edgex routes' for what converts to what")
    available = [r for r in routes if not r.missing]
    if available:
        return available[0]
    best = routes[0]
    hop, packages = best.missing[0]
    raise MissingDependencyError(
        f"converting {source} to {target} ({best.describe()}) needs {', '.join(packages)} for {hop.name}",
        hint=hop.hint(),
    )


def _forced(source: str, target: str, text: str) -> Route:
    formats = [part.strip() for part in text.split(">") if part.strip()]
    if not formats:
        raise UsageError(f"--route '{text}' names no format", hint=f"for example '{source}>onnx>{target}'")
    known = graph_formats()
    for name in formats:
        if name not in known:
            raise UsageError(f"--route: unknown format '{name}'", hint=did_you_mean(name, known))
    if formats[0] != source:
        formats.insert(0, source)
    if formats[-1] != target:
        raise UsageError(f"--route {text} does not end at {target}", hint=f"end it with '>{target}'")
    hops = []
    for start, end in itertools.pairwise(formats):
        edge = next((c for c in all_converters().values() if start in c.sources and c.produces == end), None)
        if edge is None:
            raise UsageError(f"--route {text}: no converter from {start} to {end}", hint="see 'edgex routes'")
        hops.append(edge)
    route = Route(tuple(hops), tuple(formats))
    if route.missing:
        hop, packages = route.missing[0]
        raise MissingDependencyError(f"--route {text} needs {', '.join(packages)} for {hop.name}", hint=hop.hint())
    return route
