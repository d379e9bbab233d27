"""Tests for the Home Assistant integration (custom_components/gridcoop)."""
