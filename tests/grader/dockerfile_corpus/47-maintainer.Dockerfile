FROM debian:bookworm-slim
MAINTAINER Someone <someone@example.invalid>
