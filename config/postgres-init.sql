-- docker-compose.yml: the PostgreSQL container creates horde_image (POSTGRES_DB) and runs this
-- once, on an empty data volume: each mode keeps its own database.
CREATE DATABASE horde_text OWNER horde;
