"""MediaPipe's full-range face detector (BlazeFace, 192x192, faces up to 5 m; Apache-2.0) from
TFLite to ONNX, without TensorFlow, verified against the TFLite interpreter on real faces.

    python -m animecam_models.face_detector --tflite face_detection_full_range_sparse.tflite --out models/face_detection_full_range

Its graph uses the face mesh's operators (see face_mesh.py, whose reader this extends) and four
more: DENSIFY (weights stored sparse, which the TFLite interpreter densifies; the dense values are
read back from it), RESIZE_BILINEAR (half-pixel centres), DEPTH_TO_SPACE (block 2, TensorFlow's
DCR order) and the final RESHAPE to one row per anchor. Outputs: `classificators` [1, 2304, 1]
(score logits) then `regressors` [1, 2304, 16] (box and six keypoints, in input pixels from the
anchor), the order the short-range model's manifest gives (scores, then boxes).
"""

import os

# ONNX Runtime (imported by verify) reads its telemetry opt-out once, when it initialises.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import numpy as np  # noqa: E402
import tflite  # noqa: E402
from onnx import helper  # noqa: E402

from .face_mesh import (  # noqa: E402
    _Builder, _builtin, _options, converter_arguments, partial_folder, pinned_file_error, publish)

SIZE = 192
ANCHORS = 2304
SOURCE = "PyPI mediapipe==0.10.14: mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"
TFLITE_SHA256 = "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"
# As the issue asks of the face mesh: scores (probabilities, what the decoder thresholds) within
# 1e-4, boxes and keypoints within 1e-3 px of the 192 input. The logits themselves reach -270
# on empty anchors, where float32 rounding alone differs by 2e-4.
TOLERANCES = {"scores": 1e-4, "boxes_px": 1e-3}
PHOTOS = ("astronaut.png", "grace_hopper.jpg", "sylvie_green_normal.png")


def densified(tflite_path):
    """The dense values of every tensor DENSIFY makes, by tensor index: the TFLite interpreter's
    own reading of the sparse weights (run once on zeros, keeping every tensor)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(tflite_path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    (image,) = interpreter.get_input_details()
    interpreter.set_tensor(image["index"], np.zeros(image["shape"], np.float32))
    interpreter.invoke()
    model = tflite.Model.GetRootAsModel(open(tflite_path, "rb").read(), 0)
    graph = model.Subgraphs(0)
    values = {}
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if _builtin(model, op) == tflite.BuiltinOperator.DENSIFY:
            values[op.Outputs(0)] = np.array(interpreter.get_tensor(op.Outputs(0)))
    return values


class _DetectorBuilder(_Builder):
    def __init__(self, model, dense):
        super().__init__(model)
        self.dense = dense

    def convert(self, op, code):
        B = tflite.BuiltinOperator
        out = self.name(op.Outputs(0))
        if code == B.DENSIFY:
            self.constants[op.Outputs(0)] = self.dense[op.Outputs(0)]
        elif code == B.RESIZE_BILINEAR:
            options = _options(op, tflite.ResizeBilinearOptions)
            if options.AlignCorners() or not options.HalfPixelCenters():
                raise ValueError("RESIZE_BILINEAR: only half-pixel centres are converted")
            _, height, width, channels = self.shape(op.Outputs(0))
            sizes = self.initializer(out + "_sizes", np.array([1, channels, height, width], np.int64))
            self.nodes.append(helper.make_node(
                "Resize", [self.name(op.Inputs(0)), "", "", sizes], [out], mode="linear",
                coordinate_transformation_mode="half_pixel"))
        elif code == B.DEPTH_TO_SPACE:
            options = _options(op, tflite.DepthToSpaceOptions)
            # TensorFlow's NHWC order is ONNX's DCR on NCHW: channel (i * block + j) * C + c.
            self.nodes.append(helper.make_node(
                "DepthToSpace", [self.name(op.Inputs(0))], [out], blocksize=options.BlockSize(), mode="DCR"))
        elif code == B.RESHAPE:
            # The activations are NCHW here: back to NHWC, then one row per anchor.
            nhwc = out + "_nhwc"
            self.nodes.append(helper.make_node("Transpose", [self.name(op.Inputs(0))], [nhwc], perm=[0, 2, 3, 1]))
            shape = self.initializer(out + "_shape", np.array(self.shape(op.Outputs(0)), np.int64))
            self.nodes.append(helper.make_node("Reshape", [nhwc, shape], [out]))
        else:
            super().convert(op, code)


def convert(tflite_path, onnx_path):
    """Writes the ONNX graph: input `image` [1, 192, 192, 3] (NHWC RGB in [-1, 1]), outputs
    `classificators` [1, 2304, 1] and `regressors` [1, 2304, 16]."""
    model = tflite.Model.GetRootAsModel(open(tflite_path, "rb").read(), 0)
    builder = _DetectorBuilder(model, densified(tflite_path))
    builder.convert_graph()
    graph = builder.graph
    outputs = {tuple(builder.shape(graph.Outputs(i))): graph.Outputs(i) for i in range(graph.OutputsLength())}
    named = [("classificators", (1, ANCHORS, 1)), ("regressors", (1, ANCHORS, 16))]
    for name, shape in named:
        builder.nodes.append(helper.make_node("Identity", [builder.name(outputs[shape])], [name]))
    return builder.save("face_detection_full_range", [1, SIZE, SIZE, 3], named, onnx_path)


def verify(tflite_path, onnx_path, images):
    """Largest |TFLite - ONNX Runtime| on `images` ([192, 192, 3] float32 in [-1, 1]): of the
    scores as probabilities, and of the boxes and keypoints in input pixels."""
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(tflite_path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    (image,) = interpreter.get_input_details()
    by_shape = {tuple(o["shape"]): o["index"] for o in interpreter.get_output_details()}
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    def probability(logits):
        return 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))

    worst = {"scores": 0.0, "boxes_px": 0.0}
    for picture in images:
        batch = picture[None].astype(np.float32)
        interpreter.set_tensor(image["index"], batch)
        interpreter.invoke()
        scores, boxes = session.run(None, {"image": batch})
        expected_scores = interpreter.get_tensor(by_shape[(1, ANCHORS, 1)])
        expected_boxes = interpreter.get_tensor(by_shape[(1, ANCHORS, 16)])
        worst["scores"] = max(worst["scores"], float(np.abs(probability(expected_scores) - probability(scores)).max()))
        worst["boxes_px"] = max(worst["boxes_px"], float(np.abs(expected_boxes - boxes).max()))
    return worst


def _pictures(media):
    """Real photos set-up fetches, letterboxed to 192 x 192 as the element does, in [-1, 1];
    and each shrunk into a corner of a grey frame (a small, far face: what this model is for)."""
    import cv2

    pictures = []
    for name in PHOTOS:
        rgb = cv2.cvtColor(cv2.imread(str(media / name)), cv2.COLOR_BGR2RGB)
        side = max(rgb.shape[:2])
        square = np.full((side, side, 3), 0, np.uint8)
        top, left = (side - rgb.shape[0]) // 2, (side - rgb.shape[1]) // 2
        square[top:top + rgb.shape[0], left:left + rgb.shape[1]] = rgb
        full = cv2.resize(square, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        small = np.full((SIZE, SIZE, 3), 128, np.uint8)
        small[10:74, 110:174] = cv2.resize(square, (64, 64), interpolation=cv2.INTER_AREA)
        pictures += [full, small]
    return [p.astype(np.float32) / 127.5 - 1.0 for p in pictures]


def main(argv=None):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import manifest  # noqa: E402  (models/manifest.py)

    parser = converter_arguments("face_detector", __doc__, "face_detection_full_range_sparse.tflite")
    args = parser.parse_args(argv)
    error = pinned_file_error(args.tflite, TFLITE_SHA256, SOURCE)
    if error:
        print(error, file=sys.stderr)
        return 2
    missing = [name for name in PHOTOS if not (Path(args.media) / name).is_file()]
    if missing:
        print(f"error: the real photos to verify on are missing in {args.media}: {', '.join(missing)} (make setup)",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    work = partial_folder(out)
    graph = convert(args.tflite, work / "face_detection_full_range.onnx")
    pictures = _pictures(Path(args.media))
    worst = verify(args.tflite, graph, pictures)
    verdict = "ok" if all(worst[key] <= TOLERANCES[key] for key in worst) else "FAILED"
    print(f"verified on {len(pictures)} real pictures: max |TFLite - ONNX Runtime| scores "
          f"{worst['scores']:.1e} (<= {TOLERANCES['scores']:.0e}), boxes {worst['boxes_px']:.1e} px "
          f"(<= {TOLERANCES['boxes_px']:.0e}) {verdict}")
    if verdict != "ok":
        return 1
    entry = manifest.model(
        work, "face_detection_full_range.onnx",
        inputs=[manifest.tensor("image", [1, SIZE, SIZE, 3], layout="nhwc", normalization="symmetric",
                                description="RGB image, letterboxed to a square")],
        outputs=[manifest.tensor("classificators", [1, ANCHORS, 1], description="score logits, 48x48 cells x 1 anchor"),
                 manifest.tensor("regressors", [1, ANCHORS, 16],
                                 description="box (dx, dy, w, h) then 6 keypoints (dx, dy), in input pixels from the anchor")],
        source=SOURCE, license="Apache-2.0",
        exporter="animecam_models.face_detector (tflite flatbuffer -> onnx.helper, opset 18)",
        notes=f"verified against the TFLite interpreter on {len(pictures)} real pictures: scores "
              f"{worst['scores']:.1e}, boxes {worst['boxes_px']:.1e} px; keypoints: right eye, left eye, "
              "nose tip, mouth, right ear tragion, left ear tragion (subject's sides)",
    )
    publish(work, out, "face-detection-full-range", {"blazeface_full_range": entry},
            "MediaPipe BlazeFace full-range face detector (192x192, faces up to 5 m)", "face_detection_full_range.onnx")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
