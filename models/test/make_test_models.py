"""Makes the hand-written ONNX graphs the Rust inference tests load (no torch needed).

    .venv/bin/python models/test/make_test_models.py

Regenerates models/test/*.onnx and manifest.json byte for byte (needs `onnx`: pip install onnx).
"""

import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import manifest  # noqa: E402


def scale_bias(size):
    """scaled = 2 * image + 1; channel_mean = mean of image over H and W."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    scaled = helper.make_tensor_value_info("scaled", TensorProto.FLOAT, [1, 3, size, size])
    mean = helper.make_tensor_value_info("channel_mean", TensorProto.FLOAT, [1, 3])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    nodes = [
        helper.make_node("Mul", ["image", "two"], ["doubled"]),
        helper.make_node("Add", ["doubled", "one"], ["scaled"]),
        helper.make_node("ReduceMean", ["image", "axes"], ["channel_mean"], keepdims=0),
    ]
    graph = helper.make_graph(nodes, "scale_bias", [image], [scaled, mean], [two, one, axes])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="animecam-test"
    )
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def main():
    onnx.save(scale_bias(4), HERE / "scale_bias.onnx")
    onnx.save(scale_bias(8), HERE / "scale_bias_8x8.onnx")
    contract_inputs = [manifest.tensor("image", [1, 3, 4, 4], layout="nchw", normalization="unit")]
    contract_outputs = [
        manifest.tensor("scaled", [1, 3, 4, 4]),
        manifest.tensor("channel_mean", [1, 3]),
    ]
    source = "hand-written with onnx.helper by models/test/make_test_models.py"
    models = {
        "scale_bias": manifest.model(HERE, "scale_bias.onnx", contract_inputs, contract_outputs, source),
        # Same contract, but the file takes 8x8 images: loading it must fail with a contract error.
        "scale_bias_wrong_shape": manifest.model(
            HERE, "scale_bias_8x8.onnx", contract_inputs, contract_outputs, source
        ),
    }
    manifest.write(HERE, "test", models, description="graphs for the inference tests", test_fixture=True)


if __name__ == "__main__":
    main()
