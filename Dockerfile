# Stockbridge: the compiled gateway (`node dist/main.js`), no TypeScript loader at run time.
# Build:  docker build -t stockbridge .
# The same steps run on a plain machine in CI (scripts/dockerfile-steps.sh), because no Docker
# engine is available there; keep every RUN step a plain shell command for that reason.

# --- build: install everything, compile, then drop the development dependencies ----------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# scripts/patches: fixes to dependencies, applied by npm ci's postinstall (patch-package).
COPY package.json package-lock.json ./
COPY scripts/patches ./scripts/patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY schema ./schema
COPY drizzle ./drizzle
COPY vendor ./vendor
RUN npm run build
# The operations console (/console): a static single-page app built by Vite (a dev dependency).
COPY console ./console
RUN npm run build:console
RUN npm prune --omit=dev --no-audit --no-fund

# --- run: the compiled service, its migrations, its schema, as a non-root user ----------------
FROM node:20-bookworm-slim AS run
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/var/lib/stockbridge
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schema ./schema
COPY --from=build /app/drizzle ./drizzle
COPY --from=build /app/vendor ./vendor
COPY --from=build /app/console/dist ./console/dist
RUN mkdir -p /var/lib/stockbridge && chown node:node /var/lib/stockbridge
USER node
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
