"""The U-GAT-IT A->B generator written directly as ONNX from its weights, without PyTorch.

Two semantics, as the exporters have them (the weights only work with their own):
- PyTorch (`ugatit.ResnetGenerator`, the `genA2B` state dict of UGATIT-pytorch `*_params_*.pt`):
  `build_graph`;
- TensorFlow (`ugatit_tf.TfResnetGenerator`, the `generator_B` variables of the official
  checkpoint as `tf_checkpoint.read_checkpoint` returns them): `build_tf_graph`.

The graphs have the PyTorch export's contract (contracts.ugatit): input `image` [1, 3, S, S] RGB in
[-1, 1], output `stylized` [1, 3, S, S] in [-1, 1]. Operations follow the PyTorch modules' order
where rounding depends on it (variance as the mean of squared deviations, times n / (n - 1) where
torch.var is unbiased; (x - mean) / sqrt(var + eps)), so outputs match the torch export to float
rounding. Every weight becomes one initializer, converted once (`numpy_helper.from_array`), and
dense layers use the stored layout (Gemm's transB), so the 1.1 GB full variant takes no extra copy.

Torch-free: numpy and onnx only. The TF variable names and layouts (`variable_map`, `to_torch`,
`from_torch`) live here; ugatit_tf.py imports them.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .architectures import UgatitConfig

OPSET = 18
EPS = 1e-5
SCOPE = "generator_B"  # the scope generate_a2b builds the A->B generator in


# ---------------------------------------------------------------------------------------------
# Expected weights


def expected_shapes(config: UgatitConfig):
    """{state dict key: shape} of the PyTorch `genA2B` generator (ugatit.ResnetGenerator), in
    state dict order."""
    ngf, n_blocks, size = config.ngf, config.n_blocks, config.image_size
    channels = ngf * 4
    shapes = {
        "gap_fc.weight": (1, channels),
        "gmp_fc.weight": (1, channels),
        "conv1x1.weight": (channels, channels * 2, 1, 1),
        "conv1x1.bias": (channels,),
        "gamma.weight": (channels, channels),
        "beta.weight": (channels, channels),
    }
    for i in range(1, n_blocks + 1):
        shapes[f"UpBlock1_{i}.conv1.weight"] = (channels, channels, 3, 3)
        shapes[f"UpBlock1_{i}.norm1.rho"] = (1, channels, 1, 1)
        shapes[f"UpBlock1_{i}.conv2.weight"] = (channels, channels, 3, 3)
        shapes[f"UpBlock1_{i}.norm2.rho"] = (1, channels, 1, 1)
    shapes.update(_down_block_shapes(ngf, n_blocks))
    fc_in = channels if config.light else (size // 4) * (size // 4) * channels
    shapes["FC.0.weight"] = (channels, fc_in)
    shapes["FC.2.weight"] = (channels, channels)
    for index, width in ((2, channels // 2), (7, channels // 4)):
        shapes[f"UpBlock2.{index}.weight"] = (width, width * 2, 3, 3)
        for part in ("rho", "gamma", "beta"):
            shapes[f"UpBlock2.{index + 1}.{part}"] = (1, width, 1, 1)
    shapes["UpBlock2.11.weight"] = (3, ngf, 7, 7)
    return shapes


def _down_block_shapes(ngf, n_blocks):
    """DownBlock's Sequential: pad, conv, norm, relu (indices 0-3), twice pad, conv, norm, relu
    with stride 2 (4-11), then the residual blocks (pad, conv, norm, relu, pad, conv, norm)."""
    shapes = {"DownBlock.1.weight": (ngf, 3, 7, 7)}
    shapes["DownBlock.5.weight"] = (ngf * 2, ngf, 3, 3)
    shapes["DownBlock.9.weight"] = (ngf * 4, ngf * 2, 3, 3)
    channels = ngf * 4
    for i in range(n_blocks):
        shapes[f"DownBlock.{12 + i}.conv_block.1.weight"] = (channels, channels, 3, 3)
        shapes[f"DownBlock.{12 + i}.conv_block.5.weight"] = (channels, channels, 3, 3)
    return shapes


def _tf_conv(scope, module, kernel, cin, cout):
    return {
        f"{scope}/conv2d/kernel": (f"{module}.conv.weight", "conv", (kernel, kernel, cin, cout)),
        f"{scope}/conv2d/bias": (f"{module}.conv.bias", None, (cout,)),
    }


def _tf_dense(scope, module, cin, cout):
    return {
        f"{scope}/dense/kernel": (f"{module}.weight", "dense", (cin, cout)),
        f"{scope}/dense/bias": (f"{module}.bias", None, (cout,)),
    }


def _tf_variables(config: UgatitConfig, scope=SCOPE):
    """{TF variable name: (ugatit_tf parameter name, layout change, TF shape)}."""
    ch, n_res, size = config.ngf, config.n_blocks, config.image_size
    channels = ch * 4
    names = {}
    names.update(_tf_conv(f"{scope}/conv", "first", 7, 3, ch))
    names[f"{scope}/ins_norm/gamma"] = ("first_norm.gamma", None, (ch,))
    names[f"{scope}/ins_norm/beta"] = ("first_norm.beta", None, (ch,))
    for i in range(2):
        cin = ch * 2**i
        names.update(_tf_conv(f"{scope}/conv_{i}", f"down.{i}", 3, cin, cin * 2))
        names[f"{scope}/ins_norm_{i}/gamma"] = (f"down_norm.{i}.gamma", None, (cin * 2,))
        names[f"{scope}/ins_norm_{i}/beta"] = (f"down_norm.{i}.beta", None, (cin * 2,))
    for i in range(n_res):
        for half, index in (("res1", 1), ("res2", 2)):
            block = f"{scope}/resblock_{i}/{half}"
            names.update(_tf_conv(f"{block}/conv_0", f"res.{i}.conv{index}", 3, channels, channels))
            names[f"{block}/instance_norm/gamma"] = (f"res.{i}.norm{index}.gamma", None, (channels,))
            names[f"{block}/instance_norm/beta"] = (f"res.{i}.norm{index}.beta", None, (channels,))
            adaptive = f"{scope}/adaptive_resblock{i}/{half}"
            names.update(_tf_conv(f"{adaptive}/conv_0", f"adaptive.{i}.conv{index}", 3, channels, channels))
            names[f"{adaptive}/instance_layer_norm/rho"] = (f"adaptive.{i}.norm{index}.rho", None, (channels,))
    names[f"{scope}/CAM_logit/kernel"] = ("cam.weight", "dense", (channels, 1))
    names[f"{scope}/CAM_logit/bias"] = ("cam.bias", None, (1,))
    names.update(_tf_conv(f"{scope}/conv_1x1", "conv1x1", 1, channels * 2, channels))
    # The official MLP width is ch * n_res (equal to ch * 4 for the published n_res = 4).
    mlp = ch * n_res
    mlp_in = channels if config.light else (size // 4) * (size // 4) * channels
    names.update(_tf_dense(f"{scope}/MLP/linear_0", "mlp.0", mlp_in, mlp))
    names.update(_tf_dense(f"{scope}/MLP/linear_1", "mlp.1", mlp, mlp))
    names.update(_tf_dense(f"{scope}/MLP/gamma", "gamma", mlp, mlp))
    names.update(_tf_dense(f"{scope}/MLP/beta", "beta", mlp, mlp))
    for i in range(2):
        cin = channels // 2**i
        names.update(_tf_conv(f"{scope}/up_conv_{i}", f"up.{i}", 3, cin, cin // 2))
        for part in ("rho", "gamma", "beta"):
            names[f"{scope}/layer_ins_norm_{i}/{part}"] = (f"up_norm.{i}.{part}", None, (cin // 2,))
    names.update(_tf_conv(f"{scope}/G_logit", "final", 7, ch, 3))
    return names


def variable_map(config: UgatitConfig, scope=SCOPE):
    """{TF variable name: (ugatit_tf parameter name, layout change)} for the whole generator."""
    return {tf_name: (name, layout) for tf_name, (name, layout, _) in _tf_variables(config, scope).items()}


def tf_expected_shapes(config: UgatitConfig, scope=SCOPE):
    """{TF variable name: shape} of the official generator, in TF layouts ([kh, kw, in, out], [in, out])."""
    return {tf_name: shape for tf_name, (_, _, shape) in _tf_variables(config, scope).items()}


def to_torch(value, layout):
    if layout == "conv":  # [kh, kw, in, out] -> [out, in, kh, kw]
        return np.transpose(value, (3, 2, 0, 1))
    if layout == "dense":  # [in, out] -> [out, in]
        return np.transpose(value, (1, 0))
    return value


def from_torch(value, layout):
    if layout == "conv":
        return np.transpose(value, (2, 3, 1, 0))
    if layout == "dense":
        return np.transpose(value, (1, 0))
    return value


def check_weights(weights, shapes, what):
    """Raises ValueError unless `weights` has exactly the keys of `shapes`, each of its shape."""
    missing = [key for key in shapes if key not in weights]
    unexpected = [key for key in weights if key not in shapes]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})")
        if unexpected:
            parts.append(
                f"unexpected {len(unexpected)} ({', '.join(unexpected[:5])}{', ...' if len(unexpected) > 5 else ''})")
        raise ValueError(f"the {what} weights do not fit the architecture: {'; '.join(parts)}")
    for key, shape in shapes.items():
        found = tuple(np.shape(weights[key]))
        if found != tuple(shape):
            raise ValueError(f"{key}: the {what} weight has shape {found}, the architecture needs {tuple(shape)}")


# ---------------------------------------------------------------------------------------------
# Graph building


class _Graph:
    """Nodes and initializers with generated names; shapes are static and tracked by the caller."""

    def __init__(self):
        self.nodes = []
        self.initializers = []
        self.count = 0
        self.constants = {}

    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def weight(self, name, array):
        """One initializer (float32; from_array copies the bytes once)."""
        array = np.asarray(array)
        if array.dtype != np.float32:
            array = array.astype(np.float32)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def constant(self, array):
        """Small shared constants (axes, shapes, scalars), deduplicated by value."""
        array = np.asarray(array)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self.constants:
            self.constants[key] = self.weight_raw(self.fresh("const"), array)
        return self.constants[key]

    def weight_raw(self, name, array):
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, hint=None, **attributes):
        output = self.fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    # Layers -----------------------------------------------------------------------------------

    def reflect_pad(self, x, top, left, bottom, right):
        pads = self.constant(np.array([0, 0, top, left, 0, 0, bottom, right], np.int64))
        return self.op("Pad", [x, pads], mode="reflect")

    def conv(self, x, weight, bias=None, stride=1):
        inputs = [x, weight] + ([bias] if bias else [])
        return self.op("Conv", inputs, strides=[stride, stride])

    def relu(self, x):
        return self.op("Relu", [x])

    def instance_norm(self, x, channels, scale=None, bias=None):
        scale = scale or self.constant(np.ones(channels, np.float32))
        bias = bias or self.constant(np.zeros(channels, np.float32))
        return self.op("InstanceNormalization", [x, scale, bias], epsilon=EPS)

    def normalized(self, x, axes, count, unbiased):
        """(x - mean) / sqrt(var + eps) over `axes`; var the mean of squared deviations, times
        count / (count - 1) when unbiased (torch.var)."""
        axes = self.constant(np.array(axes, np.int64))
        mean = self.op("ReduceMean", [x, axes], keepdims=1)
        deviation = self.op("Sub", [x, mean])
        variance = self.op("ReduceMean", [self.op("Mul", [deviation, deviation]), axes], keepdims=1)
        if unbiased:
            variance = self.op("Mul", [variance, self.constant(np.float32(count / (count - 1)))])
        std = self.op("Sqrt", [self.op("Add", [variance, self.constant(np.float32(EPS))])])
        return self.op("Div", [deviation, std])

    def layer_instance_mix(self, x, shape, rho, one_minus_rho, unbiased):
        """rho * instance-normalized + (1 - rho) * layer-normalized, rho and 1 - rho [1, C, 1, 1]."""
        _, channels, height, width = shape
        instance = self.normalized(x, [2, 3], height * width, unbiased)
        layer = self.normalized(x, [1, 2, 3], channels * height * width, unbiased)
        return self.op("Add", [self.op("Mul", [rho, instance]), self.op("Mul", [one_minus_rho, layer])])

    def affine(self, x, gamma, beta):
        return self.op("Add", [self.op("Mul", [x, gamma]), beta])

    def upsample(self, x):
        """Nearest, scale 2: output pixel (i, j) takes input (i // 2, j // 2), as torch's nearest."""
        scales = self.constant(np.array([1.0, 1.0, 2.0, 2.0], np.float32))
        return self.op("Resize", [x, "", scales], mode="nearest",
                       coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    def finish(self, output, size, name):
        self.nodes.append(helper.make_node("Identity", [output], ["stylized"]))
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
            [helper.make_tensor_value_info("stylized", TensorProto.FLOAT, [1, 3, size, size])],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="animecam")
        model.ir_version = 9
        return model


def _float32(weights):
    """The weights as float32 arrays (half-precision checkpoints widened; float32 ones untouched)."""
    return {key: np.asarray(value, dtype=np.float32) for key, value in weights.items()}


def build_graph(gen_a2b, config: UgatitConfig):
    """The ONNX graph of ugatit.ResnetGenerator (PyTorch semantics) with the `genA2B` weights
    ({state dict key: array}); ValueError when a key is missing, unexpected or of the wrong shape."""
    check_weights(gen_a2b, expected_shapes(config), "genA2B")
    w = _float32(gen_a2b)
    g = _Graph()
    ngf, n_blocks, size = config.ngf, config.n_blocks, config.image_size
    one = np.float32(1.0)

    def conv(x, key, stride=1, bias=None):
        return g.conv(x, g.weight(key, w[key]), g.weight(bias, w[bias]) if bias else None, stride)

    x = g.reflect_pad("image", 3, 3, 3, 3)
    x = g.relu(g.instance_norm(conv(x, "DownBlock.1.weight"), ngf))
    for key, channels in (("DownBlock.5.weight", ngf * 2), ("DownBlock.9.weight", ngf * 4)):
        x = g.relu(g.instance_norm(conv(g.reflect_pad(x, 1, 1, 1, 1), key, stride=2), channels))
    channels, spatial = ngf * 4, size // 4
    shape = (1, channels, spatial, spatial)
    for i in range(n_blocks):
        block = f"DownBlock.{12 + i}.conv_block"
        out = g.relu(g.instance_norm(conv(g.reflect_pad(x, 1, 1, 1, 1), f"{block}.1.weight"), channels))
        out = g.instance_norm(conv(g.reflect_pad(out, 1, 1, 1, 1), f"{block}.5.weight"), channels)
        x = g.op("Add", [x, out])

    # Class activation map: the features weighted by the GAP and GMP classifiers, fused by conv1x1.
    gap = g.op("Mul", [x, g.weight("gap_fc.weight", w["gap_fc.weight"].reshape(1, channels, 1, 1))])
    gmp = g.op("Mul", [x, g.weight("gmp_fc.weight", w["gmp_fc.weight"].reshape(1, channels, 1, 1))])
    x = g.relu(conv(g.op("Concat", [gap, gmp], axis=1), "conv1x1.weight", bias="conv1x1.bias"))

    if config.light:
        features = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    else:  # NCHW flatten, as x.view(1, -1)
        features = g.op("Reshape", [x, g.constant(np.array([1, -1], np.int64))])
    for key in ("FC.0.weight", "FC.2.weight"):  # Linear: weight [out, in], used as stored
        features = g.relu(g.op("Gemm", [features, g.weight(key, w[key])], transB=1))
    axes_hw = g.constant(np.array([2, 3], np.int64))
    gamma, beta = (
        g.op("Unsqueeze", [g.op("Gemm", [features, g.weight(key, w[key])], transB=1), axes_hw])
        for key in ("gamma.weight", "beta.weight")
    )

    for i in range(1, n_blocks + 1):
        block = f"UpBlock1_{i}"
        out = x
        for half in (1, 2):
            out = conv(g.reflect_pad(out, 1, 1, 1, 1), f"{block}.conv{half}.weight")
            rho = w[f"{block}.norm{half}.rho"]
            out = g.layer_instance_mix(out, shape, g.weight(f"{block}.norm{half}.rho", rho),
                                       g.weight(f"{block}.norm{half}.one_minus_rho", one - rho), unbiased=True)
            out = g.affine(out, gamma, beta)
            if half == 1:
                out = g.relu(out)
        x = g.op("Add", [out, x])

    for conv_index in (2, 7):
        spatial *= 2
        channels //= 2
        x = conv(g.reflect_pad(g.upsample(x), 1, 1, 1, 1), f"UpBlock2.{conv_index}.weight")
        norm = f"UpBlock2.{conv_index + 1}"
        rho = w[f"{norm}.rho"]
        x = g.layer_instance_mix(x, (1, channels, spatial, spatial), g.weight(f"{norm}.rho", rho),
                                 g.weight(f"{norm}.one_minus_rho", one - rho), unbiased=True)
        x = g.relu(g.affine(x, g.weight(f"{norm}.gamma", w[f"{norm}.gamma"]), g.weight(f"{norm}.beta", w[f"{norm}.beta"])))
    x = g.op("Tanh", [conv(g.reflect_pad(x, 3, 3, 3, 3), "UpBlock2.11.weight")])
    return g.finish(x, size, f"ugatit_{'light' if config.light else 'full'}")


def build_tf_graph(variables, config: UgatitConfig, smoothing=True):
    """The ONNX graph of ugatit_tf.TfResnetGenerator (TensorFlow semantics) with the official
    `generator_B` variables ({TF name: array, TF layouts}); `smoothing` clips rho - 0.1 to [0, 1]
    in the adaptive norms as the published model does. ValueError when a variable is missing,
    unexpected or of the wrong shape."""
    check_weights(variables, tf_expected_shapes(config), "generator_B")
    v = _float32(variables)
    g = _Graph()
    ch, n_res, size = config.ngf, config.n_blocks, config.image_size
    s = SCOPE
    one = np.float32(1.0)

    def conv(x, scope, kernel, stride, pad):
        """TF's `conv` helper: reflect padding (top and left only where kernel - stride is odd),
        then a VALID convolution with bias."""
        if pad:
            after = pad if (kernel - stride) % 2 == 0 else kernel - stride - pad
            x = g.reflect_pad(x, pad, pad, after, after)
        weight = g.weight(f"{scope}/conv2d/kernel", np.transpose(v[f"{scope}/conv2d/kernel"], (3, 2, 0, 1)))
        return g.conv(x, weight, g.weight(f"{scope}/conv2d/bias", v[f"{scope}/conv2d/bias"]), stride)

    def per_channel(name, channels):
        return g.weight(name, v[name].reshape(1, channels, 1, 1))

    def instance_norm(x, scope, channels, shape):
        """Affine instance norm with population variance (tf.nn.moments)."""
        normalized = g.normalized(x, [2, 3], shape[2] * shape[3], unbiased=False)
        return g.affine(normalized, per_channel(f"{scope}/gamma", channels), per_channel(f"{scope}/beta", channels))

    def mix(x, shape, rho_name, rho):
        channels = shape[1]
        rho = rho.reshape(1, channels, 1, 1)
        return g.layer_instance_mix(x, shape, g.weight(rho_name, rho),
                                    g.weight(f"{rho_name}/one_minus", one - rho), unbiased=False)

    x = conv("image", f"{s}/conv", 7, 1, 3)
    x = g.relu(instance_norm(x, f"{s}/ins_norm", ch, (1, ch, size, size)))
    for i in range(2):
        channels, spatial = ch * 2 ** (i + 1), size // 2 ** (i + 1)
        x = g.relu(instance_norm(conv(x, f"{s}/conv_{i}", 3, 2, 1), f"{s}/ins_norm_{i}", channels,
                                 (1, channels, spatial, spatial)))
    shape = (1, ch * 4, size // 4, size // 4)
    channels = ch * 4
    for i in range(n_res):
        block = f"{s}/resblock_{i}"
        out = g.relu(instance_norm(conv(x, f"{block}/res1/conv_0", 3, 1, 1), f"{block}/res1/instance_norm", channels, shape))
        out = instance_norm(conv(out, f"{block}/res2/conv_0", 3, 1, 1), f"{block}/res2/instance_norm", channels, shape)
        x = g.op("Add", [out, x])

    # The CAM layer multiplies the features by its weight plus its bias; both halves are the same.
    cam = v[f"{s}/CAM_logit/kernel"][:, 0] + v[f"{s}/CAM_logit/bias"]
    weighted = g.op("Mul", [x, g.weight(f"{s}/CAM_logit/weight_plus_bias", cam.reshape(1, channels, 1, 1))])
    x = g.relu(conv(g.op("Concat", [weighted, weighted], axis=1), f"{s}/conv_1x1", 1, 1, 0))

    if config.light:
        features = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    else:  # TF flattens NHWC
        nhwc = g.op("Transpose", [x], perm=[0, 2, 3, 1])
        features = g.op("Reshape", [nhwc, g.constant(np.array([1, -1], np.int64))])

    def dense(x, scope):  # kernel [in, out], used as stored
        kernel, bias = f"{scope}/dense/kernel", f"{scope}/dense/bias"
        return g.op("Gemm", [x, g.weight(kernel, v[kernel]), g.weight(bias, v[bias])])

    for i in range(2):
        features = g.relu(dense(features, f"{s}/MLP/linear_{i}"))
    axes_hw = g.constant(np.array([2, 3], np.int64))
    gamma = g.op("Unsqueeze", [dense(features, f"{s}/MLP/gamma"), axes_hw])
    beta = g.op("Unsqueeze", [dense(features, f"{s}/MLP/beta"), axes_hw])

    for i in range(n_res):
        block = f"{s}/adaptive_resblock{i}"
        out = x
        for half in ("res1", "res2"):
            out = conv(out, f"{block}/{half}/conv_0", 3, 1, 1)
            rho_name = f"{block}/{half}/instance_layer_norm/rho"
            rho = v[rho_name]
            if smoothing:
                rho = np.clip(rho - np.float32(0.1), 0.0, 1.0).astype(np.float32)
            out = g.affine(mix(out, shape, rho_name, rho), gamma, beta)
            if half == "res1":
                out = g.relu(out)
        x = g.op("Add", [out, x])

    spatial = size // 4
    for i in range(2):
        channels //= 2
        spatial *= 2
        x = conv(g.upsample(x), f"{s}/up_conv_{i}", 3, 1, 1)
        norm = f"{s}/layer_ins_norm_{i}"
        x = mix(x, (1, channels, spatial, spatial), f"{norm}/rho", v[f"{norm}/rho"])
        x = g.relu(g.affine(x, per_channel(f"{norm}/gamma", channels), per_channel(f"{norm}/beta", channels)))
    x = g.op("Tanh", [conv(x, f"{s}/G_logit", 7, 1, 3)])
    return g.finish(x, size, f"ugatit_{'light' if config.light else 'full'}")


def save(model, path):
    """One self-contained file (the full variant is ~1.1 GB, under protobuf's 2 GB)."""
    onnx.save(model, str(path), save_as_external_data=False)
    return path
