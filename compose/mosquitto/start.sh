#!/bin/sh
# Start Mosquitto with dynamic security, creating its state (and the admin login) on the first start.
set -eu
state=/mosquitto/data/dynamic-security.json
if [ ! -f "$state" ]; then
  : "${MOSQUITTO_ADMIN_PASSWORD:?set MOSQUITTO_ADMIN_PASSWORD}"
  mosquitto_ctrl dynsec init "$state" admin "$MOSQUITTO_ADMIN_PASSWORD"
  chown mosquitto:mosquitto "$state" 2>/dev/null || true
fi
exec mosquitto -c /mosquitto/config/mosquitto.conf
