# syntax=docker/dockerfile:1
# The sample app (apps/sample) as a production image.
#   docker build -t alipay-auth-sample .
#   docker run -p 3000:3000 --env-file .env alipay-auth-sample
# NODE_ENV=production: Alipay credentials, ALIPAY_TOKEN_ENCRYPTION_KEYS, STATE_SECRET and PUBLIC_BASE_URL
# are required (see .env.example); the local simulation does not run in this image unless
# NODE_ENV=development is passed. ADMIN_TOKEN is required too (HOST is 0.0.0.0 here). See docs/production.md;
# compose.yaml runs PostgreSQL and three instances. test/sample-artifact.e2e-spec.ts assembles this image's
# contents the same way (without a container engine) and boots them in CI.

ARG NODE_IMAGE=node:24-slim

# --- build: all dependencies, compile the app -------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 falls back to compiling when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY libs/alipay-auth ./libs/alipay-auth
COPY libs/alipay-simulator ./libs/alipay-simulator
COPY apps ./apps
RUN npx nest build sample

# --- production dependencies only (same toolchain, nothing of it reaches the final image) -----------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
# Code and dependencies stay owned by root (read-only for the app); only ./data is writable.
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/apps/sample ./dist/apps/sample
COPY scripts/start-sample.js ./scripts/start-sample.js
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Liveness only: Alipay or the database being down is no reason to restart the container (/health, the
# readiness view with the database and token state, is for the load balancer and monitoring).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# --max-semi-space-size=8 (also in package.json's "start"): Node 24 lets the young generation grow to
# 2 x 64 MB, which this I/O-bound app fills under load and keeps; 8 MB takes about 100 MB off the RSS
# after load, at no CPU cost we could measure (docs/benchmarks.md, bench/sample-memory.ts).
CMD ["node", "--max-semi-space-size=8", "dist/apps/sample/apps/sample/src/main.js"]
