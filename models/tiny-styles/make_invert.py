"""Makes models/tiny-styles/styles/invert, the plugin tests' style set: a ready ONNX style file
(NHWC, values in [0, 255]) whose picture is the input's negative, imported as a user imports one.
The tests can then say exactly what each pixel must become.

    ORT_DISABLE_TELEMETRY=1 PYTHONPATH=models .venv/bin/python models/tiny-styles/make_invert.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import onnx
from onnx import TensorProto, helper

HERE = Path(__file__).resolve().parent


def main():
    image = helper.make_tensor_value_info("picture", TensorProto.FLOAT, [1, 64, 64, 3])
    negative = helper.make_tensor_value_info("negative", TensorProto.FLOAT, [1, 64, 64, 3])
    white = helper.make_tensor("white", TensorProto.FLOAT, [], [255.0])
    graph = helper.make_graph([helper.make_node("Sub", ["white", "picture"], ["negative"], name="invert")],
                              "invert", [image], [negative], [white])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="make_invert.py",
                              ir_version=10)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "invert.onnx"
        onnx.save(model, str(path))
        subprocess.run([sys.executable, "-m", "animecam_models", "import", str(path), "--range", "byte",
                        "--models-dir", str(HERE)], check=True)


if __name__ == "__main__":
    main()
