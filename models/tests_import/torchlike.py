"""Write files laid out as torch writes checkpoints, without torch: for the tests that need files
torch would never write (big-endian, damaged, malicious) and for the legacy tar of torch <= 0.3.

Pickle writes a global by its module and name after checking that importing it gives the same
object: `fake_torch()` puts stand-in `torch` and `torch._utils` modules into sys.modules while
pickling (and takes them out again), so that a `Tensor` here pickles exactly as torch's tensors do:
GLOBAL 'torch._utils _rebuild_tensor_v2' applied to a persistent storage id naming
GLOBAL 'torch FloatStorage'.
"""

import contextlib
import io
import pickle
import sys
import tarfile
import types
import zipfile
from collections import OrderedDict

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
STORAGE_NAMES = {
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float16): "HalfStorage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.int32): "IntStorage",
    np.dtype(np.uint8): "ByteStorage",
    np.dtype(np.bool_): "BoolStorage",
}


def _fake_function(module, name):
    def function(*args):
        raise AssertionError("a stand-in is only ever pickled")

    function.__module__, function.__qualname__, function.__name__ = module, name, name
    return function


def _fake_type(module, name):
    return type(name, (), {"__module__": module, "__qualname__": name})


_TORCH = types.ModuleType("torch")
_UTILS = types.ModuleType("torch._utils")
_TORCH._utils = _UTILS
for _name in list(STORAGE_NAMES.values()) + ["BFloat16Storage", "FloatTensor"]:
    setattr(_TORCH, _name, _fake_type("torch", _name))
_UTILS._rebuild_tensor_v2 = _fake_function("torch._utils", "_rebuild_tensor_v2")
_UTILS._rebuild_tensor = _fake_function("torch._utils", "_rebuild_tensor")


@contextlib.contextmanager
def fake_torch():
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = _TORCH, _UTILS
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


class Storage:
    """A storage: its key in the file and its elements (a 1-D array of the storage's dtype)."""

    def __init__(self, key, data, type_name=None):
        self.key, self.data = key, np.ascontiguousarray(data).reshape(-1)
        self.type_name = type_name or STORAGE_NAMES[self.data.dtype]


class Tensor:
    """Pickles as torch pickles a tensor: _rebuild_tensor_v2(storage, offset, size, stride, ...)."""

    def __init__(self, storage, offset=0, size=None, stride=None):
        size = tuple(storage.data.shape) if size is None else tuple(size)
        if stride is None:
            stride, step = [], 1
            for dim in reversed(size):
                stride.insert(0, step)
                step *= dim
        self.storage, self.offset, self.size, self.stride = storage, offset, size, tuple(stride)

    def __reduce__(self):
        return (_UTILS._rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False, OrderedDict()))


class _Pickler(pickle.Pickler):
    def __init__(self, file, legacy):
        super().__init__(file, protocol=2)
        self.legacy, self.storages = legacy, {}

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        self.storages[obj.key] = obj
        storage_type = getattr(_TORCH, obj.type_name)
        if self.legacy:
            return ("storage", storage_type, obj.key, "cpu", obj.data.size, None)
        return ("storage", storage_type, obj.key, "cpu", obj.data.size)


def dumps(obj, legacy=False):
    """The pickle of obj as torch writes it, and the storages it refers to ({key: Storage})."""
    buffer = io.BytesIO()
    with fake_torch():
        pickler = _Pickler(buffer, legacy)
        pickler.dump(obj)
    return buffer.getvalue(), pickler.storages


def zip_checkpoint(obj, byteorder="little", prefix="archive", omit=()):
    """A zip checkpoint of obj as torch >= 1.6 lays it out, storages in the given byte order;
    storages whose key is in omit are left out."""
    data, storages = dumps(obj)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{prefix}/data.pkl", data)
        archive.writestr(f"{prefix}/byteorder", byteorder)
        for key, storage in storages.items():
            if key not in omit:
                order = "<" if byteorder == "little" else ">"
                archive.writestr(f"{prefix}/data/{key}", storage.data.astype(storage.data.dtype.newbyteorder(order)).tobytes())
        archive.writestr(f"{prefix}/version", "3\n")
    return buffer.getvalue()


def legacy_stream(obj, sys_info=None):
    """torch's legacy pickle stream of obj (torch 0.4 - 1.5 and _use_new_zipfile_serialization=False)."""
    sys_info = sys_info or {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 8}}
    data, storages = dumps(obj, legacy=True)
    parts = [pickle.dumps(LEGACY_MAGIC_NUMBER, 2), pickle.dumps(1001, 2), pickle.dumps(sys_info, 2), data]
    keys = sorted(storages)
    parts.append(pickle.dumps(keys, 2))
    for key in keys:
        array = storages[key].data
        parts.append(array.size.to_bytes(8, "little") + array.astype(array.dtype.newbyteorder("<")).tobytes())
    return b"".join(parts)


class TarRef:
    """An object of the legacy tar's pickle: pickled as its key (a persistent id)."""

    def __init__(self, key):
        self.key = key


class _TarPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return str(obj.key) if isinstance(obj, TarRef) else None


def legacy_tar(obj, storages, tensors, views=()):
    """torch <= 0.3's tar checkpoint: storages {key: 1-D array}, tensors {key: (storage key,
    offset, size, stride)}, views [(key, root key, offset, numel)]; obj refers to tensors
    through TarRef(key)."""
    with fake_torch():
        storage_file = [pickle.dumps(len(storages), 2)]
        for key, array in storages.items():
            storage_type = getattr(_TORCH, STORAGE_NAMES[array.dtype])
            storage_file.append(pickle.dumps((key, "cpu", storage_type), 2))
            storage_file.append(array.size.to_bytes(8, "little") + array.astype(array.dtype.newbyteorder("<")).tobytes())
        storage_file.append(pickle.dumps(list(views), 2))
        tensor_file = [pickle.dumps(len(tensors), 2)]
        for key, (storage_key, offset, size, stride) in tensors.items():
            tensor_file.append(pickle.dumps((key, storage_key, _TORCH.FloatTensor), 2))
            tensor_file.append(len(size).to_bytes(4, "little") + bytes(4))
            tensor_file.append(np.array([*size, *stride, offset], "<i8").tobytes())
        buffer = io.BytesIO()
        _TarPickler(buffer, protocol=2).dump(obj)
    members = {
        "sys_info": pickle.dumps({"protocol_version": 1000, "little_endian": True}, 2),
        "pickle": buffer.getvalue(),
        "tensors": b"".join(tensor_file),
        "storages": b"".join(storage_file),
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


class RunsCode:
    """What an attacker pickles: loading it calls `function(*args)` (through __reduce__)."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return (self.function, self.args)
