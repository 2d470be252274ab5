"""The torch-free PyTorch checkpoint reader: files torch wrote (committed fixtures, see
make_checkpoint_fixtures.py) read exactly, files torch would never write (big-endian, the legacy
tar, damaged) read or refused by name, and malicious pickles refused before they run anything."""

import io
import os
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torchlike
from torchlike import RunsCode, Storage, TarRef, Tensor

from animecam_models.checkpoint import CheckpointError, describe_entries, read_torch

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MODELS = HERE.parent


def expected():
    with np.load(DATA / "state_expected.npz") as arrays:
        return {key: arrays[key] for key in arrays.files}


def lookup(obj, path):
    for part in path.split("/"):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


def assert_same(array, reference, name):
    assert isinstance(array, np.ndarray), name
    assert array.dtype == reference.dtype and array.dtype.isnative, (name, array.dtype, reference.dtype)
    assert array.shape == reference.shape, (name, array.shape, reference.shape)
    assert array.flags.c_contiguous, name
    np.testing.assert_array_equal(array, reference, err_msg=name)


@pytest.mark.parametrize("name", ["state_zip.pth", "state_legacy.pth"])
def test_torch_written_checkpoints_read_exactly(name):
    checkpoint = read_torch(DATA / name)
    reference = expected()
    for key, array in reference.items():
        assert_same(lookup(checkpoint, key), array, key)
    generator = checkpoint["generator"]
    assert type(generator) is OrderedDict
    assert list(generator)[:3] == ["module.conv.weight", "module.conv.bias", "module.tied.bias"]
    assert len(generator) == len([k for k in reference if k.startswith("generator/")])
    assert checkpoint["epoch"] == 42 and type(checkpoint["epoch"]) is int
    assert checkpoint["name"] == "tiny" and checkpoint["kp_detector"]["list"][1] == 1.5
    # dtypes as the storages have them, not converted
    assert generator["module.norm.running_mean"].dtype == np.float16
    assert generator["module.index"].dtype == np.int64 and generator["module.mask"].dtype == np.bool_
    assert generator["module.norm.num_batches_tracked"].shape == ()
    # the view (offset 7, stride 2 in a 4x6 storage) and the transpose came out as their values
    base = generator["module.base"]
    np.testing.assert_array_equal(generator["module.view"], base[1:3, 1::2])
    np.testing.assert_array_equal(generator["module.transposed"], base.T)
    assert describe_entries(checkpoint) == "generator (13 tensors), kp_detector (2 tensors), epoch, name"


def test_big_endian_zip_is_swapped_to_native(tmp_path):
    """torch on a big-endian machine writes byteorder 'big' and its storages big-endian."""
    values = [
        ("f32", np.arange(6, dtype=np.float32).reshape(2, 3) / 7),
        ("f16", np.array([1.5, -2.25, 65504], np.float16)),
        ("i64", np.array([1, -2, 1 << 40], np.int64)),
        ("f64", np.array([np.pi, -np.e])),
        ("i32", np.array([-7, 1 << 30], np.int32)),
    ]
    obj = OrderedDict((name, Tensor(Storage(str(i), array), size=array.shape)) for i, (name, array) in enumerate(values))
    path = tmp_path / "big_endian.pth"
    path.write_bytes(torchlike.zip_checkpoint(obj, byteorder="big"))
    with zipfile.ZipFile(path) as archive:
        assert archive.read("archive/data/0") == values[0][1].astype(">f4").tobytes()  # really big-endian
        assert archive.read("archive/byteorder") == b"big"
    checkpoint = read_torch(path)
    for name, array in values:
        assert_same(checkpoint[name], array, name)


def test_hand_built_legacy_tar_reads(tmp_path):
    """torch <= 0.3's tar: storages, a storage view, tensors with offsets and strides, the pickle."""
    weights = np.arange(12, dtype=np.float32) * 0.5
    half = np.array([0.5, -1, 2, 4], np.float16)
    index = np.array([3, 1, 2], np.int64)
    storages = {11: weights, 12: half, 13: index}
    views = [(14, 11, 6, 6)]  # storage 14: elements 6..11 of storage 11
    tensors = {
        21: (11, 0, (3, 4), (4, 1)),  # the whole storage, 3x4
        22: (11, 1, (2, 2), (1, 4)),  # a strided view at offset 1
        23: (12, 0, (4,), (1,)),
        24: (13, 0, (3,), (1,)),
        25: (14, 2, (2,), (1,)),  # in the storage view: elements 8, 9 of storage 11
    }
    obj = {"state_dict": OrderedDict([("module.w", TarRef(21)), ("module.t", TarRef(22)), ("module.h", TarRef(23)),
                                      ("module.i", TarRef(24)), ("module.v", TarRef(25))]), "epoch": 3}
    path = tmp_path / "legacy.tar"
    path.write_bytes(torchlike.legacy_tar(obj, storages, tensors, views))
    checkpoint = read_torch(path)
    state = checkpoint["state_dict"]
    assert_same(state["module.w"], weights.reshape(3, 4), "w")
    assert_same(state["module.t"], np.lib.stride_tricks.as_strided(weights[1:], (2, 2), (4, 16)).copy(), "t")
    assert_same(state["module.h"], half, "h")
    assert_same(state["module.i"], index, "i")
    assert_same(state["module.v"], weights[8:10], "v")
    assert checkpoint["epoch"] == 3


def test_legacy_stream_built_by_hand_matches_torch_layout(tmp_path):
    """The hand-built legacy stream (the layout torch's _legacy_load reads) gives what torch's own does."""
    obj = {"w": Tensor(Storage("140", np.arange(6, dtype=np.float32)), offset=1, size=(2, 2), stride=(3, 1))}
    path = tmp_path / "stream.pth"
    path.write_bytes(torchlike.legacy_stream(obj))
    checkpoint = read_torch(path)
    assert_same(checkpoint["w"], np.array([[1, 2], [4, 5]], np.float32), "w")


def refused(path, global_name):
    with pytest.raises(CheckpointError) as error:
        read_torch(path)
    message = str(error.value)
    assert f"refused: {path} asks for {global_name}; animecam reads tensors only" == message, message


@pytest.mark.parametrize(
    "make, global_name",
    [
        (lambda marker: RunsCode(os.system, f"touch {marker}"), "posix.system"),
        (lambda marker: RunsCode(eval, f"open({str(marker)!r}, 'w')"), "builtins.eval"),
        (lambda marker: RunsCode(subprocess.Popen, ["touch", str(marker)]), "subprocess.Popen"),
    ],
    ids=["os.system", "eval", "Popen"],
)
def test_zip_that_runs_code_is_refused_and_runs_nothing(tmp_path, make, global_name):
    """The issue's crafted checkpoint: torch.save({kp_detector, generator, epoch: X}) where X's
    __reduce__ calls os.system."""
    marker = tmp_path / "MARKER"
    weight = Tensor(Storage("0", np.ones(4, np.float32)))
    obj = {"kp_detector": {"w": weight}, "generator": {}, "epoch": make(marker)}
    path = tmp_path / "vox-cpk.pth.tar"
    path.write_bytes(torchlike.zip_checkpoint(obj))
    refused(path, global_name)
    assert not marker.exists()


def test_legacy_stream_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "legacy.pth"
    obj = {"generator": {"w": Tensor(Storage("1", np.ones(2, np.float32)))}, "epoch": RunsCode(os.system, f"touch {marker}")}
    path.write_bytes(torchlike.legacy_stream(obj))
    refused(path, "posix.system")
    # smuggled into sys_info, the pickle before the object's
    path.write_bytes(torchlike.legacy_stream({}, sys_info={"little_endian": RunsCode(os.system, f"touch {marker}")}))
    refused(path, "posix.system")
    assert not marker.exists()


def test_legacy_tar_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "legacy.tar"
    path.write_bytes(torchlike.legacy_tar({"epoch": RunsCode(os.system, f"touch {marker}")}, {}, {}))
    refused(path, "posix.system")
    assert not marker.exists()


def test_a_global_not_needed_for_tensors_is_refused_even_if_harmless(tmp_path):
    path = tmp_path / "c.pth"
    path.write_bytes(torchlike.zip_checkpoint({"epoch": RunsCode(int, "3")}))
    refused(path, "builtins.int")


def test_truncated_zip(tmp_path):
    whole = (DATA / "state_zip.pth").read_bytes()
    path = tmp_path / "vox-cpk.pth.tar"
    for size in (len(whole) // 2, len(whole) - 30, 100):
        path.write_bytes(whole[:size])
        with pytest.raises(CheckpointError, match="damaged or truncated"):
            read_torch(path)


def test_truncated_legacy_stream(tmp_path):
    whole = (DATA / "state_legacy.pth").read_bytes()
    path = tmp_path / "legacy.pth"
    for size in (len(whole) - 5, len(whole) // 2, 30):
        path.write_bytes(whole[:size])
        with pytest.raises(CheckpointError) as error:
            read_torch(path)
        assert str(path) in str(error.value) and ("truncated" in str(error.value) or "ends" in str(error.value))


def test_zip_naming_a_missing_storage(tmp_path):
    obj = {"w": Tensor(Storage("0", np.ones(3, np.float32))), "b": Tensor(Storage("1", np.ones(2, np.float32)))}
    path = tmp_path / "c.pth"
    path.write_bytes(torchlike.zip_checkpoint(obj, omit={"1"}))
    with pytest.raises(CheckpointError, match="names storage archive/data/1, which the archive lacks"):
        read_torch(path)


def test_tensor_reaching_outside_its_storage_is_refused(tmp_path):
    """A stride or offset past the storage's end would read foreign memory: refused."""
    storage = Storage("0", np.ones(6, np.float32))
    for tensor in (Tensor(storage, offset=0, size=(3, 3), stride=(3, 1)), Tensor(storage, offset=5, size=(2,), stride=(1,)),
                   Tensor(storage, offset=0, size=(2,), stride=(-1,))):
        path = tmp_path / "c.pth"
        path.write_bytes(torchlike.zip_checkpoint({"w": tensor}))
        with pytest.raises(CheckpointError, match="storage|stride"):
            read_torch(path)


def test_storage_whose_size_disagrees_with_the_pickle(tmp_path):
    path = tmp_path / "c.pth"
    data = torchlike.zip_checkpoint({"w": Tensor(Storage("0", np.ones(4, np.float32)))})
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            target.writestr(name, content[:8] if name.endswith("data/0") else content)
    with pytest.raises(CheckpointError, match="holds 8 bytes"):
        read_torch(path)


def test_bfloat16_is_refused_by_name(tmp_path):
    path = tmp_path / "c.pth"
    path.write_bytes(torchlike.zip_checkpoint({"w": Tensor(Storage("0", np.ones(2, np.uint16), "BFloat16Storage"))}))
    with pytest.raises(CheckpointError, match="bfloat16"):
        read_torch(path)


@pytest.mark.parametrize(
    "content",
    [os.urandom(4096), b"\x89PNG\r\n\x1a\n" + bytes(64), b"", b"\x80\x02" + os.urandom(100)],
    ids=["random", "png", "empty", "pickle-like"],
)
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "thing.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as error:
        read_torch(path)
    assert str(path) in str(error.value)


def test_a_real_photo_is_not_a_checkpoint():
    photo = MODELS.parent / ".cache" / "media" / "astronaut.png"
    if not photo.exists():
        pytest.skip("the registry photo is not in .cache/media")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint: it starts with b'\\\\x89PNG"):
        read_torch(photo)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        read_torch(tmp_path / "absent.pth")
    with pytest.raises(CheckpointError, match="is a folder"):
        read_torch(tmp_path)


def test_describe_entries():
    state = OrderedDict([("a.weight", np.zeros(2)), ("b.weight", np.zeros(2))])
    assert describe_entries({"kp_detector": state, "generator": {"x": state}, "epoch": 3}) == (
        "kp_detector (2 tensors), generator (2 tensors), epoch"
    )
    assert describe_entries(state) == "2 tensors (a.weight, b.weight)"
    assert describe_entries([1, 2]) == "a list of 2 items (0 tensors)"
    assert describe_entries(np.zeros((2, 3), np.float32)) == "a single float32 tensor of shape (2, 3)"


def test_reader_does_not_need_torch():
    """Runs read_torch where `import torch` fails (models/tests_import/no_torch first on the path)."""
    script = (
        "import sys\n"
        "try:\n    import torch\nexcept ImportError:\n    pass\nelse:\n    sys.exit('torch imported')\n"
        "from animecam_models.checkpoint import read_torch\n"
        f"z = read_torch({str(DATA / 'state_zip.pth')!r})\n"
        f"l = read_torch({str(DATA / 'state_legacy.pth')!r})\n"
        "assert 'torch' not in sys.modules or sys.modules['torch'] is None\n"
        "print(len(z['generator']), len(l['generator']), z['epoch'])\n"
    )
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE / "no_torch"), str(MODELS)]))
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["13", "13", "42"]
