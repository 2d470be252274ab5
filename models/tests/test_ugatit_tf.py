"""The official TensorFlow U-GAT-IT layout: checkpoint reading without TensorFlow, the variable
map against the official variable list, TF semantics exported and verified."""

import numpy as np
import pytest
import torch

from animecam_models import export, tf_checkpoint, ugatit, ugatit_tf
from conftest import DATA


def official_variables(variant):
    variables = {}
    for line in (DATA / "ugatit_tf_official_variables.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        group, name, *dims = line.split()
        if group == variant:
            variables[name] = tuple(int(d) for d in dims)
    return variables


@pytest.mark.parametrize("config", [ugatit.FULL, ugatit.LIGHT], ids=["full", "light"])
def test_every_official_variable_maps_to_a_weight_of_the_right_shape(config):
    module = ugatit_tf.TfResnetGenerator(config)
    state = module.state_dict()
    mapped = {
        tf_name: ugatit_tf.from_torch(np.empty(state[name].shape, dtype=np.float32), layout).shape
        for tf_name, (name, layout) in ugatit_tf.variable_map(config).items()
    }
    assert mapped == official_variables(config.name)
    assert {name for name, _ in ugatit_tf.variable_map(config).values()} == set(state)


def write_training_checkpoint(prefix, module, config):
    variables = ugatit_tf.tf_variables(module, config)
    # What a training checkpoint also holds: optimizer slots, the other direction, counters.
    variables["generator_B/conv/conv2d/kernel/Adam"] = np.zeros((7, 7, 3, 4), np.float32)
    variables["generator_A/conv/conv2d/kernel"] = np.ones((7, 7, 3, 4), np.float32)
    variables["beta1_power"] = np.array(0.5, np.float32)
    tf_checkpoint.write_checkpoint(prefix, variables)


def test_reads_a_training_checkpoint_without_tensorflow(tmp_path):
    config = ugatit.TINY_TF
    want = ugatit_tf.randomize_(ugatit_tf.TfResnetGenerator(config).eval(), 7)
    prefix = tmp_path / "UGATIT.model-1000000"
    write_training_checkpoint(prefix, want, config)
    listed = tf_checkpoint.list_variables(prefix)
    assert listed["beta1_power"] == ()
    assert listed["generator_B/MLP/gamma/dense/kernel"] == (16, 16)
    loaded = ugatit_tf.load_tf_checkpoint(prefix, config)
    image = 2 * torch.rand(1, 3, 64, 64) - 1
    with torch.no_grad():
        assert torch.equal(loaded(image), want(image))


def test_damaged_or_foreign_checkpoints_are_refused(tmp_path):
    config = ugatit.TINY_TF
    module = ugatit_tf.randomize_(ugatit_tf.TfResnetGenerator(config).eval(), 7)
    prefix = tmp_path / "model"
    write_training_checkpoint(prefix, module, config)
    data = tmp_path / "model.data-00000-of-00001"
    damaged = bytearray(data.read_bytes())
    damaged[-1] ^= 0xFF  # inside the last generator_B weight (names are stored sorted)
    data.write_bytes(bytes(damaged))
    with pytest.raises(tf_checkpoint.CheckpointError, match="checksum mismatch"):
        ugatit_tf.load_tf_checkpoint(prefix, config)
    tf_checkpoint.write_checkpoint(tmp_path / "other", {"generator_B/conv/conv2d/kernel": np.zeros((1,), np.float32)})
    with pytest.raises(tf_checkpoint.CheckpointError, match="lacks"):
        ugatit_tf.load_tf_checkpoint(tmp_path / "other", config)
    with pytest.raises(tf_checkpoint.CheckpointError, match="not found"):
        ugatit_tf.load_tf_checkpoint(tmp_path / "missing", config)


def test_semantics_differ_from_pytorch_where_the_official_code_does():
    x = torch.randn(1, 3, 5, 5)
    _, variance = ugatit_tf.moments(x, [2, 3])
    assert torch.allclose(variance, x.var(dim=[2, 3], unbiased=False, keepdim=True))
    conv = ugatit_tf.TfConv(3, 3, kernel=3, stride=2, pad=1)
    assert conv.padding == (1, 0, 1, 0)  # reflect-padded on the top and left only
    norm = ugatit_tf.TfAdaptiveLayerInstanceNorm(3)
    norm.rho.data = torch.tensor([0.05, 0.5, 1.0])
    assert torch.allclose(torch.clamp(norm.rho - 0.1, 0, 1), torch.tensor([0.0, 0.4, 0.9]))


def test_export_and_verify_tf_semantics(tmp_path):
    config = ugatit.TINY_TF
    module = ugatit_tf.randomize_(ugatit_tf.TfResnetGenerator(config).eval(), 8)
    prefix = tmp_path / "ckpt" / "UGATIT.model-1"
    prefix.parent.mkdir()
    write_training_checkpoint(prefix, module, config)
    entries, checks = export.export_ugatit(tmp_path / "out", config, None, log=lambda _: None, tf_checkpoint=prefix)
    assert len(checks) == 1 and checks[0].ok, str(checks[0])
    assert "TensorFlow semantics" in entries["ugatit_light"]["provenance"]["notes"]
