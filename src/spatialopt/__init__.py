"""spatialopt: decide which facilities move out of megacity cores, and where.

    import spatialopt
    instance = spatialopt.load("instances/tutorial/instance.toml")
    result = spatialopt.solve(instance, time_limit=60)
    result.assignments, result.sources, result.destinations
    result.write("results/tutorial")
"""

from .api import load, solve, solver_options
from .errors import InstanceError, SolverError, SpatialoptError
from .instance import Instance
from .results import Result
from .solve import SolveStatus

__version__ = "0.1.0"

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
