"""The ledger as a home sees it: entry and block formats, Merkle proofs, BLS signatures, the
transactions a home signs, and the light-client checks of its own settlement."""
