"""The three FOMM graphs (fomm_kp, fomm_encoder, fomm_generator) built directly as ONNX, without PyTorch.

The importer turns an official checkpoint's `kp_detector` and `generator` state dicts (numpy arrays,
read without executing anything) into the same graphs `export.py` writes through PyTorch: same
inputs, outputs, shapes and meaning (contracts.fomm). The computation mirrors fomm.py operator for
operator, in the same order, so that ONNX Runtime gives the PyTorch export's outputs to about 1e-6:
softmax over the flattened heatmap after dividing by the temperature, sums over the same axes,
eval-mode batch norm as BatchNormalization (epsilon 1e-5, nothing folded here: ONNX Runtime folds it
into the convolution as it does the PyTorch export's), grid_sample with align_corners=True (the
numerics the checkpoints were trained under, torch 1.0), nearest upsampling, the 2x2 inverse in
closed form.

Torch-free: numpy and onnx only.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from . import contracts
from .architectures import FommConfig

OPSET = 18
BATCH_NORM_EPSILON = 1e-5
# DenseMotionNetwork's Gaussian variance around each keypoint (official default).
KP_VARIANCE = 0.01
# Shown (first few) when a checkpoint lacks keys or has extra ones.
LISTED_KEYS = 5


# --- The official layout --------------------------------------------------------------------------

def _anti_alias_kernel_size(scale):
    """AntiAliasInterpolation2d's kernel side for `scale` (Python's round, as the module uses)."""
    sigma = (1 / scale - 1) / 2
    return 2 * round(sigma * 4) + 1


def _conv(keys, prefix, out_channels, in_channels, kernel):
    keys[f"{prefix}.weight"] = (out_channels, in_channels, kernel, kernel)
    keys[f"{prefix}.bias"] = (out_channels,)


def _batch_norm(keys, prefix, channels):
    for name in ("weight", "bias", "running_mean", "running_var"):
        keys[f"{prefix}.{name}"] = (channels,)
    keys[f"{prefix}.num_batches_tracked"] = ()


def _hourglass_widths(block_expansion, in_features, num_blocks, max_features):
    """(encoder (in, out) per down block, decoder (in, out) per up block, out_filters)."""
    widths = [in_features] + [min(max_features, block_expansion * 2 ** (i + 1)) for i in range(num_blocks)]
    encoder = [(widths[i], widths[i + 1]) for i in range(num_blocks)]
    decoder = []
    for i in reversed(range(num_blocks)):
        in_filters = (1 if i == num_blocks - 1 else 2) * min(max_features, block_expansion * 2 ** (i + 1))
        decoder.append((in_filters, min(max_features, block_expansion * 2**i)))
    return encoder, decoder, block_expansion + in_features


def _conv_norm_blocks(keys, prefix, widths):
    """A list of 3x3 convolution + batch-norm blocks, `prefix`.{i}.conv / .norm."""
    for i, (cin, cout) in enumerate(widths):
        _conv(keys, f"{prefix}.{i}.conv", cout, cin, 3)
        _batch_norm(keys, f"{prefix}.{i}.norm", cout)


def _hourglass_keys(keys, prefix, widths):
    encoder, decoder, _ = widths
    _conv_norm_blocks(keys, f"{prefix}.encoder.down_blocks", encoder)
    _conv_norm_blocks(keys, f"{prefix}.decoder.up_blocks", decoder)


def _kp_hourglass(config):
    kp = config.keypoint
    return _hourglass_widths(kp.block_expansion, config.num_channels, kp.num_blocks, kp.max_features)


def _dense_hourglass(config):
    dense = config.generator.dense_motion
    in_features = (config.num_kp + 1) * (config.num_channels + 1)
    return _hourglass_widths(dense.block_expansion, in_features, dense.num_blocks, dense.max_features)


def _generator_widths(config):
    """(down blocks (in, out), up blocks (in, out), bottleneck width)."""
    g = config.generator
    n = g.num_down_blocks
    down = [(min(g.max_features, g.block_expansion * 2**i), min(g.max_features, g.block_expansion * 2 ** (i + 1)))
            for i in range(n)]
    up = [(min(g.max_features, g.block_expansion * 2 ** (n - i)), min(g.max_features, g.block_expansion * 2 ** (n - i - 1)))
          for i in range(n)]
    return down, up, min(g.max_features, g.block_expansion * 2**n)


def expected_shapes(config: FommConfig):
    """{"kp_detector": {key: shape}, "generator": {key: shape}}: the state dicts of fomm.py's modules
    (the official checkpoint's layout) for `config`, buffers included, without building them."""
    c, k = config.num_channels, config.num_kp
    kp_keys = {}
    kp_hourglass = _kp_hourglass(config)
    _hourglass_keys(kp_keys, "predictor", kp_hourglass)
    _conv(kp_keys, "kp", k, kp_hourglass[2], 7)
    _conv(kp_keys, "jacobian", 4 * k, kp_hourglass[2], 7)
    side = _anti_alias_kernel_size(config.keypoint.scale_factor)
    kp_keys["down.weight"] = (c, 1, side, side)

    gen_keys = {}
    dense_hourglass = _dense_hourglass(config)
    _hourglass_keys(gen_keys, "dense_motion_network.hourglass", dense_hourglass)
    _conv(gen_keys, "dense_motion_network.mask", k + 1, dense_hourglass[2], 7)
    _conv(gen_keys, "dense_motion_network.occlusion", 1, dense_hourglass[2], 7)
    side = _anti_alias_kernel_size(config.generator.dense_motion.scale_factor)
    gen_keys["dense_motion_network.down.weight"] = (c, 1, side, side)
    g = config.generator
    _conv(gen_keys, "first.conv", g.block_expansion, c, 7)
    _batch_norm(gen_keys, "first.norm", g.block_expansion)
    down, up, bottleneck = _generator_widths(config)
    _conv_norm_blocks(gen_keys, "down_blocks", down)
    _conv_norm_blocks(gen_keys, "up_blocks", up)
    for i in range(g.num_bottleneck_blocks):
        _conv(gen_keys, f"bottleneck.r{i}.conv1", bottleneck, bottleneck, 3)
        _conv(gen_keys, f"bottleneck.r{i}.conv2", bottleneck, bottleneck, 3)
        _batch_norm(gen_keys, f"bottleneck.r{i}.norm1", bottleneck)
        _batch_norm(gen_keys, f"bottleneck.r{i}.norm2", bottleneck)
    _conv(gen_keys, "final", c, g.block_expansion, 7)
    return {"kp_detector": kp_keys, "generator": gen_keys}


def _listed(keys):
    shown = ", ".join(keys[:LISTED_KEYS])
    return shown + (f" and {len(keys) - LISTED_KEYS} more" if len(keys) > LISTED_KEYS else "")


def check_state_dicts(state_dicts, config: FommConfig):
    """Raises ValueError unless every entry has exactly the keys and shapes `config` needs
    (num_batches_tracked, a training counter, may be absent)."""
    for entry, expected in expected_shapes(config).items():
        found = state_dicts[entry]
        missing = [key for key in expected if key not in found and not key.endswith("num_batches_tracked")]
        unexpected = [key for key in found if key not in expected]
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing key(s): {_listed(missing)}")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected key(s): {_listed(unexpected)}")
        if problems:
            raise ValueError(f"{entry}: not the FOMM {config.name} layout: {'; '.join(problems)}")
        for key, shape in expected.items():
            if key in found and tuple(np.shape(found[key])) != shape:
                raise ValueError(
                    f"{entry}: {key} has shape {tuple(np.shape(found[key]))}; this architecture needs {shape}"
                )


# --- Graph building -------------------------------------------------------------------------------

class _Graph:
    """Nodes and initializers of one graph; tensors are named after the module path that makes them."""

    def __init__(self, weights, prefix):
        self.weights = weights  # {state-dict key: array}
        self.prefix = prefix  # "kp_detector" or "generator": initializer names as the PyTorch export's
        self.nodes = []
        self.initializers = []
        self.names = set()
        self.constants = {}

    def weight(self, key):
        name = f"{self.prefix}.{key}"
        if name not in self.names:
            self.names.add(name)
            self.initializers.append(numpy_helper.from_array(np.require(self.weights[key], np.float32, "C"), name))
        return name

    def constant(self, name, array):
        """A named constant (shapes, axes, grids); the same name must mean the same value."""
        if name not in self.names:
            self.names.add(name)
            self.initializers.append(numpy_helper.from_array(np.require(array, requirements="C"), name))
        return name

    def ints(self, values):
        values = [int(v) for v in np.atleast_1d(values)]
        return self.constant("ints_" + "_".join(str(v).replace("-", "m") for v in values), np.array(values, np.int64))

    def scalar(self, name, value):
        return self.constant(name, np.array(value, np.float32))

    def op(self, op_type, inputs, name, **attributes):
        """One node named `name`, whose single output is also `name`."""
        self.nodes.append(helper.make_node(op_type, list(inputs), [name], name=name, **attributes))
        return name

    # Layers, as fomm.py's modules.

    def conv(self, x, key, padding, name=None):
        weight = self.weights[f"{key}.weight"]
        side = weight.shape[2]
        return self.op("Conv", [x, self.weight(f"{key}.weight"), self.weight(f"{key}.bias")], name or key,
                       kernel_shape=[side, side], pads=[padding] * 4, strides=[1, 1], dilations=[1, 1], group=1)

    def batch_norm(self, x, key):
        inputs = [x] + [self.weight(f"{key}.{name}") for name in ("weight", "bias", "running_mean", "running_var")]
        return self.op("BatchNormalization", inputs, key, epsilon=BATCH_NORM_EPSILON, momentum=0.9)

    def relu(self, x, name):
        return self.op("Relu", [x], name)

    def avg_pool(self, x, name):
        return self.op("AveragePool", [x], name, kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0],
                       count_include_pad=1, ceil_mode=0)

    def upsample_nearest(self, x, name):
        scales = self.constant("scales_x2", np.array([1, 1, 2, 2], np.float32))
        return self.op("Resize", [x, "", scales], name, mode="nearest", coordinate_transformation_mode="asymmetric",
                       nearest_mode="floor")

    def same_block(self, x, key, padding):
        return self.relu(self.batch_norm(self.conv(x, f"{key}.conv", padding), f"{key}.norm"), f"{key}.relu")

    def down_block(self, x, key):
        return self.avg_pool(self.same_block(x, key, 1), f"{key}.pool")

    def up_block(self, x, key):
        return self.same_block(self.upsample_nearest(x, f"{key}.upsample"), key, 1)

    def res_block(self, x, key):
        out = self.conv(self.relu(self.batch_norm(x, f"{key}.norm1"), f"{key}.relu1"), f"{key}.conv1", 1)
        out = self.conv(self.relu(self.batch_norm(out, f"{key}.norm2"), f"{key}.relu2"), f"{key}.conv2", 1)
        return self.op("Add", [out, x], f"{key}.add")

    def hourglass(self, x, key, num_blocks):
        outs = [x]
        for i in range(num_blocks):
            outs.append(self.down_block(outs[-1], f"{key}.encoder.down_blocks.{i}"))
        out = outs.pop()
        for i in range(num_blocks):
            up = self.up_block(out, f"{key}.decoder.up_blocks.{i}")
            out = self.op("Concat", [up, outs.pop()], f"{key}.decoder.cat{i}", axis=1)
        return out

    def anti_alias(self, x, key, scale, channels):
        """AntiAliasInterpolation2d: blur with the stored kernel (zero padding), keep every step-th pixel."""
        if scale == 1.0:
            return x
        side = self.weights[f"{key}.weight"].shape[2]
        ka = side // 2
        kb = ka - 1 if side % 2 == 0 else ka
        blurred = self.op("Conv", [x, self.weight(f"{key}.weight")], f"{key}.blur", kernel_shape=[side, side],
                          pads=[ka, ka, kb, kb], strides=[1, 1], dilations=[1, 1], group=channels)
        step = int(1 / scale)
        big = np.iinfo(np.int64).max
        return self.op("Slice", [blurred, self.ints([0, 0]), self.ints([big, big]), self.ints([2, 3]),
                                 self.ints([step, step])], f"{key}.subsample")

    def coordinate_grid(self, height, width):
        """fomm.coordinate_grid as a constant [1, 1, h, w, 2], computed in float32 as torch does."""
        x = np.arange(width, dtype=np.float32)
        y = np.arange(height, dtype=np.float32)
        x = np.float32(2) * (x / np.float32(width - 1)) - np.float32(1)
        y = np.float32(2) * (y / np.float32(height - 1)) - np.float32(1)
        grid = np.stack([np.broadcast_to(x[None, :], (height, width)), np.broadcast_to(y[:, None], (height, width))], 2)
        return self.constant(f"coordinate_grid_{height}x{width}", grid.reshape(1, 1, height, width, 2).astype(np.float32))

    def model(self, name, inputs, outputs):
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info(spec["name"], TensorProto.FLOAT, spec["shape"]) for spec in inputs],
            [helper.make_tensor_value_info(spec["name"], TensorProto.FLOAT, spec["shape"]) for spec in outputs],
            self.initializers,
        )
        result = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="animecam")
        result.ir_version = 9
        onnx.checker.check_model(result)
        return result


def _keypoint_graph(weights, config, contract):
    g = _Graph(weights, "kp_detector")
    k = config.num_kp
    down = g.anti_alias("image", "down", config.keypoint.scale_factor, config.num_channels)
    feature_map = g.hourglass(down, "predictor", config.keypoint.num_blocks)
    prediction = g.conv(feature_map, "kp", 0)
    # The heatmap's side: the subsampled image's, less the 7x7 unpadded convolution's border.
    size = -(-config.image_size // int(1 / config.keypoint.scale_factor)) - 6
    # Softmax over the flattened heatmap, after the temperature, as KPDetector.forward.
    flat = g.op("Reshape", [prediction, g.ints([1, k, -1])], "heatmap.flatten")
    scaled = g.op("Div", [flat, g.scalar("temperature", config.keypoint.temperature)], "heatmap.temperature")
    softmax = g.op("Softmax", [scaled], "heatmap.softmax", axis=2)
    heatmap = g.op("Reshape", [softmax, g.ints([1, k, size, size])], "heatmap")
    weighted = g.op("Mul", [g.op("Unsqueeze", [heatmap, g.ints([-1])], "heatmap.unsqueeze_last"),
                            g.coordinate_grid(size, size)], "heatmap.times_grid")
    g.op("ReduceSum", [weighted, g.ints([2, 3])], "kp_value", keepdims=0)
    jacobian_map = g.op("Reshape", [g.conv(feature_map, "jacobian", 0), g.ints([1, k, 4, size, size])], "jacobian_map")
    weighted = g.op("Mul", [g.op("Unsqueeze", [heatmap, g.ints([2])], "heatmap.unsqueeze_2"), jacobian_map],
                    "jacobian.weighted")
    flat = g.op("Reshape", [weighted, g.ints([1, k, 4, -1])], "jacobian.flatten")
    summed = g.op("ReduceSum", [flat, g.ints([-1])], "jacobian.sum", keepdims=0)
    g.op("Reshape", [summed, g.ints([1, k, 2, 2])], "kp_jacobian")
    return g.model("fomm_kp", *contract["fomm_kp"])


def _encode(g, source, config):
    out = g.same_block(source, "first", 3)
    for i in range(config.generator.num_down_blocks):
        out = g.down_block(out, f"down_blocks.{i}")
    return out


def _encoder_graph(weights, config, contract):
    g = _Graph(weights, "generator")
    out = _encode(g, "source", config)
    g.op("Identity", [out], "features")
    return g.model("fomm_encoder", *contract["fomm_encoder"])


def _keypoint_gaussians(g, value, grid, k, name):
    """Eq. 6 as fomm.keypoint_gaussians: exp(-0.5 * |grid - value|^2 / variance), [1, k, h, w]; also
    returns grid - value, which the sparse motions reuse for the driving keypoints."""
    offset = g.op("Sub", [grid, g.op("Reshape", [value, g.ints([1, k, 1, 1, 2])], f"{name}.value")], f"{name}.offset")
    squared = g.op("Pow", [offset, g.scalar("two", 2.0)], f"{name}.squared")
    summed = g.op("ReduceSum", [squared, g.ints([-1])], f"{name}.sum", keepdims=0)
    halved = g.op("Mul", [summed, g.scalar("minus_half", -0.5)], f"{name}.times_minus_half")
    scaled = g.op("Div", [halved, g.scalar("kp_variance", KP_VARIANCE)], f"{name}.over_variance")
    return g.op("Exp", [scaled], name), offset


def _inverse_2x2(g, matrix, name):
    """fomm.inverse_2x2: [[d, -b], [-c, a]] / (a d - b c) over the last two axes."""
    rows = [g.op("Gather", [matrix, g.constant(f"index_{i}", np.array(i, np.int64))], f"{name}.row{i}", axis=2)
            for i in range(2)]

    def entry(row, column):
        return g.op("Gather", [rows[row], f"index_{column}"], f"{name}.m{row}{column}", axis=2)

    a, b, c, d = entry(0, 0), entry(0, 1), entry(1, 0), entry(1, 1)
    determinant = g.op("Sub", [g.op("Mul", [a, d], f"{name}.ad"), g.op("Mul", [b, c], f"{name}.bc")], f"{name}.determinant")
    last = g.ints([-1])
    adjugate_rows = [
        g.op("Concat", [g.op("Unsqueeze", [d, last], f"{name}.d"),
                        g.op("Unsqueeze", [g.op("Neg", [b], f"{name}.minus_b"), last], f"{name}.b")], f"{name}.row_0", axis=-1),
        g.op("Concat", [g.op("Unsqueeze", [g.op("Neg", [c], f"{name}.minus_c"), last], f"{name}.c"),
                        g.op("Unsqueeze", [a, last], f"{name}.a")], f"{name}.row_1", axis=-1),
    ]
    stacked = g.op("Concat", [g.op("Unsqueeze", [row, g.ints([-2])], f"{row}.unsqueeze") for row in adjugate_rows],
                   f"{name}.adjugate", axis=-2)
    return g.op("Div", [stacked, g.op("Unsqueeze", [determinant, g.ints([2, 3])], f"{name}.determinant.unsqueeze")], name)


def _dense_motion(g, config):
    """DenseMotionNetwork.forward: (deformation [1, h, w, 2], occlusion [1, 1, h, w])."""
    dense = config.generator.dense_motion
    k, c = config.num_kp, config.num_channels
    key = "dense_motion_network"
    source = g.anti_alias("source", f"{key}.down", dense.scale_factor, c)
    step = int(1 / dense.scale_factor)
    h = w = -(-config.image_size // step)  # what keeping every step-th pixel leaves
    grid = g.coordinate_grid(h, w)

    driving, driving_offset = _keypoint_gaussians(g, "driving_value", grid, k, "driving_gaussians")
    source_gaussians, _ = _keypoint_gaussians(g, "source_value", grid, k, "source_gaussians")
    heatmap = g.op("Sub", [driving, source_gaussians], "gaussians.difference")
    background = g.constant(f"zeros_1x1x{h}x{w}", np.zeros((1, 1, h, w), np.float32))
    heatmap = g.op("Concat", [background, heatmap], "gaussians.with_background", axis=1)
    heatmap = g.op("Unsqueeze", [heatmap, g.ints([2])], "gaussians.unsqueeze")

    # Eq. 4: identity - driving keypoint, through source Jacobian @ inverse(driving Jacobian), + source keypoint.
    inverse = _inverse_2x2(g, "driving_jacobian", "driving_jacobian.inverse")
    jacobian = g.op("MatMul", ["source_jacobian", inverse], "motion.jacobian")
    jacobian = g.op("Reshape", [jacobian, g.ints([1, k, 1, 1, 2, 2])], "motion.jacobian.view")
    offset = g.op("Unsqueeze", [driving_offset, g.ints([-1])], "motion.offset")
    moved = g.op("Squeeze", [g.op("MatMul", [jacobian, offset], "motion.matmul"), g.ints([-1])], "motion.moved")
    source_value = g.op("Reshape", ["source_value", g.ints([1, k, 1, 1, 2])], "motion.source_value")
    driving_to_source = g.op("Add", [moved, source_value], "motion.driving_to_source")
    sparse_motions = g.op("Concat", [grid, driving_to_source], "sparse_motions", axis=1)

    # Eq. 7: the source warped by each sparse motion.
    repeated = g.op("Expand", [g.op("Unsqueeze", [source, g.ints([1])], "deformed.unsqueeze"),
                               g.ints([1, k + 1, c, h, w])], "deformed.expand")
    repeated = g.op("Reshape", [repeated, g.ints([k + 1, c, h, w])], "deformed.sources")
    motions = g.op("Reshape", [sparse_motions, g.ints([k + 1, h, w, 2])], "deformed.grids")
    deformed = g.op("GridSample", [repeated, motions], "deformed.sample", align_corners=1, mode="bilinear",
                    padding_mode="zeros")
    deformed = g.op("Reshape", [deformed, g.ints([1, k + 1, c, h, w])], "deformed")

    stacked = g.op("Concat", [heatmap, deformed], "hourglass_input.cat", axis=2)
    stacked = g.op("Reshape", [stacked, g.ints([1, -1, h, w])], "hourglass_input")
    prediction = g.hourglass(stacked, f"{key}.hourglass", dense.num_blocks)
    mask = g.op("Softmax", [g.conv(prediction, f"{key}.mask", 3)], "mask.softmax", axis=1)
    mask = g.op("Unsqueeze", [mask, g.ints([2])], "mask")
    permuted = g.op("Transpose", [sparse_motions], "sparse_motions.channels_first", perm=[0, 1, 4, 2, 3])
    weighted = g.op("Mul", [permuted, mask], "deformation.weighted")
    summed = g.op("ReduceSum", [weighted, g.ints([1])], "deformation.sum", keepdims=0)
    deformation = g.op("Transpose", [summed], "dense_deformation", perm=[0, 2, 3, 1])
    occlusion = g.op("Sigmoid", [g.conv(prediction, f"{key}.occlusion", 3)], "occlusion")
    return deformation, occlusion, h


def _resize_bilinear(g, x, size, name):
    """F.interpolate(mode="bilinear", align_corners=False) of [1, C, h, w] to [1, C, size, size]."""
    sizes = g.op("Concat", [g.op("Shape", [x], f"{name}.shape", start=0, end=2), g.ints([size, size])],
                 f"{name}.sizes", axis=0)
    return g.op("Resize", [x, "", "", sizes], name, mode="linear", coordinate_transformation_mode="half_pixel")


def _generator_graph(weights, config, contract):
    g = _Graph(weights, "generator")
    deformation, occlusion, dense_size = _dense_motion(g, config)
    size = config.feature_size
    if dense_size != size:
        nchw = g.op("Transpose", [deformation], "deformation.nchw", perm=[0, 3, 1, 2])
        resized = _resize_bilinear(g, nchw, size, "deformation.resize")
        deformation = g.op("Transpose", [resized], "deformation", perm=[0, 2, 3, 1])
        mask = _resize_bilinear(g, occlusion, size, "occlusion.resize")
    else:
        deformation = g.op("Identity", [deformation], "deformation")
        mask = occlusion
    out = g.op("GridSample", ["features", deformation], "features.deformed", align_corners=1, mode="bilinear",
               padding_mode="zeros")
    out = g.op("Mul", [out, mask], "features.occluded")
    for i in range(config.generator.num_bottleneck_blocks):
        out = g.res_block(out, f"bottleneck.r{i}")
    for i in range(config.generator.num_down_blocks):
        out = g.up_block(out, f"up_blocks.{i}")
    g.op("Sigmoid", [g.conv(out, "final", 3)], "prediction")
    return g.model("fomm_generator", *contract["fomm_generator"])


def build_graphs(kp_detector, generator, config: FommConfig):
    """{"fomm_kp", "fomm_encoder", "fomm_generator": ModelProto} from the two state dicts ({key: array},
    any float dtype, `module.` prefixes already stripped); ValueError if they are not `config`'s layout."""
    check_state_dicts({"kp_detector": kp_detector, "generator": generator}, config)
    as_float = lambda weights: {  # noqa: E731
        key: np.asarray(value, dtype=np.float32) for key, value in weights.items() if not key.endswith("num_batches_tracked")
    }
    kp_weights, gen_weights = as_float(kp_detector), as_float(generator)
    contract = contracts.fomm(config)
    return {
        "fomm_kp": _keypoint_graph(kp_weights, config, contract),
        "fomm_encoder": _encoder_graph(gen_weights, config, contract),
        "fomm_generator": _generator_graph(gen_weights, config, contract),
    }
