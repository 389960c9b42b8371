# Tunnelgate: one image for every role (`bot`, `worker`, `all`); the command picks the role.
# Build: docker build -t tunnelgate .   Run: see docker-compose.yml.

# --- build stage: production dependencies only (tsx runs the TypeScript sources; no compile step)
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- runtime stage: no npm cache, no build tools. ssh2 is pure JavaScript, so no openssh-client.
FROM node:20-bookworm-slim AS runtime
# dataDir defaults to /app/var (a volume): never beside the read-only config mount.
ENV NODE_ENV=production \
    TUNNELGATE_CONFIG=/config/tunnelgate.yaml \
    TUNNELGATE_DATA_DIR=/app/var
WORKDIR /app
RUN groupadd --system --gid 10001 tunnelgate \
 && useradd --system --uid 10001 --gid tunnelgate --home-dir /app --shell /usr/sbin/nologin tunnelgate \
 && mkdir -p /app/var \
 && chown tunnelgate:tunnelgate /app/var
COPY --from=build /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
# The whole source root: every module the CLI imports lives under src/ (lab/ included: it backs
# `tunnelgate demo`, which needs root and namespaces to run).
COPY src ./src
# `tunnelgate` on PATH, e.g. `docker-compose exec bot tunnelgate shell --as alice --no-worker`.
RUN printf '#!/bin/sh\nexec node /app/bin/tunnelgate.js "$@"\n' >/usr/local/bin/tunnelgate \
 && chmod 755 /usr/local/bin/tunnelgate
VOLUME /app/var
USER tunnelgate
# /healthz and /metrics (metrics.port; set metrics.host to 0.0.0.0 in the mounted config).
EXPOSE 9464
# Healthy while Redis answers, a worker can read its key files and the process is not shutting
# down (metrics.port, default 9464). The body (naming an unreadable key file) shows in
# `docker inspect`.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then(async (r) => { console.log(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.log(String(e)); process.exit(1); })"]
ENTRYPOINT ["node", "bin/tunnelgate.js"]
CMD ["all"]
