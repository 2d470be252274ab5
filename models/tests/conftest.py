import sys
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
