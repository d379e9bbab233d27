"""The ledger's state machine: balances, tokens, certificates and settlement, entry by entry."""
