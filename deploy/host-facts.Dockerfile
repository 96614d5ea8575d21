# syntax=docker/dockerfile:1
#
# The mcp-doctor image: one static (musl) binary on distroless/static, non-root by default. It is the image
# `mcp-doctor bundle --collect-nodes` runs on every node (`mcp-doctor host-facts`), and it can run any other
# subcommand (e.g. a scheduled `doctor` in a CronJob).
#
# Build it from the repository root (the tag must be the binary's version: `--collect-nodes` runs
# ghcr.io/mcp-runtime/mcp-doctor:<version> unless `--collect-image` names another):
#
#   docker build -f deploy/host-facts.Dockerfile -t ghcr.io/mcp-runtime/mcp-doctor:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 \
#       -f deploy/host-facts.Dockerfile -t ghcr.io/mcp-runtime/mcp-doctor:0.1.0 --push .
#
# Air-gapped clusters push it to their own registry and pass `--collect-image <that reference>`.
#
# Users: the image runs as uid 65532 (distroless "nonroot"), which is right for everything that only talks
# to the API server. The host-facts DaemonSet overrides it with `runAsUser: 0`, because what host-facts
# reads on a node is root's: /var/lib/rancher/k3s/server is 0700 root, registries.yaml and the k3s config
# are often 0600 root. It gets root's owner permissions and nothing more: every capability dropped (no
# CAP_DAC_OVERRIDE, so it cannot read other users' private files either), no privilege escalation, a
# read-only root filesystem, the node's root mounted read-only, no service account token, no host
# namespaces (see checks/src/collect_nodes.rs).

FROM rust:1.89-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Built for the architecture of the platform being built (buildx runs this stage once per --platform);
# ring's C parts are compiled with musl-gcc.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    target="$(uname -m)-unknown-linux-musl" \
 && rustup target add "$target" \
 && cargo build --release --locked --target "$target" -p mcp-doctor \
 && install -D -m 0755 "target/$target/release/mcp-doctor" /out/mcp-doctor \
 && /out/mcp-doctor --version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mcp-doctor /usr/local/bin/mcp-doctor
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/mcp-doctor"]
CMD ["--help"]
