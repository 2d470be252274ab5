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


# --- Reproducible (issue 25, 1), worst picture (7), memory and time report (2) -------------------

def int8_graphs_and_report(folder):
    """The bytes of every graph and the manifest without its timings (which measure the machine)."""
    document = json.loads((folder / "manifest.json").read_text())
    for entry in document["models"].values():
        for key in ("fp32_ms", "int8_ms"):
            entry.get("quality", {}).pop(key, None)
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.onnx"))}, document


def test_two_runs_on_the_same_input_write_the_same_graphs_and_report(quantized, tmp_path):
    out, printed = quantized
    again = quantize("--models", TINY, "--out", tmp_path / "again", "--keep-slower")
    assert again.returncode == 0, again.stderr
    first_graphs, first_report = int8_graphs_and_report(out)
    second_graphs, second_report = int8_graphs_and_report(tmp_path / "again")
    assert sorted(first_graphs) == sorted(second_graphs)
    for name in first_graphs:
        assert first_graphs[name] == second_graphs[name], f"{name} differs between two runs on the same input"
    assert first_report == second_report
    # The printed quality lines too (the MSE ranges' samples once depended on a set's order).
    quality_lines = lambda text: [line for line in text.splitlines() if line.startswith("  ") and "PSNR" in line]  # noqa: E731
    assert quality_lines(printed) == quality_lines(again.stdout) and quality_lines(printed)


def test_held_out_faces_are_several_people_poses_and_lights():
    from animecam_models import quantize as tool

    media = tool.load_media()
    names = media.held_out_face_names
    assert len(names) == len(media.held_out_faces) >= 30
    for person in ("carphone_pristine.mp4", "grace_hopper.jpg", "astronaut.png"):
        assert any(name.startswith(person) for name in names), person
    for variation in ("mirrored", "dim light", "bright light", "warm light", "turned -12 deg"):
        assert any(variation in name for name in names), variation
    # The astronaut calibrates as she is: held out only in pictures calibration never saw.
    assert not any(name == "astronaut.png" or "astronaut.png turned" in name for name in names)


def test_keypoints_report_and_judge_their_worst_picture(quantized, tmp_path):
    out, printed = quantized
    quality = json.loads((out / "manifest.json").read_text())["models"]["fomm_kp"]["quality"]
    assert quality["held_out_inputs"] >= 30
    assert quality["keypoint_error_px"] < quality["worst_input_keypoint_error_px"] <= quality["max_keypoint_error_px"]
    assert quality["worst_input"] and quality["worst_input"] in printed
    assert quality["passes_threshold"] is True
    # A failure names the worst picture and its error.
    run = quantize("--models", TINY, "--out", tmp_path / "kp", "--max-keypoint-error", "0.01", "--keep-slower")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "px mean keypoint error on its worst held-out picture (" in run.stderr, run.stderr


def test_the_keypoint_threshold_applies_to_the_worst_picture():
    from animecam_models.quantize import Quality

    # The case: 1.41 px over the set, 2.4 px on one picture, against 2.0 px.
    quality = Quality(held_out_inputs=40, keypoint_error_px=1.41, worst_input_keypoint_error_px=2.4,
                      max_keypoint_error_px=9.0, worst_input="grace_hopper.jpg, dim light")
    assert not quality.passes(30.0, 2.0)
    assert quality.passes(30.0, 2.4)
    assert "2.40 px mean keypoint error on its worst held-out picture (grace_hopper.jpg, dim light), 0.40 px over" \
        in quality.gap(30.0, 2.0)
    better = Quality(held_out_inputs=40, keypoint_error_px=1.6, worst_input_keypoint_error_px=1.9,
                     max_keypoint_error_px=9.0, worst_input="x")
    assert better.better_than(quality), "ranked by the worst picture, not the mean"


def test_prints_its_peak_memory_and_time_per_phase(quantized):
    _, printed = quantized
    peak = next(line for line in printed.splitlines() if line.startswith("peak memory:"))
    megabytes = float(peak.split()[2])
    assert 50 < megabytes < 4000, peak
    table = printed[printed.index("time per phase"):]
    for phase in ("inputs", "prepare", "equalise", "calibrate", "quantise", "quality", "speed"):
        assert phase in table.splitlines()[1], table
    assert any(line.split()[0] == "all" for line in table.splitlines()[2:8]), table


class FeedReader:
    """ONNX Runtime's calibration data reader over a list of feeds."""

    def __init__(self, feeds):
        self._feeds = iter(feeds)

    def get_next(self):
        return next(self._feeds, None)


def test_min_max_ranges_are_those_of_onnx_runtimes_calibrator(tmp_path):
    """The quantiser ranges tensors itself (ONNX Runtime's calibrator built a second copy of the
    graph and its session): the same tensors, and min-max ranges equal to the calibrator's."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    from animecam_models import quantize as q
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator, load_tensors_data

    fp32 = json.loads((TINY / "manifest.json").read_text())
    media = q.load_media()
    feeds = q.graph_inputs("fomm_generator", TINY, lambda graph: fp32["models"][graph],
                           media.calibration_faces[:6], media.calibration_portraits)
    prepared = tmp_path / "prepared.onnx"
    q.prepare(TINY / fp32["models"]["fomm_generator"]["file"], prepared)
    assert (tmp_path / "prepared.onnx.data").is_file(), "the weights go to a data file beside the graph"
    q.calibrate(prepared, tmp_path / "ours.json", feeds, ("Conv",), mse_ranges=False)
    ours = load_tensors_data(tmp_path / "ours.json").data

    calibrator = create_calibrator(prepared, ["Conv"], augmented_model_path=str(tmp_path / "augmented.onnx"),
                                   calibrate_method=CalibrationMethod.MinMax)
    calibrator.collect_data(FeedReader(feeds))
    theirs = calibrator.compute_data().data
    assert sorted(ours) == sorted(theirs) and len(ours) > 10
    for name in theirs:
        np.testing.assert_allclose(ours[name].range_value, theirs[name].range_value, rtol=0, atol=1e-6,
                                   err_msg=name)

    q.calibrate(prepared, tmp_path / "mse.json", feeds, ("Conv",), mse_ranges=True)
    mse = load_tensors_data(tmp_path / "mse.json").data
    narrower = [name for name in mse if mse[name].range_value[1] - mse[name].range_value[0]
                < 0.99 * (theirs[name].range_value[1] - theirs[name].range_value[0])]
    inside = all(mse[name].range_value[0] >= theirs[name].range_value[0] - 1e-6
                 and mse[name].range_value[1] <= theirs[name].range_value[1] + 1e-6 for name in mse)
    assert inside and len(narrower) > len(mse) // 4, "MSE-optimal ranges lie inside min-max, most of them narrower"


# --- Bad input (issue 25, 10) ---------------------------------------------------------------------

def copy_of_tiny(folder):
    import shutil

    shutil.copytree(TINY, folder)
    return folder


def refused(run, *wanted):
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    for text in wanted:
        assert text in run.stderr, run.stderr


def test_out_a_regular_file_is_refused_and_kept(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    refused(quantize("--models", TINY, "--out", target), str(target), "is a file, not a folder")
    assert target.read_text() == "mine"
    refused(quantize("--models", TINY, "--out", target / "int8"), str(target), "is a file, not a folder")


def test_out_with_an_invalid_manifest_is_refused_and_kept(tmp_path):
    folder = tmp_path / "broken-int8"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"precision": "int8", ')
    refused(quantize("--models", TINY, "--out", folder), str(folder / "manifest.json"), "not valid JSON",
            "not replaced")
    assert (folder / "manifest.json").read_text() == '{"precision": "int8", '
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken-int8"]


def test_an_invalid_fp32_manifest_is_named(tmp_path):
    models = copy_of_tiny(tmp_path / "tiny")
    (models / "manifest.json").write_text("[1, 2")
    refused(quantize("--models", models, "--out", tmp_path / "out"), str(models / "manifest.json"), "not valid JSON")
    assert not (tmp_path / "out").exists()


def test_a_truncated_graph_is_named_and_nothing_is_left_behind(tmp_path):
    models = copy_of_tiny(tmp_path / "tiny")
    graph = models / "ugatit_light.onnx"
    graph.write_bytes(graph.read_bytes()[:1000])
    out = tmp_path / "tiny-int8"
    refused(quantize("--models", models, "--out", out), str(graph), "sha256 differs")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tiny"], "no int8 set and no .partial folder"

    # Without a checksum in the manifest, the graph's own bytes are read: still named.
    document = json.loads((models / "manifest.json").read_text())
    del document["models"]["ugatit_light"]["sha256"]
    (models / "manifest.json").write_text(json.dumps(document))
    refused(quantize("--models", models, "--out", out), str(graph), "not a readable ONNX graph")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tiny"]


def test_empty_values_are_refused_and_the_default_set_is_kept(tmp_path):
    models = copy_of_tiny(tmp_path / "tiny")
    default = tmp_path / "tiny-int8"
    default.mkdir()
    (default / "manifest.json").write_text(json.dumps({"precision": "int8", "name": "mine", "models": {}}))
    refused(quantize("--models", models, "--out", ""), "--out is empty")
    assert json.loads((default / "manifest.json").read_text())["name"] == "mine"
    refused(quantize("--models", "", "--out", tmp_path / "x"), "--models is empty")
    refused(quantize("--models", models, "--out", tmp_path / "x", "--media", ""), "--media is empty")
    assert not (tmp_path / "x").exists()
