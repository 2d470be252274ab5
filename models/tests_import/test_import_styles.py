"""`python -m animecam_models import` on style networks, with a `torch` on the path that refuses to
import: AnimeGANv2 and CartoonGAN state dicts in their official layouts (seeded numpy weights,
style_weights.py, written as torch.save writes them) give what the authors' PyTorch code gives on
real face crops (style_reference.npz, made by make_style_fixtures.py); a ready .onnx file imports
with the layout and value range the manifest then states; graphs that are not one picture in and
one out, or that need custom operators, are refused with what they have."""

import os
import subprocess
import sys
from collections import OrderedDict

import faces
import numpy as np
import onnx
import pytest
import style_weights
import torchlike
from onnx import TensorProto, helper, numpy_helper
from test_import import DATA, HERE, MODELS, assert_close, imported, manifest_of, refused, run_graph

from animecam_models import onnx_style

TOLERANCE = 1e-4
SIZE = 64  # the fixtures' size (style_reference.npz)
MEDIA = MODELS.parent / ".cache" / "media"


@pytest.fixture(scope="module")
def reference():
    with np.load(DATA / "style_reference.npz") as arrays:
        return {key: arrays[key] for key in arrays.files}


def write_checkpoint(folder, file, state, prefix=""):
    path = folder / file
    path.write_bytes(style_weights.checkpoint_bytes({prefix + key: value for key, value in state.items()}))
    return path


STYLES = {
    "animegan2": ("face_paint_512_v2.pt", style_weights.animegan2_state, "AnimeGANv2 generator, 2.1 M parameters",
                  "non-commercial"),
    "cartoongan": ("Hayao_net_G_float.pth", style_weights.cartoongan_state, "CartoonGAN Transformer, 11.1 M parameters",
                   "research use only"),
}


@pytest.mark.parametrize("kind", sorted(STYLES))
def test_a_style_state_dict_imports_without_torch_and_matches_the_authors_code(tmp_path, reference, kind):
    file, weights, found, license = STYLES[kind]
    checkpoint = write_checkpoint(tmp_path, file, weights())
    result = imported(checkpoint, "--models-dir", tmp_path / "models", "--size", SIZE)
    assert f"found: {found}" in result.stdout
    folder = tmp_path / "models" / "styles" / checkpoint.stem.lower()
    entries = manifest_of(folder)["models"]
    assert list(entries) == ["style"]
    entry = entries["style"]
    assert entry["file"] == "style.onnx"
    for spec, name in ((entry["inputs"], "image"), (entry["outputs"], "stylized")):
        assert [(s["name"], s["shape"], s["layout"], s["normalization"]) for s in spec] == [
            (name, [1, 3, SIZE, SIZE], "nchw", "symmetric")]
    assert file in entry["provenance"]["source"] and license in entry["provenance"]["license"]
    differences = []
    for name, crop in faces.crops(SIZE, "symmetric").items():
        stylized = run_graph(folder / "style.onnx", {"image": crop})["stylized"]
        expected = reference[f"{kind}/{name}/stylized"]
        assert_close(stylized, expected, TOLERANCE, f"{kind} {name}")
        differences.append(float(np.abs(stylized - expected).max()))
    print(f"{kind}: max abs difference vs the PyTorch reference {max(differences):.2e}")


def test_a_dataparallel_prefix_is_stripped_and_name_chooses_the_folder(tmp_path, reference):
    checkpoint = write_checkpoint(tmp_path, "Hayao net.pth", style_weights.cartoongan_state(), prefix="module.")
    imported(checkpoint, "--models-dir", tmp_path, "--size", SIZE, "--name", "hayao")
    crop = faces.crops(SIZE, "symmetric")["portrait"]
    stylized = run_graph(tmp_path / "styles" / "hayao" / "style.onnx", {"image": crop})["stylized"]
    assert_close(stylized, reference["cartoongan/portrait/stylized"], TOLERANCE, "cartoongan module.")
    assert sorted(path.name for path in (tmp_path / "styles").iterdir()) == ["hayao"]


def quantize(*args):
    environment = dict(os.environ, PYTHONPATH=str(MODELS), ORT_DISABLE_TELEMETRY="1")
    return subprocess.run([sys.executable, "-m", "animecam_models.quantize", *map(str, args)],
                          env=environment, capture_output=True, text=True, timeout=600)


def test_an_imported_style_quantises_to_int8_within_the_threshold(tmp_path):
    # The importer's graphs leave their nodes unnamed; the quantiser names them, or it would
    # quantise nothing (every node "", excluded with the RGB layers).
    checkpoint = write_checkpoint(tmp_path, "paprika.pt", style_weights.animegan2_state())
    imported(checkpoint, "--models-dir", tmp_path, "--size", SIZE)
    fp32 = tmp_path / "styles" / "paprika"
    run = quantize("--models", fp32, "--keep-slower")
    assert run.returncode == 0, run.stderr
    int8 = tmp_path / "styles" / "paprika-int8"
    entry = manifest_of(int8)["models"]["style"]
    assert entry["precision"] == "int8", entry
    graph = onnx.load(str(int8 / entry["file"]))
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in graph.graph.node}
    assert [t for t in graph.graph.initializer if t.data_type == onnx.TensorProto.INT8], "no int8 weights"
    quality = entry["quality"]
    assert 30.0 <= quality["psnr_db"] < 90.0, quality
    # The reported PSNR is what the int8 graph does on real faces, over the symmetric range's 2.
    crops = faces.crops(SIZE, "symmetric")
    errors = [np.mean((run_graph(fp32 / "style.onnx", {"image": crop})["stylized"]
                       - run_graph(int8 / "style.onnx", {"image": crop})["stylized"]) ** 2) for crop in crops.values()]
    psnr = 10 * np.log10(4.0 / np.mean(errors))
    print(f"AnimeGANv2 {SIZE}: int8 {quality['psnr_db']:.1f} dB reported, {psnr:.1f} dB on the test's crops")
    assert abs(psnr - quality["psnr_db"]) < 6.0, (psnr, quality)


class Torch03Tensor(torchlike.Tensor):
    """A tensor as torch 0.3 pickled it (the days the CartoonGAN .pth files were converted):
    _rebuild_tensor(storage, offset, size, stride), in the legacy stream."""

    def __reduce__(self):
        return (torchlike._UTILS._rebuild_tensor, (self.storage, self.offset, self.size, self.stride))


def test_a_cartoongan_file_in_torch_0_3s_format_imports(tmp_path, reference):
    state = style_weights.cartoongan_state()
    checkpoint = tmp_path / "Shinkai_net_G_float.pth"
    checkpoint.write_bytes(torchlike.legacy_stream(OrderedDict(
        (key, Torch03Tensor(torchlike.Storage(key, value), size=value.shape)) for key, value in state.items())))
    imported(checkpoint, "--models-dir", tmp_path, "--size", SIZE)
    crop = faces.crops(SIZE, "symmetric")["astronaut"]
    stylized = run_graph(tmp_path / "styles" / "shinkai_net_g_float" / "style.onnx", {"image": crop})["stylized"]
    assert_close(stylized, reference["cartoongan/astronaut/stylized"], TOLERANCE, "cartoongan torch 0.3")


def test_style_weights_that_do_not_fit_are_refused_by_key(tmp_path):
    state = style_weights.animegan2_state()
    state["block_c.1.layers.1.1.weight"] = state["block_c.1.layers.1.1.weight"][:128]
    error = refused(write_checkpoint(tmp_path, "bad.pt", state), "--models-dir", tmp_path, "--size", SIZE)
    assert "block_c.1.layers.1.1.weight" in error and "(128, 1, 3, 3)" in error
    state = style_weights.cartoongan_state()
    del state["in07_2.scale"]
    error = refused(write_checkpoint(tmp_path, "missing.pth", state), "--models-dir", tmp_path, "--size", SIZE)
    assert "missing 1 (in07_2.scale)" in error
    assert not (tmp_path / "styles").exists() or not any((tmp_path / "styles").iterdir())


def test_a_state_dict_of_another_network_is_refused_with_a_key(tmp_path):
    path = tmp_path / "resnet18.pth"
    path.write_bytes(style_weights.checkpoint_bytes({"conv1.weight": np.ones((4, 3, 7, 7), np.float32)}))
    error = refused(path, "--models-dir", tmp_path)
    assert "a state dict of a network animecam does not know (e.g. conv1.weight)" in error


def test_style_options_are_checked(tmp_path):
    checkpoint = write_checkpoint(tmp_path, "paprika.pt", style_weights.animegan2_state())
    assert "multiple of 8" in refused(checkpoint, "--models-dir", tmp_path, "--size", 60)
    assert "--range is for ready .onnx files" in refused(checkpoint, "--models-dir", tmp_path, "--range", "byte")
    assert "--size applies to style networks" in refused(DATA / "tiny-ugatit-light_params_0001000.pt",
                                                        "--models-dir", tmp_path, "--size", 64)
    assert not (tmp_path / "styles").exists() and not (tmp_path / "ugatit").exists()


# ---------------------------------------------------------------------------------------------
# Ready .onnx files

COLOURS = np.array([[0.5, 0.2, 0.1], [0.3, 0.6, 0.1], [0.1, 0.2, 0.7]], np.float32)  # out = in @ COLOURS + SHIFT
SHIFT = np.array([10.0, -5.0, 20.0], np.float32)


def save_model(path, nodes, inputs, outputs, initializers=(), domains=()):
    graph = helper.make_graph(nodes, "test", inputs, outputs, list(initializers))
    opsets = [helper.make_opsetid("", 18)] + [helper.make_opsetid(domain, 1) for domain in domains]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 9
    onnx.save(model, str(path))
    return path


def colour_transform(path):
    """An NHWC [0, 255] style file of free size: a colour matrix, a shift, clipped to [0, 255]."""
    picture = ["batch", "height", "width", 3]
    return save_model(
        path,
        [helper.make_node("MatMul", ["rgb", "colours"], ["mixed"]),
         helper.make_node("Add", ["mixed", "shift"], ["moved"]),
         helper.make_node("Clip", ["moved", "low", "high"], ["styled"])],
        [helper.make_tensor_value_info("rgb", TensorProto.FLOAT, picture)],
        [helper.make_tensor_value_info("styled", TensorProto.FLOAT, picture)],
        [numpy_helper.from_array(COLOURS, "colours"), numpy_helper.from_array(SHIFT, "shift"),
         numpy_helper.from_array(np.float32(0), "low"), numpy_helper.from_array(np.float32(255), "high")],
    )


def test_a_ready_nhwc_byte_range_onnx_file_imports_with_the_range_the_user_gives(tmp_path):
    source = colour_transform(tmp_path / "Warm Colours.onnx")
    result = imported(source, "--models-dir", tmp_path, "--range", "byte", "--size", SIZE)
    assert "found: ONNX image-to-image network (NHWC, byte range, free size, run at 64)" in result.stdout
    folder = tmp_path / "styles" / "warm-colours"
    entry = manifest_of(folder)["models"]["style"]
    assert [(s["name"], s["shape"], s["layout"], s["normalization"]) for s in entry["inputs"]] == [
        ("rgb", [1, SIZE, SIZE, 3], "nhwc", "byte")]
    assert [(s["name"], s["shape"], s["layout"], s["normalization"]) for s in entry["outputs"]] == [
        ("styled", [1, SIZE, SIZE, 3], "nhwc", "byte")]
    written = onnx.load(str(folder / "style.onnx"))
    assert [d.dim_value for d in written.graph.input[0].type.tensor_type.shape.dim] == [1, SIZE, SIZE, 3]
    crop = faces.crops(SIZE, "unit")["astronaut"]
    picture = np.ascontiguousarray(np.transpose(crop, (0, 2, 3, 1)) * 255)
    styled = run_graph(folder / "style.onnx", {"rgb": picture})["styled"]
    expected = np.clip(picture @ COLOURS + SHIFT, 0, 255)
    assert float(np.abs(styled - expected).max()) < 1e-3
    assert expected.std() > 20  # a picture, not a constant


def test_a_ready_onnx_file_without_range_is_refused_naming_range(tmp_path):
    error = refused(colour_transform(tmp_path / "colours.onnx"), "--models-dir", tmp_path)
    assert "--range" in error
    assert not (tmp_path / "styles").exists()


def test_a_classifier_is_refused_with_what_it_is(tmp_path):
    path = save_model(
        tmp_path / "resnet.onnx",
        [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]), helper.make_node("Flatten", ["pooled"], ["flat"]),
         helper.make_node("Gemm", ["flat", "weights"], ["logits"], transB=1)],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
        [numpy_helper.from_array(np.zeros((1000, 3), np.float32), "weights")],
    )
    assert "a classifier: output logits [1,1000]" in refused(path, "--models-dir", tmp_path, "--range", "unit")


def test_a_graph_with_two_inputs_is_refused_with_what_it_takes(tmp_path):
    path = save_model(
        tmp_path / "inpaint.onnx",
        [helper.make_node("Mul", ["image", "mask"], ["masked"])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 256, 256]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 256, 256])],
        [helper.make_tensor_value_info("masked", TensorProto.FLOAT, [1, 3, 256, 256])],
    )
    assert "two inputs: image [1,3,256,256], mask [1,1,256,256]" in refused(path, "--models-dir", tmp_path,
                                                                            "--range", "unit")


def test_a_custom_operator_is_refused_by_name(tmp_path):
    path = save_model(
        tmp_path / "custom.onnx",
        [helper.make_node("FancyStylize", ["image"], ["stylized"], domain="com.example")],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 256, 256])],
        [helper.make_tensor_value_info("stylized", TensorProto.FLOAT, [1, 3, 256, 256])],
        domains=["com.example"],
    )
    assert "com.example.FancyStylize" in refused(path, "--models-dir", tmp_path, "--range", "symmetric")
    assert not (tmp_path / "styles").exists()


def test_files_that_are_not_runnable_onnx_are_refused_saying_why(tmp_path):
    photo = tmp_path / "photo.onnx"
    photo.write_bytes((MEDIA / "grace_hopper.jpg").read_bytes())
    assert "photo.onnx is not an ONNX model" in refused(photo, "--models-dir", tmp_path, "--range", "unit")
    mismatched = save_model(  # valid ONNX, but a 4-channel kernel on a 3-channel picture
        tmp_path / "mismatched.onnx",
        [helper.make_node("Conv", ["image", "kernel"], ["stylized"], pads=[1, 1, 1, 1])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("stylized", TensorProto.FLOAT, [1, 3, 64, 64])],
        [numpy_helper.from_array(np.zeros((3, 4, 3, 3), np.float32), "kernel")],
    )
    assert "ONNX Runtime cannot run it" in refused(mismatched, "--models-dir", tmp_path, "--range", "unit")
    assert not (tmp_path / "styles").exists() or not any((tmp_path / "styles").iterdir())


def picture_graph(input_shape, output_shape):
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "test",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize("input_shape, output_shape, expected", [
    ([1, 3, 256, 256], [1, 3, 256, 256], ("nchw", "x", "y", 256)),
    (["n", 3, "h", "w"], ["n", 3, "h", "w"], ("nchw", "x", "y", None)),
    ([1, "h", "w", 3], [1, 512, 512, 3], ("nhwc", "x", "y", 512)),
    ([1, 3, 256, 256], None, ("nchw", "x", "y", 256)),
], ids=["nchw-fixed", "nchw-free", "nhwc-output-fixed", "output-shape-unrecorded"])
def test_inspect_finds_the_layout_and_size(input_shape, output_shape, expected):
    assert onnx_style.inspect_onnx_style(picture_graph(input_shape, output_shape)) == expected


@pytest.mark.parametrize("input_shape, output_shape, message", [
    ([1, 3, 256, 256], [1, 256, 256, 3], "its output is not a picture in the input's layout (nchw, x [1,3,256,256]): "
                                         "y [1,256,256,3]"),
    ([1, 1, 256, 256], [1, 1, 256, 256], "its input is not one RGB picture"),
    ([1, 3, 3, 3], [1, 3, 3, 3], "its input is not one RGB picture"),
    ([4, 3, 256, 256], [4, 3, 256, 256], "batch 4: x [4,3,256,256]"),
    ([1, 3, 256, 256], [1, 3, 512, 512], "not square and of one size: x [1,3,256,256] -> y [1,3,512,512]"),
    ([1, 3, 256, 128], [1, 3, 256, 128], "not square and of one size"),
], ids=["layouts-differ", "grey", "ambiguous", "batch", "upscaler", "not-square"])
def test_inspect_refuses_other_graphs_saying_what_they_have(input_shape, output_shape, message):
    with pytest.raises(ValueError) as error:
        onnx_style.inspect_onnx_style(picture_graph(input_shape, output_shape))
    assert message in str(error.value)


def test_fix_size_pins_free_dimensions_only():
    model = onnx_style.fix_size(picture_graph(["n", "h", "w", 3], ["n", "h", "w", 3]), "nhwc", 128)
    for value in (model.graph.input[0], model.graph.output[0]):
        assert [dim.dim_value for dim in value.type.tensor_type.shape.dim] == [1, 128, 128, 3]
    with pytest.raises(ValueError, match="has 256 at axis 2, not 128"):
        onnx_style.fix_size(picture_graph([1, 3, 256, 256], [1, 3, 256, 256]), "nchw", 128)


def test_the_benchmark_style_sets_are_made_without_torch(tmp_path):
    """`random-styles` (make bench): AnimeGANv2 at 256 and 512, CartoonGAN at 256, each a set
    under styles/ whose graph runs at its size and draws a picture, not a flat field."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE / "no_torch"), str(MODELS)]),
               ORT_DISABLE_TELEMETRY="1")
    result = subprocess.run([sys.executable, "-m", "animecam_models", "random-styles", "--out", str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "styles").iterdir()) == ["animegan2-256", "animegan2-512",
                                                                      "cartoongan-256"]
    for name, size in [("animegan2-256", 256), ("animegan2-512", 512), ("cartoongan-256", 256)]:
        folder = tmp_path / "styles" / name
        spec = manifest_of(folder)["models"]["style"]
        assert spec["inputs"][0]["shape"] == [1, 3, size, size]
        crop = faces.crops(size, "symmetric")["astronaut"]
        (stylized,) = run_graph(folder / "style.onnx", {"image": crop}).values()
        assert stylized.shape == (1, 3, size, size)
        assert np.all(np.abs(stylized) <= 1) and stylized.std() > 0.05
