# Tunnelgate: one image for every role (`bot`, `worker`, `all`); the command picks the role.
# Build: docker build -t tunnelgate .   Run: see docker-compose.yml.

# --- build stage: production dependencies only (tsx runs the TypeScript sources; no compile step)
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- runtime stage: no npm cache, no build tools. ssh2 is pure JavaScript, so no openssh-client.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TUNNELGATE_CONFIG=/config/tunnelgate.yaml
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
USER tunnelgate
# /healthz and /metrics (metrics.port; set metrics.host to 0.0.0.0 in the mounted config).
EXPOSE 9464
# Healthy while Redis answers and the process is not shutting down (metrics.port, default 9464).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/tunnelgate.js"]
CMD ["all"]
