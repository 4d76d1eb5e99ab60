# Broken on purpose: expected.txt lists what the checker must report.
FROM debian:bookworm-slim
ENV THB_REGISTRY_HOST=0.0.0.0 \
    THB_REGISTRY_PORT=50071 \
    THB_REGISTRY_DB_PATH=/var/lib/thb/registry.sqlite3
EXPOSE 50051
# The TLS main port, where a health check has no client certificate.
HEALTHCHECK CMD grpc-call "127.0.0.1:${THB_REGISTRY_PORT}" health || exit 1
ENTRYPOINT ["thb-registry"]
