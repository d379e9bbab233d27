"""What runs the ledger: the hub's sealer, its storage ports and settings, witnesses, commands."""
