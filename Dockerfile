# syntax=docker/dockerfile:1
#
# One image for every anaf-flow process; the command picks the role:
#   node --import tsx workers/main.ts   Temporal worker (default)
#   node --import tsx api/main.ts       HTTP API + codec server
#   node --import tsx sandbox/main.ts   local ANAF simulator: its own target (`--target sandbox`),
#                                       the only one with dev dependencies (the sandbox is test-only)
# (Equivalent to `npx tsx <file>`, but without npx in front: npx exits on SIGTERM without
# passing it on, so the worker would be SIGKILLed instead of draining its in-flight tasks.)
# Workflow code is bundled at build time (dist/workflow-bundle.js), so workers start
# without webpack and every replica runs byte-identical workflow code.

# Pinned to an exact Node release; bump deliberately (and in .ci / local dev alike).
FROM node:20.20.2-bookworm-slim AS base
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app

# --- production dependencies (tsx, Temporal SDK with its prebuilt native core, …) ---
FROM base AS deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- prebundle the workflows ---
FROM deps AS build
COPY . .
RUN npx tsx workers/build-bundle.ts \
 && test -s dist/workflow-bundle.js

# --- the ANAF sandbox (docker compose --profile sandbox): a test tool, so its packages
# (fflate, @peculiar/x509, reflect-metadata, …) are dev dependencies and stay out of runtime ---
FROM base AS sandbox
COPY package.json package-lock.json ./
RUN npm ci --include=dev --no-audit --no-fund \
 && npm cache clean --force
COPY . .
RUN mkdir -p /data && chown node:node /data
ENV DATA_DIR=/data
USER node
EXPOSE 9400 9443
CMD ["node", "--import", "tsx", "sandbox/main.ts"]

# --- runtime (the default target: worker and API, production dependencies only) ---
FROM base AS runtime
# Source and dependencies stay root-owned (read-only for the app); only /data is writable.
# What gets in is decided by .dockerignore (no tests, no local data, no secrets).
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
ENV DATA_DIR=/data \
    WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
# The `node` user (uid 1000) ships with the official image.
USER node
EXPOSE 8080 9400 9443
CMD ["node", "--import", "tsx", "workers/main.ts"]
