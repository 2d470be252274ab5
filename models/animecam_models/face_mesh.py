"""MediaPipe's face landmark model (468 points, Apache-2.0) from TFLite to ONNX, without TensorFlow.

ONNX Runtime does not run TFLite, and tflite2onnx fails on this graph; it uses seven op types
only (DEQUANTIZE of fp16 weights, CONV_2D, DEPTHWISE_CONV_2D, PRELU, ADD, MAX_POOL_2D, PAD), so
this reads the flatbuffer with the `tflite` package and writes the same computation with
`onnx.helper`. Activations are kept NCHW from the input's one transpose to the outputs.

    python -m animecam_models face-mesh --tflite face_landmark.tflite --out models/face_mesh

Needs `tflite` and `onnx`; `verify()` also needs a TFLite interpreter (`ai-edge-litert`).
"""

import os

# ONNX Runtime (imported by verify) reads its telemetry opt-out once, when it initialises.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import tflite  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

# TFLite's fused activations.
_ACTIVATIONS = {0: None, 1: "relu", 3: "relu6"}
_DTYPES = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.INT32: np.int32,
}


def _builtin(model, op):
    code = model.OperatorCodes(op.OpcodeIndex())
    return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())


def _options(op, kind):
    table = op.BuiltinOptions()
    options = kind()
    options.Init(table.Bytes, table.Pos)
    return options


def _same_pads(size, kernel, stride, dilation=1):
    """TensorFlow's SAME padding for one spatial axis: (before, after)."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


class _Builder:
    def __init__(self, model):
        self.model = model
        self.graph = model.Subgraphs(0)
        self.nodes = []
        self.initializers = []
        self.constants = {}

    def name(self, index):
        return f"t{index}"

    def shape(self, index):
        return list(self.graph.Tensors(index).ShapeAsNumpy())

    def constant(self, index):
        """A tensor stored in the file (fp16 weights dequantised to fp32)."""
        if index in self.constants:
            return self.constants[index]
        tensor = self.graph.Tensors(index)
        data = self.model.Buffers(tensor.Buffer()).DataAsNumpy()
        array = np.frombuffer(data.tobytes(), dtype=_DTYPES[tensor.Type()])
        array = array.reshape(tensor.ShapeAsNumpy())
        self.constants[index] = array
        return array

    def initializer(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def activation(self, output, kind):
        if kind is None:
            return
        raw = output + "_raw"
        self.nodes[-1].output[0] = raw
        if kind == "relu":
            self.nodes.append(helper.make_node("Relu", [raw], [output]))
        else:
            low = self.initializer(output + "_min", np.array(0.0, np.float32))
            high = self.initializer(output + "_max", np.array(6.0, np.float32))
            self.nodes.append(helper.make_node("Clip", [raw, low, high], [output]))

    def convolution(self, op, depthwise):
        x, w, b = op.Inputs(0), op.Inputs(1), op.Inputs(2)
        out = self.name(op.Outputs(0))
        options = _options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
        weights = self.constant(w).astype(np.float32)
        # TFLite: [out, kh, kw, in] (depthwise: [1, kh, kw, channels]); ONNX: [out, in/group, kh, kw].
        if depthwise:
            weights = weights.transpose(3, 0, 1, 2)
            group = self.shape(x)[3]
        else:
            weights = weights.transpose(0, 3, 1, 2)
            group = 1
        kh, kw = weights.shape[2], weights.shape[3]
        _, height, width, _ = self.shape(x)
        strides = [options.StrideH(), options.StrideW()]
        dilations = [options.DilationHFactor(), options.DilationWFactor()]
        if options.Padding() == tflite.Padding.SAME:
            top, bottom = _same_pads(height, kh, strides[0], dilations[0])
            left, right = _same_pads(width, kw, strides[1], dilations[1])
        else:
            top = bottom = left = right = 0
        inputs = [self.name(x), self.initializer(out + "_w", weights)]
        if b >= 0:
            inputs.append(self.initializer(out + "_b", self.constant(b).astype(np.float32)))
        self.nodes.append(helper.make_node(
            "Conv", inputs, [out], kernel_shape=[kh, kw], strides=strides, dilations=dilations,
            pads=[top, left, bottom, right], group=group,
        ))
        self.activation(out, _ACTIVATIONS[options.FusedActivationFunction()])

    def convert_graph(self):
        """Every operator of the graph, after one transpose of its NHWC `image` input to NCHW."""
        (image,) = [self.graph.Inputs(i) for i in range(self.graph.InputsLength())]
        self.nodes.append(helper.make_node("Transpose", ["image"], [self.name(image)], perm=[0, 3, 1, 2]))
        for i in range(self.graph.OperatorsLength()):
            op = self.graph.Operators(i)
            self.convert(op, _builtin(self.model, op))

    def save(self, graph_name, image_shape, outputs, onnx_path):
        """Writes the converted graph, checked: input `image` of `image_shape`, `outputs` as
        (name, shape) pairs, opset 18."""
        onnx_graph = helper.make_graph(
            self.nodes, graph_name,
            [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(image_shape))],
            [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)) for name, shape in outputs],
            self.initializers,
        )
        result = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="animecam")
        result.ir_version = 9
        onnx.checker.check_model(result)
        onnx.save(result, onnx_path)
        return onnx_path

    def convert(self, op, code):
        B = tflite.BuiltinOperator
        out = self.name(op.Outputs(0))
        if code == B.DEQUANTIZE:
            self.constants[op.Outputs(0)] = self.constant(op.Inputs(0)).astype(np.float32)
        elif code == B.CONV_2D:
            self.convolution(op, depthwise=False)
        elif code == B.DEPTHWISE_CONV_2D:
            self.convolution(op, depthwise=True)
        elif code == B.PRELU:
            slope = self.constant(op.Inputs(1)).astype(np.float32).reshape(-1, 1, 1)
            self.nodes.append(helper.make_node(
                "PRelu", [self.name(op.Inputs(0)), self.initializer(out + "_slope", slope)], [out]))
        elif code == B.ADD:
            options = _options(op, tflite.AddOptions)
            self.nodes.append(helper.make_node(
                "Add", [self.name(op.Inputs(0)), self.name(op.Inputs(1))], [out]))
            self.activation(out, _ACTIVATIONS[options.FusedActivationFunction()])
        elif code == B.MAX_POOL_2D:
            options = _options(op, tflite.Pool2DOptions)
            kernel = [options.FilterHeight(), options.FilterWidth()]
            strides = [options.StrideH(), options.StrideW()]
            _, height, width, _ = self.shape(op.Inputs(0))
            if options.Padding() == tflite.Padding.SAME:
                top, bottom = _same_pads(height, kernel[0], strides[0])
                left, right = _same_pads(width, kernel[1], strides[1])
            else:
                top = bottom = left = right = 0
            self.nodes.append(helper.make_node(
                "MaxPool", [self.name(op.Inputs(0))], [out], kernel_shape=kernel,
                strides=strides, pads=[top, left, bottom, right]))
        elif code == B.PAD:
            # Paddings are NHWC (before, after) pairs; ONNX wants all befores (NCHW), then afters.
            pairs = self.constant(op.Inputs(1)).astype(np.int64)[[0, 3, 1, 2]]
            pads = np.concatenate([pairs[:, 0], pairs[:, 1]])
            self.nodes.append(helper.make_node(
                "Pad", [self.name(op.Inputs(0)), self.initializer(out + "_pads", pads)], [out],
                mode="constant"))
        else:
            raise ValueError(f"unsupported TFLite operator {code}")


def convert(tflite_path, onnx_path):
    """Writes the ONNX graph: input `image` [1, 192, 192, 3] (NHWC RGB in [0, 1]), outputs
    `landmarks` [1, 1404] (468 x, y, z in input pixels) and `face_score` [1, 1] (a logit)."""
    buffer = open(tflite_path, "rb").read()
    model = tflite.Model.GetRootAsModel(buffer, 0)
    builder = _Builder(model)
    builder.convert_graph()
    graph = builder.graph
    landmarks, score = [graph.Outputs(i) for i in range(graph.OutputsLength())]
    for index, name, size in [(landmarks, "landmarks", 1404), (score, "face_score", 1)]:
        shape = builder.initializer(name + "_shape", np.array([1, size], np.int64))
        builder.nodes.append(helper.make_node("Reshape", [builder.name(index), shape], [name]))
    return builder.save("face_mesh", [1, 192, 192, 3], [("landmarks", [1, 1404]), ("face_score", [1, 1])],
                        onnx_path)


def verify(tflite_path, onnx_path, images):
    """Largest |TFLite - ONNX Runtime| over the outputs, per output, on `images` ([192, 192, 3]
    float32 in [0, 1] each)."""
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # The reference kernels on both sides: XNNPACK's and ONNX Runtime's fused kernels each
    # reorder the sums (up to 1.2e-4 px apart here), which says nothing about the conversion.
    interpreter = Interpreter(
        model_path=str(tflite_path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    (input_detail,) = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(
        str(onnx_path), options, providers=["CPUExecutionProvider"])
    worst = {"landmarks": 0.0, "face_score": 0.0}
    for image in images:
        batch = image[None].astype(np.float32)
        interpreter.set_tensor(input_detail["index"], batch)
        interpreter.invoke()
        expected = {
            "landmarks": interpreter.get_tensor(outputs[0]["index"]).reshape(1, -1),
            "face_score": interpreter.get_tensor(outputs[1]["index"]).reshape(1, -1),
        }
        found = dict(zip(["landmarks", "face_score"], session.run(None, {"image": batch})))
        for name in worst:
            worst[name] = max(worst[name], float(np.abs(expected[name] - found[name]).max()))
    return worst


SOURCE = "PyPI mediapipe==0.10.14: mediapipe/modules/face_landmark/face_landmark.tflite"
TFLITE_SHA256 = "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
TOLERANCE = 1e-4


def _face_crops(paths):
    """192x192 crops around the face of each photo (BlazeFace is not needed: the photos are
    framed by hand in `FACES`), RGB in [0, 1]."""
    import cv2

    crops = []
    for path, (x, y, side) in paths:
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        left, top = max(0, x - side // 2), max(0, y - side // 2)
        crop = image[top:top + side, left:left + side]
        crops.append(cv2.resize(crop, (192, 192)).astype(np.float32) / 255.0)
    return crops


# Real faces set-up fetches: centre and side of the face square, in pixels.
FACES = [
    ("astronaut.png", (230, 150, 260)),
    ("grace_hopper.jpg", (260, 220, 320)),
    ("sylvie_green_normal.png", (400, 300, 450)),
]


# --- What every MediaPipe conversion does (this one, face_detector.py, face_mesh_attention.py) ---

def converter_arguments(module, doc, tflite_file):
    """The command line every conversion takes: --tflite (`tflite_file` from the mediapipe wheel),
    --out, --media (the real photos it is verified on); more can be added before parsing."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog=f"animecam_models.{module}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tflite", required=True, help=f"{tflite_file} from the mediapipe wheel")
    parser.add_argument("--out", required=True, help="model folder to write (ONNX graph + manifest.json)")
    parser.add_argument("--media", default=str(Path(__file__).resolve().parents[2] / ".cache" / "media"),
                        help="folder with the real photos the conversion is verified on")
    return parser


def pinned_file_error(path, sha256, source):
    """An error message when the file at `path` is not the pinned one, else None."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != sha256:
        return f"error: {path} has sha256 {digest}, expected {sha256} ({source})"
    return None


def partial_folder(out):
    """An empty folder beside `out` to convert and verify in: it takes `out`'s name only once the
    check passed (`publish`), so an unverified graph never looks like a finished model set."""
    import shutil
    from pathlib import Path

    out = Path(out)
    work = out.parent / f".{out.name}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return work


def publish(work, out, name, models, description, graph_file):
    """Writes the manifest in `work` and moves it to `out`, replacing what was there."""
    import shutil
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import manifest  # noqa: E402  (models/manifest.py)

    manifest.write(work, name, models, description=description, fetch_hint="run `make setup`")
    shutil.rmtree(out, ignore_errors=True)
    Path(work).rename(out)
    print(f"wrote {Path(out) / graph_file}")


def main(argv=None):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import manifest  # noqa: E402  (models/manifest.py)

    parser = converter_arguments("face_mesh", __doc__, "face_landmark.tflite")
    args = parser.parse_args(argv)
    error = pinned_file_error(args.tflite, TFLITE_SHA256, SOURCE)
    if error:
        print(error, file=sys.stderr)
        return 2
    out = Path(args.out)
    work = partial_folder(out)
    graph = convert(args.tflite, work / "face_mesh.onnx")
    faces = [(Path(args.media) / name, box) for name, box in FACES]
    missing = [str(path) for path, _ in faces if not path.is_file()]
    if missing:
        print(f"error: the real faces to verify on are missing: {', '.join(missing)} (make setup)",
              file=sys.stderr)
        return 2
    try:
        worst = verify(args.tflite, graph, _face_crops(faces))
    except ImportError as error:
        print(f"error: cannot verify the conversion ({error}): pip install -r models/requirements-mesh.txt",
              file=sys.stderr)
        return 2
    verdict = "ok" if max(worst.values()) <= TOLERANCE else "FAILED"
    print(f"verified on {len(faces)} real faces: max |TFLite - ONNX Runtime| "
          f"landmarks {worst['landmarks']:.2e}, face_score {worst['face_score']:.2e} "
          f"(<= {TOLERANCE:.0e}) {verdict}")
    if verdict != "ok":
        return 1
    entry = manifest.model(
        work, "face_mesh.onnx",
        inputs=[manifest.tensor("image", [1, 192, 192, 3], layout="nhwc", normalization="unit",
                                description="face crop, RGB")],
        outputs=[manifest.tensor("landmarks", [1, 1404],
                                 description="468 points: x, y in input pixels, z relative depth"),
                 manifest.tensor("face_score", [1, 1], description="face presence, a logit")],
        source=SOURCE, license="Apache-2.0",
        exporter="animecam_models.face_mesh (tflite flatbuffer -> onnx.helper, opset 18)",
        notes=f"verified against the TFLite interpreter on {len(faces)} real faces: landmarks "
              f"{worst['landmarks']:.1e}, face_score {worst['face_score']:.1e}",
    )
    publish(work, out, "face-mesh", {"face_mesh": entry}, "MediaPipe face landmarks (468 points)",
            "face_mesh.onnx")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
