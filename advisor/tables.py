"""Stage 4a: the tables a query needs (chunk table, unit counts, BM25, document frequencies),
saved beside the index the first time a process builds them.

Building them means reading every chunk back from Chroma and tokenizing it: about 17 s at 100k
chunks, paid by every new process. A generation never changes once it is switched in, so its
name is the cache key: `index_dir/tables/<generation>/`. Tables are written to a temporary folder
and renamed into place; anything unreadable or inconsistent is ignored (and rebuilt), never
trusted. Tables of other generations are removed when new ones are written.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .types import Chunk

log = logging.getLogger(__name__)

TABLES_VERSION = "2"  # 2: BM25 includes question hints
_FIELDS = ("id", "doc_id", "title", "section", "source", "start", "end", "text", "page")


@dataclass
class Tables:
    chunks: list[Chunk]
    unit_counts: dict[str, int]
    bm25: Any  # bm25s.BM25
    df: Counter[str]
    hint_names: set[str]  # tokens only the question hints have


def load(folder: Path, generation: str, count: int) -> Tables | None:
    """The saved tables of `generation`, or None when there are none or they do not fit."""
    meta_file = folder / "chunks.json"
    if not meta_file.is_file():
        return None
    try:
        import bm25s

        data = json.loads(meta_file.read_text(encoding="utf-8"))
        if (
            data.get("version") != TABLES_VERSION
            or data.get("generation") != generation
            or len(data["chunks"]) != count
        ):
            raise ValueError("they do not match the index")
        chunks, unit_counts = [], {}
        for row in data["chunks"]:
            fields = dict(zip(_FIELDS, row[: len(_FIELDS)], strict=True))
            # written from validated chunks: no validation again (100k chunks: ~1 s saved);
            # `units` and `questions` given, since pydantic's default-factory lookup is slow
            # per object (10k chunks: 2.6 s)
            chunk = Chunk.model_construct(**fields, units=[], questions=[])
            chunks.append(chunk)
            if row[-1] is not None:
                unit_counts[chunk.id] = int(row[-1])
        df = Counter(json.loads((folder / "df.json").read_text(encoding="utf-8")))
        hint_names = set(json.loads((folder / "hint_names.json").read_text(encoding="utf-8")))
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
        return Tables(chunks, unit_counts, bm25, df, hint_names)
    except Exception as exc:  # damaged or from another version: rebuilt from the index
        log.warning("Ignoring the saved tables in %s: %s", folder, exc)
        shutil.rmtree(folder, ignore_errors=True)
        return None


def save(root: Path, generation: str, tables: Tables) -> None:
    """Write the tables of `generation` under `root` atomically; failures are only logged."""
    final = root / generation
    tmp = root / f".{generation}.{os.getpid()}.tmp"
    try:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        rows = [
            [*(getattr(c, f) for f in _FIELDS), tables.unit_counts.get(c.id)] for c in tables.chunks
        ]
        data = {"version": TABLES_VERSION, "generation": generation, "chunks": rows}
        (tmp / "chunks.json").write_text(json.dumps(data), encoding="utf-8")
        (tmp / "df.json").write_text(json.dumps(dict(tables.df)), encoding="utf-8")
        names = json.dumps(sorted(tables.hint_names))
        (tmp / "hint_names.json").write_text(names, encoding="utf-8")
        tables.bm25.save(str(tmp / "bm25"), show_progress=False)
        if final.exists():  # another process saved the same generation first
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.replace(tmp, final)
        for other in root.iterdir():
            if other.name != generation and not other.name.startswith("."):
                shutil.rmtree(other, ignore_errors=True)
    except Exception as exc:
        log.warning("Could not save the query tables to %s: %s", final, exc)
        shutil.rmtree(tmp, ignore_errors=True)
