"""Clients for the hub's HTTP API and its token ledger (signed requests, typed errors)."""
