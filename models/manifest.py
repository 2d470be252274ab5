"""Writes animecam model manifests (format 1), the file the Rust side reads contracts from.

Kept dependency-free so every exporter and fetch script can use it.
"""

import hashlib
import json
from pathlib import Path

FORMAT = 1


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tensor(name, shape, element_type="float32", layout=None, normalization=None, description=""):
    """One input or output; `None` in shape marks a free dimension."""
    spec = {"name": name, "element_type": element_type, "shape": list(shape)}
    if layout:
        spec["layout"] = layout
    if normalization:
        spec["normalization"] = normalization
    if description:
        spec["description"] = description
    return spec


def model(folder, file, inputs, outputs, source, license="", exporter="", notes="", data_files=()):
    """A manifest entry for `folder/file`, with checksums of the graph and its data files."""
    folder = Path(folder)
    entry = {
        "file": file,
        "sha256": sha256_file(folder / file),
        "inputs": inputs,
        "outputs": outputs,
        "provenance": {"source": source},
    }
    if data_files:
        entry["data_files"] = [{"file": f, "sha256": sha256_file(folder / f)} for f in data_files]
    for key, value in (("license", license), ("exporter", exporter), ("notes", notes)):
        if value:
            entry["provenance"][key] = value
    return entry


def write(folder, name, models, description="", fetch_hint="", test_fixture=False):
    """Writes folder/manifest.json; stable key order so regenerated manifests diff cleanly.

    `test_fixture` marks graphs made for the tests (random weights): `animecam models` and
    `doctor` do not list them as the user's model sets."""
    manifest = {"format": FORMAT, "name": name, "models": models}
    if test_fixture:
        manifest["test_fixture"] = True
    if description:
        manifest["description"] = description
    if fetch_hint:
        manifest["fetch_hint"] = fetch_hint
    path = Path(folder) / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path
