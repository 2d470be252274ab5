"""Write the small PyTorch checkpoints the torch-free reader is tested against (models/tests_import/data).

Needs PyTorch, so run it with the .venv that has it (`make models-venv`), from the repository root:

    .venv/bin/python models/tests_import/make_checkpoint_fixtures.py

The tests themselves never import torch: they read these committed files and compare every tensor
with `state_expected.npz`, written here from the same tensors. The state dict mimics an official
checkpoint: an OrderedDict of float32, float16, float64, int64 and bool tensors under a `module.`
prefix (DataParallel), a non-contiguous view with a storage offset, a tensor sharing its storage
with another, a 0-d tensor, nested dicts and a list, and an `epoch` int.
"""

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).resolve().parent / "data"


def state():
    generator = torch.Generator().manual_seed(26)
    base = torch.randn(4, 6, generator=generator)
    bias = torch.randn(4, generator=generator)
    module = OrderedDict(
        [
            ("module.conv.weight", torch.randn(4, 3, 3, 3, generator=generator)),
            ("module.conv.bias", bias),
            ("module.tied.bias", bias),
            ("module.norm.running_mean", torch.randn(4, generator=generator).half()),
            ("module.norm.num_batches_tracked", torch.tensor(7)),
            ("module.index", torch.arange(5) - 2),
            ("module.base", base),
            ("module.view", base[1:3, 1::2]),
            ("module.transposed", base.t()),
            ("module.mask", torch.tensor([True, False, True])),
            ("module.double", torch.randn(2, 2, generator=generator, dtype=torch.float64)),
            ("module.int", torch.tensor([1, -2, 3], dtype=torch.int32)),
            ("module.byte", torch.tensor([0, 200, 255], dtype=torch.uint8)),
        ]
    )
    nested = {"inner": {"weight": torch.randn(2, 2, generator=generator)}, "list": [torch.randn(3, generator=generator), 1.5]}
    return {"generator": module, "kp_detector": nested, "epoch": 42, "name": "tiny"}


def flatten(value, prefix=""):
    """{'generator/module.conv.weight': array, 'kp_detector/list/0': array, ...}"""
    if isinstance(value, torch.Tensor):
        return {prefix: value.detach().numpy().copy()}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    flat = {}
    for key, item in items:
        flat.update(flatten(item, f"{prefix}/{key}" if prefix else str(key)))
    return flat


def main():
    DATA.mkdir(exist_ok=True)
    checkpoint = state()
    torch.save(checkpoint, DATA / "state_zip.pth")
    torch.save(checkpoint, DATA / "state_legacy.pth", _use_new_zipfile_serialization=False)
    np.savez(DATA / "state_expected.npz", **flatten(checkpoint))
    for path in sorted(DATA.iterdir()):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
