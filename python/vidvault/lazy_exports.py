"""Public names of a package imported on first use (PEP 562).

`import vidvault` and `import vidvault.media` must not load PyAV, numpy,
OpenCV and cryptography for a caller that needs none of them: `vidvault
--help` would otherwise spend most of a second importing libraries before it
prints a line. A package lists its public names with the module each comes
from, and gets the module-level ``__getattr__`` and ``__dir__`` that import
that module when a name is first used.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any, Callable, MutableMapping


def lazy_exports(
    package: str, names: dict[str, tuple[str, str]], namespace: MutableMapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for `package`. `names` maps a public
    name to (module relative to the package, attribute); `namespace` is the
    package's ``globals()``, where a name is kept once imported so that later
    look-ups do not come back here."""

    def __getattr__(name: str) -> Any:
        try:
            module, attribute = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module, package), attribute)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    class _Package(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            # Importing a submodule sets it on the package. Where a public name
            # is also a submodule's (the function `vidvault.media.decode` lives
            # in vidvault/media/decode.py), that would replace the function by
            # the module for every caller: keep the public name's value instead.
            if name in names and isinstance(value, types.ModuleType) and value.__name__ == f"{package}.{name}":
                value = getattr(importlib.import_module(names[name][0], package), names[name][1])
            super().__setattr__(name, value)

    sys.modules[package].__class__ = _Package
    return __getattr__, __dir__
