"""The exception classes: one hierarchy, declared by the extension module for
the errors the core raises and by vidvault.errors for Python-only ones, with
the builtin bases callers catch them by, structured attributes, and a message
that stays the message."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest

import vidvault
from vidvault import _core, errors

CORE = {
    "VidvaultError": (Exception,),
    "WrongKeyError": (KeyError,),
    "CorruptSegmentError": (),
    "StoreLockedError": (),
    "NotAStoreError": (),
    "StoreExistsError": (FileExistsError,),
    "CatalogMissingError": (),
    "CatalogError": (),
    "UnknownCameraError": (LookupError,),
    "CameraExistsError": (),
    "WriterBusyError": (),
    "WriterFailedError": (),
    "ShreddedError": (),
    "InvalidArgumentError": (ValueError,),
    "StoreClosedError": (),
    "StorageError": (OSError,),
    "StorageFullError": (OSError,),
    "AccessDenied": (PermissionError,),
}
PYTHON_ONLY = {
    "MediaError": (),
    "DependencyMissingError": (),
    "VerificationError": (),
    "ModelMissingError": (FileNotFoundError,),
    "RedactionError": (),
    "ReadOnlyStoreError": (),
}


@pytest.mark.parametrize("name", sorted(CORE))
def test_core_classes_are_one_object_everywhere(name):
    cls = getattr(_core, name)
    assert getattr(errors, name) is cls and getattr(vidvault, name) is cls
    assert issubclass(cls, vidvault.VidvaultError)
    for base in CORE[name]:
        assert issubclass(cls, base)
    assert cls.__module__ == "vidvault.errors" and cls.__doc__


@pytest.mark.parametrize("name", sorted(PYTHON_ONLY))
def test_python_only_classes_share_the_base(name):
    cls = getattr(errors, name)
    assert getattr(vidvault, name) is cls and not hasattr(_core, name)
    assert issubclass(cls, vidvault.VidvaultError)
    for base in PYTHON_ONLY[name]:
        assert issubclass(cls, base)


def test_storage_full_is_a_storage_error():
    assert issubclass(vidvault.StorageFullError, vidvault.StorageError)


def test_fields_become_attributes_and_str_is_the_message():
    e = vidvault.StoreLockedError("the store is locked", path="/s", pid=42)
    assert (e.path, e.pid, e.message, str(e), e.args) == ("/s", 42, "the store is locked", "the store is locked",
                                                           ("the store is locked",))
    assert e.hint is None
    # KeyError would print repr(message); ours prints the message.
    assert str(vidvault.WrongKeyError("wrong key", path="/s")) == "wrong key"
    e = vidvault.StorageFullError("disk full", path="/s", errno=28)
    assert isinstance(e, OSError) and e.errno == 28
    with pytest.raises(KeyError):
        raise vidvault.WrongKeyError("wrong key")
    m = errors.ModelMissingError("no model", model="centerface", path="/m")
    assert (m.model, str(m)) == ("centerface", "no model")


def test_errors_pickle_with_their_attributes():
    e = vidvault.CorruptSegmentError("bad crc", camera="cam", path="/s/x.vvs", offset=4096)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is vidvault.CorruptSegmentError
    assert (str(back), back.camera, back.path, back.offset) == ("bad crc", "cam", "/s/x.vvs", 4096)


def test_core_errors_carry_a_hint(tmp_path, key):
    vidvault.Store.create(tmp_path / "s", key=key).close()
    with pytest.raises(vidvault.StoreExistsError) as e:
        vidvault.Store.create(tmp_path / "s", key=key)
    assert e.value.hint and "Store.open" in e.value.hint
    assert str(e.value).endswith(e.value.hint) and str(tmp_path / "s") in str(e.value)
    with vidvault.Store.open(tmp_path / "s", key=key) as s:
        with pytest.raises(vidvault.CameraExistsError) as e:
            s.add_camera("cam")
            s.add_camera("cam")
        assert e.value.hint is None and e.value.camera == "cam"


def test_the_binding_never_imports_the_package():
    """Loaded alone, the extension module declares its classes and parses
    times without importing vidvault (no cycle through the Python package)."""
    code = textwrap.dedent(f"""
        import importlib.machinery, importlib.util, sys
        loader = importlib.machinery.ExtensionFileLoader("vidvault._core", {_core.__file__!r})
        spec = importlib.util.spec_from_loader("vidvault._core", loader)
        core = importlib.util.module_from_spec(spec)
        loader.exec_module(core)
        assert core.to_ns("1970-01-01T00:00:01Z") == 10**9
        try:
            core.to_ns(True)
        except core.InvalidArgumentError as e:
            assert isinstance(e, ValueError) and "bool" in str(e)
        else:
            raise SystemExit("bool accepted")
        leaked = sorted(m for m in sys.modules if m == "vidvault" or m.startswith("vidvault."))
        assert not leaked, leaked
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_out_of_range_instants_are_refused():
    with pytest.raises(vidvault.InvalidArgumentError, match="outside the range"):
        vidvault.to_ns(2**63)
    with pytest.raises(vidvault.InvalidArgumentError, match="outside the range"):
        vidvault.to_ns("1000-01-01T00:00:00Z")
