"""The poster's five model recipes, and the demo's VGG-shaped base and its source-task classifier.

| id | recipe |
|---|---|
| 1 | simple CNN + regularization (dropout) |
| 2 | (1) + image augmentation |
| 3 | VGG16 feature extractor, frozen, dense head |
| 4 | (3) + augmentation |
| 5 | (4) fine-tuned: block5 unfrozen, lower learning rate |

Transfer models are built *flat*: the base's layers are called on the outer model's input (never a
nested model), so every base layer stays addressable for activation capture. Base layers keep the
VGG16 names (``block1_conv1`` … ``block5_pool``) at every scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tlexplorer.errors import UserError
from tlexplorer.presets import Preset
from tlexplorer.quiet import import_keras


@dataclass(frozen=True)
class Recipe:
    id: int
    slug: str
    name: str
    transfer: bool
    augment: bool
    fine_tune: bool

    @property
    def stem(self) -> str:
        return f"{self.id}-{self.slug}"

    @property
    def frozen_feature_extractor(self) -> bool:
        """The frozen base without augmentation (recipe 3): its head can train on the base's
        features computed once (``training._fit_on_features``)."""
        return self.transfer and not self.augment and not self.fine_tune


RECIPES: dict[int, Recipe] = {
    1: Recipe(1, "cnn", "simple CNN + regularization", False, False, False),
    2: Recipe(2, "cnn-aug", "CNN + regularization + augmentation", False, True, False),
    3: Recipe(3, "vgg16-frozen", "VGG16 feature extractor, frozen", True, False, False),
    4: Recipe(4, "vgg16-frozen-aug", "VGG16 frozen + augmentation", True, True, False),
    5: Recipe(5, "vgg16-finetune", "VGG16 + augmentation, block5 fine-tuned", True, True, True),
}

VGG_BLOCKS = (2, 2, 3, 3, 3)  # convolutions per block in VGG16
VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
PREPROCESSING = "rescale_1_255"  # the 1st-edition recipe (not caffe preprocess_input)


def _augmentation(x):
    """Rotation 40°, shifts 0.2, shear 0.2, zoom 0.2, horizontal flip, drawn per image and applied
    as one affine transform (:class:`tlexplorer.layers.RandomAffine`; active in training only)."""
    from tlexplorer.layers import RandomAffine

    return RandomAffine(rotation=40.0, shift=0.2, shear=0.2, zoom=0.2, flip=True,
                        fill_mode="nearest", name="aug_affine")(x)


def _stem(preset: Preset, augment: bool):
    keras = import_keras()
    inputs = keras.Input((preset.image_size, preset.image_size, 3), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    if augment:
        x = _augmentation(x)
    return inputs, x


def build_cnn(preset: Preset, augment: bool, name: str = "cnn"):
    """Models 1 and 2: Conv-MaxPool blocks, Flatten, Dropout 0.5, Dense ReLU, Dense 1 sigmoid."""
    keras = import_keras()
    layers = keras.layers
    inputs, x = _stem(preset, augment)
    for i, filters in enumerate(preset.cnn_filters, start=1):
        x = layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.Dense(preset.cnn_dense, activation="relu", name="fc1")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def vgg_shaped_base(x, filters: tuple[int, ...]):
    """VGG16's five blocks (2-2-3-3-3 convolutions, 'same' padding, max-pool) with fewer filters."""
    keras = import_keras()
    layers = keras.layers
    for block, (convs, f) in enumerate(zip(VGG_BLOCKS, filters, strict=True), start=1):
        for c in range(1, convs + 1):
            # he_normal: a 13-layer plain ReLU stack barely trains from glorot's default.
            x = layers.Conv2D(
                f,
                3,
                padding="same",
                activation="relu",
                kernel_initializer="he_normal",
                name=f"block{block}_conv{c}",
            )(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    return x


def build_source_classifier(preset: Preset, n_classes: int):
    """The demo base's pretraining model: VGG-shaped base + small head over the source classes."""
    keras = import_keras()
    layers = keras.layers
    inputs, x = _stem(preset, augment=False)
    x = vgg_shaped_base(x, preset.base_filters)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(preset.source_head, activation="relu", name="source_fc")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="source_output")(x)
    return keras.Model(inputs, outputs, name="source_base")


def min_image_size(preset: Preset, recipe_ids=None) -> int:
    """The smallest input the chosen recipes (default: all five) can take: the CNN's valid 3×3
    convolutions and 2×2 pools must leave at least one pixel; VGG16's five pools need 32 px."""
    ids = set(RECIPES) if recipe_ids is None else set(recipe_ids)
    size = 1
    if any(not RECIPES[i].transfer for i in ids):
        for _ in preset.cnn_filters:
            size = 2 * size + 2  # undo one pool (×2) and one valid 3×3 convolution (+2)
    return max(size, 32)


def base_layer_names(model) -> list[str]:
    return [layer.name for layer in model.layers if layer.name.startswith("block")]


def vgg16_weights_path(explicit: Path | None) -> Path | None:
    """The local notop weights file to use: ``--vgg-weights``, else the Keras cache, else None."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise UserError(f"VGG16 weights file not found: {path}")
        return path
    import os

    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    cached = keras_home / "models" / VGG16_NOTOP_FILE
    return cached if cached.is_file() else None


VGG16_NOTOP_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
                   + VGG16_NOTOP_FILE)
VGG16_NOTOP_MD5 = "6d6bbae143d832006294945121d1f1fc"  # keras.applications.vgg16's file_hash
VGG16_HINT = (f"put {VGG16_NOTOP_FILE} in ~/.keras/models/ (or $KERAS_HOME/models/), or pass "
              "--vgg-weights FILE; training on random weights is not transfer learning")


def ensure_vgg16_weights(explicit: Path | None) -> Path:
    """The local VGG16 notop weights file, downloaded once into the Keras cache if need be.

    Called before any model of the paper preset trains: missing weights (no file, no network)
    stop the run at once with the fix, not after the two CNNs have trained for an hour.
    """
    path = vgg16_weights_path(explicit)
    if path is not None:
        return path
    keras = import_keras()
    try:
        fetched = keras.utils.get_file(VGG16_NOTOP_FILE, VGG16_NOTOP_URL, cache_subdir="models",
                                       file_hash=VGG16_NOTOP_MD5)
    except Exception as exc:  # no network, a proxy page, a bad hash: all the same to the user
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"VGG16 ImageNet weights unavailable ({first}): {VGG16_HINT}") from exc
    return Path(fetched)


def _vgg16_on(x, weights: Path | None):
    keras = import_keras()
    hint = VGG16_HINT
    try:
        base = keras.applications.VGG16(
            include_top=False, weights=str(weights) if weights else "imagenet", input_tensor=x
        )
    except UserError:
        raise
    except Exception as exc:  # download failures, unreadable or mismatched h5 files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if weights is None:
            raise UserError(f"VGG16 ImageNet weights unavailable ({first}): {hint}") from exc
        raise UserError(f"cannot load VGG16 weights from {weights}: {first}") from exc
    return base.output


def build_transfer(
    preset: Preset, augment: bool, *, base_source=None, vgg_weights=None, name: str = "transfer"
):
    """Models 3-5 (before fine-tuning): frozen base on the outer input, Flatten-Dense-Dropout-Dense.

    ``base_source`` is the pretrained demo source classifier (vgg-shaped presets); for the paper
    preset the base is ``keras.applications.VGG16`` with ImageNet weights from ``vgg_weights``
    (a local file) or the Keras cache/download.
    """
    keras = import_keras()
    layers = keras.layers
    inputs, x = _stem(preset, augment)
    if preset.base == "vgg16":
        x = _vgg16_on(
            x, vgg16_weights_path(vgg_weights) if vgg_weights else vgg16_weights_path(None)
        )
    else:
        if base_source is None:
            raise ValueError("a vgg-shaped transfer model needs its pretrained source classifier")
        x = vgg_shaped_base(x, preset.base_filters)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(preset.head_units, activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="output")(x)
    model = keras.Model(inputs, outputs, name=name)
    if base_source is not None:
        for layer_name in base_layer_names(model):
            model.get_layer(layer_name).set_weights(base_source.get_layer(layer_name).get_weights())
    set_base_trainable(model, trainable_blocks=())
    return model


HEAD_LAYERS = ("fc1", "dropout", "output")  # a transfer model's layers after ``flatten``


def split_at_flatten(model):
    """A transfer model as two models sharing its layers: the frozen base up to ``flatten``
    (image → features) and the head (features → prediction). Training the head trains the
    model's own head layers."""
    keras = import_keras()
    flatten = model.get_layer("flatten")
    features = keras.Model(model.inputs, flatten.output, name=f"{model.name}_features")
    x = head_input = keras.Input(flatten.output.shape[1:], name="features")
    for name in HEAD_LAYERS:
        x = model.get_layer(name)(x)
    return features, keras.Model(head_input, x, name=f"{model.name}_head")


def set_base_trainable(model, trainable_blocks: tuple[str, ...]) -> None:
    """Freeze every base layer except those of ``trainable_blocks`` (e.g. ``("block5",)``)."""
    for layer in model.layers:
        if layer.name.startswith("block"):
            layer.trainable = layer.name.split("_")[0] in trainable_blocks


def build(recipe_id: int, preset: Preset, *, base_source=None, vgg_weights=None):
    """A fresh, uncompiled model of recipe 1-4 (5 is made from a trained 4 by :func:`fine_tune`)."""
    recipe = RECIPES[recipe_id]
    if recipe.fine_tune:
        raise ValueError("recipe 5 starts from a trained model 4: use fine_tune()")
    if not recipe.transfer:
        return build_cnn(preset, recipe.augment, name=f"model{recipe_id}_{recipe.slug}")
    return build_transfer(
        preset,
        recipe.augment,
        base_source=base_source,
        vgg_weights=vgg_weights,
        name=f"model{recipe_id}_{recipe.slug}",
    )


def fine_tune(model4):
    """Recipe 5 from a trained model 4: same layers and weights, block5 unfrozen."""
    keras = import_keras()
    model = keras.models.clone_model(model4)
    model.set_weights(model4.get_weights())
    model.name = "model5_" + RECIPES[5].slug
    set_base_trainable(model, trainable_blocks=("block5",))
    return model


def load_model(path: Path):
    """Load a ``.keras`` file (ours or a user's) uncompiled; unreadable → :class:`UserError`."""
    keras = import_keras()
    import tlexplorer.layers  # noqa: F401  (registers the custom layers our model files use)

    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file not found: {path}")
    import zipfile

    if not zipfile.is_zipfile(path):  # Keras would call this "File not found"
        raise UserError(f"cannot load model {path}: not a .keras file (a .keras file is a zip "
                        "archive; this one is damaged or something else)")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # broad on purpose: Keras raises many types for bad files
        # Keep the real reason, folded onto one line (Keras often puts it after a generic first
        # line), and bounded so a huge message stays readable.
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if len(reason) > 400:
            reason = reason[:400] + "…"
        raise UserError(f"cannot load model {path}: {reason}") from exc
    if not getattr(model, "inputs", None):
        raise UserError(f"not supported: {path} holds a model that was never built on an input "
                        "(an unbuilt Sequential); build it with keras.Input first")
    return model


def compile_model(model, learning_rate: float, steps_per_execution: int = 1) -> None:
    keras = import_keras()
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
