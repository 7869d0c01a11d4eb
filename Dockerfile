# aupmilter: milter + review UI.  No Docker engine runs on the development machines, so this
# image build is NOT tested here; it is kept small enough to review by eye.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libmilter-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/aupmilter && /opt/aupmilter/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends libmilter1.0.1 libmagic1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/aupmilter --create-home --shell /usr/sbin/nologin aupmilter
COPY --from=build /opt/aupmilter /opt/aupmilter
ENV PATH=/opt/aupmilter/bin:$PATH AUPMILTER_CONFIG=/etc/aupmilter/aupmilter.toml
USER aupmilter
WORKDIR /var/lib/aupmilter
VOLUME ["/var/lib/aupmilter"]
# Milter on TCP (inet) for a Postfix in another container, metrics on 9851, UI on 8025.
EXPOSE 8890 9851 8025
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9851/metrics', timeout=4)"
CMD ["aupmilter", "run", "--socket", "inet:8890@0.0.0.0"]
