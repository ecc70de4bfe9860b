#!/bin/sh
# docker-compose.yml: create the images bucket once MinIO answers (the minio/mc image).
set -e
mc alias set horde http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "horde/$HORDE_S3_BUCKET"
