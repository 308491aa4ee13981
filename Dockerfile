# One image for every Attune process; docker-compose.yml picks the process per service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ATTUNE_DATA_DIR=/data

WORKDIR /app

# Node.js and npm for the nodejs runner and packs' package.json (the container runner needs
# Podman or Docker on the worker's host instead; see README).
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

# Run unprivileged: actions execute shell commands and code that come with packs.
RUN useradd --system --create-home --home-dir /home/attune attune \
    && mkdir -p /data \
    && chown attune:attune /data
COPY --chown=attune:attune . .
USER attune

EXPOSE 8000
CMD ["python", "-m", "apps.core.processes", "web", "--host", "0.0.0.0"]
