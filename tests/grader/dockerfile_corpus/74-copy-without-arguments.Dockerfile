FROM scratch
LABEL a=b
COPY
