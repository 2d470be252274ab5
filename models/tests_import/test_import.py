"""`python -m animecam_models import` (what `animecam models import` runs) on checkpoints in the
official layouts, with a `torch` on the path that refuses to import: the graphs it builds give
what the PyTorch exports of the same checkpoints gave on real face crops (reference.npz, made by
make_import_fixtures.py where PyTorch is installed); files it must not import are refused by name,
with nothing run, nothing half-written and nothing of the user's replaced."""

import json
import os
import subprocess
import sys
from pathlib import Path

import faces
import numpy as np
import onnxruntime
import pytest
import torchlike
from torchlike import RunsCode, Storage, Tensor

from animecam_models import architectures
from animecam_models.checkpoint import read_torch

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MODELS = HERE.parent
NO_TORCH = HERE / "no_torch"

FOMM_CHECKPOINT = DATA / "tiny-fomm.pth.tar"
UGATIT_FULL = DATA / "tiny-ugatit-full_params_0001000.pt"
UGATIT_LIGHT = DATA / "tiny-ugatit-light_params_0001000.pt"
UGATIT_TF = DATA / "tiny-ugatit-tf"


def run_import(*args, cwd=None):
    """The importer in a child interpreter whose `import torch` fails."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(NO_TORCH), str(MODELS)]), ORT_DISABLE_TELEMETRY="1")
    return subprocess.run([sys.executable, "-m", "animecam_models", "import", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def imported(*args, **kwargs):
    result = run_import(*args, **kwargs)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def refused(*args, **kwargs):
    result = run_import(*args, **kwargs)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def reference():
    with np.load(DATA / "reference.npz") as arrays:
        return {key: arrays[key] for key in arrays.files}


def run_graph(path, feeds):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return dict(zip([output.name for output in session.get_outputs()], session.run(None, feeds)))


def assert_close(value, expected, tolerance, name):
    assert value.shape == expected.shape, (name, value.shape, expected.shape)
    difference = float(np.abs(value - expected).max())
    assert difference <= tolerance, f"{name}: max abs difference {difference:.3g} > {tolerance}"
    # The reference is not flat: a graph that gave zeros or its input would not pass.
    assert float(np.abs(expected - expected.mean()).max()) > 50 * tolerance, name


def tensor(key, array):
    """A tensor as torch pickles it, over a storage of its own named `key`."""
    return Tensor(Storage(key, array), size=array.shape)


def manifest_of(folder):
    return json.loads((folder / "manifest.json").read_text())


def test_a_fomm_checkpoint_imports_without_torch_and_matches_the_pytorch_export(tmp_path, reference):
    models = tmp_path / "my models"
    result = imported(FOMM_CHECKPOINT, "--models-dir", models)
    assert "found: FOMM tiny, kp_detector + generator," in result.stdout
    folder = models / "vox-256"
    assert sorted(manifest_of(folder)["models"]) == ["fomm_encoder", "fomm_generator", "fomm_kp"]
    crops = faces.crops(architectures.TINY.image_size, "unit")
    for name, crop in crops.items():
        for key, value in run_graph(folder / "fomm_kp.onnx", {"image": crop}).items():
            assert_close(value, reference[f"fomm_kp/{name}/{key}"], 1e-5, f"fomm_kp {name} {key}")
    features = run_graph(folder / "fomm_encoder.onnx", {"source": crops["portrait"]})["features"]
    assert_close(features, reference["fomm_encoder/portrait/features"], 1e-5, "features")
    feeds = {"source": crops["portrait"], "features": reference["fomm_encoder/portrait/features"]}
    for key in ("source_value", "source_jacobian", "driving_value", "driving_jacobian"):
        feeds[key] = reference[f"fomm_generator/input/{key}"]
    outputs = run_graph(folder / "fomm_generator.onnx", feeds)
    assert sorted(outputs) == ["deformation", "occlusion", "prediction"]
    for key, value in outputs.items():
        assert_close(value, reference[f"fomm_generator/output/{key}"], 1e-5, f"fomm_generator {key}")


@pytest.mark.parametrize("checkpoint, graph, key, tolerance", [
    (UGATIT_FULL, "ugatit_full", "ugatit_full", 1e-4),
    (UGATIT_LIGHT, "ugatit_light", "ugatit_light", 1e-4),
    (UGATIT_TF, "ugatit_light", "ugatit_tf", 1e-3),
    (UGATIT_TF / "UGATIT.model-1000", "ugatit_light", "ugatit_tf", 1e-3),
    (UGATIT_TF / "UGATIT.model-1000.index", "ugatit_light", "ugatit_tf", 1e-3),
], ids=["pytorch-full", "pytorch-light", "tf-folder", "tf-prefix", "tf-index"])
def test_a_ugatit_checkpoint_imports_without_torch_and_matches_the_export(tmp_path, reference, checkpoint, graph,
                                                                        key, tolerance):
    imported(checkpoint, "--models-dir", tmp_path)
    folder = tmp_path / "ugatit"
    assert list(manifest_of(folder)["models"]) == [graph]
    for name, crop in faces.crops(64, "symmetric").items():
        stylized = run_graph(folder / f"{graph}.onnx", {"image": crop})["stylized"]
        assert_close(stylized, reference[f"{key}/{name}/stylized"], tolerance, f"{key} {name}")


def test_importing_the_other_variant_keeps_the_first(tmp_path):
    imported(UGATIT_FULL, "--models-dir", tmp_path)
    full = (tmp_path / "ugatit" / "ugatit_full.onnx").read_bytes()
    result = imported(UGATIT_LIGHT, "--models-dir", tmp_path)
    assert "kept ugatit_full" in result.stdout
    folder = tmp_path / "ugatit"
    assert sorted(manifest_of(folder)["models"]) == ["ugatit_full", "ugatit_light"]
    assert (folder / "ugatit_full.onnx").read_bytes() == full
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ugatit"]


def test_relative_paths_from_another_folder_and_a_name(tmp_path):
    (tmp_path / "down loads").mkdir()
    copy = tmp_path / "down loads" / "vox adv cpk.pth.tar"
    copy.write_bytes(FOMM_CHECKPOINT.read_bytes())
    imported("down loads/vox adv cpk.pth.tar", "--models-dir", "my models", "--name", "my vox", cwd=tmp_path)
    assert (tmp_path / "my models" / "my vox" / "manifest.json").is_file()
    assert copy.read_bytes() == FOMM_CHECKPOINT.read_bytes()
    for name in ("../elsewhere", "a/b", ".."):
        assert "--name" in refused(FOMM_CHECKPOINT, "--models-dir", tmp_path, "--name", name)


def test_the_crafted_checkpoint_is_refused_by_the_globals_name_and_runs_nothing(tmp_path):
    """The issue's checkpoint: torch.save({"kp_detector": {}, "generator": {}, "epoch": X}) where
    X's __reduce__ calls os.system."""
    marker = tmp_path / "SOMEFILE"
    crafted = tmp_path / "vox-adv-cpk.pth.tar"
    crafted.write_bytes(torchlike.zip_checkpoint(
        {"kp_detector": {}, "generator": {}, "epoch": RunsCode(os.system, f"touch {marker}")}))
    error = refused(crafted, "--models-dir", tmp_path / "models")
    assert "refused" in error and "posix.system" in error and "animecam reads tensors only" in error
    assert not marker.exists()
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_a_truncated_zip_is_refused(tmp_path):
    truncated = tmp_path / "ugatit_params_0001000.pt"
    truncated.write_bytes(UGATIT_FULL.read_bytes()[: UGATIT_FULL.stat().st_size // 2])
    error = refused(truncated, "--models-dir", tmp_path / "models")
    assert str(truncated) in error and ("truncated" in error or "not a complete" in error), error


def test_a_zip_whose_pickle_names_a_missing_storage_is_refused(tmp_path):
    path = tmp_path / "missing.pt"
    genA2B = {"conv.weight": tensor("0", np.ones((2, 2), np.float32))}
    path.write_bytes(torchlike.zip_checkpoint({"genA2B": genA2B}, omit=("0",)))
    error = refused(path, "--models-dir", tmp_path / "models")
    assert "storage" in error and "0" in error, error


def ugatit_state_with(tmp_path, change):
    """The tiny U-GAT-IT full checkpoint's genA2B, changed, written as a zip checkpoint."""
    state = read_torch(UGATIT_FULL)["genA2B"]
    change(state)
    tensors = {key: tensor(str(index), value) for index, (key, value) in enumerate(state.items())}
    path = tmp_path / "changed_params_0001000.pt"
    path.write_bytes(torchlike.zip_checkpoint({"genA2B": tensors}))
    return path


def test_a_tensor_whose_shape_does_not_fit_is_named_with_both_shapes(tmp_path):
    def wrong_shape(state):
        state["UpBlock2.0.conv.weight" if "UpBlock2.0.conv.weight" in state else sorted(state)[0]] = np.zeros(
            (3, 3, 3, 3), np.float32)

    error = refused(ugatit_state_with(tmp_path, wrong_shape), "--models-dir", tmp_path / "models")
    assert "(3, 3, 3, 3)" in error and "needs" in error, error


def test_a_checkpoint_with_a_key_missing_names_it(tmp_path):
    removed = []

    def drop_one(state):
        removed.append(sorted(state)[-1])
        del state[removed[0]]

    error = refused(ugatit_state_with(tmp_path, drop_one), "--models-dir", tmp_path / "models")
    assert removed[0] in error and "missing" in error, error


def test_a_checkpoint_of_another_model_is_named_with_its_entries(tmp_path):
    path = tmp_path / "resnet.pth"
    path.write_bytes(torchlike.zip_checkpoint({
        "state_dict": {"conv1.weight": tensor("0", np.ones((4, 3, 7, 7), np.float32))},
        "epoch": 90, "arch": "resnet18"}))
    error = refused(path, "--models-dir", tmp_path / "models")
    assert "this is not a FOMM, U-GAT-IT or style network checkpoint: its entries are" in error
    assert "state_dict" in error and "arch" in error


def test_a_photo_is_not_a_checkpoint(tmp_path):
    photo = MODELS.parent / ".cache" / "media" / "grace_hopper.jpg"
    error = refused(photo, "--models-dir", tmp_path / "models")
    assert str(photo) in error, error


def test_a_folder_that_is_not_a_model_set_is_never_replaced(tmp_path):
    mine = tmp_path / "vox-256"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own notes")
    error = refused(FOMM_CHECKPOINT, "--models-dir", tmp_path)
    assert "not an animecam model set" in error and str(mine) in error
    assert (mine / "notes.txt").read_text() == "my own notes"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["vox-256"]


def test_a_failed_import_leaves_the_existing_set_as_it_was(tmp_path):
    imported(UGATIT_FULL, "--models-dir", tmp_path)
    before = {path.name: path.read_bytes() for path in (tmp_path / "ugatit").iterdir()}

    def poison(state):
        # Weights that load but give NaN: caught by the check on a test picture, after the
        # graph was written aside.
        key = next(key for key in state if key.endswith("weight") and state[key].ndim == 4)
        state[key] = np.full_like(state[key], np.nan)

    error = refused(ugatit_state_with(tmp_path, poison), "--models-dir", tmp_path)
    assert "not finite" in error, error
    assert {path.name: path.read_bytes() for path in (tmp_path / "ugatit").iterdir()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["changed_params_0001000.pt", "ugatit"]


def test_a_set_made_by_the_importer_is_replaced_whole(tmp_path):
    imported(FOMM_CHECKPOINT, "--models-dir", tmp_path)
    (tmp_path / "vox-256" / "stale.onnx").write_bytes(b"old")
    imported(FOMM_CHECKPOINT, "--models-dir", tmp_path)
    assert not (tmp_path / "vox-256" / "stale.onnx").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["vox-256"]



def test_an_int8_set_made_from_the_replaced_weights_is_named(tmp_path):
    imported(UGATIT_FULL, "--models-dir", tmp_path)
    written = manifest_of(tmp_path / "ugatit")["models"]["ugatit_full"]["sha256"]
    int8 = tmp_path / "ugatit-int8"
    int8.mkdir()

    def made_from(sha256):
        (int8 / "manifest.json").write_text(json.dumps({
            "format": 1, "name": "ugatit-int8", "precision": "int8", "models": {},
            "quantization": {"fp32_set": {"folder": "../ugatit", "sha256": {"ugatit_full": sha256}}}}))

    # Made from what the same checkpoint gives (the builder writes the same bytes): nothing to say.
    made_from(written)
    assert "note:" not in imported(UGATIT_FULL, "--models-dir", tmp_path).stdout
    made_from("0" * 64)
    printed = imported(UGATIT_FULL, "--models-dir", tmp_path).stdout
    assert f"note: {int8} was made from the weights this import replaced" in printed and "--int8" in printed
