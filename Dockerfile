# syntax=docker/dockerfile:1
# The mcp-doctor image: one static binary (musl, rustls: no libc, no OpenSSL) on distroless/static, which
# holds only CA certificates, /etc/passwd entries and tzdata. It runs as the non-root user 65532 and writes
# nothing unless asked (--metrics / --json to a mounted emptyDir), so readOnlyRootFilesystem works.
#
#   docker build -t ghcr.io/mcp-runtime/mcp-doctor:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/mcp-doctor:0.1.0 --push .
#
# It is the one image of the binary: the CronJob and `serve` of deploy/ run it, and so does the host-facts
# DaemonSet of `mcp-doctor bundle --collect-nodes` (ghcr.io/mcp-runtime/mcp-doctor:<version> unless
# `--collect-image` names another; air-gapped clusters push it to their own registry).
#
# Users: uid 65532 is right for everything that only talks to the API server. The host-facts DaemonSet
# overrides it with `runAsUser: 0`, because what host-facts reads on a node is root's (registries.yaml and
# the k3s config are often 0600 root). It gets root's owner permissions and nothing more: every capability
# dropped (no CAP_DAC_OVERRIDE), no privilege escalation, a read-only root filesystem, the node's root
# mounted read-only, no service account token, no host namespaces (see checks/src/collect_nodes.rs).
#
# The build stage runs on the target platform (buildx uses emulation for the other one), so the musl target
# is that of the build machine.

FROM rust:1.89-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add "$(uname -m)-unknown-linux-musl"
WORKDIR /src
COPY . .
# The last step fails the build if the binary is not static: the final stage has no libc.
RUN cargo build --release --locked --target "$(uname -m)-unknown-linux-musl" -p mcp-doctor --bin mcp-doctor \
 && cp "target/$(uname -m)-unknown-linux-musl/release/mcp-doctor" /mcp-doctor \
 && ! ldd /mcp-doctor 2>/dev/null | grep -q "=>"

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /mcp-doctor /usr/local/bin/mcp-doctor
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/mcp-doctor"]
CMD ["doctor"]
