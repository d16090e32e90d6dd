"""Loading experiment config files: one `get_config(arg)` per file in experiments/.

A config path is given as on the command line, `experiments/<name>.py` or
`experiments/<name>.py:<arg>` (the part after the colon is passed to `get_config`, as
ml_collections' config_flags does). Relative paths resolve against the working directory first,
then against the repository root, so runners and experiments that compose other experiments
work from any directory.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence

import ml_collections

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def resolve(path: str) -> str:
    """The experiment file `path` names (without any `:arg`); ValueError when there is none."""
    file = path.split(":", 1)[0]
    found = next((p for p in (file, os.path.join(REPO, file)) if os.path.isfile(p)), None)
    if found is None:
        raise ValueError(f"config file {file!r} does not exist (relative paths are tried "
                         f"against the working directory and {REPO})")
    return found


def load_config(path: str) -> ml_collections.ConfigDict:
    """`get_config(arg)` of the experiment file `path` (`file.py` or `file.py:arg`)."""
    found = resolve(path)
    arg = path.split(":", 1)[1] if ":" in path else None
    spec = importlib.util.spec_from_file_location(
        f"_gdm_config_{os.path.basename(found)[:-3]}", found)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg) if arg is not None else module.get_config()


def names_in(value: str, allowed: Sequence[str], key: str, *, what: str = "names",
             empty_ok: bool = False) -> list[str]:
    """The names of a comma-separated config value (`config.<key>`), in order; ValueError
    naming the key and the allowed names when one is unknown, or when none is given and
    `empty_ok` is False."""
    names = [n.strip() for n in str(value).split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(f"config.{key}: unknown {what} {', '.join(unknown)}; choose from "
                         f"{', '.join(allowed)}")
    if not names and not empty_ok:
        raise ValueError(f"config.{key} must name at least one of {', '.join(allowed)}")
    return names
