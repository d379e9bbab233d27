"""Energy-sharing communities: members with metering points, co-owned plants, per-quarter-hour
allocation of shared generation, DSO data in and out (docs/community.md).

`model` and `allocation` are pure and deterministic (integer Wh, exact fractions for keys);
`dso`, `reconcile` and `export` read and write files; `config` reads community.toml; `cli` is the
`gridcoop-hub community ...` command.
"""
