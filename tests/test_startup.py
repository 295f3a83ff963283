"""The command line starts without loading the media and crypto libraries:
`vidvault --help` (and every `vidvault X --help`) must answer at once, and a
service that imports vidvault pays for PyAV and numpy only when it uses them."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import vidvault
import vidvault.media

#: What the parser of every command must not import: each costs tens to
#: hundreds of milliseconds before `--help` could print a line.
HEAVY = ("av", "numpy", "cv2", "cryptography", "onnxruntime")


def _modules_loaded_by(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return {m.split(".")[0] for m in json.loads(out.splitlines()[-1])}


def test_building_the_whole_command_line_loads_no_media_or_crypto_library():
    loaded = _modules_loaded_by("import vidvault.cli\nvidvault.cli.build_parser()")
    assert not loaded & set(HEAVY), f"the CLI parser imports {sorted(loaded & set(HEAVY))}"


@pytest.mark.parametrize("argv", [["--help"], ["verify", "--help"], ["export-clip", "--help"], ["bench", "--help"]])
def test_help_prints_without_loading_heavy_libraries(argv):
    code = ("import sys\nfrom vidvault.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass")
    loaded = _modules_loaded_by(code)
    assert not loaded & set(HEAVY), f"`vidvault {' '.join(argv)}` imports {sorted(loaded & set(HEAVY))}"


def test_the_command_table_names_exactly_what_each_group_registers():
    """`vidvault X` builds only the group the table names for X: a command
    a group adds but the table lacks would be unreachable by that path."""
    import argparse
    import importlib

    from vidvault.cli import COMMAND_GROUPS, build_parser

    for module, commands in COMMAND_GROUPS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        assert tuple(sub.choices) == commands, module
    every = [c for commands in COMMAND_GROUPS.values() for c in commands]
    assert len(every) == len(set(every)), "a command name is in two groups"
    full = build_parser()._subparsers._group_actions[0].choices
    assert list(full) == every


def _vidvault_modules_loaded_by(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return {m for m in json.loads(out.splitlines()[-1]) if m.startswith("vidvault.")}


def test_a_command_builds_only_its_own_group():
    from vidvault.cli import COMMAND_GROUPS

    code = ("from vidvault.cli import main\n"
            "try:\n    main(['verify', '--help'])\nexcept SystemExit:\n    pass")
    loaded = _vidvault_modules_loaded_by(code)
    assert "vidvault.cli.export" in loaded
    others = set(COMMAND_GROUPS) - {"vidvault.cli.export"}
    assert not loaded & others, f"`vidvault verify --help` loads {sorted(loaded & others)}"


@pytest.mark.parametrize("argv", [[], ["--help"], ["verfy"]], ids=["nothing", "help", "a misspelt command"])
def test_the_listing_and_the_unknown_command_error_name_every_command(argv, capsys):
    from vidvault.cli import COMMAND_GROUPS, main

    with pytest.raises(SystemExit):
        main(argv)
    printed = capsys.readouterr()
    listed = re.search(r"\{([a-z,-]+)\}", printed.out + printed.err)
    every = [c for commands in COMMAND_GROUPS.values() for c in commands]
    assert listed and listed.group(1).split(",") == every, f"`vidvault {' '.join(argv)}` lists {listed}"


def test_ingest_loads_only_what_it_needs():
    """`vidvault ingest` and `vidvault record` run once per camera, and a
    short file's ingest was mostly start-up: the store and the ingest loop
    must not import playback, export, picture checks or numpy."""
    loaded = _modules_loaded_by("import vidvault.cli, vidvault.ingestion, vidvault.store")
    full = set(json.loads(subprocess.run(
        [sys.executable, "-c", "import vidvault.cli, vidvault.ingestion, vidvault.store, sys, json\n"
         "print(json.dumps(sorted(sys.modules)))"], check=True, capture_output=True, text=True).stdout))
    assert not loaded & {"numpy", "cv2", "onnxruntime", "cryptography"}, sorted(loaded & set(HEAVY))
    unwanted = {m for m in full if m.startswith(("vidvault.redact", "vidvault.export", "vidvault.picture_check",
                                                 "vidvault.availability", "vidvault.session"))}
    assert not unwanted, f"ingest imports {sorted(unwanted)}"


def test_the_default_redaction_is_one_sentinel():
    """Store, Session and the redaction settings name the same default
    (an explicit redact=None is refused by telling it apart from it)."""
    import inspect

    from vidvault.default_redaction import DEFAULT_REDACTION
    from vidvault.redact import config
    from vidvault.session import Session

    assert config.DEFAULT_REDACTION is DEFAULT_REDACTION
    for f in (vidvault.Store.play, vidvault.Store.export_clip, Session.play, Session.export_clip):
        assert inspect.signature(f).parameters["redact"].default is DEFAULT_REDACTION, f


def test_import_vidvault_alone_loads_no_media_library():
    assert not _modules_loaded_by("import vidvault") & set(HEAVY)


@pytest.mark.parametrize("package", [vidvault, vidvault.media], ids=["vidvault", "vidvault.media"])
def test_every_public_name_resolves(package):
    for name in package.__all__:
        assert getattr(package, name) is not None, name
        assert name in dir(package)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Stor'"):
        vidvault.Stor  # noqa: B018


def test_the_ingest_function_is_not_shadowed_by_a_module():
    """`vidvault.ingest(...)` is the function, also after the CLI (which
    imports the module behind it) has been loaded."""
    import vidvault.cli.ingest  # noqa: F401
    import vidvault.ingestion  # noqa: F401

    assert callable(vidvault.ingest) and vidvault.ingest.__module__ == "vidvault.ingestion"


def test_a_function_named_like_its_module_stays_the_function():
    """`vidvault.media.decode(...)` is the function, also after its module
    vidvault/media/decode.py has been imported by someone else."""
    probe = ("import vidvault.media as m\nimport vidvault.media.decode\nfrom vidvault.media import decode\n"
             "assert callable(m.decode) and m.decode.__name__ == 'decode', m.decode\n"
             "assert callable(decode)\n")
    subprocess.run([sys.executable, "-c", probe], check=True)
