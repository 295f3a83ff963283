"""_core.pyi describes exactly what the extension module exports: the same
names, the same members per class, and the same parameters per function."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import vidvault
from vidvault import _core

STUB = ast.parse((Path(vidvault.__file__).parent / "_core.pyi").read_text())


def _public(names):
    return {n for n in names if not n.startswith("_") or n == "__version__"}


def _params(fn: ast.FunctionDef) -> list[str]:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    return [n for n in names if n not in ("self", "cls")]


def _runtime_params(obj) -> list[str] | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [p.name for p in sig.parameters.values()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in ("self", "cls")]


def test_module_names_match():
    stubbed = set()
    for node in STUB.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stubbed.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stubbed.add(node.target.id)
    stubbed = _public(stubbed)
    assert stubbed == _public(dir(_core))


def test_functions_and_classes_match():
    for node in STUB.body:
        if isinstance(node, ast.FunctionDef):
            assert _params(node) == _runtime_params(getattr(_core, node.name)), node.name
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(_core, node.name)
        if issubclass(cls, BaseException):
            stub_bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
            assert stub_bases == [b.__name__ for b in cls.__bases__], node.name
            continue
        members = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
        runtime = {n for n in vars(cls) if not n.startswith("__")} | {
            n for n in ("__len__", "__iter__", "__next__", "__enter__", "__exit__") if n in vars(cls)}
        assert set(members) == runtime, node.name
        for name, fn in members.items():
            if name.startswith("__") or isinstance(vars(cls)[name], property) or \
                    type(vars(cls)[name]).__name__ == "getset_descriptor":
                continue
            want = _runtime_params(getattr(cls, name))
            if want is not None and not (cls is _core.Store and name in ("create", "open")):
                assert _params(fn) == want, f"{node.name}.{name}"
