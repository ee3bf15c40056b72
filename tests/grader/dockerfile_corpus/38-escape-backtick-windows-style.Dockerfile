# escape=`
FROM debian:bookworm-slim
WORKDIR C:\app\bin
RUN echo one `
    && echo two
LABEL path=C:\Windows\System32
