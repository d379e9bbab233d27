"""The neighbourhood ledger: entries grouped into BLS co-signed blocks, tokens, certificates,
settlement and the audit that recomputes all of it (docs/ledger.md).

- `chain/`: blocks bound to their entries and signers, the export format, the audit;
- `accounts/`: the state machine that applies entries (balances, tokens, settlement);
- `service/`: what runs it: the hub's sealer, its storage ports and settings, the intake of
  equivocation proofs, the witness (with its memory and its own endpoint) and the
  `verify`/`witness` commands.

The formats a home also needs (entries, blocks, Merkle trees, BLS, transactions, signed heads
and equivocation proofs, light client) live in `gridcoop_home.ledger`. Pure logic below
`service/`: never the server, the store or Home Assistant.
"""
