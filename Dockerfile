# The image of the platform's web and worker services (docker-compose.yml; docs/deploy.md).

# The front-end bundle (inv build-statics).
FROM node:20-bookworm-slim AS statics
WORKDIR /build/webapp
COPY webapp/package.json webapp/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY webapp/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=server.config.settings.production \
    DJANGO_STATIC_ROOT=/srv/static
RUN useradd --create-home --uid 1000 iotile \
    && mkdir -p /srv/static \
    && chown iotile:iotile /srv/static
WORKDIR /app
COPY requirements/base.txt requirements/base.txt
RUN pip install -r requirements/base.txt
COPY --chown=iotile:iotile . .
COPY --from=statics --chown=iotile:iotile /build/webapp/dist webapp/dist
USER iotile
EXPOSE 8000
# gunicorn reads gunicorn.conf.py from /app; the worker service runs `python manage.py worker` instead.
CMD ["gunicorn"]
