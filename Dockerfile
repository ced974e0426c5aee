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
# compile the detectors' numba step once, into the image (a non-root user could not cache it there)
RUN python -c "import numpy as np; from detectors import default_filter; f = default_filter(np.zeros(2)); \
    [f.step(np.ones((1, 2))) for _ in range(2)]"

RUN useradd --create-home --uid 10001 netloop
USER netloop
# faust keeps its worker state under the working directory
WORKDIR /home/netloop

ENTRYPOINT ["netloop"]
CMD ["--help"]
