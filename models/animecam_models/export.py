"""Export FOMM and U-GAT-IT to the ONNX graphs animecam runs, verify them, write the manifest.

Every graph is exported with torch's dynamo exporter (opset 18): the TorchScript exporter was seen
to write a wrong FOMM dense-motion graph without complaint. Each export is then verified: the same
seeded random inputs go through PyTorch and through ONNX Runtime, output by output.
"""

import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
# ONNX Runtime reads its telemetry opt-out once, when it initialises: set it before the import.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
import onnxruntime
import torch

from . import contracts, fomm, ugatit, ugatit_tf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import manifest  # noqa: E402  (models/manifest.py, shared with the fetch scripts)

# The exporter warns about torchvision operators it cannot register; we use none of them.
logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)

OPSET = 18
EXPORTER = f"animecam_models (torch {torch.__version__.split('+')[0]}, onnx {onnx.__version__}, dynamo exporter, opset {OPSET})"
FOMM_TOLERANCE = 1e-4
UGATIT_TOLERANCE = 1e-3


@dataclass
class Verification:
    graph: str
    output: str
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self):
        return self.max_abs_diff <= self.tolerance

    def __str__(self):
        verdict = "ok" if self.ok else "FAILED"
        return f"{self.graph}.{self.output}: max |torch - onnxruntime| = {self.max_abs_diff:.2e} (<= {self.tolerance:.0e}) {verdict}"


def export_graph(module, inputs, names, outputs, path):
    """Exports `module` called on `inputs` to a single self-contained ONNX file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        program = torch.onnx.export(
            module,
            tuple(inputs),
            input_names=list(names),
            output_names=list(outputs),
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    model = program.model_proto
    # Fold external weights back into the file (graphs under 2 GB): one file per graph, one
    # checksum, and tools like ORT's quantizer accept it.
    onnx.save(model, str(path), save_as_external_data=False)
    onnx.checker.check_model(str(path))
    return path


def verify_graph(graph, module, inputs, names, outputs, path, tolerance):
    """Runs the same inputs through PyTorch and ONNX Runtime; one Verification per output."""
    with torch.no_grad():
        expected = module(*inputs)
    if isinstance(expected, torch.Tensor):
        expected = (expected,)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    found = session.run(list(outputs), {name: tensor.numpy() for name, tensor in zip(names, inputs)})
    return [
        Verification(graph, output, float(np.max(np.abs(want.numpy() - got))), tolerance)
        for output, want, got in zip(outputs, expected, found)
    ]


def image_input(generator, size, low=0.0):
    return low + (1.0 - low) * torch.rand((1, 3, size, size), generator=generator)


def fomm_graphs(config, kp_detector, generator, seed):
    """(id, module, inputs, input names, output names, manifest inputs, manifest outputs) per graph."""
    rng = torch.Generator().manual_seed(seed)
    size = config.image_size
    source = image_input(rng, size)
    driving = image_input(rng, size)
    with torch.no_grad():
        features = generator.encode(source)
        source_value, source_jacobian = kp_detector(source)
        driving_value, driving_jacobian = kp_detector(driving)
    # Driving keypoints moved a little off the detected ones, as relative motion does.
    driving_value = (driving_value + 0.05 * torch.randn(driving_value.shape, generator=rng)).clamp(-1, 1)
    driving_jacobian = driving_jacobian + 0.05 * torch.randn(driving_jacobian.shape, generator=rng)

    contract = contracts.fomm(config)
    modules = {
        "fomm_kp": (fomm.KeypointGraph(kp_detector).eval(), [source]),
        "fomm_encoder": (fomm.EncoderGraph(generator).eval(), [source]),
        "fomm_generator": (
            fomm.GeneratorGraph(generator).eval(),
            [source, features, source_value, source_jacobian, driving_value, driving_jacobian],
        ),
    }
    return [
        (graph, module, inputs, contracts.names(contract[graph][0]), contracts.names(contract[graph][1]), *contract[graph])
        for graph, (module, inputs) in modules.items()
    ]


def export_fomm(out_dir, checkpoint=None, config=fomm.VOX_256, seed=0, log=print, spread=False):
    """Exports the three FOMM graphs to out_dir with its manifest; returns the verifications."""
    out_dir = Path(out_dir)
    if checkpoint:
        kp_detector, generator = fomm.load_checkpoint(checkpoint, config)
        source = f"FOMM checkpoint {Path(checkpoint).name} (kp_detector, generator)"
    else:
        kp_detector, generator = fomm.build(config)
        fomm.randomize_(kp_detector, seed, spread)
        fomm.randomize_(generator, seed + 1, spread)
        spreading = ", outputs spread over their range" if spread else ""
        source = f"random weights, seed {seed}{spreading}, FOMM {config.name} architecture (for tests and benchmarks only)"
    entries, verifications = {}, []
    for graph, module, inputs, names, outputs, input_specs, output_specs in fomm_graphs(config, kp_detector, generator, seed):
        started = time.time()
        path = export_graph(module, inputs, names, outputs, out_dir / f"{graph}.onnx")
        checks = verify_graph(graph, module, inputs, names, outputs, path, FOMM_TOLERANCE)
        verifications += checks
        log(f"exported {path} in {time.time() - started:.1f} s")
        for check in checks:
            log(f"  {check}")
        entries[graph] = manifest.model(
            out_dir, path.name, input_specs, output_specs, source=source,
            license="the checkpoint's (FOMM: CC BY-NC 4.0 for the official vox weights)" if checkpoint else "MIT (this project)",
            exporter=EXPORTER,
            notes=f"First Order Motion Model, {config.name} configuration",
        )
    return entries, verifications


def export_ugatit(out_dir, config, checkpoint=None, seed=0, log=print, tf_checkpoint=None):
    """Exports the A->B generator from a PyTorch checkpoint, an official TensorFlow checkpoint
    (`tf_checkpoint`: its prefix; TF semantics) or random weights."""
    out_dir = Path(out_dir)
    semantics = "PyTorch semantics"
    if tf_checkpoint:
        generator = ugatit_tf.load_tf_checkpoint(tf_checkpoint, config)
        source = f"TensorFlow U-GAT-IT checkpoint {Path(tf_checkpoint).name} (generator_B)"
        semantics = "TensorFlow semantics"
    elif checkpoint:
        generator = ugatit.load_checkpoint(checkpoint, config)
        source = f"UGATIT-pytorch checkpoint {Path(checkpoint).name} (genA2B)"
    else:
        generator = ugatit.randomize_(ugatit.ResnetGenerator(config).eval(), seed)
        source = f"random weights, seed {seed}, U-GAT-IT {config.name} architecture (for tests and benchmarks only)"
    rng = torch.Generator().manual_seed(seed)
    image = image_input(rng, config.image_size, low=-1.0)
    graph = contracts.ugatit_graph(config)
    started = time.time()
    path = export_graph(generator, [image], ["image"], ["stylized"], out_dir / f"{graph}.onnx")
    checks = verify_graph(graph, generator, [image], ["image"], ["stylized"], path, UGATIT_TOLERANCE)
    log(f"exported {path} in {time.time() - started:.1f} s")
    for check in checks:
        log(f"  {check}")
    entry = manifest.model(
        out_dir, path.name, *contracts.ugatit(config),
        source=source,
        license="the checkpoint's" if checkpoint or tf_checkpoint else "MIT (this project)",
        exporter=EXPORTER,
        notes=f"U-GAT-IT generator A->B (selfie2anime), {config.name}, {semantics}",
    )
    return {graph: entry}, checks


def write_manifest(out_dir, name, entries, description, test_fixture=False):
    """Merges entries into out_dir/manifest.json (keeps graphs exported by an earlier command)."""
    path = Path(out_dir) / "manifest.json"
    models = {}
    if path.exists():
        models = json.loads(path.read_text()).get("models", {})
    models.update(entries)
    return manifest.write(out_dir, name, models, description=description,
                          fetch_hint="export it with `make models` (see README, Models)",
                          test_fixture=test_fixture)
