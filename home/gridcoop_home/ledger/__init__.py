"""The ledger as a home sees it: entry and block formats, Merkle proofs, BLS signatures, the
transactions a home signs, signed heads and equivocation proofs, and the light client that
follows the chain and proves a home's own settlement and balance."""
