"""MediaPipe's attention face mesh (478 points: the 468 of the face mesh, lips and eyes refined,
and both irises; Apache-2.0) from TFLite to ONNX, without TensorFlow.

    python -m animecam_models.face_mesh_attention --tflite face_landmark_with_attention.tflite --out models/face_mesh_attention

Beyond the face mesh's operators (face_mesh.py, whose reader this extends) the graph uses RESHAPE,
MUL, STRIDED_SLICE and three MediaPipe custom operators, which no converter handles. They are
written here from their semantics in MediaPipe's sources (mediapipe/util/tflite/operations/*.cc,
version 2 of each; attributes in a flexbuffer map):
- Landmarks2TransformMatrix: from the mesh's points, the affine transform of a 16x16 crop around
  a subset of them (lips, an eye), turned level with two of them (the mouth corners, the eye
  corners) and `scale_x`/`scale_y` times their extent: Gather, min/max and arithmetic (the angle's
  cosine and sine come from the two points' difference: ONNX has no atan2);
- TransformTensorBilinear: the 16x16 crop of a feature map through that transform (pixel centres
  aligned), zero outside: GridSample with align_corners, times a mask for samples outside;
- TransformLandmarks: points through that transform: MatMul and Add.
The whole graph is verified against MediaPipe's own implementation (the mediapipe wheel's
InferenceCalculator with its custom operator resolver) on real faces.
"""

import os

os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import numpy as np  # noqa: E402
import tflite  # noqa: E402
from flatbuffers import flexbuffers  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from .face_mesh import _Builder, converter_arguments, partial_folder, pinned_file_error, publish  # noqa: E402

SIZE = 192
# Output name in the ONNX graph, TFLite output tensor name, values.
OUTPUTS = [
    ("landmarks", "output_mesh_identity", 1404),
    ("lips", "output_lips", 160),
    ("left_eye", "output_left_eye", 142),
    ("right_eye", "output_right_eye", 142),
    ("left_iris", "output_left_iris", 10),
    ("right_iris", "output_right_iris", 10),
    ("face_score", "conv_faceflag", 1),
]
SOURCE = "PyPI mediapipe==0.10.14: mediapipe/modules/face_landmark/face_landmark_with_attention.tflite"


class _AttentionBuilder(_Builder):
    def __init__(self, model):
        super().__init__(model)
        self.count = 0

    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def node(self, op_type, inputs, hint, **attributes):
        out = self.fresh(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attributes))
        return out

    def const(self, value, hint, dtype=np.float32):
        return self.initializer(self.fresh(hint), np.array(value, dtype))

    def operand(self, index):
        """A tensor's name, or an initializer for a constant one (fp16 weights dequantised)."""
        if index in self.constants:
            return self.initializer(self.fresh("constant"), self.constants[index].astype(np.float32))
        tensor = self.graph.Tensors(index)
        if tensor.Buffer() and self.model.Buffers(tensor.Buffer()).DataLength():
            return self.initializer(self.fresh("constant"), self.constant(index).astype(np.float32))
        return self.name(index)

    def custom_options(self, op):
        data = bytes(op.CustomOptionsAsNumpy()) if op.CustomOptionsLength() else b""
        return flexbuffers.Loads(data) if data else {}

    def scalar(self, flat, index, hint):
        return self.node("Gather", [flat, self.const([index], "index", np.int64)], hint, axis=0)

    # --- MediaPipe's custom operators ---------------------------------------------------------

    def landmarks_to_transform_matrix(self, op, options):
        landmarks = self.name(op.Inputs(0))  # [1, 468, 3]
        out = self.name(op.Outputs(0))

        def point(index):
            return self.node("Gather", [landmarks, self.const([index], "index", np.int64)], "point", axis=1)

        def axis(tensor, which):
            starts, ends = self.const([which], "start", np.int64), self.const([which + 1], "end", np.int64)
            return self.node("Slice", [tensor, starts, ends, self.const([2], "axis", np.int64)], "coordinate")

        mul = lambda a, b: self.node("Mul", [a, b], "mul")  # noqa: E731
        add = lambda a, b: self.node("Add", [a, b], "add")  # noqa: E731
        sub = lambda a, b: self.node("Sub", [a, b], "sub")  # noqa: E731
        scaled = lambda a, k: mul(a, self.const(k, "k"))  # noqa: E731
        difference = sub(point(options["right_rotation_idx"]), point(options["left_rotation_idx"]))
        dx, dy = axis(difference, 0), axis(difference, 1)
        norm = self.node("Sqrt", [add(mul(dx, dx), mul(dy, dy))], "norm")
        # rotation = target - atan2(dy, dx): its cosine and sine without the angle.
        target = float(options.get("target_rotation_radians", 0.0))
        ct, st = np.cos(target), np.sin(target)
        c = self.node("Div", [add(scaled(dx, ct), scaled(dy, st)), norm], "cos")
        s = self.node("Div", [sub(scaled(dx, st), scaled(dy, ct)), norm], "sin")
        subset = self.node("Gather", [landmarks, self.const(list(options["subset_idxs"]), "subset", np.int64)],
                           "subset", axis=1)
        px, py = axis(subset, 0), axis(subset, 1)
        rx, ry = sub(mul(c, px), mul(s, py)), add(mul(s, px), mul(c, py))
        axes = self.const([1], "axes", np.int64)
        high_x = self.node("ReduceMax", [rx, axes], "max", keepdims=1)
        low_x = self.node("ReduceMin", [rx, axes], "min", keepdims=1)
        high_y = self.node("ReduceMax", [ry, axes], "max", keepdims=1)
        low_y = self.node("ReduceMin", [ry, axes], "min", keepdims=1)
        width, height = sub(high_x, low_x), sub(high_y, low_y)
        mid_x, mid_y = scaled(add(low_x, high_x), 0.5), scaled(add(low_y, high_y), 0.5)
        # The centre turned back (by -rotation).
        centre_x = add(mul(c, mid_x), mul(s, mid_y))
        centre_y = sub(mul(c, mid_y), mul(s, mid_x))
        out_w, out_h = float(options["output_width"]), float(options["output_height"])
        sx = scaled(width, float(options["scale_x"]) / out_w)
        sy = scaled(height, float(options["scale_y"]) / out_h)
        # shift(centre) x rotate(-rotation) x scale(sx, sy) x shift(-output / 2).
        m00, m01 = mul(c, sx), mul(s, sy)
        m10, m11 = self.node("Neg", [mul(s, sx)], "neg"), mul(c, sy)
        m03 = add(centre_x, add(scaled(m00, -out_w / 2), scaled(m01, -out_h / 2)))
        m13 = add(centre_y, add(scaled(m10, -out_w / 2), scaled(m11, -out_h / 2)))
        zero, one = self.const(np.zeros((1, 1, 1)), "zero"), self.const(np.ones((1, 1, 1)), "one")
        row = [m00, m01, zero, m03, m10, m11, zero, m13, zero, zero, one, zero, zero, zero, zero, one]
        flat = self.node("Concat", row, "matrix", axis=2)
        self.nodes.append(helper.make_node("Reshape", [flat, self.const([1, 4, 4], "shape", np.int64)], [out]))

    def matrix_entries(self, matrix, indices):
        flat = self.node("Reshape", [matrix, self.const([16], "shape", np.int64)], "flat")
        return [self.scalar(flat, index, "entry") for index in indices]

    def transform_tensor_bilinear(self, op, options):
        features = self.name(op.Inputs(0))  # NCHW here
        matrix = self.name(op.Inputs(1))
        out = self.name(op.Outputs(0))
        _, in_h, in_w, _ = self.shape(op.Inputs(0))
        out_h, out_w = int(options["output_height"]), int(options["output_width"])
        a, b, tx, d, e, ty = self.matrix_entries(matrix, [0, 1, 3, 4, 5, 7])
        half = self.const([0.5], "half")
        # Pixel centres aligned (version 2): T -> S (T A), A and S shifting by +-0.5.
        shift = lambda t, p, q: self.node("Sub", [self.node("Add", [t, self.node("Mul", [self.node("Add", [p, q], "sum"), half], "mul")], "add"), half], "aligned")  # noqa: E731,E501
        tx, ty = shift(tx, a, b), shift(ty, d, e)
        columns = self.node("Concat", [a, d, b, e, tx, ty], "affine", axis=0)
        affine = self.node("Reshape", [columns, self.const([3, 2], "shape", np.int64)], "affine")
        ys, xs = np.mgrid[0:out_h, 0:out_w]
        grid = np.stack([xs.ravel(), ys.ravel(), np.ones(out_h * out_w)], axis=1)[None].astype(np.float32)
        coords = self.node("MatMul", [self.const(grid, "grid"), affine], "coords")  # [1, H*W, 2] pixels
        low = self.node("GreaterOrEqual", [coords, self.const(np.zeros(2), "zero")], "low")
        high = self.node("LessOrEqual", [coords, self.const([in_w - 1.0, in_h - 1.0], "edge")], "high")
        inside = self.node("Cast", [self.node("And", [low, high], "inside")], "inside", to=TensorProto.FLOAT)
        inside = self.node("ReduceMin", [inside, self.const([2], "axes", np.int64)], "inside", keepdims=1)
        normalized = self.node("Sub", [self.node("Mul", [coords, self.const([2.0 / (in_w - 1), 2.0 / (in_h - 1)], "scale")], "scaled"),
                                       self.const([1.0], "one")], "normalized")
        grid_2d = self.node("Reshape", [normalized, self.const([1, out_h, out_w, 2], "shape", np.int64)], "grid")
        sampled = self.node("GridSample", [features, grid_2d], "sampled", align_corners=1, mode="bilinear",
                            padding_mode="zeros")
        mask = self.node("Reshape", [inside, self.const([1, 1, out_h, out_w], "shape", np.int64)], "mask")
        self.nodes.append(helper.make_node("Mul", [sampled, mask], [out]))

    def transform_landmarks(self, op):
        points = self.name(op.Inputs(0))  # [1, N, 2]
        matrix = self.name(op.Inputs(1))
        out = self.name(op.Outputs(0))
        m0, m1, m3, m4, m5, m7 = self.matrix_entries(matrix, [0, 1, 3, 4, 5, 7])
        linear = self.node("Reshape", [self.node("Concat", [m0, m4, m1, m5], "linear", axis=0),
                                       self.const([2, 2], "shape", np.int64)], "linear")
        moved = self.node("MatMul", [points, linear], "moved")
        self.nodes.append(helper.make_node("Add", [moved, self.node("Concat", [m3, m7], "shift", axis=0)], [out]))

    def convert(self, op, code):
        B = tflite.BuiltinOperator
        out = self.name(op.Outputs(0))
        if code == B.CUSTOM:
            name = self.model.OperatorCodes(op.OpcodeIndex()).CustomCode().decode()
            options = self.custom_options(op)
            if name == "Landmarks2TransformMatrix":
                self.landmarks_to_transform_matrix(op, options)
            elif name == "TransformTensorBilinear":
                self.transform_tensor_bilinear(op, options)
            elif name == "TransformLandmarks":
                self.transform_landmarks(op)
            else:
                raise ValueError(f"unsupported custom operator {name}")
        elif code == B.RESHAPE:
            # Every reshape here is between [1, 1, 1, N] (NCHW [1, N, 1, 1] in this graph) and
            # [1, K, d]: the same order of values either way.
            before, after = self.shape(op.Inputs(0)), self.shape(op.Outputs(0))
            if len(after) == 4:
                assert after[1] == after[2] == 1, after
                after = [after[0], after[3], 1, 1]
            else:
                assert len(before) != 4 or before[1] == before[2] == 1, before
            self.nodes.append(helper.make_node(
                "Reshape", [self.name(op.Inputs(0)), self.const(after, "shape", np.int64)], [out]))
        elif code == B.MUL:
            self.nodes.append(helper.make_node("Mul", [self.operand(op.Inputs(0)), self.operand(op.Inputs(1))], [out]))
        elif code == B.STRIDED_SLICE:
            begin, end = self.constant(op.Inputs(1)), self.constant(op.Inputs(2))
            strides = self.constant(op.Inputs(3))
            assert not begin.any() and (end == self.shape(op.Inputs(0))).all() and (strides == 1).all()
            self.nodes.append(helper.make_node("Identity", [self.name(op.Inputs(0))], [out]))
        else:
            super().convert(op, code)


def convert(tflite_path, onnx_path):
    """Writes the ONNX graph: input `image` [1, 192, 192, 3] (NHWC RGB in [0, 1]); outputs
    `landmarks` [1, 1404] (468 x, y, z in input pixels, as the face mesh's), `lips` [1, 160],
    `left_eye` and `right_eye` [1, 142], `left_iris` and `right_iris` [1, 10] (x, y in input
    pixels) and `face_score` [1, 1] (a logit)."""
    model = tflite.Model.GetRootAsModel(open(tflite_path, "rb").read(), 0)
    builder = _AttentionBuilder(model)
    builder.convert_graph()
    graph = builder.graph
    by_name = {graph.Tensors(graph.Outputs(i)).Name().decode(): graph.Outputs(i) for i in range(graph.OutputsLength())}
    for name, tflite_name, size in OUTPUTS:
        shape = builder.const([1, size], "shape", np.int64)
        builder.nodes.append(helper.make_node("Reshape", [builder.name(by_name[tflite_name]), shape], [name]))
    return builder.save("face_mesh_attention", [1, SIZE, SIZE, 3],
                        [(name, [1, size]) for name, _, size in OUTPUTS], onnx_path)


ATTENTION_SHA256 = "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4"
POINT_TOLERANCE_PX = 1e-3
SCORE_TOLERANCE = 1e-4


def reference_outputs(tflite_path, crops, reference_python):
    """MediaPipe's own outputs for `crops` (uint8 [N, 192, 192, 3]), from the mediapipe wheel in
    the virtual environment of `reference_python` (see mediapipe_reference.py)."""
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="animecam-mediapipe-") as scratch:
        crops_path, out = Path(scratch) / "crops.npy", Path(scratch) / "reference.npz"
        np.save(crops_path, crops)
        script = Path(__file__).with_name("mediapipe_reference.py")
        run = subprocess.run([str(reference_python), str(script), str(tflite_path), str(crops_path), str(out)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"MediaPipe's reference run failed: {run.stderr.strip().splitlines()[-1:]}")
        with np.load(out) as arrays:
            return [[arrays[f"{i}_{k}"] for k in range(len(OUTPUTS))] for i in range(len(crops))]


def session(onnx_path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def looking_left(crop, onnx_path):
    """The crop with each eye's contents (between the lids' corners and heights, as the converted
    graph finds them) moved left by a third of the eye's width: a face looking far to its side, made from a real
    photo (no such photo is in the registries' media)."""
    outputs = dict(zip([name for name, _, _ in OUTPUTS],
                       session(onnx_path).run(None, {"image": (crop.astype(np.float32) / 255.0)[None]})))
    moved = crop.copy()
    for eye in ("left_eye", "right_eye"):
        # The first 16 of the 71 points outline the lids (the rest are the brow and the skin
        # around the eye).
        points = outputs[eye].reshape(-1, 2)[:16]
        x0, y0 = np.floor(points.min(axis=0)).astype(int)
        x1, y1 = np.ceil(points.max(axis=0)).astype(int)
        shift = max(1, (x1 - x0) // 3)
        region = crop[y0:y1, x0:x1]
        moved[y0:y1, x0:x1 - shift] = region[:, shift:]
        moved[y0:y1, x1 - shift:x1] = region[:, -1:]
    return moved


def verify(tflite_path, onnx_path, crops, reference_python):
    """Largest |MediaPipe - ONNX Runtime| on `crops` (uint8 [N, 192, 192, 3]): over the points
    (pixels of the 192 input) and over the face score (a logit)."""
    expected = reference_outputs(tflite_path, crops, reference_python)
    runner = session(onnx_path)
    worst = {"points_px": 0.0, "score": 0.0}
    for crop, wanted in zip(crops, expected):
        found = runner.run(None, {"image": (crop.astype(np.float32) / 255.0)[None]})
        for (name, _, _), got, want in zip(OUTPUTS, found, wanted):
            key = "score" if name == "face_score" else "points_px"
            worst[key] = max(worst[key], float(np.abs(got.ravel() - want.ravel()).max()))
    return worst


def verification_crops(media, onnx_path):
    """The face mesh's three real face crops (face_mesh.FACES), and Grace Hopper's with her eyes
    turned far left (`looking_left`)."""
    from .face_mesh import FACES, _face_crops

    crops = [np.clip(np.round(c * 255), 0, 255).astype(np.uint8)
             for c in _face_crops([(media / name, box) for name, box in FACES])]
    return np.stack(crops + [looking_left(crops[1], onnx_path)])


def main(argv=None):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import manifest  # noqa: E402  (models/manifest.py)

    root = Path(__file__).resolve().parents[2]
    parser = converter_arguments("face_mesh_attention", __doc__, "face_landmark_with_attention.tflite")
    parser.add_argument("--reference-python", default=str(root / ".cache" / "mediapipe-venv" / "bin" / "python"),
                        help="python of a virtual environment with the mediapipe wheel (set-up makes it)")
    args = parser.parse_args(argv)
    error = pinned_file_error(args.tflite, ATTENTION_SHA256, SOURCE)
    if error:
        print(error, file=sys.stderr)
        return 2
    if not Path(args.reference_python).is_file():
        print(f"error: no MediaPipe to verify against: {args.reference_python} is missing (make setup)", file=sys.stderr)
        return 2
    out = Path(args.out)
    work = partial_folder(out)
    graph = convert(args.tflite, work / "face_mesh_attention.onnx")
    crops = verification_crops(Path(args.media), graph)
    worst = verify(args.tflite, graph, crops, args.reference_python)
    verdict = "ok" if worst["points_px"] <= POINT_TOLERANCE_PX and worst["score"] <= SCORE_TOLERANCE else "FAILED"
    print(f"verified against MediaPipe's own implementation on {len(crops)} real face crops (one with the eyes "
          f"turned left): max points {worst['points_px']:.1e} px (<= {POINT_TOLERANCE_PX:.0e}), face score "
          f"{worst['score']:.1e} (<= {SCORE_TOLERANCE:.0e}) {verdict}")
    if verdict != "ok":
        return 1
    point = "x, y in input pixels"
    entry = manifest.model(
        work, "face_mesh_attention.onnx",
        inputs=[manifest.tensor("image", [1, SIZE, SIZE, 3], layout="nhwc", normalization="unit",
                                description="face crop, RGB")],
        outputs=[manifest.tensor("landmarks", [1, 1404], description="468 points: x, y in input pixels, z relative depth"),
                 manifest.tensor("lips", [1, 160], description=f"80 lip points, {point}"),
                 manifest.tensor("left_eye", [1, 142], description=f"71 points of the left eye and brow, {point}"),
                 manifest.tensor("right_eye", [1, 142], description=f"71 points of the right eye and brow, {point}"),
                 manifest.tensor("left_iris", [1, 10], description=f"5 points: the left iris's centre, then its edge, {point}"),
                 manifest.tensor("right_iris", [1, 10], description=f"5 points: the right iris's centre, then its edge, {point}"),
                 manifest.tensor("face_score", [1, 1], description="face presence, a logit")],
        source=SOURCE, license="Apache-2.0",
        exporter="animecam_models.face_mesh_attention (tflite flatbuffer -> onnx.helper, opset 18; MediaPipe's "
                 "custom operators as Gather, GridSample and MatMul)",
        notes=f"verified against MediaPipe's own implementation (mediapipe 0.10.14 InferenceCalculator) on "
              f"{len(crops)} real face crops: points {worst['points_px']:.1e} px, face score {worst['score']:.1e}",
    )
    publish(work, out, "face-mesh-attention", {"face_mesh_attention": entry},
            "MediaPipe attention face mesh (478 points: refined lips and eyes, irises)", "face_mesh_attention.onnx")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
