# swiftgate on the embedded default (LevelDB + local disk under /data).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY auth ./auth
COPY storage-backends ./storage-backends
COPY interfaces ./interfaces
ENV SWIFTGATE_DATA=/data SWIFTGATE_HTTP=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:8080/healthcheck').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/swiftgate.js", "serve"]
