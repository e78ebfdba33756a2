"""Time to the first browsable model of a fresh demo (a script, not a test).

``python tests/measure_first_model.py [--preset demo] [--all]`` starts the explorer headless
(``run_test``) with ``--demo`` in an empty temporary workspace, exactly as ``tlexplorer --demo``
does, and prints the seconds from the start of this process (imports included) until each
model's results are on screen; ``--all`` waits for all five and the weight shift, otherwise it
stops after model 1. Prints one JSON object.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402


async def measure(preset: str, wait_all: bool, size: tuple[int, int]) -> dict:
    from tlexplorer.tui.app import create_app

    seen: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Path(tmp) / "ws", demo=True, preset=preset)
        async with app.run_test(size=size) as pilot:
            painted = time.perf_counter() - START
            while True:
                await pilot.pause(0.2)
                for label in app.figures:
                    seen.setdefault(label, round(time.perf_counter() - START, 1))
                if app.outcome or (not wait_all and "1" in seen):
                    break
            outcome = app.outcome
            app.cancel_event.set()
            await app.workers.wait_for_complete()
    return {"preset": preset, "first_paint_s": round(painted, 2),
            "first_model_browsable_s": seen.get("1"), "models_browsable_s": seen,
            "outcome": outcome or "stopped after model 1",
            "total_s": round(time.perf_counter() - START, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo", choices=["demo", "smoke"])
    parser.add_argument("--all", action="store_true", help="wait for all five models")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.preset, args.all, (120, 40)))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
