"""configuration.yaml parts that several end-to-end scenarios share: a battery made of input
helpers (its state of charge and a power setpoint of -5000..5000 W) and template sensors for it and
for a grid meter whose import counter always grows. A scenario adds its own helpers, automations...

    SCENARIO = "input_number:\\n" + BATTERY_INPUTS + "input_boolean: ...\\n" + TEMPLATE_SENSORS
"""

BATTERY_INPUTS = """\
  battery_soc:
    name: Battery SoC input
    min: 0
    max: 100
    initial: 50
  battery_setpoint:
    name: Battery setpoint
    min: -5000
    max: 5000
    initial: 0
    unit_of_measurement: W
"""

TEMPLATE_SENSORS = """\
template:
  - sensor:
      - name: Battery SoC
        unique_id: e2e_battery_soc
        device_class: battery
        unit_of_measurement: "%"
        state_class: measurement
        state: "{{ states('input_number.battery_soc') | float(50) }}"
      - name: Grid import
        unique_id: e2e_grid_import
        device_class: energy
        unit_of_measurement: kWh
        state_class: total_increasing
        state: "{{ (1000 + now().timestamp() / 3600) | round(3) }}"
"""
