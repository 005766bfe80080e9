"""The on-disk format, as spec/format.md defines it: types and schemas, partition specs and
transforms, value and statistics encoding, actions, the log, checkpoints, and table states."""
