"""Data <-> bytes, never pickle: a JSON skeleton and NumPy arrays in one uncompressed .npz.

"Data" is what a graded ``inputs`` or ``call`` may return (see tools/harness.py): None, bools,
ints, floats, complex numbers, strings, NumPy arrays and scalars, tensors (tagged with their
dtype), torch dtypes, and lists, tuples and dicts with string keys of these. Decoding checks
every size and depth limit before it builds anything and loads arrays with
``allow_pickle=False``, so a hostile blob is at worst rejected with ``CodecError``.

This file is also copied into the sandbox, where the runner imports it: it needs only NumPy and
the standard library at import time (torch is imported when a tensor is met).
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

MAX_DEPTH = 20
MAX_NODES = 200_000
MAX_STRING = 1_000_000
MAX_INT_DIGITS = 4_000
MAX_ARRAYS = 10_000
MAX_ARRAY_BYTES = 256 * 2**20  # all arrays of one blob together
MAX_SKELETON_BYTES = 16 * 2**20
# Array kinds that np.load reads without pickle: bool, signed, unsigned, float, complex, str.
ARRAY_KINDS = frozenset("biufcU")
SKELETON = "skeleton"


class CodecError(ValueError):
    """The object is not data, or the blob breaks a limit or is malformed."""


def _torch():
    import torch

    return torch


def _torch_if_loaded():
    """torch if some code imported it already (a tensor cannot exist otherwise)."""
    import sys

    return sys.modules.get("torch")


def _is_tensor(obj) -> bool:
    torch = _torch_if_loaded()
    return torch is not None and isinstance(obj, torch.Tensor)


def encode(obj, result: bool = False) -> bytes:
    """Serialise data to bytes (see the module docstring for what counts as data).

    ``result=True`` encodes what a graded ``call`` returned exactly as the harness's
    ``to_data`` sees it: NumPy scalars become 0-d arrays.
    """
    arrays: list[np.ndarray] = []
    budget = {"nodes": 0, "bytes": 0}

    def add_array(array: np.ndarray) -> str:
        if array.dtype.kind not in ARRAY_KINDS:
            raise CodecError(f"arrays of dtype {array.dtype} are not data")
        if len(arrays) >= MAX_ARRAYS:
            raise CodecError(f"more than {MAX_ARRAYS} arrays")
        budget["bytes"] += array.nbytes
        if budget["bytes"] > MAX_ARRAY_BYTES:
            raise CodecError(f"arrays larger than {MAX_ARRAY_BYTES} bytes in all")
        arrays.append(np.array(array, order="C", copy=True))  # keeps 0-d arrays 0-d
        return f"a{len(arrays) - 1}"

    def walk(item, depth: int):
        budget["nodes"] += 1
        if budget["nodes"] > MAX_NODES:
            raise CodecError(f"more than {MAX_NODES} items")
        if depth > MAX_DEPTH:
            raise CodecError(f"data nested over {MAX_DEPTH} deep")
        if item is None:
            return ["none"]
        if isinstance(item, bool):
            return ["bool", bool(item)]
        if isinstance(item, int) and not isinstance(item, np.generic):
            text = str(int(item))
            if len(text) > MAX_INT_DIGITS:
                raise CodecError("an integer with too many digits")
            return ["int", text]
        if isinstance(item, float) and not isinstance(item, np.generic):
            return ["float", float(item).hex()]
        if isinstance(item, complex) and not isinstance(item, np.generic):
            return ["complex", float(item.real).hex(), float(item.imag).hex()]
        if isinstance(item, str) and not isinstance(item, np.generic):
            if len(item) > MAX_STRING:
                raise CodecError(f"a string longer than {MAX_STRING} characters")
            return ["str", str(item)]
        if isinstance(item, np.generic):
            return ["ndarray" if result else "npscalar", add_array(np.asarray(item))]
        if isinstance(item, np.ndarray):
            return ["ndarray", add_array(np.array(item))]
        if _is_tensor(item):
            return _encode_tensor(item, add_array)
        torch = _torch_if_loaded()
        if torch is not None and isinstance(item, torch.dtype):
            return ["torchdtype", str(item).removeprefix("torch.")]
        if isinstance(item, (list, tuple)):
            tag = "list" if isinstance(item, list) else "tuple"
            return [tag, [walk(value, depth + 1) for value in item]]
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                raise CodecError("dict keys must be strings")
            return ["dict", [[str(key), walk(value, depth + 1)] for key, value in item.items()]]
        raise CodecError(
            f"a {type(item).__name__} is not data (numbers, strings, arrays, tensors, "
            "and lists, tuples, dicts of them)"
        )

    skeleton = json.dumps(walk(obj, 0), allow_nan=False).encode("utf-8")
    if len(skeleton) > MAX_SKELETON_BYTES:
        raise CodecError("the data's skeleton is too large")
    buffer = io.BytesIO()
    named = {f"a{index}": array for index, array in enumerate(arrays)}
    np.savez(buffer, **{SKELETON: np.frombuffer(skeleton, dtype=np.uint8)}, **named)
    return buffer.getvalue()


def _encode_tensor(tensor, add_array) -> list:
    torch = _torch()
    plain = torch.Tensor.detach(tensor)
    if plain.layout != torch.strided:
        plain = plain.to_dense()
    plain = plain.cpu().resolve_conj().resolve_neg()
    dtype = str(plain.dtype).removeprefix("torch.")
    if plain.dtype == torch.bfloat16:
        plain = plain.to(torch.float32)  # NumPy has no bfloat16; exact in float32
    array = plain.contiguous().numpy().copy()
    return ["tensor", add_array(array), dtype, bool(tensor.requires_grad)]


def decode(blob: bytes, torch_allowed: bool = True):
    """Rebuild data from ``encode``'s bytes; raise CodecError on anything else."""
    if not isinstance(blob, (bytes, bytearray)):
        raise CodecError("not bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise CodecError(f"not an npz archive: {error}") from None
    if len(members) > MAX_ARRAYS + 1:
        raise CodecError("too many arrays")
    total = 0
    for member in members:
        if member.compress_type != zipfile.ZIP_STORED:
            raise CodecError("compressed members are not accepted")
        total += member.file_size
    if total > MAX_ARRAY_BYTES + MAX_SKELETON_BYTES + 2**20:
        raise CodecError("the arrays are too large")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as loaded:
            stored = {name: loaded[name] for name in loaded.files}
    except Exception as error:  # noqa: BLE001 - any malformed member is a rejection
        raise CodecError(f"unreadable arrays: {type(error).__name__}: {error}") from None
    skeleton_bytes = stored.pop(SKELETON, None)
    if skeleton_bytes is None or skeleton_bytes.dtype != np.uint8 or skeleton_bytes.ndim != 1:
        raise CodecError("no skeleton")
    for name, array in stored.items():
        if array.dtype.kind not in ARRAY_KINDS:
            raise CodecError(f"array {name} has dtype {array.dtype}")
    try:
        skeleton = json.loads(skeleton_bytes.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise CodecError(f"unreadable skeleton: {error}") from None
    counter = {"nodes": 0}

    def array(name) -> np.ndarray:
        if not isinstance(name, str) or name not in stored:
            raise CodecError(f"unknown array {name!r}")
        return stored[name]

    def build(node, depth: int):
        counter["nodes"] += 1
        if counter["nodes"] > MAX_NODES or depth > MAX_DEPTH:
            raise CodecError("too many items or too deep")
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            raise CodecError("malformed skeleton")
        tag, args = node[0], node[1:]
        if tag == "none" and not args:
            return None
        if tag == "bool" and len(args) == 1 and isinstance(args[0], bool):
            return args[0]
        if tag == "int" and len(args) == 1 and isinstance(args[0], str):
            if len(args[0]) > MAX_INT_DIGITS:
                raise CodecError("an integer with too many digits")
            return int(args[0])
        if tag == "float" and len(args) == 1 and isinstance(args[0], str):
            return float.fromhex(args[0])
        if tag == "complex" and len(args) == 2 and all(isinstance(a, str) for a in args):
            return complex(float.fromhex(args[0]), float.fromhex(args[1]))
        if tag == "str" and len(args) == 1 and isinstance(args[0], str):
            return args[0]
        if tag == "ndarray" and len(args) == 1:
            return array(args[0]).copy()
        if tag == "npscalar" and len(args) == 1:
            value = array(args[0])
            if value.ndim != 0:
                raise CodecError("a NumPy scalar must be 0-d")
            return value[()]
        if tag == "tensor" and len(args) == 3 and torch_allowed:
            return _decode_tensor(array(args[0]), args[1], args[2])
        if tag == "torchdtype" and len(args) == 1 and torch_allowed:
            return _torch_dtype(args[0])
        if tag in ("list", "tuple") and len(args) == 1 and isinstance(args[0], list):
            items = [build(item, depth + 1) for item in args[0]]
            return items if tag == "list" else tuple(items)
        if tag == "dict" and len(args) == 1 and isinstance(args[0], list):
            result = {}
            for pair in args[0]:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise CodecError("malformed dict")
                result[pair[0]] = build(pair[1], depth + 1)
            return result
        raise CodecError(f"malformed node {tag!r}")

    try:
        return build(skeleton, 0)
    except (TypeError, ValueError, OverflowError) as error:
        if isinstance(error, CodecError):
            raise
        raise CodecError(f"malformed data: {error}") from None


def _torch_dtype(name):
    torch = _torch()
    dtype = getattr(torch, name, None) if isinstance(name, str) and name.isidentifier() else None
    if not isinstance(dtype, torch.dtype):
        raise CodecError(f"unknown torch dtype {name!r}")
    return dtype


def _decode_tensor(array: np.ndarray, dtype_name, requires_grad):
    torch = _torch()
    dtype = _torch_dtype(dtype_name)
    if not isinstance(requires_grad, bool):
        raise CodecError("malformed tensor")
    tensor = torch.from_numpy(array.copy()).to(dtype)
    if requires_grad and (dtype.is_floating_point or dtype.is_complex):
        tensor.requires_grad_(True)
    return tensor
