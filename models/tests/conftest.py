import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(MODELS))

DATA = Path(__file__).resolve().parent / "data"

torch = pytest.importorskip(
    "torch", reason="the exporter tests need PyTorch: pip install -r models/requirements.txt"
)
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript")


def official_keys(file, group):
    """{key: shape} of one group (checkpoint entry or variant) of an official key list."""
    keys = {}
    for line in (DATA / file).read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        entry, key, *dims = line.split()
        if entry == group:
            keys[key] = tuple(int(d) for d in dims if d != "scalar")
    return keys


# A `torch` package that refuses to import: first on the importer's path, it proves the import
# needs no PyTorch even on this machine, where PyTorch is installed.
NO_TORCH = MODELS / "tests_import" / "no_torch"


def import_without_torch(checkpoint, models_dir, *options):
    """Runs `python -m animecam_models import` (what `animecam models import` runs) in a child
    whose `import torch` fails; returns (its stdout, seconds). Fails the test if it fails."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(NO_TORCH), str(MODELS)]), ORT_DISABLE_TELEMETRY="1")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "animecam_models", "import", str(checkpoint), "--models-dir", str(models_dir),
         *options], env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    return result.stdout, seconds


@pytest.fixture(scope="module")
def face_crops():
    """Real faces as the tracker crops them: two photos and two frames of the registry clip."""
    from animecam_models import quantize  # noqa: PLC0415  (OpenCV, only for the tests that use it)

    media = MODELS.parent / ".cache" / "media"
    frames = quantize.clip_frames(media / "carphone_pristine.mp4")
    pictures = [quantize._rgb(media / "astronaut.png"), quantize._rgb(media / "grace_hopper.jpg"),
                frames[0], frames[len(frames) * 2 // 3]]
    return [quantize.face_crop(rgb) for rgb in pictures]


def session(path_or_model):
    """An ONNX Runtime CPU session on a graph file or a ModelProto, quiet."""
    import onnxruntime  # noqa: PLC0415

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    source = str(path_or_model) if not hasattr(path_or_model, "SerializeToString") else path_or_model.SerializeToString()
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
