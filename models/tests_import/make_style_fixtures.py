"""Makes the committed reference outputs of the style importer's tests (needs PyTorch: run with
the .venv of `make models-venv`, from the checkout root):

    ORT_DISABLE_TELEMETRY=1 PYTHONPATH=models .venv/bin/python models/tests_import/make_style_fixtures.py

Writes models/tests_import/data/style_reference.npz: what the PyTorch reference modules
(style_reference.py, the authors' code) give on real face crops (faces.py, 64 x 64, RGB in
[-1, 1]) with the seeded numpy weights of style_weights.py loaded strictly:
- animegan2/NAME/stylized: AnimeGanGenerator (align_corners=True, the module's default);
- cartoongan/NAME/stylized: CartoonGanTransformer run as its test.py runs it (RGB -> BGR before,
  BGR -> RGB after), so the value is RGB.
It also checks that torch.load reads the checkpoints the tests write without torch (torchlike) to
the same tensors.
"""

import io
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from animecam_models import style_reference  # noqa: E402
import faces  # noqa: E402
import style_weights  # noqa: E402

DATA = HERE / "data"
SIZE = 64


def loaded(module, state):
    """The module with `state` loaded strictly, after a round trip through the torch-free
    checkpoint writer and torch.load (the file the tests import is one torch reads as written)."""
    written = style_weights.checkpoint_bytes(state)
    read = torch.load(io.BytesIO(written), map_location="cpu", weights_only=True)
    for key, value in state.items():
        assert np.array_equal(read[key].numpy(), value), key
    module.load_state_dict(read, strict=True)
    return module.eval()


def main():
    reference = {}
    animegan = loaded(style_reference.AnimeGanGenerator(), style_weights.animegan2_state())
    cartoongan = loaded(style_reference.CartoonGanTransformer(), style_weights.cartoongan_state())
    with torch.no_grad():
        for name, crop in faces.crops(SIZE, "symmetric").items():
            image = torch.from_numpy(crop)
            reference[f"animegan2/{name}/stylized"] = animegan(image).numpy()
            bgr = image[:, [2, 1, 0]]
            reference[f"cartoongan/{name}/stylized"] = cartoongan(bgr)[:, [2, 1, 0]].numpy()
    for key, value in reference.items():
        print(f"{key}: {value.shape}, std {value.std():.3f}, |max| {np.abs(value).max():.3f}")
    np.savez_compressed(DATA / "style_reference.npz", **reference)
    print(f"wrote {DATA / 'style_reference.npz'}")


if __name__ == "__main__":
    main()
