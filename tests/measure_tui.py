"""Measure the explorer's responsiveness (a script, not a test: ``python tests/measure_tui.py``).

Prints the time to first paint (``create_app`` until all five results are on screen) and, for
model and layer switches, the time from the key press to the next repaint and to the last repaint
the key caused. The app runs headless (``run_test``); a repaint counts when the screen's update
has been turned into terminal output (the step a headless driver skips is done here, so the
figures include it).

Options: ``--workspace DIR`` measures a real workspace instead of the fabricated cached one;
``--size WxH`` (default 160x48); ``--repeats N`` key presses per kind (default 40).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def _parse_size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


async def measure(workspace: Path, size: tuple[int, int], repeats: int) -> dict[str, list[float]]:
    from textual._compositor import CompositorUpdate

    from tlexplorer.tui.app import create_app

    paints: list[float] = []
    t_create = time.perf_counter()
    app = create_app(workspace)
    real_display = app._display

    def display(screen, renderable) -> None:
        real_display(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)  # what a real terminal driver would do
            paints.append(time.perf_counter())

    app._display = display  # type: ignore[method-assign]
    out: dict[str, list[float]] = {}
    async with app.run_test(size=size) as pilot:
        while not (app.outcome and paints and len(app.figures) == len(app.slots) > 0):
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
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--size", type=_parse_size, default=(160, 48))
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    if args.workspace is None:
        from fake_workspace import make_cached_workspace

        workspace = make_cached_workspace(Path(tempfile.mkdtemp(prefix="tlx-measure-")))
        where = "fabricated cached workspace"
    else:
        workspace, where = args.workspace, str(args.workspace)
    results = asyncio.run(measure(workspace, args.size, args.repeats))
    print(f"tlexplorer explorer, {where}, {args.size[0]}x{args.size[1]}, headless")
    for name, values in results.items():
        ms = [v * 1000 for v in values]
        if len(ms) == 1:
            print(f"  {name:34s} {ms[0]:7.1f} ms")
        elif ms:
            p90 = statistics.quantiles(ms, n=10)[-1]
            print(f"  {name:34s} median {statistics.median(ms):5.1f} ms  p90 {p90:5.1f} ms"
                  f"  max {max(ms):5.1f} ms  (n={len(ms)})")
    print("  TensorFlow imported:", "tensorflow" in sys.modules)


if __name__ == "__main__":
    main()
