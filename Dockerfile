# One image for every Claimflow process; docker-compose picks the command per service.
FROM python:3.11-slim
ENV UV_PYTHON_DOWNLOADS=never PYTHONUNBUFFERED=1
WORKDIR /app
RUN pip install --no-cache-dir uv
COPY pyproject.toml uv.lock README.md ./
COPY shared ./shared
COPY services ./services
COPY deploy ./deploy
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH"
