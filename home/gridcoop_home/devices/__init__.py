"""Device integrations that talk to home equipment directly (no Home Assistant needed).

`gridcoop_home.devices.sunspec`: SunSpec inverters, batteries and meters over Modbus TCP.
"""
