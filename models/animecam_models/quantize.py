"""Static int8 quantisation of a model set for CPUs with VNNI, with a measured quality report.

    python -m animecam_models.quantize --models models/vox-256            # writes models/vox-256-int8
    python -m animecam_models.quantize --models models/ugatit --min-psnr 28

Needs onnx, onnxruntime, numpy and OpenCV (to read the calibration media); never PyTorch.

What it does, per graph (fomm_kp, fomm_generator, ugatit_light, ugatit_full, and an imported style
network's `style`; other graphs, such as fomm_encoder, which runs once per portrait, are copied in
fp32):
1. real calibration inputs built from the registry media that set-up fetched (the talking clip,
   the face photos moved by known similarity transforms, the anime portraits), as the elements
   build them: face crops, the generator's relative motion from the fp32 keypoint detector;
2. QDQ int8 with ONNX Runtime's quantiser: uint8 activations, int8 per-channel weights, the
   convolutions only; convolutions reading or writing fewer than 8 channels (the RGB layers) stay
   float: ONNX Runtime's int8 kernel ran U-GAT-IT's 64->3 output layer in 67 ms against 29 ms,
   its 3->64 input layer in 8.4 against 5.8, and that layer alone cost it 1.8 dB;
3. U-GAT-IT and the keypoint detector: every int8 convolution's output channels are first
   equalised (shifted to zero mean and scaled to unit spread over the calibration inputs, the
   inverse applied by one float per-channel affine after it, or left to the instance norm that
   reads it; exact in fp32). U-GAT-IT's instance norms amplify the error of a channel whose
   spread is small next to the tensor's range; this gained 2 dB on the random light graph, and
   the keypoints' mean error went from 1.98 to 1.58 px.
   U-GAT-IT also keeps its most sensitive convolutions float (measured one at a time) and takes
   each tensor's MSE-optimal range instead of the calibrator's (see `recipes`);
4. the quality report on held-out inputs that calibration never saw (three people, turned,
   mirrored, under five lights; see `load_media`): PSNR and max abs difference of the int8
   image against the fp32 one, keypoint error in pixels of the crop, and the worst input by
   name. Keypoints are judged on their worst picture's mean error; images on the held-out
   set's PSNR. Graphs with several recipes (U-GAT-IT: the body int8, or the decoder only) take
   the first in a fixed order (fastest first) that reaches the threshold, by quality alone; a
   graph that reaches it with none fails the command, naming the graph and the gap, unless
   --force (the manifest then says `passes_threshold: false`);
5. a graph whose int8 form is not at least MIN_SPEED_UP (1.1x) faster than fp32 here stays fp32
   (medians of 5 runs, both printed): the margin keeps a graph near 1.0x from flipping with the
   machine's load.

Reproducible: on one machine the same input gives the same graphs and report, byte for byte (sampling seeded per
tensor, one hash seed for ONNX Runtime's set walks; the command re-runs itself with
PYTHONHASHSEED=0). Only the timings, and so a graph within noise of 1.1x, depend on the machine.
It prints the time per phase and its peak memory (one graph, one session at a time).

The set is written beside the fp32 one (`NAME-int8`) with its own manifest: precision per graph,
the quality report, and provenance (the fp32 set and its checksums, the calibration media).
"""

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import resource
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# ONNX Runtime reads its telemetry opt-out once, when it initialises: set it before the import.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
from google.protobuf.message import DecodeError  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidGraph, InvalidProtobuf  # noqa: E402
from onnxruntime.quantization import (  # noqa: E402
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import manifest  # noqa: E402  (models/manifest.py)

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ROOT / ".cache" / "media"
TOOL = f"animecam_models.quantize (onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__})"
QUANTIZED = ("fomm_kp", "fomm_generator", "ugatit_light", "ugatit_full", "style")
DEFAULT_MIN_PSNR = 30.0
# Mean keypoint error allowed, in pixels of the keypoint detector's crop. FOMM's keypoints are
# soft-argmaxes over a 58x58 heatmap of the 256 crop, 4.4 px a cell: 2 px is under half a cell.
DEFAULT_MAX_KEYPOINT_ERROR = 2.0
# Output layers narrower than this stay float (see the module's docs).
MIN_INT8_CHANNELS = 8
# int8 replaces fp32 only when it runs at least this much faster (median of SPEED_RUNS runs
# each): a graph near 1.0x would otherwise flip between int8 and fp32 from run to run with the
# load on the machine.
MIN_SPEED_UP = 1.1
SPEED_RUNS = 5


# --- Calibration media ---------------------------------------------------------------------------

@dataclass
class Media:
    """Real pictures, split once: calibration sees `calibration`, the report sees `held_out`."""

    calibration_faces: list
    held_out_faces: list
    calibration_portraits: list
    held_out_portraits: list
    files: list = field(default_factory=list)
    # What each held-out picture is, for the report's worst input.
    held_out_face_names: list = field(default_factory=list)
    held_out_portrait_names: list = field(default_factory=list)


def _rgb(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f"cannot read {path}: run `make setup` (it fetches the media)")
    if image.ndim == 3 and image.shape[2] == 4:
        # Portraits are RGBA sprites: over white, as the portrait loader shows them.
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = (image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


_DETECTOR = None


def _anchors():
    """BlazeFace front's anchor centres: 16x16 cells with 2 anchors, then 8x8 with 6."""
    centres = []
    for cells, per_cell in ((16, 2), (8, 6)):
        for y in range(cells):
            for x in range(cells):
                centres += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.float32(centres)


def _face_box(rgb):
    """The most confident face of BlazeFace (the detector set-up fetched) as (cx, cy, side) in
    pixels of `rgb`, or None. The picture is padded to a square first, as the tracker does."""
    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = session(ROOT / "models" / "blazeface" / "face_detection_front_128x128.onnx")
    height, width = rgb.shape[:2]
    side = max(height, width)
    square = cv2.copyMakeBorder(rgb, 0, side - height, 0, side - width, cv2.BORDER_CONSTANT)
    image = cv2.resize(square, (128, 128), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1.0
    scores_fine, scores_coarse, boxes_fine, boxes_coarse = _DETECTOR.run(None, {"input:0": image[None]})
    scores = np.concatenate([scores_fine[0, :, 0], scores_coarse[0, :, 0]])
    boxes = np.concatenate([boxes_fine[0], boxes_coarse[0]])
    best = int(np.argmax(scores))
    if scores[best] < 0.0:  # a logit: below 0 is less than even odds
        return None
    centre = _anchors()[best] + boxes[best, :2] / 128.0
    extent = max(boxes[best, 2], boxes[best, 3]) / 128.0
    return centre[0] * side, centre[1] * side, extent * side


def _crop(rgb, center, side):
    """A square around `center`, `side` pixels wide, edge pixels repeated where it leaves the picture."""
    cx, cy = center
    matrix = np.float32([[1, 0, side / 2 - cx], [0, 1, side / 2 - cy]])
    return cv2.warpAffine(rgb, matrix, (int(side), int(side)), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def face_crop(rgb, box=None):
    """The face and some of its surroundings (1.8 times the detector's box), as the tracker crops."""
    box = box or _face_box(rgb)
    if box is None:
        height, width = rgb.shape[:2]
        box = (width / 2, height / 2, min(width, height) / 1.8)
    cx, cy, side = box
    return _crop(rgb, (cx, cy), side * 1.8)


def moved(rgb, angle, scale, shift):
    """The photo turned by `angle` degrees, scaled and shifted (a fraction of its width) around its centre."""
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    matrix[:, 2] += np.float32(shift) * width
    return cv2.warpAffine(rgb, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def clip_frames(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    if not frames:
        raise FileNotFoundError(f"cannot decode {path}: run `make setup` (it fetches the media)")
    return frames


# Known motions of the still photos: a head turning, nodding closer and further, moving aside.
MOTIONS = [(0, 1.0, (0, 0)), (-12, 1.0, (0.03, 0)), (12, 1.05, (-0.03, 0.02)), (5, 0.9, (0, -0.04)),
           (-6, 1.12, (0.05, 0.03)), (18, 0.95, (-0.05, -0.02))]


def lit(rgb, gamma=1.0, gains=(1.0, 1.0, 1.0), contrast=1.0):
    """The picture under other light: a gamma (above 1 darker), per-channel gains (a warm or cold
    light) and a contrast around mid-grey."""
    value = (rgb.astype(np.float32) / 255.0) ** gamma * np.float32(gains)
    value = (value - 0.5) * contrast + 0.5
    return (np.clip(value, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# Other light on held-out faces: dim, bright, warm (tungsten), cold and flat (overcast).
LIGHTS = {"dim": dict(gamma=1.8), "bright": dict(gamma=0.55), "warm": dict(gains=(1.1, 0.95, 0.75)),
          "cold": dict(gains=(0.8, 0.95, 1.1)), "flat": dict(contrast=0.6)}


def load_media(media=MEDIA, every=4):
    """Face crops and portraits. Calibration sees the clip's first two thirds (every `every`th
    frame), the astronaut photo moved 6 ways and two portraits. Held out: the clip's last third
    (every other frame, two also under dim and bright light), grace_hopper moved 6 ways, mirrored
    twice and under five lights, the astronaut mirrored and under three lights (pictures
    calibration never saw), and the third portrait: three people, turned, tilted, near, far,
    lit five ways."""
    media = Path(media)
    clip = media / "carphone_pristine.mp4"
    all_frames = clip_frames(clip)
    first_held_out = (len(all_frames[::every]) * 2 // 3) * every
    # One face box per clip frame; the clip's face stays in place, so a frame where the detector
    # misses takes the last box seen.
    box = None

    def clip_crop(frame):
        nonlocal box
        box = _face_box(frame) or box
        return face_crop(frame, box)

    calibration_faces = [clip_crop(frame) for frame in all_frames[:first_held_out:every]]
    held_out, names = [], []

    def hold_out(picture, name):
        held_out.append(picture)
        names.append(name)

    box = None
    for index in range(first_held_out, len(all_frames), 2):
        hold_out(clip_crop(all_frames[index]), f"carphone_pristine.mp4 frame {index}")
    for light in ("dim", "bright"):
        hold_out(face_crop(lit(all_frames[first_held_out], **LIGHTS[light])),
                 f"carphone_pristine.mp4 frame {first_held_out}, {light} light")

    def motion_name(motion):
        angle, scale, shift = motion
        return f"turned {angle} deg, scaled {scale}, shifted {shift}"

    astronaut, grace_hopper = _rgb(media / "astronaut.png"), _rgb(media / "grace_hopper.jpg")
    calibration_faces += [face_crop(moved(astronaut, *motion)) for motion in MOTIONS]
    for motion in MOTIONS:
        hold_out(face_crop(moved(grace_hopper, *motion)), f"grace_hopper.jpg {motion_name(motion)}")
    for motion in MOTIONS[1:3]:
        hold_out(face_crop(moved(grace_hopper[:, ::-1], *motion)), f"grace_hopper.jpg mirrored, {motion_name(motion)}")
    for light, settings in LIGHTS.items():
        hold_out(face_crop(lit(grace_hopper, **settings)), f"grace_hopper.jpg, {light} light")
    hold_out(face_crop(moved(astronaut[:, ::-1], *MOTIONS[3])), f"astronaut.png mirrored, {motion_name(MOTIONS[3])}")
    for light in ("dim", "warm", "flat"):
        hold_out(face_crop(lit(astronaut, **LIGHTS[light])), f"astronaut.png, {light} light")

    portraits = {name: _rgb(media / f"sylvie_green_{name}.png") for name in ("normal", "smile", "surprised")}
    portrait_crops = {name: face_crop(image) for name, image in portraits.items()}
    files = [clip] + [media / f for f in ("astronaut.png", "grace_hopper.jpg")] + [
        media / f"sylvie_green_{name}.png" for name in portraits
    ]
    return Media(
        calibration_faces=calibration_faces,
        held_out_faces=held_out,
        calibration_portraits=[portrait_crops["normal"], portrait_crops["smile"]],
        held_out_portraits=[portrait_crops["surprised"]],
        files=files,
        held_out_face_names=names,
        held_out_portrait_names=["sylvie_green_surprised.png"],
    )


# --- Graph inputs --------------------------------------------------------------------------------

# Each normalisation's value per byte level and at black, and its peak-to-peak range.
VALUE_RANGES = {"symmetric": (1 / 127.5, -1.0, 2.0), "unit": (1 / 255, 0.0, 1.0), "byte": (1.0, 0.0, 255.0)}


def image_tensor(rgb, spec):
    """An RGB picture as the graph's image input of the manifest's layout (NCHW unless it says
    nhwc), size and normalisation."""
    nhwc = spec.get("layout") == "nhwc"
    height, width = spec["shape"][1:3] if nhwc else spec["shape"][2:4]
    resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    scale, offset, _ = VALUE_RANGES[spec.get("normalization", "unit")]
    value = resized * np.float32(scale) + np.float32(offset)
    return np.ascontiguousarray(value[None] if nhwc else value.transpose(2, 0, 1)[None])


def session(path, threads=0):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def generator_inputs(fp32_dir, spec_of, faces, portraits):
    """The generator's inputs as the FOMM elements feed it: the portrait, its encoding and keypoints,
    and the driving keypoints after relative motion (the first face is the reference pose)."""
    kp = session(fp32_dir / spec_of("fomm_kp")["file"])
    encoder = session(fp32_dir / spec_of("fomm_encoder")["file"])
    kp_image = spec_of("fomm_kp")["inputs"][0]
    source_spec = spec_of("fomm_generator")["inputs"][0]
    reference_value, reference_jacobian = kp.run(None, {"image": image_tensor(faces[0], kp_image)})
    inverse_reference = np.linalg.inv(reference_jacobian)
    feeds = []
    for portrait in portraits:
        source = image_tensor(portrait, source_spec)
        features = encoder.run(None, {"source": source})[0]
        source_value, source_jacobian = kp.run(None, {"image": image_tensor(portrait, kp_image)})
        for face in faces[1:]:
            value, jacobian = kp.run(None, {"image": image_tensor(face, kp_image)})
            feeds.append({
                "source": source,
                "features": features,
                "source_value": source_value,
                "source_jacobian": source_jacobian,
                "driving_value": (source_value + value - reference_value).astype(np.float32),
                "driving_jacobian": (jacobian @ inverse_reference @ source_jacobian).astype(np.float32),
            })
    return feeds


def graph_input_names(graph, face_names, portrait_names):
    """What each of `graph_inputs`' feeds shows, in the same order."""
    if graph == "fomm_generator":
        return [f"{portrait} driven by {face}" for portrait in portrait_names for face in face_names[1:]]
    return face_names + portrait_names if graph == "fomm_kp" else list(face_names)


def graph_inputs(graph, fp32_dir, spec_of, faces, portraits):
    spec = spec_of(graph)
    if graph == "fomm_generator":
        return generator_inputs(fp32_dir, spec_of, faces, portraits)
    pictures = faces + portraits if graph == "fomm_kp" else faces
    image = spec["inputs"][0]
    return [{image["name"]: image_tensor(picture, image)} for picture in pictures]


# --- Graph rewriting ----------------------------------------------------------------------------

def inner_tensors(path, feeds, wanted):
    """For each feed, the values of the graph's tensors `wanted` (names; those the graph does not
    know are left out): the graph is run with them exposed as outputs. Yields {name: value}.
    The graphs here keep their weights in a data file beside them (see `prepare`): the probe is
    written beside it too, and only the graph's structure passes through Python."""
    path = Path(path)
    probe = path.with_name(path.stem + ".probe.onnx")
    try:
        onnx.shape_inference.infer_shapes_path(str(path), str(probe))
        model = onnx.load(str(probe), load_external_data=False)
        known = {value.name: value for value in
                 list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)}
        outputs = {output.name for output in model.graph.output}
        for name in wanted:
            if name in known and name not in outputs:
                model.graph.output.append(known[name])
        onnx.save(model, str(probe))
        del model, known
        runner = session(probe)
    finally:
        probe.unlink(missing_ok=True)
    order = [output.name for output in runner.get_outputs()]
    for feed in feeds:
        yield dict(zip(order, runner.run(None, feed)))


def tensors_to_calibrate(path, op_types):
    """The float tensors read or written by nodes of `op_types` (not weights), sorted: those ONNX
    Runtime's calibrator would range (its `select_tensors_to_calibrate`)."""
    path = Path(path)
    inferred = path.with_name(path.stem + ".inferred.onnx")
    try:
        onnx.shape_inference.infer_shapes_path(str(path), str(inferred))
        model = onnx.load(str(inferred), load_external_data=False)
    finally:
        inferred.unlink(missing_ok=True)
    infos = {value.name: value for value in
             list(model.graph.value_info) + list(model.graph.output) + list(model.graph.input)}
    weights = {tensor.name for tensor in model.graph.initializer}
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    names = set()
    for node in model.graph.node:
        if node.op_type in op_types:
            for name in list(node.input) + list(node.output):
                info = infos.get(name)
                if (info is not None and info.type.HasField("tensor_type")
                        and info.type.tensor_type.elem_type in floats and name not in weights):
                    names.add(name)
    return sorted(names)


def calibrate(path, cache_path, feeds, op_types, mse_ranges, samples_per_input=30000):
    """Writes ONNX Runtime's calibration cache for the graph at `path`: for each tensor it will
    quantise, the minimum and maximum over `feeds` (what its min-max calibrator finds), or with
    `mse_ranges` the range with the least squared rounding error (measured on U-GAT-IT light:
    +0.6 dB against percentile ranges). One pass of the graph per feed, one feed's tensors at a
    time: ONNX Runtime's calibrator built its own copy of the graph and session beside ours.
    Each tensor draws its samples from a generator seeded by its own name, so the ranges do not
    depend on the order tensors are listed in."""
    names = tensors_to_calibrate(path, op_types)
    lows, highs, samples = {}, {}, {}
    samplers = {name: np.random.default_rng(zlib.crc32(name.encode())) for name in names}
    for values in inner_tensors(path, feeds, names):
        for name in names:
            if name not in values:
                continue
            value = values[name]
            lows[name] = min(lows.get(name, np.inf), float(np.nanmin(value)))
            highs[name] = max(highs.get(name, -np.inf), float(np.nanmax(value)))
            if mse_ranges:
                flat = value.ravel()
                samples.setdefault(name, []).append(
                    flat[samplers[name].integers(0, flat.size, min(flat.size, samples_per_input))])
    ranges = {}
    for name in sorted(lows):
        low, high = lows[name], highs[name]
        if mse_ranges:
            low, high = mse_optimal_range(np.concatenate(samples.pop(name)).astype(np.float32))
        ranges[name] = TensorData(lowest=np.array([low], np.float32), highest=np.array([high], np.float32))
    save_tensors_data(TensorsData(CalibrationMethod.MinMax, ranges), cache_path)


def conv_output_statistics(path, feeds, conv_outputs):
    """Per-channel mean and standard deviation of each named convolution output over `feeds`."""
    sums = {name: [0.0, 0.0] for name in conv_outputs}
    for values in inner_tensors(path, feeds, conv_outputs):
        for name in conv_outputs:
            value = values[name].astype(np.float64)
            sums[name][0] = sums[name][0] + value.mean(axis=(0, 2, 3))
            sums[name][1] = sums[name][1] + (value**2).mean(axis=(0, 2, 3))
    statistics = {}
    for name, (first, second) in sums.items():
        mean = first / len(feeds)
        statistics[name] = (mean, np.sqrt(np.maximum(second / len(feeds) - mean**2, 1e-12)))
    return statistics


def equalize_conv_outputs(path, out, feeds, keep_float=()):
    """Rewrites every int8 convolution y = conv(x) as (conv'(x) * spread + mean) with
    conv' = (conv - mean) / spread per output channel: the same function, but every channel the
    quantiser sees at the convolution's output is centred and of unit spread. Where an instance
    norm alone reads y, the Mul and Add are left out: it removes each channel's mean and spread
    itself (exact but for its epsilon, 1e-5 against spreads near 1)."""
    # The graph's structure only; the weights rewritten are read one by one from the data file
    # beside it (the others stay there, and the rewritten graph points at them too).
    base = str(Path(path).parent)
    model = onnx.load(str(path), load_external_data=False)
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    convs = [node.output[0] for node in model.graph.node
             if node.op_type == "Conv" and node.input[1] in initializers and node.name not in keep_float]
    statistics = conv_output_statistics(path, feeds, convs)
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    readers = {}
    for node in model.graph.node:
        for tensor in node.input:
            readers.setdefault(tensor, []).append(node.op_type)
    nodes = []
    for node in model.graph.node:
        nodes.append(node)
        if node.op_type != "Conv" or node.output[0] not in statistics:
            continue
        mean, spread = statistics[node.output[0]]
        scale = 1.0 / np.maximum(spread, 1e-6)
        weight = numpy_helper.to_array(initializers[node.input[1]], base)
        if len(node.input) < 3 or not node.input[2]:
            bias = np.zeros(weight.shape[0], np.float32)
            bias_name = node.output[0] + "_bias"
            if len(node.input) < 3:
                node.input.append(bias_name)
            else:
                node.input[2] = bias_name
        else:
            bias = numpy_helper.to_array(initializers[node.input[2]], base)
        initializers[node.input[1]].CopyFrom(numpy_helper.from_array(
            (weight * scale[:, None, None, None]).astype(np.float32), node.input[1]))
        new_bias = numpy_helper.from_array(((bias - mean) * scale).astype(np.float32), node.input[2])
        if node.input[2] in initializers:
            initializers[node.input[2]].CopyFrom(new_bias)
        else:
            model.graph.initializer.append(new_bias)
        original = node.output[0]
        if readers.get(original) == ["InstanceNormalization"]:
            continue
        node.output[0] = original + "_equalized"
        # One per-channel affine op (an inference batch norm with unit variance) rather than a
        # Mul and an Add: one pass over the tensor instead of two.
        epsilon = 1e-5
        model.graph.initializer.extend([
            numpy_helper.from_array(spread.astype(np.float32), original + "_spread"),
            numpy_helper.from_array(mean.astype(np.float32), original + "_mean"),
            numpy_helper.from_array(np.zeros_like(mean, np.float32), original + "_zero"),
            numpy_helper.from_array(np.full_like(mean, 1.0 - epsilon, np.float32), original + "_one"),
        ])
        nodes.append(helper.make_node(
            "BatchNormalization",
            [node.output[0], original + "_spread", original + "_mean", original + "_zero", original + "_one"],
            [original], name=original + "_restore", epsilon=epsilon))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(out))


def narrow_convs(model):
    """Names of the convolutions reading or writing fewer than MIN_INT8_CHANNELS channels: the
    RGB input and output layers."""
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    return [
        node.name for node in model.graph.node
        if node.op_type == "Conv" and node.input[1] in initializers
        and min(initializers[node.input[1]].dims[:2]) < MIN_INT8_CHANNELS
    ]


def encoder_convs(model):
    """U-GAT-IT's encoder: the convolutions before the class activation map's concatenation."""
    names = []
    for node in model.graph.node:
        if node.op_type == "Concat":
            break
        if node.op_type == "Conv":
            names.append(node.name)
    return names


def ugatit_sensitive_convs(model):
    """The convolutions whose int8 error costs U-GAT-IT the most, measured one at a time on the
    random light graph (dB gained by keeping each float): the downsampling convolutions (+0.47,
    +0.27; the RGB input layer, +1.81, is float anyway), the class activation map's 1x1
    convolution (+0.31) and the decoder's first (+0.23). Every other one gained 0.18 or less."""
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    strided = [node.name for node in convs
               if any(attribute.name == "strides" and max(attribute.ints) > 1 for attribute in node.attribute)]
    after_concat, seen_concat = [], False
    for node in model.graph.node:
        seen_concat = seen_concat or node.op_type == "Concat"
        if seen_concat and node.op_type == "Conv":
            after_concat.append(node.name)
    return strided + after_concat[:2]


def small_gemms(model, elements=1 << 20):
    """Fully connected layers under a million weights: too small for int8 to pay, so float."""
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    return [
        node.name for node in model.graph.node
        if node.op_type in ("Gemm", "MatMul") and len(node.input) > 1 and node.input[1] in initializers
        and np.prod(initializers[node.input[1]].dims) < elements
    ]


def mse_optimal_range(values, steps=16):
    """The [low, high] for 256 levels with the least squared error on `values`: each end moved in
    from the extreme by up to 75%, one end at a time (min-max keeps rare large values exactly
    and rounds every common one coarsely; percentiles clip them all alike)."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return low, high

    def error(lo, hi):
        step = (hi - lo) / 255.0
        rounded = np.clip(np.round((values - lo) / step), 0, 255) * step + lo
        return float(np.mean((rounded - values) ** 2))

    factors = [1.0 - 0.05 * i for i in range(steps)]
    best_low, best_high = low, high
    for _ in range(2):
        best_high = min((high * f for f in factors if high * f > best_low), key=lambda hi: error(best_low, hi))
        if low < 0:
            best_low = min((low * f for f in factors), key=lambda lo: error(lo, best_high))
    return best_low, best_high


def head_convs(model):
    """The convolutions no other convolution reads from: the keypoint and Jacobian heads."""
    nodes = list(model.graph.node)
    readers = {}
    for index, node in enumerate(nodes):
        for tensor in node.input:
            readers.setdefault(tensor, []).append(index)

    def feeds_a_conv(node):
        seen, frontier = set(), list(node.output)
        while frontier:
            for index in readers.get(frontier.pop(), []):
                if index in seen:
                    continue
                if nodes[index].op_type == "Conv":
                    return True
                seen.add(index)
                frontier.extend(nodes[index].output)
        return False

    return [node.name for node in nodes if node.op_type == "Conv" and not feeds_a_conv(node)]


# --- Recipes, quality and speed ---------------------------------------------------------------

@dataclass
class Recipe:
    name: str
    description: str
    equalize: bool
    keep_float: object = None  # model -> node names kept float, beyond the narrow RGB layers
    mse_ranges: bool = False
    op_types: tuple = ("Conv",)


def recipes(graph):
    """Fastest first. Chosen by measurement on the full-size graphs (see the module's docs)."""
    if graph.startswith("ugatit"):
        # Measured on the random light graph, PSNR against fp32 on held-out faces: every
        # convolution int8 with min-max ranges 22.2 dB, percentile 23.0, outputs equalised 24.9,
        # the RGB input layer float 26.7, the sensitive convolutions float 29.6, MSE-optimal
        # ranges 30.2 (2.0x); the decoder only 29.6 (1.34x).
        # The full variant's 1M x 256 fully connected layer (1 GB of fp32 weights read each frame)
        # is int8 too.
        # ONNX Runtime's percentile calibrator, used before, held every inner tensor of every
        # calibration input at once (most of a 14.4 GB peak); `calibrate` keeps one input's.
        def body_float(model):
            return ugatit_sensitive_convs(model) + small_gemms(model)

        def encoder_float(model):
            return encoder_convs(model) + small_gemms(model)

        return [
            Recipe("body-int8", "convolutions int8 but the RGB layers and the four most sensitive, outputs "
                   "equalised, MSE-optimal ranges", True, body_float, True, ("Conv", "Gemm")),
            Recipe("decoder-int8", "the decoder's convolutions int8, the encoder's kept float",
                   True, encoder_float, True, ("Conv", "Gemm")),
        ]
    if graph == "style":
        return [
            Recipe("all-int8", "every convolution int8 but the RGB layers, outputs equalised, MSE-optimal ranges",
                   True, None, True),
            Recipe("all-int8-minmax", "every convolution int8 but the RGB layers, outputs equalised, min-max ranges",
                   True),
        ]
    if graph == "fomm_kp":
        # Measured on the spread random graph (mean px): min-max 1.98, percentile 1.84,
        # equalised min-max 1.58, equalised percentile 1.59.
        return [
            Recipe("all-int8", "every convolution int8, outputs equalised, min-max calibration", True),
            Recipe("heads-float", "the hourglass int8, the keypoint and Jacobian heads float", True, head_convs),
        ]
    return [Recipe("all-int8", "every convolution int8 but the RGB output layer, min-max calibration", False)]


def in_child(function, *args):
    """`function(*args)` in a fresh interpreter, waited for: what a step holds in Python (ONNX's
    copy of a 1 GB graph, ONNX Runtime's quantiser working on it) goes back to the system when it
    ends, instead of staying in this process's heap under the sessions of the steps after."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def prepare(fp32_path, out):
    """What ONNX Runtime's `quant_pre_process` does for these graphs, file to file: its basic
    graph optimisations (batch norms folded into convolutions, constants folded), ONNX shape
    inference and the mark its quantiser looks for. The graph that comes out keeps its weights in
    a data file beside it (`out`.data), so the steps after read only its structure in Python and
    ONNX Runtime maps the weights from the file. (`quant_pre_process` held the graph in Python
    while an optimising session held two more copies: 5.4 GB for U-GAT-IT full's 1.1 GB; here
    each step holds about two: 2.2 GB.)"""
    out = Path(out)
    whole = out.with_name(out.stem + ".whole.onnx")
    optimized = out.with_name(out.stem + ".optimized.onnx")
    for stale in (out, whole, optimized, Path(f"{out}.data"), Path(f"{whole}.data")):
        stale.unlink(missing_ok=True)
    onnx.save_model(onnx.load(str(fp32_path)), str(whole), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=f"{whole.name}.data", size_threshold=1024)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.optimized_model_filepath = str(optimized)
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", f"{out.name}.data")
    onnxruntime.InferenceSession(str(whole), options, providers=["CPUExecutionProvider"])
    whole.unlink()
    Path(f"{whole}.data").unlink()
    onnx.shape_inference.infer_shapes_path(str(optimized), str(optimized))
    model = onnx.load(str(optimized), load_external_data=False)
    # The quantiser and the recipes pick nodes by name; a graph from elsewhere (an imported style
    # network) may leave them unnamed, which would make every node the same "".
    taken = {node.name for node in model.graph.node}
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = next(name for name in (f"{node.op_type}_{index}_{n}" for n in range(len(taken) + 1))
                             if name not in taken)
            taken.add(node.name)
    model.metadata_props.append(onnx.StringStringEntryProto(key="onnx.quant.pre_process", value="onnxruntime.quant"))
    onnx.save(model, str(out))
    optimized.unlink()


def quantize_prepared(prepared, out, op_types, keep, ranges):
    """ONNX Runtime's QDQ quantiser on the prepared graph, its ranges read from the cache
    `ranges` (its calibrator does not run)."""
    quantize_static(
        str(prepared), str(out), None,
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=list(op_types),
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=keep,
        calibration_cache_path=str(ranges),
    )
    onnx.checker.check_model(str(out))


def quantize_graph(fp32_path, out, recipe, calibration_feeds, scratch, phase):
    """`recipe` applied to the graph at `fp32_path`, written to `out`; returns the convolutions
    kept float. `phase(name)` times each step."""
    prepared = Path(scratch) / "prepared.onnx"
    with phase("prepare"):
        in_child(prepare, fp32_path, prepared)
        # The graph without its weights (in the data file beside it): the choices read names and shapes.
        model = onnx.load(str(prepared), load_external_data=False)
        keep = list(dict.fromkeys(narrow_convs(model) + (recipe.keep_float(model) if recipe.keep_float else [])))
        del model
    if recipe.equalize:
        equalized = Path(scratch) / "equalized.onnx"
        with phase("equalise"):
            equalize_conv_outputs(prepared, equalized, calibration_feeds, keep)
        prepared = equalized
    ranges = Path(scratch) / f"{recipe.name}.ranges.json"
    with phase("calibrate"):
        calibrate(prepared, ranges, calibration_feeds, recipe.op_types, recipe.mse_ranges)
    with phase("quantise"):
        in_child(quantize_prepared, prepared, out, recipe.op_types, keep, ranges)
    return keep


@dataclass
class Quality:
    held_out_inputs: int
    psnr_db: float = None
    worst_psnr_db: float = None
    max_abs_diff: float = None
    keypoint_error_px: float = None
    worst_input_keypoint_error_px: float = None
    max_keypoint_error_px: float = None
    worst_input: str = None

    def passes(self, min_psnr, max_keypoint_error):
        # Keypoints: the worst picture's mean error, not the set's: a face the detector places
        # 2.4 px off is off whatever the others do. PSNR: the whole held-out set's (its mean
        # squared error), the figure the 30 dB threshold was set against; the worst input's is
        # reported beside it.
        if self.keypoint_error_px is not None:
            return self.worst_input_keypoint_error_px <= max_keypoint_error
        return self.psnr_db >= min_psnr

    def better_than(self, other):
        if self.keypoint_error_px is not None:
            return self.worst_input_keypoint_error_px < other.worst_input_keypoint_error_px
        return self.psnr_db > other.psnr_db

    def gap(self, min_psnr, max_keypoint_error):
        if self.keypoint_error_px is not None:
            return (f"{self.worst_input_keypoint_error_px:.2f} px mean keypoint error on its worst held-out "
                    f"picture ({self.worst_input}), {self.worst_input_keypoint_error_px - max_keypoint_error:.2f} px "
                    f"over the {max_keypoint_error:.2f} px allowed")
        return f"{self.psnr_db:.1f} dB PSNR, {min_psnr - self.psnr_db:.1f} dB under the {min_psnr:.1f} dB threshold"

    def __str__(self):
        if self.keypoint_error_px is not None:
            return (f"keypoint error {self.keypoint_error_px:.2f} px mean, worst picture "
                    f"{self.worst_input_keypoint_error_px:.2f} px mean ({self.worst_input}), "
                    f"{self.max_keypoint_error_px:.2f} px max")
        return (f"PSNR {self.psnr_db:.1f} dB (worst input {self.worst_psnr_db:.1f} dB: {self.worst_input}), "
                f"max abs diff {self.max_abs_diff:.3f}")

    def as_manifest(self):
        return {key: round(value, 4) if isinstance(value, float) else value
                for key, value in self.__dict__.items() if value is not None}


def reference_outputs(fp32_path, feeds, spec):
    """The fp32 graph's first output for each feed: computed once per graph, whatever the number
    of recipes measured against it."""
    reference = session(fp32_path)
    output = spec["outputs"][0]["name"]
    return [reference.run([output], feed)[0] for feed in feeds]


def measure_quality(graph, wanted, int8_path, feeds, names, spec):
    """int8 against fp32 (`wanted`: its outputs) on held-out feeds (`names` say what each shows):
    the image output's PSNR over its value range, or for keypoints the error in pixels of the
    crop; and the worst input."""
    candidate = session(int8_path)
    output = spec["outputs"][0]["name"]
    quality = Quality(held_out_inputs=len(feeds))
    if graph == "fomm_kp":
        side = spec["inputs"][0]["shape"][3]
        errors = []
        for feed, want in zip(feeds, wanted):
            want = want[0]
            got = candidate.run([output], feed)[0][0]
            # Keypoints are in [-1, 1] across the crop: half the side per unit.
            errors.append(np.linalg.norm(want - got, axis=-1) * side / 2)
        per_input = [float(error.mean()) for error in errors]
        worst = int(np.argmax(per_input))
        errors = np.concatenate(errors)
        quality.keypoint_error_px = float(errors.mean())
        quality.worst_input_keypoint_error_px = per_input[worst]
        quality.max_keypoint_error_px = float(errors.max())
        quality.worst_input = names[worst]
        return quality
    peak = VALUE_RANGES[spec["outputs"][0].get("normalization", "unit")][2]
    squared, per_input, max_abs = [], [], 0.0
    for feed, want in zip(feeds, wanted):
        got = candidate.run([output], feed)[0]
        error = np.mean((want.astype(np.float64) - got) ** 2)
        squared.append(error)
        per_input.append(10 * np.log10(peak**2 / max(error, 1e-20)))
        max_abs = max(max_abs, float(np.abs(want - got).max()))
    worst = int(np.argmin(per_input))
    quality.psnr_db = float(10 * np.log10(peak**2 / max(np.mean(squared), 1e-20)))
    quality.worst_psnr_db = float(per_input[worst])
    quality.worst_input = names[worst]
    quality.max_abs_diff = max_abs
    return quality


def milliseconds(path, feed, runs=SPEED_RUNS):
    """Median of `runs` after a warm-up, on all cores."""
    runner = session(path)
    runner.run(None, feed)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        runner.run(None, feed)
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1000


class Phases:
    """Seconds spent per graph and phase, for the summary the command prints."""

    ORDER = ("inputs", "prepare", "equalise", "calibrate", "quantise", "quality", "speed", "write")

    def __init__(self):
        self.seconds = {}

    @contextmanager
    def __call__(self, graph, phase):
        started = time.perf_counter()
        try:
            yield
        finally:
            key = (graph, phase)
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started

    def table(self):
        graphs = list(dict.fromkeys(graph for graph, _ in self.seconds))
        lines = [f"{'seconds':16}" + "".join(f"{phase:>11}" for phase in self.ORDER) + f"{'total':>9}"]
        for graph in graphs + ["all"]:
            row = [sum(s for (g, p), s in self.seconds.items() if p == phase and graph in (g, "all"))
                   for phase in self.ORDER]
            lines.append(f"{graph:16}" + "".join(f"{value:11.1f}" for value in row) + f"{sum(row):9.1f}")
        return lines


def peak_memory_mb():
    """The most resident memory this process and, apart, its children ever had (ru_maxrss, KiB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


# --- The command ---------------------------------------------------------------------------------

class BadInput(Exception):
    """Something the user gave is not what the command needs; the message names it and what was expected."""


@dataclass
class Result:
    graph: str
    precision: str
    recipe: str = ""
    quality: Quality = None
    fp32_ms: float = None
    int8_ms: float = None
    kept_float: list = field(default_factory=list)
    tried: list = field(default_factory=list)
    failure: str = ""


def read_manifest(path):
    """A model set's manifest.json, or BadInput saying what is wrong with it."""
    try:
        document = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise BadInput(f"{path} is not valid JSON ({error.msg}, line {error.lineno} column {error.colno}): "
                       "expected a model set's manifest") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"cannot read {path} ({error}): expected a model set's manifest") from None
    if not isinstance(document, dict) or not isinstance(document.get("models"), dict):
        raise BadInput(f"{path} is not a model set's manifest: expected a JSON object with \"models\"")
    return document


def check_graph_files(fp32_dir, fp32):
    """Every graph the manifest lists is there, with the checksum it gives: a truncated or
    replaced file is named before any work starts."""
    for graph, spec in sorted(fp32["models"].items()):
        path = fp32_dir / spec.get("file", "")
        if not spec.get("file") or not path.is_file():
            raise BadInput(f"{path} ({graph}) is missing: {fp32_dir / 'manifest.json'} lists it")
        if spec.get("sha256"):
            if manifest.sha256_file(path) != spec["sha256"]:
                raise BadInput(f"{path} ({graph}) is not the graph {fp32_dir / 'manifest.json'} names (its sha256 "
                               "differs: truncated or changed?): export the set again")
            continue
        try:
            onnx.load(str(path), load_external_data=False)
        except (DecodeError, OSError) as error:
            raise BadInput(f"{path} ({graph}) is not a readable ONNX graph ({error}): export the set again") from None


def quantize_set(fp32_dir, out_dir, media, min_psnr, max_keypoint_error, force=False, keep_slower=False, log=print,
                 phases=None):
    """Quantises every graph of the set at `fp32_dir` into `out_dir`; returns the results."""
    fp32_dir, out_dir = Path(fp32_dir), Path(out_dir)
    phases = phases or Phases()
    fp32 = read_manifest(fp32_dir / "manifest.json")
    if fp32.get("precision", "fp32") != "fp32":
        raise ValueError(f"{fp32_dir} is already a {fp32['precision']} set: give the fp32 set it was made from")
    spec_of = lambda graph: fp32["models"][graph]  # noqa: E731
    out_dir.mkdir(parents=True, exist_ok=True)
    results, models = [], {}
    for graph, spec in sorted(fp32["models"].items()):
        fp32_path = fp32_dir / spec["file"]
        target = out_dir / spec["file"]
        entry = json.loads(json.dumps(spec))
        if graph not in QUANTIZED:
            shutil.copyfile(fp32_path, target)
            entry["precision"] = "fp32"
            models[graph] = entry
            continue
        try:
            result = quantize_one(graph, spec, fp32_dir, spec_of, target, media, min_psnr, max_keypoint_error,
                                  force, keep_slower, log, phases)
        except (DecodeError, InvalidProtobuf, InvalidGraph) as error:
            raise BadInput(f"{fp32_path} ({graph}) is not a readable ONNX graph ({str(error).splitlines()[0]}): "
                           "export the set again") from None
        entry["sha256"] = manifest.sha256_file(target)
        entry["precision"] = result.precision
        entry["quality"] = {
            "against": "the fp32 graph on held-out inputs",
            "recipe": result.recipe,
            **result.quality.as_manifest(),
            "passes_threshold": result.quality.passes(min_psnr, max_keypoint_error),
            "fp32_ms": round(result.fp32_ms, 2),
            "int8_ms": round(result.int8_ms, 2),
            "kept_float": result.kept_float,
            "tried": result.tried,
        }
        entry["provenance"]["notes"] = (entry["provenance"].get("notes", "") + f"; quantised by {TOOL}").lstrip("; ")
        models[graph] = entry
        results.append(result)
    document = {
        "format": manifest.FORMAT,
        "name": f"{fp32['name']}-int8",
        "description": f"int8 (QDQ, VNNI) form of {fp32['name']} for CPUs, quality measured against it",
        "precision": "int8",
        "models": models,
        "quantization": {
            "tool": TOOL,
            "fp32_set": {"name": fp32["name"], "folder": os.path.relpath(fp32_dir.resolve(), out_dir.resolve()),
                         "sha256": {graph: spec["sha256"] for graph, spec in fp32["models"].items()}},
            "calibration_media": [{"file": path.name, "sha256": manifest.sha256_file(path)} for path in media.files],
            "calibration_inputs": "carphone_pristine.mp4 first two thirds (every 4th frame), astronaut.png moved 6 ways, portraits normal and smile",
            "held_out_inputs": "carphone_pristine.mp4 last third (every other frame, one under dim and bright light), "
                               "grace_hopper.jpg moved 6 ways, mirrored twice and under 5 lights, astronaut.png "
                               "mirrored and under 3 lights, portrait surprised",
            "min_psnr_db": min_psnr,
            "max_keypoint_error_px": max_keypoint_error,
            "keypoint_rule": "the worst held-out picture's mean keypoint error",
            "min_speed_up": MIN_SPEED_UP,
            "forced": bool(force),
        },
    }
    if fp32.get("test_fixture"):
        document["test_fixture"] = True
    (out_dir / "manifest.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return results


def quantize_one(graph, spec, fp32_dir, spec_of, target, media, min_psnr, max_keypoint_error, force, keep_slower,
                 log, phases):
    """One graph: its recipes in order until one passes, the quality and speed of the one kept,
    and `target` written (int8, or the fp32 graph where int8 fails or does not pay)."""
    fp32_path = fp32_dir / spec["file"]
    with phases(graph, "inputs"):
        calibration = graph_inputs(graph, fp32_dir, spec_of, media.calibration_faces, media.calibration_portraits)
        held_out = graph_inputs(graph, fp32_dir, spec_of, media.held_out_faces, media.held_out_portraits)
        held_out_names = graph_input_names(graph, media.held_out_face_names, media.held_out_portrait_names)
    with phases(graph, "quality"):
        wanted = reference_outputs(fp32_path, held_out, spec)
    result = Result(graph, "int8")
    with tempfile.TemporaryDirectory(prefix="animecam-quantize-") as scratch:
        chosen = None
        for recipe in recipes(graph):
            candidate = Path(scratch) / f"{recipe.name}.onnx"
            kept = quantize_graph(fp32_path, candidate, recipe, calibration, scratch, lambda p: phases(graph, p))
            with phases(graph, "quality"):
                quality = measure_quality(graph, wanted, candidate, held_out, held_out_names, spec)
            result.tried.append({"recipe": recipe.name, "description": recipe.description, **quality.as_manifest()})
            log(f"  {graph} {recipe.name}: {quality}")
            if chosen is None or quality.passes(min_psnr, max_keypoint_error) or quality.better_than(chosen[3]):
                chosen = (recipe, candidate, kept, quality)
            if quality.passes(min_psnr, max_keypoint_error):
                break
        recipe, candidate, kept, quality = chosen
        result.recipe, result.kept_float, result.quality = recipe.name, kept, quality
        with phases(graph, "speed"):
            result.fp32_ms = milliseconds(fp32_path, held_out[0])
            result.int8_ms = milliseconds(candidate, held_out[0])
        speed_up = result.fp32_ms / result.int8_ms
        if not quality.passes(min_psnr, max_keypoint_error):
            result.failure = f"{graph}: int8 reaches {quality.gap(min_psnr, max_keypoint_error)} (recipes tried: {', '.join(t['recipe'] for t in result.tried)})"
        with phases(graph, "write"):
            if speed_up < MIN_SPEED_UP and not keep_slower:
                result.precision = "fp32"
                shutil.copyfile(fp32_path, target)
            elif not result.failure or force:
                shutil.copyfile(candidate, target)
            else:
                result.precision = "fp32"
                shutil.copyfile(fp32_path, target)
    seconds = sum(s for (g, _), s in phases.seconds.items() if g == graph)
    log(f"{graph}: {result.precision} ({result.recipe}), {result.quality}; fp32 {result.fp32_ms:.1f} ms, "
        f"int8 {result.int8_ms:.1f} ms ({speed_up:.2f}x) in {seconds:.0f} s; peak memory so far {peak_memory_mb():.0f} MB")
    if speed_up < MIN_SPEED_UP and not keep_slower:
        log(f"  {graph} stays fp32: int8 is {speed_up:.2f}x fp32 on this machine, under the {MIN_SPEED_UP}x it must reach")
    return result


def default_out(fp32_dir):
    fp32_dir = Path(fp32_dir)
    return fp32_dir.parent / f"{fp32_dir.name}-int8"


def check_out(fp32_dir, out_dir):
    """Refuses an --out that is not a folder the command may (re)place: BadInput naming it."""
    if out_dir.resolve() == fp32_dir.resolve():
        raise BadInput("--out is the fp32 set itself: the int8 set goes beside it")
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f"--out {out_dir} is a file, not a folder: expected the int8 set's folder; it is not replaced")
    ancestor = out_dir.resolve().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise BadInput(f"--out {out_dir}: {ancestor} is a file, not a folder")
    if (out_dir / "manifest.json").is_file():
        try:
            existing = read_manifest(out_dir / "manifest.json")
        except BadInput as error:
            raise BadInput(f"{error}; {out_dir} is not replaced") from None
        if existing.get("precision") != "int8":
            raise BadInput(f"{out_dir} holds another model set ({existing.get('name')}); it is not replaced")
    elif out_dir.exists() and any(out_dir.iterdir()):
        raise BadInput(f"{out_dir} exists and is not an int8 model set; it is not replaced")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m animecam_models.quantize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True, help="the fp32 model set's folder (with manifest.json)")
    parser.add_argument("--out", help="the int8 set's folder (default: beside it, NAME-int8)")
    parser.add_argument("--media", default=str(MEDIA), help="calibration media (what `make setup` fetched)")
    parser.add_argument("--min-psnr", type=float, default=DEFAULT_MIN_PSNR,
                        help=f"least PSNR of an int8 image against fp32, dB (default {DEFAULT_MIN_PSNR})")
    parser.add_argument("--max-keypoint-error", type=float, default=DEFAULT_MAX_KEYPOINT_ERROR,
                        help=f"most mean keypoint error on the worst held-out picture, pixels of the crop (default {DEFAULT_MAX_KEYPOINT_ERROR})")
    parser.add_argument("--force", action="store_true",
                        help="write int8 graphs under the threshold too (the manifest says which passed: "
                             "passes_threshold; make bench uses it on its random-weight set)")
    parser.add_argument("--keep-slower", action="store_true",
                        help=f"write int8 graphs even where they are not {MIN_SPEED_UP}x faster on this machine (for another one)")
    args = parser.parse_args(argv)
    for option, value in (("--models", args.models), ("--out", args.out), ("--media", args.media)):
        if value is not None and not value.strip():
            print(f"error: {option} is empty: expected a folder"
                  + (" (leave --out out for NAME-int8 beside the fp32 set)" if option == "--out" else ""), file=sys.stderr)
            return 2
    fp32_dir = Path(args.models)
    out_dir = Path(args.out) if args.out is not None else default_out(fp32_dir)
    if not (fp32_dir / "manifest.json").is_file():
        print(f"error: {fp32_dir} has no manifest.json: give a model set's folder (e.g. models/vox-256)", file=sys.stderr)
        return 2
    try:
        check_out(fp32_dir, out_dir)
    except BadInput as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    phases = Phases()
    # Written aside and moved in place at the end: a failed run leaves the old set as it was.
    partial = out_dir.resolve().parent / f".{out_dir.resolve().name}.partial"
    try:
        check_graph_files(fp32_dir, read_manifest(fp32_dir / "manifest.json"))
        media = load_media(args.media)
        shutil.rmtree(partial, ignore_errors=True)
        results = quantize_set(fp32_dir, partial, media, args.min_psnr, args.max_keypoint_error, args.force,
                               args.keep_slower, phases=phases)
    except (BadInput, ValueError, FileNotFoundError, KeyError) as error:
        shutil.rmtree(partial, ignore_errors=True)
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    print(f"time per phase (seconds; {time.perf_counter() - started:.0f} s in all):")
    for line in phases.table():
        print(f"  {line}")
    print(f"peak memory: {peak_memory_mb():.0f} MB (largest resident set of this process or one of its children)")
    failures = [result.failure for result in results if result.failure]
    if failures and not args.force:
        shutil.rmtree(partial, ignore_errors=True)
        print(f"error: {len(failures)} graph(s) below the threshold, nothing written (--force writes them anyway):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)
    print(f"wrote {out_dir}")
    print(f"{'graph':16} {'precision':9} {'recipe':13} {'fp32 ms':>8} {'int8 ms':>8} {'speed-up':>8}  quality against fp32 (held-out inputs)")
    for result in results:
        print(f"{result.graph:16} {result.precision:9} {result.recipe:13} {result.fp32_ms:8.1f} {result.int8_ms:8.1f} "
              f"{result.fp32_ms / result.int8_ms:7.2f}x  {result.quality}")
    for failure in failures:
        print(f"forced below the threshold: {failure}")
    return 0


if __name__ == "__main__":
    # ONNX Runtime's quantiser walks Python sets of tensor names, whose order follows the string
    # hash, salted per process: the same input gave graphs with other bytes. One seed, one order.
    if sys.flags.hash_randomization:
        if os.environ.get("PYTHONHASHSEED") == "0":
            # Set, and still random: the interpreter ignores the environment (-E, -I).
            print("error: the quantiser needs PYTHONHASHSEED=0 to write the same graphs each run, "
                  "and this Python ignores the environment (-E or -I): run it without them", file=sys.stderr)
            sys.exit(2)
        os.environ["PYTHONHASHSEED"] = "0"
        # The same interpreter, flags and arguments as this run, seeded.
        os.execv(sys.executable, sys.orig_argv)
    sys.exit(main())
