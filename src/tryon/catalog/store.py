"""The garment catalog: a local folder of garments analysed once.

Layout of the catalog folder::

    .lock                 lock file (shared for readers, exclusive for writers)
    garments/<id>/        one folder per garment (see ``tryon.catalog.records``)
    garments/.tmp-*       garments and adapters being written (renamed into place when
                          complete)

Safe under several processes and threads: a garment folder is built complete under a
temporary name and renamed into place while the exclusive lock is held, and readers hold
the shared lock, so nobody sees half a garment. The slow part, analysing the photo, runs
outside the lock.
"""

from __future__ import annotations

import builtins
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image as PILImage

from tryon.catalog.records import (
    ADAPTER_CONFIG,
    ADAPTER_DIR,
    ADAPTER_FIELDS,
    ADAPTER_WEIGHTS,
    ARTIFACTS_DIR,
    META_FILE,
    PREPROCESSING_VERSION,
    AdapterRecord,
    AddResult,
    GarmentRecord,
    photo_file_name,
    read_analysis,
    read_json,
    write_analysis,
    write_atomic,
    write_json,
)
from tryon.errors import InvalidImageError, TryOnError
from tryon.imageio import ImageSource
from tryon.types import Category, GarmentAnalysis

if TYPE_CHECKING:
    from tryon.pipeline import TryOn

CATALOG_VARIABLE = "TRYON_CATALOG"
GARMENTS_DIR = "garments"
LOCK_FILE = ".lock"
ID_LENGTH = 20
"""Hex digits of a garment id (80 bits of SHA-256)."""
ID_PATTERN = re.compile(rf"^[0-9a-f]{{{ID_LENGTH}}}$")
ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
STALE_SECONDS = 3600
"""Temporary folders older than this were left by a writer that died; they are removed."""


class CatalogError(TryOnError):
    """The catalog folder cannot be used, or a name given to it is not valid."""


class UnknownGarmentError(TryOnError):
    """No garment with that id is in the catalog."""


class NoAdapterError(TryOnError):
    """The garment has no tuned adapter."""


def default_catalog_dir() -> Path:
    """``$TRYON_CATALOG``, else ``$XDG_DATA_HOME/tryon/catalog`` (``~/.local/share/...``)."""
    if os.environ.get(CATALOG_VARIABLE):
        return Path(os.environ[CATALOG_VARIABLE]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "tryon" / "catalog"


def requested_category(category: str | Category) -> str:
    """Normalises a category argument to "auto" or a category's name.

    Raises:
        CatalogError: not a category name nor "auto".
    """
    if isinstance(category, str) and category.strip().lower() == "auto":
        return "auto"
    try:
        return Category.parse(category).value
    except ValueError as exc:
        raise CatalogError(str(exc)) from None


def garment_id(photo: bytes, category: str | Category = "auto") -> str:
    """The id of a garment: SHA-256 of the photo's bytes (and of the category if given).

    The same photo added as "auto" and as "upper" are two garments: their analyses may
    differ.
    """
    digest = hashlib.sha256(photo)
    wanted = requested_category(category)
    if wanted != "auto":
        digest.update(b"\0category=" + wanted.encode())
    return digest.hexdigest()[:ID_LENGTH]


class Catalog:
    """Garments analysed once, stored in a folder, shared by processes.

    Example:
        >>> catalog = Catalog("catalog")
        >>> added = catalog.add("shirt.jpg", category="upper")
        >>> analysis = catalog.analysis(added.record.id)
        >>> TryOn().run("me.jpg", analysis)  # no garment analysis

    Args:
        path: the catalog folder (created when missing).
        tryon: the ``TryOn`` whose engine analyses new garments; one is made (loading
            the models, about a second) the first time a garment needs analysing.
        cache_size: analyses kept in memory, most recently used first.

    Raises:
        CatalogError: the folder cannot be created or is not a folder.
    """

    def __init__(self, path: str | Path, tryon: TryOn | None = None, cache_size: int = 32) -> None:
        self.path = Path(path).expanduser()
        self._garments = self.path / GARMENTS_DIR
        try:
            self._garments.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(
                f"the catalog folder {str(self.path)!r} cannot be used ({exc.strerror}); "
                "choose another with --dir or TRYON_CATALOG"
            ) from None
        self._tryon = tryon
        self._tryon_lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[tuple[int, int, int], GarmentAnalysis]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_size = cache_size

    # --- reading ------------------------------------------------------------------------

    def find(self, garment_id: str) -> GarmentRecord | None:
        """The garment with this id, or None."""
        if not ID_PATTERN.match(garment_id):
            return None
        with self._locked(exclusive=False):
            return self._read_record(garment_id)

    def get(self, garment_id: str) -> GarmentRecord:
        """The garment with this id.

        Raises:
            UnknownGarmentError: no such garment.
        """
        with self._holding(garment_id, exclusive=False) as record:
            return record

    def __contains__(self, garment_id: object) -> bool:
        return isinstance(garment_id, str) and self.find(garment_id) is not None

    def list(self) -> list[GarmentRecord]:
        """Every garment, oldest first."""
        with self._locked(exclusive=False):
            records = [
                record
                for entry in sorted(os.listdir(self._garments))
                if not entry.startswith(".") and (record := self._read_record(entry)) is not None
            ]
        return sorted(records, key=lambda r: (r.created, r.id))

    def photo(self, garment_id: str) -> bytes:
        """The photo's bytes exactly as added.

        Raises:
            UnknownGarmentError: no such garment.
        """
        with self._holding(garment_id, exclusive=False) as record:
            return record.photo_path.read_bytes()

    def mask_png(self, garment_id: str) -> bytes:
        """The garment mask as an 8-bit grey PNG (255 garment, 0 not).

        Raises:
            UnknownGarmentError: no such garment.
        """
        with self._holding(garment_id, exclusive=False) as record:
            return record.mask_path.read_bytes()

    def analysis(self, garment_id: str) -> GarmentAnalysis:
        """The garment's analysis, ready for ``TryOn.run`` (no garment analysis there).

        Served from memory while the stored garment is unchanged. A garment stored by an
        older ``PREPROCESSING_VERSION`` is analysed again from its photo and rewritten
        (its adapter dropped). The arrays are read-only: the analysis is shared by every
        caller. The garment's tuned adapter, when it has one, is attached (``adapter``):
        the diffusion engines apply it.

        Raises:
            UnknownGarmentError: no such garment.
            GarmentNotFoundError: re-analysis with the current version found no garment.
        """
        with self._holding(garment_id, exclusive=False) as record:
            if record.current:
                analysis = self._stored_analysis(record)
                found = self._read_adapter(record)
                return analysis if found is None else replace(analysis, adapter=found.adapter)
            photo = record.photo_path.read_bytes()
        return self._reanalyse(record, photo)

    # --- writing ------------------------------------------------------------------------

    def add(
        self,
        photo: bytes | str | Path,
        category: str | Category = "auto",
        name: str | None = None,
    ) -> AddResult:
        """Analyses a garment photo and stores it; a no-op when it is already catalogued.

        Args:
            photo: a path or the encoded bytes of a product or worn garment photo.
            category: "upper", "lower", "overall" or "auto" (inferred from the photo).
            name: a label (default: the file name without suffix, or "garment <id>").

        Returns:
            The record and whether it was added now (False: the same photo and category
            were already in the catalog; nothing changed, the name included).

        Raises:
            InvalidImageError, ImageSizeError: the photo cannot be read.
            GarmentNotFoundError: no garment could be separated from the photo.
            CatalogError: unknown category.
        """
        data, default_name = _photo_bytes(photo)
        wanted = requested_category(category)
        gid = garment_id(data, wanted)
        existing = self.find(gid)
        if existing is not None:
            return AddResult(existing, created=False)
        # From the path when there is one, so that errors name the file.
        source = photo if isinstance(photo, str | Path) else data
        analysis = self._analyse(source, wanted)
        image = analysis.image
        record = GarmentRecord(
            id=gid,
            name=(name or default_name or f"garment {gid[:8]}").strip(),
            category=analysis.category,
            requested_category=wanted,
            source=analysis.source,
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            created=datetime.now(UTC).replace(microsecond=0),
            photo_format=_format_of(data),
            version=PREPROCESSING_VERSION,
            path=self._garments / gid,
        )
        staged = self._stage(data, record, analysis)
        with self._locked(exclusive=True):
            existing = self._read_record(gid)
            if existing is None:
                self._move_into_place(staged, record.path)
            self._remove_stale()
        if existing is not None:
            shutil.rmtree(staged, ignore_errors=True)
            return AddResult(existing, created=False)
        return AddResult(record, created=True)

    def remove(self, garment_id: str) -> GarmentRecord:
        """Deletes a garment and its artifacts; returns what was removed.

        Raises:
            UnknownGarmentError: no such garment.
        """
        with self._holding(garment_id, exclusive=True) as record:
            trash = self._trash_path(garment_id)
            os.rename(record.path, trash)
        shutil.rmtree(trash, ignore_errors=True)
        with self._cache_lock:
            self._cache.pop(garment_id, None)
        return record

    # --- artifacts ----------------------------------------------------------------------

    def put_artifact(self, garment_id: str, name: str, data: bytes) -> None:
        """Stores bytes that an engine derived from the garment (e.g. a VAE latent).

        Artifacts belong to the stored analysis: when the garment is analysed again under
        a new ``PREPROCESSING_VERSION`` they are dropped, and engines compute them anew.

        Args:
            garment_id: the garment.
            name: a file-like name, letters, digits, ``.``, ``_`` and ``-`` (e.g.
                "catvton-vae-latent-1024x768.npy").
            data: the bytes.

        Raises:
            UnknownGarmentError: no such garment.
            CatalogError: the name is not valid.
        """
        _check_artifact_name(name)
        with self._holding(garment_id, exclusive=True) as record:
            folder = record.path / ARTIFACTS_DIR
            folder.mkdir(exist_ok=True)
            write_atomic(folder / name, bytes(data))

    def get_artifact(self, garment_id: str, name: str) -> bytes | None:
        """The bytes stored by ``put_artifact``, or None when there are none (or they
        belong to an analysis of an older version).

        Raises:
            UnknownGarmentError: no such garment.
            CatalogError: the name is not valid.
        """
        _check_artifact_name(name)
        with self._holding(garment_id, exclusive=False) as record:
            if not record.current:
                return None
            try:
                return (record.path / ARTIFACTS_DIR / name).read_bytes()
            except FileNotFoundError:
                return None

    def artifacts(self, garment_id: str) -> builtins.list[str]:
        """Names of the garment's artifacts, sorted."""
        record = self.get(garment_id)
        folder = record.path / ARTIFACTS_DIR
        if not record.current or not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))

    # --- adapters -----------------------------------------------------------------------

    def put_adapter(
        self, garment_id: str, weights: bytes, config: Mapping[str, Any]
    ) -> AdapterRecord:
        """Stores a garment's tuned LoRA (``tryon.training.adapters``), replacing its old one.

        The adapter belongs to the stored analysis, as artifacts do: analysing the garment
        again under a new ``PREPROCESSING_VERSION`` drops it, removing the garment removes it.

        Args:
            garment_id: the garment.
            weights: the safetensors file's bytes.
            config: its settings: ``rank`` (int), ``alpha`` (float), ``version`` (the
                attention weights tuned on) and whatever else tuning records (JSON values).

        Raises:
            UnknownGarmentError: no such garment.
            CatalogError: ``config`` lacks a setting or is not JSON.
        """
        self.get(garment_id)  # an unknown id fails before anything is written
        document = _adapter_document(config, weights)
        staged = Path(tempfile.mkdtemp(dir=self._garments, prefix=f".tmp-adapter-{garment_id}-"))
        trash: Path | None = None
        try:
            os.chmod(staged, 0o755)
            write_atomic(staged / ADAPTER_WEIGHTS, bytes(weights))
            write_json(staged / ADAPTER_CONFIG, document)
            with self._holding(garment_id, exclusive=True) as record:
                target = record.path / ADAPTER_DIR
                if target.exists():
                    trash = self._trash_path(f"adapter-{garment_id}")
                    os.rename(target, trash)
                os.rename(staged, target)
        finally:
            shutil.rmtree(staged, ignore_errors=True)  # gone unless something failed
            if trash is not None:
                shutil.rmtree(trash, ignore_errors=True)
        return AdapterRecord.from_json(garment_id, document, target)

    def adapter(self, garment_id: str) -> AdapterRecord | None:
        """The garment's tuned adapter, or None when it has none (or it belongs to an
        analysis of an older version).

        Raises:
            UnknownGarmentError: no such garment.
        """
        with self._holding(garment_id, exclusive=False) as record:
            return self._read_adapter(record)

    def remove_adapter(self, garment_id: str) -> AdapterRecord:
        """Deletes the garment's adapter (its try-ons are the base model's again); returns it.

        Raises:
            UnknownGarmentError: no such garment.
            NoAdapterError: the garment has no adapter.
        """
        with self._holding(garment_id, exclusive=True) as record:
            found = self._read_adapter(record)
            if found is None:
                raise NoAdapterError(
                    f"garment {garment_id!r} has no adapter; tune one with "
                    f"'tryon catalog tune {garment_id} --photos PHOTO...'"
                )
            trash = self._trash_path(f"adapter-{garment_id}")
            os.rename(record.path / ADAPTER_DIR, trash)
        shutil.rmtree(trash, ignore_errors=True)
        return found

    # --- internals ----------------------------------------------------------------------

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        """Holds the catalog's lock file: shared for readers, exclusive for writers.

        ``flock`` locks belong to an open file, so threads of one process exclude each
        other as processes do (each call opens the file anew).
        """
        path = self.path / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:
            fd = os.open(path, os.O_RDONLY)  # a read-only catalog still takes shared locks
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def _holding(self, garment_id: str, exclusive: bool) -> Iterator[GarmentRecord]:
        """Holds the lock and yields the garment's record.

        Raises:
            UnknownGarmentError: no such garment (or a malformed id).
        """
        with self._locked(exclusive):
            record = self._read_record(garment_id) if ID_PATTERN.match(garment_id) else None
            if record is None:
                raise self._unknown(garment_id)
            yield record

    def _read_record(self, garment_id: str) -> GarmentRecord | None:
        folder = self._garments / garment_id
        try:
            return GarmentRecord.from_json(read_json(folder / META_FILE), folder)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _read_adapter(self, record: GarmentRecord) -> AdapterRecord | None:
        """The adapter stored beside ``record`` (the lock is held); None when there is
        none or the record's analysis is of an older version."""
        folder = record.path / ADAPTER_DIR
        if not record.current:
            return None
        try:
            return AdapterRecord.from_json(record.id, read_json(folder / ADAPTER_CONFIG), folder)
        except FileNotFoundError:
            return None

    def _stored_analysis(self, record: GarmentRecord) -> GarmentAnalysis:
        """The current record's analysis, from memory while its ``meta.json`` is unchanged."""
        stamp = self._stamp(record)
        with self._cache_lock:
            cached = self._cache.get(record.id)
            if cached is not None and cached[0] == stamp:
                self._cache.move_to_end(record.id)
                return cached[1]
        analysis = read_analysis(record.path)
        self._remember(record.id, stamp, analysis)
        return analysis

    def _trash_path(self, name: str) -> Path:
        """A fresh name for a folder about to be deleted (``_remove_stale`` sweeps leftovers)."""
        return self._garments / f".trash-{name}-{os.getpid()}-{time.time_ns()}"

    def _stamp(self, record: GarmentRecord) -> tuple[int, int, int]:
        info = os.stat(record.path / META_FILE)
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def _remember(
        self, garment_id: str, stamp: tuple[int, int, int], analysis: GarmentAnalysis
    ) -> None:
        for array in (analysis.image, analysis.mask, analysis.pieces):
            array.setflags(write=False)
        with self._cache_lock:
            self._cache[garment_id] = (stamp, analysis)
            self._cache.move_to_end(garment_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _analyse(self, photo: ImageSource, wanted: str) -> GarmentAnalysis:
        """Analyses the photo as the engine reads it (a cut-out keeps its alpha)."""
        with self._tryon_lock:
            if self._tryon is None:
                from tryon.pipeline import TryOn

                self._tryon = TryOn(engine="warp")
            tryon = self._tryon
        return tryon.analyze_garment(photo, wanted)

    def _reanalyse(self, record: GarmentRecord, photo: bytes) -> GarmentAnalysis:
        analysis = self._analyse(photo, record.requested_category)
        fresh = replace(
            record,
            category=analysis.category,
            source=analysis.source,
            version=PREPROCESSING_VERSION,
        )
        staged = self._stage(photo, fresh, analysis)
        trash: Path | None = None
        with self._locked(exclusive=True):
            existing = self._read_record(record.id)
            if existing is not None and not existing.current:
                trash = self._trash_path(record.id)
                os.rename(record.path, trash)
                os.rename(staged, record.path)
        # Either the old folder (now replaced) or our staged copy (someone was faster).
        shutil.rmtree(trash or staged, ignore_errors=True)
        if existing is None:
            raise self._unknown(record.id)
        return analysis

    def _stage(self, photo: bytes, record: GarmentRecord, analysis: GarmentAnalysis) -> Path:
        """Writes a complete garment folder under a temporary name; returns its path."""
        staged = Path(tempfile.mkdtemp(dir=self._garments, prefix=f".tmp-{record.id}-"))
        try:
            os.chmod(staged, 0o755)
            write_atomic(staged / photo_file_name(record.photo_format), photo)
            write_analysis(staged, analysis)
            write_json(staged / META_FILE, record.to_json())  # last: marks it complete
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        return staged

    def _move_into_place(self, staged: Path, target: Path) -> None:
        """Renames a staged folder to its id (the exclusive lock is held)."""
        if target.exists():  # a folder without meta.json: left by a writer that died
            shutil.rmtree(target)
        os.rename(staged, target)

    def _remove_stale(self) -> None:
        """Removes temporary folders of writers that died (the exclusive lock is held)."""
        now = time.time()
        for entry in self._garments.iterdir():
            if entry.name.startswith((".tmp-", ".trash-")):
                try:
                    old = now - entry.stat().st_mtime > STALE_SECONDS
                except FileNotFoundError:
                    continue
                if old:
                    shutil.rmtree(entry, ignore_errors=True)

    def _unknown(self, garment_id: str) -> UnknownGarmentError:
        shown = garment_id if len(garment_id) <= 64 else garment_id[:64] + "..."
        return UnknownGarmentError(
            f"no garment with id {shown!r} in the catalog; list the garments with "
            "'tryon catalog list' or GET /v1/garments, or add the photo first"
        )


def _photo_bytes(photo: bytes | str | Path) -> tuple[bytes, str | None]:
    if isinstance(photo, str | Path):
        path = Path(photo).expanduser()
        if not path.is_file():
            raise InvalidImageError(f"garment photo: no such file {str(path)!r}; check the path")
        return path.read_bytes(), path.stem
    return bytes(photo), None


def _format_of(photo: bytes) -> str:
    with PILImage.open(io.BytesIO(photo)) as pil:
        return pil.format or "unknown"


def _adapter_document(config: Mapping[str, Any], weights: bytes) -> dict[str, Any]:
    """``lora.json``: the adapter's settings checked, with the file's digest, size and date.

    Raises:
        CatalogError: a required setting is missing or of the wrong type, or not JSON.
    """
    for name, kind in ADAPTER_FIELDS.items():
        value = config.get(name)
        accepted = (int, float) if kind is float else (kind,)
        if isinstance(value, bool) or not isinstance(value, accepted):
            raise CatalogError(
                f"an adapter's config needs {name!r} ({kind.__name__}), got {value!r}; "
                "store adapters made by 'tryon catalog tune'"
            )
    document = {
        **config,
        "digest": hashlib.sha256(weights).hexdigest(),
        "bytes": len(weights),
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    try:
        json.dumps(document)
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"an adapter's config must be JSON values ({exc})") from None
    return document


def _check_artifact_name(name: str) -> None:
    if not ARTIFACT_NAME.match(name):
        raise CatalogError(
            f"artifact name {name!r} is not valid: use up to 64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
