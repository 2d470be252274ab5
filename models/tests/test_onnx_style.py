"""The torch-free style graphs (onnx_style.py) against the authors' PyTorch code (style_reference.py)
at full size, output by output on real face crops within 1e-4: AnimeGANv2 at 256 and 512 (both
upsampling modes), CartoonGAN at 256 and 512 (RGB in and out, its BGR folded into the weights),
through `animecam models import` without torch for one size each; plus the expected shapes against
the reference modules' state dicts and the builders' errors."""

import time

import numpy as np
import pytest
import torch

from animecam_models import onnx_style, quantize, style_reference
from conftest import import_without_torch, session

TOLERANCE = 1e-4


def crops_at(face_crops, size, count):
    spec = {"shape": [1, 3, size, size], "normalization": "symmetric"}
    return [quantize.image_tensor(crop, spec) for crop in face_crops[:count]]


def reference_output(kind, module, image):
    """What the authors' code gives, RGB: CartoonGAN's test.py swaps RGB and BGR on both sides."""
    with torch.no_grad():
        if kind == "cartoongan":
            return module(torch.from_numpy(image)[:, [2, 1, 0]])[:, [2, 1, 0]].numpy()
        return module(torch.from_numpy(image)).numpy()


def reference_module(kind, seed, align_corners=True):
    module = (style_reference.AnimeGanGenerator(align_corners) if kind == "animegan2"
              else style_reference.CartoonGanTransformer())
    return style_reference.randomize_(module, seed).eval()


def state_of(module):
    return {key: value.numpy() for key, value in module.state_dict().items()}


def compare(model_or_path, module, kind, images):
    """Largest |reference - ours| over the images (and the smallest output std: a flat picture fails)."""
    ours = session(model_or_path)
    differences, spreads = [], []
    for image in images:
        (got,) = ours.run(["stylized"], {"image": image})
        want = reference_output(kind, module, image)
        assert got.shape == want.shape == image.shape
        differences.append(float(np.abs(want - got).max()))
        spreads.append(float(got.std()))
    return max(differences), min(spreads)


# ---------------------------------------------------------------------------------------------
# Expected shapes and errors


@pytest.mark.parametrize("kind", ["animegan2", "cartoongan"])
def test_expected_shapes_are_the_reference_modules_state_dicts(kind):
    shapes = onnx_style.animegan2_expected_shapes() if kind == "animegan2" else onnx_style.cartoongan_expected_shapes()
    module = reference_module(kind, 0)
    assert list(shapes.items()) == [(key, tuple(value.shape)) for key, value in module.state_dict().items()]


def test_the_builders_name_what_does_not_fit():
    state = state_of(reference_module("animegan2", 1))
    with pytest.raises(ValueError, match="multiple of 8"):
        onnx_style.build_animegan2(state, 100)
    state["out_layer.0.weight"] = state["out_layer.0.weight"][:, :16]
    with pytest.raises(ValueError, match=r"out_layer\.0\.weight: .* \(3, 16, 1, 1\), the architecture needs "
                                         r"\(3, 32, 1, 1\)"):
        onnx_style.build_animegan2(state, 256)
    state = state_of(reference_module("cartoongan", 2))
    state["extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"unexpected 1 \(extra\.weight\)"):
        onnx_style.build_cartoongan(state, 256)


# ---------------------------------------------------------------------------------------------
# Full-size graphs


@pytest.mark.parametrize("kind, size, align_corners, count", [
    ("animegan2", 256, True, 3),
    ("animegan2", 512, True, 2),
    ("animegan2", 256, False, 3),
    ("cartoongan", 256, None, 3),
    ("cartoongan", 512, None, 1),
], ids=["animegan2-256", "animegan2-512", "animegan2-256-half-pixel", "cartoongan-256", "cartoongan-512"])
def test_full_size_graphs_match_the_authors_code(face_crops, kind, size, align_corners, count):
    module = reference_module(kind, 11, align_corners if align_corners is not None else True)
    state = state_of(module)
    started = time.perf_counter()
    if kind == "animegan2":
        model = onnx_style.build_animegan2(state, size, align_corners=align_corners)
    else:
        model = onnx_style.build_cartoongan(state, size)
    built = time.perf_counter() - started
    assert onnx_style.inspect_onnx_style(model) == ("nchw", "image", "stylized", size)
    difference, spread = compare(model, module, kind, crops_at(face_crops, size, count))
    print(f"{kind} {size}{'' if align_corners is not False else ' half-pixel'}: max abs difference {difference:.2e} "
          f"over {count} face crops, built in {built:.2f} s")
    assert difference <= TOLERANCE
    assert spread > 0.05


@pytest.mark.parametrize("kind, file, size, options", [
    ("animegan2", "face_paint_512_v2.pt", 512, ()),
    ("cartoongan", "Hayao_net_G_float.pth", 256, ("--size", "256")),
], ids=["animegan2-512", "cartoongan-256"])
def test_checkpoints_saved_by_torch_import_without_torch_and_match(tmp_path, face_crops, kind, file, size, options):
    """As the authors' files are: torch.save of the bare state dict (CartoonGAN's converted in the
    torch 0.3 days: the legacy format)."""
    module = reference_module(kind, 12)
    checkpoint = tmp_path / file
    torch.save(module.state_dict(), checkpoint, _use_new_zipfile_serialization=(kind == "animegan2"))
    output, seconds = import_without_torch(checkpoint, tmp_path / "models", *options)
    folder = tmp_path / "models" / "styles" / checkpoint.stem.lower()
    difference, spread = compare(folder / "style.onnx", module, kind, crops_at(face_crops, size, 2))
    print(f"{kind} {size} through the importer: {output.strip().splitlines()[-1]} ({seconds:.1f} s with the child's "
          f"start); max abs difference {difference:.2e}")
    assert difference <= TOLERANCE
    assert spread > 0.05
