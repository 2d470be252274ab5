"""The torch-free FOMM graphs (onnx_fomm) against the PyTorch export, output by output, on real face crops.

Both sides run in ONNX Runtime (CPU) with the same weights: seeded random ones spread over their
range (fomm.randomize_ with spread=True: random batch-norm statistics, a Jacobian layer that is not
the identity's zeros), at full size (VOX_256), at TINY, and at a TINY variant whose dense motion
works at half the image so that the deformation and occlusion are resized to the features' size.
"""

import dataclasses
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from animecam_models import contracts, export, fomm, onnx_fomm, quantize
from conftest import MODELS, import_without_torch, official_keys

TOLERANCE = 1e-5
KEYS = "fomm_vox256_official_keys.txt"
# TINY with the dense motion at half the image (32x32) and the features at a quarter (16x16): the
# generator resizes the deformation and the occlusion map (bilinear, align_corners=False).
TINY_RESIZED = dataclasses.replace(
    fomm.TINY, name="tiny-resized",
    generator=dataclasses.replace(
        fomm.TINY.generator,
        dense_motion=dataclasses.replace(fomm.TINY.generator.dense_motion, scale_factor=0.5),
    ),
)
# The registry photos' faces, framed by hand (as face_mesh.FACES): centre and side in pixels.
FACES = {"astronaut.png": (230, 150, 260), "grace_hopper.jpg": (260, 220, 320)}
CONFIGS = {"vox-256": fomm.VOX_256, "tiny": fomm.TINY, "tiny-resized": TINY_RESIZED}


def shapes(module):
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def numpy_state(module):
    return {key: value.numpy() for key, value in module.state_dict().items()}


def random_modules(config, seed=0):
    kp_detector, generator = fomm.build(config)
    fomm.randomize_(kp_detector, seed, spread=True)
    fomm.randomize_(generator, seed + 1, spread=True)
    return kp_detector, generator


def session(model):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    source = model if isinstance(model, str) else model.SerializeToString()
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def face(name, angle=0.0, scale=1.0, shift=(0.0, 0.0)):
    """The face crop of a registry photo, optionally moved first (as quantize's calibration media)."""
    box = FACES[name]
    rgb = quantize._rgb(quantize.MEDIA / name)
    if angle or scale != 1.0 or any(shift):
        rgb = quantize.moved(rgb, angle, scale, shift)
    cx, cy, side = box
    return quantize.face_crop(rgb, (cx, cy, side / 1.8))


def run_both(reference, ours, config):
    """Runs the chain as the FOMM elements do (grace_hopper's portrait driven by the astronaut, whose
    first pose is the reference: relative motion) through both sets of graphs; returns the worst
    |difference| per output and our generator's outputs."""
    contract = contracts.fomm(config)
    image_spec = contract["fomm_kp"][0][0]
    portrait = quantize.image_tensor(face("grace_hopper.jpg"), image_spec)
    reference_face = quantize.image_tensor(face("astronaut.png"), image_spec)
    driving_face = quantize.image_tensor(face("astronaut.png", angle=12, scale=1.08, shift=(0.04, -0.03)), image_spec)
    worst, generated = {}, []

    def both(graph, feed):
        want = reference[graph].run(None, feed)
        got = ours[graph].run(None, feed)
        for name, a, b in zip(contracts.names(contract[graph][1]), want, got):
            assert a.shape == b.shape, (graph, name, a.shape, b.shape)
            worst[name] = max(worst.get(name, 0.0), float(np.abs(a - b).max()))
        return got

    for source, driving in [(portrait, driving_face), (reference_face, portrait)]:
        source_value, source_jacobian = both("fomm_kp", {"image": source})
        reference_value, reference_jacobian = both("fomm_kp", {"image": reference_face})
        value, jacobian = both("fomm_kp", {"image": driving})
        (features,) = both("fomm_encoder", {"source": source})
        generated.append(both("fomm_generator", {
            "source": source,
            "features": features,
            "source_value": source_value,
            "source_jacobian": source_jacobian,
            "driving_value": (source_value + value - reference_value).astype(np.float32),
            "driving_jacobian": (jacobian @ np.linalg.inv(reference_jacobian) @ source_jacobian).astype(np.float32),
        }))
    return worst, generated


@pytest.fixture(scope="module", params=list(CONFIGS))
def compared(request, tmp_path_factory):
    """(config, worst difference per output, our generator outputs, build seconds, graphs)."""
    config = CONFIGS[request.param]
    kp_detector, generator = random_modules(config)
    # What the done-line asks of the weights: batch-norm statistics not the defaults, a Jacobian
    # layer that is not the official initialisation's zeros.
    assert kp_detector.jacobian.weight.abs().max() > 0.01
    assert generator.first.norm.running_mean.abs().max() > 0.01
    assert (generator.first.norm.running_var - 1).abs().max() > 0.01
    out = tmp_path_factory.mktemp(request.param)
    reference = {}
    for graph, module, inputs, names, outputs, *_ in export.fomm_graphs(config, kp_detector, generator, seed=0):
        path = export.export_graph(module, inputs, names, outputs, out / f"{graph}.onnx")
        reference[graph] = session(str(path))
    if config is fomm.VOX_256:
        # The done-line's path: the checkpoint as the official file has it (torch 1.0's legacy
        # format, with the discriminator and an optimiser beside the two models), imported by
        # `animecam models import`'s importer in a child where `import torch` fails.
        checkpoint = out / "vox-cpk.pth.tar"
        torch.save({"kp_detector": kp_detector.state_dict(), "generator": generator.state_dict(),
                    "discriminator": {}, "optimizer_generator": {"param_groups": [{"lr": 2e-4}]}, "epoch": 99},
                   checkpoint, _use_new_zipfile_serialization=False)
        printed, seconds = import_without_torch(checkpoint, out / "imported")
        assert "found: FOMM vox-256, kp_detector + generator, 5" in printed, printed
        graphs = {graph: onnx.load(str(out / "imported" / "vox-256" / f"{graph}.onnx")) for graph in reference}
    else:
        started = time.perf_counter()
        graphs = onnx_fomm.build_graphs(numpy_state(kp_detector), numpy_state(generator), config)
        seconds = time.perf_counter() - started
    worst, generated = run_both(reference, {g: session(m) for g, m in graphs.items()}, config)
    return config, worst, generated, seconds, graphs


def test_graphs_match_the_pytorch_export_output_by_output(compared):
    config, worst, _, seconds, _ = compared
    print(f"\n{config.name}: {'import' if config is fomm.VOX_256 else 'build_graphs'} {seconds:.2f} s; max |torch export - onnx_fomm|: "
          + ", ".join(f"{name} {diff:.1e}" for name, diff in worst.items()))
    assert set(worst) == {"kp_value", "kp_jacobian", "features", "prediction", "occlusion", "deformation"}
    assert {name: diff for name, diff in worst.items() if diff > TOLERANCE} == {}


def test_graphs_keep_the_contract_and_fit_one_file(compared):
    config, _, _, seconds, graphs = compared
    contract = contracts.fomm(config)
    for graph, model in graphs.items():
        inputs, outputs = contract[graph]
        assert [(i.name, [d.dim_value for d in i.type.tensor_type.shape.dim]) for i in model.graph.input] == [
            (spec["name"], spec["shape"]) for spec in inputs
        ]
        assert [(o.name, [d.dim_value for d in o.type.tensor_type.shape.dim]) for o in model.graph.output] == [
            (spec["name"], spec["shape"]) for spec in outputs
        ]
        assert model.ByteSize() < 2**31
        assert all(node.name for node in model.graph.node)
    # The import of a full-size checkpoint has 60 s on a 2-core machine (the bar).
    assert seconds < 60


def test_the_generator_animates_real_faces(compared):
    config, _, generated, _, _ = compared
    for prediction, occlusion, deformation in generated:
        assert prediction.min() >= 0 and prediction.max() <= 1
        assert prediction.std() > 0.05  # an image, not one grey
        assert occlusion.min() >= 0 and occlusion.max() <= 1 and occlusion.std() > 0.01
        assert deformation.shape == (1, config.feature_size, config.feature_size, 2)
        assert np.abs(deformation).max() < 3
    # A different source and driving pose make a different frame.
    assert np.abs(generated[0][0] - generated[1][0]).max() > 0.1


@pytest.mark.parametrize("config", [fomm.VOX_256, fomm.TINY, TINY_RESIZED], ids=lambda c: c.name)
def test_expected_shapes_are_the_modules_state_dicts(config):
    kp_detector, generator = fomm.build(config)
    expected = onnx_fomm.expected_shapes(config)
    assert expected["kp_detector"] == shapes(kp_detector)
    assert expected["generator"] == shapes(generator)


@pytest.mark.parametrize("entry", ["kp_detector", "generator"])
def test_expected_shapes_are_the_official_list(entry):
    assert onnx_fomm.expected_shapes(fomm.VOX_256)[entry] == official_keys(KEYS, entry)


def zero_state(config):
    """The official layout filled with zeros that take no memory (the checks read shapes only)."""
    return {
        entry: {key: np.broadcast_to(np.float32(0), shape) for key, shape in keys.items()}
        for entry, keys in onnx_fomm.expected_shapes(config).items()
    }


def test_a_tensor_of_another_shape_is_refused_with_both_shapes():
    state = zero_state(fomm.VOX_256)
    state["generator"]["dense_motion_network.mask.weight"] = np.zeros((11, 64, 7, 7), np.float32)
    with pytest.raises(ValueError) as error:
        onnx_fomm.build_graphs(state["kp_detector"], state["generator"], fomm.VOX_256)
    assert str(error.value) == (
        "generator: dense_motion_network.mask.weight has shape (11, 64, 7, 7); this architecture needs (11, 108, 7, 7)"
    )


def test_a_checkpoint_of_another_size_is_refused():
    """TINY has fewer blocks than vox-256: what it lacks is named before any shape."""
    state = zero_state(fomm.TINY)
    with pytest.raises(ValueError, match=r"^kp_detector: not the FOMM vox-256 layout: \d+ missing key\(s\): "
                                         r"predictor.encoder.down_blocks.2.conv.weight"):
        onnx_fomm.build_graphs(state["kp_detector"], state["generator"], fomm.VOX_256)


def test_missing_and_unexpected_keys_are_listed():
    state = zero_state(fomm.TINY)
    del state["generator"]["final.weight"]
    with pytest.raises(ValueError, match=r"^generator: .*1 missing key\(s\): final.weight$"):
        onnx_fomm.build_graphs(state["kp_detector"], state["generator"], fomm.TINY)
    state = zero_state(fomm.TINY)
    state["kp_detector"]["extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"^kp_detector: .*1 unexpected key\(s\): extra.weight$"):
        onnx_fomm.build_graphs(state["kp_detector"], state["generator"], fomm.TINY)
    # A prefix the caller did not strip: every key is both missing and unexpected, the first few named.
    state = zero_state(fomm.TINY)
    prefixed = {"module." + key: value for key, value in state["kp_detector"].items()}
    with pytest.raises(ValueError, match=r"missing key\(s\): predictor.*and \d+ more; \d+ unexpected key\(s\): module.predictor"):
        onnx_fomm.build_graphs(prefixed, state["generator"], fomm.TINY)


def test_batch_counters_may_be_absent_and_half_precision_is_read():
    kp_detector, generator = random_modules(fomm.TINY, seed=3)
    kp_state, gen_state = numpy_state(kp_detector), numpy_state(generator)
    half_kp = {k: v.astype(np.float16) for k, v in kp_state.items() if not k.endswith("num_batches_tracked")}
    half_gen = {k: v.astype(np.float16) for k, v in gen_state.items() if not k.endswith("num_batches_tracked")}
    rounded = onnx_fomm.build_graphs(
        {k: v.astype(np.float32) for k, v in half_kp.items()}, {k: v.astype(np.float32) for k, v in half_gen.items()},
        fomm.TINY)
    half = onnx_fomm.build_graphs(half_kp, half_gen, fomm.TINY)
    image = quantize.image_tensor(face("grace_hopper.jpg"), contracts.fomm(fomm.TINY)["fomm_kp"][0][0])
    for graph, feed in [("fomm_kp", {"image": image}), ("fomm_encoder", {"source": image})]:
        for a, b in zip(session(rounded[graph]).run(None, feed), session(half[graph]).run(None, feed)):
            assert np.array_equal(a, b)


def test_builds_and_runs_without_torch(tmp_path):
    """The module imports nothing of PyTorch: a `torch` that refuses to import is first on the path."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError('torch is not installed here')\n")
    script = textwrap.dedent("""
        import sys
        import numpy as np
        import onnxruntime
        from animecam_models import onnx_fomm
        from animecam_models.architectures import TINY
        rng = np.random.default_rng(0)
        state = {entry: {key: rng.standard_normal(shape).astype(np.float32) * 0.1 for key, shape in keys.items()}
                 for entry, keys in onnx_fomm.expected_shapes(TINY).items()}
        for entry in state.values():
            for key in entry:
                if key.endswith("running_var"):
                    entry[key] = np.abs(entry[key]) + 0.5
        graphs = onnx_fomm.build_graphs(state["kp_detector"], state["generator"], TINY)
        session = onnxruntime.InferenceSession(graphs["fomm_kp"].SerializeToString(), providers=["CPUExecutionProvider"])
        value, jacobian = session.run(None, {"image": rng.random((1, 3, 64, 64), dtype=np.float32)})
        assert value.shape == (1, 10, 2) and np.abs(value).max() <= 1, value
        assert "torch" not in sys.modules or sys.modules["torch"] is None
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(MODELS)]), ORT_DISABLE_TELEMETRY="1")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
