"""The preset and data source that command options name (``--preset``, ``--data``/``--demo``,
``--image-size``, ``--split``, ``--models``), shared by the commands that train or report.

Its own module, not the CLI's, so ``report`` can use it without importing the CLI (which
imports ``report``): no import circle.
"""

from __future__ import annotations

from tlexplorer.errors import UserError


def _preset_for(args) -> str:
    if args.preset:
        return args.preset
    return "paper" if getattr(args, "data", None) else "demo"


def preset_from_args(args):
    """The preset ``--preset`` names (default by data source), with size overrides applied."""
    import dataclasses

    from tlexplorer.presets import get_preset

    preset = get_preset(_preset_for(args))
    changes = {}
    if getattr(args, "image_size", None):
        from tlexplorer.zoo import min_image_size

        models = getattr(args, "models", None)
        smallest = min_image_size(preset, models)
        if args.image_size < smallest:
            which = "these recipes" if models else "the five recipes"
            raise UserError(f"--image-size {args.image_size} is too small for {which}: they "
                            f"need at least {smallest} px")
        changes["image_size"] = args.image_size
    if getattr(args, "split", None):
        changes["split"] = tuple(args.split)
    return dataclasses.replace(preset, **changes) if changes else preset


def resolve_source(args, preset):
    """The data source that ``--data``/``--demo`` and the preset name."""
    from tlexplorer.data.sources import SyntheticSource, open_folder

    if args.demo:
        return SyntheticSource(preset.image_size, preset.split)
    return open_folder(args.data, preset.image_size, preset.split)
