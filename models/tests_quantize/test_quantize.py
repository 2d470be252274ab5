"""`python -m animecam_models.quantize` end to end on the committed tiny graphs and the registry
media set-up fetched: what it writes, what it measures, and when it refuses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "models" / "tiny"


def quantize(*args, cwd=ROOT):
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "models"))
    return subprocess.run([sys.executable, "-m", "animecam_models.quantize", *map(str, args)],
                          cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    """The tiny set quantised from another working directory, into a folder with a space."""
    out = tmp_path_factory.mktemp("sets") / "tiny int8"
    run = quantize("--models", TINY, "--out", out, "--keep-slower", cwd=tmp_path_factory.mktemp("elsewhere"))
    assert run.returncode == 0, run.stderr
    return out, run.stdout


def session(path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_writes_an_int8_set_with_its_provenance_and_report(quantized):
    out, printed = quantized
    document = json.loads((out / "manifest.json").read_text())
    fp32 = json.loads((TINY / "manifest.json").read_text())
    assert document["precision"] == "int8"
    assert document["quantization"]["fp32_set"]["sha256"] == {g: s["sha256"] for g, s in fp32["models"].items()}
    media = {entry["file"] for entry in document["quantization"]["calibration_media"]}
    assert {"carphone_pristine.mp4", "astronaut.png", "sylvie_green_normal.png"} <= media
    # The encoder runs once per portrait: copied as it was.
    assert document["models"]["fomm_encoder"]["precision"] == "fp32"
    assert document["models"]["fomm_encoder"]["sha256"] == fp32["models"]["fomm_encoder"]["sha256"]
    for graph in ("fomm_kp", "fomm_generator", "ugatit_light", "ugatit_full"):
        entry = document["models"][graph]
        assert entry["precision"] == "int8", graph
        graph_proto = onnx.load(str(out / entry["file"]))
        ops = {node.op_type for node in graph_proto.graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops, graph
        int8_weights = [t for t in graph_proto.graph.initializer if t.data_type == onnx.TensorProto.INT8]
        assert int8_weights, f"{graph} has no int8 weights"
        quality = entry["quality"]
        assert quality["held_out_inputs"] >= 5
        assert graph in printed
    # The report's figures are what the graphs do on held-out inputs.
    assert 30.0 <= document["models"]["fomm_generator"]["quality"]["psnr_db"] < 90.0
    assert 0.0 < document["models"]["fomm_kp"]["quality"]["keypoint_error_px"] <= 2.0
    for graph in ("ugatit_light", "ugatit_full"):
        assert 30.0 <= document["models"][graph]["quality"]["psnr_db"] < 90.0


def test_the_reported_psnr_is_what_the_int8_graph_does_on_a_real_face(quantized):
    out, _ = quantized
    from animecam_models import quantize as tool

    media = tool.load_media()
    spec = json.loads((TINY / "manifest.json").read_text())["models"]["ugatit_light"]
    faces = [tool.image_tensor(face, spec["inputs"][0]) for face in media.held_out_faces]
    fp32, int8 = session(TINY / "ugatit_light.onnx"), session(out / "ugatit_light.onnx")
    errors = [np.mean((fp32.run(None, {"image": f})[0] - int8.run(None, {"image": f})[0]) ** 2) for f in faces]
    psnr = 10 * np.log10(4.0 / np.mean(errors))  # values in [-1, 1]: a range of 2
    reported = json.loads((out / "manifest.json").read_text())["models"]["ugatit_light"]["quality"]["psnr_db"]
    assert abs(psnr - reported) < 0.05, (psnr, reported)
    assert np.mean(errors) > 0, "the int8 graph computes exactly fp32: nothing was quantised"


def test_a_threshold_above_what_was_reached_fails_naming_the_graph(tmp_path):
    out = tmp_path / "strict"
    run = quantize("--models", TINY, "--out", out, "--min-psnr", "80", "--keep-slower")
    assert run.returncode == 1, run.stdout + run.stderr
    # Every image graph is named with its gap; the keypoints passed their own threshold.
    for graph in ("fomm_generator", "ugatit_light", "ugatit_full"):
        line = next((l for l in run.stderr.splitlines() if l.strip().startswith(graph + ":")), None)
        assert line and "dB under the 80.0 dB threshold" in line, run.stderr
    assert "fomm_kp:" not in run.stderr
    assert not out.exists(), "a failed run writes nothing"
    assert not list(tmp_path.glob(".*partial")), "nor leaves its work behind"

    forced = quantize("--models", TINY, "--out", out, "--min-psnr", "80", "--keep-slower", "--force")
    assert forced.returncode == 0, forced.stderr
    document = json.loads((out / "manifest.json").read_text())
    assert document["quantization"]["forced"] is True
    assert "forced below the threshold: ugatit_light" in forced.stdout


def test_keypoint_threshold_and_what_it_never_replaces(tmp_path):
    run = quantize("--models", TINY, "--out", tmp_path / "kp", "--max-keypoint-error", "0.01", "--keep-slower")
    assert run.returncode == 1
    assert "fomm_kp: int8 reaches" in run.stderr and "px over the 0.01 px allowed" in run.stderr, run.stderr

    someone_elses = tmp_path / "photos"
    someone_elses.mkdir()
    (someone_elses / "holiday.jpg").write_bytes(b"not ours")
    refused = quantize("--models", TINY, "--out", someone_elses)
    assert refused.returncode == 2 and "not replaced" in refused.stderr
    assert (someone_elses / "holiday.jpg").read_bytes() == b"not ours"

    itself = quantize("--models", TINY, "--out", TINY)
    assert itself.returncode == 2 and "beside it" in itself.stderr

    missing = quantize("--models", tmp_path / "nothing here")
    assert missing.returncode == 2 and "no manifest.json" in missing.stderr
