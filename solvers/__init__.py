"""The solver profiles shipped with spatialopt (package data; see spatialopt.profiles)."""
