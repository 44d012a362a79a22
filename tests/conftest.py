from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_edgex


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo model exported once to every TFLite mode with all reports: shared by the tests that read them."""
    out = tmp_path_factory.mktemp("demo_export")
    result = run_edgex(
        "export",
        "demo",
        "--to",
        "tflite",
        "-q",
        "all",
        "--out",
        out,
        "--report-json",
        out / "report.json",
        "--report-md",
        out / "report.md",
        "--junit",
        out / "junit.xml",
        "--report-html",
        out / "report.html",
        "--runs",
        "20",
    )
    return {"out": out, "result": result}
