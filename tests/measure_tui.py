"""Measure the explorer's responsiveness (a script, not a test: ``python tests/measure_tui.py``).

Prints the time to first paint (``create_app`` until all five results are on screen) and, for
model and layer switches, the time from the key press to the next repaint and to the last repaint
the key caused. The app runs headless (``run_test``); a repaint counts when the screen's update
has been turned into terminal output (the step a headless driver skips is done here, so the
figures include it).

Options: ``--workspace DIR`` measures a real workspace instead of the fabricated cached one;
``--size WxH`` (default 160x48); ``--repeats N`` key presses per kind (default 40);
``--no-images`` skips the top-images and feature-map views (feature maps need a real workspace:
on the fabricated one the models are not loadable and the script says so).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def _parse_size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


async def measure(workspace: Path, size: tuple[int, int], repeats: int,
                  images: bool = True, models: list[Path] | None = None,
                  data: Path | None = None) -> dict[str, list[float]]:
    from textual._compositor import CompositorUpdate

    from tlexplorer.tui.app import create_app

    paints: list[float] = []
    t_create = time.perf_counter()
    app = create_app(workspace, models=models, data=data)
    real_display = app._display

    def display(screen, renderable) -> None:
        real_display(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)  # what a real terminal driver would do
            paints.append(time.perf_counter())

    app._display = display  # type: ignore[method-assign]
    out: dict[str, list[float]] = {}
    async with app.run_test(size=size) as pilot:
        while not (app.outcome and paints and len(app.figures) == len(
            [s for s in app.slots if s.trained]) > 0):
            await asyncio.sleep(0.002)
            if time.perf_counter() - t_create > 120:
                raise SystemExit(f"no results after 120 s: {app.outcome!r}")
        seen_all = time.perf_counter()
        while not paints or paints[-1] < seen_all:
            await asyncio.sleep(0.002)
        out["first paint"] = [paints[-1] - t_create]
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)

        async def keys(kind: str, cycle: list[str]) -> None:
            first, last = [], []
            for i in range(repeats):
                key = cycle[i % len(cycle)]
                n = len(paints)
                t0 = time.perf_counter()
                await pilot.press(key)
                await pilot.pause()
                await pilot.pause(0.02)  # let any follow-up messages repaint too
                new = [p for p in paints[n:] if p >= t0]
                if new:
                    first.append(new[0] - t0)
                    last.append(new[-1] - t0)
            out[f"{kind}: to first repaint"] = first
            out[f"{kind}: to last repaint"] = last

        n_layers = len(app.main.figures.rows) if app.main.figures else 1
        down = ["j"] * max(1, n_layers - 1) + ["k"] * max(1, n_layers - 1)
        await keys("layer switch", down)
        n_models = len(app.slots)
        await keys("model switch", ["right"] * (n_models - 1) + ["left"] * (n_models - 1))
        tf_at_start = "tensorflow" in sys.modules
        if images:
            await measure_image_views(app, pilot, paints, out, repeats)
    out["TensorFlow imported before the image views"] = tf_at_start  # type: ignore[assignment]
    return out


async def _until(condition, timeout: float = 300) -> None:
    t0 = time.perf_counter()
    while not condition():
        await asyncio.sleep(0.002)
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"gave up after {timeout} s")


async def measure_image_views(app, pilot, paints: list[float], out: dict[str, list[float]],
                              repeats: int) -> None:
    """Key to the repaint that shows the result, for the top-images and feature-map views.

    Top images: each unit's images are read by a worker the first time, then come from memory.
    Feature maps: the first press loads the model; then one forward pass per image or layer.
    """
    async def timed(key: str, ready) -> float:
        t0 = time.perf_counter()
        await pilot.press(key)
        await _until(ready)
        t_ready = time.perf_counter()
        await pilot.pause()
        with contextlib.suppress(SystemExit):  # a key that changes nothing paints nothing
            await _until(lambda: bool(paints) and paints[-1] >= t_ready, timeout=1.0)
        await asyncio.sleep(0.03)  # and any repaint that follows it
        return paints[-1] - t0 if paints and paints[-1] >= t0 else float("nan")

    images_ready = lambda: not app.images_pending  # noqa: E731
    await pilot.press("1", "i")
    key = "k" if app.main.layer_index > 0 else "j"  # a key that changes the layer
    out[f"top images: other layer ({key})"] = [await timed(key, images_ready)]
    out["top images: next unit (])"] = [await timed("right_square_bracket", images_ready)
                                        for _ in range(repeats)]
    await pilot.press("i")

    def maps_ready() -> bool:
        state = app.feature_maps_state
        return state is not None and state.key == app._features_wanted

    out["feature maps: open, model load (f)"] = [await timed("f", maps_ready)]
    if app.feature_maps_state.error:
        out.pop("feature maps: open, model load (f)")
        print("  feature maps not measured:", app.feature_maps_state.error[:100])
        return
    out["feature maps: next image (n)"] = [await timed("n", maps_ready)
                                           for _ in range(min(repeats, 20))]
    n_layers = len(app.main.figures.rows)
    await pilot.press(*["k"] * app.main.layer_index)  # from the first layer, so every key moves
    await _until(maps_ready)
    layer_keys = (["j"] * (n_layers - 1) + ["k"] * (n_layers - 1)) or ["j"]
    out["feature maps: next layer (j/k)"] = [await timed(layer_keys[i % len(layer_keys)],
                                                         maps_ready)
                                             for i in range(min(repeats, 20))]
    out["feature maps: other model (→)"] = [await timed("right", maps_ready)]


def print_timings(results: dict[str, list[float]]) -> None:
    """One line per measured kind: the time, or median, p90 and max of several."""
    for name, values in results.items():
        ms = [v * 1000 for v in values]
        if len(ms) == 1:
            print(f"  {name:34s} {ms[0]:7.1f} ms")
        elif ms:
            p90 = statistics.quantiles(ms, n=10)[-1]
            print(f"  {name:34s} median {statistics.median(ms):5.1f} ms  p90 {p90:5.1f} ms"
                  f"  max {max(ms):5.1f} ms  (n={len(ms)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--size", type=_parse_size, default=(160, 48))
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--no-images", action="store_true",
                        help="skip the top-images and feature-map views")
    args = parser.parse_args()
    if args.workspace is None:
        from fake_workspace import make_cached_workspace

        workspace = make_cached_workspace(Path(tempfile.mkdtemp(prefix="tlx-measure-")))
        where = "fabricated cached workspace"
    else:
        workspace, where = args.workspace, str(args.workspace)
    results = asyncio.run(measure(workspace, args.size, args.repeats, not args.no_images))
    print(f"tlexplorer explorer, {where}, {args.size[0]}x{args.size[1]}, headless")
    tf_at_start = results.pop("TensorFlow imported before the image views")
    print_timings(results)
    print("  TensorFlow imported before the image views:", tf_at_start)


if __name__ == "__main__":
    main()
