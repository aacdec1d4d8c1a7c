# ZoneScaler: one image for every role; choose with --role (see README.md, docs/operations.md).
# Node LTS carries npm, which installs the pinned Deno (the runtime) from the registry.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies, plus the pinned Deno from devDependencies (nothing else dev-only).
RUN npm install --omit=dev --no-audit --no-fund \
  && npm install --no-save --no-audit --no-fund "deno@$(node -p "require('./package.json').devDependencies.deno")" \
  && npm cache clean --force
COPY deno.json main.ts ./
COPY src ./src
COPY roles ./roles
COPY proto ./proto
COPY static ./static
COPY config ./config
# State (the SQLite account file) lives on a volume, owned by the unprivileged user.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
# Settings come from ZS_* variables; secrets (ZS_SECRET, ZS_OPERATOR_TOKEN) only at run time.
ENV PATH="/app/node_modules/.bin:${PATH}" \
  DENO_DIR="/tmp/deno" \
  ZS_HOST="0.0.0.0" \
  ZS_PORT="8080" \
  ZS_STORAGE="/data/zonescaler.sqlite" \
  ZS_COORDINATOR_STATE="/data/zonescaler-coordinator.sqlite"
# HTTP (all roles; 8081 the gateway of docker-compose.yml), gRPC, the optional admin port.
EXPOSE 8080 8081 7070 9090
USER node
# Ready only once the node is registered and serving (/readyz on every role).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ZS_PORT || '8080') + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["deno", "run", "-A", "main.ts"]
CMD ["--role=all", "--config", "config/all.json"]
