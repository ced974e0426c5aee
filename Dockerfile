# The netloop image: every `netloop` command (worker, emulate, topics create, netmcp serve, ...).
# docker-compose.yml runs it; `docker build -t netloop .` builds it alone.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas/ schemas/
COPY simulator/ simulator/
COPY netmcp/ netmcp/
COPY detectors/ detectors/
COPY actuators/ actuators/
COPY streams/ streams/
# the runtime dependencies only: no [dev] extra
RUN pip install .

RUN useradd --create-home --uid 10001 netloop
USER netloop
# faust keeps its worker state under the working directory
WORKDIR /home/netloop

ENTRYPOINT ["netloop"]
CMD ["--help"]
