"""Makes the plugin and CLI tests' style sets in models/tiny-styles/styles, each a ready ONNX
style file imported as a user imports one, whose picture the tests can say exactly:
- `invert`: NHWC, values in [0, 255], 64 x 64: the input's negative;
- `identity`: NCHW, values in [0, 1], 96 x 96: the input itself (another layout, range and size,
  for the tests that swap one style for another while playing).

    ORT_DISABLE_TELEMETRY=1 PYTHONPATH=models .venv/bin/python models/tiny-styles/make_styles.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import onnx
from onnx import TensorProto, helper

HERE = Path(__file__).resolve().parent


def style_graph(name, node, shape, constant):
    picture = helper.make_tensor_value_info("picture", TensorProto.FLOAT, shape)
    result = helper.make_tensor_value_info("result", TensorProto.FLOAT, shape)
    graph = helper.make_graph([node], name, [picture], [result], [constant])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="make_styles.py",
                             ir_version=10)


def main():
    styles = {
        "invert": (style_graph("invert", helper.make_node("Sub", ["white", "picture"], ["result"], name="invert"),
                               [1, 64, 64, 3], helper.make_tensor("white", TensorProto.FLOAT, [], [255.0])), "byte"),
        "identity": (style_graph("identity", helper.make_node("Mul", ["picture", "one"], ["result"], name="keep"),
                                 [1, 3, 96, 96], helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])), "unit"),
    }
    with tempfile.TemporaryDirectory() as scratch:
        for name, (model, value_range) in styles.items():
            path = Path(scratch) / f"{name}.onnx"
            onnx.save(model, str(path))
            subprocess.run([sys.executable, "-m", "animecam_models", "import", str(path), "--range", value_range,
                            "--models-dir", str(HERE)], check=True)


if __name__ == "__main__":
    main()
