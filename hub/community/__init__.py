"""Energy-sharing communities: members with metering points, co-owned plants, per-quarter-hour
allocation of shared generation, DSO data in and out (docs/community.md).

`model`, `allocation`, `reconcile` and `statements` are pure and deterministic (integer Wh and
minor units, exact fractions for keys and prices); `dso`, `export` and `statement_files` read and
write files, `hub_readings` reads the hub's store; `config` reads community.toml; `cli` is the
`gridcoop-hub community ...` command.
"""
