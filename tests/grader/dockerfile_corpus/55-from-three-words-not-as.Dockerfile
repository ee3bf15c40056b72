FROM debian:bookworm-slim named base
