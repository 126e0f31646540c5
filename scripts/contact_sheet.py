"""Dresses every person in every garment and writes one contact sheet.

Usage: .venv/bin/python scripts/contact_sheet.py [PHOTOS_DIR] [--out out/contact_sheet.jpg]

PHOTOS_DIR holds people/*.jpg and garments/*.jpg (default: samples/). Rows are
people, columns garments; a cell that fails shows the error's first words.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

os.environ.setdefault("GLOG_minloglevel", "2")

from tryon import TryOn, TryOnError, configure_process
from tryon.imageio import load_image

CELL_W = 300


def cell(image: np.ndarray, height: int, caption: str) -> np.ndarray:
    scaled = cv2.resize(image, (CELL_W, round(CELL_W * image.shape[0] / image.shape[1])))
    canvas = np.full((height, CELL_W, 3), 255, np.uint8)
    canvas[: min(height - 20, scaled.shape[0])] = scaled[: height - 20]
    pil = Image.fromarray(canvas)
    ImageDraw.Draw(pil).text((4, height - 16), caption[:48], fill=(0, 0, 0))
    return np.asarray(pil)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("photos", nargs="?", type=Path, default=Path("samples"))
    parser.add_argument("--out", type=Path, default=Path("out/contact_sheet.jpg"))
    args = parser.parse_args()
    people = sorted((args.photos / "people").glob("*.jpg"))
    garments = sorted((args.photos / "garments").glob("*.jpg"))
    configure_process()
    tryon = TryOn()
    height = 480
    rows = []
    for person in people:
        row = [cell(load_image(person), height, person.stem)]
        for garment in garments:
            try:
                image = tryon.run(person, garment).image
                caption = garment.stem
            except TryOnError as exc:
                image, caption = np.full((400, 300, 3), 230, np.uint8), str(exc)
            row.append(cell(image, height, caption))
        rows.append(np.hstack(row))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.vstack(rows)).save(args.out, quality=90)
    print(f"wrote {args.out} ({len(people)} people x {len(garments)} garments)")


if __name__ == "__main__":
    main()
