"""``tryon catalog``: add, list, show and remove garments of a catalog folder."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tryon.catalog.records import GarmentRecord
from tryon.catalog.store import CATALOG_VARIABLE, Catalog, default_catalog_dir
from tryon.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Commands,
    add_shared_option,
    command_parser,
    one_line,
    quiet_native_logs,
)
from tryon.errors import TryOnError

DESCRIPTION = """\
Garments analysed once and kept in a folder: a try-on with a catalogued
garment skips garment analysis. A garment's id is a hash of its photo (and of
the category, when one is given), so adding the same photo twice does nothing."""

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
"""


def register(commands: Commands) -> None:
    """Adds ``tryon catalog`` and its commands to the ``tryon`` parser."""
    catalog = command_parser(
        commands,
        "catalog",
        summary="add, list, show and remove catalogued garments",
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


def open_catalog(args: argparse.Namespace) -> Catalog:
    """The catalog named by ``--dir`` or the default folder."""
    return Catalog(args.dir or default_catalog_dir())


def add_command(args: argparse.Namespace) -> int:
    """``tryon catalog add``: one line per photo; exit 2 when any photo was refused."""
    if args.name and len(args.photos) > 1:
        raise TryOnError("--name labels one garment; add the photos one at a time to name them")
    catalog = open_catalog(args)
    failed = 0
    with quiet_native_logs():
        for photo in args.photos:
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
    document = {**record_json(record), "artifacts": catalog.artifacts(record.id)}
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        for key, value in document.items():
            print(f"{key + ':':<20}{value}")
    return EXIT_OK


def remove_command(args: argparse.Namespace) -> int:
    """``tryon catalog remove ID``."""
    record = open_catalog(args).remove(args.id)
    print(f"removed {describe(record)}")
    return EXIT_OK


def describe(record: GarmentRecord) -> str:
    """One line: id, category, source, size, name."""
    return (
        f"{record.id}  {record.category.value:<7}  {record.source:<7}  "
        f"{record.width}x{record.height}  {record.name}"
    )


def record_json(record: GarmentRecord) -> dict[str, Any]:
    """The record for JSON output, with the folder it lives in."""
    return {**record.to_json(), "path": str(record.path)}
