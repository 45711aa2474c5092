"""The hard set: 52 published formulas beyond FSReD's 100, with sampling ranges and SI units.

``HardEquations.csv`` is in FSReD's layout (so :func:`~hybrid.tasks.feynman.table.load_table`
reads it, and a user's own table in that layout loads the same way), with one extra
column, ``Source``, naming where each formula comes from; ``hard_units.csv`` is in the
layout of ``units.csv``. Ids name their family:

* ``fp.*``: the laws behind SRBench's "first principles" data sets (Kepler's third law,
  Planck's law, Rydberg's formula, the Schechter function, the Titius-Bode and Leavitt
  laws);
* ``strogatz.*``: the 14 right-hand sides of the ODE-Strogatz set that SRBench uses
  (bacterial respiration, bar magnets, glider, Lotka-Volterra, predator-prey, shear
  flow, van der Pol), dimensionless;
* ``mech.*``, ``em.*``, ``optics.*``, ``thermo.*``, ``rel.*``, ``quantum.*``: textbook
  formulas with deeper nesting than most of FSReD's: roots of sums (RLC impedance,
  energy-momentum), trig of differences (Malus), powers of ratios and sums (fields on
  a ring's axis, Maxwell's speed distribution), functions of functions (Fresnel
  reflectance, the single slit, Snell's angle).

Physical constants are variables, as in FSReD, and every formula balances in SI units
(a test checks all of them). Ranges keep each law real and finite (``v < c``, the
argument of an arcsin below 1, a cotangent away from its poles).
"""

from __future__ import annotations

import functools
from importlib import resources

from hybrid.tasks.feynman.table import FeynmanEquation, load_table

#: The id prefixes of the hard set's families.
FAMILIES = ("fp", "strogatz", "mech", "em", "optics", "thermo", "rel", "quantum")


@functools.lru_cache(maxsize=1)
def hard_equations() -> dict[str, FeynmanEquation]:
    """The shipped hard set (cached): equations keyed by id, in the table's order."""
    with resources.as_file(resources.files("hybrid.tasks.feynman").joinpath("HardEquations.csv")) as path:
        return load_table(path)


def hard_units_path():
    """A context manager giving the path of the shipped ``hard_units.csv`` (for :func:`units_for`)."""
    return resources.as_file(resources.files("hybrid.tasks.feynman").joinpath("hard_units.csv"))
