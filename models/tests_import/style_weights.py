"""Seeded random weights of the style generators in their official layouts, from numpy alone: the
importer's tests write them as checkpoints without torch, and make_style_fixtures.py loads the
same arrays into the PyTorch reference modules to make the outputs the tests compare against."""

from collections import OrderedDict

import numpy as np
import torchlike

from animecam_models import onnx_style

ANIMEGAN2_SEED = 31
CARTOONGAN_SEED = 32
# The generator lives beside the builders (`python -m animecam_models random-styles` uses it too).
random_state = onnx_style.random_weights


def animegan2_state(seed=ANIMEGAN2_SEED):
    return random_state(onnx_style.animegan2_expected_shapes(), seed)


def cartoongan_state(seed=CARTOONGAN_SEED):
    return random_state(onnx_style.cartoongan_expected_shapes(), seed)


def checkpoint_bytes(state):
    """The bytes torch.save(state, file) writes (zip format), without torch: the state dict as the
    authors' files hold it."""
    return torchlike.zip_checkpoint(OrderedDict(
        (key, torchlike.Tensor(torchlike.Storage(key, value), size=value.shape)) for key, value in state.items()))
