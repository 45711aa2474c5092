"""The world: data generators, benchmark tables and environments, one folder per world.

``tasks`` imports nothing from the other packages; its plain data (arrays of samples,
scene tables, programs, symbolic states) is the boundary between ``neural`` and
``symbolic``.
"""
