"""Device integrations that talk to home equipment directly (no Home Assistant needed).

`hub.devices.sunspec`: SunSpec inverters, batteries and meters over Modbus TCP.
"""
