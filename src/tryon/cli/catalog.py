"""``tryon catalog``: add, list, show and remove garments of a catalog folder; tune and
remove their adapters."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from tryon.catalog.records import AdapterRecord, GarmentRecord
from tryon.catalog.store import CATALOG_VARIABLE, Catalog, default_catalog_dir
from tryon.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Commands,
    add_shared_option,
    check_readable_file,
    command_parser,
    one_line,
    parse_height_width,
)
from tryon.errors import TryOnError
from tryon.pipeline import TryOn
from tryon.training.adapter_config import MIN_PHOTOS, TuneConfig, check_photo_count

DESCRIPTION = """\
Garments analysed once and kept in a folder: a try-on with a catalogued
garment skips garment analysis. A garment's id is a hash of its photo (and of
the category, when one is given), so adding the same photo twice does nothing.
'tune' trains a garment's own adapter (a LoRA of the diffusion model) on photos
of people wearing it; the catvton and hybrid engines then apply it to that
garment's try-ons."""

EPILOG = f"""\
the catalog folder:
  --dir DIR on any command, else ${CATALOG_VARIABLE}, else
  $XDG_DATA_HOME/tryon/catalog (~/.local/share/tryon/catalog).

examples:
  tryon catalog add shirt.jpg jeans.jpg
  tryon catalog add dress.jpg --category overall --name "summer dress"
  tryon catalog list
  tryon catalog show 63876bd8b6b7de04dce1
  tryon catalog remove 63876bd8b6b7de04dce1
  tryon catalog tune 63876bd8b6b7de04dce1 --photos worn1.jpg worn2.jpg worn3.jpg
  tryon catalog untune 63876bd8b6b7de04dce1
"""


def register(commands: Commands) -> None:
    """Adds ``tryon catalog`` and its commands to the ``tryon`` parser."""
    catalog = command_parser(
        commands,
        "catalog",
        summary="add, list, show and remove catalogued garments; tune their adapters",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    actions = catalog.add_subparsers(
        title="commands", dest="catalog_command", metavar="COMMAND", required=True
    )
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument(
        "--dir",
        metavar="DIR",
        help=f"the catalog folder (default: ${CATALOG_VARIABLE} or {default_catalog_dir()})",
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON instead of text")

    add = actions.add_parser(
        "add",
        parents=[folder, output],
        help="analyse garment photos and store them",
        description="Analyses each garment photo and stores it with its mask and landmarks. "
        "A photo already in the catalog (same bytes, same category) is left as it is.",
    )
    add.add_argument("photos", nargs="+", metavar="PHOTO", help="garment photo (product or worn)")
    add_shared_option(
        add, "--category", "what the garment replaces (default: auto, guessed from the photo)"
    )
    add.add_argument("--name", help="a label for the garment (default: the file name)")
    add.set_defaults(handler=add_command)

    listing = actions.add_parser(
        "list", parents=[folder, output], help="list the garments, oldest first"
    )
    listing.set_defaults(handler=list_command)

    show = actions.add_parser("show", parents=[folder, output], help="show one garment")
    show.add_argument("id", metavar="ID", help="the garment's id (see 'tryon catalog list')")
    show.set_defaults(handler=show_command)

    remove = actions.add_parser(
        "remove", parents=[folder], help="delete a garment and what is cached for it"
    )
    remove.add_argument("id", metavar="ID", help="the garment's id")
    remove.set_defaults(handler=remove_command)
    add_tune_parsers(actions, folder, output)


def add_tune_parsers(
    actions: Any, folder: argparse.ArgumentParser, output: argparse.ArgumentParser
) -> None:
    """``tryon catalog tune`` and ``tryon catalog untune``."""
    tune = actions.add_parser(
        "tune",
        parents=[folder, output],
        help="train a garment's own adapter on photos of people wearing it",
        description="Trains a LoRA on the diffusion model's self-attention for one garment, "
        "on pairs of its catalogued photo and each on-model photo (masked as a try-on masks "
        "it), and stores it beside the garment. The catvton and hybrid engines apply it to "
        "that garment's try-ons only. Needs the diffusion weights; a GPU for practical speed.",
    )
    tune.add_argument("id", metavar="ID", help="the garment's id")
    tune.add_argument(
        "--photos",
        nargs="+",
        required=True,
        metavar="PHOTO",
        help=f"photos of people wearing the garment (at least {MIN_PHOTOS}; 5 to 10 work best)",
    )
    defaults = TuneConfig()
    tune.add_argument(
        "--rank", type=int, default=defaults.rank, help="LoRA rank (default: %(default)s)"
    )
    tune.add_argument(
        "--steps", type=int, default=defaults.steps, help="training steps (default: %(default)s)"
    )
    tune.add_argument(
        "--lr",
        type=float,
        default=defaults.learning_rate,
        help="learning rate (default: %(default)s)",
    )
    tune.add_argument(
        "--size",
        type=parse_height_width,
        metavar="HxW",
        help="size the photos are cropped to, multiples of 8 (default: the weights' training size)",
    )
    tune.add_argument("--seed", type=int, default=defaults.seed, help="seed (default: %(default)s)")
    tune.add_argument(
        "--weights",
        metavar="DIR",
        help="diffusion weights folder (default: $TRYON_WEIGHTS or ~/.cache/tryon/weights)",
    )
    tune.add_argument(
        "--attention",
        metavar="VERSION",
        help="attention weights to tune on, as for 'tryon run' (default: mix-48k-1024); "
        "the engines apply the adapter only when they run these",
    )
    tune.add_argument("--device", help="cuda, cpu, ... (default: the GPU when there is one)")
    tune.set_defaults(handler=tune_command)

    untune = actions.add_parser(
        "untune", parents=[folder], help="delete a garment's adapter (back to the base model)"
    )
    untune.add_argument("id", metavar="ID", help="the garment's id")
    untune.set_defaults(handler=untune_command)


def open_catalog(args: argparse.Namespace, tryon: TryOn | None = None) -> Catalog:
    """The catalog named by ``--dir`` or the default folder (analysing with ``tryon``)."""
    return Catalog(args.dir or default_catalog_dir(), tryon=tryon)


def add_command(args: argparse.Namespace) -> int:
    """``tryon catalog add``: one line per photo; exit 2 when any photo was refused."""
    if args.name and len(args.photos) > 1:
        raise TryOnError("--name labels one garment; add the photos one at a time to name them")
    readable = []
    for photo in args.photos:  # before the models load
        try:
            check_readable_file(photo, "PHOTO")
            readable.append(photo)
        except TryOnError as exc:
            print(f"tryon: error: {one_line(str(exc))}", file=sys.stderr)
    open_catalog(args)  # a bad --dir fails before the models load
    failed = len(args.photos) - len(readable)
    if not readable:
        return EXIT_BAD_INPUT
    # The command owns the engine, so its threads are stopped before the command ends.
    with closing(TryOn(engine="warp")) as tryon:
        catalog = open_catalog(args, tryon)
        for photo in readable:
            try:
                added = catalog.add(photo, category=args.category, name=args.name)
            except TryOnError as exc:
                print(f"tryon: error: {photo}: {one_line(str(exc))}", file=sys.stderr)
                failed += 1
                continue
            if args.json:
                print(json.dumps({**record_json(added.record), "created": added.created}))
            else:
                verb = "added" if added.created else "already catalogued"
                print(f"{verb} {describe(added.record)}  ({photo})")
    return EXIT_BAD_INPUT if failed else EXIT_OK


def list_command(args: argparse.Namespace) -> int:
    """``tryon catalog list``: one garment per line."""
    catalog = open_catalog(args)
    records = catalog.list()
    if args.json:
        print(json.dumps({"garments": [record_json(r) for r in records]}, indent=2))
        return EXIT_OK
    if not records:
        print(f"no garments in {catalog.path}; add some with 'tryon catalog add'")
    for record in records:
        print(describe(record))
    return EXIT_OK


def show_command(args: argparse.Namespace) -> int:
    """``tryon catalog show ID``: every field of one garment."""
    catalog = open_catalog(args)
    record = catalog.get(args.id)
    adapter = catalog.adapter(record.id)
    document = {
        **record_json(record),
        "artifacts": catalog.artifacts(record.id),
        "adapter": None if adapter is None else adapter_json(adapter),
    }
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        document["adapter"] = "none" if adapter is None else describe_adapter(adapter)
        for key, value in document.items():
            print(f"{key + ':':<20}{value}")
    return EXIT_OK


def remove_command(args: argparse.Namespace) -> int:
    """``tryon catalog remove ID``."""
    record = open_catalog(args).remove(args.id)
    print(f"removed {describe(record)}")
    return EXIT_OK


def tune_command(args: argparse.Namespace) -> int:
    """``tryon catalog tune ID --photos ...``: progress on stderr, the adapter on stdout."""
    # Imported here: torch, diffusers and peft load only for this command.
    from tryon.diffusion.renderer import DiffusionRenderer, RenderConfig
    from tryon.diffusion.weights import DEFAULT_VERSION, default_weights_dir
    from tryon.engines.person import Analyzers
    from tryon.training.adapters import tune_garment

    catalog = open_catalog(args)
    catalog.get(args.id)  # bad input fails before the weights load
    check_photo_count(len(args.photos))
    for photo in args.photos:
        check_readable_file(photo, "--photos")
    config = TuneConfig(
        rank=args.rank, steps=args.steps, learning_rate=args.lr, size=args.size, seed=args.seed
    )
    weights = Path(args.weights).expanduser() if args.weights else default_weights_dir()
    render = RenderConfig(version=args.attention or DEFAULT_VERSION, device=args.device)
    renderer = DiffusionRenderer(weights, render)
    every = max(1, config.steps // 20)

    def report(step: int, total: int, loss: float) -> None:
        if step % every == 0 or step == total:
            print(f"step {step}/{total}  loss {loss:.4f}", file=sys.stderr, flush=True)

    with closing(Analyzers()) as analyzers:
        result = tune_garment(
            catalog, args.id, args.photos, renderer, analyzers, config, progress=report
        )
    for rejected in result.rejected:
        print(f"tryon: warning: {rejected.name}: {one_line(rejected.reason)}", file=sys.stderr)
    if args.json:
        print(json.dumps(adapter_json(result.adapter), indent=2))
    else:
        print(f"tuned {args.id}: {describe_adapter(result.adapter)} ({result.seconds:.0f} s)")
    return EXIT_OK


def untune_command(args: argparse.Namespace) -> int:
    """``tryon catalog untune ID``."""
    catalog = open_catalog(args)
    catalog.remove_adapter(args.id)
    print(f"removed the adapter of {describe(catalog.get(args.id))}")
    return EXIT_OK


def describe_adapter(adapter: AdapterRecord) -> str:
    """One line: rank, steps, photos, learning rate, losses, weights, date."""
    c = adapter.config
    return (
        f"rank {c['rank']}, {c.get('steps', '?')} steps on {len(c.get('photos', []))} photos, "
        f"lr {c.get('learning_rate', '?')}, loss {c.get('loss_first', float('nan')):.4f} -> "
        f"{c.get('loss_last', float('nan')):.4f}, {c['version']} weights, {c['bytes']} bytes, "
        f"tuned {c['created']}"
    )


def adapter_json(adapter: AdapterRecord) -> dict[str, Any]:
    """The adapter's settings for JSON output, with its file."""
    return {**adapter.config, "path": str(adapter.adapter.weights)}


def describe(record: GarmentRecord) -> str:
    """One line: id, category, source, size, name."""
    return (
        f"{record.id}  {record.category.value:<7}  {record.source:<7}  "
        f"{record.width}x{record.height}  {record.name}"
    )


def record_json(record: GarmentRecord) -> dict[str, Any]:
    """The record for JSON output, with the folder it lives in."""
    return {**record.to_json(), "path": str(record.path)}
