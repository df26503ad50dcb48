# One image for every process of the product: the app (`make run`) and the run workers (`make worker`).
# The commands are the README's; the image only pre-installs what they would install on first start.
FROM python:3.11-slim-bookworm

RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends make nodejs npm unzip curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
COPY scripts ./scripts
RUN scripts/bootstrap.sh requirements.txt
COPY . .
# The data folder holds nothing in this layout (PostgreSQL and Redis keep the state), but the app
# expects it to exist.
RUN mkdir -p data

ENV PORT=3000
EXPOSE 3000
CMD ["make", "run"]
