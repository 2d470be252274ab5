"""The style networks `animecam models import FILE` takes (importer.py calls this module): what
they are recognised by, how their graph is made, the contract the manifest states and how the
written graph is checked.

- AnimeGANv2 generators as the animegan2-pytorch port saves them (a bare state dict of its
  `Generator`: face_paint_512_v2.pt, paprika.pt, ...) and CartoonGAN generators as the official
  test repository converted them (a bare state dict of `Transformer`: Hayao_net_G_float.pth, ...):
  built as ONNX from the weights (onnx_style), RGB in [-1, 1] NCHW in and out, at `--size`;
- a ready .onnx file: read as data (never run before it is checked, never with custom operators),
  checked to be one picture in and one out (onnx_style.inspect_onnx_style), its layout taken from
  where its 3 channels are and its value range from the user (`--range`: a graph does not say).

Each goes into models/styles/NAME as one graph `style` (style.onnx), with layout and
normalization stated for both its input and its output.

Torch-free, like the importer.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto

from . import onnx_style

STYLE_KINDS = ("animegan2", "cartoongan", "onnx")
STYLES_DIR = "styles"  # models/styles/NAME
GRAPH = "style"
DEFAULT_SIZE = 512
# The value ranges a picture tensor can use: manifest normalization -> (low, high).
RANGES = {"symmetric": (-1.0, 1.0), "unit": (0.0, 1.0), "byte": (0.0, 255.0)}
# How far a checked output may go past its range (a fraction of the range) before the import is
# refused: untrained-looking overshoot is fine, another range is not.
RANGE_MARGIN = 0.01

LICENSES = {
    "animegan2": "the weights' authors': AnimeGANv2 (Xin Chen, github.com/TachibanaYoshino/AnimeGANv2) is free for "
                 "non-commercial purposes only (its README); the animegan2-pytorch port's code is MIT and its "
                 "face_paint_512 and celeba_distill weights state no licence of their own",
    "cartoongan": "research use only: the CartoonGAN authors' pretrained models (Chen et al., CVPR 2018), converted "
                  "by github.com/Yijunmaverick/CartoonGAN-Test-Pytorch-Torch (MIT code); no licence for other use",
    "onnx": "the file's authors' (animecam cannot tell: check where the file came from)",
}
DESCRIPTIONS = {
    "animegan2": "AnimeGANv2 style network",
    "cartoongan": "CartoonGAN style network",
    "onnx": "image-to-image style network (a ready ONNX file)",
}


class NotAStyle(ValueError):
    """The file is a style network's but cannot be imported; the message says why."""


@dataclass
class StyleSpec:
    """What the importer needs to know of a style network besides its weights."""

    size: int  # the square picture size the graph runs at
    default_name: str  # the set's folder name under styles/ unless --name gives one
    layout: str = "nchw"
    normalization: str = "symmetric"
    input_name: str = "image"
    output_name: str = "stylized"
    model: object = None  # a ready file's onnx.ModelProto (sizes fixed)
    free_size: bool = False  # a ready file whose spatial size was free (fixed to `size`)


def style_name(path):
    """The default set name: the file's stem, lowercased, spaces as '-' ("Hayao_net_G_float")."""
    stem = Path(path).name
    for suffix in (".onnx", ".pth", ".pt", ".tar", ".ckpt"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return re.sub(r"\s+", "-", stem.strip().lower()) or "style"


def checked_size(size):
    size = DEFAULT_SIZE if size is None else size
    if size < onnx_style.SIZE_MULTIPLE or size % onnx_style.SIZE_MULTIPLE:
        raise NotAStyle(f"--size {size}: style networks run at a multiple of {onnx_style.SIZE_MULTIPLE} "
                        f"(e.g. 256 or {DEFAULT_SIZE})")
    return size


def state_dict_kind(state):
    """'animegan2', 'cartoongan' or None for a bare state dict, by the names of its layers."""
    if any(key.startswith(("block_a.", "block_c.", "out_layer.")) for key in state):
        return "animegan2"
    if any(key.startswith(("conv01_1.", "deconv03_1.", "in01_1.")) for key in state):
        return "cartoongan"
    return None


def expected_shapes(kind):
    return onnx_style.animegan2_expected_shapes() if kind == "animegan2" else onnx_style.cartoongan_expected_shapes()


def recognise_state(state, path, size):
    """(kind, StyleSpec) for a bare state dict of a style generator, None for another state dict;
    ValueError naming the first key or shape that does not fit."""
    kind = state_dict_kind(state)
    if kind is None:
        return None
    what = "AnimeGANv2 generator (animegan2-pytorch)" if kind == "animegan2" else "CartoonGAN Transformer"
    onnx_style.check_weights(state, expected_shapes(kind), what)
    return kind, StyleSpec(size=checked_size(size), default_name=style_name(path))


def read_onnx(path, size, value_range):
    """The StyleSpec of a ready .onnx file (its graph inside), or NotAStyle saying what is wrong."""
    path = Path(path)
    if value_range is None:
        raise NotAStyle(f"{path.name}: say which value range its pictures use with --range symmetric ([-1, 1]), "
                        "unit ([0, 1]) or byte ([0, 255]): an ONNX graph does not record it")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # noqa: BLE001  (protobuf's DecodeError and friends: the file is not ONNX)
        raise NotAStyle(f"{path} is not an ONNX model: {error}") from None
    external = [tensor.name for tensor in model.graph.initializer if tensor.data_location == TensorProto.EXTERNAL]
    if external:
        raise NotAStyle(f"{path.name} keeps {len(external)} weights in separate files ({', '.join(external[:3])}): "
                        "give a self-contained .onnx file")
    try:  # custom operators first: the checker would stop at them with a less useful message
        layout, input_name, output_name, fixed = onnx_style.inspect_onnx_style(model)
    except ValueError as error:
        raise NotAStyle(f"{path.name} is not an image-to-image style network: {error}") from None
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        raise NotAStyle(f"{path.name} is not a valid ONNX model: {str(error).splitlines()[0]}") from None
    if fixed is not None and size is not None and size != fixed:
        raise NotAStyle(f"--size {size}: {path.name} runs at {fixed} x {fixed} only")
    if fixed is None:
        size = checked_size(size)
    onnx_style.fix_size(model, layout, fixed or size)
    return StyleSpec(size=fixed or size, default_name=style_name(path), layout=layout, normalization=value_range,
                     input_name=input_name, output_name=output_name, model=model, free_size=fixed is None)


def parameter_count(kind, weights, spec):
    if kind != "onnx":
        return onnx_style.parameter_count(weights)
    return int(sum(int(np.prod(tensor.dims)) for tensor in spec.model.graph.initializer))


def describe(kind, spec, millions):
    """Found.__str__ for a style network."""
    if kind == "animegan2":
        return f"AnimeGANv2 generator, {millions}"
    if kind == "cartoongan":
        return f"CartoonGAN Transformer, {millions}"
    size = f"free size, run at {spec.size}" if spec.free_size else f"{spec.size} x {spec.size}"
    return f"ONNX image-to-image network ({spec.layout.upper()}, {spec.normalization} range, {size}), {millions}"


def build(kind, weights, spec):
    """{graph id: ModelProto}."""
    if kind == "animegan2":
        return {GRAPH: onnx_style.build_animegan2(weights, spec.size)}
    if kind == "cartoongan":
        return {GRAPH: onnx_style.build_cartoongan(weights, spec.size)}
    return {GRAPH: spec.model}


def picture_shape(spec):
    size = spec.size
    return [1, 3, size, size] if spec.layout == "nchw" else [1, size, size, 3]


def contract(spec, manifest):
    """(input specs, output specs) as the manifest states them."""
    low, high = RANGES[spec.normalization]
    span = f"RGB in [{low:g}, {high:g}]"
    return (
        [manifest.tensor(spec.input_name, picture_shape(spec), layout=spec.layout, normalization=spec.normalization,
                         description=f"the picture to stylise, {span}")],
        [manifest.tensor(spec.output_name, picture_shape(spec), layout=spec.layout, normalization=spec.normalization,
                         description=f"the stylised picture, {span}")],
    )


def source(kind, path):
    name = Path(path).name
    return {
        "animegan2": f"AnimeGANv2 generator state dict {name} (animegan2-pytorch layout)",
        "cartoongan": f"CartoonGAN Transformer state dict {name} (CartoonGAN-Test-Pytorch-Torch layout)",
        "onnx": f"ONNX file {name}",
    }[kind]


def notes(kind, spec, found):
    if kind == "onnx":
        return (f"{found}; checked: one picture in and one out; value range {spec.normalization} as the user said "
                "(--range)")
    extra = (" bilinear upsampling with align_corners=True (the module's default, torch.hub's face2paint);"
             if kind == "animegan2" else " the original's BGR folded into the first and last convolutions;")
    return f"{found}; built from the weights as ONNX at {spec.size} x {spec.size},{extra} read without executing the file"


def test_input(spec, unit_picture):
    """The importer's test picture [1, 3, S, S] in [0, 1], in the graph's layout and range."""
    low, high = RANGES[spec.normalization]
    picture = unit_picture * np.float32(high - low) + np.float32(low)
    if spec.layout == "nhwc":
        picture = np.transpose(picture, (0, 2, 3, 1))
    return np.ascontiguousarray(picture, dtype=np.float32)


def check_output(spec, value):
    """None when the graph's output on the test picture has the contract's shape, finite values and
    its range; otherwise what is wrong."""
    if list(value.shape) != picture_shape(spec):
        return f"{GRAPH}.{spec.output_name} has shape {list(value.shape)}, expected {picture_shape(spec)}"
    if not np.all(np.isfinite(value)):
        return f"{GRAPH}.{spec.output_name} is not finite on a test picture: the weights are damaged"
    low, high = RANGES[spec.normalization]
    margin = RANGE_MARGIN * (high - low)
    if value.min() < low - margin or value.max() > high + margin:
        return (f"{GRAPH}.{spec.output_name} spans [{value.min():.4g}, {value.max():.4g}] on a test picture, outside "
                f"the {spec.normalization} range [{low:g}, {high:g}]: is --range right?")
    return None
