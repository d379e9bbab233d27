"""The neighbourhood ledger: entries grouped into BLS co-signed blocks, tokens, certificates,
settlement and the audit that recomputes all of it (see README: Ledger).

Pure logic: imports the protocol package but never the server, the store or Home Assistant. The
hub talks to storage through the small ports in `hub.ledger.ports`.
"""
