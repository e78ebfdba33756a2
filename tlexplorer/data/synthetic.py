"""The offline "synthetic demo": deterministic two-class images drawn with numpy, no downloads.

The generator draws one shape per image on a cluttered gradient background at a random place,
size, rotation and colour. The *target* task (the demo's stand-in for dogs vs. cats) is two of its
shape classes; the *source* task, on which the demo's VGG-shaped base is pretrained, is the other
shape classes of the same generator.

How much the nuisance factors vary is what makes the poster's phenomena real rather than tuned:

- the target's **training and validation** images are *posed*: near the centre, at one size,
  upright (rotated at most ±8°), never mirrored: a small training set that covers little of
  the variation a camera would see;
- the target's **test** images vary as the augmentation recipe does (``zoo._augmentation``):
  shifted up to 15 % of the side, scaled ±20 %, rotated ±40°, mirrored half the time. So
  augmentation teaches what the training set lacks;
- the **source** task varies as widely (any rotation), over 8 classes and many more images, so
  its features are robust to these changes and transfer.

Everything shown from it is labelled "synthetic demo".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

GENERATOR_VERSION = 3

# Target task: two shape classes that differ in a mid-level way (corner count), like two animals
# that share textures and colours and differ in shape.
TARGET_CLASSES = ("triangle", "square")
# Source task: the generator's other shapes; they share edges, corners and curves with the target.
SOURCE_CLASSES = ("pentagon", "hexagon", "heptagon", "disk", "ring", "plus", "star", "ellipse")


@dataclass(frozen=True)
class SyntheticSpec:
    """What fully determines a synthetic set (and so its fingerprint)."""

    task: str  # "target" or "source"
    image_size: int
    counts: tuple[int, ...]  # images per subset, e.g. (train, val, test)
    seed: int

    @property
    def class_names(self) -> tuple[str, ...]:
        return TARGET_CLASSES if self.task == "target" else SOURCE_CLASSES

    def fingerprint(self) -> str:
        payload = json.dumps(
            {
                "generator": GENERATOR_VERSION,
                "task": self.task,
                "size": self.image_size,
                "counts": list(self.counts),
                "seed": self.seed,
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _polygon_radius(theta: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Distance from the centre to the edge of a regular polygon (circumradius 1) at angle theta."""
    sector = 2 * np.pi / sides
    local = np.mod(theta, sector) - sector / 2
    return np.cos(np.pi / sides) / np.cos(local)


def _shape_inside(name: str, u: np.ndarray, v: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Soft inside-ness (0..1) of shape ``name`` in shape-local coordinates (radius 1 = shape size).

    ``px`` is one pixel in local units, for anti-aliased edges.
    """
    r = np.hypot(u, v)
    theta = np.arctan2(v, u)
    if name in ("pentagon", "hexagon", "heptagon", "triangle", "square"):
        sides = {"triangle": 3, "square": 4, "pentagon": 5, "hexagon": 6, "heptagon": 7}[name]
        edge = _polygon_radius(theta, np.full_like(theta, sides))
        d = edge - r
    elif name == "disk":
        d = 0.85 - r
    elif name == "ring":
        d = 0.22 - np.abs(r - 0.7)
    elif name == "plus":
        d = np.maximum(
            np.minimum(0.3 - np.abs(u), 0.95 - np.abs(v)),
            np.minimum(0.3 - np.abs(v), 0.95 - np.abs(u)),
        )
    elif name == "star":
        d = (0.6 + 0.35 * np.cos(5 * theta)) - r
    elif name == "ellipse":
        d = 1 - np.hypot(u / 0.95, v / 0.5)
        d = d * 0.5
    else:  # pragma: no cover - guarded by the class tables
        raise ValueError(name)
    return np.clip(d / px + 0.5, 0.0, 1.0)


# Difficulty knobs (changing any of them changes the images: bump GENERATOR_VERSION).
CLUTTER_ITEMS = (0, 2)  # blobs and thin lines behind the shape (inclusive range)
# Per-image pixel noise, on 0..1 intensities. Kept faint: the augmentation's interpolation smooths
# noise away, so strong noise would make augmented training images unlike the test images.
NOISE_STD = (0.0, 0.02)
CHUNK = 32  # images drawn at once (vectorised over the chunk)


@dataclass(frozen=True)
class Variation:
    """How far the nuisance factors of one subset vary."""

    scale: tuple[float, float]  # shape circumradius, as a fraction of the image side
    placement: float  # the shape's centre is at most this far from the image centre
    rotation: float  # radians either side of upright; pi: any rotation
    mirror: float  # probability of a horizontal mirror image


# A shape's upright pose (the rotation of shape-local axes): a triangle with a vertex at the top,
# a square with a side at the top (the shape's vertices lie at multiples of 360°/sides from +u).
UPRIGHT = {"triangle": -np.pi / 2, "square": np.pi / 4}
# Posed: the target's training and validation images.
POSED = Variation(scale=(0.31, 0.35), placement=0.03, rotation=np.deg2rad(8), mirror=0.0)
# As the augmentation recipe varies (shift 0.2, zoom 0.2, rotation 40°, horizontal flip): the
# target's test images; shifts stop short of 0.2 so that shapes stay whole.
VARIED = Variation(scale=(0.26, 0.40), placement=0.15, rotation=np.deg2rad(40), mirror=0.5)
# The source task: any rotation, the same spread otherwise.
SOURCE = Variation(scale=(0.26, 0.40), placement=0.15, rotation=np.pi, mirror=0.5)


def _col(v: np.ndarray) -> np.ndarray:
    """Per-image values (m,) or colours (m, 3) broadcast against (m, H, W[, 3]) arrays."""
    return v[:, None, None] if v.ndim == 1 else v[:, None, None, :]


def _render_chunk(
    classes: list[str], labels: np.ndarray, size: int, rng: np.random.Generator,
    variation: Variation,
) -> np.ndarray:
    m = int(labels.shape[0])
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    gy, gx = np.meshgrid(grid, grid, indexing="ij")
    gy, gx = gy[None], gx[None]
    f32 = np.float32
    # Background: a random two-colour gradient, low-frequency blotches and pixel noise.
    c0 = rng.uniform(0.0, 1.0, (m, 3)).astype(f32)
    c1 = rng.uniform(0.0, 1.0, (m, 3)).astype(f32)
    angle = rng.uniform(0, 2 * np.pi, m).astype(f32)
    t = 0.5 + 0.7 * (_col(np.cos(angle)) * (gx - 0.5) + _col(np.sin(angle)) * (gy - 0.5))
    img = _col(c0) * (1 - t[..., None]) + _col(c1) * t[..., None]
    lo, hi = CLUTTER_ITEMS
    n_items = rng.integers(lo, hi + 1, m)
    for k in range(hi):  # clutter: soft blobs and thin lines
        bx, by = (rng.uniform(0, 1, m).astype(f32) for _ in range(2))
        col = rng.uniform(0, 1, (m, 3)).astype(f32)
        blob = rng.random(m) < 0.5
        br = rng.uniform(0.05, 0.15, m).astype(f32)
        a = rng.uniform(0, np.pi, m).astype(f32)
        mb = np.clip((_col(br) - np.hypot(gx - _col(bx), gy - _col(by))) * size / 2, 0, 1)
        dist = np.abs(_col(np.cos(a)) * (gy - _col(by)) - _col(np.sin(a)) * (gx - _col(bx)))
        ml = np.clip((0.012 - dist) * size + 0.5, 0, 1)
        mask = np.where(_col(blob), mb, ml) * _col((k < n_items).astype(f32))
        mask = 0.7 * mask[..., None]
        img = img * (1 - mask) + mask * _col(col)
    # Foreground: the class's shape, random place, size, rotation and colour, with a texture.
    scale = rng.uniform(variation.scale[0], variation.scale[1], m).astype(f32)
    room = np.minimum(0.48 - scale, variation.placement)
    cx = (0.5 + rng.uniform(-1, 1, m) * room).astype(f32)
    cy = (0.5 + rng.uniform(-1, 1, m) * room).astype(f32)
    upright = np.array([UPRIGHT.get(classes[int(c)], 0.0) for c in labels])
    rot = (upright + rng.uniform(-1, 1, m) * variation.rotation).astype(f32)
    dx, dy = (gx - _col(cx)) / _col(scale), (gy - _col(cy)) / _col(scale)
    u = _col(np.cos(rot)) * dx + _col(np.sin(rot)) * dy
    v = -_col(np.sin(rot)) * dx + _col(np.cos(rot)) * dy
    inside = np.empty((m, size, size), dtype=f32)
    px = (1.0 / (size * scale)).astype(f32)
    for c in np.unique(labels):
        sel = labels == c
        inside[sel] = _shape_inside(classes[int(c)], u[sel], v[sel], _col(px[sel]))
    fg = rng.uniform(0, 1, (m, 3)).astype(f32)
    # keep the shape visible: push its colour away from the background mean
    close = np.abs(fg - img.mean(axis=(1, 2))).sum(axis=1) < 0.6
    fg[close] = 1.0 - fg[close]
    freq = rng.uniform(4, 10, m).astype(f32)
    tex = 1 + 0.15 * np.sin((u * _col(np.cos(rot * 3)) + v * _col(np.sin(rot * 3))) * _col(freq))
    fill = np.clip(_col(fg) * tex[..., None], 0, 1)
    inside = inside[..., None]
    img = img * (1 - inside) + inside * fill
    sigma = rng.uniform(NOISE_STD[0], NOISE_STD[1], m).astype(f32)
    img = img + rng.standard_normal(img.shape, dtype=f32) * _col(sigma)[..., None]
    mirrored = rng.random(m) < variation.mirror
    img[mirrored] = img[mirrored, :, ::-1]
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)


def render(
    classes: list[str], labels: np.ndarray, size: int, rng: np.random.Generator,
    variation: Variation = VARIED,
) -> np.ndarray:
    """Draw ``len(labels)`` images (uint8, N×size×size×3) of the given class indices."""
    n = int(labels.shape[0])
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(0, n, CHUNK):
        images[i : i + CHUNK] = _render_chunk(classes, labels[i : i + CHUNK], size, rng,
                                              variation)
    return images


def variation_of(task: str, subset: int, subsets: int) -> Variation:
    """The target's test subset (the last of three) varies; its training and validation images
    are posed; every source image varies, rotation unbounded."""
    if task != "target":
        return SOURCE
    return VARIED if subsets == 3 and subset == 2 else POSED


def generate(spec: SyntheticSpec) -> list[tuple[np.ndarray, np.ndarray]]:
    """Images and labels of each subset of ``spec``: balanced classes, deterministic from the seed.

    Each subset has its own random stream, so the test set does not change when the training set
    size does.
    """
    classes = list(spec.class_names)
    out = []
    for k, count in enumerate(spec.counts):
        rng = np.random.default_rng(
            [spec.seed, GENERATOR_VERSION, k, 0 if spec.task == "target" else 1]
        )
        labels = np.arange(count) % len(classes)
        rng.shuffle(labels)
        variation = variation_of(spec.task, k, len(spec.counts))
        out.append((render(classes, labels, spec.image_size, rng, variation),
                    labels.astype(np.int64)))
    return out
