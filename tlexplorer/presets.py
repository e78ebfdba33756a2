"""Scale presets: the paper's recipes at 150 px, a 3-minute CPU demo, and a seconds-long smoke run.

All three keep the five recipes of DESIGN.md (same layers, same augmentation, same freezing);
only sizes, epochs and learning rates change with the scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlexplorer.errors import UserError


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    image_size: int
    split: tuple[int, int, int]  # train / validation / test images (balanced over classes)
    batch_size: int
    epochs: dict[int, int]  # per model id
    learning_rates: dict[int, float]
    cnn_filters: tuple[int, ...]  # models 1-2
    cnn_dense: int
    head_units: int  # models 3-5
    base: str  # "vgg16" (ImageNet) or "vgg-shaped" (pretrained here on the synthetic source task)
    base_filters: tuple[int, int, int, int, int] = (64, 128, 256, 512, 512)
    # Synthetic source task for the demo base: images per class, classes, epochs, learning rate.
    source_images_per_class: int = 0
    source_epochs: int = 0
    source_lr: float = 1e-3
    source_head: int = 64
    source_batch_size: int = 0  # 0: batch_size
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """Every field, so a suite's ``suite.json`` says exactly how its models were made."""
        return {
            "name": self.name,
            "description": self.description,
            "image_size": self.image_size,
            "split": list(self.split),
            "batch_size": self.batch_size,
            "epochs": {str(k): v for k, v in self.epochs.items()},
            "learning_rates": {str(k): v for k, v in self.learning_rates.items()},
            "cnn_filters": list(self.cnn_filters),
            "cnn_dense": self.cnn_dense,
            "head_units": self.head_units,
            "base": self.base,
            "base_filters": list(self.base_filters),
            "source_images_per_class": self.source_images_per_class,
            "source_epochs": self.source_epochs,
            "source_lr": self.source_lr,
            "source_head": self.source_head,
            "source_batch_size": self.source_batch_size,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, obj: object) -> Preset:
        """The preset a ``suite.json`` recorded; ValueError names the first field that is
        missing or of the wrong type (a hand-edited or damaged file)."""
        if not isinstance(obj, dict):
            raise ValueError("preset: not an object")

        def need(key: str, kind, convert=lambda v: v):
            value = obj.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"preset: {key!r} missing or of the wrong type")
            try:
                return convert(value)
            except (TypeError, ValueError):
                raise ValueError(f"preset: {key!r} has a wrong value") from None

        ints = lambda v: tuple(int(x) for x in v)  # noqa: E731
        per_model = lambda kind: lambda v: {int(k): kind(x) for k, x in v.items()}  # noqa: E731
        defaults = cls.__dataclass_fields__
        optional = {key: obj.get(key, defaults[key].default) for key in (
            "source_images_per_class", "source_epochs", "source_lr", "source_head",
            "source_batch_size")}
        preset = cls(
            name=need("name", str),
            description=str(obj.get("description", "")),
            image_size=need("image_size", int),
            split=need("split", list, ints),
            batch_size=need("batch_size", int),
            epochs=need("epochs", dict, per_model(int)),
            learning_rates=need("learning_rates", dict, per_model(float)),
            cnn_filters=need("cnn_filters", list, ints),
            cnn_dense=need("cnn_dense", int),
            head_units=need("head_units", int),
            base=need("base", str),
            base_filters=need("base_filters", list, ints),
            extra=dict(obj.get("extra") or {}),
            **optional,
        )
        if len(preset.split) != 3 or preset.image_size < 1 or preset.batch_size < 1:
            raise ValueError("preset: split, image_size or batch_size out of range")
        return preset

    @property
    def summary(self) -> str:
        """What this preset does, from its fields (so ``--image-size``/``--split`` show)."""
        train, val, test = self.split
        base = ("VGG16 ImageNet base" if self.base == "vgg16"
                else "VGG-shaped base pretrained on a synthetic source task")
        epochs = "/".join(str(self.epochs[k]) for k in sorted(self.epochs))
        return (f"{self.image_size} px, {train}/{val}/{test} images, batch {self.batch_size}, "
                f"epochs {epochs}, {base}")


PAPER = Preset(
    name="paper",
    description="the poster's recipes: 150 px, 3000/1000/1000 images, VGG16 ImageNet base",
    image_size=150,
    split=(3000, 1000, 1000),
    batch_size=20,
    epochs={1: 30, 2: 100, 3: 30, 4: 30, 5: 100},
    learning_rates={1: 1e-4, 2: 1e-4, 3: 2e-5, 4: 2e-5, 5: 1e-5},
    cnn_filters=(32, 64, 128, 128),
    cnn_dense=512,
    head_units=256,
    base="vgg16",
)

DEMO = Preset(
    name="demo",
    description="synthetic demo at 64 px: the same recipes, small, under 3 minutes on 2 CPU cores",
    image_size=64,
    split=(500, 250, 500),
    batch_size=32,
    epochs={1: 25, 2: 40, 3: 20, 4: 25, 5: 15},
    learning_rates={1: 1e-3, 2: 1e-3, 3: 5e-4, 4: 5e-4, 5: 1e-4},
    cnn_filters=(16, 32, 64, 64),
    cnn_dense=128,
    head_units=64,
    base="vgg-shaped",
    base_filters=(8, 16, 32, 32, 32),
    source_images_per_class=500,
    source_epochs=7,
    source_lr=1e-3,
    source_head=64,
    source_batch_size=64,
)

SMOKE = Preset(
    name="smoke",
    description="smallest run for tests: 48 px, a few dozen images, one epoch",
    image_size=48,
    split=(40, 20, 20),
    batch_size=16,
    epochs={1: 1, 2: 1, 3: 1, 4: 1, 5: 1},
    learning_rates={1: 1e-3, 2: 1e-3, 3: 5e-4, 4: 5e-4, 5: 1e-4},
    cnn_filters=(8, 8, 16, 16),
    cnn_dense=16,
    head_units=16,
    base="vgg-shaped",
    base_filters=(4, 4, 8, 8, 8),
    source_images_per_class=24,
    source_epochs=1,
    source_lr=1e-3,
    source_head=16,
)

PRESETS: dict[str, Preset] = {p.name: p for p in (PAPER, DEMO, SMOKE)}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}") from None
