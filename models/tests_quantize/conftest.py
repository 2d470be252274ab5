"""The quantiser's tests: onnx, onnxruntime and OpenCV (make setup installs them), never
PyTorch."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
