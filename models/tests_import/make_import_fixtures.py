"""Makes the importer's committed fixtures (needs PyTorch: run with the .venv of `make
models-venv`, from the checkout root):

    ORT_DISABLE_TELEMETRY=1 PYTHONPATH=models .venv/bin/python models/tests_import/make_import_fixtures.py

Writes into models/tests_import/data/:
- tiny checkpoints in the official layouts, seeded random weights (batch-norm statistics random,
  the Jacobian layer not the identity): tiny-fomm.pth.tar (FOMM's layout, the legacy torch.save
  format of torch 1.0 as vox-cpk.pth.tar has it, with discriminator, optimiser state and epoch),
  tiny-ugatit-{full,light}_params_0001000.pt (UGATIT-pytorch's: genA2B, genB2A, a discriminator),
  tiny-ugatit-tf/ (the TensorFlow checkpoint: index, data, `checkpoint` file, other scopes);
- reference.npz: what the PyTorch exports of those checkpoints (export.py, run in ONNX Runtime)
  give on real face crops (faces.py); the tests compare the importer's graphs against it.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from animecam_models import export, fomm, tf_checkpoint, ugatit, ugatit_tf  # noqa: E402
import faces  # noqa: E402

DATA = HERE / "data"


def run(path, feeds):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return dict(zip([output.name for output in session.get_outputs()], session.run(None, feeds)))


def fomm_fixture(reference, scratch):
    kp_detector, generator = fomm.build(fomm.TINY)
    fomm.randomize_(kp_detector, 21, spread=True)
    fomm.randomize_(generator, 22, spread=True)
    assert kp_detector.jacobian.weight.abs().max() > 0.01, "the Jacobian layer must not be the identity"
    path = DATA / "tiny-fomm.pth.tar"
    torch.save({
        "kp_detector": kp_detector.state_dict(),
        "generator": generator.state_dict(),
        "discriminator": {"down_blocks.0.conv.weight": torch.randn(8, 3, 4, 4)},
        "optimizer_generator": {"state": {}, "param_groups": [{"lr": 2e-4, "betas": (0.5, 0.999), "params": [0, 1]}]},
        "epoch": 149,
    }, path, _use_new_zipfile_serialization=False)
    out = scratch / "fomm"
    export.export_fomm(out, path, fomm.TINY, log=lambda *_: None)
    crops = faces.crops(fomm.TINY.image_size, "unit")
    for name, crop in crops.items():
        for key, value in run(out / "fomm_kp.onnx", {"image": crop}).items():
            reference[f"fomm_kp/{name}/{key}"] = value
    features = run(out / "fomm_encoder.onnx", {"source": crops["portrait"]})["features"]
    reference["fomm_encoder/portrait/features"] = features
    # The portrait driven by grace_hopper relative to astronaut, as the elements drive it.
    source = [reference[f"fomm_kp/portrait/kp_{part}"] for part in ("value", "jacobian")]
    first = [reference[f"fomm_kp/astronaut/kp_{part}"] for part in ("value", "jacobian")]
    now = [reference[f"fomm_kp/grace_hopper/kp_{part}"] for part in ("value", "jacobian")]
    feeds = {
        "source": crops["portrait"], "features": features,
        "source_value": source[0], "source_jacobian": source[1],
        "driving_value": (source[0] + now[0] - first[0]).astype(np.float32),
        "driving_jacobian": (now[1] @ np.linalg.inv(first[1]) @ source[1]).astype(np.float32),
    }
    for key in ("source_value", "source_jacobian", "driving_value", "driving_jacobian"):
        reference[f"fomm_generator/input/{key}"] = feeds[key]
    for key, value in run(out / "fomm_generator.onnx", feeds).items():
        reference[f"fomm_generator/output/{key}"] = value


def ugatit_fixture(reference, scratch, config, seed):
    generator = ugatit.randomize_(ugatit.ResnetGenerator(config).eval(), seed)
    other = ugatit.randomize_(ugatit.ResnetGenerator(config).eval(), seed + 1)
    variant = "light" if config.light else "full"
    path = DATA / f"tiny-ugatit-{variant}_params_0001000.pt"
    torch.save({"genA2B": generator.state_dict(), "genB2A": other.state_dict(),
                "disGA": {"model.0.weight": torch.randn(4, 3, 4, 4)}}, path)
    out = scratch / f"ugatit-{variant}"
    export.export_ugatit(out, config, path, log=lambda *_: None)
    graph = f"ugatit_{variant}"
    for name, crop in faces.crops(config.image_size, "symmetric").items():
        reference[f"{graph}/{name}/stylized"] = run(out / f"{graph}.onnx", {"image": crop})["stylized"]


def ugatit_tf_fixture(reference, scratch):
    config = ugatit.TINY_TF
    module = ugatit_tf.randomize_(ugatit_tf.TfResnetGenerator(config).eval(), 31)
    variables = ugatit_tf.tf_variables(module, config)
    # What a training checkpoint also holds: optimiser slots, the other direction, a counter.
    variables["generator_B/conv/conv2d/kernel/Adam"] = np.zeros((7, 7, 3, 4), np.float32)
    variables["generator_A/conv/conv2d/kernel"] = np.ones((7, 7, 3, 4), np.float32)
    variables["beta1_power"] = np.array(0.5, np.float32)
    folder = DATA / "tiny-ugatit-tf"
    folder.mkdir(exist_ok=True)
    prefix = folder / "UGATIT.model-1000"
    tf_checkpoint.write_checkpoint(prefix, variables)
    (folder / "checkpoint").write_text('model_checkpoint_path: "UGATIT.model-1000"\n'
                                       'all_model_checkpoint_paths: "UGATIT.model-1000"\n')
    out = scratch / "ugatit-tf"
    export.export_ugatit(out, config, tf_checkpoint=prefix, log=lambda *_: None)
    for name, crop in faces.crops(config.image_size, "symmetric").items():
        reference[f"ugatit_tf/{name}/stylized"] = run(out / "ugatit_light.onnx", {"image": crop})["stylized"]


def main():
    DATA.mkdir(exist_ok=True)
    reference = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        fomm_fixture(reference, scratch)
        ugatit_fixture(reference, scratch, ugatit.TINY_FULL, 41)
        ugatit_fixture(reference, scratch, ugatit.TINY_LIGHT, 43)
        ugatit_tf_fixture(reference, scratch)
    np.savez_compressed(DATA / "reference.npz", **reference)
    for path in sorted(DATA.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(HERE)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
