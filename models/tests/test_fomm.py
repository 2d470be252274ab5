"""The FOMM modules against the official layout, strict checkpoint loading, export + verify."""

import os

import pytest
import torch

from animecam_models import export, fomm
from conftest import official_keys

KEYS = "fomm_vox256_official_keys.txt"


def shapes(module):
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


@pytest.mark.parametrize("entry", ["kp_detector", "generator"])
def test_state_dict_matches_the_official_modules_key_for_key(entry):
    kp_detector, generator = fomm.build(fomm.VOX_256)
    ours = shapes(kp_detector if entry == "kp_detector" else generator)
    official = official_keys(KEYS, entry)
    assert sorted(set(official) - set(ours)) == []
    assert sorted(set(ours) - set(official)) == []
    assert {k: v for k, v in ours.items() if official[k] != v} == {}


def official_layout_checkpoint(path, prefix=""):
    """A checkpoint shaped like vox-cpk.pth.tar: the two models plus training state."""
    kp_detector, generator = fomm.build(fomm.TINY)
    fomm.randomize_(kp_detector, 11)
    fomm.randomize_(generator, 12)
    torch.save(
        {
            "kp_detector": {prefix + k: v for k, v in kp_detector.state_dict().items()},
            "generator": {prefix + k: v for k, v in generator.state_dict().items()},
            "discriminator": {"down_blocks.0.conv.weight": torch.zeros(1)},
            "optimizer_generator": {"state": {}, "param_groups": []},
            "epoch": 99,
        },
        path,
    )
    return kp_detector, generator


@pytest.mark.parametrize("prefix", ["", "module."])
def test_official_layout_checkpoints_load_strictly(tmp_path, prefix):
    path = tmp_path / "vox-cpk.pth.tar"
    kp_want, gen_want = official_layout_checkpoint(path, prefix)
    kp_detector, generator = fomm.load_checkpoint(path, fomm.TINY)
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(kp_detector(image)[0], kp_want(image)[0])
        assert torch.equal(generator.encode(image), gen_want.encode(image))


def test_checkpoints_missing_keys_or_entries_are_refused(tmp_path):
    path = tmp_path / "broken.pth.tar"
    kp_detector, generator = fomm.build(fomm.TINY)
    state = generator.state_dict()
    del state["final.weight"]
    torch.save({"kp_detector": kp_detector.state_dict(), "generator": state}, path)
    with pytest.raises(RuntimeError, match="final.weight"):
        fomm.load_checkpoint(path, fomm.TINY)
    torch.save({"generator": generator.state_dict()}, path)
    with pytest.raises(ValueError, match="no kp_detector entry"):
        fomm.load_checkpoint(path, fomm.TINY)


def test_closed_form_inverse_matches_torch():
    matrices = torch.eye(2) + 0.3 * torch.randn(5, 10, 2, 2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(fomm.inverse_2x2(matrices), torch.inverse(matrices), atol=1e-5)


def test_split_generator_equals_the_whole():
    kp_detector, generator = fomm.build(fomm.TINY)
    fomm.randomize_(kp_detector, 1)
    fomm.randomize_(generator, 2)
    source, driving = torch.rand(2, 1, 3, 64, 64)
    with torch.no_grad():
        kp_source, kp_driving = kp_detector(source), kp_detector(driving)
        whole = generator(source, kp_source, kp_driving)
        split = generator.animate(source, generator.encode(source), kp_source, kp_driving)
    assert torch.equal(whole[0], split[0])
    # With the source as the driving frame the motion is the identity: the animation is close to
    # what the decoder makes of the unwarped source, so it changes when the driving pose does.
    with torch.no_grad():
        moved = generator(source, kp_source, (kp_source[0] + 0.3, kp_source[1]))[0]
    assert (moved - whole[0]).abs().max() > 1e-3


def test_export_and_verify_every_graph(tmp_path):
    entries, checks = export.export_fomm(tmp_path, None, fomm.TINY, seed=5, log=lambda _: None)
    assert {c.graph for c in checks} == {"fomm_kp", "fomm_encoder", "fomm_generator"}
    assert all(c.ok for c in checks), [str(c) for c in checks]
    assert max(c.max_abs_diff for c in checks) < 1e-5
    generator = entries["fomm_generator"]
    assert [i["name"] for i in generator["inputs"]] == [
        "source", "features", "source_value", "source_jacobian", "driving_value", "driving_jacobian"
    ]
    assert generator["inputs"][1]["shape"] == [1, 32, 16, 16]
    assert entries["fomm_kp"]["outputs"][1]["shape"] == [1, 10, 2, 2]
    assert (tmp_path / "fomm_generator.onnx").stat().st_size > 0


class RunsCode:
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return (self.function, self.args)


def test_the_reference_exporter_reads_a_checkpoint_as_data_too(tmp_path):
    """The issue's crafted checkpoint, saved by torch itself: torch.load(weights_only=False) ran
    it; the exporter now reads the file with the restricted reader, which refuses it by name."""
    marker = tmp_path / "SOMEFILE"
    path = tmp_path / "vox-cpk.pth.tar"
    torch.save({"kp_detector": {}, "generator": {}, "epoch": RunsCode(os.system, f"touch {marker}")}, path)
    with pytest.raises(ValueError, match=r"refused: .* asks for posix\.system"):
        fomm.load_checkpoint(path, fomm.TINY)
    assert not marker.exists()
