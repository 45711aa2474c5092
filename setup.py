"""Package layout: the repository's four top-level folders install under one import name.

``hybrid/`` is the package ``hybrid``; ``tasks/``, ``neural/`` and ``symbolic/`` install as
``hybrid.tasks``, ``hybrid.neural`` and ``hybrid.symbolic`` (setuptools' ``package_dir``),
so that a user's own ``tasks.py`` can never shadow them. The list of packages is computed
here, not written in pyproject.toml, because ``packages.find`` cannot map a folder to a
name under another package and a hand-written list would silently drop a new subpackage.
Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

MAPPED = ("tasks", "neural", "symbolic")

packages = find_packages(include=["hybrid", "hybrid.*"])
for folder in MAPPED:
    packages += [f"hybrid.{name}" for name in find_packages(include=[folder, f"{folder}.*"])]

setup(
    packages=packages,
    package_dir={"hybrid": "hybrid", **{f"hybrid.{folder}": folder for folder in MAPPED}},
)
