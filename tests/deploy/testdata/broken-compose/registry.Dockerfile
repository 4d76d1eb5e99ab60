# Broken on purpose: expected.txt lists what the checker must report.
FROM debian:bookworm-slim
ENV THB_REGISTRY_HOST=0.0.0.0 \
    THB_REGISTRY_PORT=50061 \
    THB_REGISTRY_DB_PATH=/var/lib/thb/registry.sqlite3
EXPOSE 50051
ENTRYPOINT ["thb-registry"]
