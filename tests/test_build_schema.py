"""The shipped JSON Schema of edgex.toml: generated from the option spec, valid, and in agreement with the reader."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from edgex.build.config import ConfigError, load_config
from edgex.build.schema import SHIPPED, build_file_schema
from edgex.options import OPTIONS
from tests.helpers import ROOT, run_edgex

VALID = """\
[build]
out = "dist"
runs = 5

[models.digits]
source = "demo"
preprocessing = { scale = 0.5, mean = [0.0], std = 1.0 }
thresholds = { min_top1_agreement = "97%" }
input_shapes = ["1x8x8x1"]

[targets.int8]
target = "tflite"
quantize = "int8"
io_dtype = "uint8"

[targets.pte]
target = "executorch-xnnpack"
quantize = ["none", "int8"]
options = { min_delegated = "90%" }
"""

# (edit of VALID, what the reader says): each must be refused by the schema and by the reader.
BROKEN = [
    (("runs = 5", "runz = 5"), "runz: unknown key"),
    (("runs = 5", "runs = -1"), "build.runs: expected an integer >= 0"),
    (('io_dtype = "uint8"', 'io_dtype = "uint9"'), "io_dtype: 'uint9' is not one of"),
    (('min_delegated = "90%"', 'min_delegated = "150%"'), "min_delegated: expected a percentage from 0 to 100"),
    (('source = "demo"', 'sauce = "demo"'), "sauce: unknown key"),
    (("scale = 0.5", 'scale = "half"'), "preprocessing.scale: expected a number"),
    (('"1x8x8x1"', '"1x8x0x1"'), "is not a shape"),
    (('[targets.int8]\n', '[targets.int8]\nbatch_size = true\n'), "batch_size: expected an integer"),
]


def _schema_errors(text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(build_file_schema())
    return [error.message for error in validator.iter_errors(tomllib.loads(text))]


def test_shipped_schema_is_the_generated_one_and_covers_every_key() -> None:
    shipped = json.loads(resources.files("edgex.schemas").joinpath(SHIPPED).read_text(encoding="utf-8"))
    assert shipped == build_file_schema(), "regenerate: edgex schema > edgex/schemas/edgex.schema.json"
    jsonschema.Draft202012Validator.check_schema(shipped)
    printed = run_edgex("schema")
    assert printed.returncode == 0 and json.loads(printed.stdout) == shipped
    text = json.dumps(shipped)
    for option in OPTIONS:
        if option.places:
            assert f'"{option.key}": {{"description": {json.dumps(option.help)}' in text, option.key


def test_repository_build_file_and_a_full_example_are_valid(tmp_path: Path) -> None:
    assert _schema_errors((ROOT / "edgex.toml").read_text()) == []
    assert _schema_errors(VALID) == []
    path = tmp_path / "edgex.toml"
    path.write_text(VALID)
    config = load_config(path)
    assert config.targets["pte"].options["min_delegated"] == pytest.approx(0.9)
    assert config.models["digits"].thresholds["min_top1_agreement"] == 97.0


@pytest.mark.parametrize(("edit", "message"), BROKEN, ids=[message for _, message in BROKEN])
def test_schema_and_reader_refuse_the_same_mistakes(edit: tuple[str, str], message: str, tmp_path: Path) -> None:
    assert edit[0] in VALID
    text = VALID.replace(*edit)
    assert _schema_errors(text), f"the schema accepts {edit[1]!r}"
    path = tmp_path / "edgex.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"edgex\.toml:\d+: ") as raised:
        load_config(path)
    assert message in str(raised.value)
