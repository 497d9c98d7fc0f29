"""spatialopt: decide which facilities move out of megacity cores, and where.

    import spatialopt
    instance = spatialopt.load("instances/tutorial/instance.toml")
    result = spatialopt.solve(instance, time_limit=60)
    result.assignments, result.sources, result.destinations
    result.write("results/tutorial")
"""

# Importing spatialopt.scenarios installs Instance.with_changes' editor. The
# module spatialopt.solve is imported before the function spatialopt.solve is
# bound, so that a later import of the module cannot replace the function.
from . import scenarios as _scenarios  # noqa: F401
from . import solve as _solve_module  # noqa: F401
from ._version import __version__ as __version__
from .api import load, solve, solver_options
from .errors import InstanceError, SolverError, SpatialoptError
from .instance import Instance
from .results import Result
from .status import SolveStatus

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
