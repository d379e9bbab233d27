"""Constants shared by the GridCoop integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "gridcoop"
LOGGER = logging.getLogger(__package__)

PROTOCOL_VERSION: Final = 1  # the hub protocol this integration speaks

# Config entry data
CONF_MODE: Final = "mode"
MODE_HUB: Final = "hub"
MODE_ISLAND: Final = "island"
CONF_URL: Final = "url"
CONF_JOIN_CODE: Final = "join_code"
CONF_HOME_ID: Final = "home_id"
CONF_HOME_KEY: Final = "home_key"
CONF_METER_KEYS: Final = "meter_keys"
CONF_LEDGER_PIN: Final = "ledger_pin"  # the hub's ledger head (validators) seen at join
CONF_CURRENCY: Final = "currency"
CONF_RETAIL_PRICE: Final = "retail_price"
CONF_FEED_IN_PRICE: Final = "feed_in_price"
CONF_GRID_LIMIT_KW: Final = "grid_limit_kw"

# Options
OPT_READING_INTERVAL: Final = "reading_interval"
OPT_OUTAGE_MINUTES: Final = "outage_repair_minutes"
OPT_OVERRIDE_MINUTES: Final = "override_minutes"
OPT_PRICE_ENTITY: Final = "price_entity"  # an entity whose attributes hold today/tomorrow prices
OPT_CARBON_ENTITY: Final = "carbon_entity"  # a carbon-intensity sensor (gCO2eq/kWh)
DEFAULT_READING_INTERVAL: Final = 60
DEFAULT_OUTAGE_MINUTES: Final = 30
# A device changed by hand is left alone until switched off, or at most this long (0: until off).
DEFAULT_OVERRIDE_MINUTES: Final = 240
DEFAULT_GRID_LIMIT_KW: Final = 11.0

# One meter key per hub meter kind; devices of the same kind add up into that meter.
METER_KINDS: Final = ("grid", "pv", "battery", "ev")

# Subentry (device) types
PV: Final = "pv"
BATTERY: Final = "battery"
EV_CHARGER: Final = "ev_charger"
GRID_METER: Final = "grid_meter"
FLEXIBLE_LOAD: Final = "flexible_load"
DEVICE_KINDS: Final = (PV, BATTERY, EV_CHARGER, GRID_METER, FLEXIBLE_LOAD)
MODBUS_KINDS: Final = (PV, BATTERY, GRID_METER)  # what the SunSpec reader can read

# Subentry data
CONF_SOURCE: Final = "source"
SOURCE_ENTITIES: Final = "entities"
SOURCE_MODBUS: Final = "modbus"
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_UNIT_ID: Final = "unit_id"
CONF_ALLOW_WRITES: Final = "allow_writes"
CONF_POWER_ENTITY: Final = "power_entity"
CONF_IMPORT_ENERGY_ENTITY: Final = "import_energy_entity"
CONF_EXPORT_ENERGY_ENTITY: Final = "export_energy_entity"
CONF_SOC_ENTITY: Final = "soc_entity"
CONF_SWITCH_ENTITY: Final = "switch_entity"
CONF_SETPOINT_ENTITY: Final = "setpoint_entity"
CONF_PEAK_KW: Final = "peak_kw"
CONF_CAPACITY_KWH: Final = "capacity_kwh"
CONF_MAX_POWER_KW: Final = "max_power_kw"
CONF_TARGET_SOC: Final = "target_soc"
CONF_LOAD_POWER_W: Final = "load_power_w"
CONF_DURATION_MIN: Final = "duration_min"

# Strategy profiles (the planner's gridcoop_home.planner.Profile values)
PROFILES: Final = ("max_income", "min_carbon", "stable_bill")

SIGNAL_DISPATCH: Final = "gridcoop_dispatch_{}"  # formatted with the subentry id
SIGNAL_OVERRIDE: Final = "gridcoop_override_{}"  # formatted with the subentry id

# Entities that take a power setpoint (W)
SETPOINT_DOMAINS: Final = ("number", "input_number")

ISSUE_HUB_UNREACHABLE: Final = "hub_unreachable_{}"
ISSUE_SOURCE_MISSING: Final = "source_missing_{}"
ISSUE_LEDGER_FORK: Final = "ledger_fork_{}"
ISSUE_LEDGER_UNPROVABLE: Final = "ledger_unprovable_{}"
ISSUE_LEDGER_VALIDATORS: Final = "ledger_validators_{}"
ISSUE_INPUT_INVALID: Final = "input_invalid_{}_{}"  # entry id, entity id
