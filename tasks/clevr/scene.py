"""The scene table: what the scene parser produces and the program executor reads.

A :class:`Scene` holds CLEVR's per-scene record (``objects`` with their four attributes
and coordinates, ``relationships`` by direction, ``directions``) as plain immutable data.
It is the boundary between the neural and the symbolic halves of the visual-QA pillar:
``hybrid.neural.vqa`` writes it, ``hybrid.symbolic.programs`` reads it, and neither knows the other.

CLEVR's convention for relationships is kept: ``relationships["left"][i]`` lists the
indices of the objects that are *left of object i*.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

#: CLEVR's four spatial relations (``above`` and ``below`` are directions but no relation).
RELATIONS: tuple[str, ...] = ("left", "right", "behind", "front")

#: The attributes every object has, in CLEVR's order of a question's ``<Z> <C> <M> <S>``.
ATTRIBUTES: tuple[str, ...] = ("size", "color", "material", "shape")


@dataclass(frozen=True)
class Vocabulary:
    """CLEVR's attribute values, from the dataset's ``metadata.json`` and ``properties.json``.

    Attributes:
        shapes, colors, sizes, materials: the values, in CLEVR's metadata order.
        rgb: colour name -> ``(r, g, b)`` in 0..255 (CLEVR's rendering colours).
        radius: size name -> object radius in scene units (large 0.7, small 0.35).
    """

    shapes: tuple[str, ...]
    colors: tuple[str, ...]
    sizes: tuple[str, ...]
    materials: tuple[str, ...]
    rgb: MappingProxyType
    radius: MappingProxyType

    def values(self, attribute: str) -> tuple[str, ...]:
        """The values of ``attribute`` (``"shape"``, ``"color"``, ``"size"`` or ``"material"``)."""
        table = {"shape": self.shapes, "color": self.colors, "size": self.sizes, "material": self.materials}
        if attribute not in table:
            raise ValueError(f"attribute must be one of {sorted(table)}, got {attribute!r}")
        return table[attribute]


def data_path(name: str):
    """A data file shipped with the package (``"metadata.json"``, ``"templates/zero_hop.json"``, ...)."""
    return resources.files("hybrid.tasks.clevr").joinpath("data", *name.split("/"))


def load_json(name: str) -> Any:
    """Parse a JSON data file shipped with the package (see :func:`data_path`)."""
    with data_path(name).open("r", encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """CLEVR's vocabulary (cached): shapes, colours, sizes and materials with their properties."""
    types = load_json("metadata.json")["types"]
    props = load_json("properties.json")
    return Vocabulary(
        shapes=tuple(types["Shape"]),
        colors=tuple(types["Color"]),
        sizes=tuple(types["Size"]),
        materials=tuple(types["Material"]),
        rgb=MappingProxyType({k: tuple(int(c) for c in v) for k, v in props["colors"].items()}),
        radius=MappingProxyType({k: float(v) for k, v in props["sizes"].items()}),
    )


@dataclass(frozen=True)
class SceneObject:
    """One object of a scene.

    Attributes:
        shape, color, size, material: CLEVR attribute values (see :func:`vocabulary`).
        coords: ``3d_coords``, ``(x, y, z)`` in scene units on the ground plane (z up).
        pixel_coords: ``(px, py, depth)`` of the object's centre in the image.
        rotation: rotation about the vertical axis, degrees.
    """

    shape: str
    color: str
    size: str
    material: str
    coords: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pixel_coords: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: float = 0.0

    def attribute(self, name: str) -> str:
        """The value of attribute ``name`` (one of :data:`ATTRIBUTES`)."""
        if name not in ATTRIBUTES:
            raise ValueError(f"attribute must be one of {ATTRIBUTES}, got {name!r}")
        return getattr(self, name)


@dataclass(frozen=True)
class Scene:
    """A scene table: objects, the relations between them, and the camera's directions.

    Attributes:
        objects: the objects, indexed from 0.
        relationships: relation name -> one tuple per object ``i``: the indices of the
            objects standing in that relation to ``i`` (``relationships["left"][i]``:
            the objects left of ``i``), as CLEVR stores them.
        directions: direction name -> unit vector on the ground plane (CLEVR's
            ``directions``: ``left``, ``right``, ``front``, ``behind``, ``above``, ``below``).
        image_filename, image_index, split: CLEVR's bookkeeping fields.
    """

    objects: tuple[SceneObject, ...]
    relationships: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    directions: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    image_filename: str = ""
    image_index: int = 0
    split: str = "new"

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        rel = {k: tuple(tuple(int(j) for j in row) for row in v) for k, v in dict(self.relationships).items()}
        for name, rows in rel.items():
            if len(rows) != len(self.objects):
                raise ValueError(
                    f"relationships[{name!r}] must have one row per object ({len(self.objects)}), got {len(rows)}"
                )
            for i, row in enumerate(rows):
                if any(j < 0 or j >= len(self.objects) or j == i for j in row):
                    raise ValueError(f"relationships[{name!r}][{i}] names an invalid object index: {row}")
        object.__setattr__(self, "relationships", MappingProxyType(rel))
        dirs = {k: tuple(float(c) for c in v) for k, v in dict(self.directions).items()}
        object.__setattr__(self, "directions", MappingProxyType(dirs))

    def __len__(self) -> int:
        return len(self.objects)

    def related(self, relation: str, index: int) -> tuple[int, ...]:
        """Indices of the objects that stand in ``relation`` to object ``index``.

        Raises:
            ValueError: unknown relation or index out of range.
        """
        if relation not in self.relationships:
            raise ValueError(f"relation must be one of {sorted(self.relationships)}, got {relation!r}")
        if not 0 <= index < len(self.objects):
            raise ValueError(f"index must be in [0, {len(self.objects)}), got {index}")
        return self.relationships[relation][index]
