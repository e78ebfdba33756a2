"""Find the probed layers of any Keras 3 model, nested models included, and wire them as outputs.

Keras 3 trap: calling a nested model adds no nodes to its inner layers, so an inner layer's
``.output`` is "not connected" to the outer model's inputs. Instead the model is re-executed layer
by layer on fresh symbolic inputs, descending into nested Functional and Sequential models; every
layer is called as itself (weights shared), and each non-linearity's output becomes an output of
one flat capture model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tlexplorer.capture.result import ZERO_FLOOR_ACTIVATIONS, SkippedLayer
from tlexplorer.quiet import import_keras

ACTIVATION_LAYERS = {"ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "ThresholdedReLU"}
# Activations that output exactly 0 when inactive and never less: NNU ("never fires") is defined
# only for these. A ReLU layer qualifies when its threshold is ≥ 0 and it has no negative slope.
ZERO_FLOOR = ZERO_FLOOR_ACTIVATIONS
# Layers that pass their input through unchanged in value (or drop values at random in
# training only): looking for the head's activation goes through them to the layer before.
PASS_THROUGH = {"Reshape", "Flatten", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
                "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                "Identity", "ActivityRegularization", "Permute", "InputLayer"}
# Layers that rescale or normalise raw pixels inside the model.
INPUT_SCALING = {"Rescaling", "Normalization"}
PROBABILITY_HEADS = {"sigmoid", "softmax"}
# Activations whose output is never negative: |h| = h, so the abs pass can be skipped.
NONNEGATIVE = {"relu", "relu6", "sigmoid", "softmax", "softplus", "hard_sigmoid", "silu_abs",
               "exponential"}


@dataclass
class ProbedLayer:
    name: str  # path through nested models, e.g. "vgg16/block1_conv1"
    layer_class: str
    kind: str  # "conv", "dense", "activation", "other"
    activation: str
    units: int
    positions: int
    channel_axis: int  # axis of the unit (channel) dimension in the layer's output
    nonnegative: bool
    is_output: bool
    tensor: Any  # symbolic output in the flat capture model
    zero_floor: bool = False  # NNU is defined (see ZERO_FLOOR)


@dataclass
class Probe:
    """A flat model whose outputs are ``[probed layer outputs..., model output]``."""

    model: Any
    layers: list[ProbedLayer]
    skipped: list[SkippedLayer]
    head_activation: str = "sigmoid"  # the non-linearity that produced the model's output
    input_scaling: bool = True  # a Rescaling/Normalization layer before the first Conv/Dense

    @property
    def hidden(self) -> list[ProbedLayer]:
        return [p for p in self.layers if not p.is_output]


def _activation_name(layer) -> str | None:
    """Name of the non-linearity a layer applies, or None when it applies none."""
    cls = type(layer).__name__
    if cls in ACTIVATION_LAYERS:
        if cls == "ReLU" and float(getattr(layer, "negative_slope", 0.0) or 0.0) != 0.0:
            return "leaky_relu"
        return cls.lower()
    act = getattr(layer, "activation", None)
    if act is None or not callable(act):
        return None
    name = getattr(act, "__name__", None) or type(act).__name__
    return None if name == "linear" else name


def _zero_floor(layer, activation: str) -> bool:
    """True when the layer's output is ≥ 0 and exactly 0 when the unit is inactive."""
    cls = type(layer).__name__
    if cls == "ReLU":
        slope = float(getattr(layer, "negative_slope", 0.0) or 0.0)
        threshold = float(getattr(layer, "threshold", 0.0) or 0.0)
        return slope == 0.0 and threshold >= 0.0
    if cls == "ThresholdedReLU":
        return float(getattr(layer, "theta", 0.0) or 0.0) >= 0.0
    return activation in ZERO_FLOOR


def head_activation(records: list[tuple[str, Any, Any]]) -> str:
    """The non-linearity of the model's head: the output layer's activation, looking through
    pass-through layers (Flatten, Reshape, Dropout, …) to the layer before; "linear" when the
    head applies none (its outputs are then logits)."""
    for _, op, _ in reversed(records):
        name = _activation_name(op)
        if name is not None:
            return name
        if type(op).__name__ in PASS_THROUGH:
            continue
        return "linear"
    return "linear"


def has_input_scaling(records: list[tuple[str, Any, Any]]) -> bool:
    """Whether a Rescaling or Normalization layer comes before the first layer with weights."""
    for _, op, _ in records:
        cls = type(op).__name__
        if cls in INPUT_SCALING:
            return True
        if getattr(op, "weights", None) and cls not in INPUT_SCALING:
            return False
    return False


def _kind(layer) -> str:
    cls = type(layer).__name__
    if cls in ACTIVATION_LAYERS or cls == "Activation":
        return "activation"
    if "Conv" in cls:
        return "conv"
    if cls == "Dense" or cls == "EinsumDense":
        return "dense"
    return "other"


def _strip_training(kwargs: dict) -> dict:
    # Recorded nodes may carry training=True (random augmentation layers record their default);
    # inference mode must come from the capture call, not from the recorded node.
    return {k: v for k, v in kwargs.items() if k != "training"}


class _Tracer:
    def __init__(self, keras) -> None:
        self.keras = keras
        from keras.src.models.functional import Functional

        self.functional = Functional
        self.records: list[tuple[str, Any, Any]] = []
        self.skipped: list[SkippedLayer] = []
        self.seen: dict[str, int] = {}

    def call(self, op, args, kwargs, prefix: str):
        keras = self.keras
        kwargs = _strip_training(kwargs)
        if isinstance(op, keras.Sequential):
            inner = getattr(op, "_functional", None)
            if inner is not None:
                return self.run_functional(inner, args, prefix + op.name + "/")
            x = args[0]
            for sub in op.layers:
                x = self.call(sub, (x,), {}, prefix + op.name + "/")
            return x
        if isinstance(op, self.functional):
            return self.run_functional(op, args, prefix + op.name + "/")
        outputs = op(*args, **kwargs)
        if isinstance(op, keras.Model):
            self.skipped.append(SkippedLayer(prefix + op.name, type(op).__name__,
                                             "subclassed model: its inner layers cannot be traced"))
            return outputs
        name = prefix + op.name
        count = self.seen.get(name, 0) + 1
        self.seen[name] = count
        if count > 1:
            name = f"{name}#{count}"
        self.records.append((name, op, outputs))
        return outputs

    def run_functional(self, model, args, prefix: str):
        inputs = args[0] if len(args) == 1 else list(args)
        return model._run_through_graph(
            inputs,
            operation_fn=lambda op: (lambda *a, **k: self.call(op, a, k, prefix)),
        )


def _describe(name: str, layer, tensor, is_output: bool) -> ProbedLayer | SkippedLayer:
    cls = type(layer).__name__
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        return SkippedLayer(name, cls, f"output of rank {len(shape)} has no unit axis")
    channel_axis = len(shape) - 1
    if getattr(layer, "data_format", None) == "channels_first" and len(shape) > 2:
        channel_axis = 1
    dims = [d for i, d in enumerate(shape) if i not in (0, channel_axis)]
    if shape[channel_axis] is None or any(d is None for d in dims):
        return SkippedLayer(name, cls, f"output shape {shape} is not static")
    activation = _activation_name(layer) or "linear"
    return ProbedLayer(
        name=name, layer_class=cls, kind=_kind(layer), activation=activation,
        units=int(shape[channel_axis]), positions=int(math.prod(dims)) if dims else 1,
        channel_axis=channel_axis, nonnegative=activation in NONNEGATIVE,
        is_output=is_output, tensor=tensor, zero_floor=_zero_floor(layer, activation),
    )


def build_probe(model) -> Probe:
    """Trace ``model`` (any Keras 3 model) and build its flat capture model."""
    keras = import_keras()
    if not getattr(model, "inputs", None):
        raise ValueError(f"model {model.name} has no defined inputs (build it on an Input first)")
    tracer = _Tracer(keras)
    fresh = [keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=f"probe_in{i}")
             for i, t in enumerate(model.inputs)]
    top_inputs = fresh[0] if len(fresh) == 1 else fresh
    if isinstance(model, keras.Sequential) or isinstance(model, tracer.functional):
        final = tracer.call(model, (top_inputs,), {}, prefix="")
    else:
        raise ValueError(f"cannot trace subclassed model {type(model).__name__}")
    # Names inside the top model carry its name as a prefix; drop it for readability.
    top = model.name + "/"
    records = [(n[len(top):] if n.startswith(top) else n, op, t) for n, op, t in tracer.records]
    flat_final = final if not isinstance(final, list | tuple) else final[0]

    layers: list[ProbedLayer] = []
    skipped = [SkippedLayer(s.name[len(top):] if s.name.startswith(top) else s.name,
                            s.layer_class, s.reason) for s in tracer.skipped]
    for name, op, tensor in records:
        is_output = tensor is flat_final
        if isinstance(tensor, list | tuple | dict):
            if _activation_name(op):
                skipped.append(SkippedLayer(name, type(op).__name__, "layer has several outputs"))
            continue
        if not is_output and _activation_name(op) is None:
            continue
        item = _describe(name, op, tensor, is_output)
        if isinstance(item, SkippedLayer):
            skipped.append(item)
        else:
            layers.append(item)
    if not any(p.is_output for p in layers):
        raise ValueError("the model's output could not be located for capture")
    flat = keras.Model(fresh, [p.tensor for p in layers], name=f"{model.name}_probe")
    return Probe(flat, layers, skipped, head_activation=head_activation(records),
                 input_scaling=has_input_scaling(records))
