"""spatialopt: decide which facilities move out of megacity cores, and where.

    import spatialopt
    instance = spatialopt.load("instances/tutorial/instance.toml")
    result = spatialopt.solve(instance, time_limit=60)
    result.assignments, result.sources, result.destinations
    result.write("results/tutorial")
"""

# The names below are imported on first use (PEP 562), not with the package:
# the command line starts from spatialopt.cli, and importing Pyomo, HiGHS and
# pandas before its main() runs would leave the first half-second of a run
# without its Ctrl-C handling (a traceback instead of "interrupted", exit 4).
from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from .api import load, solve, solver_options
    from .errors import InstanceError, SolverError, SpatialoptError
    from .instance import Instance
    from .results import Result
    from .status import SolveStatus

_HOMES = {
    "load": ".api", "solve": ".api", "solver_options": ".api",
    "InstanceError": ".errors", "SolverError": ".errors", "SpatialoptError": ".errors",
    "Instance": ".instance", "Result": ".results", "SolveStatus": ".status",
}

__all__ = [
    "Instance",
    "InstanceError",
    "Result",
    "SolveStatus",
    "SolverError",
    "SpatialoptError",
    "load",
    "solve",
    "solver_options",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'spatialopt' has no attribute {name!r}")
    # Importing spatialopt.scenarios installs Instance.with_changes' editor.
    import_module(".scenarios", __name__)
    value = getattr(import_module(_HOMES[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


class _Package(types.ModuleType):
    """The package module: a submodule import never hides an exported name.

    Importing ``spatialopt.solve`` (the module) binds it on the package as
    ``solve``, which would hide the function ``spatialopt.solve`` once the
    names are no longer bound at import time; the module stays reachable as
    ``sys.modules["spatialopt.solve"]`` and through ``from spatialopt.solve import ...``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
