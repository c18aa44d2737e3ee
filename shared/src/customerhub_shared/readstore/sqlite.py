"""The SQLite read store: the embedded default (one file, WAL, shareable by several processes).

Each collection is a table of JSON bodies; a `search_terms` side table serves prefix search
through an index, and documents, their terms and the checkpoint commit in one transaction.
The same table holds the values of `value_indexed` fields (under `<collection>#<field>`), so
that `contains` on such a field (an email among a customer's) is an index lookup, not a scan.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Container, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

from customerhub_shared import sqlite_files
from customerhub_shared.readstore.port import (
    Document,
    EncodedDocument,
    Query,
    ReadStore,
    Scalar,
    encoded,
)
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
CREATE TABLE IF NOT EXISTS checkpoints (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS value_indexes (
    collection TEXT NOT NULL,
    field      TEXT NOT NULL,
    PRIMARY KEY (collection, field)
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
# A write of this many documents (a replay's chunk) enlarges its connection's page cache to
# this many KiB, for as long as the connection lives: live projectors write fewer.
BULK_WRITE_DOCUMENTS = 1000
BULK_WRITE_CACHE_KIB = 131_072
# The largest code point: every term starting with p sorts in [p, p + _TOP).
_TOP = chr(0x10FFFF)
# A search prefix is common (`s`, `sch`) when it matches at least this many terms, and one for
# every COMMON_PREFIX_SHARE documents: walking the sort order and looking up each document's
# terms then fills a page sooner than collecting every match to sort it (100k customers, one
# letter: 380 ms -> 4 ms). Rarer prefixes are collected: a walk would meet their documents
# too seldom, or all at the far end of the sort order (measured: 185 ms against 15 ms).
COMMON_PREFIX_TERMS = 1000
COMMON_PREFIX_SHARE = 25
# A prefix found common is walked without counting again for this long: a collection's
# documents come and go slowly, and walking a prefix that became rare is slower, not wrong.
COMMON_PREFIX_KEPT_SECONDS = 30.0


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


def _values_key(collection: str, field: str) -> str:
    """Where a field's values sit in search_terms: `#` is never part of a collection name."""
    return f"{collection}#{field}"


class SQLiteReadStore(ReadStore):
    def __init__(
        self,
        path: Path | str,
        *,
        common_prefix_terms: int | None = None,
        value_indexed: Iterable[str] = (),
    ) -> None:
        """`common_prefix_terms`: a fixed threshold for a common prefix (0: every prefix),
        instead of one from the collection's size. `value_indexed`: fields whose string values
        `contains` finds through an index (selective ones: a filter most documents pass is
        better checked on the documents met in sort order)."""
        # A read model is rebuilt from the log, so a commit a power cut takes back costs nothing.
        self._db = SQLiteThreads(path, name="read-model", synchronous="NORMAL")
        self._common_prefix_terms = common_prefix_terms
        # (collection, index key) pairs whose table and expression index this process has made.
        self._indexed: set[tuple[str, str]] = set()
        self._value_indexed = frozenset(_field(name) for name in value_indexed)
        # (collection, field) pairs whose values this process knows are in search_terms.
        self._values_ready: set[tuple[str, str]] = set()
        # (collection, prefix) -> until when (time.monotonic) it counts as common uncounted.
        self._common_until: dict[tuple[str, str], float] = {}

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        common_prefix_terms: int | None = None,
        value_indexed: Iterable[str] = (),
    ) -> SQLiteReadStore:
        if str(path) == ":memory:":
            # Each pooled connection would get its own empty database.
            raise ValueError("SQLiteReadStore needs a file path, not ':memory:'")
        store = cls(path, common_prefix_terms=common_prefix_terms, value_indexed=value_indexed)
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
        [found] = await self.find_each(collection, [query])
        return found

    async def find_each(self, collection: str, queries: Sequence[Query]) -> list[list[Document]]:
        """Every query in one trip to a reader thread."""
        table = _table(collection)
        plans: list[tuple[Query, set[str]]] = []
        for query in queries:
            await self._ensure_indexes(collection, query)
            plans.append((query, await self._ensure_value_indexes(collection, query)))

        def work(db: sqlite3.Connection) -> list[list[tuple[str]]]:
            return [
                self._rows(db, table, collection, query, looked_up) for query, looked_up in plans
            ]

        answers = await self._read(work) or [[] for _ in plans]
        return [
            [_projected(row[0], query.fields) if query.fields else _load(row[0]) for row in rows]
            for (query, _), rows in zip(plans, answers, strict=True)
        ]

    def _rows(
        self,
        db: sqlite3.Connection,
        table: str,
        collection: str,
        query: Query,
        looked_up: set[str],
    ) -> list[tuple[str]]:
        common = self._common_prefixes(db, collection, query.prefixes)
        statements = _find_statements(table, collection, query, walked=common, looked_up=looked_up)
        rows: list[tuple[str]] = []
        for sql, params in statements:
            if len(rows) >= query.limit:
                break
            rows.extend(db.execute(sql, [*params, query.limit - len(rows)]).fetchall())
        return rows

    def _common_prefixes(
        self, db: sqlite3.Connection, collection: str, prefixes: Iterable[str]
    ) -> set[str]:
        """The prefixes to walk rather than collect. A common one stays so for a while
        without being counted again: counting costs as much as a page of a common prefix."""
        now = time.monotonic()
        common = {p for p in prefixes if self._common_until.get((collection, p), 0.0) > now}
        unsure = [p for p in prefixes if p not in common]
        if not unsure:
            return common
        threshold = self._common_prefix_terms
        if threshold is None:
            rows = _rows(db, _table(collection))
            threshold = max(COMMON_PREFIX_TERMS, rows // COMMON_PREFIX_SHARE)
        for prefix in unsure:
            if _matches(db, collection, prefix, threshold):
                common.add(prefix)
                self._common_until[collection, prefix] = now + COMMON_PREFIX_KEPT_SECONDS
        return common

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

    async def _ensure_value_indexes(self, collection: str, query: Query) -> set[str]:
        """The `contains` fields of the query that an index serves; each field's values are
        collected from the documents already stored the first time it is asked for."""
        fields = {
            name
            for name, value in query.contains.items()
            if name in self._value_indexed and isinstance(value, str)
        }
        missing = [name for name in fields if (collection, name) not in self._values_ready]
        if missing:
            table = _table(collection)
            await self._db.write(lambda db: _index_values(db, table, collection, missing))
            self._values_ready.update((collection, name) for name in missing)
        return fields

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
        rows = [_row(document) for document in documents]
        await self._write_rows(collection, rows, checkpoint_name, position)

    async def write_encoded(
        self,
        collection: str,
        documents: Sequence[EncodedDocument],
        *,
        checkpoint_name: str,
        position: int,
    ) -> None:
        rows = [_encoded_row(document) for document in documents]
        await self._write_rows(collection, rows, checkpoint_name, position)

    async def _write_rows(
        self, collection: str, rows: Sequence[_Row], checkpoint_name: str, position: int
    ) -> None:
        table = _table(collection)
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
                for (field,) in db.execute(_VALUE_FIELDS, (collection,)).fetchall():
                    key = _values_key(collection, field)
                    db.execute("DELETE FROM search_terms WHERE collection = ?", (key,))
                db.execute("DELETE FROM value_indexes WHERE collection = ?", (collection,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._db.write(work)
        self._indexed = {pair for pair in self._indexed if pair[0] != collection}
        self._values_ready = {pair for pair in self._values_ready if pair[0] != collection}

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


# A row to write: (_id, _version, JSON body, distinct search terms, the document where at
# hand: None for one written encoded, parsed from its body only for a value-indexed field).
_Row = tuple[str, int, str, list[str], Document | None]

_VALUE_FIELDS = "SELECT field FROM value_indexes WHERE collection = ?"


def _row(document: Document) -> _Row:
    written = encoded(document)
    return written.id, written.version, written.body.decode(), written.search_terms, document


def _encoded_row(document: EncodedDocument) -> _Row:
    return document.id, document.version, document.body.decode(), document.search_terms, None


def _load(body: str) -> Document:
    document: Document = orjson.loads(body)
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
    if len(rows) >= BULK_WRITE_DOCUMENTS:
        # A rebuild's batch puts its search terms all over two B-trees: with SQLite's default
        # 2 MiB of cache most of those pages are read and written again for each batch.
        db.execute(f"PRAGMA cache_size = -{BULK_WRITE_CACHE_KIB}")
    db.execute("BEGIN IMMEDIATE")
    try:
        # Cheap when it exists, and survives another process dropping the collection.
        db.execute(_create_table(table))
        # The stored version or newer is kept, with its terms; in _id order, B-tree pages
        # are met in turn.
        newer, stored = _newer(db, table, rows)
        newer.sort()
        db.executemany(upsert, [(row[0], row[1], row[2]) for row in newer])
        _replace_terms(db, collection, [(row[0], row[3]) for row in newer], stored)
        fields = [field for (field,) in db.execute(_VALUE_FIELDS, (collection,)).fetchall()]
        documents = [_document(row) for row in newer] if fields else []
        for field in fields:
            values = [
                (row[0], _string_values(document, field))
                for row, document in zip(newer, documents, strict=True)
            ]
            _replace_terms(db, _values_key(collection, field), values, stored)
        db.execute(
            "INSERT INTO checkpoints (name, position) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (checkpoint_name, position),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _replace_terms(
    db: sqlite3.Connection,
    collection: str,
    terms: Sequence[tuple[str, Iterable[str]]],
    stored: Container[str] | None = None,
) -> None:
    """A document's terms replace its old ones; `stored`: the documents that can have old
    ones (a document new to the collection has none to delete), None: any of them."""
    db.executemany(
        "DELETE FROM search_terms WHERE collection = ? AND doc_id = ?",
        [(collection, doc_id) for doc_id, _ in terms if stored is None or doc_id in stored],
    )
    # One statement for them all: SQLite reads the pairs from one JSON text, rather than
    # Python binding a row's parameters for each term.
    pairs = orjson.dumps([(doc_id, list(found)) for doc_id, found in terms]).decode()
    db.execute(
        "INSERT OR IGNORE INTO search_terms (collection, doc_id, term)"
        " SELECT ?, json_extract(d.value, '$[0]'), t.value"
        " FROM json_each(?) AS d, json_each(d.value, '$[1]') AS t",
        (collection, pairs),
    )


def _document(row: _Row) -> Document:
    return _load(row[2]) if row[4] is None else row[4]


def _string_values(document: Document, field: str) -> set[str]:
    """The field's string value, or its array's string elements (what `contains` matches)."""
    value = document.get(field)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {element for element in value if isinstance(element, str)}
    return set()


def _index_values(
    db: sqlite3.Connection, table: str, collection: str, fields: Sequence[str]
) -> None:
    """Register the fields and collect their values from the stored documents, in one
    transaction: a concurrent write either comes before (and is collected) or after (and
    writes its own values, the field being registered)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(_create_table(table))
        known = {field for (field,) in db.execute(_VALUE_FIELDS, (collection,)).fetchall()}
        for field in [name for name in fields if name not in known]:
            db.execute(
                "INSERT INTO value_indexes (collection, field) VALUES (?, ?)", (collection, field)
            )
            rows = db.execute(f"SELECT _id, body FROM {table}").fetchall()
            values = [(doc_id, _string_values(_load(body), field)) for doc_id, body in rows]
            _replace_terms(db, _values_key(collection, field), values)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _newer(
    db: sqlite3.Connection, table: str, rows: Sequence[_Row]
) -> tuple[list[_Row], dict[str, int]]:
    """The rows whose `_version` is above the stored one (all of them for new documents),
    and the stored versions of the documents the rows are about."""
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
    newer = [row for row in latest.values() if row[0] not in stored or row[1] > stored[row[0]]]
    return newer, stored


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
    table: str,
    collection: str,
    query: Query,
    *,
    walked: Iterable[str] = (),
    looked_up: Iterable[str] = (),
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
        if name in looked_up:
            where.append(
                "d._id IN (SELECT doc_id FROM search_terms WHERE collection = ? AND term = ?)"
            )
            params += [_values_key(collection, name), value]
            continue
        sql, values = _has_any(name, [value])
        where.append(sql)
        params += values
    for name, choices in query.any_of.items():
        sql, values = _has_any(name, choices)
        where.append(sql)
        params += values

    selected = _selected(query.fields)

    def select(extra: str, extra_params: list[Any], order: str) -> tuple[str, list[Any]]:
        conditions = " AND ".join([*where, extra] if extra else where) or "1"
        sql = f"SELECT {selected} FROM {table} AS d WHERE {conditions} ORDER BY {order} LIMIT ?"
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


def _selected(fields: Sequence[str]) -> str:
    """The whole body, or the JSON array of `_id` and the fields: one json_extract of many
    paths parses the body once."""
    if not fields:
        return "d.body"
    paths = ", ".join(f"'$.{name}'" for name in ("_id", *map(_field, fields)))
    return f"json_extract(d.body, {paths})"


def _projected(values: str, fields: Sequence[str]) -> Document:
    found = zip(("_id", *fields), json.loads(values), strict=True)
    return {name: value for name, value in found if value is not None}


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
