# cortex-proxy as a container image: one stateless replica of the team gateway (docs/team-gateway.md).
#   docker build -t cortex-proxy .
#   docker run -p 4000:4000 -v $PWD/team-config.yaml:/config/cortex-proxy.yaml:ro --env-file .env cortex-proxy
# Keys, usage and budgets live in PostgreSQL (general_settings.database_url), shared limits in Redis (redis_url):
# run as many replicas as you like behind a load balancer (deploy/docker-compose.yml, deploy/kubernetes.yaml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts && node node_modules/esbuild/install.js
COPY tsconfig.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY src ./src
RUN node scripts/build.mjs
# dist/ needs no node_modules, but the team gateway needs its PostgreSQL and Redis drivers, which are optional for
# cortex-proxy (not installed by npm install -g): install them, at the lockfile's versions, on their own.
RUN mkdir -p /drivers && cd /drivers && echo '{"private":true}' > package.json && \
    npm install --no-audit --no-fund --ignore-scripts --omit=dev \
      "pg@$(node -p "require('/app/package-lock.json').packages['node_modules/pg'].version")" \
      "@redis/client@$(node -p "require('/app/package-lock.json').packages['node_modules/@redis/client'].version")"

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /drivers/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000
# Ready = listening, and the database and Redis answer (GET /health/ready).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s CMD ["node", "-e", "fetch('http://127.0.0.1:4000/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/cortex-proxy.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "4000", "--config", "/config/cortex-proxy.yaml", "--quiet"]
