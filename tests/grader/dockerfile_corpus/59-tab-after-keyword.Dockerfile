FROM	debian:bookworm-slim
RUN	true
LABEL	a=b
