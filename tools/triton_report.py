"""What a GPU compiler makes of the Triton appendix's kernels, on a machine without a GPU.

    python -m tools.triton_report [NOTEBOOK_OR_FILE ...] [--targets 80,90] [--fp32] [--jobs N]

For each file (default: chapters/07_triton_flash_attention.ipynb; a learner's edited copy or
exercise notebook works the same) it takes the ``@triton.jit`` functions and the tile
configurations ``FORWARD_CONFIGS`` / ``BACKWARD_CONFIGS``, compiles
``flash_forward_kernel``, ``flash_backward_dkdv_kernel`` and ``flash_backward_dq_kernel``
ahead of time with Triton's own compiler for each target (``triton.compile`` with
``GPUTarget("cuda", 80, 32)``: an A100; ``90``: an H100), for float16 and bfloat16, causal and
not, at every configuration the autotuner may pick, and reads the machine code with the
``cuobjdump`` that Triton's wheel bundles (``triton/backends/nvidia/bin``). Per kernel it
prints the tensor-core instructions (``HMMA`` on sm_80, ``HGMMA``, Hopper's wgmma, on sm_90),
the registers per thread, the spill (``STACK`` and ``LOCAL`` bytes per thread) and the shared
memory against the target's limit, and exits with status 1 when any kernel lacks tensor cores,
spills, or needs more shared memory than its target has. No GPU is used or needed.

``--fp32`` adds the float32 teaching path, which is expected to fail those checks (no tensor
cores with ``input_precision="ieee"``, and spills): it shows what the checks catch.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import itertools
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "chapters" / "07_triton_flash_attention.ipynb"
KERNELS = ("flash_forward_kernel", "flash_backward_dkdv_kernel", "flash_backward_dq_kernel")
CONSTEXPRS = ("CAUSAL", "HEAD_D", "BLOCK_Q", "BLOCK_K", "BLOCK_D")
FLOAT32_POINTERS = ("LSE", "DELTA")  # always float32, whatever the inputs' dtype
SIZES = ("heads", "n_q", "n_k")  # runtime integers that need not be multiples of 16
# Shared memory one block may use (opt-in maximum), in bytes: CUDA C++ Programming Guide,
# "Technical Specifications per Compute Capability" (8.0: 163 KB, 8.6: 99 KB, 9.0: 227 KB).
SHARED_LIMIT = {80: 163 * 1024, 86: 99 * 1024, 89: 99 * 1024, 90: 227 * 1024}
GPU_NAME = {80: "A100", 86: "RTX 30xx / A10", 89: "L4 / RTX 40xx", 90: "H100"}
# What the tensor cores' instructions are called in SASS.
TENSOR_CORE_SASS = {80: ("HMMA",), 86: ("HMMA",), 89: ("HMMA",), 90: ("HMMA", "HGMMA")}
# Used when a file defines no configurations (a learner's file with the kernels only).
DEFAULT_FORWARD_CONFIGS = {64: [(128, 64, 4, 3)], 128: [(128, 64, 8, 3)]}
DEFAULT_BACKWARD_CONFIGS = {64: [(64, 64, 4, 2)], 128: [(64, 64, 8, 1)]}
DTYPE_NAMES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32"}


def bundled_tool(name: str) -> Path:
    """A CUDA binary that Triton's wheel ships (ptxas, cuobjdump, nvdisasm)."""
    import triton

    path = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: this Triton wheel does not bundle {name}")
    return path


# --- loading the kernels from a notebook or a file ---------------------------------------
def _code_of(path: Path) -> str:
    """The Python of a .py file, or of a notebook's code cells (graded cells and the score
    cell left out: they run learner code or checks, and the report needs definitions)."""
    if path.suffix != ".ipynb":
        return path.read_text()
    notebook = json.loads(path.read_text())
    cells = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "code" or cell["metadata"].get("nbgrader", {}).get("grade"):
            continue
        if source.lstrip().startswith("self_check_score("):
            continue
        cells.append("\n".join(line for line in source.split("\n") if not line.startswith(("%", "!"))))
    return "\n\n".join(cells)


def _is_triton_jit(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Attribute) and target.attr == "jit"


def definitions(code: str) -> str:
    """Only the imports, the @triton.jit functions and the *_CONFIGS constants of `code`:
    nothing runs (no kernel launch, no check, no plot), and nothing needs a GPU."""
    kept, lines = [], code.splitlines()
    for node in ast.parse(code).body:
        keep = isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, ast.FunctionDef) and any(map(_is_triton_jit, node.decorator_list))
        )
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            keep = any(name.endswith("_CONFIGS") for name in names)
        if keep:  # whole lines, decorators included (a FunctionDef starts at `def`)
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            kept.append("\n".join(lines[first - 1 : node.end_lineno]))
    return "\n\n\n".join(kept) + "\n"


@contextlib.contextmanager
def _environment(**values: str | None):
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_module(code: str, name: str, interpret: bool, folder: Path | None = None):
    """Import `code` from a real file (@triton.jit reads its function's source). Triton 3.9
    reads TRITON_INTERPRET whenever @triton.jit decorates a function, so the switch is set
    for the import: compiled kernels for the report, interpreted ones for CPU tests. Triton's
    own library functions (tl.zeros, ...) are decorated when triton is first imported, so a
    process uses one setting only: import triton first under the same one (the tests run the
    interpreter in a process of their own)."""
    folder = Path(folder or tempfile.mkdtemp(prefix="triton-report-"))
    path = folder / f"{name}.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    with _environment(TRITON_INTERPRET="1" if interpret else None):
        spec.loader.exec_module(module)
    return module


def load_kernels(path: Path | str, folder: Path | None = None):
    """The file's @triton.jit functions (compiled, not interpreted) and configurations."""
    path = Path(path)
    stem = re.sub(r"\W", "_", path.stem)
    return load_module(definitions(_code_of(path)), f"kernels_{stem}", interpret=False, folder=folder)


def fix_interpreter_bf16_dot() -> None:
    """Triton 3.9's interpreter multiplies bfloat16 blocks in tl.dot as their raw 16-bit
    patterns (NumPy has no bfloat16; the interpreter stores it as uint16). Replace its dot by
    one that turns bfloat16 into the float32 numbers it stands for (exactly: the top half of a
    float32) and multiplies and adds in float32, as the tensor cores do. The chapter's hidden
    cell does the same; kernels are unchanged."""
    import numpy as np
    import triton.language as tl
    from triton.runtime import interpreter

    builder = interpreter.InterpreterBuilder
    if getattr(builder.create_dot, "fixed_bf16", False):
        return

    def as_float32(handle):
        if handle.dtype.scalar != tl.bfloat16:
            return handle
        bits = handle.data.astype(np.uint32) << 16
        return interpreter.TensorHandle(bits.view(np.float32), tl.float32)

    original = builder.create_dot

    def create_dot(self, a, b, d, input_precision, max_num_imprecise_acc):
        return original(self, as_float32(a), as_float32(b), d, input_precision,
                        max_num_imprecise_acc)

    create_dot.fixed_bf16 = True
    builder.create_dot = create_dot


# --- compiling and reading the machine code ------------------------------------------------
@dataclass
class Row:
    kernel: str
    target: int
    dtype: str
    causal: bool
    head_d: int
    block_q: int
    block_k: int
    num_warps: int
    num_stages: int
    tensor_core_instructions: int = 0
    registers: int = 0
    stack_bytes: int = 0
    local_bytes: int = 0
    shared_bytes: int = 0
    shared_limit: int = 0
    error: str = ""

    @property
    def problems(self) -> list[str]:
        if self.error:
            return [self.error]
        found = []
        if self.tensor_core_instructions == 0:
            found.append("no tensor-core instruction")
        if self.stack_bytes or self.local_bytes:
            found.append(f"spills ({self.stack_bytes} B stack, {self.local_bytes} B local)")
        if self.shared_bytes > self.shared_limit:
            found.append(f"shared memory {self.shared_bytes} B > {self.shared_limit} B")
        return found


def signature(fn, dtype: str, constants: dict) -> tuple[dict, dict, dict]:
    """Argument types as a launch on (B, H, n, d) tensors with unit last stride makes them:
    pointers and strides specialised as multiples of 16, the last stride as the constant 1."""
    types, constexprs, attrs = {}, dict(constants), {}
    for index, name in enumerate(fn.arg_names):
        if name in CONSTEXPRS:
            types[name] = "constexpr"
        elif name.startswith("stride_") and name.endswith("d"):
            types[name], constexprs[name] = "constexpr", 1
        elif name in FLOAT32_POINTERS:
            types[name] = "*fp32"
        elif name.isupper():
            types[name] = f"*{DTYPE_NAMES[dtype]}"
        elif name == "scale":
            types[name] = "fp32"
        else:
            types[name] = "i32"
        if types[name] != "constexpr" and name not in SIZES and name != "scale":
            attrs[(index,)] = [["tt.divisibility", 16]]
    return types, constexprs, attrs


def resource_usage(cubin: bytes) -> dict:
    """REG, STACK, SHARED, LOCAL of the (one) kernel in a cubin, by cuobjdump -res-usage,
    and its tensor-core instructions counted in the SASS."""
    with tempfile.NamedTemporaryFile(suffix=".cubin") as file:
        file.write(cubin)
        file.flush()
        usage = sass = subprocess.run(
            [bundled_tool("cuobjdump"), "-res-usage", "-sass", file.name],
            capture_output=True, text=True, check=True,
        ).stdout
    match = re.search(r"REG:(\d+) STACK:(\d+) SHARED:(\d+) LOCAL:(\d+)", usage)
    if not match:
        raise RuntimeError(f"cuobjdump -res-usage printed no resource line:\n{usage}")
    registers, stack, shared, local = map(int, match.groups())
    opcodes = re.findall(r"/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9]*)", sass)
    return {"registers": registers, "stack": stack, "static_shared": shared, "local": local,
            "opcodes": opcodes}


def compile_row(fn, row: Row) -> Row:
    """Compile one kernel for one target and configuration; fill the row's measurements."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    block_d = max(16, triton.next_power_of_2(row.head_d))
    constants = {"CAUSAL": row.causal, "HEAD_D": row.head_d, "BLOCK_Q": row.block_q,
                 "BLOCK_K": row.block_k, "BLOCK_D": block_d}
    types, constexprs, attrs = signature(fn, row.dtype, constants)
    try:
        compiled = triton.compile(
            ASTSource(fn, types, constexprs, attrs),
            target=GPUTarget("cuda", row.target, 32),
            options={"num_warps": row.num_warps, "num_stages": row.num_stages},
        )
    except Exception as error:  # noqa: BLE001 - a learner's kernel may not compile: say why
        chain, cause = [], error
        while cause is not None and len(chain) < 20:
            chain.append(cause)
            cause = cause.__cause__ or cause.__context__
        if any(isinstance(e, NotImplementedError) or "NotImplementedError" in repr(e)
               for e in chain):
            row.error = "not written yet (NotImplementedError)"
        else:  # the last line that says something (Triton ends with a caret line)
            lines = [line for line in str(error).splitlines() if line.strip(" ^")]
            row.error = f"does not compile: {type(error).__name__}: {lines[-1] if lines else ''}"
        return row
    usage = resource_usage(compiled.asm["cubin"])
    names = TENSOR_CORE_SASS.get(row.target, ("HMMA",))
    row.tensor_core_instructions = sum(op in names for op in usage["opcodes"])
    row.registers, row.stack_bytes, row.local_bytes = usage["registers"], usage["stack"], usage["local"]
    # Triton's dynamic shared memory plus any static shared memory the code declares.
    row.shared_bytes = compiled.metadata.shared + usage["static_shared"]
    row.shared_limit = SHARED_LIMIT.get(row.target, SHARED_LIMIT[80])
    return row


def planned_rows(module, targets=(80, 90), dtypes=("float16", "bfloat16")) -> list[Row]:
    """Every (kernel, target, dtype, causal, configuration) the autotuner may run."""
    forward = getattr(module, "FORWARD_CONFIGS", DEFAULT_FORWARD_CONFIGS)
    backward = getattr(module, "BACKWARD_CONFIGS", DEFAULT_BACKWARD_CONFIGS)
    rows = []
    for kernel in KERNELS:
        if not hasattr(module, kernel):
            continue
        configs = forward if kernel == "flash_forward_kernel" else backward
        for target, dtype, causal in itertools.product(targets, dtypes, (False, True)):
            for head_d, tiles in configs.items():
                for block_q, block_k, warps, stages in tiles:
                    rows.append(Row(kernel, target, dtype, causal, head_d, block_q, block_k,
                                    warps, stages))
    return rows


_WORKER_MODULE = None


def _worker_init(path: str, cache: str | None) -> None:
    global _WORKER_MODULE
    if cache:
        os.environ["TRITON_CACHE_DIR"] = cache
    _WORKER_MODULE = load_kernels(path)


def _worker_compile(row: Row) -> Row:
    return compile_row(getattr(_WORKER_MODULE, row.kernel), row)


def report(path: Path | str, targets=(80, 90), dtypes=("float16", "bfloat16"),
           jobs: int | None = None) -> list[Row]:
    """Compile every planned kernel of `path`; returns the measured rows."""
    path = Path(path)
    module = load_kernels(path)
    rows = planned_rows(module, targets, dtypes)
    missing = [name for name in KERNELS if not hasattr(module, name)]
    if missing:
        raise SystemExit(f"{path}: no @triton.jit function named {', '.join(missing)}")
    jobs = jobs or min(len(rows), os.cpu_count() or 1, 4)
    if jobs <= 1:
        return [compile_row(getattr(module, row.kernel), row) for row in rows]
    # spawn, not fork: a forked child inherits the parent's threads' locks and can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init,
                             initargs=(str(path), os.environ.get("TRITON_CACHE_DIR"))) as pool:
        return list(pool.map(_worker_compile, rows))


def table(rows: list[Row]) -> str:
    header = (f"{'kernel':<28}{'target':<13}{'dtype':<10}{'causal':<8}{'d':>4} {'tiles':<9}"
              f"{'w/s':<6}{'tensor-core':>12}{'regs':>6}{'spill B':>8}{'shared KiB':>16}  verdict")
    lines = [header, "-" * len(header)]
    for row in rows:
        target = f"sm_{row.target} {GPU_NAME.get(row.target, '')}"
        if row.error:
            lines.append(f"{row.kernel:<28}{target:<13}{row.dtype:<10}{row.causal!s:<8}"
                         f"{row.head_d:>4} {row.block_q}x{row.block_k:<6}"
                         f"{row.num_warps}/{row.num_stages:<4}  {row.error}")
            continue
        shared = f"{row.shared_bytes / 1024:.0f} / {row.shared_limit / 1024:.0f}"
        verdict = "; ".join(row.problems) or "ok"
        lines.append(
            f"{row.kernel:<28}{target:<13}{row.dtype:<10}{row.causal!s:<8}{row.head_d:>4} "
            f"{f'{row.block_q}x{row.block_k}':<9}{f'{row.num_warps}/{row.num_stages}':<6}"
            f"{row.tensor_core_instructions:>12}{row.registers:>6}"
            f"{row.stack_bytes + row.local_bytes:>8}{shared:>16}  {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", default=[str(DEFAULT_FILE)])
    parser.add_argument("--targets", default="80,90",
                        help="compute capabilities, comma-separated (default 80,90)")
    parser.add_argument("--fp32", action="store_true",
                        help="also the float32 teaching path (expected to fail the checks)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel compilations")
    parser.add_argument("--json", action="store_true", help="rows as JSON")
    args = parser.parse_args(argv)
    os.environ.pop("TRITON_INTERPRET", None)  # compiled kernels only, also in the workers
    targets = tuple(int(t) for t in args.targets.split(","))
    dtypes = ("float16", "bfloat16") + (("float32",) if args.fp32 else ())
    failed = False
    for file in args.files:
        rows = report(file, targets, dtypes, args.jobs)
        if args.json:
            print(json.dumps([asdict(row) | {"problems": row.problems} for row in rows], indent=1))
        else:
            print(f"{file}: {len(rows)} kernels compiled ahead of time (no GPU used)")
            print(table(rows))
        bad = [row for row in rows if row.problems and row.dtype != "float32"]
        failed |= bool(bad)
        if not args.json:
            print(f"{len(bad)} of {len(rows)} float16/bfloat16 kernels fail a check"
                  if bad else "every float16/bfloat16 kernel: tensor cores, no spill, "
                  "shared memory within the target's limit")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
