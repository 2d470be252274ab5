"""Read PyTorch checkpoints without PyTorch, and without running anything a file contains.

`torch.load` unpickles the file, and a pickle may call any Python function while it loads: a
checkpoint downloaded from a mirror could run `os.system`. This reader unpickles with an unpickler
whose `find_class` admits only the few globals a state dict is made of (collections.OrderedDict,
torch's tensor-rebuilding functions and storage types, torch.Size), each mapped to this module's
own inert stand-ins; any other global is refused, naming it, when the pickle first mentions it:
before the pickle could call it. Tensors come back as numpy arrays.

The three formats torch has written:
- zip (torch >= 1.6): `PREFIX/data.pkl`, each storage raw in `PREFIX/data/KEY`, `PREFIX/byteorder`
  ("little" or "big"; absent means little) giving the storages' byte order. Persistent ids are
  ('storage', storage_type, key, location, numel).
- the legacy pickle stream (torch 0.4 - 1.5, and `_use_new_zipfile_serialization=False`): pickles
  of the magic number, the protocol version 1001 and sys_info, then the object pickle with
  persistent ids ('storage', storage_type, root_key, location, numel, view_metadata), then a pickled
  list of storage keys, then each storage as an 8-byte little-endian element count and its bytes.
  torch's writer converts every storage to little-endian whatever the machine (writeFileRaw), so
  the data is read as little-endian; only very old writers put the count in native order, which
  is recognised by comparing it with the element count the pickle gave.
- the legacy tar (torch <= 0.3): members `storages` (count; per storage a pickled (key, location,
  storage_type), count and bytes; then the pickled storage views), `tensors` (count; per tensor a
  pickled (key, storage_key, tensor_type), int32 ndim + 4 padding bytes, int64 sizes, strides and
  offset) and `pickle` (the object, whose persistent ids are the tensor and storage keys).
"""

import _compat_pickle
import io
import math
import pickle
import struct
import sys
import tarfile
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001
READ_CHUNK = 16 << 20  # bytes per read: a storage costs its own size and no second copy

STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128,
    "UntypedStorage": np.uint8,  # torch 2.x writes a bare storage (not a tensor's) as bytes
}
# Storage types numpy cannot hold as they are: named in the refusal rather than guessed at.
UNSUPPORTED_STORAGES = {
    "BFloat16Storage": "bfloat16",
    "QInt8Storage": "quantised int8",
    "QUInt8Storage": "quantised uint8",
    "QInt32Storage": "quantised int32",
    "QUInt4x2Storage": "quantised 4-bit",
    "QUInt2x4Storage": "quantised 2-bit",
}
# Modules torch has named storage types under: torch.cuda for GPU-trained files of some versions,
# torch.storage for UntypedStorage in torch 2.x.
STORAGE_MODULES = ("torch", "torch.cuda", "torch.storage")
TENSOR_TYPE_SUFFIX = "Tensor"  # torch.FloatTensor etc. in the legacy tar's tensor records


class CheckpointError(ValueError):
    """A file that is not a readable PyTorch checkpoint, or one that asks for more than tensors."""


class _Inert:
    """What the unpickler hands out for an admitted global: a named object that refuses to be
    changed by the pickle (BUILD would otherwise set attributes on it) and is callable only when
    it stands for one of this module's own functions."""

    __slots__ = ("qualified_name", "function")

    def __init__(self, qualified_name, function=None):
        self.qualified_name = qualified_name
        self.function = function

    def __call__(self, *args):
        if self.function is None:
            raise _Malformed(f"the pickle calls {self.qualified_name}, which is not a function")
        return self.function(*args)

    def __setstate__(self, state):
        raise _Malformed(f"the pickle tries to modify {self.qualified_name}")

    def __repr__(self):
        return self.qualified_name


class _StorageType(_Inert):
    __slots__ = ("dtype",)

    def __init__(self, qualified_name, dtype):
        super().__init__(qualified_name)
        self.dtype = np.dtype(dtype)


class _Malformed(Exception):
    """Raised inside the unpickler; read_torch turns it into a CheckpointError naming the file."""


class _StorageRef:
    """A storage the pickle refers to; its bytes are read from the archive once unpickling ends."""

    __slots__ = ("key", "dtype", "numel", "view")

    def __init__(self, key, dtype, numel, view=None):
        self.key, self.dtype, self.numel, self.view = key, dtype, numel, view

    def __setstate__(self, state):
        raise _Malformed("the pickle tries to modify a storage")


class _PendingTensor:
    """A tensor the pickle rebuilt: its storage and where in it the tensor lies."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __setstate__(self, state):
        raise _Malformed("the pickle tries to modify a tensor")


def _int_tuple(value, what):
    if not isinstance(value, (tuple, list)) or not all(type(v) is int for v in value):
        raise _Malformed(f"a tensor's {what} is {value!r}, expected a tuple of integers")
    return tuple(value)


def _rebuild_tensor(storage, storage_offset, size, stride):
    if not isinstance(storage, (_StorageRef, np.ndarray)):
        raise _Malformed(f"a tensor is rebuilt from {type(storage).__name__}, expected a storage")
    if type(storage_offset) is not int:
        raise _Malformed(f"a tensor's storage offset is {storage_offset!r}, expected an integer")
    return _PendingTensor(storage, storage_offset, _int_tuple(size, "size"), _int_tuple(stride, "stride"))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    if not isinstance(data, _PendingTensor):
        raise _Malformed(f"a parameter is rebuilt from {type(data).__name__}, expected a tensor")
    return data


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _size(dims=()):
    return _int_tuple(dims, "size")


def _codecs_encode(text, encoding="utf-8"):
    """Protocol-2 pickles store bytes as _codecs.encode(text, 'latin1'): only that is admitted."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Malformed(f"the pickle calls _codecs.encode with {encoding!r}; only latin1 is admitted")
    return text.encode("latin1")


ADMITTED_FUNCTIONS = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch", "Size"): _size,
    ("_codecs", "encode"): _codecs_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Admits collections.OrderedDict (the real class: it runs no code of the file's) and inert
    stand-ins for torch's tensor functions and types; refuses every other global by name."""

    def __init__(self, file, source, persistent=None, tensor_types=False):
        super().__init__(file, encoding="utf-8")
        self.source = source
        self.persistent = persistent
        self.tensor_types = tensor_types

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) in ADMITTED_FUNCTIONS:
            return _Inert(f"{module}.{name}", ADMITTED_FUNCTIONS[(module, name)])
        if module in STORAGE_MODULES and name in STORAGE_DTYPES:
            return _StorageType(f"{module}.{name}", STORAGE_DTYPES[name])
        if module in STORAGE_MODULES and name in UNSUPPORTED_STORAGES:
            raise CheckpointError(
                f"{self.source} holds {UNSUPPORTED_STORAGES[name]} tensors ({module}.{name}), which animecam "
                "cannot read: save the checkpoint in float32 or float16"
            )
        if self.tensor_types and module in STORAGE_MODULES and name.endswith(TENSOR_TYPE_SUFFIX):
            return _Inert(f"{module}.{name}")
        raise CheckpointError(f"refused: {self.source} asks for {_python3_name(module, name)}; animecam reads tensors only")

    def persistent_load(self, saved_id):
        if self.persistent is None:
            raise _Malformed("the pickle refers to a storage where none is expected")
        return self.persistent(saved_id)


def _python3_name(module, name):
    """module.name as Python 3 resolves the global: protocol-2 pickles (torch's default) write
    Python 2 names, e.g. __builtin__.eval for builtins.eval, commands.Popen for subprocess.Popen."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{name}"


def _unpickle(file, source, persistent=None, tensor_types=False):
    return _RestrictedUnpickler(file, source, persistent, tensor_types).load()


def _storage_type(value):
    if not isinstance(value, _StorageType):
        raise _Malformed(f"a storage's type is {value!r}, expected a torch storage type")
    return value.dtype


def _count(value, what):
    if type(value) is not int or value < 0:
        raise _Malformed(f"{what} is {value!r}, expected a non-negative integer")
    return value


def _read_into(file, nbytes, what):
    """nbytes from file into a new uint8 array, in chunks, so that the file's bytes are never
    held twice."""
    buffer = np.empty(nbytes, np.uint8)
    view = memoryview(buffer)
    done = 0
    while done < nbytes:
        got = file.readinto(view[done : done + min(READ_CHUNK, nbytes - done)])
        if not got:
            raise _Malformed(f"{what} ends after {done} of its {nbytes} bytes (the file is truncated)")
        done += got
    return buffer


def _native(buffer, dtype, byteorder):
    """The raw bytes as a 1-D array of dtype in this machine's byte order."""
    array = buffer.view(dtype)
    if byteorder != sys.byteorder and dtype.itemsize > 1:
        array.byteswap(inplace=True)  # complex: each of its two halves, as numpy swaps them
    return array


def _tensor(storage, offset, size, stride, what):
    """The tensor that lies in the 1-D array storage at offset with size and stride (in elements),
    as a C-contiguous array: a view of the storage where the tensor is one contiguous block that
    fills at least half of it, else a copy. Refuses a layout that reaches outside the storage."""
    if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride) or len(size) != len(stride):
        raise _Malformed(f"{what} has size {size}, stride {stride} and offset {offset}")
    numel = math.prod(size)
    if numel == 0:
        return np.zeros(size, storage.dtype)
    last = offset + sum((s - 1) * st for s, st in zip(size, stride))
    if last >= storage.size:
        raise _Malformed(
            f"{what} (size {size}, stride {stride}, offset {offset}) reaches element {last} of a storage of "
            f"{storage.size}"
        )
    contiguous, expected = True, 1
    for s, st in zip(reversed(size), reversed(stride)):
        if s != 1 and st != expected:
            contiguous = False
        expected *= s
    if contiguous:
        block = storage[offset : offset + numel].reshape(size)
        return block if 2 * numel >= storage.size else block.copy()
    itemsize = storage.dtype.itemsize
    strided = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=[st * itemsize for st in stride], writeable=False
    )
    return np.ascontiguousarray(strided)


class _Materialiser:
    """Replaces the unpickled tensor stand-ins by arrays, walking dicts, lists and tuples; one
    array per stand-in, however often the pickle refers to it."""

    def __init__(self, storage_array):
        self.storage_array = storage_array
        self.done = {}

    def __call__(self, value):
        known = self.done.get(id(value))
        if known is not None:
            return known[1]
        if isinstance(value, _PendingTensor):
            storage = value.storage
            if isinstance(storage, _StorageRef):
                storage = self.storage_array(storage)
            result = _tensor(storage, value.offset, value.size, value.stride, "a tensor")
        elif isinstance(value, _StorageRef):
            result = self.storage_array(value)
        elif isinstance(value, _Inert):
            raise _Malformed(f"the pickle holds {value.qualified_name} itself rather than a tensor")
        elif isinstance(value, dict):
            result = value
            self.done[id(value)] = (value, result)
            for key in list(value):
                value[key] = self(value[key])
            for key, item in list(getattr(value, "__dict__", {}).items()):
                setattr(value, key, self(item))
        elif isinstance(value, list):
            result = value
            self.done[id(value)] = (value, result)
            value[:] = [self(item) for item in value]
        elif isinstance(value, tuple):
            result = tuple(self(item) for item in value)
        else:
            return value
        self.done[id(value)] = (value, result)  # the value kept alive so that its id stays its own
        return result


def _read_zip(path, source):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise CheckpointError(
            f"{source} is a zip archive but a damaged or truncated one ({error}): download it again"
        ) from None
    with archive:
        names = archive.namelist()
        pickles = [n for n in names if n == "data.pkl" or (n.endswith("/data.pkl") and n.count("/") == 1)]
        if len(pickles) != 1:
            raise CheckpointError(
                f"{source} is a zip archive but not a PyTorch checkpoint: expected one PREFIX/data.pkl, "
                f"found {len(pickles)} among {len(names)} entries"
            )
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = archive.read(prefix + "byteorder").decode("ascii", "replace")
            if byteorder not in ("little", "big"):
                raise CheckpointError(f"{source}: its byteorder record says {byteorder!r}, expected little or big")

        storages = {}

        def persistent(saved_id):
            if not isinstance(saved_id, tuple) or len(saved_id) != 5 or saved_id[0] != "storage":
                raise _Malformed(f"a persistent id is {saved_id!r}, expected ('storage', type, key, location, numel)")
            _, storage_type, key, _location, numel = saved_id
            if not isinstance(key, str):
                raise _Malformed(f"a storage key is {key!r}, expected a string")
            return _StorageRef(key, _storage_type(storage_type), _count(numel, "a storage's element count"))

        def storage_array(ref):
            cached = storages.get(ref.key)
            if cached is not None and cached.dtype == ref.dtype and cached.size == ref.numel:
                return cached
            name = f"{prefix}data/{ref.key}"
            try:
                info = archive.getinfo(name)
            except KeyError:
                raise _Malformed(f"its pickle names storage {name}, which the archive lacks") from None
            nbytes = ref.numel * ref.dtype.itemsize
            if info.file_size != nbytes:
                raise _Malformed(
                    f"storage {name} holds {info.file_size} bytes; the pickle says {ref.numel} {ref.dtype} elements "
                    f"({nbytes} bytes)"
                )
            with archive.open(info) as file:
                array = _native(_read_into(file, nbytes, f"storage {name}"), ref.dtype, byteorder)
            storages[ref.key] = array
            return array

        with archive.open(pickles[0]) as file:
            result = _unpickle(io.BytesIO(file.read()), source, persistent)
        return _Materialiser(storage_array)(result)


def _legacy_element_count(header, numel, what):
    """A legacy storage's 8-byte element count: little-endian as torch writes it, big-endian as
    torch <= 0.4 wrote it on a big-endian machine."""
    if len(header) != 8:
        raise _Malformed(f"{what} is cut off before its element count (the file is truncated)")
    for order in ("little", "big"):
        if int.from_bytes(header, order) == numel:
            return numel
    raise _Malformed(f"{what} says it holds {int.from_bytes(header, 'little')} elements; the pickle says {numel}")


def _read_legacy_stream(file, source):
    def plain(what):
        try:
            return _unpickle(file, source)
        except (EOFError, pickle.UnpicklingError) as error:
            raise _Malformed(f"its {what} cannot be read ({error or 'the file ends'})") from None

    if plain("magic number") != LEGACY_MAGIC_NUMBER:
        raise _Malformed("its first pickle is not torch's magic number")
    protocol = plain("protocol version")
    if protocol != LEGACY_PROTOCOL_VERSION:
        raise _Malformed(f"its protocol version is {protocol!r}, expected {LEGACY_PROTOCOL_VERSION}")
    sys_info = plain("sys_info")
    if not isinstance(sys_info, dict):
        raise _Malformed(f"its sys_info is {type(sys_info).__name__}, expected a dict")

    roots = {}  # key -> (dtype, numel) as the pickle describes the storage
    views = {}

    def persistent(saved_id):
        if not isinstance(saved_id, tuple) or not saved_id:
            raise _Malformed(f"a persistent id is {saved_id!r}, expected a tuple")
        if saved_id[0] == "module":
            raise _Malformed("it holds a whole pickled module, not a state dict: save model.state_dict()")
        if saved_id[0] != "storage" or len(saved_id) != 6:
            raise _Malformed(f"a persistent id is {saved_id!r}, expected ('storage', type, key, location, numel, view)")
        _, storage_type, key, _location, numel, view = saved_id
        if not isinstance(key, str):
            raise _Malformed(f"a storage key is {key!r}, expected a string")
        dtype = _storage_type(storage_type)
        numel = _count(numel, "a storage's element count")
        known = roots.setdefault(key, (dtype, numel))
        if known != (dtype, numel):
            raise _Malformed(f"storage {key} is described both as {known} and as {(dtype, numel)}")
        if view is None:
            return _StorageRef(key, dtype, numel)
        if not isinstance(view, tuple) or len(view) != 3:
            raise _Malformed(f"a storage view is {view!r}, expected (key, offset, size)")
        view_key, offset, size = view
        ref = views.setdefault(view_key, _StorageRef(key, dtype, numel, (_count(offset, "a view's offset"),
                                                                          _count(size, "a view's size"))))
        return ref

    result = _unpickle(file, source, persistent)
    keys = plain("list of storage keys")
    if not isinstance(keys, list) or sorted(keys, key=str) != sorted(roots, key=str):
        raise _Malformed(
            f"it lists storages {_short(keys)} while its pickle uses {_short(sorted(roots))}"
        )
    arrays = {}
    for key in keys:
        dtype, numel = roots[key]
        what = f"storage {key}"
        _legacy_element_count(file.read(8), numel, what)
        arrays[key] = _native(_read_into(file, numel * dtype.itemsize, what), dtype, "little")

    def storage_array(ref):
        array = arrays[ref.key]
        if ref.view is not None:
            offset, size = ref.view
            if offset + size > array.size:
                raise _Malformed(f"a view of storage {ref.key} reaches past its {array.size} elements")
            array = array[offset : offset + size]
        return array

    return _Materialiser(storage_array)(result)


def _tar_key(value):
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _Malformed(f"an object key is {value!r}, expected an integer")


def _read_legacy_tar(path, source):
    try:
        tar = tarfile.open(path, mode="r:")
    except tarfile.TarError as error:
        raise CheckpointError(f"{source} is a tar archive but a damaged one ({error})") from None
    with tar:
        def member(name):
            try:
                file = tar.extractfile(name)
            except KeyError:
                file = None
            if file is None:
                raise _Malformed(f"it is a tar archive without the member {name!r} of torch's legacy format")
            return file

        objects = {}
        with member("storages") as file:
            for _ in range(_count(_unpickle(file, source), "the number of storages")):
                record = _unpickle(file, source)
                if not isinstance(record, tuple) or len(record) != 3:
                    raise _Malformed(f"a storage record is {record!r}, expected (key, location, type)")
                key, _location, storage_type = record
                dtype = _storage_type(storage_type)
                header = file.read(8)
                if len(header) != 8:
                    raise _Malformed(f"storage {key} is cut off before its element count (the file is truncated)")
                numel = int.from_bytes(header, "little")
                if numel * dtype.itemsize > tar.getmember("storages").size:
                    numel = int.from_bytes(header, "big")
                objects[_tar_key(key)] = _native(
                    _read_into(file, numel * dtype.itemsize, f"storage {key}"), dtype, "little"
                )
            for view in _unpickle(file, source):
                target, root, offset, numel = view
                array = objects.get(_tar_key(root))
                if array is None or offset < 0 or numel < 0 or offset + numel > array.size:
                    raise _Malformed(f"a storage view {view!r} does not lie in a storage")
                objects[_tar_key(target)] = array[offset : offset + numel]

        with member("tensors") as file:
            for _ in range(_count(_unpickle(file, source), "the number of tensors")):
                record = _unpickle(file, source, tensor_types=True)
                if not isinstance(record, tuple) or len(record) != 3:
                    raise _Malformed(f"a tensor record is {record!r}, expected (key, storage key, type)")
                key, storage_key, _tensor_type = record
                storage = objects.get(_tar_key(storage_key))
                if storage is None:
                    raise _Malformed(f"tensor {key} lies in storage {storage_key}, which the file lacks")
                header = file.read(8)
                if len(header) != 8:
                    raise _Malformed(f"tensor {key} is cut off (the file is truncated)")
                (ndim,) = struct.unpack("<i", header[:4])
                if not 0 <= ndim <= 64:
                    raise _Malformed(f"tensor {key} says it has {ndim} dimensions")
                layout = file.read(8 * (2 * ndim + 1))
                if len(layout) != 8 * (2 * ndim + 1):
                    raise _Malformed(f"tensor {key} is cut off (the file is truncated)")
                numbers = struct.unpack(f"<{2 * ndim + 1}q", layout)
                objects[_tar_key(key)] = _tensor(
                    storage, numbers[-1], numbers[:ndim], numbers[ndim : 2 * ndim], f"tensor {key}"
                )

        def persistent(saved_id):
            if isinstance(saved_id, tuple):
                raise _Malformed("it holds a whole pickled module, not a state dict: save model.state_dict()")
            try:
                return objects[_tar_key(saved_id)]
            except KeyError:
                raise _Malformed(f"its pickle names object {saved_id}, which the file lacks") from None

        with member("pickle") as file:
            return _Materialiser(None)(_unpickle(file, source, persistent))


def _short(values, limit=6):
    values = list(values) if isinstance(values, (list, tuple, dict)) else [values]
    shown = ", ".join(str(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


def read_torch(path):
    """The object a PyTorch checkpoint holds, every tensor as a C-contiguous numpy array in native
    byte order and its storage's dtype; dicts, lists, tuples, numbers, strings and None as they
    are. Nothing in the file is ever called: a global other than what a state dict needs is
    refused with its name. Any problem with the file is a CheckpointError naming it."""
    path = Path(path)
    source = str(path)
    try:
        with open(path, "rb") as file:
            head = file.read(512)
    except FileNotFoundError:
        raise CheckpointError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{source} is a folder, expected a PyTorch checkpoint file") from None
    except OSError as error:
        raise CheckpointError(f"{source} cannot be read: {error}") from None

    try:
        if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
            return _read_zip(path, source)
        if len(head) >= 262 and head[257:262] == b"ustar":
            return _read_legacy_tar(path, source)
        if head[:1] in (b"\x80", b"\x8a", b"L"):  # PROTO or a long: the legacy stream's magic number
            with open(path, "rb") as file:
                return _read_legacy_stream(file, source)
    except CheckpointError:
        raise
    except _Malformed as error:
        raise CheckpointError(f"{source} is not a readable PyTorch checkpoint: {error}") from None
    except (pickle.UnpicklingError, EOFError) as error:
        raise CheckpointError(
            f"{source} is not a readable PyTorch checkpoint: its pickle is damaged or truncated ({error or 'it ends'})"
        ) from None
    except (zipfile.BadZipFile, tarfile.TarError, zipfile.LargeZipFile) as error:
        raise CheckpointError(f"{source} is a damaged or truncated archive ({error})") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, struct.error, RecursionError,
            OverflowError, MemoryError, OSError) as error:
        raise CheckpointError(
            f"{source} is not a readable PyTorch checkpoint: {type(error).__name__}: {error}"
        ) from None
    raise CheckpointError(
        f"{source} is not a PyTorch checkpoint: it starts with {head[:8]!r}; expected a zip archive (torch >= 1.6), "
        "torch's legacy pickle stream or its legacy tar"
    )


def _tensor_count(value, enclosing=()):
    """Tensors in value, a tied one once per entry that holds it; a container that holds itself
    is not walked again."""
    if isinstance(value, np.ndarray):
        return 1
    if id(value) in enclosing:
        return 0
    if isinstance(value, dict):
        return sum(_tensor_count(v, (*enclosing, id(value))) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_count(v, (*enclosing, id(value))) for v in value)
    return 0


def strip_module_prefix(state_dict):
    """Checkpoints saved from DataParallel wrappers prefix every key with 'module.'."""
    if state_dict and all(key.startswith("module.") for key in state_dict):
        return {key[len("module."):]: value for key, value in state_dict.items()}
    return state_dict


def describe_entries(obj, limit=8):
    """A short description of a checkpoint's top-level entries, for error messages:
    'kp_detector (62 tensors), generator (189 tensors), epoch'."""
    if isinstance(obj, np.ndarray):
        return f"a single {obj.dtype} tensor of shape {tuple(obj.shape)}"
    if isinstance(obj, dict):
        if not obj:
            return "nothing (an empty dict)"
        if all(isinstance(v, np.ndarray) for v in obj.values()):
            names = ", ".join(str(k) for k in list(obj)[:limit])
            more = f", ... ({len(obj) - limit} more)" if len(obj) > limit else ""
            return f"{len(obj)} tensors ({names}{more})"
        parts = []
        for key, value in list(obj.items())[:limit]:
            count = _tensor_count(value)
            parts.append(f"{key} ({count} tensor{'s' if count != 1 else ''})" if count else str(key))
        if len(obj) > limit:
            parts.append(f"... ({len(obj) - limit} more)")
        return ", ".join(parts)
    if isinstance(obj, (list, tuple)):
        return f"a {type(obj).__name__} of {len(obj)} items ({_tensor_count(obj)} tensors)"
    return f"a {type(obj).__name__}"
