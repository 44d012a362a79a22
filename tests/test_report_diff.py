"""`edgex report diff`: a real export's JSON against itself (pass) and against a copy whose figures were edited."""

from __future__ import annotations

import copy
import json

from tests.helpers import load_json, run_edgex


def _table_rows(markdown: str) -> dict[tuple[str, str], list[str]]:
    """(target, mode) -> the cells of each table line."""
    rows = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 10 and cells[2] not in ("target", "---"):
            rows[(cells[2], cells[3])] = cells
    return rows


def test_diff_of_a_report_with_itself_passes(demo_export) -> None:
    report = demo_export["out"] / "report.json"
    modes = [row["mode"] for row in load_json(report)["rows"]]
    result = run_edgex("report", "diff", report, report)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _table_rows(result.stdout)
    assert sorted(rows) == sorted(("tflite", mode) for mode in modes) and len(modes) >= 4
    assert all(cells[0] == "✅" and cells[-1] == "ok" and "(+0.0%)" in cells[4] for cells in rows.values())
    assert result.stdout.startswith(f"### edgex report diff: ✅ {len(modes)} rows, no regression")


def test_diff_flags_size_parity_and_status_regressions_and_lists_added_and_removed_rows(demo_export, tmp_path) -> None:
    base_path = demo_export["out"] / "report.json"
    base = load_json(base_path)
    head = copy.deepcopy(base)
    rows = {row["mode"]: row for row in head["rows"]}
    int8_size = rows["int8"]["artifact"]["size_bytes"]
    rows["int8"]["artifact"]["size_bytes"] = int(int8_size * 1.10)  # +10%: past the 5% default
    output = rows["dynamic"]["parity"]["outputs"][0]
    output["top1_agreement"] -= 4.0  # 4 points: past the 1-point default
    rows["fp16"]["status"] = "parity_failed"
    removed = head["rows"].pop([row["mode"] for row in head["rows"]].index("none"))
    added = copy.deepcopy(rows["int8"]) | {"target": "tflite-gpu"}
    head["rows"].append(added)
    head_path = tmp_path / "head.json"
    head_path.write_text(json.dumps(head), encoding="utf-8")

    result = run_edgex("report", "diff", base_path, head_path)
    assert result.returncode == 1, result.stdout + result.stderr
    table = _table_rows(result.stdout)
    int8, dynamic, fp16 = table[("tflite", "int8")], table[("tflite", "dynamic")], table[("tflite", "fp16")]
    assert int8[0] == "❌" and "size +10.0% > 5%" in int8[-1] and "(+10.0%)" in int8[4]
    assert dynamic[0] == "❌" and "top-1 agreement -4.0 pts > 1" in dynamic[-1] and "(-4.0)" in dynamic[6]
    assert fp16[0] == "❌" and fp16[-1] == "status passed -> parity_failed"
    assert table[("tflite", removed["mode"])][0] == "➖" and table[("tflite-gpu", "int8")][0] == "➕"
    assert result.stdout.startswith(f"### edgex report diff: ❌ 3 of {len(table)} rows regressed")

    # Thresholds move the line: a 10% growth passes under --max-size-increase 15; the others still regress.
    looser = run_edgex("report", "diff", base_path, head_path, "--max-size-increase", "15", "--max-agreement-drop", "5")
    assert looser.returncode == 1 and _table_rows(looser.stdout)[("tflite", "int8")][0] == "✅"
    assert _table_rows(looser.stdout)[("tflite", "dynamic")][-1] == "ok"

    missing = run_edgex("report", "diff", tmp_path / "absent.json", head_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "absent.json" in missing.stderr


def test_diff_of_build_reports_matches_rows_by_cell_and_flags_a_cell_that_did_not_run(demo_export, tmp_path) -> None:
    report = load_json(demo_export["out"] / "report.json")
    cell = {"report": report, "error": None, "exit_code": 0, "counted": True}
    base = {"schema": "edgex.build/1", "cells": [cell | {"id": "digits/tflite-a"}, cell | {"id": "digits/tflite-b"}]}
    broken = {"id": "digits/tflite-b", "report": None, "error": "converter crashed", "exit_code": 3, "counted": True}
    head = base | {"cells": [base["cells"][0], broken]}
    paths = []
    for name, document in (("base.json", base), ("head.json", head)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(document), encoding="utf-8")

    result = run_edgex("report", "diff", *paths)
    assert result.returncode == 1, result.stdout + result.stderr
    modes = len(report["rows"])
    lines = [line for line in result.stdout.splitlines() if line.startswith("| ") and "digits/tflite-" in line]
    assert sum("| ✅ | digits/tflite-a |" in line for line in lines) == modes  # same cell, same figures
    assert sum("| ➖ | digits/tflite-b |" in line for line in lines) == modes  # its rows are gone...
    assert any("| ❌ | digits/tflite-b | - | - |" in line and "new row export_failed" in line for line in lines)
