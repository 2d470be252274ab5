"""Read (and, for tests, write) TensorFlow V2 checkpoints without TensorFlow.

A checkpoint `PREFIX` is `PREFIX.index`, a LevelDB-format table mapping variable names to
`BundleEntryProto`s (dtype, shape, shard, offset, size, crc32c), and `PREFIX.data-0000S-of-0000N`
files holding the raw little-endian tensor bytes. TensorFlow writes the table without compression.
Only float32 tensors are read (all a generator's weights are).
"""

import struct
from pathlib import Path

import numpy as np

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
DT_FLOAT = 1
# Checking crc32c in pure Python costs about a second per 10 MB: verify tensors up to this size
# (every weight but U-GAT-IT full's 1 GB MLP input layer).
MAX_VERIFIED_BYTES = 16 << 20


class CheckpointError(ValueError):
    pass


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(buffer, position):
    result, shift = 0, 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _encode_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _protobuf_fields(buffer):
    """(field number, wire type, value) of a serialized protobuf message."""
    position = 0
    while position < len(buffer):
        key, position = _varint(buffer, position)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(buffer, position)
        elif wire == 1:
            value = buffer[position:position + 8]
            position += 8
        elif wire == 2:
            length, position = _varint(buffer, position)
            value = buffer[position:position + length]
            position += length
        elif wire == 5:
            value = buffer[position:position + 4]
            position += 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def _block_entries(block):
    """Key/value pairs of a table block (prefix-compressed keys)."""
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * restarts
    position, key = 0, b""
    while position < end:
        shared, position = _varint(block, position)
        unshared, position = _varint(block, position)
        length, position = _varint(block, position)
        key = key[:shared] + block[position:position + unshared]
        position += unshared
        yield key, block[position:position + length]
        position += length


def _read_block(data, handle):
    offset, position = _varint(handle, 0)
    size, _ = _varint(handle, position)
    compression = data[offset + size]
    if compression != 0:
        raise CheckpointError("compressed checkpoint tables are not supported")
    return data[offset:offset + size]


class Entry:
    def __init__(self, proto):
        self.dtype, self.shape, self.shard, self.offset, self.size, self.crc = DT_FLOAT, (), 0, 0, 0, None
        for field, _, value in _protobuf_fields(proto):
            if field == 1:
                self.dtype = value
            elif field == 2:
                dims = []
                for dim_field, _, dim in _protobuf_fields(value):
                    if dim_field == 2:
                        size = next((v for f, _, v in _protobuf_fields(dim) if f == 1), 0)
                        dims.append(size)
                self.shape = tuple(dims)
            elif field == 3:
                self.shard = value
            elif field == 4:
                self.offset = value
            elif field == 5:
                self.size = value
            elif field == 6:
                self.crc = struct.unpack("<I", value)[0]
            elif field == 7:
                raise CheckpointError("partitioned (sliced) variables are not supported")


def read_checkpoint(prefix, names=None):
    """{name: float32 array} for every variable (or only `names`) of checkpoint `prefix`."""
    prefix = str(prefix)
    if prefix.endswith(".index"):
        prefix = prefix[: -len(".index")]
    index_path = Path(prefix + ".index")
    if not index_path.is_file():
        raise CheckpointError(f"{index_path} not found: give the checkpoint prefix, e.g. checkpoint/UGATIT.model-1000000")
    data = index_path.read_bytes()
    if len(data) < FOOTER_SIZE or struct.unpack_from("<Q", data, len(data) - 8)[0] != TABLE_MAGIC:
        raise CheckpointError(f"{index_path} is not a TensorFlow checkpoint index")
    footer = data[-FOOTER_SIZE:]
    _, position = _varint(footer, 0)
    _, position = _varint(footer, position)  # metaindex handle
    index_handle = footer[position:]
    entries = {}
    num_shards = 1
    for _, handle in _block_entries(_read_block(data, index_handle)):
        for key, value in _block_entries(_read_block(data, handle)):
            if key == b"":
                num_shards = next((v for f, _, v in _protobuf_fields(value) if f == 1), 1)
            else:
                entries[key.decode()] = Entry(value)
    wanted = entries.keys() if names is None else names
    missing = [name for name in wanted if name not in entries]
    if missing:
        raise CheckpointError(f"{prefix} lacks {len(missing)} variable(s), first: {missing[:3]}")
    tensors, shards = {}, {}
    for name in wanted:
        entry = entries[name]
        if entry.dtype != DT_FLOAT:
            raise CheckpointError(f"{name} has dtype {entry.dtype}; only float32 is read")
        if entry.shard not in shards:
            path = Path(f"{prefix}.data-{entry.shard:05d}-of-{num_shards:05d}")
            if not path.is_file():
                raise CheckpointError(f"{path} not found")
            shards[entry.shard] = np.memmap(path, dtype=np.uint8, mode="r")
        raw = shards[entry.shard][entry.offset:entry.offset + entry.size]
        if entry.crc is not None and entry.size <= MAX_VERIFIED_BYTES and masked_crc32c(bytes(raw)) != entry.crc:
            raise CheckpointError(f"{name}: checksum mismatch, the checkpoint is damaged")
        tensors[name] = np.frombuffer(bytes(raw), dtype="<f4").reshape(entry.shape).copy()
    return tensors


def list_variables(prefix):
    """{name: shape} of a checkpoint, without reading data."""
    index = Path(str(prefix) + ".index").read_bytes()
    footer = index[-FOOTER_SIZE:]
    _, position = _varint(footer, 0)
    _, position = _varint(footer, position)
    result = {}
    for _, handle in _block_entries(_read_block(index, footer[position:])):
        for key, value in _block_entries(_read_block(index, handle)):
            if key:
                result[key.decode()] = Entry(value).shape
    return result


def _entry_proto(shape, offset, size, crc):
    dims = b"".join(
        b"\x12" + _encode_varint(len(dim)) + dim
        for dim in (b"\x08" + _encode_varint(d) for d in shape)
    )
    shape_proto = b"\x12" + _encode_varint(len(dims)) + dims
    proto = b"\x08" + _encode_varint(DT_FLOAT) + shape_proto
    if offset:
        proto += b"\x20" + _encode_varint(offset)
    proto += b"\x28" + _encode_varint(size) + b"\x35" + struct.pack("<I", crc)
    return proto


def _block(entries):
    out = bytearray()
    for key, value in entries:
        out += _encode_varint(0) + _encode_varint(len(key)) + _encode_varint(len(value)) + key + value
    out += struct.pack("<I", 0) + struct.pack("<I", 1)  # one restart point, at 0
    return bytes(out)


def write_checkpoint(prefix, tensors):
    """Writes float32 `tensors` ({name: array}) as a single-shard V2 checkpoint (for tests)."""
    prefix = str(prefix)
    data = bytearray()
    entries = [(b"", b"\x08\x01")]  # BundleHeaderProto: num_shards = 1, little endian, version 0
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        entries.append((name.encode(), _entry_proto(tensors[name].shape, len(data), len(raw), masked_crc32c(raw))))
        data += raw
    Path(prefix + ".data-00000-of-00001").write_bytes(bytes(data))
    table = bytearray()

    def add_block(contents):
        offset = len(table)
        table.extend(contents)
        table.extend(b"\x00" + struct.pack("<I", masked_crc32c(contents + b"\x00")))
        return _encode_varint(offset) + _encode_varint(len(contents))

    data_handle = add_block(_block(entries))
    meta_handle = add_block(_block([]))
    index_handle = add_block(_block([(entries[-1][0] + b"\x00", data_handle)]))
    footer = meta_handle + index_handle
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", TABLE_MAGIC)
    table.extend(footer)
    Path(prefix + ".index").write_bytes(bytes(table))
