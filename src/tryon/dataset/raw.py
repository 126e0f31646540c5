"""The raw photo folders ``tryon dataset build`` reads, listed as one kind of entry.

Two layouts, alone or together in one RAW folder::

    RAW/people/<name>.jpg            person photos
    RAW/garments/<name>.jpg          garment photos; one with a person photo's stem is the
                                     garment that person wears (a paired pair)

    RAW/products/<product>/product.jpg     a shop's product photo of the garment
    RAW/products/<product>/worn/<name>.jpg photos of a model wearing that product

Each worn photo becomes a person paired with its product's garment (the garment that
person wears: a paired pair, what training needs). The product photo is written once per
worn photo, under that person's name, as VITON-HD and DressCode pair a person with the
cloth of the same name or id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tryon.dataset.layout import IMAGE_SUFFIXES
from tryon.errors import TryOnError

PEOPLE = "people"
GARMENTS = "garments"
PRODUCTS = "products"
PRODUCT_PHOTO = "product"
WORN = "worn"


@dataclass(frozen=True)
class RawPhoto:
    """One photo to build.

    Attributes:
        path: the raw file.
        key: its key in the manifest (``people/`` and ``garments/``: the file name).
        label: the raw path shown in reports (``people/x.jpg``,
            ``products/shirt-1/worn/a.jpg``).
        stem: the stem of the written files; a person and a garment with the same stem
            are a paired pair.
        group: photos of one garment share it (a product); a person is never given a
            garment of its own group as an unpaired pair.
        garment: for a worn photo, the manifest key of its product's garment entry.
    """

    path: Path
    key: str
    label: str
    stem: str
    group: str
    garment: str | None = None


@dataclass(frozen=True)
class RawPhotos:
    """The photos of a RAW folder: people and garments, each sorted."""

    people: list[RawPhoto]
    garments: list[RawPhoto]


def visible_files(folder: Path) -> list[Path]:
    """The files of ``folder``, sorted, hidden ones left out."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def raw_photos(raw: Path) -> RawPhotos:
    """Lists ``raw/people``, ``raw/garments`` and ``raw/products`` (see the module docstring).

    Raises:
        TryOnError: ``raw`` has neither ``people/`` and ``garments/`` nor ``products/``.
    """
    raw = Path(raw)
    folders = [raw / PEOPLE, raw / GARMENTS]
    has_products = (raw / PRODUCTS).is_dir()
    missing = [f.name for f in folders if not f.is_dir()]
    if missing and not (has_products and len(missing) == 2):
        raise TryOnError(
            f"{str(raw)!r} has no {' and no '.join(m + '/' for m in missing)} folder: put "
            "person photos in RAW/people/ and garment photos in RAW/garments/, or a shop's "
            "RAW/products/<product>/product.jpg with RAW/products/<product>/worn/*.jpg"
        )
    people = [
        RawPhoto(p, p.name, f"{PEOPLE}/{p.name}", p.stem, p.stem)
        for p in (visible_files(raw / PEOPLE) if not missing else [])
    ]
    garments = [
        RawPhoto(p, p.name, f"{GARMENTS}/{p.name}", p.stem, p.stem)
        for p in (visible_files(raw / GARMENTS) if not missing else [])
    ]
    if has_products:
        taken = {photo.stem for photo in people + garments}
        worn, products = product_photos(raw / PRODUCTS, taken)
        people += worn
        garments += products
    return RawPhotos(people, garments)


def product_photo(folder: Path) -> Path:
    """``folder/product.<suffix>`` (``product.jpg`` when there is none: reported later)."""
    for suffix in IMAGE_SUFFIXES:
        for name in (f"{PRODUCT_PHOTO}{suffix}", f"{PRODUCT_PHOTO}{suffix.upper()}"):
            if (folder / name).is_file():
                return folder / name
    return folder / f"{PRODUCT_PHOTO}.jpg"


def product_photos(products: Path, taken: set[str]) -> tuple[list[RawPhoto], list[RawPhoto]]:
    """The worn photos (people) and, for each, its product photo (garments).

    A stem is ``<product>_<worn photo stem>``, made unique against ``taken``.
    """
    people: list[RawPhoto] = []
    garments: list[RawPhoto] = []
    for folder in sorted(p for p in products.iterdir() if p.is_dir() and p.name[0] != "."):
        product = product_photo(folder)
        group = f"{PRODUCTS}/{folder.name}"
        label = f"{group}/{product.name}"
        worn = visible_files(folder / WORN) if (folder / WORN).is_dir() else []
        for photo in worn:
            stem = unique_stem(f"{folder.name}_{photo.stem}", taken)
            key = f"{group}/{WORN}/{photo.name}"
            garment_key = f"{label}@{photo.name}"
            people.append(RawPhoto(photo, key, key, stem, group, garment_key))
            garments.append(RawPhoto(product, garment_key, label, stem, group))
    return people, garments


def unique_stem(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``... when taken; the result is taken too."""
    chosen, n = stem, 1
    while chosen in taken:
        n += 1
        chosen = f"{stem}-{n}"
    taken.add(chosen)
    return chosen
