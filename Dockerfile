# ZoneScaler: one image for every role; choose with --role (see README.md).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund && npm cache clean --force
COPY deno.json main.ts ./
COPY src ./src
COPY roles ./roles
COPY proto ./proto
COPY static ./static
COPY config ./config
ENV PATH="/app/node_modules/.bin:${PATH}"
EXPOSE 8080 7070
USER node
ENTRYPOINT ["deno", "run", "-A", "main.ts"]
CMD ["--role=all", "--config", "config/all.json", "--host", "0.0.0.0", "--storage", "/tmp/zonescaler.sqlite"]
