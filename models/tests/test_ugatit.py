"""The U-GAT-IT generator against the official layout, strict loading, export + verify."""

import pytest
import torch

from animecam_models import export, ugatit
from conftest import official_keys

KEYS = "ugatit_pytorch_official_keys.txt"


@pytest.mark.parametrize("config", [ugatit.FULL, ugatit.LIGHT], ids=["full", "light"])
def test_state_dict_matches_the_official_generator(config):
    ours = {k: tuple(v.shape) for k, v in ugatit.ResnetGenerator(config).state_dict().items()}
    official = official_keys(KEYS, config.name)
    assert ours == official


def test_official_layout_checkpoints_load_strictly(tmp_path):
    want = ugatit.randomize_(ugatit.ResnetGenerator(ugatit.TINY_LIGHT).eval(), 3)
    path = tmp_path / "selfie2anime_params_0100000.pt"
    torch.save(
        {
            "genA2B": want.state_dict(),
            "genB2A": ugatit.ResnetGenerator(ugatit.TINY_LIGHT).state_dict(),
            "disGA": {},
            "disLB": {},
        },
        path,
    )
    loaded = ugatit.load_checkpoint(path, ugatit.TINY_LIGHT)
    image = 2 * torch.rand(1, 3, 64, 64) - 1
    with torch.no_grad():
        assert torch.equal(loaded(image), want(image))
    torch.save({"genB2A": want.state_dict()}, path)
    with pytest.raises(ValueError, match="no genA2B entry"):
        ugatit.load_checkpoint(path, ugatit.TINY_LIGHT)
    with pytest.raises(RuntimeError):
        # A light checkpoint is not a full one: the MLP's first layer differs.
        torch.save({"genA2B": want.state_dict()}, path)
        ugatit.load_checkpoint(path, ugatit.TINY_FULL)


def test_uses_unbiased_variance_like_torch_var():
    x = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    _, in_var, _, ln_var = ugatit.instance_and_layer_stats(x)
    assert torch.allclose(in_var.flatten(), x.var(dim=[2, 3], unbiased=True).flatten())
    assert not torch.allclose(in_var.flatten(), x.var(dim=[2, 3], unbiased=False).flatten())


@pytest.mark.parametrize("config", [ugatit.TINY_FULL, ugatit.TINY_LIGHT], ids=["full", "light"])
def test_export_and_verify(tmp_path, config):
    entries, checks = export.export_ugatit(tmp_path, config, None, seed=4, log=lambda _: None)
    assert len(checks) == 1 and checks[0].ok, str(checks[0])
    (entry,) = entries.values()
    assert entry["inputs"][0]["normalization"] == "symmetric"
    assert entry["outputs"][0]["shape"] == [1, 3, 64, 64]
