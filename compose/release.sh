#!/bin/sh
# The compose stack's release job: what must be done once per deployment before web and worker start.
set -eu
python manage.py migrate --noinput
python manage.py migrate --noinput --database streamdata
# A starting catalog (variable types, device templates, sensor graphs); existing entries are kept.
python manage.py seed_catalog
# Into the volume nginx serves /static/ from.
python manage.py collectstatic --noinput
# The platform's own MQTT login (MQTT_URL), made or reset through the broker's admin login (MQTT_ADMIN_URL).
if [ -n "${MQTT_ADMIN_URL:-}" ] && [ -n "${MQTT_URL:-}" ]; then
  login="${MQTT_URL#*://}"
  python manage.py mqtt_provision --platform "${login%%@*}"
fi
# The search indexes, made on the first release with their mappings; an existing index is kept as it is
# (docs/search.md: `manage.py search_index --rebuild -f` rebuilds them).
if [ -n "${ELASTICSEARCH_URL:-}" ]; then
  python manage.py search_index --create -f || echo "release: the search indexes exist already"
fi
