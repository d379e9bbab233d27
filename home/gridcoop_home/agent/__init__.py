"""`gridcoop-home`: a home on a GridCoop hub without Home Assistant.

`gridcoop-home join URL CODE --keys FILE` enrols the home and keeps its keys in a file;
`gridcoop-home run --config agent.toml` reads the meters (SunSpec Modbus or MQTT), uploads signed
readings, plans and bids every market interval, and publishes prices and dispatch commands as
retained JSON on MQTT for any home automation to act on. See docs/home_agent.md.

MQTT needs the optional extra: `pip install 'gridcoop-home[agent]'`.
"""
