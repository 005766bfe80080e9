"""A hypothesis state machine of the commit protocol: writers with stale handles interleave
appends, predicate overwrites and schema changes, across checkpoints. After every step the log is dense, every version reads, and
the newest version equals the serial application of exactly the commits that succeeded."""

import uuid

import pyarrow as pa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import lakehouse
from lakehouse.io import Store
from lakehouse.format.log import list_versions

SCHEMA = pa.schema([("k", pa.int64()), ("v", pa.int64())])
WRITERS = 3


class CommitProtocol(RuleBasedStateMachine):
    @initialize()
    def create(self):
        self.uri = f"memory://protocol/{uuid.uuid4().hex}"
        lakehouse.create_table(self.uri, schema=SCHEMA, properties={"checkpoint.interval": "4"})
        self.handles = [lakehouse.open_table(self.uri) for _ in range(WRITERS)]
        self.model: list[tuple[int, int]] = []   # rows of the newest version
        self.versions = {0: []}                   # version -> rows, for every committed version
        self.counter = 0

    def _commit(self, handle, fn, expected_after):
        try:
            summary = fn()
        except lakehouse.CommitConflictError:
            return
        self.model = expected_after(self.model)
        self.versions[summary.version] = list(self.model)

    @rule(w=st.integers(0, WRITERS - 1), keys=st.lists(st.integers(0, 4), min_size=1, max_size=3))
    def append(self, w, keys):
        self.counter += 1
        rows = [(k, self.counter) for k in keys]
        data = pa.table({"k": [r[0] for r in rows], "v": [r[1] for r in rows]}, schema=SCHEMA)
        before = len(self.versions)
        # schema_mode="merge": the data lacks the columns add_column adds; they are written as null.
        self._commit(self.handles[w], lambda: self.handles[w].append(data, schema_mode="merge"), lambda m: m + rows)
        assert len(self.versions) == before + 1, "an append must never conflict"

    @rule(w=st.integers(0, WRITERS - 1), key=st.integers(0, 4))
    def overwrite_key(self, w, key):
        self.counter += 1
        rows = [(key, self.counter)]
        data = pa.table({"k": [key], "v": [self.counter]}, schema=SCHEMA)
        self._commit(self.handles[w],
                     lambda: self.handles[w].overwrite(data, where=f"k = {key}", schema_mode="merge"),
                     lambda m: [r for r in m if r[0] != key] + rows)

    @rule(w=st.integers(0, WRITERS - 1))
    def add_column(self, w):
        """Schema changes conflict only with other metadata changes; rows are unaffected."""
        self.counter += 1
        handle = self.handles[w]
        try:
            with handle.update_schema() as s:
                s.add_column(f"c{self.counter}", pa.int64())
        except lakehouse.CommitConflictError as e:
            assert "metadata" in str(e)
            return
        self.versions[handle.version] = list(self.model)

    @rule(w=st.integers(0, WRITERS - 1))
    def refresh(self, w):
        self.handles[w] = self.handles[w].refresh()

    @invariant()
    def log_is_dense_and_every_version_reads(self):
        if not hasattr(self, "uri"):
            return
        latest = lakehouse.open_table(self.uri)
        assert list_versions(Store.from_uri(self.uri)) == list(range(latest.version + 1))
        assert sorted(self.versions) == list(range(latest.version + 1))
        for v in (0, latest.version, max(0, latest.version - 1)):
            got = latest.scan(version=v).to_arrow()
            assert sorted(zip(got.column("k").to_pylist(), got.column("v").to_pylist())) == sorted(self.versions[v])


CommitProtocol.TestCase.settings = settings(max_examples=60, stateful_step_count=16, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
TestCommitProtocol = CommitProtocol.TestCase
