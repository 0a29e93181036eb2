"""Step 4, rules: what the learner's answer cells may not use, looked for on the syntax tree.

These rules are early feedback and flags, not a guarantee: code can be written around a syntax
tree. The guarantee for a NumPy-only task is the environment: ``numpy_only_checks`` names the
graded cells whose ``call`` the judge runs where PyTorch's files are not there.

Two kinds of rule:

* **Escape hatches**, forbidden in every answer cell (``ALWAYS_FORBIDDEN`` and the checks in
  ``_Checker``): dynamic code (eval, exec, compile, __import__, importlib), reflection
  (getattr/setattr/delattr/hasattr with a computed or dunder name, globals, locals, vars,
  dunder names and attributes other than ``ALLOWED_DUNDERS``), files and processes (open,
  os, sys, subprocess, shutil, pathlib, io, ctypes, signal, threading, multiprocessing,
  socket, pickle, marshal, ...), the interpreter (builtins, inspect, gc, tracemalloc,
  get_ipython, breakpoint, input), private attributes of modules (``torch._C``,
  ``np._core``), assigning to an attribute of a module (``np.exp = ...``), deleting an
  attribute (``del layer.forward`` undoes chapter 4's ``lock``), and redefining the
  harness (``check_close = ...``), touching the self-check (``SELF_CHECK``, ``run_check``,
  ``verdict``) and naming what a ``grading-helper`` cell defines (the verdicts' references).
  Imports are allowed only from ``ALLOWED_IMPORTS``. Code
  reached through an escape hatch cannot be traced, so one anywhere zeroes the whole notebook.
* **From-scratch words**, per answer cell, from its metadata
  ``"attention": {"forbid": [...]}`` (docs/graded-cells.md): ``"torch"`` forbids PyTorch
  altogether (``torch``, ``F``, ``nn`` and every name the trusted cells bind to a torch
  module, and importing it); any other word forbids that identifier as a name, an attribute or
  a keyword, together with the related internals in ``RELATED_PIECES`` and ``RELATED_NAMES``. A cell's words apply to it
  and to every answer cell its code reaches, so a NumPy task cannot hand its work to a helper
  written with torch in another cell. A violation zeroes the graded cells that depend on it.

A graded cell depends on the answer cells whose names its ``call`` uses, transitively through
the learner's code and the given code.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tools.grade.official import Cell, Official

ALLOWED_IMPORTS = frozenset(
    {"numpy", "math", "torch", "itertools", "functools", "collections", "typing",
     "dataclasses", "__future__"}
)
ALWAYS_FORBIDDEN = frozenset(
    {
        # dynamic code and reflection
        "eval", "exec", "compile", "__import__", "importlib", "globals", "locals", "vars",
        "breakpoint", "input", "get_ipython", "memoryview", "help", "exit", "quit",
        # files, processes, the interpreter
        "open", "os", "sys", "subprocess", "shutil", "pathlib", "io", "ctypes", "builtins",
        "inspect", "gc", "signal", "threading", "_thread", "multiprocessing", "concurrent",
        "asyncio", "socket", "pickle", "marshal", "shelve", "tracemalloc", "resource",
        "atexit", "runpy", "code", "codeop", "pty", "mmap", "weakref", "sysconfig",
        "platform", "tempfile", "posix", "IPython",
    }
)
REFLECTION = frozenset({"getattr", "setattr", "delattr", "hasattr"})
ALLOWED_DUNDERS = frozenset({"__init__", "__name__", "__doc__", "__future__"})
# The names tools/harness.py defines: an answer cell may not rebind them, and may not touch
# the self-check's own machinery at all.
HARNESS_NAMES = frozenset(
    {"run_check", "check_close", "check_equal", "expect_error", "outcome", "as_numpy",
     "to_data", "self_check_score", "SELF_CHECK"}
)
SELF_CHECK_MACHINERY = frozenset({"run_check", "self_check_score", "SELF_CHECK"})
# A forbidden word also forbids the internals that do the same work under another name:
# identifiers that contain one of these pieces (case-insensitive) or equal one of these names.
RELATED_PIECES = {
    "scaled_dot_product_attention": (
        "scaled_dot_product", "flash_attention", "efficient_attention", "fused_attention",
        "cudnn_attention", "_sdpa",
    ),
    "MultiheadAttention": ("multi_head_attention_forward", "multiheadattention"),
}
RELATED_NAMES = {
    "TransformerEncoderLayer": ("TransformerEncoder", "Transformer"),
    "TransformerDecoderLayer": ("TransformerDecoder", "Transformer"),
    "Transformer": ("TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
                    "TransformerDecoderLayer"),
}
TORCH_NAMES = frozenset({"torch", "F", "nn"})


@dataclass
class Violation:
    cell: int  # the official index of the answer cell
    line: int
    what: str
    escape: bool  # an escape hatch (zeroes the notebook) or a from-scratch word
    label: str = ""  # "the cell of softmax": what the learner sees

    def text(self) -> str:
        where = self.label or f"answer cell {self.cell}"
        return f"{where}, line {self.line}: {self.what}"


@dataclass
class RulesReport:
    violations: list[Violation] = field(default_factory=list)
    forbidden: dict[str, list[str]] = field(default_factory=dict)  # grade_id -> reasons

    @property
    def any(self) -> bool:
        return bool(self.violations)


def _parse(source: str):
    """The syntax tree, or None for what Python would not compile either. A tree too deep for
    this process raises RecursionError: ``check`` then parses in a process that can."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, MemoryError):
        return None


@functools.lru_cache(maxsize=4096)
def _parse_trusted(source: str):
    """``_parse`` for the instructor's own cells, parsed once per run: the judge asks about the
    same exercise for every learner. The trees are only read, never changed."""
    return _parse(source)


def _once_per_exercise(function):
    """``function(official)``, computed once per official exercise: the judge asks the same
    question of the same trusted cells for every learner. The answer is shared (frozen)."""

    @functools.wraps(function)
    def once(official: Official):
        if function.__name__ not in official.derived:
            official.derived[function.__name__] = function(official)
        return official.derived[function.__name__]

    return once


@_once_per_exercise
def module_aliases(official: Official) -> tuple[frozenset[str], frozenset[str]]:
    """Names the trusted cells bind to modules: (all module names, torch module names)."""
    modules, torch_modules = set(), set(TORCH_NAMES)
    for cell in official.cells:
        if cell.kind == "answer":
            continue
        tree = _parse_trusted(cell.source)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.asname or alias.name.split(".")[0]
                    modules.add(name)
                    if alias.name.split(".")[0] == "torch":
                        torch_modules.add(name)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    # `from torch import nn` binds a module; `from math import sqrt` does not,
                    # but treating both as modules only makes the checks stricter.
                    name = alias.asname or alias.name
                    if node.module.split(".")[0] == "torch":
                        torch_modules.add(name)
                    if name[:1].islower():
                        modules.add(name)
    return frozenset(modules | torch_modules), frozenset(torch_modules)


def _matcher(words):
    """A function name -> the forbidden word it matches, or None."""
    exact, pieces = {}, {}
    for word in words:
        exact[word] = word
        for name in RELATED_NAMES.get(word, ()):
            exact[name] = word
        for piece in RELATED_PIECES.get(word, ()):
            pieces[piece.lower()] = word

    def match(name: str):
        if name in exact:
            return exact[name]
        bare = name.lstrip("_")
        for word in words:
            # _scaled_dot_product_attention_math, ..._backward; but `decoder` is not `decode`.
            if bare == word or bare.startswith(word + "_"):
                return word
        lowered = name.lower()
        return next((word for piece, word in pieces.items() if piece in lowered), None)

    return match


GIVEN_TO_LEARNERS = "given-to-learners"


class _Checker(ast.NodeVisitor):
    def __init__(self, cell, modules, torch_modules, words, own_names=frozenset(),
                 references=frozenset()):
        self.cell, self.modules, self.torch_modules = cell, set(modules), set(torch_modules)
        # What the grading-helper cells define: the verdicts' references, not the learner's.
        self.references = references
        self.no_torch = "torch" in words
        self.match = _matcher([w for w in words if w != "torch"])
        # Names the notebook itself defines (the learner's functions, parameters, variables,
        # the given code's functions): a task may well be to write `scaled_dot_product_attention`.
        self.own_names = own_names
        self.found: list[Violation] = []
        self.depth = 0  # 0 at the cell's top level, where names bind in the notebook

    def flag(self, node, what: str, escape: bool = True):
        self.found.append(Violation(self.cell, getattr(node, "lineno", 0), what, escape))

    def word(self, node, name: str, how: str, own_ok: bool = False):
        if own_ok and name in self.own_names:
            return
        word = self.match(name)
        if word is not None:
            self.flag(node, f"uses {how} {name!r}: this task forbids {word!r}", False)

    def visit_Import(self, node):
        for alias in node.names:
            self._import(node, alias.name, alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node):
        if node.level:
            self.flag(node, "a relative import")
        for alias in node.names:
            self._import(node, f"{node.module}.{alias.name}", alias.asname or alias.name)
            if alias.name == "*":
                self.flag(node, "import *")

    def _import(self, node, dotted: str, bound: str):
        top = dotted.split(".")[0]
        if top not in ALLOWED_IMPORTS:
            self.flag(node, f"imports {dotted!r} (only {', '.join(sorted(ALLOWED_IMPORTS))})")
        if top == "torch" and self.no_torch:
            self.flag(node, "imports torch: this task is NumPy only", False)
        if any(part.startswith("_") and part != "__future__" for part in dotted.split(".")):
            self.flag(node, f"imports a private module {dotted!r}")
        self.word(node, dotted, "the import")
        self.modules.add(bound)
        if top == "torch":
            self.torch_modules.add(bound)

    def visit_Name(self, node):
        name = node.id
        if name in ALWAYS_FORBIDDEN:
            self.flag(node, f"uses {name!r}, which graded answers may not use")
        elif name.startswith("__") and name.endswith("__") and name not in ALLOWED_DUNDERS:
            self.flag(node, f"uses the dunder name {name!r}")
        elif name in REFLECTION and not getattr(node, "_checked_call", False):
            self.flag(node, f"uses {name!r} other than as getattr(obj, 'constant')")
        if self.no_torch and name in self.torch_modules:
            self.flag(node, f"uses {name!r}: this task is NumPy only (no PyTorch)", False)
        stores = isinstance(node.ctx, (ast.Store, ast.Del))
        if stores and name in HARNESS_NAMES and self.depth == 0:
            self.flag(node, f"redefines the harness's {name!r}")
        elif name in SELF_CHECK_MACHINERY and not stores:
            self.flag(node, f"uses the self-check's {name!r}")
        if name in self.references:
            self.flag(node, f"uses {name!r}, a reference of the grader (a grading-helper cell)")
        self.word(node, name, "the name", own_ok=True)

    def visit_Attribute(self, node):
        attr = node.attr
        if attr.startswith("__") and attr.endswith("__") and attr not in ALLOWED_DUNDERS:
            self.flag(node, f"uses the dunder attribute {attr!r}")
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        on_module = isinstance(root, ast.Name) and root.id in self.modules
        if on_module and attr.startswith("_"):
            self.flag(node, f"uses the private attribute {attr!r} of a module")
        if on_module and isinstance(node.ctx, (ast.Store, ast.Del)):
            self.flag(node, f"assigns to {attr!r} of a module")
        if attr in {"f_globals", "f_locals", "f_back", "gi_frame", "tb_frame", "f_builtins"}:
            self.flag(node, f"uses the frame attribute {attr!r}")
        self.word(node, attr, "the attribute", own_ok=not on_module)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        own_function = isinstance(func, ast.Name) and func.id in self.own_names
        for keyword in node.keywords:
            if keyword.arg and not own_function:
                self.word(keyword, keyword.arg, "the keyword")
        if isinstance(func, ast.Name) and func.id in REFLECTION:
            name = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                self.flag(node, f"{func.id} with a computed name")
            else:
                if name.value.startswith("_"):
                    self.flag(node, f"{func.id} of the private name {name.value!r}")
                self.word(node, name.value, f"{func.id} of")
                target = node.args[0] if node.args else None
                if func.id != "getattr" and func.id != "hasattr" and (
                    isinstance(target, ast.Name) and target.id in self.modules
                ):
                    self.flag(node, f"{func.id} on a module")
            if func.id == "delattr":
                self.flag(node, "delattr (deleting attributes undoes locks)")
            func._checked_call = True
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                # `del layer.forward` undoes a lock that the given code put on an instance.
                self.flag(target, f"deletes the attribute {target.attr!r}")
        self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            if name in HARNESS_NAMES:
                self.flag(node, f"redefines the harness's {name!r}")

    def visit_FunctionDef(self, node):
        if node.name in HARNESS_NAMES and self.depth == 0:
            self.flag(node, f"redefines the harness's {node.name!r}")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1


def _bound_names(tree) -> set[str]:
    """Names a cell binds in the notebook's namespace (its top level, and `global`s)."""
    names = set()

    def top(statements):
        for statement in statements:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(statement.name)
                continue
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    names.update((a.asname or a.name).split(".")[0] for a in node.names)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)

    if tree is not None:
        top(tree.body)
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                names.update(node.names)
    return names


def _defined_names(tree) -> set[str]:
    """What a cell defines at its top level by def, class or assignment (not by import)."""
    names = set()
    for node in tree.body if tree else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _own_names(official: Official, trees: dict) -> frozenset:
    """Names the notebook defines itself: every def, class, parameter and assigned name of the
    learner's answers, and the given code's defs and classes (never what an import binds)."""
    names = set()
    for tree in trees.values():
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    for cell in official.cells:
        if cell.kind in ("given", "grading-helper"):
            tree = _parse_trusted(cell.source)
            for node in tree.body if tree else ():
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
    return frozenset(names)


def _used_names(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node else set()


@functools.lru_cache(maxsize=4096)
def _call_uses(graded_source: str) -> frozenset[str]:
    """Names the graded cell's ``call`` uses, through the graded cell's own small helpers."""
    tree = _parse_trusted(graded_source)
    if tree is None:
        return frozenset()
    local = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    uses, todo, seen = set(), ["call"], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in local:
            continue
        seen.add(name)
        for used in _used_names(local[name]):
            if used in local and used not in ("inputs", "verdict"):
                todo.append(used)
            else:
                uses.add(used)
    return frozenset(uses)


def check(official: Official, answers: dict[int, str]) -> RulesReport:
    """The violations in the learner's answers and the graded cells they zero.

    The judge parses whatever Python compiles: a cell too deep for this process's recursion
    limit is parsed again in a child process with a large stack and limit (raising the limit
    here would let a deep frame or blob crash the judge's other threads). A cell is never
    skipped: if even that fails, every graded cell is held for the instructor's review.
    """
    try:
        return _check(official, answers)
    except RecursionError:
        return _check_in_child(official, answers)


DEEP_STACK = 1024 * 2**20
DEEP_RECURSION = 1_000_000


def _check_in_child(official: Official, answers: dict[int, str]) -> RulesReport:
    sent = {name: value for name, value in asdict(official).items() if name != "derived"}
    request = json.dumps({"official": sent,
                          "answers": {str(k): v for k, v in answers.items()}})
    try:
        root = str(Path(__file__).resolve().parents[2])
        program = (f"import sys; sys.path.insert(0, {root!r}); "
                   "from tools.grade.rules import _child; _child()")
        done = subprocess.run([sys.executable, "-I", "-c", program], input=request,
                              capture_output=True, text=True, timeout=120, check=False)
        answer = json.loads(done.stdout)
        report = RulesReport([Violation(**found) for found in answer["violations"]],
                             answer["forbidden"])
    except (OSError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired):
        why = "an answer cell is nested too deep for the grader to read; held for review"
        report = RulesReport([Violation(-1, 0, why, True, "the notebook")])
        report.forbidden = {cell.grade_id: [why] for cell in official.graded}
    return report


def _child() -> None:
    """The child's side: ``_check`` on a JSON request (stdin), in a thread with a deep stack."""
    request = json.loads(sys.stdin.read())
    official = request["official"]
    cells = [Cell(**{**cell, "tags": tuple(cell["tags"]), "forbid": tuple(cell["forbid"])})
             for cell in official["cells"]]
    by_index = {cell.index: cell for cell in cells}
    rebuilt = Official(official["name"], cells,
                       [by_index[cell["index"]] for cell in official["graded"]],
                       [by_index[cell["index"]] for cell in official["answers"]])
    answers = {int(k): v for k, v in request["answers"].items()}
    box = {}
    sys.setrecursionlimit(DEEP_RECURSION)  # this process runs nothing else
    threading.stack_size(DEEP_STACK)
    thread = threading.Thread(target=lambda: box.setdefault("report", _check(rebuilt, answers)))
    thread.start()
    thread.join()
    report = box["report"]
    print(json.dumps({"violations": [asdict(v) for v in report.violations],
                      "forbidden": report.forbidden}))


def _check(official: Official, answers: dict[int, str]) -> RulesReport:
    modules, torch_modules = module_aliases(official)
    report = RulesReport()
    labels = {}
    for cell in official.answers:
        names = re.findall(r"^(?:def|class)\s+(\w+)", cell.source, re.MULTILINE)
        labels[cell.index] = f"the answer cell of {', '.join(names)}" if names else ""
    trees, own = {}, {}
    for cell in official.answers:
        tree = _parse(answers[cell.index])
        trees[cell.index] = tree
    own_names = _own_names(official, trees)
    # A grading-helper cell also tagged `given-to-learners` holds code the task hands to the
    # learner (chapter 4's attention helpers): the verdicts use it, and so may the answers.
    references = frozenset(
        name
        for cell in official.of_kind("grading-helper")
        if GIVEN_TO_LEARNERS not in cell.tags
        for name in _defined_names(_parse_trusted(cell.source))
    )
    for cell in official.answers:
        tree = trees[cell.index]
        if tree is None:
            continue  # a syntax error: the cell fails in the sandbox, its functions are missing
        checker = _Checker(cell.index, modules, torch_modules, cell.forbid, own_names, references)
        checker.visit(tree)
        own[cell.index] = checker.found
    # Who defines what: answer cells (the learner's) and the given code (trusted).
    definers: dict[str, set[int]] = {}
    uses: dict[int, set[str]] = {}
    for cell in official.cells:
        if cell.kind in ("graded", "harness"):
            continue
        tree = trees.get(cell.index) if cell.kind == "answer" else _parse_trusted(cell.source)
        for name in _bound_names(tree):
            definers.setdefault(name, set()).add(cell.index)
        uses[cell.index] = _used_names(tree)
    kinds = {cell.index: cell.kind for cell in official.cells}

    def reach(names: set[str]) -> set[int]:
        reached, todo = set(), list(names)
        seen_names = set()
        while todo:
            name = todo.pop()
            if name in seen_names:
                continue
            seen_names.add(name)
            for index in definers.get(name, ()):
                if index not in reached:
                    reached.add(index)
                    todo.extend(uses.get(index, ()))
        return {index for index in reached if kinds[index] == "answer"}

    violations = {index: list(found) for index, found in own.items()}
    for cell in official.answers:
        if not cell.forbid or trees.get(cell.index) is None:
            continue
        for other in reach(uses[cell.index]) - {cell.index}:
            if trees.get(other) is None:
                continue
            checker = _Checker(other, modules, torch_modules, cell.forbid, own_names)
            checker.visit(trees[other])
            for found in checker.found:
                if not found.escape:
                    found.what += f" (reached from {labels[cell.index] or cell.index})"
                    violations[cell.index].append(found)
    report.violations = [v for found in violations.values() for v in found]
    for violation in report.violations:
        violation.label = labels.get(violation.cell, "")
    escapes = [v.text() for v in report.violations if v.escape]
    for graded in official.graded:
        reasons = list(escapes)
        for index in reach(_call_uses(graded.source)):
            reasons += [v.text() for v in violations.get(index, []) if not v.escape]
        if reasons:
            report.forbidden[graded.grade_id] = list(dict.fromkeys(reasons))
    return report


def answer_names(official: Official) -> set[str]:
    """The names the official answer cells bind: the learner is asked to define them."""
    return {name for cell in official.answers for name in _bound_names(_parse_trusted(cell.source))}


def _graded_torch(source: str, torch_modules: set[str]) -> bool:
    """Whether the graded cell's own code, other than ``inputs`` and ``verdict`` (which run in
    the judge), uses PyTorch: ``call``, its helpers, and what the cell binds at its top level."""
    tree = _parse_trusted(source)
    for node in tree.body if tree else ():
        if isinstance(node, ast.FunctionDef) and node.name in ("inputs", "verdict"):
            continue
        if _used_names(node) & torch_modules:
            return True
    return False


@_once_per_exercise
def numpy_only_checks(official: Official) -> tuple[frozenset[str], frozenset[str]]:
    """Which graded cells test a NumPy-only answer, decided on the official exercise (never on
    a learner's code, which could move an answer elsewhere): (those the judge runs where
    PyTorch's files are hidden, those it cannot).

    A graded cell tests a NumPy-only answer when its ``call`` reaches an answer cell that
    forbids ``torch``, through the names that the given code, the grading helpers and the
    answer cells bind. It runs without PyTorch unless its ``call``, or trusted code it reaches,
    uses PyTorch, or it reaches an answer of a PyTorch task: then its NumPy answer runs next
    to PyTorch, and the from-scratch rule is only looked for (or checked by the trusted code
    itself, as chapter 5's counter of PyTorch calls does).
    """
    _, torch_modules = module_aliases(official)
    definers: dict[str, set[int]] = {}
    uses: dict[int, set[str]] = {}
    for cell in official.cells:
        if cell.kind in ("graded", "harness", "setup"):
            continue
        tree = _parse_trusted(cell.source)
        for name in _bound_names(tree):
            definers.setdefault(name, set()).add(cell.index)
        uses[cell.index] = _used_names(tree)
    cells = {cell.index: cell for cell in official.cells}
    hidden, present = set(), set()
    for graded in official.graded:
        called = _call_uses(graded.source)
        reached, todo, seen = set(), list(called), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for index in definers.get(name, ()):
                if index not in reached:
                    reached.add(index)
                    todo.extend(uses.get(index, ()))
        answers = [cells[index] for index in reached if cells[index].kind == "answer"]
        if not any("torch" in cell.forbid for cell in answers):
            continue
        trusted_torch = _graded_torch(graded.source, torch_modules) or any(
            uses[index] & torch_modules for index in reached if cells[index].kind != "answer")
        mixed = (called & torch_modules or trusted_torch
                 or any("torch" not in cell.forbid for cell in answers))
        (present if mixed else hidden).add(graded.grade_id)
    return frozenset(hidden), frozenset(present)
