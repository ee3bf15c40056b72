FROM scratch
LABEL a=b
ARG
