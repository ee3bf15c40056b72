# escape=`
# escape=`
FROM debian:bookworm-slim
LABEL a=b
