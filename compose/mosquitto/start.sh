#!/bin/sh
# Start Mosquitto with dynamic security, creating its state (and the admin login) on the first start.
# MOSQUITTO_CONFIG and MOSQUITTO_DYNSEC_FILE move it out of the image's layout (tests/deploy/test_mosquitto.py).
set -eu
config="${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}"
state="${MOSQUITTO_DYNSEC_FILE:-/mosquitto/data/dynamic-security.json}"
if [ ! -f "$state" ]; then
  : "${MOSQUITTO_ADMIN_PASSWORD:?set MOSQUITTO_ADMIN_PASSWORD}"
  mosquitto_ctrl dynsec init "$state" admin "$MOSQUITTO_ADMIN_PASSWORD"
  chown mosquitto:mosquitto "$state" 2>/dev/null || true
fi
exec mosquitto -c "$config"
