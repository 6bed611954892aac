"""Writing a run's scores: one CustomerScore row per customer (active, then lapsed), built from the
engine's result with whole-column pandas work and sent in bulk: binary COPY on PostgreSQL,
`bulk_create` in batches on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
from django.db import connection
from pandas.io.json import ujson_dumps
from psycopg import postgres, pq
from psycopg.adapt import Dumper
from psycopg.copy import QueuedLibpqWriter

from stratify.db import is_postgres
from stratify.engine import FACTORS, LAPSED

from ..models import SCORE_FIELDS, SCORE_FLOAT_FIELDS, CustomerScore
from ..vocabulary import SEGMENT_RANK

WRITE_CHUNK = 10_000  # score rows encoded and sent at a time


PERCENTILE_COLUMNS = tuple(f"p_{f}" for f in FACTORS)
# JSON is written by pandas' C encoder (several times faster than json.dumps), to 15 decimals: far
# below the 1e-9 reproduction tolerance.
JSON_DECIMALS = 15


def _json_number_records(frame: pd.DataFrame) -> list[str]:
    """One JSON object ({column: number}) per row of a frame of numbers."""
    if frame.empty:
        return []
    text = frame.to_json(orient="records", double_precision=JSON_DECIMALS)
    # '[{...},{...}]' of flat objects of numbers: "},{" only ever separates two records. (Splitting
    # one array is several times faster than pandas' JSON-lines output.)
    return ["{" + record + "}" for record in text[2:-2].split("},{")]


def _json_values(values: list) -> list[str]:
    """The JSON text of each value (dicts and lists of strings, numbers and None)."""
    return [ujson_dumps(value, double_precision=JSON_DECIMALS) for value in values]


def list_ranks(segments, revenues) -> np.ndarray:
    """`CustomerScore.list_rank` of each row: the dense rank (from 1) of (segment in SEGMENT_ORDER,
    revenue descending, missing revenue last), the customer lists' default order; equal keys share a
    rank (the lists break the tie by account number, in the database's own collation)."""
    segment = pd.Series(segments, dtype=object).map(SEGMENT_RANK).fillna(len(SEGMENT_RANK)).to_numpy(dtype="int64")
    revenue = pd.Series(revenues, dtype="float64").to_numpy()
    missing = np.isnan(revenue)
    descending = np.where(missing, 0.0, -revenue)
    order = np.lexsort((descending, missing, segment))  # the last key sorts first
    key = (segment[order], missing[order], descending[order])
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (key[0][1:] != key[0][:-1]) | (key[1][1:] != key[1][:-1]) | (key[2][1:] != key[2][:-1])
    ranks = np.empty(len(order), dtype="int64")
    ranks[order] = np.cumsum(starts)
    return ranks


def score_rows(run, result, keys: dict[str, int], previous: dict[int, str]) -> pd.DataFrame:
    """One row per customer (active, then lapsed) with the CustomerScore columns, vectorised. The
    percentiles stay the engine's `p_<factor>` columns and the explanation its dicts (lapsed: NaN and
    {}): the writers encode them chunk by chunk (see `_score_chunks`)."""
    scores = result.scores
    frame = pd.DataFrame({"customer_id": scores["customer_id"].astype(str)})
    frame["segment"] = scores["segment"].astype(str)
    for column in (*SCORE_FLOAT_FIELDS, *PERCENTILE_COLUMNS):
        frame[column] = scores[column].astype("float64")
    frame["explanation"] = scores["explanation"].astype(object)
    if result.lapsed:
        lapsed = pd.DataFrame({"customer_id": [str(c) for c in result.lapsed], "segment": LAPSED})
        lapsed["explanation"] = [{} for _ in result.lapsed]
        frame = pd.concat([frame, lapsed], ignore_index=True)
    frame["customer_pk"] = frame["customer_id"].map(keys)
    if frame["customer_pk"].isna().any():  # a customer deleted while the run computed
        frame = frame[frame["customer_pk"].notna()]
    frame["customer_pk"] = frame["customer_pk"].astype("int64")
    frame["previous_segment"] = frame["customer_pk"].map(previous).astype(object).fillna("")
    frame["list_rank"] = list_ranks(frame["segment"], frame["revenue"])
    return frame


def _nullable(values: np.ndarray) -> list:
    """Python floats, with None (SQL NULL) for NaN."""
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def _score_chunks(frame: pd.DataFrame) -> Iterator[dict[str, list]]:
    """The CustomerScore columns of `frame` (customer_id, then SCORE_FIELDS, list_rank), WRITE_CHUNK rows at a
    time: Python values, None for a missing number, JSON text for the percentiles and explanation
    ({} for a lapsed customer). Encoding chunk by chunk bounds memory and, on PostgreSQL, lets the
    server parse one chunk's JSON while the next is encoded."""
    for start in range(0, len(frame), WRITE_CHUNK):
        chunk = frame.iloc[start : start + WRITE_CHUNK]
        columns = {
            "customer_id": chunk["customer_pk"].tolist(),
            "segment": chunk["segment"].tolist(),
            "previous_segment": chunk["previous_segment"].tolist(),
        }
        for field in SCORE_FLOAT_FIELDS:
            columns[field] = _nullable(chunk[field].to_numpy(dtype="float64"))
        columns["list_rank"] = chunk["list_rank"].tolist()
        ranked = (chunk["segment"] != LAPSED).to_numpy()
        percentiles = np.full(len(chunk), "{}", dtype=object)
        percentiles[ranked] = _json_number_records(
            chunk.loc[ranked, list(PERCENTILE_COLUMNS)].set_axis(list(FACTORS), axis=1)
        )
        columns["percentiles"] = percentiles.tolist()
        columns["explanation"] = _json_values(chunk["explanation"].tolist())
        yield columns


class _JsonTextBinaryDumper(Dumper):
    """Already-encoded JSON text into a jsonb column of a binary COPY (jsonb's binary format is a
    version byte, then the text)."""

    format = pq.Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()


def _copy_scores(run, frame: pd.DataFrame) -> None:
    """PostgreSQL: binary COPY, so that floats travel as 8 bytes instead of being formatted as text
    (formatting ~20 float columns was most of the write). A writer thread sends the data, so this
    thread keeps encoding while the server parses the jsonb it has received (its larger cost)."""
    fields = ("customer_id", *SCORE_FIELDS, "list_rank")
    types = ["int8", "int8", "int8", "text", "text", *["float8"] * len(SCORE_FLOAT_FIELDS), "jsonb", "jsonb", "int4"]
    sql = (
        f"COPY {CustomerScore._meta.db_table} (distributor_id, run_id, {', '.join(fields)}) FROM STDIN (FORMAT binary)"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.adapters.register_dumper(None, _JsonTextBinaryDumper)  # this cursor only; used by set_types
        with raw.copy(sql, writer=QueuedLibpqWriter(raw)) as copy:
            copy.set_types(types)
            for columns in _score_chunks(frame):
                size = len(columns["customer_id"])
                tenant, run_ids = [run.distributor_id] * size, [run.pk] * size
                for row in zip(tenant, run_ids, *(columns[field] for field in fields), strict=True):
                    copy.write_row(row)


def write_scores(run, frame: pd.DataFrame) -> None:
    """Insert the rows under the run: PostgreSQL COPY, otherwise bulk_create in batches."""
    CustomerScore.objects.filter(distributor=run.distributor, run=run).delete()  # a re-executed run
    if is_postgres():
        _copy_scores(run, frame)
        return
    for columns in _score_chunks(frame):
        columns["percentiles"] = [json.loads(text) for text in columns["percentiles"]]
        columns["explanation"] = [json.loads(text) for text in columns["explanation"]]
        objects = [
            CustomerScore(distributor_id=run.distributor_id, run_id=run.pk, **dict(zip(columns, row, strict=True)))
            for row in zip(*columns.values(), strict=True)
        ]
        CustomerScore.objects.bulk_create(objects, batch_size=2000)
