FROM scratch
LABEL a=b
USER
