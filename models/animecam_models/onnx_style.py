"""Image-to-image style networks as ONNX, without PyTorch: AnimeGANv2 and CartoonGAN generators
built directly from their weights, and the checks a ready-made .onnx style file has to pass.

Built graphs (`build_animegan2`, `build_cartoongan`) take one input `image` [1, 3, S, S] RGB in
[-1, 1] (NCHW) and give one output `stylized` [1, 3, S, S] RGB in [-1, 1], S a multiple of 8:
- AnimeGANv2, the animegan2-pytorch port's `Generator` (style_reference.AnimeGanGenerator): RGB
  already; its GroupNorm of one group normalizes over C, H, W (biased variance, eps 1e-5), then a
  per-channel affine; bilinear upsampling as ONNX Resize (align_corners, or half_pixel by 2);
- CartoonGAN, the official test repository's `Transformer` (style_reference.CartoonGanTransformer):
  it takes and gives BGR, so the first convolution's input channels and the last one's output
  channels are reversed in the weights here, which makes the graph RGB in and out with exactly
  the same arithmetic; its instance norm: biased variance over H, W, eps 1e-9, scale and shift.

The norms' statistics are means taken one axis at a time (`_StyleGraph.staged_mean`): ONNX
Runtime's one-pass sums over a 512 x 512 picture (InstanceNormalization, ReduceMean over both
axes) were 3e-4 away from PyTorch at the output; staged, the graphs are within 1e-5 of it, as
close as PyTorch's float32 is to float64.

Ready .onnx files: `inspect_onnx_style` says whether a graph is one picture in and one out and in
which layout, and refuses anything else (two inputs, a classifier, custom operators) saying what it
found; `fix_size` pins a free spatial size.

Torch-free: numpy and onnx only (the importer runs where PyTorch is not installed).
"""

from collections import OrderedDict

import numpy as np
from onnx import TensorProto

from .onnx_ugatit import _Graph, _float32, check_weights

OPSET = 18
ANIMEGAN_EPS = 1e-5  # nn.GroupNorm's default
CARTOONGAN_EPS = 1e-9  # the test repository's own InstanceNormalization
SIZE_MULTIPLE = 8  # both generators halve the picture twice; 8 leaves room for letterboxing
CARTOONGAN_RESIDUAL_BLOCKS = range(4, 12)


# ---------------------------------------------------------------------------------------------
# AnimeGANv2 (animegan2-pytorch model.py)


def _conv_norm_lrelu(in_ch, out_ch, kernel=3, stride=1, pads=(1, 1, 1, 1), groups=1, bias=False):
    """ConvNormLReLU's parameters; pads as (top, left, bottom, right) of its ReflectionPad2d."""
    return {"kind": "cnl", "in": in_ch, "out": out_ch, "kernel": kernel, "stride": stride, "pads": pads,
            "groups": groups, "bias": bias}


def _animegan_layers():
    """[(state dict prefix, layer)] of Generator in module order."""
    down = (0, 0, 1, 1)  # padding=(0, 1, 0, 1): right and bottom only, before a stride-2 conv
    blocks = {
        "block_a": [_conv_norm_lrelu(3, 32, kernel=7, pads=(3, 3, 3, 3)), _conv_norm_lrelu(32, 64, stride=2, pads=down),
                    _conv_norm_lrelu(64, 64)],
        "block_b": [_conv_norm_lrelu(64, 128, stride=2, pads=down), _conv_norm_lrelu(128, 128)],
        "block_c": [_conv_norm_lrelu(128, 128)]
                   + [{"kind": "irb", "in": cin, "out": 256} for cin in (128, 256, 256, 256)]
                   + [_conv_norm_lrelu(256, 128)],
        "block_d": [_conv_norm_lrelu(128, 128), _conv_norm_lrelu(128, 128)],
        "block_e": [_conv_norm_lrelu(128, 64), _conv_norm_lrelu(64, 64),
                    _conv_norm_lrelu(64, 32, kernel=7, pads=(3, 3, 3, 3))],
    }
    return {block: [(f"{block}.{index}", layer) for index, layer in enumerate(layers)]
            for block, layers in blocks.items()}


def _inverted_residual_parts(layer):
    """InvertedResBlock(in, out, expansion 2): layers.0 1x1 expand, layers.1 depthwise 3x3 with
    bias, layers.2 1x1 projection, layers.3 GroupNorm."""
    bottleneck = layer["in"] * 2
    return (_conv_norm_lrelu(layer["in"], bottleneck, kernel=1, pads=(0, 0, 0, 0)),
            _conv_norm_lrelu(bottleneck, bottleneck, groups=bottleneck, bias=True), bottleneck)


def animegan2_expected_shapes():
    """{state dict key: shape} of the animegan2-pytorch Generator, in state dict order."""
    shapes = {}

    def conv_norm(prefix, layer):
        out = layer["out"]
        shapes[f"{prefix}.1.weight"] = (out, layer["in"] // layer["groups"], layer["kernel"], layer["kernel"])
        if layer["bias"]:
            shapes[f"{prefix}.1.bias"] = (out,)
        shapes[f"{prefix}.2.weight"] = (out,)
        shapes[f"{prefix}.2.bias"] = (out,)

    for layers in _animegan_layers().values():
        for prefix, layer in layers:
            if layer["kind"] == "cnl":
                conv_norm(prefix, layer)
                continue
            expand, depthwise, bottleneck = _inverted_residual_parts(layer)
            conv_norm(f"{prefix}.layers.0", expand)
            conv_norm(f"{prefix}.layers.1", depthwise)
            shapes[f"{prefix}.layers.2.weight"] = (layer["out"], bottleneck, 1, 1)
            shapes[f"{prefix}.layers.3.weight"] = (layer["out"],)
            shapes[f"{prefix}.layers.3.bias"] = (layer["out"],)
    shapes["out_layer.0.weight"] = (3, 32, 1, 1)
    return shapes


class _StyleGraph(_Graph):
    """The U-GAT-IT builder's graph with the layers these generators add."""

    def conv2d(self, x, weight, bias=None, stride=1, pads=(0, 0, 0, 0), groups=1):
        """Conv; pads as (top, left, bottom, right), zero padding."""
        top, left, bottom, right = pads
        inputs = [x, weight] + ([bias] if bias else [])
        return self.op("Conv", inputs, strides=[stride, stride], pads=[top, left, bottom, right], group=groups)

    def staged_mean(self, x, axes):
        """The mean over `axes`, one axis at a time from the last: each step sums at most one row
        (<= 512 values), where one reduction over a whole 512 x 512 picture loses about 1e-4 at the
        output in float32 (ONNX Runtime's InstanceNormalization and ReduceMean sum in one pass)."""
        for axis in sorted(axes, reverse=True):
            x = self.op("ReduceMean", [x, self.constant(np.array([axis], np.int64))], keepdims=1)
        return x

    def normalize(self, x, axes, eps, scale, shift):
        """(x - mean) / sqrt(var + eps) * scale + shift over `axes`, variance biased (the mean of
        squared deviations, as GroupNorm and CartoonGAN's instance norm compute it); scale and
        shift [1, C, 1, 1]."""
        deviation = self.op("Sub", [x, self.staged_mean(x, axes)])
        variance = self.staged_mean(self.op("Mul", [deviation, deviation]), axes)
        std = self.op("Sqrt", [self.op("Add", [variance, self.constant(np.float32(eps))])])
        return self.affine(self.op("Div", [deviation, std]), scale, shift)


def _resize(g, x, channels, size, align_corners):
    """torch's bilinear interpolate: to `size` with align_corners=True, else by a scale of 2 with
    half-pixel centres (source coordinates below 0 clamped, as both do)."""
    if align_corners:
        sizes = g.constant(np.array([1, channels, size, size], np.int64))
        return g.op("Resize", [x, "", "", sizes], mode="linear", coordinate_transformation_mode="align_corners")
    scales = g.constant(np.array([1.0, 1.0, 2.0, 2.0], np.float32))
    return g.op("Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="half_pixel")


def _check_size(size):
    if not isinstance(size, int) or size < SIZE_MULTIPLE or size % SIZE_MULTIPLE:
        raise ValueError(f"size {size}: the style networks need a picture size that is a multiple of {SIZE_MULTIPLE}")


def build_animegan2(state, size, align_corners=True):
    """The ONNX graph of the AnimeGANv2 generator (animegan2-pytorch layout) with the weights
    `state` ({state dict key: array}) at `size` x `size`. `align_corners` picks the upsampling:
    True is the module's default (torch.hub, face2paint), False test.py's default. ValueError
    when a key is missing, unexpected or of the wrong shape, or the size is not a multiple of 8."""
    _check_size(size)
    check_weights(state, animegan2_expected_shapes(), "AnimeGANv2 generator")
    w = _float32(state)
    g = _StyleGraph()

    def param(key, per_channel=False):
        value = w[key].reshape(1, -1, 1, 1) if per_channel else w[key]
        return g.weight(key, value)

    def conv_norm_lrelu(x, prefix, layer):
        top, left, bottom, right = layer["pads"]
        if any(layer["pads"]):
            x = g.reflect_pad(x, top, left, bottom, right)
        bias = param(f"{prefix}.1.bias") if layer["bias"] else None
        x = g.conv2d(x, param(f"{prefix}.1.weight"), bias, layer["stride"], groups=layer["groups"])
        x = g.normalize(x, (1, 2, 3), ANIMEGAN_EPS, param(f"{prefix}.2.weight", True), param(f"{prefix}.2.bias", True))
        return g.op("LeakyRelu", [x], alpha=0.2)

    def block(x, name):
        for prefix, layer in _animegan_layers()[name]:
            if layer["kind"] == "cnl":
                x = conv_norm_lrelu(x, prefix, layer)
                continue
            expand, depthwise, _ = _inverted_residual_parts(layer)
            out = conv_norm_lrelu(x, f"{prefix}.layers.0", expand)
            out = conv_norm_lrelu(out, f"{prefix}.layers.1", depthwise)
            out = g.conv2d(out, param(f"{prefix}.layers.2.weight"))
            out = g.normalize(out, (1, 2, 3), ANIMEGAN_EPS, param(f"{prefix}.layers.3.weight", True),
                              param(f"{prefix}.layers.3.bias", True))
            x = g.op("Add", [x, out]) if layer["in"] == layer["out"] else out
        return x

    x = block("image", "block_a")
    x = block(block(x, "block_b"), "block_c")
    x = block(_resize(g, x, 128, size // 2, align_corners), "block_d")
    x = block(_resize(g, x, 128, size, align_corners), "block_e")
    x = g.op("Tanh", [g.conv2d(x, param("out_layer.0.weight"))])
    return _finish(g, x, size, "animegan2")


# ---------------------------------------------------------------------------------------------
# CartoonGAN (CartoonGAN-Test-Pytorch-Torch network/Transformer.py)


def _cartoongan_layers():
    """[(module name, kind, in, out, kernel)] of Transformer in state dict order; kind is "conv",
    "deconv" (ConvTranspose2d) or "norm" (kernel unused)."""
    layers = [("conv01_1", "conv", 3, 64, 7), ("in01_1", "norm", 64, 64, 0),
              ("conv02_1", "conv", 64, 128, 3), ("conv02_2", "conv", 128, 128, 3), ("in02_1", "norm", 128, 128, 0),
              ("conv03_1", "conv", 128, 256, 3), ("conv03_2", "conv", 256, 256, 3), ("in03_1", "norm", 256, 256, 0)]
    for block in CARTOONGAN_RESIDUAL_BLOCKS:
        for half in (1, 2):
            layers += [(f"conv{block:02d}_{half}", "conv", 256, 256, 3), (f"in{block:02d}_{half}", "norm", 256, 256, 0)]
    layers += [("deconv01_1", "deconv", 256, 128, 3), ("deconv01_2", "conv", 128, 128, 3),
               ("in12_1", "norm", 128, 128, 0),
               ("deconv02_1", "deconv", 128, 64, 3), ("deconv02_2", "conv", 64, 64, 3), ("in13_1", "norm", 64, 64, 0),
               ("deconv03_1", "conv", 64, 3, 7)]
    return layers


def cartoongan_expected_shapes():
    """{state dict key: shape} of the CartoonGAN Transformer, in state dict order."""
    shapes = {}
    for name, kind, cin, cout, kernel in _cartoongan_layers():
        if kind == "norm":
            shapes[f"{name}.scale"] = (cout,)
            shapes[f"{name}.shift"] = (cout,)
        else:  # Conv2d [out, in, k, k]; ConvTranspose2d [in, out, k, k]
            shapes[f"{name}.weight"] = (cout, cin, kernel, kernel) if kind == "conv" else (cin, cout, kernel, kernel)
            shapes[f"{name}.bias"] = (cout,)
    return shapes


def build_cartoongan(state, size):
    """The ONNX graph of the CartoonGAN Transformer with the weights `state` at `size` x `size`,
    RGB in and out (the BGR of the original folded into the first and last convolutions).
    ValueError when a key is missing, unexpected or of the wrong shape, or the size is not a
    multiple of 8."""
    _check_size(size)
    check_weights(state, cartoongan_expected_shapes(), "CartoonGAN Transformer")
    w = _float32(state)
    # BGR in: conv(bgr, W) == conv(rgb, W with its input channels reversed); BGR out: reversing
    # the output channels of the last convolution (weight and bias) gives RGB.
    w["conv01_1.weight"] = np.ascontiguousarray(w["conv01_1.weight"][:, ::-1])
    w["deconv03_1.weight"] = np.ascontiguousarray(w["deconv03_1.weight"][::-1])
    w["deconv03_1.bias"] = np.ascontiguousarray(w["deconv03_1.bias"][::-1])
    g = _StyleGraph()

    def conv(x, name, stride=1, pad=0):
        return g.conv2d(x, g.weight(f"{name}.weight", w[f"{name}.weight"]), g.weight(f"{name}.bias", w[f"{name}.bias"]),
                        stride, pads=(pad,) * 4)

    def norm_relu(x, name, relu=True):
        x = g.normalize(x, (2, 3), CARTOONGAN_EPS, g.weight(f"{name}.scale", w[f"{name}.scale"].reshape(1, -1, 1, 1)),
                        g.weight(f"{name}.shift", w[f"{name}.shift"].reshape(1, -1, 1, 1)))
        return g.relu(x) if relu else x

    def deconv(x, name):  # ConvTranspose2d(in, out, 3, stride 2, padding 1, output_padding 1): doubles the size
        return g.op("ConvTranspose", [x, g.weight(f"{name}.weight", w[f"{name}.weight"]),
                                      g.weight(f"{name}.bias", w[f"{name}.bias"])],
                    strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])

    x = norm_relu(conv(g.reflect_pad("image", 3, 3, 3, 3), "conv01_1"), "in01_1")
    x = norm_relu(conv(conv(x, "conv02_1", stride=2, pad=1), "conv02_2", pad=1), "in02_1")
    x = norm_relu(conv(conv(x, "conv03_1", stride=2, pad=1), "conv03_2", pad=1), "in03_1")
    for block in CARTOONGAN_RESIDUAL_BLOCKS:
        y = norm_relu(conv(g.reflect_pad(x, 1, 1, 1, 1), f"conv{block:02d}_1"), f"in{block:02d}_1")
        y = norm_relu(conv(g.reflect_pad(y, 1, 1, 1, 1), f"conv{block:02d}_2"), f"in{block:02d}_2", relu=False)
        x = g.op("Add", [y, x])
    x = norm_relu(conv(deconv(x, "deconv01_1"), "deconv01_2", pad=1), "in12_1")
    x = norm_relu(conv(deconv(x, "deconv02_1"), "deconv02_2", pad=1), "in13_1")
    x = g.op("Tanh", [conv(g.reflect_pad(x, 3, 3, 3, 3), "deconv03_1")])
    return _finish(g, x, size, "cartoongan")


def _finish(g, output, size, name):
    model = g.finish(output, size, name)
    assert model.opset_import[0].version == OPSET
    return model


def parameter_count(state):
    return int(sum(np.size(value) for value in state.values()))


# ---------------------------------------------------------------------------------------------
# Ready .onnx files


ELEMENT_NAMES = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16", TensorProto.DOUBLE: "float64",
               TensorProto.UINT8: "uint8", TensorProto.INT64: "int64", TensorProto.INT32: "int32"}
DEFAULT_DOMAINS = ("", "ai.onnx")


def _dims(value_info):
    """[int or None] per dimension (None: free or named), or None when the rank is unknown."""
    tensor_type = value_info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    return [dim.dim_value if dim.HasField("dim_value") else None for dim in tensor_type.shape.dim]


def _describe(value_info):
    dims = _dims(value_info)
    shape = "[?]" if dims is None else "[" + ",".join("?" if d is None else str(d) for d in dims) + "]"
    element = value_info.type.tensor_type.elem_type
    name = ELEMENT_NAMES.get(element) or TensorProto.DataType.Name(element).lower()
    kind = "" if element == TensorProto.FLOAT else f" ({name})"
    return f"{value_info.name} {shape}{kind}"


def _nodes(graph):
    """Every node of the graph, those of subgraphs (If, Loop, Scan bodies) included."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            for subgraph in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                yield from _nodes(subgraph)


def custom_operators(model):
    """Sorted names ("domain.Op") of the operators outside ONNX's default domain the model uses,
    in its graph, subgraphs and local functions."""
    found = {f"{node.domain}.{node.op_type}" for node in _nodes(model.graph) if node.domain not in DEFAULT_DOMAINS}
    for function in model.functions:
        found.update(f"{node.domain}.{node.op_type}" for node in function.node if node.domain not in DEFAULT_DOMAINS)
    return sorted(found)


def _layout(dims):
    """'nchw' or 'nhwc' from where the 3 channels are, or None."""
    if dims is None or len(dims) != 4:
        return None
    if dims[1] == 3 and dims[3] != 3:
        return "nchw"
    if dims[3] == 3 and dims[1] != 3:
        return "nhwc"
    return None


def _spatial(dims, layout):
    return (dims[2], dims[3]) if layout == "nchw" else (dims[1], dims[2])


def inspect_onnx_style(model):
    """(layout, input name, output name, spatial size or None) of a ready style graph: exactly one
    float32 input and one float32 output, both 4-D with 3 channels in the same place (NCHW or
    NHWC), batch 1 or free, square spatial dimensions fixed (the same in and out) or free. Raises
    ValueError saying what the graph has for anything else, and naming custom operators (they
    would need code of the file's authors to run)."""
    custom = custom_operators(model)
    if custom:
        raise ValueError(f"it uses operators outside ONNX's standard set: {', '.join(custom)} "
                         "(custom operators need code from the file's authors; animecam runs standard ONNX only)")
    initializers = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initializers]
    outputs = list(model.graph.output)
    if len(inputs) != 1:
        raise ValueError(f"{_count(len(inputs))} inputs: {', '.join(map(_describe, inputs)) or 'none'} "
                         "(a style network takes one picture)")
    if len(outputs) != 1:
        raise ValueError(f"{_count(len(outputs))} outputs: {', '.join(map(_describe, outputs)) or 'none'} "
                         "(a style network gives one picture)")
    (source,), (result,) = inputs, outputs
    for role, value in (("input", source), ("output", result)):
        if value.type.tensor_type.elem_type != TensorProto.FLOAT:
            raise ValueError(f"its {role} is not float32: {_describe(value)} (a style network takes and gives "
                             "float32 pictures)")
    in_dims, out_dims = _dims(source), _dims(result)
    if out_dims is not None and len(out_dims) == 2:
        raise ValueError(f"a classifier: output {_describe(result)} (a style network gives a picture, "
                         f"input {_describe(source)})")
    layout = _layout(in_dims)
    if layout is None:
        raise ValueError(f"its input is not one RGB picture (4-D with 3 channels first or last, not both): "
                         f"{_describe(source)}")
    if out_dims is None:
        # Some exporters record no output shape: taken as a picture in the input's layout, of free
        # size; the importer's run on a test picture checks the shape it really has.
        out_dims = [None, 3, None, None] if layout == "nchw" else [None, None, None, 3]
    if _layout(out_dims) != layout:
        raise ValueError(f"its output is not a picture in the input's layout ({layout}, "
                         f"{_describe(source)}): {_describe(result)}")
    for value, dims in ((source, in_dims), (result, out_dims)):
        if dims[0] not in (1, None):
            raise ValueError(f"batch {dims[0]}: {_describe(value)} (animecam sends one picture at a time)")
    sizes = {dim for dim in _spatial(in_dims, layout) + _spatial(out_dims, layout) if dim is not None}
    if len(sizes) > 1:
        raise ValueError(f"its pictures are not square and of one size: {_describe(source)} -> {_describe(result)}")
    return layout, source.name, result.name, (sizes.pop() if sizes else None)


def _count(number):
    return {0: "no", 1: "one", 2: "two", 3: "three"}.get(number, str(number))


def fix_size(model, layout, size):
    """Pins the batch to 1 and free spatial dimensions of the graph's input and output to `size`
    (in place; returns the model), so that the manifest and ONNX Runtime agree on one size."""
    initializers = {tensor.name for tensor in model.graph.initializer}
    values = [value for value in model.graph.input if value.name not in initializers] + list(model.graph.output)
    spatial_axes = (2, 3) if layout == "nchw" else (1, 2)
    for value in values:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            wanted = 1 if axis == 0 else size if axis in spatial_axes else None
            if wanted is not None and not dim.HasField("dim_value"):
                dim.dim_value = wanted
            elif wanted is not None and dim.dim_value != wanted:
                raise ValueError(f"{value.name} has {dim.dim_value} at axis {axis}, not {wanted}")
    return model


# CartoonGAN's ConvTranspose2d weights are [in, out, k, k]: their fan in is out * k * k.
TRANSPOSED_WEIGHTS = ("deconv01_1.weight", "deconv02_1.weight")


def random_weights(shapes, seed):
    """Seeded random weights for tests and benchmarks: {key: float32 array} for {key: shape},
    deterministic from `seed`: convolutions
    N(0, 1 / fan in), norm scales (GroupNorm weights, InstanceNormalization scales)
    1 + N(0, 0.1^2), biases and shifts N(0, 0.1^2), so that outputs are neither flat nor
    saturated and the norms' affine parameters count."""
    rng = np.random.default_rng(seed)
    state = OrderedDict()
    for key, shape in shapes.items():
        if len(shape) == 1 and key.endswith((".weight", ".scale")):
            value = 1.0 + 0.1 * rng.standard_normal(shape)
        elif len(shape) == 1:
            value = 0.1 * rng.standard_normal(shape)
        else:
            fan_in = int(np.prod(shape[1:])) if key not in TRANSPOSED_WEIGHTS else shape[1] * shape[2] * shape[3]
            value = rng.standard_normal(shape) / np.sqrt(fan_in)
        state[key] = value.astype(np.float32)
    return state
