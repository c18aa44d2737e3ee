"""The SQLite read store: the embedded default (one file, WAL, shareable by several processes).

Each collection is a table of JSON bodies; a `search_terms` side table serves prefix search
through an index, an `array_values` side table serves `contains` on the fields queried that
way, and documents, their terms, their values and the checkpoint commit in one transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from customerhub_shared import sqlite_files
from customerhub_shared.readstore.port import Document, Query, ReadStore, Scalar
from customerhub_shared.sqlite_threads import SQLiteThreads

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_terms (
    collection TEXT NOT NULL,
    doc_id     TEXT NOT NULL,
    term       TEXT NOT NULL,
    PRIMARY KEY (collection, doc_id, term)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_terms_by_term ON search_terms (collection, term, doc_id);
CREATE TABLE IF NOT EXISTS indexed_arrays (
    collection TEXT NOT NULL,
    field      TEXT NOT NULL,
    PRIMARY KEY (collection, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS array_values (
    collection TEXT NOT NULL,
    field      TEXT NOT NULL,
    value      NOT NULL,
    doc_id     TEXT NOT NULL,
    PRIMARY KEY (collection, field, value, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS array_values_by_doc ON array_values (collection, doc_id);
CREATE TABLE IF NOT EXISTS checkpoints (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS generations (
    projection TEXT PRIMARY KEY,
    active     INTEGER NOT NULL,
    building   INTEGER
);
"""

# Names become SQL identifiers and JSON paths, so they are checked rather than escaped.
_COLLECTION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_COLUMNS = frozenset({"_id", "_version"})
# SQLite's default limit on bound parameters is 32766; stay far below it.
_CHUNK = 500
# The largest code point: every term starting with p sorts in [p, p + _TOP).
_TOP = chr(0x10FFFF)
# A search prefix is common (`s`, `sch`) when it matches at least this many terms, and one for
# every COMMON_PREFIX_SHARE documents: walking the sort order and looking up each document's
# terms then fills a page sooner than collecting every match to sort it (100k customers, one
# letter: 380 ms -> 4 ms). Rarer prefixes are collected: a walk would meet their documents
# too seldom, or all at the far end of the sort order (measured: 185 ms against 15 ms).
COMMON_PREFIX_TERMS = 1000
COMMON_PREFIX_SHARE = 25


def _table(collection: str) -> str:
    if not _COLLECTION.match(collection):
        raise ValueError(f"invalid collection name {collection!r}")
    return f'"docs_{collection}"'


def _field(name: str) -> str:
    if not _FIELD.match(name):
        raise ValueError(f"invalid field name {name!r}: want a top-level [A-Za-z_][A-Za-z0-9_]*")
    return name


def _value_sql(name: str) -> str:
    """The SQL expression for a top-level field (a column, or the JSON value in the body)."""
    return f"d.{name}" if name in _COLUMNS else f"json_extract(d.body, '$.{_field(name)}')"


def _is_missing_table(error: sqlite3.OperationalError) -> bool:
    return str(error).startswith("no such table")


class SQLiteReadStore(ReadStore):
    def __init__(self, path: Path | str, *, common_prefix_terms: int | None = None) -> None:
        """`common_prefix_terms`: a fixed threshold for a common prefix (0: every prefix),
        instead of one from the collection's size."""
        # A read model is rebuilt from the log, so a commit a power cut takes back costs nothing.
        self._db = SQLiteThreads(path, name="read-model", synchronous="NORMAL")
        self._common_prefix_terms = common_prefix_terms
        # (collection, index key) pairs whose table and expression index this process has made.
        self._indexed: set[tuple[str, str]] = set()
        # (collection, field) pairs whose `contains` this process knows to be indexed.
        self._arrays: set[tuple[str, str]] = set()

    @classmethod
    async def open(
        cls, path: Path | str, *, common_prefix_terms: int | None = None
    ) -> SQLiteReadStore:
        if str(path) == ":memory:":
            # Each pooled connection would get its own empty database.
            raise ValueError("SQLiteReadStore needs a file path, not ':memory:'")
        store = cls(path, common_prefix_terms=common_prefix_terms)
        await store._db.write(lambda db: db.executescript(_SCHEMA))
        return store

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T | None:
        """Run a read of a collection; None if it has no table (never written, or dropped)."""
        try:
            return await self._db.read(work)
        except sqlite3.OperationalError as error:
            if _is_missing_table(error):
                return None
            raise

    async def get(self, collection: str, doc_id: str) -> Document | None:
        sql = f"SELECT body FROM {_table(collection)} WHERE _id = ?"
        row = await self._read(lambda db: db.execute(sql, (doc_id,)).fetchone())
        return None if row is None else _load(row[0])

    async def get_many(self, collection: str, doc_ids: Sequence[str]) -> dict[str, Document]:
        table = _table(collection)
        ids = list(dict.fromkeys(doc_ids))

        def work(db: sqlite3.Connection) -> list[tuple[str]]:
            rows: list[tuple[str]] = []
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT body FROM {table} WHERE _id IN ({marks})"
                rows.extend(db.execute(sql, chunk).fetchall())
            return rows

        documents = (_load(row[0]) for row in await self._read(work) or [])
        return {document["_id"]: document for document in documents}

    async def find(self, collection: str, query: Query) -> list[Document]:
        table = _table(collection)
        await self._ensure_indexes(collection, query)
        await self._ensure_arrays(collection, query)

        def work(db: sqlite3.Connection) -> list[tuple[str]]:
            common: set[str] = set()
            if query.prefixes:
                threshold = self._common_prefix_terms
                if threshold is None:
                    threshold = max(COMMON_PREFIX_TERMS, _rows(db, table) // COMMON_PREFIX_SHARE)
                common = {p for p in query.prefixes if _matches(db, collection, p, threshold)}
            statements = _find_statements(table, collection, query, walked=common)
            rows: list[tuple[str]] = []
            for sql, params in statements:
                if len(rows) >= query.limit:
                    break
                rows.extend(db.execute(sql, [*params, query.limit - len(rows)]).fetchall())
            return rows

        return [_load(row[0]) for row in await self._read(work) or []]

    async def _ensure_indexes(self, collection: str, query: Query) -> None:
        """Index the JSON fields a query sorts or filters on, and each filter with the sort
        (a filtered page is then one range in sort order), once per process."""
        wanted = {
            key: columns
            for key, columns in _indexes_for(query).items()
            if (collection, key) not in self._indexed
        }
        if not wanted:
            return
        table = _table(collection)

        def work(db: sqlite3.Connection) -> None:
            db.execute(_create_table(table))
            for key, columns in wanted.items():
                db.execute(
                    f'CREATE INDEX IF NOT EXISTS "ix_{collection}_{key}" ON {table} ({columns})'
                )

        await self._db.write(work)
        self._indexed.update((collection, key) for key in wanted)

    async def _ensure_arrays(self, collection: str, query: Query) -> None:
        """Index the values of each field a query `contains` (array elements, or the scalar),
        once for the file: from then on every write keeps them, whichever process writes."""
        wanted = [
            name
            for name, value in query.contains.items()
            if _indexable(value) and name not in _COLUMNS and (collection, name) not in self._arrays
        ]
        if not wanted:
            return
        table = _table(collection)

        def work(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(_create_table(table))
                for name in wanted:
                    _index_array(db, table, collection, name)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._db.write(work)
        self._arrays.update((collection, name) for name in wanted)

    async def count(self, collection: str) -> int:
        sql = f"SELECT COUNT(*) FROM {_table(collection)}"
        row = await self._read(lambda db: db.execute(sql).fetchone())
        return 0 if row is None else int(row[0])

    async def write(
        self,
        collection: str,
        documents: Sequence[Document],
        *,
        checkpoint_name: str,
        position: int,
    ) -> None:
        table = _table(collection)
        rows = [_row(document) for document in documents]
        await self._db.write(
            lambda db: _write(db, table, collection, rows, checkpoint_name, position),
        )

    async def checkpoint(self, checkpoint_name: str) -> int | None:
        sql = "SELECT position FROM checkpoints WHERE name = ?"
        row = await self._db.read(lambda db: db.execute(sql, (checkpoint_name,)).fetchone())
        return None if row is None else int(row[0])

    async def drop(self, collection: str) -> None:
        table = _table(collection)

        def work(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(f"DROP TABLE IF EXISTS {table}")
                db.execute("DELETE FROM search_terms WHERE collection = ?", (collection,))
                db.execute("DELETE FROM array_values WHERE collection = ?", (collection,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._db.write(work)
        self._indexed = {pair for pair in self._indexed if pair[0] != collection}

    async def generations(self, projection: str) -> tuple[int, int | None]:
        sql = "SELECT active, building FROM generations WHERE projection = ?"
        row = await self._db.read(lambda db: db.execute(sql, (projection,)).fetchone())
        if row is None:
            return 1, None
        return int(row[0]), None if row[1] is None else int(row[1])

    async def set_generations(self, projection: str, active: int, building: int | None) -> None:
        sql = (
            "INSERT INTO generations (projection, active, building) VALUES (?, ?, ?)"
            " ON CONFLICT (projection) DO UPDATE"
            " SET active = excluded.active, building = excluded.building"
        )
        await self._db.write(lambda db: db.execute(sql, (projection, active, building)))

    async def erase_replaced(self) -> None:
        # secure_delete zeroed the old rows in the file; their page images are in the log.
        await self._db.write(sqlite_files.erase_replaced)

    async def close(self) -> None:
        self._db.close()


# A row to write: (_id, _version, JSON body, distinct search terms).
_Row = tuple[str, int, str, list[str]]


def _row(document: Document) -> _Row:
    doc_id, version = document.get("_id"), document.get("_version")
    if not isinstance(doc_id, str) or not isinstance(version, int) or isinstance(version, bool):
        raise ValueError("a read-store document needs a str `_id` and an int `_version`")
    terms = document.get("search_terms", [])
    if not isinstance(terms, list) or not all(isinstance(term, str) for term in terms):
        raise ValueError(f"document {doc_id!r}: `search_terms` must be a list of str")
    # allow_nan=False: SQLite's JSON functions reject NaN and Infinity.
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return doc_id, version, body, list(dict.fromkeys(terms))


def _load(body: str) -> Document:
    document: Document = json.loads(body)
    return document


def _create_table(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table}"
        " (_id TEXT PRIMARY KEY, _version INTEGER NOT NULL, body TEXT NOT NULL)"
    )


def _write(
    db: sqlite3.Connection,
    table: str,
    collection: str,
    rows: Sequence[_Row],
    checkpoint_name: str,
    position: int,
) -> None:
    upsert = (
        f"INSERT INTO {table} AS d (_id, _version, body) VALUES (?, ?, ?)"
        " ON CONFLICT (_id) DO UPDATE SET _version = excluded._version, body = excluded.body"
        " WHERE excluded._version > d._version"
    )
    db.execute("BEGIN IMMEDIATE")
    try:
        # Cheap when it exists, and survives another process dropping the collection.
        db.execute(_create_table(table))
        # The stored version or newer is kept, with its terms; in _id order, B-tree pages
        # are met in turn.
        newer = sorted(_newer(db, table, rows))
        db.executemany(upsert, [(doc_id, version, body) for doc_id, version, body, _ in newer])
        db.executemany(
            "DELETE FROM search_terms WHERE collection = ? AND doc_id = ?",
            [(collection, doc_id) for doc_id, _, _, _ in newer],
        )
        db.executemany(
            "INSERT INTO search_terms (collection, doc_id, term) VALUES (?, ?, ?)",
            [(collection, doc_id, term) for doc_id, _, _, terms in newer for term in terms],
        )
        _write_array_values(db, collection, newer)
        db.execute(
            "INSERT INTO checkpoints (name, position) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (checkpoint_name, position),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


# The JSON types `contains` compares by value (booleans and nulls are matched by a scan).
_VALUE_TYPES = "('integer', 'real', 'text')"


def _indexable(value: Scalar) -> bool:
    return value is not None and not isinstance(value, bool)


def _index_array(db: sqlite3.Connection, table: str, collection: str, name: str) -> None:
    """Register a field's values for `contains` and fill them in from the stored documents."""
    db.execute(
        "INSERT OR IGNORE INTO indexed_arrays (collection, field) VALUES (?, ?)", (collection, name)
    )
    if db.execute("SELECT changes()").fetchone()[0] == 0:
        return
    db.execute(
        "INSERT OR IGNORE INTO array_values (collection, field, value, doc_id)"
        f" SELECT ?, ?, e.value, d._id FROM {table} AS d, json_each(d.body, ?) AS e"
        f" WHERE e.type IN {_VALUE_TYPES}",
        (collection, name, f"$.{_field(name)}"),
    )


def _write_array_values(db: sqlite3.Connection, collection: str, rows: Sequence[_Row]) -> None:
    """Replace the indexed values of the documents written (a removed element goes too)."""
    sql = "SELECT field FROM indexed_arrays WHERE collection = ?"
    fields = [name for (name,) in db.execute(sql, (collection,)).fetchall()]
    if not fields or not rows:
        return
    db.executemany(
        "DELETE FROM array_values WHERE collection = ? AND doc_id = ?",
        [(collection, doc_id) for doc_id, _, _, _ in rows],
    )
    db.executemany(
        "INSERT OR IGNORE INTO array_values (collection, field, value, doc_id)"
        f" SELECT ?, ?, e.value, ? FROM json_each(?, ?) AS e WHERE e.type IN {_VALUE_TYPES}",
        [
            (collection, name, doc_id, body, f"$.{name}")
            for doc_id, _, body, _ in rows
            for name in fields
        ],
    )


def _newer(db: sqlite3.Connection, table: str, rows: Sequence[_Row]) -> list[_Row]:
    """The rows whose `_version` is above the stored one (all of them for new documents)."""
    latest: dict[str, _Row] = {}
    for row in rows:
        if row[0] not in latest or row[1] > latest[row[0]][1]:
            latest[row[0]] = row
    stored: dict[str, int] = {}
    ids = list(latest)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT _id, _version FROM {table} WHERE _id IN ({marks})"
        stored.update(db.execute(sql, chunk).fetchall())
    return [row for row in latest.values() if row[0] not in stored or row[1] > stored[row[0]]]


def _indexes_for(query: Query) -> dict[str, str]:
    """Index name suffix -> indexed expressions, for the fields the query sorts and filters on."""

    def expression(name: str) -> str:
        return f"json_extract(body, '$.{_field(name)}')"

    fields = [name for name in (query.sort, *query.equals) if name not in _COLUMNS]
    indexes = {name: f"{expression(name)}, _id" for name in fields}
    if query.sort not in _COLUMNS:
        for name in query.equals:
            if name not in _COLUMNS and name != query.sort:
                columns = f"{expression(name)}, {expression(query.sort)}, _id"
                indexes[f"{name}__{query.sort}"] = columns
    return indexes


def _rows(db: sqlite3.Connection, table: str) -> int:
    """About how many documents the table holds (rowids only grow: cheap, never too low)."""
    rows: int | None = db.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0]
    return rows or 0


def _matches(db: sqlite3.Connection, collection: str, prefix: str, count: int) -> bool:
    """Whether at least `count` search terms start with `prefix`."""
    sql = (
        "SELECT count(*) FROM (SELECT 1 FROM search_terms"
        " WHERE collection = ? AND term >= ? AND term < ? LIMIT ?)"
    )
    found: int = db.execute(sql, (collection, prefix, prefix + _TOP, count)).fetchone()[0]
    return found >= count


def _find_statements(
    table: str, collection: str, query: Query, *, walked: Iterable[str] = ()
) -> list[tuple[str, list[Any]]]:
    """SELECTs to run in turn, each taking the LIMIT left after the ones before it.

    A keyset page is one index range where possible; where the page crosses from values to
    nulls (which sort lowest), it is two, because an OR across both defeats the index.
    A selective prefix gives the documents to sort; a `walked` (common) one is checked on
    each document met in sort order instead.
    """
    where: list[str] = []
    params: list[Any] = []
    walked = set(walked)
    for prefix in query.prefixes:
        if prefix in walked:
            where.append(
                "EXISTS (SELECT 1 FROM search_terms AS s WHERE s.collection = ?"
                " AND s.doc_id = d._id AND s.term >= ? AND s.term < ?)"
            )
        else:
            where.append(
                "d._id IN (SELECT doc_id FROM search_terms"
                " WHERE collection = ? AND term >= ? AND term < ?)"
            )
        params += [collection, prefix, prefix + _TOP]
    for name, value in query.equals.items():
        sql, values = _equals(name, value)
        where.append(sql)
        params += values
    for name, value in query.contains.items():
        if _indexable(value) and name not in _COLUMNS:
            where.append(
                "d._id IN (SELECT doc_id FROM array_values"
                " WHERE collection = ? AND field = ? AND value = ?)"
            )
            params += [collection, _field(name), value]
            continue
        sql, values = _has_any(name, [value])
        where.append(sql)
        params += values
    for name, choices in query.any_of.items():
        sql, values = _has_any(name, choices)
        where.append(sql)
        params += values

    columns = "d.body"
    if query.fields:
        # `->` gives each field as JSON (an array stays an array), SQL NULL when missing.
        names = [_field(name) for name in query.fields]
        picked = ", ".join(f"'{name}', d.body -> '$.{name}'" for name in names)
        columns = f"json_object('_id', d._id, {picked})"

    def select(extra: str, extra_params: list[Any], order: str) -> tuple[str, list[Any]]:
        conditions = " AND ".join([*where, extra] if extra else where) or "1"
        sql = f"SELECT {columns} FROM {table} AS d WHERE {conditions} ORDER BY {order} LIMIT ?"
        return sql, [*params, *extra_params]

    direction = "DESC" if query.descending else "ASC"
    op = "<" if query.descending else ">"
    by_id = f"d._id {direction}"
    if query.sort == "_id":
        if query.after is None:
            return [select("", [], by_id)]
        return [select(f"d._id {op} ?", [query.after[1]], by_id)]
    sort = _value_sql(query.sort)
    by_sort = f"{sort} {direction}, {by_id}"
    if query.after is None:
        return [select("", [], by_sort)]
    value, doc_id = query.after
    nulls_after = f"{sort} IS NULL AND d._id {op} ?"
    if value is None:
        if query.descending:
            return [select(nulls_after, [doc_id], by_id)]
        return [select(nulls_after, [doc_id], by_id), select(f"{sort} IS NOT NULL", [], by_sort)]
    # (sort, _id) strictly after (value, doc_id), written so the index range is on sort alone.
    after = f"{sort} {op}= ? AND ({sort} {op} ? OR d._id {op} ?)"
    page = select(after, [value, value, doc_id], by_sort)
    return [page, select(f"{sort} IS NULL", [], by_id)] if query.descending else [page]


def _equals(name: str, value: Scalar) -> tuple[str, list[Any]]:
    """`field == value` with JSON's types: true is not 1, and null matches a missing field."""
    if name in _COLUMNS:
        return f"d.{name} = ?", [value]
    path = f"'$.{_field(name)}'"
    if value is None:
        return f"json_extract(d.body, {path}) IS NULL", []
    if isinstance(value, bool):
        return f"json_type(d.body, {path}) = ?", ["true" if value else "false"]
    return (
        f"(json_extract(d.body, {path}) = ?"
        f" AND json_type(d.body, {path}) NOT IN ('true', 'false'))",
        [value],
    )


def _has_any(name: str, choices: Sequence[Scalar]) -> tuple[str, list[Any]]:
    """The field, or one element of it when an array, equals one of the choices."""
    if name in _COLUMNS:
        marks = ", ".join("?" * len(choices))
        return f"d.{name} IN ({marks})", list(choices)
    path = f"'$.{_field(name)}'"
    checks: list[str] = []
    params: list[Any] = []
    plain = [value for value in choices if value is not None and not isinstance(value, bool)]
    if plain:
        marks = ", ".join("?" * len(plain))
        checks.append(f"(e.type NOT IN ('true', 'false') AND e.value IN ({marks}))")
        params += plain
    for flag in dict.fromkeys(value for value in choices if isinstance(value, bool)):
        checks.append("e.type = ?")
        params.append("true" if flag else "false")
    nulls = None in choices
    if nulls:
        checks.append("e.type = 'null'")
    if not checks:
        return "0", []
    sql = f"EXISTS (SELECT 1 FROM json_each(d.body, {path}) AS e WHERE {' OR '.join(checks)})"
    if nulls:  # as in MongoDB, null also matches a missing field
        sql = f"({sql} OR json_type(d.body, {path}) IS NULL)"
    return sql, params
