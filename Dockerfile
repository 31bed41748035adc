# fresh: `fresh serve` in a small image. Mount your project (fresh.yml + checks/) at /project.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY monitor ./monitor
# Same command as tests/integration/test_docker.py runs in a clean venv.
RUN python -m venv /opt/fresh \
 && /opt/fresh/bin/pip install --no-cache-dir -c constraints.txt ".[mysql,s3]"

FROM python:3.11-slim
RUN groupadd --gid 10001 fresh \
 && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin fresh \
 && mkdir /project \
 && chown fresh:fresh /project
COPY --from=build /opt/fresh /opt/fresh
ENV PATH=/opt/fresh/bin:$PATH \
    PYTHONUNBUFFERED=1
WORKDIR /project
USER 10001:10001
EXPOSE 9184
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9184/healthz', timeout=4)"]
ENTRYPOINT ["fresh"]
CMD ["serve", "--listen", "0.0.0.0:9184"]
