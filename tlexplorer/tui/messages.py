"""Every message the explorer's workers post to the UI, in one place.

Workers run in threads and talk to the UI only through these small messages; high-rate progress
may replace a progress message still waiting in the queue, so the UI never floods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from tlexplorer.capture.result import CaptureResult
from tlexplorer.session import Suite


class SuiteOpened(Message):
    """The workspace's suite was opened (or re-read after training)."""

    def __init__(self, suite: Suite, note: str = "") -> None:
        super().__init__()
        self.suite = suite
        self.note = note


class ModelReady(Message):
    """A model's capture result is available (from the cache or a fresh capture)."""

    def __init__(self, label: str, result: CaptureResult, cached: bool) -> None:
        super().__init__()
        self.label = label
        self.result = result
        self.cached = cached


class ModelFailed(Message):
    """A model could not be loaded or captured; the others keep working."""

    def __init__(self, label: str, error: str) -> None:
        super().__init__()
        self.label = label
        self.error = error


@dataclass
class ProgressState:
    model: str = ""
    phase: str = ""
    done: float = 0
    total: float | None = None
    logs: dict[str, float] = field(default_factory=dict)


class WorkProgress(Message):
    """Where the background work is: model, phase, progress, live loss and accuracy."""

    def __init__(self, state: ProgressState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WorkProgress) and message.state.phase == self.state.phase


class WorkFinished(Message):
    """The background work ended: ``outcome`` is done, cancelled or failed."""

    def __init__(self, outcome: str, text: str) -> None:
        super().__init__()
        self.outcome = outcome
        self.text = text


class WeightShiftReady(Message):
    """The suite's weight shift is known (``rows``), or could not be had (``error``);
    ``reference``: the model it is measured against ("": the suite's pretrained base)."""

    def __init__(self, rows: list | None, error: str = "", reference: str = "") -> None:
        super().__init__()
        self.rows = rows
        self.error = error
        self.reference = reference


class ImagesReady(Message):
    """Test images ``indices`` were read (``images``: index → pixels), or not (``error``)."""

    def __init__(self, indices: tuple[int, ...], generation: int, images: dict,
                 error: str = "") -> None:
        super().__init__()
        self.indices = indices
        self.generation = generation
        self.images = images
        self.error = error


@dataclass(frozen=True)
class FeatureMapsKey:
    """Which feature maps: model label, layer name, test-image index."""

    model: str
    layer: str
    image: int


class FeatureMapsReady(Message):
    """One image's feature maps at one layer (``maps`` (H, W, C)), or why there are none."""

    def __init__(self, key: FeatureMapsKey, generation: int, image=None, maps=None,
                 error: str = "") -> None:
        super().__init__()
        self.key = key
        self.generation = generation
        self.image = image
        self.maps = maps
        self.error = error
