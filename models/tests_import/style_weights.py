"""Seeded random weights of the style generators in their official layouts, from numpy alone: the
importer's tests write them as checkpoints without torch, and make_style_fixtures.py loads the
same arrays into the PyTorch reference modules to make the outputs the tests compare against."""

from collections import OrderedDict

import numpy as np
import torchlike

from animecam_models import onnx_style

ANIMEGAN2_SEED = 31
CARTOONGAN_SEED = 32
# CartoonGAN's ConvTranspose2d weights are [in, out, k, k]: their fan in is out * k * k.
TRANSPOSED = ("deconv01_1.weight", "deconv02_1.weight")


def random_state(shapes, seed):
    """{key: float32 array} for {key: shape}, deterministic from `seed`: convolutions
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
            fan_in = int(np.prod(shape[1:])) if key not in TRANSPOSED else shape[1] * shape[2] * shape[3]
            value = rng.standard_normal(shape) / np.sqrt(fan_in)
        state[key] = value.astype(np.float32)
    return state


def animegan2_state(seed=ANIMEGAN2_SEED):
    return random_state(onnx_style.animegan2_expected_shapes(), seed)


def cartoongan_state(seed=CARTOONGAN_SEED):
    return random_state(onnx_style.cartoongan_expected_shapes(), seed)


def checkpoint_bytes(state):
    """The bytes torch.save(state, file) writes (zip format), without torch: the state dict as the
    authors' files hold it."""
    return torchlike.zip_checkpoint(OrderedDict(
        (key, torchlike.Tensor(torchlike.Storage(key, value), size=value.shape)) for key, value in state.items()))
