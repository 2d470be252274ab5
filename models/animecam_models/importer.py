"""`animecam models import FILE`: a checkpoint as users download it, turned into the model set
animecam runs, without PyTorch and without running anything the file contains.

    PYTHONPATH=models .venv/bin/python -m animecam_models import ~/Downloads/vox-adv-cpk.pth.tar

What it does:
1. reads the file as data only: PyTorch checkpoints through `checkpoint.read_torch` (a restricted
   unpickler that admits the globals a state dict needs and refuses any other by name), the
   official TensorFlow U-GAT-IT checkpoint through `tf_checkpoint` (its index and data files);
2. recognises what it holds from the file itself (FOMM's kp_detector + generator, UGATIT-pytorch's
   genA2B, TensorFlow's generator_B scope, a bare state dict of an AnimeGANv2 or CartoonGAN
   generator, a ready .onnx style network), and which architecture by the weights' shapes;
3. builds the graphs directly as ONNX from the weights (`onnx_fomm`, `onnx_ugatit`, `onnx_style`),
   with the inputs, outputs and manifest contracts the PyTorch exporters write (`contracts`; style
   networks: `import_styles`, into models/styles/NAME);
4. checks each graph runs in ONNX Runtime on a test picture, with the contract's shapes and
   finite values in range;
5. writes the set beside the final folder and renames it into place at the end; an existing
   folder is replaced only if it is an animecam model set (a U-GAT-IT set keeps the variant this
   import does not bring); `--int8` then makes the int8 set beside it (the quantiser).

Needs numpy, onnx and onnxruntime (what `make setup` installs), never PyTorch.
"""

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# ONNX Runtime reads its telemetry opt-out once, when it initialises: set it before the import.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
import onnx  # noqa: E402
import onnxruntime  # noqa: E402

from . import architectures, checkpoint, contracts, import_styles, onnx_fomm, onnx_ugatit, tf_checkpoint  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import manifest  # noqa: E402  (models/manifest.py)

TOOL = f"animecam_models.importer (onnx {onnx.__version__}, no PyTorch)"
# The architectures a checkpoint is matched against, by the shapes of its weights. The tiny
# ones are the test sets' (the same graphs at small widths).
FOMM_CONFIGS = (architectures.VOX_256, architectures.TINY)
UGATIT_CONFIGS = (architectures.FULL, architectures.LIGHT, architectures.TINY_FULL, architectures.TINY_LIGHT)
UGATIT_TF_CONFIGS = (architectures.FULL, architectures.LIGHT, architectures.TINY_TF)
# Folder names animecam looks for (src/model_sets.rs).
FOMM_SET = "vox-256"
UGATIT_SET = "ugatit"


class NotImportable(ValueError):
    """What the user gave cannot be imported; the message names it and what was expected."""


@dataclass
class Found:
    """What a checkpoint holds, recognised from the file itself."""

    kind: str  # "fomm", "ugatit" (UGATIT-pytorch), "ugatit-tf", or a style: "animegan2", "cartoongan", "onnx"
    config: object  # an architecture; a style's import_styles.StyleSpec
    weights: dict  # fomm: {"kp_detector": {...}, "generator": {...}}; ugatit, styles: {key: array}
    parameters: int

    @property
    def is_style(self):
        return self.kind in import_styles.STYLE_KINDS

    def __str__(self):
        millions = (f"{self.parameters / 1e6:.1f} M parameters" if self.parameters >= 100_000
                    else f"{self.parameters:,} parameter{'' if self.parameters == 1 else 's'}")
        if self.kind == "fomm":
            return f"FOMM {self.config.name}, kp_detector + generator, {millions}"
        if self.is_style:
            return import_styles.describe(self.kind, self.config, millions)
        origin = "UGATIT-pytorch genA2B" if self.kind == "ugatit" else "official TensorFlow checkpoint, generator_B"
        return f"U-GAT-IT {self.config.name} ({origin}), {millions}"

    @property
    def default_set(self):
        if self.is_style:
            return self.config.default_name
        return FOMM_SET if self.kind == "fomm" else UGATIT_SET


def parameter_count(weights):
    """Learned values, as PyTorch counts them: batch-norm statistics and counters left out."""
    return int(sum(value.size for key, value in weights.items()
                   if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))))


def tensors_only(entry, path, name):
    if not isinstance(entry, dict) or not all(isinstance(value, np.ndarray) for value in entry.values()):
        raise NotImportable(f"{path}: its {name} entry is not a state dict (names to tensors)")
    return dict(entry)


def variant_of(config):
    return "light" if getattr(config, "light", False) else "full"


def closest(configs, shapes_of, weights, variant=None):
    """(config, exact): the configuration whose expected shapes the weights have exactly
    (num_batches_tracked may be absent), else the nearest one (fewest keys missing or unexpected,
    then fewest shapes that differ), so that the builder's check names what does not fit."""
    present = {key: tuple(value.shape) for key, value in weights.items()}
    ranked = []
    for order, config in enumerate(configs):
        if variant and variant_of(config) != variant:
            continue
        expected = {key: tuple(shape) for key, shape in shapes_of(config).items()}
        optional = {key for key in expected if key.endswith("num_batches_tracked")}
        strays = len(set(present) - set(expected)) + len(set(expected) - set(present) - optional)
        differing = sum(1 for key, shape in present.items() if key in expected and expected[key] != shape)
        if strays == 0 and differing == 0:
            return config, True
        ranked.append((strays, differing, order, config))
    return (min(ranked, key=lambda rank: rank[:3])[3] if ranked else None), False


def is_tf_checkpoint(path):
    path = Path(path)
    return (Path(f"{path}.index").is_file() or path.suffix == ".index"
            or (path.is_dir() and (any(path.glob("*.index")) or (path / "checkpoint").is_file())))


def tf_prefix(path):
    """The checkpoint prefix of a TensorFlow checkpoint given by its prefix, its .index or its folder."""
    path = Path(path)
    if path.suffix == ".index":
        return path.with_suffix("")
    if not path.is_dir():
        return path
    state = path / "checkpoint"
    if state.is_file():
        # model_checkpoint_path: "UGATIT.model-1000000"
        for line in state.read_text(errors="replace").splitlines():
            if line.startswith("model_checkpoint_path:"):
                named = Path(line.split(":", 1)[1].strip().strip('"'))
                return named if named.is_absolute() else path / named
    indexes = sorted(path.glob("*.index"))
    if len(indexes) != 1:
        raise NotImportable(f"{path} holds {len(indexes)} TensorFlow checkpoints (.index files) and no `checkpoint` "
                           "file naming one: give the prefix, e.g. checkpoint/UGATIT.model-1000000")
    return indexes[0].with_suffix("")


def recognise(path, variant=None, size=None, value_range=None):
    """Reads the checkpoint at `path` as data and says what it is (`Found`), or NotImportable.
    `size` and `value_range` (--size, --range) only apply to style networks, `value_range` only to
    ready .onnx files, whose graph cannot say it."""
    found = _recognise(Path(path), variant, size, value_range)
    if not found.is_style and (size is not None or value_range is not None):
        option = "--size" if size is not None else "--range"
        raise NotImportable(f"{option} applies to style networks (AnimeGANv2, CartoonGAN, a ready .onnx file); "
                           f"{Path(path).name} holds {found}")
    if found.kind != "onnx" and value_range not in (None, "symmetric"):
        raise NotImportable(f"--range {value_range}: {found} takes and gives [-1, 1] (symmetric); --range is for "
                           "ready .onnx files")
    return found


def _recognise(path, variant, size, value_range):
    if path.suffix.lower() == ".onnx" and path.is_file():
        try:
            spec = import_styles.read_onnx(path, size, value_range)
        except import_styles.NotAStyle as error:
            raise NotImportable(str(error)) from None
        return Found("onnx", spec, {}, import_styles.parameter_count("onnx", {}, spec))
    if is_tf_checkpoint(path):
        prefix = tf_prefix(path)
        try:
            names = tf_checkpoint.list_variables(prefix)
        except (tf_checkpoint.CheckpointError, OSError, ValueError, IndexError) as error:
            raise NotImportable(f"{path} is not a readable TensorFlow checkpoint: {error}") from None
        shapes = {name: tuple(shape) for name, shape in names.items() if name.startswith("generator_B/")
                  and "Adam" not in name}
        config = None
        for candidate in UGATIT_TF_CONFIGS:
            if variant and variant_of(candidate) != variant:
                continue
            expected = {name: tuple(shape) for name, shape in onnx_ugatit.tf_expected_shapes(candidate).items()}
            if all(shapes.get(name) == shape for name, shape in expected.items()):
                config = candidate
                break
        if config is None:
            if not shapes:
                raise NotImportable(f"{path} is a TensorFlow checkpoint without a generator_B scope: this is not the "
                                   "official U-GAT-IT selfie2anime checkpoint")
            raise NotImportable(f"{path}: its generator_B variables match no U-GAT-IT "
                               f"{variant or 'full or light'} generator (e.g. {next(iter(sorted(shapes.items())))})")
        try:
            variables = tf_checkpoint.read_checkpoint(prefix, names=list(onnx_ugatit.tf_expected_shapes(config)))
        except (tf_checkpoint.CheckpointError, OSError) as error:
            raise NotImportable(f"{path}: {error}") from None
        return Found("ugatit-tf", config, variables, parameter_count(variables))

    if not path.exists():
        raise NotImportable(f"{path} not found: give the checkpoint file (e.g. vox-adv-cpk.pth.tar)")
    if not path.is_file():
        raise NotImportable(f"{path} is not a regular file: give the checkpoint file (e.g. vox-adv-cpk.pth.tar)")
    try:
        contents = checkpoint.read_torch(path)
    except checkpoint.CheckpointError as error:
        raise NotImportable(str(error)) from None
    if not isinstance(contents, dict):
        raise NotImportable(f"this is not a FOMM, U-GAT-IT or style network checkpoint: {path} holds a "
                           f"{type(contents).__name__}, not a dictionary of models or weights")
    if contents and all(isinstance(value, np.ndarray) for value in contents.values()):
        # A bare state dict: a style generator's (AnimeGANv2, CartoonGAN) as their authors save them.
        weights = checkpoint.strip_module_prefix(dict(contents))
        try:
            recognised = import_styles.recognise_state(weights, path, size)
        except import_styles.NotAStyle as error:
            raise NotImportable(str(error)) from None
        if recognised is not None:
            kind, spec = recognised
            return Found(kind, spec, weights, import_styles.parameter_count(kind, weights, spec))
        raise NotImportable(f"{path} holds a state dict of a network animecam does not know (e.g. "
                           f"{next(iter(weights))}): AnimeGANv2 generators (animegan2-pytorch) start with block_a., "
                           "CartoonGAN Transformers with conv01_1.")
    if "kp_detector" in contents and "generator" in contents:
        weights = {name: checkpoint.strip_module_prefix(tensors_only(contents[name], path, name))
                   for name in ("kp_detector", "generator")}

        def shapes_of(config):
            expected = onnx_fomm.expected_shapes(config)
            return {f"{entry}.{key}": shape for entry, keys in expected.items() for key, shape in keys.items()}

        flat = {f"{entry}.{key}": value for entry, keys in weights.items() for key, value in keys.items()}
        config, exact = closest(FOMM_CONFIGS, shapes_of, flat)
        if not exact:
            # The builder names the first key or shape that differs from the nearest architecture.
            onnx_fomm.check_state_dicts(weights, config)
            raise NotImportable(f"{path}: its kp_detector and generator match no FOMM architecture animecam knows")
        return Found("fomm", config, weights, parameter_count(flat))
    if "genA2B" in contents:
        weights = checkpoint.strip_module_prefix(tensors_only(contents["genA2B"], path, "genA2B"))
        config, exact = closest(UGATIT_CONFIGS, onnx_ugatit.expected_shapes, weights, variant)
        if not exact:
            onnx_ugatit.check_weights(weights, onnx_ugatit.expected_shapes(config), f"genA2B ({config.name})")
            raise NotImportable(f"{path}: its genA2B matches no U-GAT-IT {variant or 'full or light'} generator")
        return Found("ugatit", config, weights, parameter_count(weights))
    raise NotImportable(f"this is not a FOMM, U-GAT-IT or style network checkpoint: its entries are "
                       f"{checkpoint.describe_entries(contents)} (FOMM has kp_detector and generator, UGATIT-pytorch "
                       "genA2B; AnimeGANv2 and CartoonGAN files are bare state dicts)")


def build(found):
    """{graph id: ModelProto} for what the checkpoint holds."""
    if found.is_style:
        return import_styles.build(found.kind, found.weights, found.config)
    if found.kind == "fomm":
        return onnx_fomm.build_graphs(found.weights["kp_detector"], found.weights["generator"], found.config)
    if found.kind == "ugatit":
        return {contracts.ugatit_graph(found.config): onnx_ugatit.build_graph(found.weights, found.config)}
    return {contracts.ugatit_graph(found.config): onnx_ugatit.build_tf_graph(found.weights, found.config)}


def contract_of(found, graph):
    if found.is_style:
        return import_styles.contract(found.config, manifest)
    return contracts.fomm(found.config)[graph] if found.kind == "fomm" else contracts.ugatit(found.config)


def test_picture(size, low):
    """A smooth, face-sized test picture (no file needed): a bright oval on a darker ground."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1) * 2 - 1
    face = np.exp(-((x / 0.55) ** 2 + (y / 0.7) ** 2) * 2)
    channels = np.stack([0.2 + 0.7 * face, 0.15 + 0.6 * face + 0.1 * x, 0.1 + 0.5 * face + 0.1 * y])
    picture = channels[None].astype(np.float32)
    return picture * 2 - 1 if low < 0 else picture


def session(path):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_graphs(found, folder, files):
    """Runs the written graphs on a test picture: each output has its contract's shape, finite
    values, and the ranges the elements rely on. Raises NotImportable naming what is wrong."""

    def checked(graph, outputs):
        for spec, value in zip(contract_of(found, graph)[1], outputs):
            if list(value.shape) != spec["shape"]:
                raise NotImportable(f"{graph}.{spec['name']} has shape {list(value.shape)}, its contract says {spec['shape']}")
            if not np.all(np.isfinite(value)):
                raise NotImportable(f"{graph}.{spec['name']} is not finite on a test picture: the weights are damaged")
        return outputs

    if found.is_style:
        spec = found.config
        try:
            outputs = session(folder / files[import_styles.GRAPH]).run(None, {
                spec.input_name: import_styles.test_input(spec, test_picture(spec.size, 0))})
        except Exception as error:  # noqa: BLE001  (ONNX Runtime's errors have no common base but Exception)
            # A ready file can be valid ONNX that ONNX Runtime still cannot run (shapes, types).
            raise NotImportable(f"ONNX Runtime cannot run it: {str(error).strip().splitlines()[0]}") from None
        problem = import_styles.check_output(spec, outputs[0])
        if problem:
            raise NotImportable(problem)
        return
    if found.kind != "fomm":
        graph = next(iter(files))
        size = found.config.image_size
        (stylized,) = checked(graph, session(folder / files[graph]).run(None, {"image": test_picture(size, -1)}))
        if stylized.min() < -1.0001 or stylized.max() > 1.0001:
            raise NotImportable(f"{graph}.stylized leaves [-1, 1] on a test picture")
        return
    picture = test_picture(found.config.image_size, 0)
    value, jacobian = checked("fomm_kp", session(folder / files["fomm_kp"]).run(None, {"image": picture}))
    if np.abs(value).max() > 1.0001:
        raise NotImportable("fomm_kp.kp_value leaves [-1, 1] on a test picture")
    (features,) = checked("fomm_encoder", session(folder / files["fomm_encoder"]).run(None, {"source": picture}))
    prediction, _, _ = checked("fomm_generator", session(folder / files["fomm_generator"]).run(None, {
        "source": picture, "features": features, "source_value": value, "source_jacobian": jacobian,
        "driving_value": value, "driving_jacobian": jacobian,
    }))
    if prediction.min() < -0.0001 or prediction.max() > 1.0001:
        raise NotImportable("fomm_generator.prediction leaves [0, 1] on a test picture")


def existing_set(folder):
    """The manifest of the animecam model set at `folder`; None if there is no folder; NotImportable
    if something else is there (it is never replaced)."""
    if not folder.exists() and not folder.is_symlink():
        return None
    document = None
    if folder.is_dir() and (folder / "manifest.json").is_file():
        try:
            document = json.loads((folder / "manifest.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            document = None
    if not isinstance(document, dict) or "format" not in document or not isinstance(document.get("models"), dict):
        raise NotImportable(f"{folder} exists and is not an animecam model set (no valid manifest.json): "
                           "it is left as it is; move it away or give another --name")
    return document


def made_from_other_weights(int8_set, fp32_set):
    """Whether the int8 set at `int8_set` records fp32 checksums the set at `fp32_set` does not have."""
    try:
        made_from = json.loads((int8_set / "manifest.json").read_text())["quantization"]["fp32_set"]["sha256"]
        now = json.loads((fp32_set / "manifest.json").read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return any(graph in now and now[graph].get("sha256") != sha for graph, sha in made_from.items())


def replace(target, written, had_set):
    """Puts the folder `written` at `target` by renames only, so that `target` is at every moment
    either the old set or the new one; the old one is put back if the second rename fails."""
    old = target.parent / f".{target.name}.replaced"
    shutil.rmtree(old, ignore_errors=True)
    if had_set:
        target.rename(old)
    try:
        written.rename(target)
    except OSError:
        if had_set:
            old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def import_checkpoint(path, models_dir, name=None, variant=None, int8=False, progress=None, log=print, size=None,
                      value_range=None):
    """Imports the checkpoint at `path` into `models_dir`/`name` (a style network into
    `models_dir`/styles/`name`); returns the set's folder."""
    progress = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    progress(0.0, f"reading {Path(path).name}")
    found = recognise(path, variant, size, value_range)
    log(f"found: {found}")
    return write_set(found, path, models_dir, name, int8, progress, log, started)


def write_set(found, path, models_dir, name=None, int8=False, progress=None, log=print, started=None):
    """Builds, checks and writes what `found` holds (read from `path`, named in the provenance) as
    the set `models_dir`/`name`; returns its folder."""
    progress = progress or (lambda fraction, message: None)
    started = time.perf_counter() if started is None else started
    if name is not None and (not name.strip() or Path(name).name != name or name in (".", "..")):
        raise NotImportable(f"--name {name!r}: expected a folder name (no slashes), e.g. {found.default_set}")
    models_dir = Path(models_dir)
    sets_dir = models_dir / import_styles.STYLES_DIR if found.is_style else models_dir
    target = sets_dir / (name or found.default_set)
    previous = existing_set(target)
    sets_dir.mkdir(parents=True, exist_ok=True)
    partial = sets_dir / f".{target.name}.importing"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        progress(0.1, "building the graphs")
        graphs = build(found)
        files, entries = {}, {}
        for index, (graph, model) in enumerate(graphs.items()):
            progress(0.15 + 0.5 * index / len(graphs), f"writing {graph}")
            files[graph] = f"{graph}.onnx"
            onnx.save(model, str(partial / files[graph]))
        del graphs
        progress(0.7, "checking the graphs run")
        check_graphs(found, partial, files)
        if found.is_style:
            source = import_styles.source(found.kind, path)
            terms = import_styles.LICENSES[found.kind]
            notes = import_styles.notes(found.kind, found.config, found)
            description = import_styles.DESCRIPTIONS[found.kind]
        else:
            source = {
                "fomm": f"FOMM checkpoint {Path(path).name} (kp_detector, generator)",
                "ugatit": f"UGATIT-pytorch checkpoint {Path(path).name} (genA2B)",
                "ugatit-tf": f"TensorFlow U-GAT-IT checkpoint {Path(path).name} (generator_B)",
            }[found.kind]
            terms = "the checkpoint's (FOMM: CC BY-NC 4.0 for the official vox weights)"
            notes = f"{found}; built from the weights as ONNX, read without executing the file"
            description = ("First Order Motion Model graphs" if found.kind == "fomm"
                           else "U-GAT-IT selfie2anime generator")
        for graph, file in files.items():
            inputs, outputs = contract_of(found, graph)
            entries[graph] = manifest.model(partial, file, inputs, outputs, source=source, license=terms,
                                            exporter=TOOL, notes=notes)
        kept = []
        if previous and found.kind in ("ugatit", "ugatit-tf"):
            # A U-GAT-IT set holds a full and a light graph: keep the one this import does not bring.
            for graph, entry in previous["models"].items():
                if graph not in entries and (target / entry["file"]).is_file():
                    shutil.copyfile(target / entry["file"], partial / entry["file"])
                    entries[graph] = entry
                    kept.append(graph)
        manifest.write(partial, target.name, entries, description=description,
                       fetch_hint="import its checkpoint: animecam models import FILE (README, Models)")
        progress(0.9, f"moving it to {target}")
        replace(target, partial, had_set=previous is not None)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log(f"wrote {target} ({', '.join(sorted(files))}{'; kept ' + ', '.join(kept) if kept else ''}) "
        f"in {time.perf_counter() - started:.1f} s")
    stale = target.parent / f"{target.name}-int8"
    if not int8 and made_from_other_weights(stale, target):
        # Its manifest names the checksums of the graphs it was made from: the elements see they
        # no longer match and run fp32, with a warning, until it is made again.
        log(f"note: {stale} was made from the weights this import replaced, so animecam runs this set in "
            "fp32 until it is made again: import with --int8")
    if int8:
        progress(0.92, "making the int8 set (minutes)")
        from . import quantize  # noqa: PLC0415  (OpenCV and the media only when asked)

        status = quantize.main(["--models", str(target)])
        if status != 0:
            raise NotImportable(f"the fp32 set {target} is written, but its int8 set was not (above); "
                               "it runs in fp32")
    progress(1.0, "done")
    return target


def main(args):
    """The `import` command of `python -m animecam_models`; returns the exit status."""
    if args.progress_lines:
        def progress(fraction, message):
            print(f"@progress {fraction:.3f} {message}", flush=True)
    else:
        progress = None
    try:
        import_checkpoint(args.file, args.models_dir, args.name, args.variant, args.int8, progress,
                          size=args.size, value_range=args.range)
    except NotImportable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # the builders name a key or shape that does not fit
        print(f"error: {args.file}: {error}", file=sys.stderr)
        return 2
    return 0
