FROM scratch
LABEL a=b
ENV
