# Horde server image: gunicorn serving one mode (HORDE_MODE), configured by HORDE_* variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HORDE_HOST=0.0.0.0 HORDE_PORT=7001 HORDE_DATA_DIR=/var/lib/horde HORDE_ENV=production
WORKDIR /app

COPY pyproject.toml README.md LICENSE ./
COPY horde ./horde
COPY migrations ./migrations
COPY config ./config
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/horde horde \
    && mkdir -p /var/lib/horde && chown horde /var/lib/horde
USER horde
EXPOSE 7001
# Apply migrations, then serve (serve refuses an out-of-date schema).
CMD ["sh", "-c", "horde db upgrade && exec gunicorn -c config/gunicorn.conf.py horde.wsgi:app"]
