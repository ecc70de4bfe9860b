# Horde server image: `horde serve` (gunicorn) for one mode, configured only by HORDE_* variables.
#
#   docker build -t horde .
#   docker run -p 7001:7001 -v horde-data:/var/lib/horde -e HORDE_SECRET_KEY=... horde
#
# The entrypoint migrates the database (under a lock: nodes starting together migrate once),
# then serves. `docker run horde user create --username alice` runs any other `horde` command.

# --- build: wheels of Horde and of the exact versions in requirements/constraints.txt -----
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements/constraints.txt ./constraints.txt
COPY pyproject.toml README.md LICENSE ./
COPY horde ./horde
RUN pip wheel --no-cache-dir --wheel-dir /wheels --constraint constraints.txt .

# --- run: no compiler, no sources, a user without privileges ------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HORDE_HOST=0.0.0.0 HORDE_PORT=7001 HORDE_DATA_DIR=/var/lib/horde HORDE_ENV=production
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/horde horde \
    && mkdir -p /var/lib/horde && chown horde:horde /var/lib/horde
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels horde && rm -rf /wheels
COPY config/docker-entrypoint.sh /usr/local/bin/horde-entrypoint
USER horde
WORKDIR /var/lib/horde
# SQLite files (without HORDE_DATABASE_URL), images (without HORDE_S3_BUCKET), lock files.
VOLUME /var/lib/horde
EXPOSE 7001
# `horde healthcheck` asks the readiness route, /api/v2/status/ready.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["horde", "healthcheck"]
ENTRYPOINT ["horde-entrypoint"]
CMD ["serve"]
