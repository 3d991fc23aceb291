"""Stage 4b: exact nearest-neighbour search over a generation's vectors, held in memory.

Chroma's HNSW graph is approximate, and on a corpus with many near-identical vectors (a
workbook that repeats each occupation in several sheets) it lost the best passage outright: a
slide at cosine 0.425 to the question was in none of the top 500 results, behind table rows at
0.41, and appeared, first, only when 2,000 were asked for. Up to `exact_search_limit` vectors a
matrix product is both right and fast (5,000 x 384 floats: about a millisecond); a larger
collection is searched by Chroma's HNSW as before.

The vectors are read from Chroma once per generation and saved beside the query tables
(`index_dir/tables/<generation>/`), so a new process loads them from one file.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .store import paged_get

log = logging.getLogger(__name__)


@dataclass
class Vectors:
    """One collection's vectors; `chunk_ids[i]` is the passage row `i` belongs to (for a unit,
    its chunk) and `kinds[i]` the unit's kind ("" for a passage)."""

    chunk_ids: list[str]
    kinds: list[str]
    matrix: np.ndarray

    def nearest(
        self, query: np.ndarray, k: int, rows: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The `k` rows closest to `query` (unit vectors: cosine = dot), best first; among
        `rows` only, when given."""
        index = np.arange(len(self.chunk_ids)) if rows is None else rows
        if not len(index) or k <= 0:
            return []
        matrix = self.matrix if rows is None else self.matrix[rows]
        sims = matrix @ query.astype(np.float32)
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(index[i]), float(sims[i])) for i in top]


def for_collection(
    collection: Any, name: str, folder: Path | None, limit: int, units: bool
) -> Vectors | None:
    """The collection's vectors for exact search, or None above `limit` (HNSW is used)."""
    count = collection.count()
    if count > limit:
        return None
    if folder is not None and (saved := _load(folder, name, count)) is not None:
        return saved
    include = ["embeddings", "metadatas"] if units else ["embeddings"]
    chunk_ids: list[str] = []
    kinds: list[str] = []
    parts: list[np.ndarray] = []
    for got in paged_get(collection, include=include):
        if units:
            chunk_ids += [str(m["chunk_id"]) for m in got["metadatas"]]
            kinds += [str(m.get("kind", "")) for m in got["metadatas"]]
        else:
            chunk_ids += [str(i) for i in got["ids"]]
            kinds += [""] * len(got["ids"])
        if len(got["ids"]):
            parts.append(np.asarray(got["embeddings"], dtype=np.float32))
    matrix = np.vstack(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    vectors = Vectors(chunk_ids, kinds, matrix)
    if folder is not None:
        _save(folder, name, vectors)
    return vectors


def _load(folder: Path, name: str, count: int) -> Vectors | None:
    meta, data = folder / f"{name}-vectors.json", folder / f"{name}-vectors.npy"
    if not (meta.is_file() and data.is_file()):
        return None
    try:
        rows = json.loads(meta.read_text(encoding="utf-8"))
        matrix = np.load(data, allow_pickle=False)
        if len(rows["chunk_ids"]) != count or matrix.shape[0] != count:
            raise ValueError("they do not match the index")
        return Vectors(rows["chunk_ids"], rows["kinds"], matrix)
    except Exception as exc:  # damaged: read again from the index
        log.warning("Ignoring the saved vectors in %s: %s", folder, exc)
        return None


def _save(folder: Path, name: str, vectors: Vectors) -> None:
    """Written only into an existing tables folder, each file by an atomic rename."""
    if not folder.is_dir():
        return
    try:
        tmp = folder / f".{name}-vectors.{os.getpid()}.npy"
        with tmp.open("wb") as fh:
            np.save(fh, vectors.matrix, allow_pickle=False)
        os.replace(tmp, folder / f"{name}-vectors.npy")
        rows = {"chunk_ids": vectors.chunk_ids, "kinds": vectors.kinds}
        tmp_meta = folder / f".{name}-vectors.{os.getpid()}.json"
        tmp_meta.write_text(json.dumps(rows), encoding="utf-8")
        os.replace(tmp_meta, folder / f"{name}-vectors.json")
    except OSError as exc:
        log.warning("Could not save the vectors to %s: %s", folder, exc)
