# repbot: the daemon with the bundled demo. CPU-only torch (no multi-GB CUDA build).
#   docker build -t repbot .
#   docker run -d --name repbot -p 8080:8080 -v repbot-data:/var/lib/repbot repbot
# Reload the config: docker kill -s HUP repbot. Back up: docker exec repbot repbot backup
#   -c /etc/repbot/repbot.yaml --out /var/lib/repbot/backup.db
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

WORKDIR /opt/repbot
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
    || pip install "torch>=2.2" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml setup.py README.md ./
COPY repbot ./repbot
COPY connectors ./connectors
COPY prompts ./prompts
RUN pip install . && useradd --system --uid 10001 --home-dir /var/lib/repbot repbot \
    && mkdir -p /var/lib/repbot /etc/repbot && chown repbot:repbot /var/lib/repbot
COPY deploy/docker.yaml /etc/repbot/repbot.yaml

USER repbot
VOLUME ["/var/lib/repbot"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["repbot"]
CMD ["run", "-c", "/etc/repbot/repbot.yaml"]
