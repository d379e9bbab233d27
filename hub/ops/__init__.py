"""Operator commands of `gridcoop-hub` beyond serving: statements, backup and restore."""
