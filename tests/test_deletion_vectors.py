"""Deletion vectors on disk (spec/format.md, section 15): the deletion-vector-v1 blob, the Puffin
file, the descriptor, and the checks a reader makes on all three."""

from __future__ import annotations

import uuid
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyroaring import BitMap64

from lakehouse.errors import CorruptTableError, InvalidArgumentError
from lakehouse.format.actions import AddFile, DeletionVector, action_from_json
from lakehouse.format.deletion_vectors import (
    decode_blob, encode_blob, live_mask, positions_array, read_deletion_vector, read_deletion_vectors,
    write_deletion_vectors,
)
from lakehouse.format.puffin import read_footer
from lakehouse.io import Store

positions = st.sets(st.one_of(st.integers(0, 300), st.integers(0, 2**20), st.integers(0, 2**34)), max_size=200)


def _store() -> Store:
    return Store.from_uri(f"memory://dv-tests/{uuid.uuid4().hex}")


def test_blob_layout_matches_a_hand_computed_example():
    # Position 0: one key (0), whose 32-bit portable Roaring bitmap is cookie 12346 (no run
    # containers), 1 container, header (key 0, cardinality-1 0), offset 16, the value 0.
    bitmap = bytes.fromhex("0100000000000000" "00000000" "3a300000" "01000000" "00000000" "10000000" "0000")
    vector = bytes.fromhex("d1d33964") + bitmap
    assert encode_blob(BitMap64([0])) == (34).to_bytes(4, "big") + vector + zlib.crc32(vector).to_bytes(4, "big")
    assert encode_blob(BitMap64([0]))[-4:].hex() == "f7a6b4b5"  # the value spec 15.1 prints


def test_positions_above_32_bits_get_their_own_key():
    blob = encode_blob(BitMap64([7, 2**32 + 5]))
    bitmap = blob[8:-4]
    assert bitmap[:8] == (2).to_bytes(8, "little")  # two keys, little-endian
    assert bitmap[8:12] == (0).to_bytes(4, "little")
    assert (1).to_bytes(4, "little") in bitmap[12:]  # key 1 follows key 0's bitmap
    assert list(decode_blob(blob)) == [7, 2**32 + 5]


@settings(max_examples=100, deadline=None)
@given(positions)
def test_blobs_round_trip(values):
    assert set(decode_blob(encode_blob(BitMap64(values)))) == values


@settings(max_examples=25, deadline=None)
@given(positions.filter(bool), st.data())
def test_every_single_byte_corruption_or_truncation_of_a_blob_is_refused(values, data):
    blob = encode_blob(BitMap64(values))
    i = data.draw(st.integers(0, len(blob) - 1))
    flip = data.draw(st.integers(1, 255))
    with pytest.raises(CorruptTableError):
        decode_blob(blob[:i] + bytes([blob[i] ^ flip]) + blob[i + 1:])
    with pytest.raises(CorruptTableError):
        decode_blob(blob[:i])


def test_every_byte_of_a_small_blob_is_covered():
    blob = encode_blob(BitMap64([1, 5, 70000, 2**33]))
    for i in range(len(blob)):
        with pytest.raises(CorruptTableError):
            decode_blob(blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1:])


def test_a_crc_valid_blob_with_a_bad_bitmap_is_refused():
    vector = bytes.fromhex("d1d33964") + b"\x05" + b"\x00" * 7 + b"\xff" * 9  # 5 keys, then garbage
    blob = len(vector).to_bytes(4, "big") + vector + zlib.crc32(vector).to_bytes(4, "big")
    with pytest.raises(CorruptTableError, match="deserialise"):
        decode_blob(blob)


def test_write_then_read_through_the_store_and_the_puffin_footer():
    store = _store()
    bitmaps = {"data/a.parquet": BitMap64([0, 2, 4]), "data/b.parquet": BitMap64([9])}
    dvs = write_deletion_vectors(store, bitmaps)
    assert {d.path for d in dvs.values()} == {dvs["data/a.parquet"].path}  # one Puffin file per call
    assert dvs["data/a.parquet"].path.startswith("deletes/") and dvs["data/a.parquet"].path.endswith(".puffin")
    assert dvs["data/a.parquet"].offset == 4 and dvs["data/b.parquet"].offset == 4 + dvs["data/a.parquet"].length
    data = store.read_bytes(dvs["data/a.parquet"].path)
    assert data[:4] == data[-4:] == b"PFA1" and data[-8:-4] == bytes(4)
    blobs, properties = read_footer(data)
    assert properties["created-by"].startswith("lakehouse ")
    assert [(b.type, b.fields, b.snapshot_id, b.sequence_number, dict(b.properties)) for b in blobs] == [
        ("deletion-vector-v1", (2147483645,), -1, -1, {"referenced-data-file": "data/a.parquet", "cardinality": "3"}),
        ("deletion-vector-v1", (2147483645,), -1, -1, {"referenced-data-file": "data/b.parquet", "cardinality": "1"})]
    assert [(b.offset, b.length) for b in blobs] == [(d.offset, d.length) for d in dvs.values()]
    assert read_deletion_vectors(store, [(dvs["data/a.parquet"], 5), (dvs["data/b.parquet"], 10)]) == \
        [BitMap64([0, 2, 4]), BitMap64([9])]


def test_pyiceberg_reads_our_puffin_files():
    puffin = pytest.importorskip("pyiceberg.table.puffin")
    from pyiceberg.table.deletion_vector import deletion_vectors_from_puffin_file
    store = _store()
    dvs = write_deletion_vectors(store, {"data/a.parquet": BitMap64([1, 3, 2**32 + 1]),
                                         "data/b.parquet": BitMap64(range(0, 100000, 3))})
    read = deletion_vectors_from_puffin_file(puffin.PuffinFile(store.read_bytes(dvs["data/a.parquet"].path)))
    got = {dv.referenced_data_file: dv.to_vector().to_pylist() for dv in read}
    assert got == {"data/a.parquet": [1, 3, 2**32 + 1], "data/b.parquet": list(range(0, 100000, 3))}


def test_nothing_to_write_writes_nothing_and_bad_input_is_refused():
    store = _store()
    assert write_deletion_vectors(store, {}) == {}
    assert store.list_names("deletes") == []
    with pytest.raises(InvalidArgumentError):
        write_deletion_vectors(store, {"data/a.parquet": {1, 2}})
    with pytest.raises(CorruptTableError):
        write_deletion_vectors(store, {"../a.parquet": BitMap64([1])})


def test_every_byte_of_the_puffin_file_is_either_outside_the_blob_or_caught():
    store = _store()
    dv = write_deletion_vectors(store, {"data/a.parquet": BitMap64([3, 8, 2**32])})["data/a.parquet"]
    data = store.read_bytes(dv.path)
    for i in range(len(data)):
        store.write_bytes(dv.path, data[:i] + bytes([data[i] ^ 0x80]) + data[i + 1:])
        if dv.offset <= i < dv.offset + dv.length:
            with pytest.raises(CorruptTableError):
                read_deletion_vector(store, dv, 2**33)
        else:  # the footer is not needed to read a blob its descriptor locates
            assert read_deletion_vector(store, dv, 2**33) == BitMap64([3, 8, 2**32])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_footer_damage_is_a_corrupt_table_error_or_a_footer_never_another_error(data):
    store = _store()
    dv = write_deletion_vectors(store, {"data/a.parquet": BitMap64([1])})["data/a.parquet"]
    raw = store.read_bytes(dv.path)
    footer_start = dv.offset + dv.length
    i = data.draw(st.integers(footer_start, len(raw) - 1))
    damaged = raw[:i] + bytes([raw[i] ^ data.draw(st.integers(1, 255))]) + raw[i + 1:]
    structural = i < footer_start + 4 or i >= len(raw) - 12  # magics, payload size, flags
    try:
        read_footer(damaged)
    except CorruptTableError:
        pass
    else:
        assert not structural
    with pytest.raises(CorruptTableError):
        read_footer(raw[:data.draw(st.integers(0, len(raw) - 1))])


@pytest.mark.parametrize("change, match", [
    ({"cardinality": 11}, "cannot describe"),  # more deletes than rows
    ({"length": 10**9}, "cannot describe"),  # a length no blob of 2 positions needs
    ({"offset": 10**6}, "ends after 0 bytes"),  # beyond the file
    ({"offset": 0}, "says"),  # the Puffin magic where the length should be
    ({"cardinality": 1}, "holds 2 positions"),
    ({"path": "../escape.puffin"}, "path rule"),
    ({"path": "deletes/missing.puffin"}, None),
])
def test_hostile_descriptors_are_refused(change, match):
    store = _store()
    dv = write_deletion_vectors(store, {"data/a.parquet": BitMap64([2, 7])})["data/a.parquet"]
    bad = DeletionVector(**{**dv.to_json(), **change})
    if match is None:
        with pytest.raises(FileNotFoundError):  # a missing file is a storage matter, as for data files
            read_deletion_vector(store, bad, 10)
        return
    with pytest.raises(CorruptTableError, match=match):
        read_deletion_vector(store, bad, 10)


def test_positions_beyond_the_file_are_refused():
    store = _store()
    dv = write_deletion_vectors(store, {"data/a.parquet": BitMap64([2, 7])})["data/a.parquet"]
    with pytest.raises(CorruptTableError, match="position 7 of a file of 7 rows"):
        read_deletion_vector(store, dv, 7)


@pytest.mark.parametrize("descriptor", [
    {"path": "deletes/a.puffin", "offset": 4, "length": 40},  # cardinality missing
    {"path": "deletes/a.puffin", "offset": -1, "length": 40, "cardinality": 1},
    {"path": "deletes/a.puffin", "offset": 4, "length": 19, "cardinality": 1},
    {"path": "deletes/a.puffin", "offset": 4, "length": 2**31, "cardinality": 1},
    {"path": "deletes/a.puffin", "offset": 4, "length": 40, "cardinality": True},
    {"path": "deletes/a.puffin", "offset": "4", "length": 40, "cardinality": 1},
    {"path": "/etc/passwd", "offset": 4, "length": 40, "cardinality": 1},
    {"path": "_lakehouse/log/00000000000000000000.json", "offset": 4, "length": 40, "cardinality": 1},
    {"path": "deletes/a.puffin", "offset": 4, "length": 40, "cardinality": 6},  # > record_count
    "deletes/a.puffin",
])
def test_malformed_descriptors_in_an_add_are_corrupt(descriptor):
    add = AddFile(path="data/a.parquet", size=10, record_count=5, spec_id=0, schema_id=0, partition={}, stats={},
                  modification_time=0).to_json()
    with pytest.raises(CorruptTableError, match="deletion_vector"):
        action_from_json({"add": {**add, "deletion_vector": descriptor}})


def test_add_round_trips_with_and_without_a_descriptor():
    base = AddFile(path="data/a.parquet", size=10, record_count=5, spec_id=0, schema_id=0, partition={}, stats={},
                   modification_time=0)
    assert "deletion_vector" not in base.to_json() and base.live_count == 5
    dv = DeletionVector(path="deletes/a.puffin", offset=4, length=40, cardinality=2)
    with_dv = AddFile(**{**{f: getattr(base, f) for f in base.__slots__}, "deletion_vector": dv})
    assert action_from_json({"add": with_dv.to_json()}) == with_dv and with_dv.live_count == 3
    assert action_from_json({"add": {**base.to_json(), "deletion_vector": None}}) == base


@settings(max_examples=100, deadline=None)
@given(positions, st.integers(0, 2**34), st.integers(0, 5000))
def test_live_mask_is_the_complement_of_the_positions_in_range(values, start, n):
    mask = live_mask(positions_array(BitMap64(values)), start, start + n)
    expected = [start + i not in values for i in range(n)]
    assert (mask.to_pylist() if mask is not None else [True] * n) == expected
    assert mask is None or not all(expected)
