"""Blender renders of CLEVR scenes with CLEVR's own assets (the ``render`` extra: ``bpy``).

This does what CLEVR's ``render_images.py`` does, for scenes that already exist (this
package's generator, or a user's ``CLEVR_scenes.json``): CLEVR's base scene (ground,
camera, key/fill/back area lights), its three shapes (``SmoothCube_v2``, ``Sphere``,
``SmoothCylinder``) scaled to the object's radius, its two materials (``Rubber``,
``MyMetal`` node groups) coloured with CLEVR's RGB values, camera and light jitter, and
Cycles path tracing. The assets ship in ``hybrid/tasks/clevr/data/blender`` (BSD licence
beside them).

Three things differ from a plain load of CLEVR's Blender 2.78 files into Blender 5, and
are repaired here:

- the shader groups' BSDF nodes come in with a closure ``Weight`` of 0 and the rubber
  group's ``Normal`` input linked to a group socket whose value is (0, 0, 0): both make
  objects render black. Weights are set to 1 and the normal links removed, so each BSDF
  uses the surface normal (the two changes that make the objects lit again in Blender 5);
- the camera keeps its nominal orientation when its location is jittered (CLEVR's camera
  tracks the origin, so its orientation moves by a few degrees): then a scene's
  left/right/front/behind directions are the same for every image, and a point's pixel
  maps back to the ground by one projective map per object height
  (:class:`~hybrid.neural.vqa.scene_parser.SceneParser` learns it from its training scenes);
- scene coordinates are turned into Blender's frame by the rotation that carries the
  scene's ``right``/``behind`` directions onto the camera's (this package's generator uses
  axis-aligned directions; CLEVR's own scenes need no turn).

Each render also gives what CLEVR records: ``pixel_coords`` (column, row, depth) of each
object's centre, per-object masks (an emission-only pass at one sample per pixel, each
object coded by its index) and boxes. A scene in which an object shows fewer than
``min_pixels`` pixels is flagged (CLEVR re-draws such scenes); :func:`render_dataset`
caches renders on disk by a hash of scene and settings, so an interrupted run resumes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from hybrid.tasks._checks import check_int, check_real
from hybrid.tasks.clevr.generator import DIRECTIONS, object_height
from hybrid.tasks.clevr.io import scene_to_dict
from hybrid.tasks.clevr.scene import Scene, SceneObject, data_path, load_json, vocabulary

#: CLEVR's images are 480 x 320; its renderer drops scenes with an object under 200 pixels.
CLEVR_SIZE: tuple[int, int] = (480, 320)
CLEVR_MIN_PIXELS: int = 200

#: The message of the error raised when Blender rendering is asked for without ``bpy``.
MISSING_BPY = (
    "Blender rendering needs the 'render' extra (bpy, Blender as a Python module; Python 3.11): "
    "pip install 'hybrid[render]' -- or 'pip install -e \".[render]\"' in a checkout. bpy pins "
    "numpy < 2, so keep it apart from the 'peers' extra. Without it, use the numpy renderer "
    "(renderer='numpy')."
)


@contextlib.contextmanager
def _quiet():
    """Blender's log lines (file reads, ``Saved: ...`` per render) go to the process's
    stdout, past Python's ``sys.stdout``: point file descriptor 1 at /dev/null meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def blender_available() -> bool:
    """Whether ``bpy`` can be imported here (the ``render`` extra is installed)."""
    try:
        import bpy  # noqa: F401
    except ImportError:
        return False
    return True


def _bpy():
    try:
        import bpy
    except ImportError as exc:
        raise ImportError(MISSING_BPY) from exc
    return bpy


@dataclass(frozen=True)
class BlenderSettings:
    """How a scene is rendered.

    Attributes:
        width, height: image size in pixels (CLEVR: 480 x 320; keep its 3:2 so the
            camera sees the same field).
        samples: Cycles samples per pixel (CLEVR: 512; 16-64 with denoising look alike
            to a scene parser at 128 pixels).
        denoise: Cycles' OpenImageDenoise on the beauty pass.
        camera_jitter: uniform jitter of the camera's location, +- scene units per axis
            (CLEVR: 0.5).
        light_jitter: the same for each of the three area lights (CLEVR: 1.0).
        min_pixels: least visible pixels of every object, else the render is flagged
            (default: CLEVR's 200 at 480 x 320, scaled by the image's area).
        device: ``"cpu"``, ``"cuda"`` or ``"optix"`` (Cycles on a GPU).
        threads: Cycles' CPU threads; 0 uses every core.
    """

    width: int = 240
    height: int = 160
    samples: int = 32
    denoise: bool = True
    camera_jitter: float = 0.5
    light_jitter: float = 1.0
    min_pixels: int | None = None
    device: str = "cpu"
    threads: int = 0

    def __post_init__(self) -> None:
        check_int("width", self.width, 16)
        check_int("height", self.height, 16)
        check_int("samples", self.samples, 1)
        check_real("camera_jitter", self.camera_jitter, 0.0)
        check_real("light_jitter", self.light_jitter, 0.0)
        check_int("threads", self.threads, 0)
        if self.min_pixels is not None:
            check_int("min_pixels", self.min_pixels, 0)
        if self.device not in ("cpu", "cuda", "optix"):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'optix', got {self.device!r}")
        if not isinstance(self.denoise, bool):
            raise ValueError(f"denoise must be a bool, got {self.denoise!r}")

    @property
    def least_pixels(self) -> int:
        """The visible-pixel threshold used (``min_pixels`` or CLEVR's, scaled)."""
        if self.min_pixels is not None:
            return self.min_pixels
        return max(1, round(CLEVR_MIN_PIXELS * self.width * self.height / (CLEVR_SIZE[0] * CLEVR_SIZE[1])))

    def picture_key(self) -> dict:
        """The settings that change the picture (not where or how fast it is computed)."""
        return {k: v for k, v in asdict(self).items() if k not in ("device", "threads")}


@dataclass(frozen=True)
class BlenderRendering:
    """One Blender render of a scene.

    Attributes:
        image: ``(height, width, 3)`` uint8 RGB.
        masks: ``(n_objects, height, width)`` bool, each object's visible pixels.
        pixel_coords: per object, CLEVR's ``(column, row, depth)`` of its centre in this image.
        boxes: per object, ``(x0, y0, x1, y1)`` of its mask (half-open), or ``None`` if hidden.
        visible_pixels: per object, the size of its mask.
        ok: every object shows at least the settings' ``least_pixels``.
    """

    image: np.ndarray
    masks: np.ndarray
    pixel_coords: tuple[tuple[float, float, float], ...]
    boxes: tuple[tuple[int, int, int, int] | None, ...]
    visible_pixels: tuple[int, ...]
    ok: bool

    def scene(self, scene: Scene) -> Scene:
        """``scene`` with its objects' ``pixel_coords`` set to this render's."""
        return _with_pixels(scene, self.pixel_coords)


def _with_pixels(scene: Scene, pixel_coords) -> Scene:
    """``scene`` with each object's ``pixel_coords`` replaced, in order."""
    objects = tuple(replace(o, pixel_coords=tuple(p)) for o, p in zip(scene.objects, pixel_coords, strict=True))
    return replace(scene, objects=objects)


def scene_hash(scene: Scene, settings: BlenderSettings, seed: int = 0) -> str:
    """A hex digest naming the render of ``scene`` under ``settings`` and jitter ``seed``.

    It covers what the picture depends on (objects, directions, picture settings, seed,
    the assets' version), not the scene's file name or index.
    """
    record = scene_to_dict(scene)
    payload = {
        "objects": record["objects"],
        "directions": record["directions"],
        "settings": settings.picture_key(),
        "seed": seed,
        "version": 1,
    }
    for obj in payload["objects"]:
        obj.pop("pixel_coords", None)
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _ground_turn(scene: Scene, camera_right: np.ndarray, camera_behind: np.ndarray) -> np.ndarray:
    """The 2 x 2 map from the scene's ground coordinates to Blender's: it carries the scene's
    ``right`` and ``behind`` (projected on the ground) onto the camera's."""
    directions = scene.directions or DIRECTIONS
    try:
        right = np.asarray(directions["right"], dtype=float)[:2]
        behind = np.asarray(directions["behind"], dtype=float)[:2]
    except KeyError:
        right, behind = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    scene_axes = np.column_stack([right / np.linalg.norm(right), behind / np.linalg.norm(behind)])
    camera_axes = np.column_stack([camera_right, camera_behind])
    return camera_axes @ np.linalg.inv(scene_axes)


class BlenderRenderer:
    """Renders scenes in one Blender session: the base scene, shapes and materials loaded once.

    Args:
        settings: :class:`BlenderSettings`.
        assets: the folder holding ``base_scene.blend``, ``shapes/`` and ``materials/``
            (default: the copy shipped with this package).

    Raises:
        ImportError: ``bpy`` is not installed (the message names the ``render`` extra).
        FileNotFoundError: an asset file is missing.
    """

    def __init__(self, settings: BlenderSettings | None = None, assets: str | os.PathLike | None = None) -> None:
        self.settings = settings or BlenderSettings()
        self.bpy = _bpy()
        self.assets = Path(assets) if assets is not None else Path(str(data_path("blender")))
        properties = load_json("properties.json")  # CLEVR's names of the asset of each shape and material
        self.shape_assets, self.material_assets = properties["shapes"], properties["materials"]
        needed = [self.assets / "base_scene.blend"]
        needed += [self.assets / "shapes" / f"{name}.blend" for name in self.shape_assets.values()]
        needed += [self.assets / "materials" / f"{name}.blend" for name in self.material_assets.values()]
        for path in needed:
            if not path.is_file():
                raise FileNotFoundError(f"CLEVR Blender asset missing: {path}")
        self._tmp = tempfile.TemporaryDirectory(prefix="hybrid-blender-")
        with _quiet():
            self._open()

    # ------------------------------------------------------------------ set-up
    def _open(self) -> None:
        bpy, voc = self.bpy, vocabulary()
        bpy.ops.wm.open_mainfile(filepath=str(self.assets / "base_scene.blend"))
        scene = bpy.context.scene
        self.scene = scene
        self.camera = bpy.data.objects["Camera"]
        bpy.context.view_layer.update()
        # fix the camera's orientation at its nominal one (see the module docstring)
        matrix = self.camera.matrix_world.copy()
        self.camera.constraints.clear()
        self.camera.matrix_world = matrix
        self.camera_home = tuple(self.camera.location)
        rotation = np.array(matrix.to_3x3())
        right, behind = rotation @ np.array([1.0, 0.0, 0.0]), rotation @ np.array([0.0, 0.0, -1.0])
        self.camera_right = right[:2] / np.linalg.norm(right[:2])
        self.camera_behind = behind[:2] / np.linalg.norm(behind[:2])
        self.lamps = {name: tuple(bpy.data.objects[name].location) for name in ("Lamp_Key", "Lamp_Fill", "Lamp_Back")}
        self.ground = bpy.data.objects["Ground"]

        self.shapes = {}
        for shape, asset in self.shape_assets.items():
            with bpy.data.libraries.load(str(self.assets / "shapes" / f"{asset}.blend")) as (src, dst):
                dst.objects = [asset]
            self.shapes[shape] = dst.objects[0]
            if not dst.objects[0].data.materials:
                dst.objects[0].data.materials.append(None)
        for asset in self.material_assets.values():
            with bpy.data.libraries.load(str(self.assets / "materials" / f"{asset}.blend")) as (src, dst):
                dst.node_groups = [asset]
            _repair_group(dst.node_groups[0])
        self.materials = {}
        for material, asset in self.material_assets.items():
            for colour, rgb in voc.rgb.items():
                self.materials[material, colour] = self._material(f"{asset}_{colour}", asset, rgb)
        self.mask_materials = [self._emission(f"mask_{k}", (k + 1) / 255.0) for k in range(254)]

        cycles = scene.cycles
        scene.render.engine = "CYCLES"
        scene.render.resolution_x, scene.render.resolution_y = self.settings.width, self.settings.height
        scene.render.resolution_percentage = 100
        scene.render.image_settings.file_format = "PNG"
        scene.render.image_settings.color_mode = "RGB"
        scene.render.use_persistent_data = True
        cycles.blur_glossy = 2.0  # as CLEVR
        cycles.transparent_max_bounces = 8
        cycles.max_bounces = 4  # fewer light bounces than Blender's default 12: our choice, for speed
        cycles.use_adaptive_sampling = False
        if self.settings.threads:
            scene.render.threads_mode = "FIXED"
            scene.render.threads = self.settings.threads
        self._use_device()

    def _use_device(self) -> None:
        bpy, scene = self.bpy, self.scene
        if self.settings.device == "cpu":
            scene.cycles.device = "CPU"
            return
        prefs = bpy.context.preferences.addons["cycles"].preferences
        prefs.compute_device_type = self.settings.device.upper()
        prefs.get_devices()
        gpus = [d for d in prefs.devices if d.type == self.settings.device.upper()]
        if not gpus:
            raise RuntimeError(f"Cycles finds no {self.settings.device.upper()} device here")
        for d in prefs.devices:
            d.use = d in gpus
        scene.cycles.device = "GPU"

    def _bare_material(self, name: str):
        """A new node material holding only its output node: ``(material, nodes, links, output)``."""
        mat = self.bpy.data.materials.new(name)
        mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        for node in [n for n in nodes if n.bl_idname != "ShaderNodeOutputMaterial"]:
            nodes.remove(node)
        output = next(n for n in nodes if n.bl_idname == "ShaderNodeOutputMaterial")
        return mat, nodes, links, output

    def _material(self, name: str, group: str, rgb: Sequence[int]):
        mat, nodes, links, output = self._bare_material(name)
        node = nodes.new("ShaderNodeGroup")
        node.node_tree = self.bpy.data.node_groups[group]
        # CLEVR feeds its 0-255 values in as they are (no sRGB decoding)
        node.inputs["Color"].default_value = (*(c / 255.0 for c in rgb), 1.0)
        links.new(node.outputs["Shader"], output.inputs["Surface"])
        return mat

    def _emission(self, name: str, value: float):
        mat, nodes, links, output = self._bare_material(name)
        emission = nodes.new("ShaderNodeEmission")
        emission.inputs["Color"].default_value = (value, value, value, 1.0)
        emission.inputs["Strength"].default_value = 1.0
        links.new(emission.outputs["Emission"], output.inputs["Surface"])
        return mat

    # ------------------------------------------------------------------ rendering
    def render(self, scene: Scene, seed: int = 0) -> BlenderRendering:
        """Render ``scene`` with jitter drawn from ``seed`` (same scene and seed, same picture).

        Returns:
            The :class:`BlenderRendering`.

        Raises:
            ValueError: ``scene`` is not a :class:`Scene`, or has more than 254 objects.
        """
        if not isinstance(scene, Scene):
            raise ValueError(f"scene must be a Scene, got {type(scene).__name__}")
        if len(scene.objects) > len(self.mask_materials):
            raise ValueError(f"at most {len(self.mask_materials)} objects per scene, got {len(scene.objects)}")
        bpy, s = self.bpy, self.settings
        rng = np.random.default_rng([int(scene_hash(scene, s, seed)[:12], 16)])
        self.camera.location = tuple(np.add(self.camera_home, rng.uniform(-1, 1, 3) * s.camera_jitter))
        for name, home in self.lamps.items():
            bpy.data.objects[name].location = tuple(np.add(home, rng.uniform(-1, 1, 3) * s.light_jitter))
        turn = _ground_turn(scene, self.camera_right, self.camera_behind)
        angle = math.degrees(math.atan2(turn[1, 0], turn[0, 0]))
        added = [self._add(obj, turn, angle) for obj in scene.objects]
        try:
            bpy.context.view_layer.update()
            pixel_coords = tuple(self._pixel(o.location) for o in added)
            masks = self._masks(added)
            image = self._beauty(added, scene)
        finally:
            for o in added:
                bpy.data.objects.remove(o, do_unlink=True)
        visible = tuple(int(m.sum()) for m in masks)
        boxes = tuple(_box(m) for m in masks)
        ok = all(v >= s.least_pixels for v in visible)
        return BlenderRendering(image, masks, pixel_coords, boxes, visible, ok)

    def _add(self, obj: SceneObject, turn: np.ndarray, angle: float):
        bpy = self.bpy
        template = self.shapes[obj.shape]
        new = template.copy()  # shares the mesh; modifiers (bevels, subdivision) come along
        bpy.context.scene.collection.objects.link(new)
        radius = object_height(obj.shape, obj.size)
        x, y = turn @ np.asarray(obj.coords[:2], dtype=float)
        new.location = (float(x), float(y), radius)
        new.scale = (radius, radius, radius)
        new.rotation_euler = (0.0, 0.0, math.radians(obj.rotation + angle))
        new.material_slots[0].link = "OBJECT"  # the material is the object's, the mesh is shared
        new.material_slots[0].material = self.materials[obj.material, obj.color]
        return new

    def _pixel(self, location) -> tuple[float, float, float]:
        from bpy_extras.object_utils import world_to_camera_view

        u, v, depth = world_to_camera_view(self.scene, self.camera, location)
        return (float(u * self.settings.width), float((1.0 - v) * self.settings.height), float(depth))

    def _write(self, name: str) -> np.ndarray:
        from PIL import Image

        path = os.path.join(self._tmp.name, name)
        self.scene.render.filepath = path
        with _quiet():
            self.bpy.ops.render.render(write_still=True)
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))

    def _masks(self, added) -> np.ndarray:
        """Each object's visible pixels: an emission-only render at one sample per pixel, with
        lights, ground and sky off and object ``k`` emitting ``(k + 1) / 255`` through the raw
        (untransformed) view, so that the red channel of a pixel is its object's code."""
        scene, cycles = self.scene, self.scene.cycles
        background = next((n for n in scene.world.node_tree.nodes if n.bl_idname == "ShaderNodeBackground"), None)
        changes = [(cycles, "samples", 1), (cycles, "use_denoising", False), (cycles, "filter_width", 0.01),
                   (scene.view_settings, "view_transform", "Raw"), (self.ground, "hide_render", True)]
        changes += [(self.bpy.data.objects[name], "hide_render", True) for name in (*self.lamps, "Area")]
        if background is not None:
            changes.append((background.inputs["Strength"], "default_value", 0.0))
        changes += [(o.material_slots[0], "material", self.mask_materials[k]) for k, o in enumerate(added)]
        saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in changes]
        try:
            for obj, attr, value in changes:
                setattr(obj, attr, value)
            coded = self._write("mask.png")[..., 0].astype(np.int64)
        finally:
            for obj, attr, value in reversed(saved):
                setattr(obj, attr, value)
        if not added:
            return np.zeros((0, self.settings.height, self.settings.width), dtype=bool)
        return np.stack([coded == k + 1 for k in range(len(added))])

    def _beauty(self, added, scene: Scene) -> np.ndarray:
        cycles = self.scene.cycles
        cycles.samples = self.settings.samples
        cycles.use_denoising = self.settings.denoise
        if self.settings.denoise:
            cycles.denoiser = "OPENIMAGEDENOISE"
        return self._write("image.png")

    def close(self) -> None:
        """Remove the temporary folder (the Blender session itself lives as long as the process)."""
        self._tmp.cleanup()


def _repair_group(group) -> None:
    """Make a Blender 2.78 shader group render as it did (see the module docstring)."""
    for node in group.nodes:
        weight = node.inputs.get("Weight")
        if weight is not None and not weight.is_linked:
            weight.default_value = 1.0
    for link in list(group.links):
        if link.from_node.bl_idname == "NodeGroupInput" and link.from_socket.name == "Normal":
            group.links.remove(link)


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    return (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)


@dataclass(frozen=True)
class RenderedScene:
    """A scene rendered into a folder by :func:`render_scenes`.

    Attributes:
        scene: the scene, its objects' ``pixel_coords`` those of the render.
        ok: every object shows at least ``least_pixels`` (CLEVR would re-draw the scene).
        visible_pixels: each object's visible pixels.
        boxes: each object's mask box ``(x0, y0, x1, y1)``, ``None`` when hidden.
        seconds: render time (0 when read from the cache).
    """

    scene: Scene
    ok: bool
    visible_pixels: tuple[int, ...]
    boxes: tuple[tuple[int, int, int, int] | None, ...]
    seconds: float


def render_scenes(
    scenes: Sequence[Scene],
    folder: str | os.PathLike,
    settings: BlenderSettings | None = None,
    *,
    seed: int = 0,
    progress: bool = True,
    renderer: BlenderRenderer | None = None,
) -> list[RenderedScene]:
    """Render scenes with Blender into a CLEVR image folder, resumably.

    Writes ``folder/<image_filename>`` (PNG) for each scene and, in ``folder/.renders/``,
    ``<hash>.json`` (pixel coordinates, boxes, visible pixels) and ``<hash>.npz`` (the
    masks, bit-packed), ``<hash>`` from :func:`scene_hash`. A scene whose files are already
    there is read back, not rendered again, so an interrupted run picks up where it
    stopped, and changing a setting renders anew.

    Args:
        scenes: the scenes; each needs a distinct ``image_filename``.
        folder: the output folder (created).
        settings: :class:`BlenderSettings` (default: its defaults).
        seed: the jitter seed (with the scene and settings it fixes the picture).
        progress: a tqdm bar over scenes.
        renderer: a :class:`BlenderRenderer` to reuse (it carries its own settings).

    Returns:
        One :class:`RenderedScene` per scene, in order.

    Raises:
        ImportError: ``bpy`` is missing and some scene is not cached (names the extra).
        ValueError: a scene without ``image_filename``, or two scenes sharing one.
    """
    settings = renderer.settings if renderer is not None else (settings or BlenderSettings())
    root = Path(folder)
    names = [s.image_filename for s in scenes]
    if any(not n for n in names):
        raise ValueError(f"scenes[{names.index('')}] has no image_filename to render into")
    if len(set(names)) != len(names):
        raise ValueError("two scenes share an image_filename; each render needs its own file")
    (root / ".renders").mkdir(parents=True, exist_ok=True)
    out: list[RenderedScene] = []
    items = scenes
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(scenes, desc="Blender renders", unit="image")
    for scene in items:
        key = scene_hash(scene, settings, seed)
        record_path = root / ".renders" / f"{key}.json"
        image_path = root / scene.image_filename
        if record_path.is_file() and image_path.is_file():
            record = json.loads(record_path.read_text())
            seconds = 0.0
        else:
            if renderer is None:
                renderer = BlenderRenderer(settings)
            start = time.perf_counter()
            rendering = renderer.render(scene, seed=seed)
            seconds = time.perf_counter() - start
            _save_png(rendering.image, image_path)
            np.savez_compressed(root / ".renders" / f"{key}.npz", masks=np.packbits(rendering.masks, axis=-1),
                                width=settings.width)
            record = {
                "pixel_coords": [list(p) for p in rendering.pixel_coords],
                "boxes": [None if b is None else list(b) for b in rendering.boxes],
                "visible_pixels": list(rendering.visible_pixels),
                "ok": rendering.ok,
                "seconds": seconds,
                "image_filename": scene.image_filename,
            }
            tmp = record_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record))
            tmp.replace(record_path)  # the record last: a render is cached only once complete
        boxes = tuple(None if b is None else tuple(b) for b in record["boxes"])
        out.append(RenderedScene(_with_pixels(scene, record["pixel_coords"]), bool(record["ok"]),
                                 tuple(record["visible_pixels"]), boxes, seconds))
    return out


def read_masks(folder: str | os.PathLike, scene: Scene, settings: BlenderSettings | None = None,
               seed: int = 0) -> np.ndarray:
    """The ``(n_objects, height, width)`` bool masks :func:`render_scenes` stored for ``scene``.

    Raises:
        FileNotFoundError: the scene was not rendered into ``folder`` with these settings.
    """
    settings = settings or BlenderSettings()
    path = Path(folder) / ".renders" / f"{scene_hash(scene, settings, seed)}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: scene {scene.image_filename!r} not rendered with these settings")
    with np.load(path) as data:
        return np.unpackbits(data["masks"], axis=-1, count=int(data["width"])).astype(bool)


def _save_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    Image.fromarray(image).save(tmp)
    tmp.replace(path)
